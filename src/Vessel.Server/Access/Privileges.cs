namespace Vessel.Server.Access;

/// <summary>
/// The privileges a role grants, with Proxmox VE's names (its users know them), and the built-in
/// roles. A privilege is granted on an ACL path; the endpoints name the one they need.
/// </summary>
public static class Privileges
{
    public const string VmAllocate = "VM.Allocate";
    public const string VmAudit = "VM.Audit";
    public const string VmClone = "VM.Clone";
    public const string VmConfigCdrom = "VM.Config.CDROM";
    public const string VmConfigCpu = "VM.Config.CPU";
    public const string VmConfigDisk = "VM.Config.Disk";
    public const string VmConfigMemory = "VM.Config.Memory";
    public const string VmConfigNetwork = "VM.Config.Network";
    public const string VmConfigOptions = "VM.Config.Options";
    public const string VmConsole = "VM.Console";
    public const string VmMigrate = "VM.Migrate";
    public const string VmPowerMgmt = "VM.PowerMgmt";
    public const string VmSnapshot = "VM.Snapshot";
    public const string VmSnapshotRollback = "VM.Snapshot.Rollback";
    public const string DatastoreAllocate = "Datastore.Allocate";
    public const string DatastoreAllocateSpace = "Datastore.AllocateSpace";
    public const string DatastoreAudit = "Datastore.Audit";
    public const string NetworkAllocate = "Network.Allocate";
    public const string NetworkAudit = "Network.Audit";
    public const string PoolAllocate = "Pool.Allocate";
    public const string PoolAudit = "Pool.Audit";
    public const string SysAudit = "Sys.Audit";
    public const string SysModify = "Sys.Modify";
    public const string UserModify = "User.Modify";
    public const string PermissionsModify = "Permissions.Modify";
    public const string LicenseManage = "License.Manage";

    /// <summary>Every privilege there is, in a stable order.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        VmAllocate, VmAudit, VmClone, VmConfigCdrom, VmConfigCpu, VmConfigDisk, VmConfigMemory, VmConfigNetwork, VmConfigOptions,
        VmConsole, VmMigrate, VmPowerMgmt, VmSnapshot, VmSnapshotRollback,
        DatastoreAllocate, DatastoreAllocateSpace, DatastoreAudit, NetworkAllocate, NetworkAudit, PoolAllocate, PoolAudit,
        SysAudit, SysModify, UserModify, PermissionsModify, LicenseManage,
    ];

    public static bool Exists(string privilege) => All.Contains(privilege, StringComparer.Ordinal);
}

/// <summary>
/// The built-in roles, read-only. Their privilege sets follow Proxmox VE's roles of the same
/// purpose (Administrator, PVEVMAdmin, PVEVMUser, PVEAuditor, NoAccess); VMPowerUser sits
/// between a VM's user and its administrator: it also snapshots, rolls back and changes the
/// VM's CPU, memory and options, but creates, deletes, clones and migrates nothing and does not
/// touch disks or networks (which spend storage and network resources).
/// </summary>
public static class BuiltInRoles
{
    public const string Administrator = "Administrator";
    public const string VmAdmin = "VMAdmin";
    public const string VmPowerUser = "VMPowerUser";
    public const string VmUser = "VMUser";
    public const string Auditor = "Auditor";
    public const string NoAccess = "NoAccess";

    private static readonly string[] VmUserPrivileges = [Access.Privileges.VmAudit, Access.Privileges.VmConsole, Access.Privileges.VmPowerMgmt, Access.Privileges.VmConfigCdrom];

    public static readonly IReadOnlyDictionary<string, IReadOnlySet<string>> PrivilegesOf = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
    {
        [Administrator] = new HashSet<string>(Access.Privileges.All, StringComparer.Ordinal),
        [VmAdmin] = new HashSet<string>(Access.Privileges.All.Where(p => p.StartsWith("VM.", StringComparison.Ordinal)), StringComparer.Ordinal),
        [VmPowerUser] = new HashSet<string>([.. VmUserPrivileges, Access.Privileges.VmSnapshot, Access.Privileges.VmSnapshotRollback,
            Access.Privileges.VmConfigCpu, Access.Privileges.VmConfigMemory, Access.Privileges.VmConfigOptions], StringComparer.Ordinal),
        [VmUser] = new HashSet<string>(VmUserPrivileges, StringComparer.Ordinal),
        [Auditor] = new HashSet<string>([Access.Privileges.VmAudit, Access.Privileges.DatastoreAudit, Access.Privileges.NetworkAudit,
            Access.Privileges.PoolAudit, Access.Privileges.SysAudit], StringComparer.Ordinal),
        [NoAccess] = new HashSet<string>(StringComparer.Ordinal),
    };

    public static bool IsBuiltIn(string role) => PrivilegesOf.ContainsKey(role);
}
