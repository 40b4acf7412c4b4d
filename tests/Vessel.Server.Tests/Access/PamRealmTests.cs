using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>The pam realm: a Linux user of the host logs in with the host's password.</summary>
public sealed class PamRealmTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    private static void Run(string program, string? input, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        if (input is not null)
        {
            process.StandardInput.Write(input);
        }

        process.StandardInput.Close();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} failed: {error}");
    }

    [SkippableFact]
    public async Task AHostUserLogsInWithTheHostsPassword()
    {
        Skip.IfNot(Environment.UserName == "root", "creating a Linux user and checking its password through PAM needs root");
        Skip.IfNot(File.Exists("/usr/sbin/useradd") && File.Exists("/usr/sbin/chpasswd"), "useradd and chpasswd are not installed");
        string name = "vt" + Guid.NewGuid().ToString("N")[..8];
        Run("/usr/sbin/useradd", null, "--no-create-home", "--shell", "/usr/sbin/nologin", name);
        try
        {
            Run("/usr/sbin/chpasswd", $"{name}:host-password-1\n");
            using HttpClient root = _factory.Root();
            Assert.Equal(HttpStatusCode.Created, (await root.PostAsJsonAsync("/api/v1/access/users", new UserCreateRequest($"{name}@pam"))).StatusCode);
            await Http.ProblemAsync(await root.PostAsJsonAsync("/api/v1/access/users", new UserCreateRequest($"other@pam", "a-password-here")), 400);

            using HttpClient remote = _factory.Remote();
            (HttpResponseMessage ok, Session? session) = await Session.LoginAsync(remote, $"{name}@pam", "host-password-1");
            Assert.True(session is not null, await ok.Content.ReadAsStringAsync());
            Assert.Equal($"{name}@pam", session.Body.Username);
            await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest($"{name}@pam", "not-the-password")), 401);

            // A vessel password change does not reach the host's.
            await Http.ProblemAsync(await root.PutAsJsonAsync($"/api/v1/access/users/{name}@pam/password", new PasswordChangeRequest("new-password-1")), 409);
        }
        finally
        {
            Run("/usr/sbin/userdel", null, name);
        }
    }

    public void Dispose() => _factory.Dispose();
}
