using System.Buffers.Binary;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>
/// Wraps RISC-V machine code into a minimal ELF64 executable (one PT_LOAD at
/// <see cref="LoadAddress"/>, entry at its start), the kind of file <c>--bios none --kernel</c>
/// and QEMU's <c>-bios none -kernel</c> start in M-mode.
/// </summary>
public static class BareMetalImage
{
    public const ulong LoadAddress = 0x8000_0000;
    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;

    public static byte[] Build(ReadOnlySpan<uint> instructions)
    {
        int codeOffset = HeaderSize + ProgramHeaderSize;
        byte[] elf = new byte[codeOffset + (instructions.Length * 4)];
        Span<byte> s = elf;
        s[0] = 0x7f; s[1] = (byte)'E'; s[2] = (byte)'L'; s[3] = (byte)'F';
        s[4] = 2; // 64-bit
        s[5] = 1; // little endian
        s[6] = 1; // version
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2);   // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 243); // EM_RISCV
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], LoadAddress);        // e_entry
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], HeaderSize);         // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], HeaderSize);         // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], ProgramHeaderSize);  // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1);                  // e_phnum

        Span<byte> ph = s[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);                        // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 7);                   // RWX
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], (ulong)codeOffset);   // p_offset
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], LoadAddress);        // p_vaddr
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], LoadAddress);        // p_paddr
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)(instructions.Length * 4));
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)(instructions.Length * 4));
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 0x1000);

        for (int i = 0; i < instructions.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[(codeOffset + (i * 4))..], instructions[i]);
        }

        return elf;
    }
}
