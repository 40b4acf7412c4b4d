namespace Vessel.Storage.Qcow2;

/// <summary>
/// A header extension as stored after the header: a type, its data. Extensions Vessel does not
/// interpret are kept byte for byte and written back in their place.
/// </summary>
internal sealed record HeaderExtension(uint Type, byte[] Data)
{
    public const uint End = 0x00000000;
    public const uint BackingFormat = 0xe2792aca;
    public const uint FeatureNameTable = 0x6803f857;
    public const uint Bitmaps = 0x23852875;
    public const uint FullDiskEncryption = 0x0537be77;
    public const uint ExternalDataFile = 0x44415441;

    public const int FeatureNameEntrySize = 48;
    public const int FeatureNameLength = 46;
}
