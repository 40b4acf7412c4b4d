using System.CommandLine;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel group add|list|delete</c>: groups of users, to give permissions to many at once.</summary>
internal static class GroupCommand
{
    public static Command Create() => ClientCommand.Group("group", "Add, list and delete groups of users.", Add(), List(), Delete());

    private static Command Add()
    {
        var name = new Argument<string>("GROUP") { Description = "The group's name" };
        var members = new Option<string[]>("--member") { Description = "A user in the group (repeat for more)", HelpName = "USER" };
        var comment = new Option<string?>("--comment") { Description = "A comment", HelpName = "TEXT" };
        var command = new Command("add", "Add a group") { name, members, comment };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            GroupInfo group = await client.CreateGroupAsync(new GroupCreateRequest(parseResult.GetValue(name)!, parseResult.GetValue(comment), parseResult.GetValue(members)), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(group);
            }
            else
            {
                Console.Out.WriteLine($"group {group.Name} ({string.Join(", ", group.Members)})");
            }

            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List groups and their members");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<GroupInfo> groups = await client.ListGroupsAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(groups);
                return 0;
            }

            Table.Write(["GROUP", "MEMBERS", "COMMENT"], groups.Select(g => (IReadOnlyList<string>)[g.Name, string.Join(",", g.Members), g.Comment]));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("GROUP") { Description = "The group" };
        var command = new Command("delete", "Delete a group and its permissions (its users stay)") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteGroupAsync(parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }
}

/// <summary><c>vessel role add|list|delete</c>: roles, the privilege sets that permissions give.</summary>
internal static class RoleCommand
{
    public static Command Create() => ClientCommand.Group("role", "Add, list and delete roles (sets of privileges such as VM.PowerMgmt).", Add(), List(), Delete());

    private static Command Add()
    {
        var name = new Argument<string>("ROLE") { Description = "The role's name" };
        var privileges = new Option<string>("--privs") { Description = "Its privileges, separated by commas or spaces (VM.Audit,VM.PowerMgmt)", HelpName = "PRIVILEGES", Required = true };
        var command = new Command("add", "Define a role") { name, privileges };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string[] list = parseResult.GetValue(privileges)!.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            RoleInfo role = await client.CreateRoleAsync(new RoleCreateRequest(parseResult.GetValue(name)!, list), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(role);
            }
            else
            {
                Console.Out.WriteLine($"role {role.Name}: {string.Join(", ", role.Privileges)}");
            }

            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List roles, built-in and defined, with their privileges");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<RoleInfo> roles = await client.ListRolesAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(roles);
                return 0;
            }

            Table.Write(["ROLE", "BUILT-IN", "PRIVILEGES"], roles.Select(r => (IReadOnlyList<string>)[r.Name, r.BuiltIn ? "yes" : "no", string.Join(",", r.Privileges)]));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("ROLE") { Description = "The role" };
        var command = new Command("delete", "Delete a role no permission uses") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteRoleAsync(parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }
}

/// <summary><c>vessel acl set|list|delete</c>: permissions, a role for a user, group or token on a path.</summary>
internal static class AclCommand
{
    public static Command Create() => ClientCommand.Group("acl", "Set, list and delete permissions: a role on a path (/, /vms/NAME, /storage/POOL, /networks/NAME, /access ...) for a user, group or token.", Set(), List(), Delete());

    private static (Option<string?> User, Option<string?> Group, Option<string?> Token) Subjects() => (
        new Option<string?>("--user") { Description = "The user (name@realm)", HelpName = "USER" },
        new Option<string?>("--group") { Description = "The group", HelpName = "GROUP" },
        new Option<string?>("--token") { Description = "The API token (user@realm!name)", HelpName = "TOKEN" });

    private static Command Set()
    {
        var path = new Argument<string>("PATH") { Description = "Where the role applies (and below it, unless --no-propagate)" };
        (Option<string?> user, Option<string?> group, Option<string?> token) = Subjects();
        var role = new Option<string>("--role") { Description = "The role (see vessel role list)", HelpName = "ROLE", Required = true };
        var noPropagate = new Option<bool>("--no-propagate") { Description = "Apply on PATH only, not below it" };
        var command = new Command("set", "Give a user, group or token a role on a path") { path, user, group, token, role, noPropagate };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            AclEntryInfo entry = await client.SetAclAsync(new AclSetRequest(parseResult.GetValue(path)!, parseResult.GetValue(role)!,
                parseResult.GetValue(user), parseResult.GetValue(group), parseResult.GetValue(token), !parseResult.GetValue(noPropagate)), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(entry);
            }
            else
            {
                Console.Out.WriteLine($"{entry.Path}: {entry.User ?? entry.Group ?? entry.Token} has {entry.Role}{(entry.Propagate ? "" : " (here only)")}");
            }

            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List permissions");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<AclEntryInfo> entries = await client.ListAclAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(entries);
                return 0;
            }

            Table.Write(["PATH", "KIND", "SUBJECT", "ROLE", "PROPAGATE"], entries.Select(e => (IReadOnlyList<string>)
                [e.Path, e.User is not null ? "user" : e.Group is not null ? "group" : "token", e.User ?? e.Group ?? e.Token ?? "", e.Role, e.Propagate ? "yes" : "no"]));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var path = new Argument<string>("PATH") { Description = "The permission's path" };
        (Option<string?> user, Option<string?> group, Option<string?> token) = Subjects();
        var role = new Option<string?>("--role") { Description = "Only this role (else every role of the subject on the path)", HelpName = "ROLE" };
        var command = new Command("delete", "Remove a permission") { path, user, group, token, role };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteAclAsync(parseResult.GetValue(path)!, parseResult.GetValue(role), parseResult.GetValue(user), parseResult.GetValue(group), parseResult.GetValue(token), cancellationToken);
            return 0;
        });
        return command;
    }
}

/// <summary><c>vessel token create|list|delete</c>: API tokens for scripts; the secret is printed once.</summary>
internal static class TokenCommand
{
    public static Command Create() => ClientCommand.Group("token", "Create, list and delete API tokens (Authorization: Bearer SECRET).", Add(), List(), Delete());

    private static readonly Option<string?> User = new("--user") { Description = "Whose token (default: the caller's own; another's needs User.Modify)", HelpName = "USER" };

    private static Command Add()
    {
        var name = new Argument<string>("NAME") { Description = "The token's name" };
        var expires = new Option<string?>("--expires") { Description = "When it expires: a date (2027-01-31) or a time from now (30d, 12h)", HelpName = "WHEN" };
        var privsep = new Option<bool>("--privsep") { Description = "Privilege-separated: the token has only the permissions given to it (vessel acl set --token), within its user's" };
        var comment = new Option<string?>("--comment") { Description = "A comment", HelpName = "TEXT" };
        var command = new Command("create", "Create an API token and print its secret, this once") { name, expires, privsep, comment, User };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            TokenCreated created = await client.CreateTokenAsync(new TokenCreateRequest(parseResult.GetValue(name)!, AccessInput.ParseWhen("--expires", parseResult.GetValue(expires)),
                parseResult.GetValue(privsep), parseResult.GetValue(comment), parseResult.GetValue(User)), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(created);
            }
            else
            {
                Console.Out.WriteLine($"token {created.Token.Id}{(created.Token.PrivilegeSeparated ? " (privilege-separated)" : "")}{(created.Token.ExpiresAt is { } e ? $", expires {e:u}" : "")}");
                Console.Out.WriteLine($"secret: {created.Secret}");
                Console.Error.WriteLine("vessel: the secret is shown this once; keep it (for example in VESSEL_TOKEN)");
            }

            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List API tokens (never their secrets)") { User };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<TokenInfo> tokens = await client.ListTokensAsync(parseResult.GetValue(User), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(tokens);
                return 0;
            }

            Table.Write(["TOKEN", "PRIVSEP", "EXPIRES", "COMMENT"], tokens.Select(t => (IReadOnlyList<string>)[t.Id, t.PrivilegeSeparated ? "yes" : "no", t.ExpiresAt?.ToString("u") ?? "never", t.Comment]));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("TOKEN") { Description = "The token: its name, or user@realm!name" };
        var command = new Command("delete", "Delete an API token (it stops working at once)") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteTokenAsync(parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }
}
