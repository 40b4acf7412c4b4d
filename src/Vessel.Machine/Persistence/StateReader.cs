using System.Buffers.Binary;
using System.Text;

namespace Vessel.Machine.Persistence;

/// <summary>
/// Reads a saved state (<see cref="StateFormat"/>) record by record from a file or a stream,
/// checking every record's checksum. Page data is handed out from one reused buffer, so reading
/// any size of RAM allocates nothing per record.
/// </summary>
/// <remarks>Every problem is a <see cref="StateFormatException"/> with one sentence.</remarks>
public sealed class StateReader
{
    private readonly Stream _stream;
    private readonly byte[] _pages = new byte[StateFormat.MaxPagesPerRecord * StateFormat.PageSize];
    private readonly byte[] _head = new byte[300];
    private uint _records;
    private bool _ended;

    /// <summary>Reads and checks the header.</summary>
    public StateReader(Stream stream)
    {
        _stream = stream;
        Span<byte> header = _head.AsSpan(0, StateFormat.HeaderSize);
        int read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < StateFormat.HeaderSize || !header[..8].SequenceEqual(StateFormat.Magic))
        {
            throw new StateFormatException("it is not a Vessel machine state (it does not start with VESSELVM).");
        }

        if (Crc32C.Compute(header[..12]) != BinaryPrimitives.ReadUInt32LittleEndian(header[12..]))
        {
            throw new StateFormatException("its header is corrupt (checksum mismatch).");
        }

        FormatVersion = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (FormatVersion == 0 || FormatVersion > StateFormat.CurrentVersion)
        {
            throw new StateFormatException($"it was written by a newer Vessel (state format {FormatVersion}; this Vessel reads up to {StateFormat.CurrentVersion}).");
        }
    }

    public uint FormatVersion { get; }

    /// <summary>Bytes consumed so far (mapped regions included).</summary>
    public long Position { get; private set; } = StateFormat.HeaderSize;

    /// <summary>The current SECT record's name.</summary>
    public string SectionName { get; private set; } = string.Empty;

    /// <summary>The current SECT record's version.</summary>
    public uint SectionVersion { get; private set; }

    /// <summary>The current SECT record's payload.</summary>
    public byte[] SectionPayload { get; private set; } = [];

    /// <summary>The current PAGE record's first guest physical address.</summary>
    public ulong PagesAddress { get; private set; }

    /// <summary>The current PAGE record's page count.</summary>
    public int PageCount { get; private set; }

    /// <summary>Whether the current PAGE record says its pages are zero (no data).</summary>
    public bool PagesAreZero { get; private set; }

    /// <summary>Where the current PAGE record's pages are copied from (a copy record: no data), or null.</summary>
    public ulong? PagesCopiedFrom { get; private set; }

    /// <summary>The current PAGE record's data (valid until the next call to <see cref="Next"/>; empty for zero pages and copies).</summary>
    public ReadOnlySpan<byte> PageData => PagesAreZero || PagesCopiedFrom is not null ? default : _pages.AsSpan(0, PageCount * StateFormat.PageSize);

    /// <summary>The current RAMM record.</summary>
    public (ulong RamBase, ulong RamSize, long DataOffset) MappedRam { get; private set; }

    /// <summary>
    /// Reads the next record and returns its kind. After <see cref="StateRecordKind.MappedRam"/>
    /// the caller must call <see cref="SkipMappedRegion"/> or <see cref="ReadMappedRegion"/>
    /// before the next record.
    /// </summary>
    public StateRecordKind Next()
    {
        if (_ended)
        {
            throw new InvalidOperationException("The state has ended.");
        }

        Span<byte> tag = _head.AsSpan(0, 4);
        ReadExactly(tag);
        switch (BinaryPrimitives.ReadUInt32LittleEndian(tag))
        {
            case StateFormat.SectionTag:
                ReadSection();
                return StateRecordKind.Section;
            case StateFormat.PagesTag:
                ReadPages();
                return StateRecordKind.Pages;
            case StateFormat.MappedRamTag:
            {
                Span<byte> head = _head.AsSpan(0, 28);
                ReadExactly(head[4..]);
                CheckCrc(head, default);
                MappedRam = (BinaryPrimitives.ReadUInt64LittleEndian(head[4..]), BinaryPrimitives.ReadUInt64LittleEndian(head[12..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(head[20..]));
                if (MappedRam.DataOffset < Position || (MappedRam.DataOffset & (StateFormat.PageSize - 1)) != 0 || MappedRam.RamSize % StateFormat.PageSize != 0)
                {
                    throw new StateFormatException("its RAM region record is corrupt.");
                }

                return StateRecordKind.MappedRam;
            }

            case StateFormat.EndTag:
            {
                Span<byte> head = _head.AsSpan(0, 8);
                ReadExactly(head[4..]);
                CheckCrc(head, default);
                if (BinaryPrimitives.ReadUInt32LittleEndian(head[4..]) != _records - 1)
                {
                    throw new StateFormatException("its end record does not match the records before it (records are missing).");
                }

                _ended = true;
                return StateRecordKind.End;
            }

            default:
                throw new StateFormatException($"it has a record of an unknown kind at byte {Position - 4} (corrupt, or written by a newer Vessel).");
        }
    }

    /// <summary>
    /// Whether the RAM region of the current RAMM record can be mapped from the file (the source
    /// is a seekable file that holds all of it). If so, moves past it.
    /// </summary>
    public bool SkipMappedRegion()
    {
        long end = MappedRam.DataOffset + (long)MappedRam.RamSize;
        if (!_stream.CanSeek || _stream.Length < end)
        {
            if (_stream.CanSeek)
            {
                throw new StateFormatException("it ends inside its RAM region: it is truncated.");
            }

            return false;
        }

        _stream.Position = end;
        Position = end;
        return true;
    }

    /// <summary>
    /// Reads the RAM region of the current RAMM record sequentially (a stream that cannot be
    /// mapped), handing each non-zero page run to <paramref name="write"/> (guest address, bytes).
    /// </summary>
    public void ReadMappedRegion(Action<ulong, ReadOnlySpan<byte>> write)
    {
        Skip(MappedRam.DataOffset - Position);
        ulong done = 0;
        while (done < MappedRam.RamSize)
        {
            int chunk = (int)Math.Min((ulong)_pages.Length, MappedRam.RamSize - done);
            ReadExactly(_pages.AsSpan(0, chunk));
            for (int offset = 0; offset < chunk; offset += StateFormat.PageSize)
            {
                ReadOnlySpan<byte> page = _pages.AsSpan(offset, StateFormat.PageSize);
                if (page.ContainsAnyExcept((byte)0))
                {
                    write(MappedRam.RamBase + done + (ulong)offset, page);
                }
            }

            done += (ulong)chunk;
        }
    }

    private void ReadSection()
    {
        Span<byte> head = _head;
        ReadExactly(head.Slice(4, 2));
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(head[4..]);
        if (nameLength is 0 or > 255)
        {
            throw new StateFormatException($"it has a section with a corrupt name at byte {Position - 6}.");
        }

        ReadExactly(head.Slice(6, nameLength + 8));
        int at = 6 + nameLength;
        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(head[(at + 4)..]);
        if (payloadLength > StateFormat.MaxSectionPayload)
        {
            throw new StateFormatException($"it has a section with a corrupt length ({payloadLength} bytes).");
        }

        byte[] payload = new byte[payloadLength];
        ReadExactly(payload);
        CheckCrc(head[..(at + 8)], payload);
        SectionName = Encoding.UTF8.GetString(head.Slice(6, nameLength));
        SectionVersion = BinaryPrimitives.ReadUInt32LittleEndian(head[at..]);
        SectionPayload = payload;
    }

    private void ReadPages()
    {
        Span<byte> head = _head.AsSpan(0, 25);
        ReadExactly(head[4..17]);
        ulong address = BinaryPrimitives.ReadUInt64LittleEndian(head[4..]);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(head[12..]);
        byte kind = head[16];
        byte lastKind = FormatVersion >= 2 ? StateFormat.PageCopy : StateFormat.PageZero;
        if (count is 0 or > StateFormat.MaxPagesPerRecord || kind > lastKind || (address & (StateFormat.PageSize - 1)) != 0)
        {
            throw new StateFormatException($"it has a corrupt page record at byte {Position - 17}.");
        }

        PagesCopiedFrom = null;
        if (kind == StateFormat.PageCopy)
        {
            ReadExactly(head[17..]);
            ulong source = BinaryPrimitives.ReadUInt64LittleEndian(head[17..]);
            if (!StateFormat.IsCopySourceValid(address, count, source))
            {
                throw new StateFormatException($"it has a corrupt page copy record at byte {Position - 25}.");
            }

            PagesCopiedFrom = source;
        }
        else
        {
            head = head[..17];
        }

        PagesAddress = address;
        PageCount = (int)count;
        PagesAreZero = kind == StateFormat.PageZero;
        Span<byte> data = kind == StateFormat.PageData ? _pages.AsSpan(0, (int)count * StateFormat.PageSize) : default;
        ReadExactly(data);
        CheckCrc(head, data);
    }

    private void CheckCrc(ReadOnlySpan<byte> head, ReadOnlySpan<byte> data)
    {
        Span<byte> stored = stackalloc byte[4];
        ReadExactly(stored);
        uint crc = Crc32C.Finish(Crc32C.Update(Crc32C.Update(Crc32C.Seed, head), data));
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(stored))
        {
            throw new StateFormatException($"it is corrupt: the record ending at byte {Position} fails its checksum.");
        }

        _records++;
    }

    private void ReadExactly(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        int read = _stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        Position += read;
        if (read < buffer.Length)
        {
            throw new StateFormatException("it ends early: it is truncated (or the sender stopped).");
        }
    }

    private void Skip(long count)
    {
        if (count < 0)
        {
            throw new StateFormatException("its RAM region overlaps its records.");
        }

        while (count > 0)
        {
            int chunk = (int)Math.Min(count, _pages.Length);
            ReadExactly(_pages.AsSpan(0, chunk));
            count -= chunk;
        }
    }
}

/// <summary>The kinds of records in a saved state.</summary>
public enum StateRecordKind
{
    Section,
    Pages,
    MappedRam,
    End,
}
