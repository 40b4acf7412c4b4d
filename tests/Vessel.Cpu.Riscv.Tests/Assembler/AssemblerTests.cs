using System.Buffers.Binary;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Assembler;

/// <summary>The program builder: labels, fix-ups, data directives and operand checks.</summary>
public sealed class AssemblerTests
{
    [Fact]
    public void ForwardAndBackwardLabelsEncodeTheSameOffsetsAsRawOffsets()
    {
        var labelled = new RiscvAssembler(0x1000);
        labelled.Label("top").Nop().Beq(A0, A1, "end").Jal(Ra, "top").CJ("top").CBnez(S0, "end").Nop().Label("end");

        var raw = new RiscvAssembler(0x1000);
        raw.Nop().Beq(A0, A1, 16).Jal(Ra, -8).CJ(-12).CBnez(S0, 6).Nop();

        Assert.Equal(raw.Build(), labelled.Build());
        Assert.Equal(0x1000UL, labelled.AddressOf("top"));
        Assert.Equal(0x1014UL, labelled.AddressOf("end"));
    }

    [Fact]
    public void LoadAddressSplitsThePcRelativeOffsetWithARoundedUpperPart()
    {
        // A low part of 0x800 or more must borrow from the upper part (it is sign-extended).
        var asm = new RiscvAssembler(0x8000_0000);
        asm.La(A0, "data").Org(0x8000_0000 + 0x1800).Label("data");
        byte[] image = asm.Build();
        uint auipc = BinaryPrimitives.ReadUInt32LittleEndian(image);
        uint addi = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(4));
        Assert.Equal(0x2000u >> 12, auipc >> 12); // auipc a0, 2
        Assert.Equal(-0x800, (int)addi >> 20);    // addi a0, a0, -2048
        Assert.Equal(0x17u | (10u << 7), auipc & 0xfff);
    }

    [Fact]
    public void DataDirectivesAreLittleEndianAndLabelsGiveAbsoluteAddresses()
    {
        var asm = new RiscvAssembler(0x8000_0000);
        asm.Byte(1).Half(0x0302).Align(8).Label("here").Dword("here").Word(0xdeadbeef);
        byte[] image = asm.Build();
        Assert.Equal([1, 2, 3, 0, 0, 0, 0, 0], image[..8]); // no implicit alignment: Align pads
        Assert.Equal(0x8000_0008UL, BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(8)));
        Assert.Equal(0xdeadbeefu, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(16)));
    }

    [Fact]
    public void OperandsTheEncodingCannotHoldAreRejected()
    {
        var asm = new RiscvAssembler();
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Addi(A0, A0, 2048));
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Sd(A0, -2049, Sp));
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Beq(A0, A0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Slli(A0, A0, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Slliw(A0, A0, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.CLw(A0, 0, Sp));      // sp is not x8..x15
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.CAddi4spn(S0, 0));    // reserved
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.CLui(Sp, 1));         // that is c.addi16sp
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.CLd(S0, 4, S1));      // misaligned
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.CJr(Zero));           // reserved
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Csrrwi(A0, 0x300, 32));
        Assert.Equal(0, asm.Size);
    }

    [Fact]
    public void UndefinedOrUnreachableLabelsFailTheBuild()
    {
        var undefined = new RiscvAssembler();
        undefined.J("nowhere");
        Assert.Throws<InvalidOperationException>(() => undefined.Build());

        var far = new RiscvAssembler();
        far.CBeqz(S0, "far").Zero(300).Label("far");
        Assert.Throws<InvalidOperationException>(() => far.Build());

        Assert.Throws<InvalidOperationException>(() => new RiscvAssembler().Label("x").Label("x"));
    }
}
