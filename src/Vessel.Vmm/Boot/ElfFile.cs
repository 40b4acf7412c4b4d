using System.Buffers.Binary;

namespace Vessel.Vmm.Boot;

/// <summary>
/// The parts of a 64-bit little-endian RISC-V ELF executable a loader needs: the entry point
/// and the loadable segments (placed at their physical addresses, as QEMU does).
/// </summary>
public sealed class ElfFile
{
    private const ushort MachineRiscv = 243;
    private const uint SegmentLoad = 1;

    private ElfFile(ulong entry, IReadOnlyList<ElfSegment> segments)
    {
        Entry = entry;
        Segments = segments;
    }

    public ulong Entry { get; }

    public IReadOnlyList<ElfSegment> Segments { get; }

    /// <summary>The lowest physical address any segment occupies.</summary>
    public ulong LowestAddress => Segments.Min(s => s.PhysicalAddress);

    /// <summary>One past the highest physical address any segment occupies (including zero-filled bss).</summary>
    public ulong EndAddress => Segments.Max(s => s.PhysicalAddress + s.MemorySize);

    public static bool HasElfMagic(ReadOnlySpan<byte> data) =>
        data.Length >= 4 && data[0] == 0x7f && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F';

    /// <summary>The architecture an ELF e_machine value names, for errors ("x86-64" rather than 62).</summary>
    private static string MachineName(ushort machine) => machine switch
    {
        2 => "SPARC",
        3 => "x86",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "64-bit PowerPC",
        22 => "s390",
        40 => "32-bit ARM",
        43 => "SPARC V9",
        62 => "x86-64",
        183 => "AArch64",
        258 => "LoongArch",
        _ => $"another architecture (machine {machine})",
    };

    /// <summary>Parses <paramref name="data"/>; throws <see cref="VmmException"/> naming <paramref name="what"/> when it is not a RISC-V executable.</summary>
    public static ElfFile Parse(byte[] data, string what)
    {
        if (data.Length < 64 || !HasElfMagic(data))
        {
            throw new VmmException($"{what} is not an ELF file.");
        }

        if (data[4] != 2 || data[5] != 1)
        {
            throw new VmmException($"{what} is not a 64-bit little-endian ELF file, so it cannot run on a RISC-V 64 machine.");
        }

        ReadOnlySpan<byte> header = data;
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != MachineRiscv)
        {
            throw new VmmException($"{what} is an ELF file for {MachineName(machine)}, not RISC-V.");
        }

        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
        ulong programHeaders = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        ushort entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        if (entrySize < 56 || programHeaders > (ulong)data.Length || (ulong)count * entrySize > (ulong)data.Length - programHeaders)
        {
            throw new VmmException($"{what} has a damaged ELF program header table.");
        }

        var segments = new List<ElfSegment>();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> ph = header.Slice((int)programHeaders + (i * entrySize), entrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != SegmentLoad)
            {
                continue;
            }

            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong physical = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong fileSize = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memorySize = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset > (ulong)data.Length || fileSize > (ulong)data.Length - offset || fileSize > memorySize)
            {
                throw new VmmException($"{what} has an ELF segment that lies outside the file.");
            }

            if (memorySize == 0)
            {
                continue;
            }

            segments.Add(new ElfSegment(physical, offset, fileSize, memorySize));
        }

        if (segments.Count == 0)
        {
            throw new VmmException($"{what} has no loadable ELF segments.");
        }

        return new ElfFile(entry, segments);
    }
}

/// <summary>A PT_LOAD segment: file bytes copied to <see cref="PhysicalAddress"/>, the rest up to <see cref="MemorySize"/> zeroed.</summary>
public sealed record ElfSegment(ulong PhysicalAddress, ulong FileOffset, ulong FileSize, ulong MemorySize);
