using System.CommandLine;
using Vessel.Network.Switch;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel switch PATH</c>: runs a learning virtual Ethernet switch on a Unix socket, so that
/// VMs started with <c>--net switch,path=PATH</c> share a private L2 segment without root.
/// </summary>
internal static class SwitchCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("PATH") { Description = "The Unix socket VMs connect to", HelpName = "PATH" };
        var command = new Command("switch", "Run a virtual switch that VMs join with --net switch,path=PATH (Ctrl-C stops it).") { path };
        command.SetAction(parseResult =>
        {
            string socketPath = parseResult.GetValue(path)!;
            using var stopped = new ManualResetEventSlim(false);
            using var sw = new VirtualSwitch(socketPath);
            sw.Start();
            Console.Error.WriteLine($"vessel: switch listening on {socketPath}");
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stopped.Set();
            };
            using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true;
                    stopped.Set();
                });
            stopped.Wait();
            return 0;
        });
        return command;
    }
}
