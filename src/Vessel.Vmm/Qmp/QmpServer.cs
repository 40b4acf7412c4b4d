using System.Net.Sockets;
using System.Text.Json.Nodes;
using Vessel.Vmm.Hosting;
using Vessel.Vmm.Runtime;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// The VM's QMP socket (<c>--qmp unix:PATH,server=on</c>): QEMU's Machine Protocol, so QEMU's
/// clients and habits work on Vessel. Any number of clients at once, each a
/// <see cref="QmpSession"/>; every negotiated client receives the VM's events.
/// </summary>
/// <remarks>
/// The socket is bound when the server is created (a busy or bad path fails before the VM is
/// built) and clients are accepted from <see cref="Start"/> on; those that connect before wait
/// in the listen queue.
/// </remarks>
public sealed class QmpServer : IDisposable
{
    /// <summary>QEMU limits <c>BALLOON_CHANGE</c> to one a second per client, keeping the latest; so does Vessel.</summary>
    private static readonly TimeSpan s_balloonChangeInterval = TimeSpan.FromSeconds(1);

    /// <summary>Clients served at once; more are closed at once, so a runaway script cannot exhaust the VMM's threads.</summary>
    public const int MaxClients = 64;

    private readonly QmpAddress _address;
    private readonly Socket _listener;
    private readonly List<QmpSession> _sessions = [];
    private readonly object _sessionsGate = new();
    private readonly ManualResetEventSlim _firstClient = new(false);
    private readonly QmpEventThrottle _balloonThrottle;
    private VirtualMachine? _vm;
    private volatile bool _disposed;

    private QmpServer(QmpAddress address, Socket listener)
    {
        _address = address;
        _listener = listener;
        _balloonThrottle = new QmpEventThrottle(s_balloonChangeInterval, Broadcast);
        Commands = QmpCommandTable.CreateDefault();
        Jobs = new QmpJobRegistry(Broadcast);
    }

    /// <summary>The VM the commands act on (set by <see cref="Start"/>).</summary>
    internal VirtualMachine Vm => _vm ?? throw new InvalidOperationException("The QMP server has not been started.");

    internal QmpCommandTable Commands { get; }

    /// <summary>The <c>snapshot-*</c> jobs (<c>query-jobs</c>, <c>job-dismiss</c>).</summary>
    internal QmpJobRegistry Jobs { get; }

    /// <summary>The migration capability <c>events</c>: QEMU sends <c>MIGRATION</c> events only when it is on, and so does Vessel.</summary>
    internal bool MigrationEventsEnabled { get; set; }

    /// <summary>Creates the socket (replacing a stale one left by a VMM that died).</summary>
    /// <exception cref="VmmException">The path is in use, is not a socket, or cannot be bound (one sentence).</exception>
    public static QmpServer Listen(QmpAddress address)
    {
        Socket listener = UnixSocketListener.Bind(address.Path, "--qmp");
        return new QmpServer(address, listener);
    }

    /// <summary>The standby process's launch, while it waits for its machine (<c>vessel run --standby</c>); null for a VMM started with its machine.</summary>
    internal StandbyLaunch? Standby { get; private set; }

    /// <summary>Attaches the VM and starts accepting clients (a standby server already accepts them: the VM joins it).</summary>
    public void Start(VirtualMachine vm)
    {
        _vm = vm;
        vm.EventRaised += OnMachineEvent;
        if (Standby is null)
        {
            StartAccepting();
        }
    }

    /// <summary>Accepts clients before there is a machine: they may launch one (<see cref="QmpStandbyCommands"/>).</summary>
    public void StartStandby(StandbyLaunch launch)
    {
        Standby = launch;
        StartAccepting();
    }

    private void StartAccepting() => new Thread(AcceptLoop) { IsBackground = true, Name = "qmp accept" }.Start();

    /// <summary>With <c>wait=on</c> (QEMU's default): blocks until the first client has connected.</summary>
    public void WaitForClientIfAsked()
    {
        if (_address.Wait)
        {
            System.Console.Error.WriteLine($"vessel: waiting for a QMP client on unix:{_address.Path}");
            _firstClient.Wait();
        }
    }

    /// <summary>The greeting sent to each client on connection.</summary>
    internal JsonObject Greeting() => new()
    {
        ["QMP"] = new JsonObject
        {
            ["version"] = QmpVersion.ToJson(),
            ["capabilities"] = new JsonArray("oob"),
        },
    };

    /// <summary>Sends an event to every negotiated client.</summary>
    internal void Broadcast(MachineEvent machineEvent)
    {
        long microseconds = (machineEvent.Timestamp - DateTimeOffset.UnixEpoch).Ticks / (TimeSpan.TicksPerMillisecond / 1000);
        var message = new JsonObject
        {
            ["timestamp"] = new JsonObject { ["seconds"] = microseconds / 1_000_000, ["microseconds"] = microseconds % 1_000_000 },
            ["event"] = machineEvent.Name,
        };
        if (machineEvent.Data is not null)
        {
            message["data"] = machineEvent.Data.DeepClone();
        }

        byte[] bytes = QmpSession.Serialize(message);
        foreach (QmpSession session in SessionsSnapshot())
        {
            if (session.Negotiated)
            {
                session.Send(bytes);
            }
        }
    }

    private void OnMachineEvent(MachineEvent machineEvent)
    {
        switch (machineEvent.Name)
        {
            case "MIGRATION" when !MigrationEventsEnabled:
                return;
            case "BALLOON_CHANGE":
                _balloonThrottle.Offer(machineEvent);
                return;
            default:
                Broadcast(machineEvent);
                return;
        }
    }

    private QmpSession[] SessionsSnapshot()
    {
        lock (_sessionsGate)
        {
            return [.. _sessions];
        }
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var session = new QmpSession(client, this);
            session.Closed += OnSessionClosed;
            lock (_sessionsGate)
            {
                if (_disposed)
                {
                    client.Dispose();
                    return;
                }

                if (_sessions.Count >= MaxClients)
                {
                    client.Dispose();
                    continue;
                }

                _sessions.Add(session);
            }

            session.Start();
            _firstClient.Set();
        }
    }

    private void OnSessionClosed(QmpSession session)
    {
        lock (_sessionsGate)
        {
            _sessions.Remove(session);
        }

        // A standby belongs to the client that negotiated with it (vessel serve's pool): when
        // that client is gone before giving it a machine, nobody will, and the process ends.
        if (session.Negotiated && Standby is { WaitingForMachine: true } standby)
        {
            standby.Quit();
        }
    }

    /// <summary>Sends each client what is still queued for it (the reply to <c>quit</c>, the last events), then closes the socket.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_vm is not null)
        {
            _vm.EventRaised -= OnMachineEvent;
        }

        _balloonThrottle.Dispose();
        _listener.Dispose();
        QmpSession[] sessions = SessionsSnapshot();
        Parallel.ForEach(sessions, session => session.FlushAndClose(TimeSpan.FromSeconds(2)));
        UnixSocketListener.Remove(_address.Path);
    }
}
