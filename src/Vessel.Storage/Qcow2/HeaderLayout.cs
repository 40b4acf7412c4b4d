namespace Vessel.Storage.Qcow2;

/// <summary>
/// The meaningful parts of a qcow2 header cluster: bytes [0, ExtensionsEnd) hold the fields and
/// the extensions up to and including the end marker, [NameOffset, NameOffset + NameLength) the
/// backing file name (NameLength 0: none).
/// </summary>
internal readonly record struct HeaderLayout(int ExtensionsEnd, int NameOffset, int NameLength)
{
    /// <summary>Whether a reader of this header looks at the byte at <paramref name="offset"/>.</summary>
    public bool Covers(int offset) =>
        offset < ExtensionsEnd || (NameLength > 0 && offset >= NameOffset && offset < NameOffset + NameLength);
}
