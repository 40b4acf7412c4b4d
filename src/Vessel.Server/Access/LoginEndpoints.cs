using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Access.Pam;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary>
/// <c>POST /api/v1/access/login</c> and <c>/logout</c>, and password changes: sessions in a
/// cookie with a CSRF token, failed logins slowed down and locked out by <see cref="LoginThrottle"/>.
/// </summary>
public static class LoginEndpoints
{
    public static void Map(RouteGroupBuilder access)
    {
        access.MapPost("/login", LoginAsync).AllowAnonymous().Produces<LoginResponse>().WithSummary("Log in with {username, password}: a session cookie and the CSRF token to send as CSRFPreventionToken");
        access.MapGet("/session", SessionAsync).RequireAuthenticatedCaller().Produces<LoginResponse>()
            .WithSummary("The session of the cookie: its user, CSRF token and expiry (a reloaded page takes up its session with it)");
        access.MapPost("/logout", LogoutAsync).AllowAnonymous().WithSummary("End the session of the cookie");
        access.MapPut("/users/{user}/password", ChangePasswordAsync).RequireAuthenticatedCaller()
            .WithSummary("Change a password: one's own with the old password, anyone's with User.Modify on /access");
    }

    private static async Task<IResult> LoginAsync(LoginRequest request, HttpContext http, InventoryContext db, LoginThrottle throttle, TimeProvider time, PamAuthenticator pam)
    {
        string tried = request.Username ?? "";
        string userName;
        try
        {
            userName = AccessNames.User(request.Username);
        }
        catch (ApiException)
        {
            // Not a possible user name: it fails like a wrong password, under the name tried
            // (cut short), so that probing spellings is throttled all the same.
            userName = tried.Length <= AccessNames.MaxUserLength ? tried : tried[..AccessNames.MaxUserLength];
        }

        http.Items[Caller.LoginSubjectItem] = userName;
        string source = Caller.Source(http);
        throttle.Check(userName, source);
        string password = request.Password ?? "";
        DateTime now = time.GetUtcNow().UtcDateTime;
        UserRecord? user = await db.Users.FirstOrDefaultAsync(u => u.Name == userName);
        bool verified = user switch
        {
            null => Refuse(password),
            { Realm: AccessNames.PamRealm } => password.Length is > 0 and <= Passwords.MaxLength && await pam.AuthenticateAsync(userName[..userName.LastIndexOf('@')], password),
            _ => password.Length <= Passwords.MaxLength && Passwords.Verify(user, password),
        };
        if (!verified || user is null || !AccessMiddleware.IsActive(user, now))
        {
            throttle.Failed(userName, source);
            throw ApiException.Unauthorized(verified ? $"User {userName} is disabled or expired." : "The user name or the password is wrong.");
        }

        throttle.Succeeded(userName);
        string cookie = Secrets.NewRandom();
        var session = new SessionRecord
        {
            IdHash = Secrets.Hash(cookie),
            UserId = user.Id,
            CsrfToken = Secrets.NewRandom(),
            CreatedAt = now,
            LastSeenAt = now,
            ExpiresAt = now + AccessMiddleware.SessionLifetime,
        };
        db.Sessions.Add(session);
        // Closed sessions pile up otherwise; each login sweeps the expired ones.
        await db.Sessions.Where(s => s.ExpiresAt <= now).ExecuteDeleteAsync();
        await db.SaveChangesAsync();
        http.Response.Cookies.Append(AccessMiddleware.SessionCookie, cookie, new CookieOptions
        {
            HttpOnly = true,
            Secure = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            Expires = new DateTimeOffset(session.ExpiresAt, TimeSpan.Zero),
        });
        return Results.Ok(new LoginResponse(user.Name, session.CsrfToken, DateTime.SpecifyKind(session.ExpiresAt, DateTimeKind.Utc)));
    }

    private static bool Refuse(string password)
    {
        Passwords.VerifyNobody(password);
        return false;
    }

    private static async Task<LoginResponse> SessionAsync(HttpContext http, InventoryContext db)
    {
        // The middleware has checked the session already (or the caller used a token or the socket).
        byte[]? idHash = http.Request.Cookies[AccessMiddleware.SessionCookie] is { Length: > 0 } cookie ? Secrets.Hash(cookie) : null;
        SessionRecord? session = idHash is null ? null : await db.Sessions.AsNoTracking().Include(s => s.User).FirstOrDefaultAsync(s => s.IdHash == idHash);
        return session is null || http.Request.Headers.Authorization.Count > 0
            ? throw ApiException.NotFound("This caller has no session: it came with an API token or through the Unix socket, not a login.")
            : new LoginResponse(session.User!.Name, session.CsrfToken, DateTime.SpecifyKind(session.ExpiresAt, DateTimeKind.Utc));
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, InventoryContext db)
    {
        if (http.Request.Cookies[AccessMiddleware.SessionCookie] is { Length: > 0 } cookie)
        {
            byte[] idHash = Secrets.Hash(cookie);
            await db.Sessions.Where(s => s.IdHash == idHash).ExecuteDeleteAsync();
        }

        http.Response.Cookies.Delete(AccessMiddleware.SessionCookie, new CookieOptions { HttpOnly = true, Secure = true, SameSite = SameSiteMode.Strict, Path = "/" });
        return Results.NoContent();
    }

    private static async Task<IResult> ChangePasswordAsync(string user, PasswordChangeRequest request, HttpContext http, InventoryContext db)
    {
        CallerAccess access = http.Access();
        string name = AccessNames.User(user);
        bool own = access.Identity.User == name && access.Identity.Token is null;
        if (!own)
        {
            access.Require(Privileges.UserModify, "/access");
        }

        UserRecord record = await db.Users.FirstOrDefaultAsync(u => u.Name == name) ?? throw ApiException.NotFound($"There is no user {name}.");
        if (record.Realm != AccessNames.VesselRealm)
        {
            throw ApiException.Conflict($"User {name} is in the {record.Realm} realm, whose passwords the host keeps; change it there.");
        }

        if (own && !access.Allows(Privileges.UserModify, "/access") && (request.OldPassword is null || !Passwords.Verify(record, request.OldPassword)))
        {
            throw ApiException.Forbidden("Changing one's own password needs the old password, and the one given is wrong.");
        }

        record.PasswordHash = Passwords.Hash(record, Passwords.Check(request.NewPassword));
        // A new password closes the user's other sessions: whoever knew the old one is out.
        await db.Sessions.Where(s => s.UserId == record.Id).ExecuteDeleteAsync();
        await db.SaveChangesAsync();
        return Results.NoContent();
    }
}
