using System.CommandLine;
using Vessel.Cli.Commands;
using Vessel.Cli.Commands.Platform;

namespace Vessel.Cli;

/// <summary>The <c>vessel</c> command tree: run, img and switch; serve, agent and their clients (host, vm, snapshot, template, pool, volume, network, operation, user, group, role, acl, token).</summary>
public static class VesselCommand
{
    private const string Description = "Vessel: a virtualization platform. Runs RISC-V virtual machines and manages their disks.";

    /// <summary>
    /// The tree for these arguments: <c>vessel run ...</c>, the VMM, gets a root with only the
    /// run command, since building the other commands' options costs the VMM's start-up ~40 ms
    /// of CPU (and loads their assemblies' code) for nothing; anything else gets the whole tree.
    /// </summary>
    public static RootCommand CreateFor(IReadOnlyList<string> args) =>
        args.Count > 0 && args[0] == "run" ? new RootCommand(Description) { RunCommand.Create() } : Create();

    public static RootCommand Create() =>
        new(Description)
        {
            RunCommand.Create(),
            ImgCommand.Create(),
            SwitchCommand.Create(),
            ServeCommand.Create(),
            AgentCommand.Create(),
            HostCommand.Create(),
            VmCommand.Create(),
            SnapshotCommand.Create(),
            TemplateCommand.Create(),
            PoolCommand.Create(),
            VolumeCommand.Create(),
            NetworkCommand.Create(),
            OperationCommand.Create(),
            UserCommand.Create(),
            GroupCommand.Create(),
            RoleCommand.Create(),
            AclCommand.Create(),
            TokenCommand.Create(),
            AuditCommand.Create(),
            LicenseCommand.Create(),
        };
}
