using Vessel.Client.Contracts;

namespace Vessel.Server.Access;

/// <summary>
/// Privileges that depend on what a request asks for, beyond its endpoint's rule: each part of
/// a VM edit has its own (CPU, memory, CD-ROM, options), and anything that names a file or
/// directory on the host (a kernel, an initrd, a file to import, a pool's directory) needs
/// Sys.Modify on <c>/</c>, since it reads or writes the host's files as the daemon.
/// </summary>
public static class RequestPrivileges
{
    public const string HostFiles = Privileges.SysModify;

    /// <summary>The VM.Config.* privileges an edit needs on the VM.</summary>
    public static IEnumerable<string> OfEdit(VmEditRequest request)
    {
        if (request.Cpus is not null || request.CpuEngine is not null)
        {
            yield return Privileges.VmConfigCpu;
        }

        if (request.MemoryBytes is not null || request.BalloonBytes is not null || request.Balloon is not null)
        {
            yield return Privileges.VmConfigMemory;
        }

        if (request.Iso is not null)
        {
            yield return Privileges.VmConfigCdrom;
        }

        if (request.Name is not null || request.Description is not null || request.Tags is not null || request.Append is not null
            || request.Rng is not null || request.Display is not null || request.Autostart is not null || request.Kernel is not null || request.Initrd is not null
            || request.Rules is not null)
        {
            yield return Privileges.VmConfigOptions;
        }
    }

    public static bool ReadsHostFiles(VmEditRequest request) => request.Kernel is { Length: > 0 } || request.Initrd is { Length: > 0 };

    public static bool ReadsHostFiles(VmCreateRequest request) =>
        request.Kernel is { Length: > 0 } || request.Initrd is { Length: > 0 } || (request.Disks ?? []).Any(d => d.Import is not null);

    /// <summary>Checks an edit of the VM at <paramref name="path"/> (shown as <paramref name="shown"/>).</summary>
    public static void RequireEdit(CallerAccess access, VmEditRequest request, string path, string shown)
    {
        foreach (string privilege in OfEdit(request))
        {
            access.Require(privilege, path, shown);
        }

        if (ReadsHostFiles(request))
        {
            access.Require(HostFiles, "/");
        }
    }

    /// <summary>Checks a new VM: its disks spend space in their pools, and host files need Sys.Modify.</summary>
    public static void RequireCreate(CallerAccess access, VmCreateRequest request)
    {
        if (ReadsHostFiles(request))
        {
            access.Require(HostFiles, "/");
        }

        foreach (DiskRequest disk in request.Disks ?? [])
        {
            if (disk.Volume is null)
            {
                access.Require(Privileges.DatastoreAllocateSpace, CallerAccess.StoragePath(disk.Pool ?? "default"));
            }
        }
    }
}
