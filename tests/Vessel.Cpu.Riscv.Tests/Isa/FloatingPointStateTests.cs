using Vessel.Cpu.Riscv.Tests.Assembler;
using Vessel.Cpu.Riscv.Tests.Harness;
using static Vessel.Cpu.Riscv.Tests.Assembler.FReg;
using static Vessel.Cpu.Riscv.Tests.Assembler.Reg;

namespace Vessel.Cpu.Riscv.Tests.Isa;

/// <summary>
/// How the hart uses its FPU (the arithmetic itself is tested in <c>Fpu/</c>): mstatus.FS
/// (off means illegal, any change makes it dirty and sets SD), fflags/frm/fcsr, static and
/// dynamic rounding modes, reserved rounding modes, and NaN boxing of single-precision values.
/// </summary>
public sealed class FloatingPointStateTests
{
    private const ulong Data = TestMachine.RamBase + 0x10_0000;
    private const long FsInitial = 1L << 13;
    private const long FsMask = 3L << 13;
    private const ulong Two5 = 0x4004_0000_0000_0000;   // 2.5
    private const ulong MinusTwo5 = 0xc004_0000_0000_0000; // -2.5
    private const ulong One = 0x3ff0_0000_0000_0000;    // 1.0
    private const uint OneSingle = 0x3f80_0000;         // 1.0f

    private static RiscvAssembler FpuOn(RiscvAssembler asm) => asm.Li(T0, FsInitial).Csrs(Csr.Mstatus, T0);

    [Fact]
    public void WithFsOffEveryFpInstructionAndFpCsrIsIllegal()
    {
        var instructions = new List<(string Label, Action<RiscvAssembler> Emit)>
        {
            ("flw", a => a.Flw(F1, 0, Sp)),
            ("fsd", a => a.Fsd(F1, 0, Sp)),
            ("fadd.d", a => a.FaddD(F1, F2, F3)),
            ("fmv.x.d", a => a.FmvXD(A0, F1)),
            ("fmv.w.x", a => a.FmvWX(F1, A0)),
            ("fcvt.d.l", a => a.FcvtDL(F1, A0)),
            ("c.fld", a => a.CFld(F8, 0, S0)),
            ("frflags", a => a.Csrr(A0, Csr.Fflags)),
            ("frrm", a => a.Csrr(A0, Csr.Frm)),
            ("fscsr", a => a.Csrw(Csr.Fcsr, A0)),
        };
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap").Li(Sp, (long)Data).Li(S0, (long)Data);
            foreach ((string label, var emit) in instructions)
            {
                asm.Label(label);
                emit(asm);
            }

            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        byte[] image = program.Build();
        machine.Run();

        Assert.Equal(instructions.Count * 3, machine.Log.Count);
        for (int i = 0; i < instructions.Count; i++)
        {
            ulong address = program.AddressOf(instructions[i].Label);
            int offset = (int)(address - program.Origin);
            ulong bits = (image[offset] & 3) == 3 ? BitConverter.ToUInt32(image, offset) : BitConverter.ToUInt16(image, offset);
            Assert.True(
                new[] { 2UL, address, bits }.SequenceEqual(machine.Log.Skip(3 * i).Take(3)),
                $"{instructions[i].Label}: log {string.Join(", ", machine.Log.Skip(3 * i).Take(3).Select(v => $"0x{v:x}"))}");
        }
    }

    [Fact]
    public void ChangingFpStateMakesFsDirtyAndSetsSd()
    {
        using var machine = new TestMachine();
        machine.Load(asm =>
        {
            FpuOn(asm);
            asm.Csrr(S2, Csr.Mstatus);                     // FS = Initial
            asm.FmvDX(F0, Zero);                           // writes an f register
            asm.Csrr(S3, Csr.Mstatus).Csrr(S4, Csr.Sstatus);
            asm.Li(T0, FsMask).Csrc(Csr.Mstatus, T0).Li(T0, 2L << 13).Csrs(Csr.Mstatus, T0); // Clean
            asm.Csrr(S5, Csr.Mstatus);
            asm.Csrwi(Csr.Fflags, 1);                      // writing fcsr state also dirties
            asm.Csrr(S6, Csr.Mstatus);
            asm.Halt();
        });
        machine.Run();
        const ulong sd = 1UL << 63;
        Assert.Equal(1UL, (machine.X(S2) >> 13) & 3);
        Assert.Equal(0UL, machine.X(S2) & sd);
        Assert.Equal(3UL, (machine.X(S3) >> 13) & 3);
        Assert.Equal(sd, machine.X(S3) & sd);
        Assert.Equal(3UL, (machine.X(S4) >> 13) & 3); // sstatus shows FS and SD too
        Assert.Equal(sd, machine.X(S4) & sd);
        Assert.Equal(2UL, (machine.X(S5) >> 13) & 3);
        Assert.Equal(0UL, machine.X(S5) & sd);
        Assert.Equal(3UL, (machine.X(S6) >> 13) & 3);
    }

    [Fact]
    public void FlagsAccumulateAndFcsrCombinesFrmAndFflags()
    {
        using var machine = new TestMachine();
        machine.Write(Data, One);
        machine.Load(asm =>
        {
            FpuOn(asm).Li(S0, (long)Data).Fld(F1, 0, S0).FmvDX(F2, Zero);
            asm.FdivD(F3, F1, F2);              // 1/0: divide by zero (DZ = 0x08)
            asm.FnegD(F4, F1).FsqrtD(F5, F4);   // sqrt(-1): invalid (NV = 0x10)
            asm.Csrrw(S2, Csr.Fflags, Zero);    // read the accumulated flags and clear them
            asm.Csrr(S3, Csr.Fflags);
            asm.Li(T0, 0x1ff).Csrw(Csr.Fcsr, T0); // bits above 7 are not part of fcsr
            asm.Csrr(S4, Csr.Fcsr).Csrr(S5, Csr.Frm).Csrr(S6, Csr.Fflags);
            asm.Csrwi(Csr.Frm, 3).Li(T0, 0xff).Csrw(Csr.Fflags, T0);
            asm.Csrr(S7, Csr.Fcsr);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0x18UL, machine.X(S2));
        Assert.Equal(0UL, machine.X(S3));
        Assert.Equal(0xffUL, machine.X(S4));
        Assert.Equal(7UL, machine.X(S5));
        Assert.Equal(0x1fUL, machine.X(S6));
        Assert.Equal((3UL << 5) | 0x1f, machine.X(S7));
    }

    [Theory]
    [InlineData(Two5, Rm.Rne, 2L)]
    [InlineData(Two5, Rm.Rtz, 2L)]
    [InlineData(Two5, Rm.Rdn, 2L)]
    [InlineData(Two5, Rm.Rup, 3L)]
    [InlineData(Two5, Rm.Rmm, 3L)]
    [InlineData(MinusTwo5, Rm.Rne, -2L)]
    [InlineData(MinusTwo5, Rm.Rtz, -2L)]
    [InlineData(MinusTwo5, Rm.Rdn, -3L)]
    [InlineData(MinusTwo5, Rm.Rup, -2L)]
    [InlineData(MinusTwo5, Rm.Rmm, -3L)]
    public void TheDynamicRoundingModeComesFromFrmAndAStaticOneOverridesIt(ulong value, Rm mode, long expected)
    {
        Rm other = mode == Rm.Rup ? Rm.Rdn : Rm.Rup;
        using var machine = new TestMachine();
        machine.Write(Data, value);
        machine.Load(asm =>
        {
            FpuOn(asm).Li(S0, (long)Data).Fld(F1, 0, S0);
            asm.Csrwi(Csr.Frm, (int)mode).FcvtWD(S2, F1, Rm.Dyn);   // dynamic: frm
            asm.Csrwi(Csr.Frm, (int)other).FcvtLD(S3, F1, mode);    // static: frm ignored
            asm.Csrr(S4, Csr.Fflags);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal((ulong)expected, machine.X(S2));
        Assert.Equal((ulong)expected, machine.X(S3));
        Assert.Equal(1UL, machine.X(S4)); // inexact (NX)
    }

    [Fact]
    public void ReservedRoundingModesAreIllegalStaticallyAndDynamically()
    {
        using var machine = new TestMachine();
        RiscvAssembler program = machine.Load(asm =>
        {
            asm.SetMachineTrapVector("trap");
            FpuOn(asm);
            asm.Label("static5").FaddD(F1, F2, F3, (Rm)5);
            asm.Label("static6").FmulS(F1, F2, F3, (Rm)6);
            asm.Csrwi(Csr.Frm, 5).Csrr(S2, Csr.Frm);  // frm may hold a reserved value...
            asm.Label("dynamic5").FaddD(F1, F2, F3, Rm.Dyn); // ...but using it is illegal
            asm.FaddD(F4, F2, F3, Rm.Rne);                     // a static mode still works
            asm.Csrwi(Csr.Frm, 7);
            asm.Label("dynamic7").FcvtSD(F1, F2, Rm.Dyn);
            asm.Halt();
            asm.MachineTrapRecorder("trap", resume: true);
        });
        machine.Run();
        Assert.Equal(5UL, machine.X(S2));
        ulong[] causes = [.. machine.Log.Where((_, i) => i % 3 == 0)];
        ulong[] addresses = [.. machine.Log.Where((_, i) => i % 3 == 1)];
        Assert.Equal([2UL, 2, 2, 2], causes);
        Assert.Equal([program.AddressOf("static5"), program.AddressOf("static6"), program.AddressOf("dynamic5"), program.AddressOf("dynamic7")], addresses);
    }

    [Fact]
    public void SinglePrecisionValuesAreNanBoxedAndImproperlyBoxedOperandsReadAsTheCanonicalNan()
    {
        using var machine = new TestMachine();
        machine.Write(Data, (ulong)OneSingle);              // a single without its box
        machine.Write(Data + 8, 0xffff_ffff_8000_0000UL);   // a boxed -0.0f
        machine.Load(asm =>
        {
            FpuOn(asm).Li(S0, (long)Data);
            asm.Flw(F1, 0, S0).FmvXD(S2, F1);            // flw boxes
            asm.Li(T0, 0x1234_5678_4000_0000).FmvWX(F2, T0).FmvXD(S3, F2); // fmv.w.x boxes the low word
            asm.Fld(F3, 0, S0);                          // f3 = 0x00000000_3f800000: not boxed
            asm.FaddS(F4, F3, F1).FmvXD(S4, F4);         // reads as the canonical NaN
            asm.FsgnjS(F5, F1, F3).FmvXD(S5, F5);        // the sign comes from the canonical NaN (+)
            asm.FclassS(S6, F3);                          // quiet NaN
            asm.FcvtDS(F6, F3).FmvXD(S7, F6);            // canonical double NaN
            asm.FmvXW(S8, F3);                            // moves the raw low word, sign-extended
            asm.Fsw(F3, 16, S0);                          // stores the raw low word
            asm.Fld(F7, 8, S0).FmvXW(S9, F7);             // sign extension of a negative word
            asm.FcvtSD(F8, F6).FmvXD(S10, F8);           // a double-to-single result is boxed
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0xffff_ffff_3f80_0000UL, machine.X(S2));
        Assert.Equal(0xffff_ffff_4000_0000UL, machine.X(S3));
        Assert.Equal(0xffff_ffff_7fc0_0000UL, machine.X(S4));
        Assert.Equal(0xffff_ffff_3f80_0000UL, machine.X(S5));
        Assert.Equal(1UL << 9, machine.X(S6));
        Assert.Equal(0x7ff8_0000_0000_0000UL, machine.X(S7));
        Assert.Equal((ulong)OneSingle, machine.X(S8));
        Assert.Equal(OneSingle, machine.Read<uint>(Data + 16));
        Assert.Equal(0xffff_ffff_8000_0000UL, machine.X(S9));
        Assert.Equal(0xffff_ffff_7fc0_0000UL, machine.X(S10));
    }

    [Fact]
    public void ConversionsToWordsAreSignExtendedToXlen()
    {
        using var machine = new TestMachine();
        machine.Write(Data, 0x41e6_5a0b_c000_0000UL); // 3e9
        machine.Write(Data + 8, 0xbff0_0000_0000_0000UL); // -1.0
        machine.Load(asm =>
        {
            FpuOn(asm).Li(S0, (long)Data).Fld(F1, 0, S0).Fld(F2, 8, S0);
            asm.FcvtWuD(S2, F1, Rm.Rtz);   // 3000000000 = 0xb2d05e00, sign-extended
            asm.FcvtWD(S3, F2, Rm.Rtz);    // -1
            asm.FcvtWD(S4, F1, Rm.Rtz);    // out of range: 2^31 - 1, and NV
            asm.Csrr(S5, Csr.Fflags);
            asm.Halt();
        });
        machine.Run();
        Assert.Equal(0xffff_ffff_b2d0_5e00UL, machine.X(S2));
        Assert.Equal(ulong.MaxValue, machine.X(S3));
        Assert.Equal(0x7fff_ffffUL, machine.X(S4));
        Assert.Equal(0x10UL, machine.X(S5));
    }
}
