using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.Console;
using Vessel.Vmm.Control;

namespace Vessel.Vmm;

/// <summary>
/// Runs one VM in the foreground with its console on this process's terminal: builds the
/// machine, runs it, rebuilds it when the guest reboots, and turns the way it ended into an
/// exit code (0 after power-off, the guest's code after a reported failure).
/// </summary>
public static class VirtualMachine
{
    /// <summary>Exit code when the user quits with Ctrl-A x, as QEMU.</summary>
    public const int QuitExitCode = 0;

    public static int Run(VirtualMachineConfiguration configuration, HostConsole console)
    {
        using ControlServer? control = configuration.ControlSocketPath is null ? null : ControlServer.Listen(configuration.ControlSocketPath);
        while (true)
        {
            MachineExit exit;
            using (var machine = new RiscvVirtMachine(configuration, console))
            {
                control?.Attach(machine);
                Action quit = machine.Stop;
                console.QuitRequested += quit;
                var stopwatch = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    exit = machine.Run();
                }
                finally
                {
                    control?.Attach(null);
                    console.QuitRequested -= quit;
                    if (Environment.GetEnvironmentVariable("VESSEL_STATS") == "1")
                    {
                        double seconds = stopwatch.Elapsed.TotalSeconds;
                        System.Console.Error.WriteLine(
                            $"vessel: {machine.InstructionsExecuted:N0} instructions in {seconds:F2} s ({machine.InstructionsExecuted / seconds / 1e6:F1} MIPS), " +
                            $"{machine.Processor.DecodeCache.Invalidations:N0} code page invalidations, " +
                            $"{machine.Scheduler.Rounds:N0} rounds, {machine.Scheduler.Sleeps:N0} sleeps");
                    }
                }
            }

            switch (exit.Kind)
            {
                case MachineExitKind.PowerOff:
                    return 0;
                case MachineExitKind.Stopped:
                    return QuitExitCode;
                case MachineExitKind.Failure:
                    return exit.Code == 0 ? 1 : exit.Code;
                case MachineExitKind.Reset:
                    continue; // a reboot: build the machine afresh, as a power cycle
            }
        }
    }
}
