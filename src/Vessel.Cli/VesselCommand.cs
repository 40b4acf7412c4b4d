using System.CommandLine;
using Vessel.Cli.Commands;

namespace Vessel.Cli;

/// <summary>The <c>vessel</c> command tree: run, img and switch, with their options.</summary>
public static class VesselCommand
{
    public static RootCommand Create() =>
        new("Vessel: a virtualization platform. Runs RISC-V virtual machines and manages their disks.")
        {
            RunCommand.Create(),
            ImgCommand.Create(),
            SwitchCommand.Create(),
        };
}
