namespace Vessel.Vmm.Hosting;

/// <summary>
/// A VMM started ahead of need (<c>vessel run --standby</c>): its runtime is loaded and its QMP
/// socket listens, but it has no machine yet. <c>x-vessel-launch</c> hands it the machine's
/// options, exactly as <c>vessel run</c> takes them; the process then builds the VM and starts
/// or restores it as if it had been started with them, in milliseconds instead of the second
/// a cold .NET process and <c>--daemonize</c> take. This is the meeting point of the QMP thread
/// that receives the options and the main thread that builds the VM.
/// </summary>
/// <remarks>
/// A launch that fails (a disk that cannot be opened, an option mistyped) is answered with its
/// sentence and the process waits again, unchanged; so a caller never has to guess whether a
/// failed launch left something half-built behind.
/// </remarks>
public sealed class StandbyLaunch
{
    private readonly object _gate = new();
    private IReadOnlyList<string>? _pendingArguments;
    private TaskCompletionSource<string?>? _outcome;
    private bool _quitRequested;
    private bool _launched;

    /// <summary>Whether no machine has been launched yet (the QMP server then answers only the standby commands).</summary>
    public bool WaitingForMachine
    {
        get
        {
            lock (_gate)
            {
                return !_launched;
            }
        }
    }

    /// <summary>On a QMP thread: hands over <paramref name="arguments"/> and waits until the VM is up; returns null then, or the sentence saying why it is not.</summary>
    public string? Launch(IReadOnlyList<string> arguments)
    {
        TaskCompletionSource<string?> outcome;
        lock (_gate)
        {
            if (_launched)
            {
                return "This VMM has already been given its machine.";
            }

            if (_outcome is not null || _quitRequested)
            {
                return "This VMM is already launching a machine or ending.";
            }

            outcome = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _outcome = outcome;
            _pendingArguments = arguments;
            Monitor.PulseAll(_gate);
        }

        return outcome.Task.GetAwaiter().GetResult();
    }

    /// <summary>On a QMP thread (<c>quit</c> before any launch): the process ends.</summary>
    public void Quit()
    {
        lock (_gate)
        {
            _quitRequested = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>On the main thread: the next launch's options, or null when the process is asked to end.</summary>
    public IReadOnlyList<string>? WaitForArguments()
    {
        lock (_gate)
        {
            while (_pendingArguments is null && !_quitRequested)
            {
                Monitor.Wait(_gate);
            }

            if (_pendingArguments is null)
            {
                return null;
            }

            IReadOnlyList<string> arguments = _pendingArguments;
            _pendingArguments = null;
            return arguments;
        }
    }

    /// <summary>On the main thread: the VM is up (its QMP commands work from now on); the launch is answered.</summary>
    public void Succeeded()
    {
        TaskCompletionSource<string?>? outcome;
        lock (_gate)
        {
            _launched = true;
            outcome = _outcome;
            _outcome = null;
        }

        outcome?.TrySetResult(null);
    }

    /// <summary>On the main thread: the launch failed with <paramref name="sentence"/>; the process waits for another.</summary>
    public void Failed(string sentence)
    {
        TaskCompletionSource<string?>? outcome;
        lock (_gate)
        {
            outcome = _outcome;
            _outcome = null;
        }

        outcome?.TrySetResult(sentence);
    }

    /// <summary>Whether the launch has succeeded: an error after that is the running VM's, not the launch's.</summary>
    public bool Launched
    {
        get
        {
            lock (_gate)
            {
                return _launched;
            }
        }
    }
}
