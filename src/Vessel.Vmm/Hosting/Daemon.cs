using System.Diagnostics;
using System.Reflection;
using Vessel.Vmm.Native;

namespace Vessel.Vmm.Hosting;

/// <summary>
/// <c>--daemonize</c> without fork (which a .NET process cannot do safely): the command starts
/// itself again as a child in a session of its own, and the parent relays the child's output
/// until the child says it is up (its sockets listening, the VM built and started), then exits
/// 0. A child that fails before that has its error printed by the parent, which exits with the
/// child's code, so a script that starts a VM learns of a mistake at once. Once up, the child
/// puts /dev/null on its standard streams, as a daemon does.
/// </summary>
public static class Daemon
{
    private const string ChildVariable = "VESSEL_DAEMON_CHILD";
    private const string ReadyLine = "vessel-daemon-ready";

    /// <summary>Whether this process is the detached child of a <c>--daemonize</c> run.</summary>
    public static bool IsChild => Environment.GetEnvironmentVariable(ChildVariable) == "1";

    /// <summary>Starts <c>vessel</c> with <paramref name="arguments"/> as the daemon and waits until it is up; returns the exit code for the parent.</summary>
    public static int StartAndWait(IReadOnlyList<string> arguments)
    {
        string host = Environment.ProcessPath ?? throw new VmmException("--daemonize cannot find this program's path.");
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            // Run as "dotnet vessel.dll": the child needs the assembly too.
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[ChildVariable] = "1";
        using Process child = Process.Start(start) ?? throw new VmmException("--daemonize could not start the VMM process.");
        child.StandardInput.Close();
        var errorRelay = new Thread(() => Relay(child.StandardError, System.Console.Error)) { IsBackground = true };
        errorRelay.Start();

        while (child.StandardOutput.ReadLine() is { } line)
        {
            if (line == ReadyLine)
            {
                return 0;
            }

            System.Console.Out.WriteLine(line);
        }

        child.WaitForExit();
        errorRelay.Join(TimeSpan.FromSeconds(5));
        return child.ExitCode != 0 ? child.ExitCode : 1;
    }

    /// <summary>In the child, first thing: leaves the parent's session and terminal, so that hang-ups and Ctrl-C there do not reach the VM.</summary>
    public static void Detach() => LibC.SetSid();

    /// <summary>In the child, once it is up: tells the parent, and puts /dev/null on the standard streams.</summary>
    public static void SignalReady()
    {
        System.Console.Out.WriteLine(ReadyLine);
        System.Console.Out.Flush();
        System.Console.Error.Flush();
        int devNull = LibC.Open("/dev/null", LibC.OpenReadWrite);
        if (devNull >= 0)
        {
            LibC.Dup2(devNull, 0);
            LibC.Dup2(devNull, 1);
            LibC.Dup2(devNull, 2);
            LibC.Close(devNull);
        }
    }

    private static void Relay(StreamReader from, TextWriter to)
    {
        try
        {
            while (from.ReadLine() is { } line)
            {
                to.WriteLine(line);
            }
        }
        catch (IOException)
        {
        }
    }
}
