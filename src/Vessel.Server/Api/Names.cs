namespace Vessel.Server.Api;

/// <summary>
/// The rule every name follows (VMs, snapshots, pools, volumes, networks): 1 to 63 letters,
/// digits, '.', '-' and '_', starting with a letter or digit. Names become file and socket
/// names and path segments, so '/', '..', control characters and endless names never get in.
/// </summary>
public static class Names
{
    public const int MaxLength = Inventory.InventoryContext.NameLength;

    public static string Check(string kind, string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw ApiException.BadRequest($"A {kind} needs a name.");
        }

        if (name.Length > MaxLength)
        {
            throw ApiException.BadRequest($"A {kind} name is at most {MaxLength} characters long, and this one has {name.Length}.");
        }

        foreach (char c in name)
        {
            if (char.IsControl(c))
            {
                throw ApiException.BadRequest($"A {kind} name cannot hold control characters (this one has U+{(int)c:X4}).");
            }

            if (c == '/' || c == '\\')
            {
                throw ApiException.BadRequest($"A {kind} name cannot hold '{c}': names become file names; use letters, digits, '.', '-' and '_'.");
            }

            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                throw ApiException.BadRequest($"A {kind} name may hold only letters, digits, '.', '-' and '_', and '{Printable(name)}' has '{c}'.");
            }
        }

        if (!char.IsAsciiLetterOrDigit(name[0]))
        {
            throw ApiException.BadRequest($"A {kind} name must start with a letter or digit, and '{name}' starts with '{name[0]}'.");
        }

        return name;
    }

    private static string Printable(string name) => name.Length <= 40 ? name : name[..40] + "…";
}
