namespace Vessel.Server.Access;

/// <summary>
/// Who is calling and from where, as every part of the daemon names them (the audit log, the
/// permission checks, the licence refusals): <c>user@realm</c> (a token adds <c>!name</c>), and
/// the client's address or <c>unix</c> for the host's socket, whose callers are root on the host.
/// </summary>
public static class Caller
{
    /// <summary>What a caller on the Unix socket is: the socket is root's (mode 0660, the data directory's group).</summary>
    public const string UnixRoot = "root@pam";

    /// <summary>The claim type carrying an API token's id (<c>user@realm!name</c>) when a token authenticated the request.</summary>
    public const string TokenClaim = "vessel:token";

    /// <summary>
    /// The <see cref="HttpContext.Items"/> key under which the login endpoint leaves the user name
    /// it was given, so that a failed login is on record under the name that was tried.
    /// </summary>
    public const string LoginSubjectItem = "Vessel.LoginSubject";

    /// <summary>Whether the request came over the host's Unix socket.</summary>
    public static bool IsUnixSocket(HttpContext http) => http.Connection.RemoteIpAddress is null;

    /// <summary>The caller's name: the authenticated user (or token), root on the Unix socket, else <c>anonymous</c>.</summary>
    public static string Name(HttpContext http)
    {
        if (http.User.FindFirst(TokenClaim)?.Value is { Length: > 0 } token)
        {
            return token;
        }

        if (http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name })
        {
            return name;
        }

        return IsUnixSocket(http) ? UnixRoot : "anonymous";
    }

    /// <summary>Where the request came from: the client's IP address, or <c>unix</c>.</summary>
    public static string Source(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unix";
}
