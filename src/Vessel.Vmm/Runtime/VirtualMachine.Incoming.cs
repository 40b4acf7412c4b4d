using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Vessel.Machine.Persistence;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Starting from a saved state (<c>--incoming</c>, QMP <c>migrate-incoming</c>): the board is
/// built and held paused in <see cref="VmRunState.InMigrate"/>; the state is read from a file
/// (RAM mapped, not copied) or received on a socket, restored, and the VM runs on from the saved
/// instruction. A state that cannot be read ends the VMM with one sentence.
/// </summary>
public sealed partial class VirtualMachine
{
    private Socket? _incomingListener;

    private Task? _incomingWarmUp;

    private MigrationPhases? _incomingPhases;

    /// <summary>
    /// Holds the built board paused until a state arrives, and meanwhile (<paramref name="warmUp"/>)
    /// runs the restore path once on the board's own empty state, so that the real restore does
    /// not pay for compiling it (a process kept waiting with <c>--incoming defer</c> restores in
    /// milliseconds). A state read from a file at once gains nothing from it: the restore would
    /// only wait for the warm-up.
    /// </summary>
    public void PrepareIncoming(bool warmUp)
    {
        _machine.Pause();
        SetState(VmRunState.InMigrate);
        _incomingWarmUp = warmUp ? Task.Run(() => MachineSnapshot.WarmUp(_machine)) : null;
    }

    /// <summary>
    /// Builds a VM of <paramref name="configuration"/> (never booted), saves and restores its
    /// empty state and throws it away, so that building and restoring a machine are compiled
    /// before one is needed: what a standby process (<c>vessel run --standby</c>) does while it
    /// waits, making its launch as fast as the work itself.
    /// </summary>
    public static void WarmUp(VirtualMachineConfiguration configuration, Console.HostConsole console)
    {
        using var vm = new VirtualMachine(configuration, console);
        vm._machine.Pause();
        MachineSnapshot.WarmUp(vm._machine);
    }

    /// <summary>
    /// Takes the state from <paramref name="address"/>: a file at once, on this thread; a unix or
    /// tcp socket is opened now (so a busy address fails here) and the state received on a thread
    /// of its own, while <see cref="Run"/> waits.
    /// </summary>
    /// <exception cref="VmmException">The state or the address cannot be used (one sentence).</exception>
    public void StartIncoming(MigrationAddress address)
    {
        if (RunState != VmRunState.InMigrate)
        {
            throw new VmmException("The incoming migration has already been started");
        }

        Raise("MIGRATION", new JsonObject { ["status"] = "setup" });
        _incomingPhases = MigrationPhases.Begin("in");
        switch (address.Transport)
        {
            case MigrationTransport.File:
                FileStream file;
                try
                {
                    file = new FileStream(address.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new VmmException($"cannot read the state file '{address.Path}': {e.Message}");
                }

                using (file)
                {
                    ReceiveState(file, $"the state file '{address.Path}'");
                }

                return;

            case MigrationTransport.Unix:
            case MigrationTransport.Tcp:
                // Listening means ready: a source that connects at once finds the restore path
                // compiled and a receiver that keeps up, not one still warming up while the
                // state piles up in the socket's buffers.
                AwaitIncomingWarmUp();
                _incomingListener = ListenForIncoming(address);
                new Thread(() => AcceptIncoming(address)) { IsBackground = true, Name = "incoming migration" }.Start();
                return;

            case MigrationTransport.Exec:
            {
                AwaitIncomingWarmUp();
                var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add(address.Path);
                Process process = Process.Start(start) ?? throw new VmmException($"cannot run '{address.Path}'.");
                new Thread(() =>
                {
                    using (process)
                    {
                        ReceiveOnThread(process.StandardOutput.BaseStream, $"the output of '{address.Path}'");
                    }
                }) { IsBackground = true, Name = "incoming migration" }.Start();
                return;
            }

            default:
                throw new VmmException("--incoming defer waits for QMP migrate-incoming with an address.");
        }
    }

    /// <summary>Waits for the restore path's warm-up, if one runs; its failure is not the restore's (which reports its own).</summary>
    private void AwaitIncomingWarmUp()
    {
        try
        {
            _incomingWarmUp?.Wait();
        }
        catch (AggregateException)
        {
            // Only a head start: the real restore goes on and says why if it fails too.
        }
    }

    private static Socket ListenForIncoming(MigrationAddress address)
    {
        if (address.Transport == MigrationTransport.Unix && File.Exists(address.Path))
        {
            File.Delete(address.Path); // a stale socket from an earlier run
        }

        var listener = address.Transport == MigrationTransport.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = OutgoingStateChannel.SocketBufferBytes }; // before listen: the connection inherits it
        try
        {
            listener.Bind(address.ToEndPoint());
            listener.Listen(1);
            return listener;
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new VmmException($"cannot listen for the incoming state on {address}: {e.Message.TrimEnd('.')}.");
        }
    }

    private void AcceptIncoming(MigrationAddress address)
    {
        Socket connection;
        try
        {
            connection = _incomingListener!.Accept();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return; // the VMM is ending
        }
        finally
        {
            _incomingListener!.Dispose();
        }

        if (connection.AddressFamily != AddressFamily.Unix)
        {
            connection.NoDelay = true;
        }

        _incomingPhases?.Mark("waiting for the source");

        using var stream = new NetworkStream(connection, ownsSocket: true);
        // Small, as the source's: a state read ahead but not yet applied is downtime at the end.
        using var buffered = new BufferedStream(stream, 1 << 16);
        ReceiveOnThread(buffered, $"the state from {address}", acknowledge: () => connection.Send([OutgoingStateChannel.StateReceived]));
    }

    private void ReceiveOnThread(Stream source, string what, Action? acknowledge = null)
    {
        try
        {
            ReceiveState(source, what, acknowledge);
        }
        catch (VmmException e)
        {
            Fail(e.Message);
        }
        catch (Exception e)
        {
            // A bug of ours: the VMM still ends with one sentence rather than a stack trace.
            Fail($"cannot restore {what}: {e.GetType().Name}: {e.Message.TrimEnd('.')}.");
        }
    }

    /// <summary>
    /// Restores the state from <paramref name="source"/> and lets the VM run (unless it starts
    /// paused). A source on a connection is told once the whole state has been read and was
    /// valid (<paramref name="acknowledge"/>), before the disks are taken: only then does it
    /// complete and let them go.
    /// </summary>
    private void ReceiveState(Stream source, string what, Action? acknowledge = null)
    {
        Raise("MIGRATION", new JsonObject { ["status"] = "active" });
        try
        {
            AwaitIncomingWarmUp();
            _incomingPhases?.Mark("warm-up");
            MachineSnapshot.Restore(_machine, source);
            _incomingPhases?.Mark("receive and restore");
            acknowledge?.Invoke();
            _incomingPhases?.Mark("acknowledge");
        }
        catch (Exception e) when (e is StateFormatException or IOException or SocketException)
        {
            _incomingPhases?.Write($"failed: {e.Message}");
            Raise("MIGRATION", new JsonObject { ["status"] = "failed" });
            throw new VmmException($"cannot restore {what}: {e.Message.TrimEnd('.')}.");
        }
        catch (VmmException e)
        {
            Raise("MIGRATION", new JsonObject { ["status"] = "failed" });
            throw new VmmException($"cannot restore {what}: {e.Message}");
        }

        // The source lets the disks go once its state is out; wait a while for that.
        try
        {
            ActivateDisks(TimeSpan.FromSeconds(30));
            _incomingPhases?.Mark("disks");
        }
        catch (VmmException e)
        {
            Raise("MIGRATION", new JsonObject { ["status"] = "failed" });
            throw new VmmException($"cannot restore {what}: {e.Message}");
        }

        Raise("MIGRATION", new JsonObject { ["status"] = "completed" });
        if (Configuration.StartPaused)
        {
            SetState(VmRunState.Paused);
            return;
        }

        lock (_gate)
        {
            _state = VmRunState.Running;
            _machine.Resume();
        }

        _machine.AnnounceNetworks();
        Raise("RESUME");
        _incomingPhases?.Mark("resume");
        _incomingPhases?.Write("running");
    }
}
