using System.Buffers.Binary;

namespace Vessel.Cpu.Riscv.Tests.Oracle;

/// <summary>
/// The smallest ELF64 executable QEMU's loader accepts (System V gABI, "ELF Header" and
/// "Program Header"): a RISC-V ET_EXEC whose single PT_LOAD segment puts the image at its
/// physical address, with the entry point at the start of the image.
/// </summary>
public static class ElfImage
{
    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const int SegmentOffset = 0x1000;
    private const ushort MachineRiscv = 243;
    private const uint FlagsRvcDoubleFloat = 0x1 | 0x4; // EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE

    public static byte[] Create(ulong loadAddress, ReadOnlySpan<byte> image)
    {
        byte[] file = new byte[SegmentOffset + image.Length];
        Span<byte> h = file;

        // e_ident: magic, 64-bit, little-endian, version 1, System V ABI.
        h[0] = 0x7f;
        h[1] = (byte)'E';
        h[2] = (byte)'L';
        h[3] = (byte)'F';
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 2);                 // e_type = ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], MachineRiscv);      // e_machine
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);                 // e_version
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], loadAddress);       // e_entry
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], HeaderSize);        // e_phoff
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], 0);                 // e_shoff: no sections
        BinaryPrimitives.WriteUInt32LittleEndian(h[48..], FlagsRvcDoubleFloat);
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], HeaderSize);        // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[54..], ProgramHeaderSize); // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[56..], 1);                 // e_phnum
        BinaryPrimitives.WriteUInt16LittleEndian(h[58..], 64);                // e_shentsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[60..], 0);                 // e_shnum
        BinaryPrimitives.WriteUInt16LittleEndian(h[62..], 0);                 // e_shstrndx

        Span<byte> p = h[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(p, 1);                       // p_type = PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 7);                  // p_flags = R | W | X
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], SegmentOffset);      // p_offset
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], loadAddress);       // p_vaddr
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], loadAddress);       // p_paddr
        BinaryPrimitives.WriteUInt64LittleEndian(p[32..], (ulong)image.Length); // p_filesz
        BinaryPrimitives.WriteUInt64LittleEndian(p[40..], (ulong)image.Length); // p_memsz
        BinaryPrimitives.WriteUInt64LittleEndian(p[48..], SegmentOffset);     // p_align

        image.CopyTo(h[SegmentOffset..]);
        return file;
    }
}
