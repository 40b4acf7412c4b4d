using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Vessel.Machine.DeviceTree;

/// <summary>
/// Writes a flattened devicetree blob (DTB, format version 17 of the Devicetree
/// Specification): header, memory reservation block, structure block and a deduplicated
/// strings block, all big-endian.
/// </summary>
/// <remarks>
/// Nodes are written depth-first: <see cref="BeginNode"/> (the root is named ""), its
/// properties, its children, <see cref="EndNode"/>. As the format requires, every property of
/// a node comes before its first child. Names are checked against the specification's
/// character sets so that a mistake shows here rather than as a guest that cannot boot.
/// </remarks>
public sealed class FdtBuilder
{
    public const uint Magic = 0xd00d_feed;
    public const uint Version = 17;
    public const uint LastCompatibleVersion = 16;

    private const uint TokenBeginNode = 0x1;
    private const uint TokenEndNode = 0x2;
    private const uint TokenProperty = 0x3;
    private const uint TokenEnd = 0x9;
    private const int HeaderSize = 40;
    private const int MaxNameLength = 31;

    private readonly ArrayBufferWriter<byte> _structure = new(4096);
    private readonly ArrayBufferWriter<byte> _strings = new(1024);
    private readonly Dictionary<string, int> _stringOffsets = new(StringComparer.Ordinal);
    private readonly List<(ulong Address, ulong Size)> _reservations = [];
    private readonly Stack<OpenNode> _open = new();
    private bool _rootClosed;
    private uint _nextPhandle = 1;
    private int _freeSpace;

    /// <summary>The physical id of the boot CPU (the header's boot_cpuid_phys).</summary>
    public uint BootCpuId { get; set; }

    /// <summary>
    /// Zero bytes left after the strings block and counted in the header's totalsize, as
    /// <c>dtc -p</c> leaves them: a later boot stage can add properties to the blob where it
    /// lies (libfdt edits in place only within totalsize).
    /// </summary>
    public int FreeSpace
    {
        get => _freeSpace;
        set => _freeSpace = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Free space cannot be negative.");
    }

    /// <summary>Adds an entry to the memory reservation block.</summary>
    public void AddMemoryReservation(ulong address, ulong size)
    {
        if (size == 0)
        {
            throw new ArgumentException("A memory reservation must not be empty.", nameof(size));
        }

        _reservations.Add((address, size));
    }

    /// <summary>Hands out the next unused phandle (1, 2, 3, ...).</summary>
    public uint AllocatePhandle()
    {
        return _nextPhandle++;
    }

    /// <summary>Opens a node; the root is <c>""</c>, others are <c>name</c> or <c>name@unit-address</c>.</summary>
    public void BeginNode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_open.Count == 0)
        {
            if (_rootClosed)
            {
                throw new InvalidOperationException("The tree already has its root node.");
            }

            if (name.Length != 0)
            {
                throw new ArgumentException("The first node must be the root, named \"\".", nameof(name));
            }
        }
        else
        {
            ValidateNodeName(name);
            OpenNode parent = _open.Peek();
            if (!parent.Children.Add(name))
            {
                throw new ArgumentException($"Node '{name}' already exists under {parent.Path}.", nameof(name));
            }

            parent.HasChildren = true;
        }

        WriteToken(TokenBeginNode);
        int length = Encoding.ASCII.GetByteCount(name);
        Span<byte> span = _structure.GetSpan(Align4(length + 1));
        Encoding.ASCII.GetBytes(name, span);
        span[length..Align4(length + 1)].Clear();
        _structure.Advance(Align4(length + 1));
        string path = _open.Count == 0 ? "/" : _open.Peek().Path == "/" ? "/" + name : _open.Peek().Path + "/" + name;
        _open.Push(new OpenNode(path));
    }

    /// <summary>Closes the node opened last.</summary>
    public void EndNode()
    {
        if (_open.Count == 0)
        {
            throw new InvalidOperationException("There is no open node to end.");
        }

        _open.Pop();
        WriteToken(TokenEndNode);
        if (_open.Count == 0)
        {
            _rootClosed = true;
        }
    }

    /// <summary>A property without a value (a boolean such as <c>interrupt-controller</c>).</summary>
    public void PropertyEmpty(string name) => WriteProperty(name, []);

    /// <summary>A property of one 32-bit cell.</summary>
    public void PropertyU32(string name, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        WriteProperty(name, bytes);
    }

    /// <summary>A property of one 64-bit value (two cells, high first).</summary>
    public void PropertyU64(string name, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        WriteProperty(name, bytes);
    }

    /// <summary>A property made of 32-bit cells (<c>reg</c>, <c>interrupts-extended</c>, ...).</summary>
    public void PropertyCells(string name, params ReadOnlySpan<uint> cells)
    {
        byte[] bytes = new byte[cells.Length * 4];
        for (int i = 0; i < cells.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), cells[i]);
        }

        WriteProperty(name, bytes);
    }

    /// <summary>A NUL-terminated string property.</summary>
    public void PropertyString(string name, string value) => PropertyStringList(name, value);

    /// <summary>A list of NUL-terminated strings (<c>compatible</c>).</summary>
    public void PropertyStringList(string name, params ReadOnlySpan<string> values)
    {
        if (values.Length == 0)
        {
            throw new ArgumentException($"Property '{name}' needs at least one string.", nameof(values));
        }

        var bytes = new List<byte>();
        foreach (string value in values)
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Contains('\0'))
            {
                throw new ArgumentException($"A string of property '{name}' contains a NUL character.", nameof(values));
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(value));
            bytes.Add(0);
        }

        WriteProperty(name, bytes.ToArray());
    }

    /// <summary>A property with raw bytes as its value.</summary>
    public void PropertyBytes(string name, ReadOnlySpan<byte> value) => WriteProperty(name, value);

    /// <summary>The node's <c>phandle</c> property.</summary>
    public void PropertyPhandle(uint phandle)
    {
        if (phandle == 0 || phandle == uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(phandle), "A phandle is neither 0 nor 0xffffffff.");
        }

        PropertyU32("phandle", phandle);
    }

    /// <summary>Assembles the blob. The root node must have been ended.</summary>
    public byte[] Build()
    {
        if (!_rootClosed || _open.Count != 0)
        {
            throw new InvalidOperationException("The device tree is incomplete: every node, the root included, must be ended before building.");
        }

        int reservationOffset = HeaderSize;
        int reservationSize = (_reservations.Count + 1) * 16;
        int structureOffset = reservationOffset + reservationSize;
        int structureSize = _structure.WrittenCount + 4; // + FDT_END
        int stringsOffset = structureOffset + structureSize;
        int stringsSize = _strings.WrittenCount;
        int totalSize = stringsOffset + stringsSize + _freeSpace;

        byte[] blob = new byte[totalSize];
        Span<byte> header = blob.AsSpan(0, HeaderSize);
        BinaryPrimitives.WriteUInt32BigEndian(header[0..], Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)totalSize);
        BinaryPrimitives.WriteUInt32BigEndian(header[8..], (uint)structureOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header[12..], (uint)stringsOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header[16..], (uint)reservationOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header[20..], Version);
        BinaryPrimitives.WriteUInt32BigEndian(header[24..], LastCompatibleVersion);
        BinaryPrimitives.WriteUInt32BigEndian(header[28..], BootCpuId);
        BinaryPrimitives.WriteUInt32BigEndian(header[32..], (uint)stringsSize);
        BinaryPrimitives.WriteUInt32BigEndian(header[36..], (uint)structureSize);

        int position = reservationOffset;
        foreach ((ulong address, ulong size) in _reservations)
        {
            BinaryPrimitives.WriteUInt64BigEndian(blob.AsSpan(position), address);
            BinaryPrimitives.WriteUInt64BigEndian(blob.AsSpan(position + 8), size);
            position += 16;
        }

        // The terminating (0, 0) entry is already zero.
        _structure.WrittenSpan.CopyTo(blob.AsSpan(structureOffset));
        BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(structureOffset + _structure.WrittenCount), TokenEnd);
        _strings.WrittenSpan.CopyTo(blob.AsSpan(stringsOffset));
        return blob;
    }

    private static int Align4(int value) => (value + 3) & ~3;

    private static bool IsNodeNameChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is ',' or '.' or '_' or '+' or '-';

    private static bool IsPropertyNameChar(char c) => IsNodeNameChar(c) || c is '?' or '#';

    private static void ValidateNodeName(string name)
    {
        int at = name.IndexOf('@');
        string baseName = at < 0 ? name : name[..at];
        string unit = at < 0 ? string.Empty : name[(at + 1)..];
        if (baseName.Length is 0 or > MaxNameLength || !baseName.All(IsNodeNameChar)
            || (at >= 0 && (unit.Length == 0 || !unit.All(IsNodeNameChar))))
        {
            throw new ArgumentException($"'{name}' is not a valid devicetree node name.", nameof(name));
        }
    }

    private void WriteProperty(string name, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > MaxNameLength || !name.All(IsPropertyNameChar))
        {
            throw new ArgumentException($"'{name}' is not a valid devicetree property name.", nameof(name));
        }

        if (_open.Count == 0)
        {
            throw new InvalidOperationException($"Property '{name}' is outside any node.");
        }

        OpenNode node = _open.Peek();
        if (node.HasChildren)
        {
            throw new InvalidOperationException($"Property '{name}' of {node.Path} comes after a child node; properties must come first.");
        }

        if (!node.Properties.Add(name))
        {
            throw new ArgumentException($"{node.Path} already has a property '{name}'.", nameof(name));
        }

        WriteToken(TokenProperty);
        WriteToken((uint)value.Length);
        WriteToken((uint)StringOffset(name));
        int padded = Align4(value.Length);
        Span<byte> span = _structure.GetSpan(Math.Max(padded, 1));
        value.CopyTo(span);
        span[value.Length..padded].Clear();
        _structure.Advance(padded);
    }

    private int StringOffset(string name)
    {
        if (!_stringOffsets.TryGetValue(name, out int offset))
        {
            offset = _strings.WrittenCount;
            int length = Encoding.ASCII.GetByteCount(name);
            Span<byte> span = _strings.GetSpan(length + 1);
            Encoding.ASCII.GetBytes(name, span);
            span[length] = 0;
            _strings.Advance(length + 1);
            _stringOffsets.Add(name, offset);
        }

        return offset;
    }

    private void WriteToken(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_structure.GetSpan(4), value);
        _structure.Advance(4);
    }

    private sealed class OpenNode(string path)
    {
        public string Path { get; } = path;

        public HashSet<string> Properties { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Children { get; } = new(StringComparer.Ordinal);

        public bool HasChildren { get; set; }
    }
}
