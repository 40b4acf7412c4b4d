using System.Runtime.InteropServices;

namespace Vessel.Network.Io;

/// <summary>
/// One thread that waits on epoll for its file descriptors (host sockets, a TAP device), on a
/// queue of timers and on wake-ups from other threads, and runs everything of one network
/// backend on that thread, so the protocol state needs no locks.
/// </summary>
/// <remarks>
/// Descriptors are level-triggered: a handler that cannot take more data (back-pressure) simply
/// drops EPOLLIN from its interest set with <see cref="Modify"/> and adds it back later.
/// </remarks>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int MaxEvents = 64;
    private const ulong WakeToken = ulong.MaxValue;

    // epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes).
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private readonly string _name;
    private readonly int _epollFd;
    private readonly int _wakeFd;
    private readonly byte[] _events;
    private readonly List<Registration> _registrations = [];
    private readonly Stack<int> _freeSlots = new();
    private readonly PriorityQueue<LoopTimer, long> _timers = new();
    private Thread? _thread;
    private volatile bool _stopping;
    private bool _closed;
    private int _sleeping;
    private int _wakeRequested;
    private long _allocatedBytes;

    public EventLoop(string name)
    {
        _name = name;
        _epollFd = LibC.EpollCreate1(LibC.EpollCloexec);
        if (_epollFd < 0)
        {
            throw new NetworkBackendException($"cannot create the network event loop: {LibC.Describe(Marshal.GetLastPInvokeError())}");
        }

        _wakeFd = LibC.EventFd(0, LibC.EfdCloexec | LibC.EfdNonblock);
        if (_wakeFd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(_epollFd);
            throw new NetworkBackendException($"cannot create the network event loop: {LibC.Describe(errno)}");
        }

        _events = new byte[MaxEvents * s_eventSize];
        Control(LibC.EpollCtlAdd, _wakeFd, LibC.EpollIn, WakeToken);
    }

    /// <summary>Called on the loop thread after every wait, woken or not (drain queues here).</summary>
    public Action? Woken { get; set; }

    /// <summary>Called on the loop thread at the end of every iteration (flush coalesced output here).</summary>
    public Action? IterationEnd { get; set; }

    /// <summary>
    /// Where exceptions thrown by handlers go. A bug in the stack must not take the VM down, but
    /// must not be silent either; tests replace this to fail on any.
    /// </summary>
    public Action<Exception> UnhandledException { get; set; } =
        e => Console.Error.WriteLine($"vessel: network: internal error: {e}");

    /// <summary>The loop's clock in milliseconds (monotonic).</summary>
    public static long Now => Environment.TickCount64;

    public bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Bytes the loop thread has allocated so far (as of its last iteration): tests use it to check the hot paths allocate nothing.</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    public void Start()
    {
        if (_thread is not null)
        {
            return;
        }

        _thread = new Thread(Run) { IsBackground = true, Name = _name };
        _thread.Start();
    }

    /// <summary>Adds a descriptor; returns the registration to pass to <see cref="Modify"/> and <see cref="Remove"/>.</summary>
    public int Add(int fd, IPollHandler handler, uint events)
    {
        int slot;
        if (_freeSlots.Count > 0)
        {
            slot = _freeSlots.Pop();
            Registration old = _registrations[slot];
            _registrations[slot] = new Registration(fd, handler, events, old.Generation + 1);
        }
        else
        {
            slot = _registrations.Count;
            _registrations.Add(new Registration(fd, handler, events, 1));
        }

        int error = Control(LibC.EpollCtlAdd, fd, events, Token(slot));
        if (error != 0)
        {
            _registrations[slot] = _registrations[slot] with { Handler = null };
            _freeSlots.Push(slot);
            throw new NetworkBackendException($"cannot watch a network descriptor: {LibC.Describe(error)}");
        }

        return slot;
    }

    public void Modify(int registration, uint events)
    {
        Registration r = _registrations[registration];
        if (r.Handler is null || r.Events == events)
        {
            return;
        }

        _registrations[registration] = r with { Events = events };
        Control(LibC.EpollCtlMod, r.Fd, events, Token(registration));
    }

    public uint EventsOf(int registration) => _registrations[registration].Events;

    /// <summary>Stops watching a descriptor; call before closing it.</summary>
    public void Remove(int registration)
    {
        Registration r = _registrations[registration];
        if (r.Handler is null)
        {
            return;
        }

        Control(LibC.EpollCtlDel, r.Fd, 0, 0);
        _registrations[registration] = r with { Handler = null, Generation = r.Generation + 1 };
        _freeSlots.Push(registration);
    }

    /// <summary>Arms (or re-arms) a timer for an absolute <see cref="Now"/> time. Loop thread only.</summary>
    public void Arm(LoopTimer timer, long deadline)
    {
        timer.Deadline = deadline;
        if (deadline < timer.QueuedAt)
        {
            timer.QueuedAt = deadline;
            _timers.Enqueue(timer, deadline);
        }
    }

    public static void Cancel(LoopTimer timer) => timer.Deadline = LoopTimer.Never;

    /// <summary>Makes the loop call <see cref="Woken"/> soon. Any thread; cheap when the loop is awake.</summary>
    public void Wake()
    {
        if (_stopping)
        {
            return; // a late Send or notification while the backend is being disposed
        }

        if (Interlocked.Exchange(ref _wakeRequested, 1) == 0 && Volatile.Read(ref _sleeping) == 1)
        {
            ulong one = 1;
            // Eight bytes from the stack to the eventfd, which is non-blocking; a full counter (impossible in practice) only means a
            // wake-up is already pending.
            LibC.Write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    /// <summary>Stops the loop thread and waits for it; handlers may then be cleaned up from this thread.</summary>
    public void Stop()
    {
        _stopping = true;
        if (_thread is not null && !IsLoopThread)
        {
            ulong one = 1;
            // The eventfd stays open until Dispose; writing it interrupts epoll_wait.
            LibC.Write(_wakeFd, (byte*)&one, sizeof(ulong));
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        if (!_closed)
        {
            _closed = true;
            LibC.Close(_wakeFd);
            LibC.Close(_epollFd);
        }
    }

    private void Run()
    {
        while (!_stopping)
        {
            RunOnce();
        }
    }

    private void RunOnce()
    {
        int timeout = NextTimeout();
        Interlocked.Exchange(ref _sleeping, 1);
        if (Volatile.Read(ref _wakeRequested) == 1)
        {
            timeout = 0;
        }

        int count;
        // _events is pinned for the wait and sized for MaxEvents entries of the kernel's layout.
        fixed (byte* events = _events)
        {
            count = LibC.EpollWait(_epollFd, events, MaxEvents, timeout);
        }

        Interlocked.Exchange(ref _sleeping, 0);
        if (_stopping)
        {
            return;
        }

        for (int i = 0; i < count; i++)
        {
            int offset = i * s_eventSize;
            uint events = MemoryMarshal.Read<uint>(_events.AsSpan(offset));
            ulong token = MemoryMarshal.Read<ulong>(_events.AsSpan(offset + 4 + (s_eventSize - 12)));
            if (token == WakeToken)
            {
                ulong value;
                LibC.Read(_wakeFd, (byte*)&value, sizeof(ulong));
                continue;
            }

            Dispatch(token, events);
        }

        Interlocked.Exchange(ref _wakeRequested, 0);
        Invoke(Woken);
        RunTimers();
        Invoke(IterationEnd);
        Volatile.Write(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread());
    }

    private void Dispatch(ulong token, uint events)
    {
        int slot = (int)(token & 0xFFFF_FFFF);
        uint generation = (uint)(token >> 32);
        if (slot >= _registrations.Count)
        {
            return;
        }

        Registration r = _registrations[slot];
        // A handler earlier in this batch may have removed (and the slot been reused by) this
        // registration; the generation tells.
        if (r.Handler is null || r.Generation != generation)
        {
            return;
        }

        try
        {
            r.Handler.OnPollEvents(events);
        }
        catch (Exception e)
        {
            UnhandledException(e);
        }
    }

    private int NextTimeout()
    {
        if (!_timers.TryPeek(out _, out long deadline))
        {
            return -1;
        }

        long wait = deadline - Now;
        return wait <= 0 ? 0 : (int)Math.Min(wait, int.MaxValue);
    }

    private void RunTimers()
    {
        long now = Now;
        while (_timers.TryPeek(out LoopTimer? timer, out long queuedAt) && queuedAt <= now)
        {
            _timers.Dequeue();
            if (queuedAt != timer.QueuedAt)
            {
                continue; // a stale entry: the timer was since queued for an earlier time
            }

            timer.QueuedAt = LoopTimer.Never;
            if (timer.Deadline == LoopTimer.Never)
            {
                continue;
            }

            if (timer.Deadline > now)
            {
                timer.QueuedAt = timer.Deadline;
                _timers.Enqueue(timer, timer.Deadline);
                continue;
            }

            timer.Deadline = LoopTimer.Never;
            try
            {
                timer.Handler.OnTimer(now);
            }
            catch (Exception e)
            {
                UnhandledException(e);
            }
        }
    }

    private void Invoke(Action? action)
    {
        if (action is null)
        {
            return;
        }

        try
        {
            action();
        }
        catch (Exception e)
        {
            UnhandledException(e);
        }
    }

    private int Control(int op, int fd, uint events, ulong token)
    {
        // One epoll_event on the stack (16 bytes covers both layouts), read by the kernel
        // during the call only.
        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(ulong*)(ev + 4 + (s_eventSize - 12)) = token;
        return LibC.EpollCtl(_epollFd, op, fd, ev) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private ulong Token(int slot) => ((ulong)_registrations[slot].Generation << 32) | (uint)slot;

    private readonly record struct Registration(int Fd, IPollHandler? Handler, uint Events, uint Generation);
}
