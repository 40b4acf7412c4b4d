using System.Diagnostics;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>
/// A real <c>vessel serve</c>: its first start prints the administrator's one-time password
/// once, its Unix socket is root, and the access commands work with their fixed spellings.
/// </summary>
public sealed class AccessCommandLineTests
{
    private sealed record Result(int ExitCode, string Output, string Error);

    private static async Task<Result> VesselAsync(string dataDirectory, string? input, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(TestFiles.VesselAssembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["VESSEL_DATA_DIR"] = dataDirectory;
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return new Result(process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task TheFirstStartPrintsTheAdministratorsPasswordOnceAndTheSocketIsRoot()
    {
        using var temp = new TempDirectory();
        string data = temp.File("data");
        using (ServeProcess first = await ServeProcess.StartAsync(data))
        {
            // The socket's caller is root: it reads what needs Sys.Audit on /access without any credential.
            IReadOnlyList<UserInfo> users = await first.Client.ListUsersAsync();
            Assert.Equal(["admin@vessel"], users.Select(u => u.Name));
            PermissionsInfo root = await first.Client.GetPermissionsAsync("/");
            Assert.Equal("root@pam", root.Caller);
            Assert.Equal(Vessel.Server.Access.Privileges.All.Order(), root.Privileges.Order());
            Assert.Single(first.Log.Split('\n'), line => line.Contains("shown this once", StringComparison.Ordinal));
        }

        using ServeProcess second = await ServeProcess.StartAsync(data);
        Assert.DoesNotContain("shown this once", second.Log);
    }

    [Fact]
    public async Task TheAdministratorsPasswordCanComeFromAFile()
    {
        using var temp = new TempDirectory();
        string data = temp.File("data");
        string passwordFile = temp.File("admin-password");
        await File.WriteAllTextAsync(passwordFile, "chosen-admin-password\n");
        using ServeProcess serve = await ServeProcess.StartAsync(data, "--admin-password-file", passwordFile);
        Assert.DoesNotContain("shown this once", serve.Log);

        // The file's password (without its newline) is admin's; another is refused.
        LoginResponse login = await serve.Client.LoginAsync(new LoginRequest("admin@vessel", "chosen-admin-password"));
        Assert.Equal("admin@vessel", login.Username);
        VesselApiException refused = await Assert.ThrowsAsync<VesselApiException>(() => serve.Client.LoginAsync(new LoginRequest("admin@vessel", "chosen-admin-password\n")));
        Assert.Equal(401, refused.Status);
    }

    [Fact]
    public async Task UsersGroupsRolesPermissionsAndTokensThroughTheCommandLine()
    {
        using var temp = new TempDirectory();
        string data = temp.File("data");
        using ServeProcess serve = await ServeProcess.StartAsync(data);

        Result added = await VesselAsync(data, "alices-password\n", "user", "add", "alice@vessel", "--comment", "<b>ops</b>");
        Assert.True(added.ExitCode == 0, added.Error);
        Result group = await VesselAsync(data, null, "group", "add", "ops", "--member", "alice@vessel");
        Assert.True(group.ExitCode == 0, group.Error);
        Result role = await VesselAsync(data, null, "role", "add", "Starter", "--privs", "VM.Audit,VM.PowerMgmt");
        Assert.True(role.ExitCode == 0, role.Error);
        Result acl = await VesselAsync(data, null, "acl", "set", "/vms", "--group", "ops", "--role", "Starter", "--no-propagate");
        Assert.True(acl.ExitCode == 0, acl.Error);
        Result token = await VesselAsync(data, null, "token", "create", "ci", "--user", "alice@vessel", "--expires", "30d", "--privsep");
        Assert.True(token.ExitCode == 0, token.Error);
        string secret = token.Output.Split('\n').Single(l => l.StartsWith("secret: ", StringComparison.Ordinal))["secret: ".Length..].Trim();
        Assert.StartsWith("vessel_", secret);

        JsonArray users = JsonNode.Parse((await VesselAsync(data, null, "user", "list", "-o", "json")).Output)!.AsArray();
        JsonNode alice = users.Single(u => u!["name"]!.GetValue<string>() == "alice@vessel")!;
        Assert.Equal("<b>ops</b>", alice["comment"]!.GetValue<string>());
        Assert.Equal(["ops"], alice["groups"]!.AsArray().Select(g => g!.GetValue<string>()));
        Result aclList = await VesselAsync(data, null, "acl", "list");
        Assert.Contains(aclList.Output.Split('\n'), line => line.StartsWith("/vms", StringComparison.Ordinal) && line.Contains("ops") && line.Contains("Starter") && line.TrimEnd().EndsWith("no", StringComparison.Ordinal));
        Result tokens = await VesselAsync(data, null, "token", "list", "--user", "alice@vessel");
        Assert.Contains("alice@vessel!ci", tokens.Output);
        Assert.DoesNotContain(secret, tokens.Output);

        // Mistakes are one sentence and a non-zero exit.
        Result unknownRole = await VesselAsync(data, null, "acl", "set", "/", "--user", "alice@vessel", "--role", "Nope");
        Assert.Equal((2, "vessel: There is no role 'Nope'."), (unknownRole.ExitCode, unknownRole.Error.Trim()));
        Result builtIn = await VesselAsync(data, null, "role", "delete", "Administrator");
        Assert.Equal(1, builtIn.ExitCode);
        Assert.Single(builtIn.Error.Trim().Split('\n'));

        Result passwd = await VesselAsync(data, "another-password\n", "user", "passwd", "alice@vessel");
        Assert.True(passwd.ExitCode == 0, passwd.Error);
        Result disabled = await VesselAsync(data, null, "user", "disable", "alice@vessel");
        Assert.True(disabled.ExitCode == 0, disabled.Error);
        Assert.Contains("disabled", disabled.Output);
        Assert.Equal(0, (await VesselAsync(data, null, "token", "delete", "alice@vessel!ci")).ExitCode);
        Assert.Equal(0, (await VesselAsync(data, null, "acl", "delete", "/vms", "--group", "ops")).ExitCode);
        Assert.Equal(0, (await VesselAsync(data, null, "role", "delete", "Starter")).ExitCode);
        Assert.Equal(0, (await VesselAsync(data, null, "group", "delete", "ops")).ExitCode);
        Assert.Equal(0, (await VesselAsync(data, null, "user", "delete", "alice@vessel")).ExitCode);
        Assert.DoesNotContain("alice", (await VesselAsync(data, null, "user", "list")).Output);
    }
}
