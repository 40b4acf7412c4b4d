using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>Logins, sessions and their CSRF token, lockout, expiry (on a fake clock), API tokens and passwords.</summary>
public sealed class SessionAndTokenTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    [Fact]
    public async Task WithoutCredentialsANetworkCallerGets401AndTheSocketIsRoot()
    {
        using HttpClient remote = _factory.Remote();
        JsonObject problem = await Http.ProblemAsync(await remote.GetAsync("/api/v1/vms"), 401);
        Assert.Contains("login", problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await remote.GetAsync("/api/v1/openapi.json")).StatusCode);

        using HttpClient root = _factory.Root();
        Assert.Equal(HttpStatusCode.OK, (await root.GetAsync("/api/v1/vms")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await root.GetAsync("/api/v1/access/users")).StatusCode);
    }

    [Fact]
    public async Task TheFirstStartCreatesTheAdministratorWithThePasswordFromTheFile()
    {
        using HttpClient remote = _factory.Remote();
        (HttpResponseMessage response, Session? session) = await Session.LoginAsync(remote, "admin@vessel", AccessFactory.AdminPassword);
        Assert.NotNull(session);
        string setCookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        LoginResponse body = session.Body;
        Assert.Equal("admin@vessel", body.Username);
        Assert.Equal(_factory.Clock.GetUtcNow().UtcDateTime + AccessMiddleware.SessionLifetime, body.ExpiresAt);

        // The realm defaults to vessel; the administrator may do anything.
        Assert.NotNull((await Session.LoginAsync(remote, "admin", AccessFactory.AdminPassword)).Session);
        HttpResponseMessage users = await remote.SendAsync(session.Request(HttpMethod.Get, "/api/v1/access/users"));
        Assert.Equal(HttpStatusCode.OK, users.StatusCode);
        string stored = await _factory.WithInventoryAsync(db => db.Users.Where(u => u.Name == "admin@vessel").Select(u => u.PasswordHash!).SingleAsync());
        Assert.DoesNotContain(AccessFactory.AdminPassword, stored);
    }

    [Fact]
    public async Task ASessionNeedsItsCsrfTokenForChangesButNotForReads()
    {
        using HttpClient remote = _factory.Remote();
        Session session = (await Session.LoginAsync(remote, "admin@vessel", AccessFactory.AdminPassword)).Session!;
        Assert.Equal(HttpStatusCode.OK, (await remote.SendAsync(session.Request(HttpMethod.Get, "/api/v1/networks", withCsrf: false))).StatusCode);

        var create = new NetworkCreateRequest("lab", "isolated", null);
        JsonObject refused = await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Post, "/api/v1/networks", create, withCsrf: false)), 403);
        Assert.Contains(AccessMiddleware.CsrfHeader, refused["detail"]!.GetValue<string>());
        HttpRequestMessage forged = session.Request(HttpMethod.Post, "/api/v1/networks", create, withCsrf: false);
        forged.Headers.Add(AccessMiddleware.CsrfHeader, "not-the-token");
        await Http.ProblemAsync(await remote.SendAsync(forged), 403);
        Assert.Equal(HttpStatusCode.Created, (await remote.SendAsync(session.Request(HttpMethod.Post, "/api/v1/networks", create))).StatusCode);
    }

    [Fact]
    public async Task LogoutEndsTheSession()
    {
        using HttpClient remote = _factory.Remote();
        Session session = (await Session.LoginAsync(remote, "admin@vessel", AccessFactory.AdminPassword)).Session!;
        Assert.Equal(HttpStatusCode.NoContent, (await remote.SendAsync(session.Request(HttpMethod.Post, "/api/v1/access/logout"))).StatusCode);
        await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Get, "/api/v1/networks")), 401);
    }

    [Fact]
    public async Task SessionsExpireWhenIdleAndAfterTheirLifetime()
    {
        using HttpClient remote = _factory.Remote();
        Session idle = (await Session.LoginAsync(remote, "admin@vessel", AccessFactory.AdminPassword)).Session!;
        _factory.Clock.Advance(AccessMiddleware.SessionIdleTimeout - TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await remote.SendAsync(idle.Request(HttpMethod.Get, "/api/v1/networks"))).StatusCode);
        _factory.Clock.Advance(AccessMiddleware.SessionIdleTimeout + TimeSpan.FromSeconds(1));
        JsonObject problem = await Http.ProblemAsync(await remote.SendAsync(idle.Request(HttpMethod.Get, "/api/v1/networks")), 401);
        Assert.Contains("expired", problem["detail"]!.GetValue<string>());

        // Used every few minutes, a session still ends at its absolute lifetime.
        Session busy = (await Session.LoginAsync(remote, "admin@vessel", AccessFactory.AdminPassword)).Session!;
        TimeSpan step = AccessMiddleware.SessionIdleTimeout / 2;
        TimeSpan elapsed = TimeSpan.Zero;
        while (elapsed + step < AccessMiddleware.SessionLifetime)
        {
            _factory.Clock.Advance(step);
            elapsed += step;
            Assert.Equal(HttpStatusCode.OK, (await remote.SendAsync(busy.Request(HttpMethod.Get, "/api/v1/networks"))).StatusCode);
        }

        _factory.Clock.Advance(AccessMiddleware.SessionLifetime - elapsed);
        await Http.ProblemAsync(await remote.SendAsync(busy.Request(HttpMethod.Get, "/api/v1/networks")), 401);
    }

    [Fact]
    public async Task RepeatedFailuresForOneUserAreSlowedThenLockedAndTheLockEnds()
    {
        await _factory.AddUserAsync("carol@vessel", "carols-password");
        using HttpClient remote = _factory.Remote(address: "192.0.2.20");
        int failures = 0;
        HttpResponseMessage response;
        while (true)
        {
            response = await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("carol@vessel", "wrong-password"));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                break;
            }

            await Http.ProblemAsync(response, 401);
            failures++;
            Assert.True(failures < LoginThrottle.PerUser.LockAfter, "never slowed down");
        }

        // Past the free failures the next attempt must wait, and says how long.
        Assert.Equal(LoginThrottle.PerUser.FreeFailures, failures);
        JsonObject slowed = await Http.ProblemAsync(response, 429);
        Assert.Contains("wait", slowed["detail"]!.GetValue<string>());
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        // Even the right password waits its turn, so guessing gains nothing by hurrying.
        await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("carol@vessel", "carols-password")), 429);

        while (failures < LoginThrottle.PerUser.LockAfter)
        {
            _factory.Clock.Advance(LoginThrottle.DelayAfter(failures, LoginThrottle.PerUser));
            await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("carol@vessel", "wrong-password")), 401);
            failures++;
        }

        JsonObject locked = await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("carol@vessel", "carols-password")), 429);
        Assert.Contains("locked", locked["detail"]!.GetValue<string>());

        // Another address does not open the user's lock; the lock ends after its time.
        using HttpClient elsewhere = _factory.Remote(address: "198.51.100.7");
        await Http.ProblemAsync(await elsewhere.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("carol@vessel", "carols-password")), 429);
        _factory.Clock.Advance(LoginThrottle.PerUser.LockFor);
        Assert.NotNull((await Session.LoginAsync(elsewhere, "carol@vessel", "carols-password")).Session);
    }

    [Fact]
    public async Task OneAddressTryingManyNamesIsLockedOutWhileOthersStillLogIn()
    {
        using HttpClient attacker = _factory.Remote(address: "203.0.113.5");
        int attempts = 0;
        HttpResponseMessage response;
        do
        {
            _factory.Clock.Advance(TimeSpan.FromSeconds(LoginThrottle.PerSource.MaxDelay.TotalSeconds + 1));
            response = await attacker.PostAsJsonAsync("/api/v1/access/login", new LoginRequest($"guess{attempts}@vessel", "password1"));
            attempts++;
        }
        while (response.StatusCode == HttpStatusCode.Unauthorized && attempts < 1000);

        JsonObject problem = await Http.ProblemAsync(response, 429);
        Assert.Contains("203.0.113.5", problem["detail"]!.GetValue<string>());
        Assert.Equal(LoginThrottle.PerSource.LockAfter + 1, attempts);
        using HttpClient admin = _factory.Remote(address: "192.0.2.99");
        Assert.NotNull((await Session.LoginAsync(admin, "admin@vessel", AccessFactory.AdminPassword)).Session);
    }

    [Fact]
    public async Task AFailedLoginIsUnderTheTriedNameAndTellsNothingAboutWhichPartWasWrong()
    {
        using HttpClient remote = _factory.Remote();
        string unknownUser = (await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("nobody@vessel", "whatever-password")), 401))["detail"]!.GetValue<string>();
        string wrongPassword = (await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("admin@vessel", "whatever-password")), 401))["detail"]!.GetValue<string>();
        Assert.Equal(unknownUser, wrongPassword);
    }

    [Fact]
    public async Task TokensAuthenticateUntilTheyExpireOrAreDeletedAndTheSecretIsStoredHashed()
    {
        await _factory.AddUserAsync("ops@vessel");
        await _factory.SetAclAsync(AccessFactory.Entry("/", "user", "ops@vessel", BuiltInRoles.Auditor));
        string secret = await _factory.CreateTokenAsync("ops@vessel", "ci", expiresAt: _factory.Clock.GetUtcNow().UtcDateTime.AddHours(1));
        Assert.StartsWith("vessel_", secret);
        Assert.False(await _factory.WithInventoryAsync(db => db.Tokens.AnyAsync(t => t.Comment.Contains(secret))));

        using HttpClient token = _factory.Remote(secret);
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync("/api/v1/networks")).StatusCode);
        PermissionsInfo permissions = (await token.GetFromJsonAsync<PermissionsInfo>("/api/v1/access/permissions?path=/vms", VesselClient.JsonOptions))!;
        Assert.Equal("ops@vessel!ci", permissions.Caller);
        Assert.Equal(BuiltInRoles.PrivilegesOf[BuiltInRoles.Auditor].Order(), permissions.Privileges.Order());

        // An Auditor's token reads but does not change.
        JsonObject denied = await Http.ProblemAsync(await token.PostAsJsonAsync("/api/v1/networks", new NetworkCreateRequest("lab", "isolated", null)), 403);
        Assert.Equal("Permission denied: ops@vessel!ci needs Network.Allocate on /networks.", denied["detail"]!.GetValue<string>());

        // A wrong secret for the same token id is refused.
        using HttpClient forged = _factory.Remote(secret[..^4] + "AAAA");
        await Http.ProblemAsync(await forged.GetAsync("/api/v1/networks"), 401);

        _factory.Clock.Advance(TimeSpan.FromHours(1));
        JsonObject expired = await Http.ProblemAsync(await token.GetAsync("/api/v1/networks"), 401);
        Assert.Contains("expired", expired["detail"]!.GetValue<string>());

        string second = await _factory.CreateTokenAsync("ops@vessel", "cd");
        using HttpClient secondClient = _factory.Remote(second);
        Assert.Equal(HttpStatusCode.OK, (await secondClient.GetAsync("/api/v1/networks")).StatusCode);
        using HttpClient root = _factory.Root();
        Assert.Equal(HttpStatusCode.NoContent, (await root.DeleteAsync("/api/v1/access/tokens/ops@vessel!cd")).StatusCode);
        await Http.ProblemAsync(await secondClient.GetAsync("/api/v1/networks"), 401);
    }

    [Fact]
    public async Task ADisabledOrExpiredUserCannotLogInAndItsTokensHaveNoRights()
    {
        await _factory.AddUserAsync("dave@vessel", "daves-password");
        await _factory.SetAclAsync(AccessFactory.Entry("/", "user", "dave@vessel", BuiltInRoles.Administrator));
        string secret = await _factory.CreateTokenAsync("dave@vessel", "ci");
        using HttpClient token = _factory.Remote(secret);
        using HttpClient remote = _factory.Remote();
        Session session = (await Session.LoginAsync(remote, "dave@vessel", "daves-password")).Session!;
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync("/api/v1/access/users")).StatusCode);

        using HttpClient root = _factory.Root();
        Assert.Equal(HttpStatusCode.OK, (await root.PatchAsJsonAsync("/api/v1/access/users/dave@vessel", new UserEditRequest(Enabled: false))).StatusCode);
        await Http.ProblemAsync(await token.GetAsync("/api/v1/access/users"), 403);
        await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Get, "/api/v1/access/users")), 401);
        await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("dave@vessel", "daves-password")), 401);

        DateTime tomorrow = _factory.Clock.GetUtcNow().UtcDateTime.AddDays(1);
        Assert.Equal(HttpStatusCode.OK, (await root.PatchAsJsonAsync("/api/v1/access/users/dave@vessel", new UserEditRequest(Enabled: true, ExpiresAt: tomorrow))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync("/api/v1/access/users")).StatusCode);
        _factory.Clock.Advance(TimeSpan.FromDays(1));
        await Http.ProblemAsync(await token.GetAsync("/api/v1/access/users"), 403);
        await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("dave@vessel", "daves-password")), 401);
    }

    [Fact]
    public async Task AUserChangesItsOwnPasswordWithTheOldOneAndAnAdministratorWithout()
    {
        await _factory.AddUserAsync("erin@vessel", "erins-password");
        using HttpClient remote = _factory.Remote();
        Session session = (await Session.LoginAsync(remote, "erin@vessel", "erins-password")).Session!;
        await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Put, "/api/v1/access/users/erin@vessel/password", new PasswordChangeRequest("new-password-1", "not-the-old-one"))), 403);
        await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Put, "/api/v1/access/users/admin@vessel/password", new PasswordChangeRequest("taken-over-1", AccessFactory.AdminPassword))), 403);
        await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Put, "/api/v1/access/users/erin@vessel/password", new PasswordChangeRequest("short", "erins-password"))), 400);
        Assert.Equal(HttpStatusCode.NoContent, (await remote.SendAsync(session.Request(HttpMethod.Put, "/api/v1/access/users/erin@vessel/password", new PasswordChangeRequest("new-password-1", "erins-password")))).StatusCode);

        // The change closed the session; the new password opens one, the old does not.
        await Http.ProblemAsync(await remote.SendAsync(session.Request(HttpMethod.Get, "/api/v1/access/permissions")), 401);
        await Http.ProblemAsync(await remote.PostAsJsonAsync("/api/v1/access/login", new LoginRequest("erin@vessel", "erins-password")), 401);
        Assert.NotNull((await Session.LoginAsync(remote, "erin@vessel", "new-password-1")).Session);

        Session admin = (await Session.LoginAsync(remote, "admin@vessel", AccessFactory.AdminPassword)).Session!;
        Assert.Equal(HttpStatusCode.NoContent, (await remote.SendAsync(admin.Request(HttpMethod.Put, "/api/v1/access/users/erin@vessel/password", new PasswordChangeRequest("reset-by-admin")))).StatusCode);
        Assert.NotNull((await Session.LoginAsync(remote, "erin@vessel", "reset-by-admin")).Session);
    }

    [Fact]
    public async Task HostileNamesAreRefusedAndHostileCommentsAreStoredAndReturnedAsText()
    {
        using HttpClient root = _factory.Root();
        foreach (string name in new[] { "../etc@vessel", "<script>@vessel", "a'; DROP TABLE Users; --@vessel", "x@evil", "a/b@vessel", "\u0000@vessel", new string('a', 100) + "@vessel" })
        {
            await Http.ProblemAsync(await root.PostAsJsonAsync("/api/v1/access/users", new UserCreateRequest(name, "a-good-password")), 400);
        }

        foreach (string group in new[] { "..", "<b>", "a b", "x/y" })
        {
            await Http.ProblemAsync(await root.PostAsJsonAsync("/api/v1/access/groups", new GroupCreateRequest(group)), 400);
        }

        await Http.ProblemAsync(await root.PutAsJsonAsync("/api/v1/access/acl", new AclSetRequest("/vms/../access", BuiltInRoles.Administrator, User: "admin@vessel")), 400);
        await Http.ProblemAsync(await root.PutAsJsonAsync("/api/v1/access/acl", new AclSetRequest("/etc/passwd", BuiltInRoles.Administrator, User: "admin@vessel")), 400);

        const string Hostile = "<script>alert(1)</script>' OR 1=1; DROP TABLE Users; --";
        Assert.Equal(HttpStatusCode.Created, (await root.PostAsJsonAsync("/api/v1/access/users", new UserCreateRequest("frank", "a-good-password", Comment: Hostile))).StatusCode);
        HttpResponseMessage read = await root.GetAsync("/api/v1/access/users/frank@vessel");
        Assert.Equal("application/json", read.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Hostile, (await read.Content.ReadFromJsonAsync<UserInfo>(VesselClient.JsonOptions))!.Comment);
        Assert.Equal(2, (await root.GetFromJsonAsync<List<UserInfo>>("/api/v1/access/users", VesselClient.JsonOptions))!.Count);
    }

    public void Dispose() => _factory.Dispose();
}
