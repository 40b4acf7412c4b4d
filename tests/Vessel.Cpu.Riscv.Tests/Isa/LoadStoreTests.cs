using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>Loads (sign and zero extension), stores (only their bytes), and misaligned accesses within and across pages.</summary>
public sealed class LoadStoreTests
{
    private const ulong Data = TestMachine.RamBase + 0x10_0000;

    [Fact]
    public void LoadsExtendAccordingToTheirWidthAndSignedness()
    {
        using var machine = new TestMachine();
        machine.Write(Data, 0x8182_8384_f5f6_f7f8UL);
        machine.Write(Data + 8, 0x0102_0304_0506_0708UL);
        machine.Load(asm =>
        {
            asm.Li(S0, (long)Data);
            asm.Lb(A0, 0, S0).Lbu(A1, 0, S0).Lh(A2, 0, S0).Lhu(A3, 0, S0);
            asm.Lw(A4, 4, S0).Lwu(A5, 4, S0).Ld(A6, 0, S0);
            asm.Lb(S2, 8, S0).Lh(S3, 8, S0).Lw(S4, 8, S0).Lwu(S5, 12, S0);
            asm.Addi(S1, S0, 16).Ld(S6, -8, S1).Lw(S7, -4, S1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0xffff_ffff_ffff_fff8UL, machine.X(A0));
        Assert.Equal(0xf8UL, machine.X(A1));
        Assert.Equal(0xffff_ffff_ffff_f7f8UL, machine.X(A2));
        Assert.Equal(0xf7f8UL, machine.X(A3));
        Assert.Equal(0xffff_ffff_8182_8384UL, machine.X(A4));
        Assert.Equal(0x8182_8384UL, machine.X(A5));
        Assert.Equal(0x8182_8384_f5f6_f7f8UL, machine.X(A6));
        Assert.Equal(0x08UL, machine.X(S2));
        Assert.Equal(0x0708UL, machine.X(S3));
        Assert.Equal(0x0506_0708UL, machine.X(S4));
        Assert.Equal(0x0102_0304UL, machine.X(S5));
        Assert.Equal(0x0102_0304_0506_0708UL, machine.X(S6));
        Assert.Equal(0x0102_0304UL, machine.X(S7));
    }

    [Fact]
    public void StoresWriteOnlyTheirLowBytes()
    {
        using var machine = new TestMachine();
        for (ulong i = 0; i < 64; i += 8)
        {
            machine.Write(Data + i, 0xaaaa_aaaa_aaaa_aaaaUL);
        }

        machine.Load(asm =>
        {
            asm.Li(S0, (long)Data).Li(A0, 0x1122_3344_5566_7788);
            asm.Sb(A0, 1, S0).Sh(A0, 10, S0).Sw(A0, 20, S0).Sd(A0, 32, S0);
            asm.Addi(S1, S0, 48).Sw(A0, -4, S1);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0xaaaa_aaaa_aaaa_88aaUL, machine.Read<ulong>(Data));
        Assert.Equal(0xaaaa_aaaa_7788_aaaaUL, machine.Read<ulong>(Data + 8));
        Assert.Equal(0x5566_7788_aaaa_aaaaUL, machine.Read<ulong>(Data + 16));
        Assert.Equal(0xaaaa_aaaa_aaaa_aaaaUL, machine.Read<ulong>(Data + 24));
        Assert.Equal(0x1122_3344_5566_7788UL, machine.Read<ulong>(Data + 32));
        Assert.Equal(0x5566_7788_aaaa_aaaaUL, machine.Read<ulong>(Data + 40));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(0xffd)] // the doubleword straddles two pages
    [InlineData(0xfff)]
    public void MisalignedAccessesReadAndWriteTheSameBytesAsAlignedOnes(int offset)
    {
        // The EEI may perform misaligned accesses or trap; Vessel, like QEMU, performs them. A
        // misaligned access must then behave exactly like the byte accesses it covers.
        ulong address = Data + (ulong)offset;
        using var machine = new TestMachine();
        byte[] pattern = [.. Enumerable.Range(0, 16).Select(i => (byte)(0xf1 + (i * 0x13)))];
        machine.Memory.WriteBytes(address, pattern);
        machine.Load(asm =>
        {
            asm.Li(S0, (long)address);
            asm.Ld(A0, 0, S0).Lw(A1, 0, S0).Lwu(A2, 0, S0).Lh(A3, 0, S0).Lhu(A4, 0, S0);
            asm.Li(A5, 0x0102_0304_0506_0708);
            asm.Sd(A5, 8, S0).Sw(A5, 16, S0).Sh(A5, 20, S0);
            asm.Halt();
        });
        machine.Run();

        ulong expected = BitConverter.ToUInt64(pattern);
        Assert.Equal(expected, machine.X(A0));
        Assert.Equal((ulong)(long)(int)expected, machine.X(A1));
        Assert.Equal((uint)expected, machine.X(A2));
        Assert.Equal((ulong)(long)(short)expected, machine.X(A3));
        Assert.Equal((ushort)expected, machine.X(A4));
        Assert.Equal(0x0102_0304_0506_0708UL, machine.Read<ulong>(address + 8));
        Assert.Equal(0x0506_0708U, machine.Read<uint>(address + 16));
        Assert.Equal((ushort)0x0708, machine.Read<ushort>(address + 20));
    }

    [Fact]
    public void LoadsAndStoresOutsideRamAndDevicesRaiseAccessFaults()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            asm.Li(S0, 0x4000_0000); // nothing is mapped there
            asm.Label("load").Ld(A0, 0, S0);
            asm.Label("store").Sw(A0, 4, S0);
            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        machine.Run();
        // Load access fault (5) and store/AMO access fault (7), with the faulting address in mtval.
        Assert.Equal([5UL, program.AddressOf("load"), 0x4000_0000UL, 7UL, program.AddressOf("store"), 0x4000_0004UL], machine.Log);
    }
}
