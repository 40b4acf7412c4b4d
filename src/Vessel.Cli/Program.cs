using System.CommandLine;
using Vessel.Cli;
using Vessel.Cli.Commands;

// The `vessel` command: one entry point for running VMs and managing images. Every command
// reports a mistake of the user's as one sentence on stderr and a non-zero exit code.
var root = new RootCommand("Vessel: a virtualization platform. Runs RISC-V virtual machines and manages their disks.")
{
    RunCommand.Create(),
    ImgCommand.Create(),
    SwitchCommand.Create(),
};

return CommandLineHost.Invoke(root, args);
