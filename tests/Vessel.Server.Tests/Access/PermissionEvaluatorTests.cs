using Vessel.Server.Access;

namespace Vessel.Server.Tests.Access;

/// <summary>The permission rules, case by case, without a server: inheritance, overrides, NoAccess, propagation, tokens, inactive users, root.</summary>
public sealed class PermissionEvaluatorTests
{
    private const string Alice = "alice@vessel";
    private const string Vm = "/vms/0b9f0c3e-0000-4000-8000-000000000001";
    private static readonly AccessIdentity AliceIdentity = new(Alice, Active: true);

    private static AccessModel Model(IReadOnlyList<AclEntry> entries, string[]? aliceGroups = null, Dictionary<string, string>? pools = null, Dictionary<string, IReadOnlySet<string>>? roles = null) =>
        new(entries, roles, new Dictionary<string, IReadOnlySet<string>> { [Alice] = new HashSet<string>(aliceGroups ?? []) }, pools);

    public static TheoryData<string> RolesAndPaths() => new(BuiltInRoles.PrivilegesOf.Keys);

    [Theory]
    [MemberData(nameof(RolesAndPaths))]
    public void A_role_at_the_root_gives_exactly_its_privileges_everywhere_below(string role)
    {
        AccessModel model = Model([new AclEntry("/", SubjectKind.User, Alice, role)]);
        foreach (string path in new[] { "/", "/vms", Vm, "/storage/default", "/networks/lan", "/hosts/h1", "/access" })
        {
            Assert.Equal(BuiltInRoles.PrivilegesOf[role].Order(), PermissionEvaluator.PrivilegesAt(model, AliceIdentity, path).Order());
        }
    }

    [Fact]
    public void Nobody_has_anything_without_an_entry()
    {
        AccessModel model = Model([new AclEntry("/", SubjectKind.User, "bob@vessel", BuiltInRoles.Administrator)]);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, AliceIdentity, Vm));
    }

    [Fact]
    public void A_deeper_entry_overrides_an_inherited_one_both_ways()
    {
        AccessModel narrowed = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.VmAdmin), new AclEntry(Vm, SubjectKind.User, Alice, BuiltInRoles.VmUser)]);
        Assert.False(PermissionEvaluator.Allows(narrowed, AliceIdentity, Privileges.VmAllocate, Vm));
        Assert.True(PermissionEvaluator.Allows(narrowed, AliceIdentity, Privileges.VmPowerMgmt, Vm));
        Assert.True(PermissionEvaluator.Allows(narrowed, AliceIdentity, Privileges.VmAllocate, "/vms/other"));

        AccessModel widened = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.Auditor), new AclEntry("/vms", SubjectKind.User, Alice, BuiltInRoles.VmAdmin)]);
        Assert.True(PermissionEvaluator.Allows(widened, AliceIdentity, Privileges.VmAllocate, Vm));
        Assert.False(PermissionEvaluator.Allows(widened, AliceIdentity, Privileges.VmAllocate, "/"));
        Assert.False(PermissionEvaluator.Allows(widened, AliceIdentity, Privileges.DatastoreAudit, "/vms"));
        Assert.True(PermissionEvaluator.Allows(widened, AliceIdentity, Privileges.DatastoreAudit, "/storage/default"));
    }

    [Fact]
    public void A_users_own_entry_overrides_its_groups_at_the_same_path()
    {
        AccessModel model = Model([new AclEntry(Vm, SubjectKind.Group, "ops", BuiltInRoles.VmAdmin), new AclEntry(Vm, SubjectKind.User, Alice, BuiltInRoles.VmUser)], ["ops"]);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.VmUser].Order(), PermissionEvaluator.PrivilegesAt(model, AliceIdentity, Vm).Order());
    }

    [Fact]
    public void Groups_at_one_path_add_up_and_a_deeper_group_entry_overrides_a_users_inherited_one()
    {
        AccessModel model = Model([
            new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.Administrator),
            new AclEntry(Vm, SubjectKind.Group, "ops", BuiltInRoles.VmUser),
            new AclEntry(Vm, SubjectKind.Group, "audit", BuiltInRoles.Auditor),
        ], ["ops", "audit"]);
        IReadOnlySet<string> rights = PermissionEvaluator.PrivilegesAt(model, AliceIdentity, Vm);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.VmUser].Union(BuiltInRoles.PrivilegesOf[BuiltInRoles.Auditor]).Order(), rights.Order());
    }

    [Fact]
    public void A_group_the_user_is_not_in_gives_nothing()
    {
        AccessModel model = Model([new AclEntry("/", SubjectKind.Group, "ops", BuiltInRoles.Administrator)], ["audit"]);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, AliceIdentity, "/"));
    }

    [Fact]
    public void NoAccess_wins_over_other_roles_at_the_same_level_and_over_inherited_ones()
    {
        AccessModel sameLevel = Model([new AclEntry(Vm, SubjectKind.Group, "ops", BuiltInRoles.Administrator), new AclEntry(Vm, SubjectKind.Group, "banned", BuiltInRoles.NoAccess)], ["ops", "banned"]);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(sameLevel, AliceIdentity, Vm));

        AccessModel below = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.Administrator), new AclEntry("/vms", SubjectKind.User, Alice, BuiltInRoles.NoAccess)]);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(below, AliceIdentity, Vm));
        Assert.True(PermissionEvaluator.Allows(below, AliceIdentity, Privileges.SysModify, "/"));
    }

    [Fact]
    public void An_entry_that_does_not_propagate_counts_only_on_its_own_path()
    {
        AccessModel model = Model([new AclEntry("/vms", SubjectKind.User, Alice, BuiltInRoles.VmAdmin, Propagate: false)]);
        Assert.True(PermissionEvaluator.Allows(model, AliceIdentity, Privileges.VmAllocate, "/vms"));
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, AliceIdentity, Vm));

        AccessModel overInherited = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.Auditor), new AclEntry("/vms", SubjectKind.User, Alice, BuiltInRoles.VmAdmin, Propagate: false)]);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.Auditor].Order(), PermissionEvaluator.PrivilegesAt(overInherited, AliceIdentity, Vm).Order());
    }

    [Fact]
    public void A_resource_pool_passes_its_entries_to_its_members_and_the_members_own_path_still_overrides()
    {
        var pools = new Dictionary<string, string> { [Vm] = "team" };
        AccessModel model = Model([new AclEntry("/pools/team", SubjectKind.User, Alice, BuiltInRoles.VmPowerUser)], pools: pools);
        Assert.True(PermissionEvaluator.Allows(model, AliceIdentity, Privileges.VmSnapshot, Vm));
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, AliceIdentity, "/vms/not-in-the-pool"));

        AccessModel overridden = Model([new AclEntry("/pools/team", SubjectKind.User, Alice, BuiltInRoles.VmPowerUser), new AclEntry(Vm, SubjectKind.User, Alice, BuiltInRoles.NoAccess)], pools: pools);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(overridden, AliceIdentity, Vm));
    }

    [Fact]
    public void A_user_defined_role_gives_its_privileges_and_an_unknown_role_none()
    {
        var roles = new Dictionary<string, IReadOnlySet<string>> { ["Starter"] = new HashSet<string> { Privileges.VmPowerMgmt } };
        AccessModel model = Model([new AclEntry(Vm, SubjectKind.User, Alice, "Starter"), new AclEntry("/storage", SubjectKind.User, Alice, "Gone")], roles: roles);
        Assert.Equal([Privileges.VmPowerMgmt], PermissionEvaluator.PrivilegesAt(model, AliceIdentity, Vm));
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, AliceIdentity, "/storage/default"));
    }

    [Fact]
    public void A_token_without_separation_has_its_users_rights_and_ignores_entries_of_its_own()
    {
        AccessModel model = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.VmUser), new AclEntry("/", SubjectKind.Token, Alice + "!ci", BuiltInRoles.Administrator)]);
        var token = new AccessIdentity(Alice, true, Alice + "!ci", PrivilegeSeparated: false);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.VmUser].Order(), PermissionEvaluator.PrivilegesAt(model, token, Vm).Order());
    }

    [Fact]
    public void A_separated_token_has_the_intersection_of_its_entries_and_its_users_rights()
    {
        var token = new AccessIdentity(Alice, true, Alice + "!ci", PrivilegeSeparated: true);
        AccessModel model = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.VmPowerUser), new AclEntry(Vm, SubjectKind.Token, Alice + "!ci", BuiltInRoles.VmAdmin)]);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.VmPowerUser].Order(), PermissionEvaluator.PrivilegesAt(model, token, Vm).Order());
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, token, "/vms/other"));

        AccessModel noEntries = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.Administrator)]);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(noEntries, token, Vm));
    }

    [Fact]
    public void A_separated_token_does_not_inherit_its_users_groups()
    {
        var token = new AccessIdentity(Alice, true, Alice + "!ci", PrivilegeSeparated: true);
        AccessModel model = Model([new AclEntry("/", SubjectKind.Group, "ops", BuiltInRoles.Administrator), new AclEntry("/", SubjectKind.Token, Alice + "!ci", BuiltInRoles.Auditor)], ["ops"]);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.Auditor].Order(), PermissionEvaluator.PrivilegesAt(model, token, "/").Order());
    }

    [Fact]
    public void An_inactive_user_and_its_tokens_have_nothing_and_root_has_everything()
    {
        AccessModel model = Model([new AclEntry("/", SubjectKind.User, Alice, BuiltInRoles.Administrator), new AclEntry("/", SubjectKind.Token, Alice + "!ci", BuiltInRoles.Administrator)]);
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, new AccessIdentity(Alice, Active: false), "/"));
        Assert.Empty(PermissionEvaluator.PrivilegesAt(model, new AccessIdentity(Alice, false, Alice + "!ci", true), "/"));
        Assert.Equal(Privileges.All.Order(), PermissionEvaluator.PrivilegesAt(Model([]), AccessIdentity.Root, Vm).Order());
    }

    [Fact]
    public void Levels_run_from_the_root_through_the_resource_pool_to_the_object()
    {
        AccessModel model = Model([], pools: new Dictionary<string, string> { [Vm] = "team" });
        Assert.Equal(["/", "/vms", "/pools/team", Vm], PermissionEvaluator.LevelsOf(model, Vm));
        Assert.Equal(["/"], PermissionEvaluator.LevelsOf(model, "/"));
    }
}
