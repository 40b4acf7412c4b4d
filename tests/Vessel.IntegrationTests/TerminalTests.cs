using System.Diagnostics;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// The console on a real terminal: <c>vessel run</c> puts the terminal in raw mode, so keys
/// such as Ctrl-C go to the guest instead of killing the VMM, and Ctrl-A x quits, as in QEMU;
/// the terminal's settings are restored afterwards.
/// </summary>
public sealed class TerminalTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void RawTerminalPassesCtrlCToTheGuestAndCtrlAXQuits()
    {
        using var terminal = new PseudoTerminal();
        string settingsBefore = TerminalSettings(terminal.SlavePath);

        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        };
        // setsid -w: a new session (as a login terminal would have) and wait for the child;
        // the shell only wires the terminal to vessel's stdin and stdout.
        foreach (string argument in (string[])["-w", "sh", "-c", "exec \"$@\" <\"$0\" >\"$0\"", terminal.SlavePath,
            "dotnet", TestPaths.CliAssembly, "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd,
            "--append", ReferenceGuest.QuietInitramfsCommandLine])
        {
            start.ArgumentList.Add(argument);
        }

        using Process vessel = Process.Start(start)!;
        try
        {
            terminal.WaitFor(ReferenceGuest.Prompt, s_timeout);
            Assert.Contains("-echo", TerminalSettings(terminal.SlavePath));
            Assert.Contains("-isig", TerminalSettings(terminal.SlavePath));

            // A terminal's Enter key sends a carriage return.
            terminal.Type("echo $((6*7))\r");
            terminal.WaitFor("42", s_timeout);

            // In cooked mode the terminal would turn Ctrl-C into SIGINT and end the VMM; in raw
            // mode the guest gets the byte and its shell starts a fresh line.
            terminal.Type("\u0003");
            terminal.Type("echo still-$((40+2))\r");
            terminal.WaitFor("still-42", s_timeout);
            Assert.False(vessel.HasExited);

            // Quit once the shell has printed its next prompt: that unfinished line is the one
            // vessel must end (quitting before it came, on a busy machine, left nothing to end).
            Assert.True(SpinWait.SpinUntil(() => terminal.Output.EndsWith("/ # ", StringComparison.Ordinal), s_timeout), "no prompt after still-42");
            terminal.Type("\u0001x");
            Assert.True(vessel.WaitForExit(s_timeout), "vessel did not quit on Ctrl-A x");
            Assert.Equal(0, vessel.ExitCode);
            Assert.Equal(settingsBefore, TerminalSettings(terminal.SlavePath));

            // The guest's prompt was left unfinished: vessel ends its line, so the host shell's
            // prompt starts on a new one.
            // (The terminal's output processing, left on in raw mode, turns "\n" into "\r\n".)
            var endedLine = new System.Text.RegularExpressions.Regex(@"/ # \r+\n$");
            Assert.True(
                SpinWait.SpinUntil(() => endedLine.IsMatch(terminal.Output), s_timeout),
                $"the guest's last line was not ended: ...{terminal.Output[^Math.Min(40, terminal.Output.Length)..]}");
        }
        finally
        {
            if (!vessel.HasExited)
            {
                vessel.Kill(entireProcessTree: true);
            }
        }
    }

    private static string TerminalSettings(string device) => ExternalTool.Run("stty", ["-F", device, "-a"]);
}
