using Vessel.Server.Api;

namespace Vessel.Server.Access;

/// <summary>
/// The spelling of users (<c>name@realm</c>), tokens (<c>name@realm!token</c>), realms and ACL
/// paths. Every part follows <see cref="Names"/>, so that hostile names never get in.
/// </summary>
public static class AccessNames
{
    public const string VesselRealm = "vessel";
    public const string PamRealm = "pam";
    public const int MaxUserLength = InventoryLength + 1 + 8;
    public const int MaxTokenIdLength = MaxUserLength + 1 + InventoryLength;
    private const int InventoryLength = Inventory.InventoryContext.NameLength;

    /// <summary>The ACL's top-level paths; each but <c>/access</c> also has one level of named objects below it.</summary>
    public static readonly IReadOnlyList<string> Roots = ["/vms", "/pools", "/storage", "/networks", "/hosts", "/access"];

    /// <summary>A user id, with realm <c>vessel</c> when none is given.</summary>
    public static string User(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw ApiException.BadRequest("A user needs a name (name@realm).");
        }

        int at = text.LastIndexOf('@');
        string name = at < 0 ? text : text[..at];
        string realm = at < 0 ? VesselRealm : text[(at + 1)..];
        if (realm is not (VesselRealm or PamRealm))
        {
            throw ApiException.BadRequest($"A user's realm is vessel or pam, not '{HttpConventions.Short(realm)}'.");
        }

        return Names.Check("user", name) + "@" + realm;
    }

    public static string RealmOf(string user) => user[(user.LastIndexOf('@') + 1)..];

    /// <summary>A token id <c>name@realm!token</c>: its user and its name.</summary>
    public static (string User, string Name) Token(string? text)
    {
        int bang = text?.IndexOf('!') ?? -1;
        if (text is null || bang < 0)
        {
            throw ApiException.BadRequest($"A token is named user@realm!name, not '{HttpConventions.Short(text ?? "")}'.");
        }

        return (User(text[..bang]), Names.Check("token", text[(bang + 1)..]));
    }

    /// <summary>An ACL path: <c>/</c>, a root such as <c>/vms</c>, or one object below a root (<c>/vms/ID</c>, <c>/storage/default</c>).</summary>
    public static string Path(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            throw ApiException.BadRequest($"An ACL path starts with '/' (/, {string.Join(", ", Roots)} or an object below one of them).");
        }

        if (path == "/")
        {
            return path;
        }

        string[] segments = path.TrimEnd('/').Split('/');
        string root = "/" + segments[1];
        if (!Roots.Contains(root) || segments.Length > 3 || (root == "/access" && segments.Length > 2))
        {
            throw ApiException.BadRequest($"An ACL path is /, one of {string.Join(", ", Roots)} or an object below one of them, and '{HttpConventions.Short(path)}' is not.");
        }

        return segments.Length == 2 ? root : root + "/" + Names.Check("object", segments[2]);
    }
}
