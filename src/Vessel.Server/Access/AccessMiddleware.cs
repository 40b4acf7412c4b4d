using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary>
/// Authentication and authorization of every request. The caller is root on the Unix socket;
/// elsewhere a session cookie (with its CSRF token on every request that changes something) or
/// an API token (<c>Authorization: Bearer</c>). Then the endpoint's declared rule decides: a
/// <see cref="RequiredPrivilege"/> on its path, <see cref="AnyAuthenticatedCaller"/> for lists
/// that filter themselves, or <see cref="IAllowAnonymous"/> (login, the API's description). An
/// endpoint that declares none is refused, so that a new endpoint is never open by mistake.
/// </summary>
public sealed class AccessMiddleware(RequestDelegate next, AccessModelCache cache, TimeProvider time)
{
    public const string SessionCookie = "VesselSession";
    public const string CsrfHeader = "CSRFPreventionToken";
    public const string AuthenticationType = "vessel";

    public static readonly TimeSpan SessionIdleTimeout = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    /// <summary>How often a session's last use is written back (not on every request).</summary>
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    public async Task InvokeAsync(HttpContext http)
    {
        Endpoint? endpoint = http.GetEndpoint();
        bool anonymous = endpoint?.Metadata.GetMetadata<IAllowAnonymous>() is not null;
        var db = http.RequestServices.GetRequiredService<InventoryContext>();
        AccessIdentity? identity = await AuthenticateAsync(http, db, anonymous);
        if (identity is not null)
        {
            AccessModel model = identity.IsRoot ? new AccessModel([]) : await cache.GetAsync(db, http.RequestAborted);
            http.Features.Set(new CallerAccess(identity, model));
            if (!identity.IsRoot)
            {
                var claims = new List<Claim> { new(ClaimTypes.Name, identity.User) };
                if (identity.Token is not null)
                {
                    claims.Add(new Claim(Caller.TokenClaim, identity.Token));
                }

                http.User = new ClaimsPrincipal(new ClaimsIdentity(claims, AuthenticationType));
            }
        }

        if (endpoint is null || anonymous)
        {
            await next(http);
            return;
        }

        if (identity is null)
        {
            throw Api.ApiException.Unauthorized("This needs a login: log in with POST /api/v1/access/login or give an API token as Authorization: Bearer SECRET.");
        }

        CallerAccess access = http.Access();
        if (endpoint.Metadata.GetMetadata<RequiredPrivilege>() is { } required)
        {
            (string path, string shown) = await ResolvePathAsync(required.Path, http, db);
            access.Require(required.Privilege, path, shown);
        }
        else if (endpoint.Metadata.GetMetadata<AnyAuthenticatedCaller>() is null)
        {
            throw Api.ApiException.Forbidden($"The endpoint {endpoint.DisplayName ?? http.Request.Path} declares no permission rule, so nobody may use it.");
        }

        await next(http);
    }

    private async Task<AccessIdentity?> AuthenticateAsync(HttpContext http, InventoryContext db, bool anonymous)
    {
        if (Caller.IsUnixSocket(http))
        {
            return AccessIdentity.Root;
        }

        DateTime now = time.GetUtcNow().UtcDateTime;
        string? authorization = http.Request.Headers.Authorization;
        if (!string.IsNullOrEmpty(authorization))
        {
            if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                throw Api.ApiException.Unauthorized("The Authorization header takes an API token: Authorization: Bearer SECRET.");
            }

            string secret = authorization["Bearer ".Length..].Trim();
            TokenRecord? token = Secrets.TryTokenIdOf(secret, out Guid tokenId)
                ? await db.Tokens.AsNoTracking().Include(t => t.User).FirstOrDefaultAsync(t => t.Id == tokenId, http.RequestAborted)
                : null;
            if (token is null || !Secrets.Matches(secret, token.SecretHash))
            {
                throw Api.ApiException.Unauthorized("The API token is not valid (unknown, deleted or mistyped).");
            }

            if (token.ExpiresAt is { } expiry && expiry <= now)
            {
                throw Api.ApiException.Unauthorized($"The API token {token.User!.Name}!{token.Name} expired at {expiry:u}.");
            }

            return new AccessIdentity(token.User!.Name, IsActive(token.User, now), $"{token.User.Name}!{token.Name}", token.PrivilegeSeparated);
        }

        if (http.Request.Cookies[SessionCookie] is not { Length: > 0 } cookie)
        {
            return null;
        }

        byte[] idHash = Secrets.Hash(cookie);
        SessionRecord? session = await db.Sessions.Include(s => s.User).FirstOrDefaultAsync(s => s.IdHash == idHash, http.RequestAborted);
        if (session is null || session.ExpiresAt <= now || now - session.LastSeenAt > SessionIdleTimeout)
        {
            if (anonymous)
            {
                return null;
            }

            throw Api.ApiException.Unauthorized("The session has expired or was closed; log in again.");
        }

        // A WebSocket is opened by GET over HTTP/1.1 but by CONNECT over HTTP/2 (RFC 8441, as
        // browsers do on HTTPS): it is guarded by the same-origin check of its upgrade instead,
        // since a browser cannot add a header to it.
        bool changes = !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) && !HttpMethods.IsOptions(http.Request.Method)
            && !http.WebSockets.IsWebSocketRequest;
        if (changes)
        {
            string? csrf = http.Request.Headers[CsrfHeader];
            if (string.IsNullOrEmpty(csrf) || !Secrets.SameText(csrf, session.CsrfToken))
            {
                throw Api.ApiException.Forbidden($"A request that changes something needs the session's CSRF token in the {CsrfHeader} header.");
            }
        }

        if (now - session.LastSeenAt > TouchInterval)
        {
            session.LastSeenAt = now;
            await db.SaveChangesAsync(http.RequestAborted);
        }

        return new AccessIdentity(session.User!.Name, IsActive(session.User, now));
    }

    public static bool IsActive(UserRecord user, DateTime now) => user.Enabled && (user.ExpiresAt is not { } expiry || expiry > now);

    /// <summary>
    /// The ACL path of a rule's template with the request's route values; a VM's path is its id
    /// (names change, ids do not). Returns the path to check and the one to show in a refusal.
    /// </summary>
    private static async Task<(string Path, string Shown)> ResolvePathAsync(string template, HttpContext http, InventoryContext db)
    {
        string shown = template;
        foreach ((string key, object? value) in http.Request.RouteValues)
        {
            shown = shown.Replace("{" + key + "}", value?.ToString() ?? "", StringComparison.Ordinal);
        }

        if (!template.StartsWith("/vms/{", StringComparison.Ordinal) || http.Request.RouteValues["vm"] is not string vm)
        {
            return (shown, shown);
        }

        Guid? id = Guid.TryParse(vm, out Guid parsed) ? parsed
            : await db.Vms.AsNoTracking().Where(v => v.Name == vm).Select(v => (Guid?)v.Id).FirstOrDefaultAsync(http.RequestAborted);
        return (id is { } vmId ? CallerAccess.VmPath(vmId) : shown, shown);
    }
}
