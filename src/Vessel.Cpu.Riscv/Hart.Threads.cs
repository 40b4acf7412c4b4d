namespace Vessel.Cpu.Riscv;

/// <summary>
/// What harts need when each runs on its own host thread (<see cref="HartScheduler"/> with
/// <see cref="RiscvProcessor.ThreadPerHart"/>): requests from other harts that must be done
/// before the requester goes on (SBI remote fences, dropping fast store paths to a page that
/// became code), and sleeping until there is work.
/// </summary>
/// <remarks>
/// A request is a bit in <c>_remoteRequests</c> plus a sequence number: the requester sets the
/// bit, then takes the next number; the hart reads the last number posted, then takes the bits,
/// does the work and publishes the number as serviced. Whoever waits for number n keeps doing
/// its own pending work meanwhile, so two harts waiting for each other cannot deadlock.
/// </remarks>
public sealed unsafe partial class Hart
{
    private long _requestsPosted;
    private long _requestsServiced;
    private long _storeFlushPosted;
    private long _storeFlushServiced;
    private volatile int _ownerThreadId;
    private long _hostThreadId;

    /// <summary>
    /// The managed thread that runs this hart when harts have threads of their own; 0 when the
    /// hart shares its thread with the others (requests then complete without waiting).
    /// </summary>
    internal int OwnerThreadId
    {
        get => _ownerThreadId;
        set => _ownerThreadId = value;
    }

    /// <summary>The host thread id (as <c>ps -L</c> shows) of the thread that last ran this hart; 0 before it ran.</summary>
    public long HostThreadId
    {
        get => Volatile.Read(ref _hostThreadId);
        internal set => Volatile.Write(ref _hostThreadId, value);
    }

    /// <summary>Whether the calling thread is not the one running this hart, so a request must be waited for.</summary>
    internal bool RunsOnAnotherThread
    {
        get
        {
            int owner = _ownerThreadId;
            return owner != 0 && owner != Environment.CurrentManagedThreadId;
        }
    }

    /// <summary>Posts <paramref name="request"/> (any thread) and returns its sequence number for <see cref="WaitForRequest"/>.</summary>
    internal long PostTrackedRequest(RemoteRequest request)
    {
        Interlocked.Or(ref _remoteRequests, (int)request);
        long sequence = Interlocked.Increment(ref _requestsPosted);
        _attention = 1;
        _wakeup.Set();
        _processor.NotifyActivity();
        return sequence;
    }

    /// <summary>
    /// Asks the hart (any thread) to drop all its fast store paths, and returns the sequence
    /// number for <see cref="WaitForStoreFlush"/>. Unlike other requests it is serviced even in
    /// the middle of decoding an instruction, since waiting for it happens there.
    /// </summary>
    internal long PostStoreFlush()
    {
        Interlocked.Or(ref _remoteRequests, (int)RemoteRequest.FlushWriteTlb);
        long sequence = Interlocked.Increment(ref _storeFlushPosted);
        _attention = 1;
        _wakeup.Set();
        return sequence;
    }

    /// <summary>Waits until the hart has serviced request <paramref name="sequence"/>; <paramref name="waiter"/> (the caller's hart) keeps servicing its own.</summary>
    internal void WaitForRequest(long sequence, Hart? waiter)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _requestsServiced) < sequence && _ownerThreadId != 0)
        {
            if (waiter is not null && waiter._attention != 0)
            {
                waiter.ServiceAttention();
            }

            spin.SpinOnce();
        }
    }

    /// <summary>Waits until the hart has dropped its store paths for store flush <paramref name="sequence"/>.</summary>
    internal void WaitForStoreFlush(long sequence, Hart? waiter)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _storeFlushServiced) < sequence && _ownerThreadId != 0)
        {
            waiter?.ServiceStoreFlushRequests();
            spin.SpinOnce();
        }
    }

    /// <summary>Drops the fast store paths if asked to; safe at any point of execution (own thread).</summary>
    private void ServiceStoreFlushRequests()
    {
        long posted = Volatile.Read(ref _storeFlushPosted);
        if (posted == Volatile.Read(ref _storeFlushServiced))
        {
            return;
        }

        if ((Interlocked.And(ref _remoteRequests, ~(int)RemoteRequest.FlushWriteTlb) & (int)RemoteRequest.FlushWriteTlb) != 0)
        {
            FlushStoreTlb();
        }

        Volatile.Write(ref _storeFlushServiced, posted);
    }

    /// <summary>
    /// For a hart with its own thread that is not running (stopped, or in <c>wfi</c> with nothing
    /// pending): does any requested work, then sleeps until woken or <paramref name="timeout"/>.
    /// </summary>
    internal void IdleUntilWork(TimeSpan timeout)
    {
        if (_attention != 0)
        {
            ServiceAttention(); // also resets the wakeup event
        }
        else
        {
            _wakeup.Reset();
        }

        // Checked after the reset: a wakeup from now on ends the wait at once.
        bool idle = RunState == HartRunState.Stopped
            || (RunState == HartRunState.WaitingForInterrupt && !InterruptPendingForWakeup());
        if (idle && _attention == 0 && !_yieldRequested)
        {
            _wakeup.Wait(HartScheduler.WholeMilliseconds(timeout));
        }
    }
}
