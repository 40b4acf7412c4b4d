using System.CommandLine;
using Vessel.Cli.Commands;
using Vessel.Cli.Commands.Platform;

namespace Vessel.Cli;

/// <summary>The <c>vessel</c> command tree: run, img and switch; serve, agent and their clients (host, vm, snapshot, template, pool, volume, network, operation, user, group, role, acl, token).</summary>
public static class VesselCommand
{
    public static RootCommand Create() =>
        new("Vessel: a virtualization platform. Runs RISC-V virtual machines and manages their disks.")
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
