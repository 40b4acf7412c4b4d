using System.CommandLine;
using Vessel.Vmm.Hosting;
using Vessel.Vmm.Qmp;
using Vessel.Vmm.Runtime;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel run --standby --qmp unix:PATH,server=on</c>: a VMM started ahead of need, which
/// gets its machine later over QMP (<c>x-vessel-launch</c> with <c>vessel run</c>'s options).
/// <c>vessel serve</c> keeps a pool of them: starting a VM then costs building the board and
/// booting or restoring it, not starting a .NET process twice (<c>--daemonize</c>).
/// </summary>
internal static partial class RunCommand
{
    /// <summary>The options a standby process takes; the machine's come with the launch.</summary>
    private static readonly string[] s_standbyOptions = ["--standby", "--qmp", "--pidfile", "--daemonize"];

    private static int StartStandby(ParseResult parseResult, Command command, StandbyHost? standbyHost)
    {
        if (standbyHost is not null)
        {
            throw UserErrorException.Usage("x-vessel-launch takes the machine's options, not --standby");
        }

        foreach (Option option in command.Options)
        {
            if (!s_standbyOptions.Contains(option.Name) && parseResult.GetResult(option) is { Implicit: false })
            {
                throw UserErrorException.Usage($"--standby takes no {option.Name}: the machine's options come with x-vessel-launch");
            }
        }

        QmpAddress qmp = parseResult.GetValue<string?>("--qmp") is string qmpText
            ? ParseOption(qmpText, QmpAddress.Parse)!
            : throw UserErrorException.Usage("--standby needs --qmp unix:PATH,server=on,wait=off: the machine's options come through it");
        if (parseResult.GetValue<bool>("--daemonize") && !Daemon.IsChild)
        {
            return Daemon.StartAndWait(Environment.GetCommandLineArgs()[1..]);
        }

        if (Daemon.IsChild)
        {
            Daemon.Detach();
        }

        var host = new StandbyHost(parseResult.GetValue<string?>("--pidfile") is string pidFilePath ? PidFile.Create(pidFilePath) : null);
        try
        {
            using QmpServer qmpServer = QmpServer.Listen(qmp);
            var launch = new StandbyLaunch();
            host.Attach(qmpServer, launch);
            WarmUp(host);
            qmpServer.StartStandby(launch);
            SignalReadyIfDaemon();
            while (launch.WaitForArguments() is { } arguments)
            {
                ParseResult launched = Create(host).Parse(arguments);
                if (CommandLineHost.DescribeUsage(launched) is { } mistake)
                {
                    launch.Failed(mistake);
                    continue;
                }

                try
                {
                    return launched.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
                }
                catch (Exception e) when (!launch.Launched && CommandLineHost.TryDescribe(e, launched.CommandResult.Command, out string sentence, out _))
                {
                    // Nothing of the failed machine is kept (its usings have run): wait for another.
                    launch.Failed(sentence);
                }
            }

            return 0; // quit before any launch
        }
        finally
        {
            host.PidFile?.Dispose();
        }
    }

    /// <summary>
    /// Reads a typical machine's options and builds and restores such a machine once, off the
    /// record, so that the launch finds that code compiled (measured: a restore launch took
    /// ~550 ms cold on a busy host, most of it compiling the restore and the board).
    /// </summary>
    private static void WarmUp(StandbyHost host)
    {
        string[] typical =
        [
            "--kernel", "/nonexistent/Image", "--initrd", "/nonexistent/initrd", "--append", "console=ttyS0", "--memory", "16M", "--cpus", "1",
            "--net", "user,mac=52:54:00:00:00:01", "--device", "virtio-rng", "--device", "virtio-balloon", "--serial", "null",
            "--name", "warm-up", "--uuid", Guid.Empty.ToString(), "--incoming", "file:/nonexistent/state", "-S",
        ];
        _ = Create(host).Parse(typical);
        var configuration = new Vessel.Vmm.VirtualMachineConfiguration
        {
            KernelPath = "/nonexistent/Image",
            MemorySize = 16 * MiB,
            Cpus = 1,
            Networks = ParseNetworks(["user"]),
            EntropyDevice = true,
            BalloonDevice = true,
        };
        using var console = new Vessel.Vmm.Console.HostConsole(Vessel.Vmm.Console.ConsoleBackend.Parse("null")());
        Vessel.Vmm.Runtime.VirtualMachine.WarmUp(configuration, console);
    }

    /// <summary>What a launch in a standby process runs on: its QMP server, its launch, and the pidfile it may move.</summary>
    private sealed class StandbyHost(PidFile? pidFile)
    {
        private QmpServer? _qmpServer;
        private StandbyLaunch? _launch;

        public PidFile? PidFile { get; private set; } = pidFile;

        public void Attach(QmpServer qmpServer, StandbyLaunch launch)
        {
            _qmpServer = qmpServer;
            _launch = launch;
        }

        /// <summary>A launch brings the machine, not a way of hosting it: the process has its QMP socket and runs detached already.</summary>
        public static void CheckHosting(HostingOptions host)
        {
            if (host.Qmp is not null || host.Daemonize)
            {
                throw UserErrorException.Usage("x-vessel-launch takes the machine's options: the standby VMM already has its QMP socket and runs in the background");
            }

            if (host.SerialIsStdio)
            {
                throw UserErrorException.Usage("a launched VMM has no terminal: give --serial unix:PATH, pty, file:PATH or null");
            }
        }

        public int Run(Vessel.Vmm.VirtualMachineConfiguration configuration, MigrationAddress? incomingAddress, HostingOptions host)
        {
            if (host.PidFilePath is { } path)
            {
                // The caller moved the process's directory (or names a new file): the pidfile follows.
                PidFile moved = PidFile.Create(path);
                PidFile?.Dispose();
                PidFile = moved;
            }

            return RunCommand.Run(configuration, incomingAddress, host, _qmpServer, _launch!.Succeeded);
        }
    }
}
