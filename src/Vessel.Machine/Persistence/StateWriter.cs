using System.Buffers.Binary;
using System.Text;

namespace Vessel.Machine.Persistence;

/// <summary>
/// Writes a saved state (<see cref="StateFormat"/>) to a stream: a file, a socket, a qcow2
/// image's VM-state area. Records go out as they are written; nothing is kept but one record's
/// header, so saving any size of RAM takes a fixed amount of memory.
/// </summary>
public sealed class StateWriter
{
    private readonly Stream _stream;
    private readonly byte[] _scratch = new byte[64];
    private uint _records;

    /// <summary>Writes the header to <paramref name="stream"/> (positioned where the state starts).</summary>
    public StateWriter(Stream stream)
    {
        _stream = stream;
        Span<byte> header = _scratch.AsSpan(0, StateFormat.HeaderSize);
        StateFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], StateFormat.CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], Crc32C.Compute(header[..12]));
        Write(header);
    }

    /// <summary>Bytes written so far, RAM regions included.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Writes one named, versioned section.</summary>
    public void WriteSection(string name, uint version, ReadOnlySpan<byte> payload)
    {
        int nameLength = Encoding.UTF8.GetByteCount(name);
        if (nameLength is 0 or > 255)
        {
            throw new ArgumentException("A section name has 1 to 255 bytes.", nameof(name));
        }

        if (payload.Length > StateFormat.MaxSectionPayload)
        {
            throw new ArgumentException($"A section holds at most {StateFormat.MaxSectionPayload} bytes.", nameof(payload));
        }

        Span<byte> head = stackalloc byte[4 + 2 + 255 + 8];
        BinaryPrimitives.WriteUInt32LittleEndian(head, StateFormat.SectionTag);
        BinaryPrimitives.WriteUInt16LittleEndian(head[4..], (ushort)nameLength);
        Encoding.UTF8.GetBytes(name, head[6..]);
        int at = 6 + nameLength;
        BinaryPrimitives.WriteUInt32LittleEndian(head[at..], version);
        BinaryPrimitives.WriteUInt32LittleEndian(head[(at + 4)..], (uint)payload.Length);
        head = head[..(at + 8)];
        WriteRecord(head, payload);
    }

    /// <summary>Writes pages of guest RAM starting at <paramref name="address"/> (whole pages, at most <see cref="StateFormat.MaxPagesPerRecord"/>).</summary>
    public void WritePages(ulong address, ReadOnlySpan<byte> data)
    {
        if (data.Length == 0 || data.Length % StateFormat.PageSize != 0 || data.Length / StateFormat.PageSize > StateFormat.MaxPagesPerRecord)
        {
            throw new ArgumentException($"A page record holds 1 to {StateFormat.MaxPagesPerRecord} whole pages.", nameof(data));
        }

        WriteRecord(PagesHead(address, (uint)(data.Length / StateFormat.PageSize), StateFormat.PageData), data);
    }

    /// <summary>Records that <paramref name="count"/> pages from <paramref name="address"/> are zero (no data follows).</summary>
    public void WriteZeroPages(ulong address, uint count)
    {
        if (count is 0 or > StateFormat.MaxPagesPerRecord)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        WriteRecord(PagesHead(address, count, StateFormat.PageZero), default);
    }

    /// <summary>Records that <paramref name="count"/> pages from <paramref name="address"/> take the contents that the pages from <paramref name="source"/> have at this point of the state.</summary>
    public void WriteCopiedPages(ulong address, uint count, ulong source)
    {
        if (count is 0 or > StateFormat.MaxPagesPerRecord || !StateFormat.IsCopySourceValid(address, count, source))
        {
            throw new ArgumentException("A copy record copies 1 to 256 pages from a page-aligned place that they do not overlap.", nameof(source));
        }

        Span<byte> head = _scratch.AsSpan(0, 25);
        PagesHead(address, count, StateFormat.PageCopy);
        BinaryPrimitives.WriteUInt64LittleEndian(head[17..], source);
        WriteRecord(head, default);
    }

    private Span<byte> PagesHead(ulong address, uint count, byte kind)
    {
        Span<byte> head = _scratch.AsSpan(0, 17);
        BinaryPrimitives.WriteUInt32LittleEndian(head, StateFormat.PagesTag);
        BinaryPrimitives.WriteUInt64LittleEndian(head[4..], address);
        BinaryPrimitives.WriteUInt32LittleEndian(head[12..], count);
        head[16] = kind;
        return head;
    }

    /// <summary>
    /// Reserves all of RAM as one page-aligned region of the file (which must be a seekable
    /// <see cref="FileStream"/>): the file grows by a hole of <paramref name="ramSize"/> bytes that
    /// <see cref="WriteRegionPages"/> fills where RAM is not zero. Records written afterwards
    /// follow the region.
    /// </summary>
    public MappedRamRegion BeginMappedRam(ulong ramBase, ulong ramSize)
    {
        if (_stream is not FileStream file || !file.CanSeek)
        {
            throw new InvalidOperationException("A mapped RAM region needs a seekable file.");
        }

        long recordEnd = file.Position + 4 + 24 + 4;
        long dataOffset = (recordEnd + StateFormat.PageSize - 1) & ~(long)(StateFormat.PageSize - 1);
        Span<byte> head = _scratch.AsSpan(0, 28);
        BinaryPrimitives.WriteUInt32LittleEndian(head, StateFormat.MappedRamTag);
        BinaryPrimitives.WriteUInt64LittleEndian(head[4..], ramBase);
        BinaryPrimitives.WriteUInt64LittleEndian(head[12..], ramSize);
        BinaryPrimitives.WriteUInt64LittleEndian(head[20..], (ulong)dataOffset);
        WriteRecord(head, default);
        file.Flush();
        long end = dataOffset + (long)ramSize;
        file.SetLength(end); // a hole: zero pages take no space
        file.Position = end;
        BytesWritten = end;
        return new MappedRamRegion(file.SafeFileHandle, ramBase, ramSize, dataOffset);
    }

    /// <summary>Writes RAM bytes at <paramref name="address"/> into their place in a mapped region (from any thread).</summary>
    public static void WriteRegionPages(MappedRamRegion region, ulong address, ReadOnlySpan<byte> data)
    {
        if (address < region.RamBase || address - region.RamBase + (ulong)data.Length > region.RamSize)
        {
            throw new ArgumentOutOfRangeException(nameof(address), "The pages lie outside the RAM region.");
        }

        RandomAccess.Write(region.File, data, region.DataOffset + (long)(address - region.RamBase));
    }

    /// <summary>Writes the end record; the state is complete once it is flushed.</summary>
    public void WriteEnd()
    {
        Span<byte> head = _scratch.AsSpan(0, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(head, StateFormat.EndTag);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], _records);
        WriteRecord(head, default);
        _stream.Flush();
    }

    private void WriteRecord(ReadOnlySpan<byte> head, ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C.Update(Crc32C.Seed, head);
        crc = Crc32C.Finish(Crc32C.Update(crc, data));
        Write(head);
        if (!data.IsEmpty)
        {
            Write(data);
        }

        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, crc);
        Write(tail);
        _records++;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        BytesWritten += bytes.Length;
    }
}

/// <summary>Where a saved state keeps RAM as one region of its file.</summary>
public sealed record MappedRamRegion(Microsoft.Win32.SafeHandles.SafeFileHandle File, ulong RamBase, ulong RamSize, long DataOffset);
