namespace Vessel.Machine.Persistence;

/// <summary>
/// The layout of a saved machine state, the same in a file, on a migration stream and inside a
/// qcow2 image's VM-state area. Every number is little-endian.
/// </summary>
/// <remarks>
/// <code>
/// header   "VESSELVM" (8) | format version u32 | CRC-32C of the 12 bytes before u32
/// records, each: tag (4 ASCII bytes) | body | CRC-32C of tag and body u32
///   "SECT"  name length u16 | name (UTF-8) | section version u32 | payload length u32 | payload
///           a named, individually versioned piece of state (JSON of a part's state record)
///   "PAGE"  guest physical address u64 | page count u32 | kind u8 (0 data, 1 zero, 2 copy) | data
///           guest RAM pages; a later record for the same page replaces an earlier one. A copy
///           (format 2 on) carries instead of data the guest physical address u64 of as many
///           pages, not overlapping these, whose contents at that point of the state (after the
///           records before) these pages take: a live migration's page whose bytes the
///           destination holds already in another page
///   "RAMM"  RAM base u64 | RAM size u64 | file offset u64
///           all of RAM as one page-aligned region at that offset of the file (unwritten parts
///           are holes that read as zero), so a restore maps it copy-on-write instead of copying;
///           the next record follows the region
///   "END!"  records before this one u32
/// </code>
/// The CRC of a RAMM record covers the record, not the region: a restore that maps RAM never
/// reads it. A reader refuses a newer format version, an unknown record tag, and (at the layer
/// above) an unknown section or a newer section version, each with one sentence.
/// </remarks>
public static class StateFormat
{
    /// <summary>The format version this Vessel writes; it reads this one and every earlier one.</summary>
    /// <remarks>2: PAGE records may be copies (kind 2); a Vessel that reads only format 1 refuses a format 2 state as newer, in one sentence.</remarks>
    public const uint CurrentVersion = 2;

    public const int HeaderSize = 16;

    /// <summary>Most pages in one PAGE record (1 MiB of data).</summary>
    public const int MaxPagesPerRecord = 256;

    public const int PageSize = 4096;

    /// <summary>Longest section payload accepted (a guard against corrupt lengths).</summary>
    public const int MaxSectionPayload = 64 * 1024 * 1024;

    public static ReadOnlySpan<byte> Magic => "VESSELVM"u8;

    public const uint SectionTag = 0x54434553;  // "SECT"
    public const uint PagesTag = 0x45474150;    // "PAGE"
    public const uint MappedRamTag = 0x4d4d4152; // "RAMM"
    public const uint EndTag = 0x21444e45;      // "END!"

    public const byte PageData = 0;
    public const byte PageZero = 1;
    public const byte PageCopy = 2;

    /// <summary>Whether a copy record's source is page-aligned and clear of the <paramref name="count"/> pages at <paramref name="address"/> it fills (the writer and the reader hold records to this).</summary>
    public static bool IsCopySourceValid(ulong address, uint count, ulong source)
    {
        ulong length = (ulong)count * PageSize;
        return (source & (PageSize - 1)) == 0 && (source >= address + length || address >= source + length);
    }
}
