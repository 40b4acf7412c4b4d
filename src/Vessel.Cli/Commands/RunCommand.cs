using System.CommandLine;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel run</c>: boots one virtual machine in the foreground.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Boot a virtual machine with its console on this terminal (Ctrl-A x quits).");
        return command;
    }
}
