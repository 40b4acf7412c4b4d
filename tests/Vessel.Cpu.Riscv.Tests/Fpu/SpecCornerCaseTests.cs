using Vessel.Cpu.Riscv.Fpu;
using Vessel.Cpu.Riscv.Tests.Fpu.Reference;

namespace Vessel.Cpu.Riscv.Tests.Fpu;

/// <summary>
/// Corner cases written out by hand from the RISC-V unprivileged manual (F and D chapters) and
/// IEEE 754-2008: each expected encoding was worked out from the text, not taken from the code.
/// Every row is checked against the public entry points and the integer path.
/// </summary>
public sealed class SpecCornerCaseTests
{
    private const RoundingMode Rne = RoundingMode.NearestEven;
    private const RoundingMode Rtz = RoundingMode.TowardZero;
    private const RoundingMode Rdn = RoundingMode.Down;
    private const RoundingMode Rup = RoundingMode.Up;
    private const RoundingMode Rmm = RoundingMode.NearestMaxMagnitude;

    private const FloatFlags None = FloatFlags.None;
    private const FloatFlags NV = FloatFlags.Invalid;
    private const FloatFlags DZ = FloatFlags.DivideByZero;
    private const FloatFlags OF = FloatFlags.Overflow;
    private const FloatFlags UF = FloatFlags.Underflow;
    private const FloatFlags NX = FloatFlags.Inexact;

    // binary64 encodings
    private const ulong DNaN = 0x7FF8_0000_0000_0000; // canonical
    private const ulong DNegQNaNPayload = 0xFFF8_0000_0000_1234;
    private const ulong DSNaN = 0x7FF0_0000_0000_0001;
    private const ulong DNegSNaN = 0xFFF4_0000_0000_0000;
    private const ulong DInf = 0x7FF0_0000_0000_0000;
    private const ulong DNegInf = 0xFFF0_0000_0000_0000;
    private const ulong DZero = 0;
    private const ulong DNegZero = 0x8000_0000_0000_0000;
    private const ulong DOne = 0x3FF0_0000_0000_0000;
    private const ulong DNegOne = 0xBFF0_0000_0000_0000;
    private const ulong DTwo = 0x4000_0000_0000_0000;
    private const ulong DMax = 0x7FEF_FFFF_FFFF_FFFF;
    private const ulong DNegMax = 0xFFEF_FFFF_FFFF_FFFF;
    private const ulong DMinNormal = 0x0010_0000_0000_0000; // 2^−1022
    private const ulong DMaxSubnormal = 0x000F_FFFF_FFFF_FFFF;

    // binary32 encodings
    private const ulong SNaN = 0x7FC0_0000; // canonical
    private const ulong SSNaN = 0x7F80_0001;
    private const ulong SInf = 0x7F80_0000;
    private const ulong SNegInf = 0xFF80_0000;
    private const ulong SOne = 0x3F80_0000;
    private const ulong SMax = 0x7F7F_FFFF;

    public static TheoryData<string, Operation, string, RoundingMode, ulong, ulong, ulong, ulong, FloatFlags> Rows()
    {
        var rows = new TheoryData<string, Operation, string, RoundingMode, ulong, ulong, ulong, ulong, FloatFlags>();
        void D(string why, Operation op, RoundingMode rm, ulong a, ulong b, ulong c, ulong expected, FloatFlags flags)
            => rows.Add(why, op, "binary64", rm, a, b, c, expected, flags);
        void S(string why, Operation op, RoundingMode rm, ulong a, ulong b, ulong c, ulong expected, FloatFlags flags)
            => rows.Add(why, op, "binary32", rm, a, b, c, expected, flags);

        // --- Float → integer: "Domains of float-to-integer conversions and behavior for invalid inputs".
        foreach (ulong nan in new[] { DNaN, DSNaN, DNegQNaNPayload, DNegSNaN })
        {
            D("NaN → 2^31−1", Operation.ToInt32, Rne, nan, 0, 0, 0x7FFF_FFFF, NV);
            D("NaN → 2^32−1", Operation.ToUInt32, Rne, nan, 0, 0, 0xFFFF_FFFF, NV);
            D("NaN → 2^63−1", Operation.ToInt64, Rne, nan, 0, 0, 0x7FFF_FFFF_FFFF_FFFF, NV);
            D("NaN → 2^64−1", Operation.ToUInt64, Rne, nan, 0, 0, 0xFFFF_FFFF_FFFF_FFFF, NV);
        }

        D("+∞ → 2^31−1", Operation.ToInt32, Rne, DInf, 0, 0, 0x7FFF_FFFF, NV);
        D("−∞ → −2^31", Operation.ToInt32, Rne, DNegInf, 0, 0, 0x8000_0000, NV);
        D("+∞ → 2^32−1", Operation.ToUInt32, Rne, DInf, 0, 0, 0xFFFF_FFFF, NV);
        D("−∞ → 0", Operation.ToUInt32, Rne, DNegInf, 0, 0, 0, NV);
        D("+∞ → 2^63−1", Operation.ToInt64, Rtz, DInf, 0, 0, 0x7FFF_FFFF_FFFF_FFFF, NV);
        D("−∞ → −2^63", Operation.ToInt64, Rtz, DNegInf, 0, 0, 0x8000_0000_0000_0000, NV);
        D("+∞ → 2^64−1", Operation.ToUInt64, Rtz, DInf, 0, 0, 0xFFFF_FFFF_FFFF_FFFF, NV);
        D("−∞ → 0", Operation.ToUInt64, Rtz, DNegInf, 0, 0, 0, NV);
        D("2^31 is out of range for W", Operation.ToInt32, Rtz, 0x41E0_0000_0000_0000, 0, 0, 0x7FFF_FFFF, NV);
        D("2^31 is fine for WU", Operation.ToUInt32, Rtz, 0x41E0_0000_0000_0000, 0, 0, 0x8000_0000, None);
        D("−2^31 is the minimum for W", Operation.ToInt32, Rtz, 0xC1E0_0000_0000_0000, 0, 0, 0x8000_0000, None);
        D("−2^31−1 is below it", Operation.ToInt32, Rtz, 0xC1E0_0000_0020_0000, 0, 0, 0x8000_0000, NV);
        D("−2^31−0.5 RNE rounds to −2^31 (even)", Operation.ToInt32, Rne, 0xC1E0_0000_0010_0000, 0, 0, 0x8000_0000, NX);
        D("−2^31−0.5 RMM rounds to −2^31−1: out of range, NV without NX", Operation.ToInt32, Rmm, 0xC1E0_0000_0010_0000, 0, 0, 0x8000_0000, NV);
        D("2^32−1 is the maximum for WU", Operation.ToUInt32, Rne, 0x41EF_FFFF_FFE0_0000, 0, 0, 0xFFFF_FFFF, None);
        D("2^32−0.5 RTZ is in range", Operation.ToUInt32, Rtz, 0x41EF_FFFF_FFF0_0000, 0, 0, 0xFFFF_FFFF, NX);
        D("2^32−0.5 RNE rounds to 2^32: out of range", Operation.ToUInt32, Rne, 0x41EF_FFFF_FFF0_0000, 0, 0, 0xFFFF_FFFF, NV);
        D("−0.3 RTZ → WU 0, inexact but valid", Operation.ToUInt32, Rtz, 0xBFD3_3333_3333_3333, 0, 0, 0, NX);
        D("−0.3 RNE → WU 0, inexact but valid", Operation.ToUInt32, Rne, 0xBFD3_3333_3333_3333, 0, 0, 0, NX);
        D("−0.3 RDN rounds to −1: out of range for WU", Operation.ToUInt32, Rdn, 0xBFD3_3333_3333_3333, 0, 0, 0, NV);
        D("−0.7 RNE rounds to −1: out of range for LU", Operation.ToUInt64, Rne, 0xBFE6_6666_6666_6666, 0, 0, 0, NV);
        D("−0.7 RTZ → LU 0, inexact", Operation.ToUInt64, Rtz, 0xBFE6_6666_6666_6666, 0, 0, 0, NX);
        D("−1 → WU invalid", Operation.ToUInt32, Rtz, DNegOne, 0, 0, 0, NV);
        D("−0 → 0 exactly", Operation.ToUInt32, Rdn, DNegZero, 0, 0, 0, None);
        D("2^63 is out of range for L", Operation.ToInt64, Rne, 0x43E0_0000_0000_0000, 0, 0, 0x7FFF_FFFF_FFFF_FFFF, NV);
        D("2^63 is fine for LU", Operation.ToUInt64, Rne, 0x43E0_0000_0000_0000, 0, 0, 0x8000_0000_0000_0000, None);
        D("−2^63 is the minimum for L", Operation.ToInt64, Rne, 0xC3E0_0000_0000_0000, 0, 0, 0x8000_0000_0000_0000, None);
        D("2^64 is out of range for LU", Operation.ToUInt64, Rne, 0x43F0_0000_0000_0000, 0, 0, 0xFFFF_FFFF_FFFF_FFFF, NV);
        D("2.5 RNE → 2", Operation.ToInt32, Rne, 0x4004_0000_0000_0000, 0, 0, 2, NX);
        D("2.5 RMM → 3", Operation.ToInt32, Rmm, 0x4004_0000_0000_0000, 0, 0, 3, NX);
        D("2.5 RTZ → 2", Operation.ToInt32, Rtz, 0x4004_0000_0000_0000, 0, 0, 2, NX);
        D("2.5 RDN → 2", Operation.ToInt32, Rdn, 0x4004_0000_0000_0000, 0, 0, 2, NX);
        D("2.5 RUP → 3", Operation.ToInt32, Rup, 0x4004_0000_0000_0000, 0, 0, 3, NX);
        D("−2.5 RNE → −2", Operation.ToInt64, Rne, 0xC004_0000_0000_0000, 0, 0, unchecked((ulong)-2L), NX);
        D("−2.5 RMM → −3", Operation.ToInt64, Rmm, 0xC004_0000_0000_0000, 0, 0, unchecked((ulong)-3L), NX);
        D("−2.5 RDN → −3", Operation.ToInt64, Rdn, 0xC004_0000_0000_0000, 0, 0, unchecked((ulong)-3L), NX);
        D("−2.5 RUP → −2", Operation.ToInt64, Rup, 0xC004_0000_0000_0000, 0, 0, unchecked((ulong)-2L), NX);
        D("0.5 RNE → 0", Operation.ToInt32, Rne, 0x3FE0_0000_0000_0000, 0, 0, 0, NX);
        D("0.5 RMM → 1", Operation.ToInt32, Rmm, 0x3FE0_0000_0000_0000, 0, 0, 1, NX);
        S("NaN → 2^31−1", Operation.ToInt32, Rne, SNaN, 0, 0, 0x7FFF_FFFF, NV);
        S("negative sNaN → 2^64−1", Operation.ToUInt64, Rne, 0xFF80_0001, 0, 0, 0xFFFF_FFFF_FFFF_FFFF, NV);
        S("−∞ → −2^63", Operation.ToInt64, Rne, SNegInf, 0, 0, 0x8000_0000_0000_0000, NV);
        S("2^31 out of range for W", Operation.ToInt32, Rne, 0x4F00_0000, 0, 0, 0x7FFF_FFFF, NV);
        S("−2^31 valid for W", Operation.ToInt32, Rne, 0xCF00_0000, 0, 0, 0x8000_0000, None);
        S("2^64 out of range for LU", Operation.ToUInt64, Rne, 0x5F80_0000, 0, 0, 0xFFFF_FFFF_FFFF_FFFF, NV);
        S("−0.3 RTZ → WU 0 with NX", Operation.ToUInt32, Rtz, 0xBE99_999A, 0, 0, 0, NX);

        // --- Integer → float: large integers round in every mode.
        D("2^53+1 RNE → 2^53 (tie to even)", Operation.FromInt64, Rne, (1UL << 53) + 1, 0, 0, 0x4340_0000_0000_0000, NX);
        D("2^53+1 RMM → 2^53+2", Operation.FromInt64, Rmm, (1UL << 53) + 1, 0, 0, 0x4340_0000_0000_0001, NX);
        D("2^53+1 RUP → 2^53+2", Operation.FromInt64, Rup, (1UL << 53) + 1, 0, 0, 0x4340_0000_0000_0001, NX);
        D("2^53+1 RTZ → 2^53", Operation.FromInt64, Rtz, (1UL << 53) + 1, 0, 0, 0x4340_0000_0000_0000, NX);
        D("−(2^53+1) RDN → −(2^53+2)", Operation.FromInt64, Rdn, unchecked((ulong)-((1L << 53) + 1)), 0, 0, 0xC340_0000_0000_0001, NX);
        D("2^63−1 RNE → 2^63", Operation.FromInt64, Rne, long.MaxValue, 0, 0, 0x43E0_0000_0000_0000, NX);
        D("2^63−1 RTZ → 2^63−1024", Operation.FromInt64, Rtz, long.MaxValue, 0, 0, 0x43DF_FFFF_FFFF_FFFF, NX);
        D("−2^63 exact", Operation.FromInt64, Rne, 0x8000_0000_0000_0000, 0, 0, 0xC3E0_0000_0000_0000, None);
        D("2^64−1 RNE → 2^64", Operation.FromUInt64, Rne, ulong.MaxValue, 0, 0, 0x43F0_0000_0000_0000, NX);
        D("2^64−1 RDN → 2^64−2048", Operation.FromUInt64, Rdn, ulong.MaxValue, 0, 0, 0x43EF_FFFF_FFFF_FFFF, NX);
        D("0 → +0 even when rounding down", Operation.FromInt32, Rdn, 0, 0, 0, DZero, None);
        D("−1 → −1.0", Operation.FromInt32, Rne, 0xFFFF_FFFF, 0, 0, DNegOne, None);
        D("2^32−1 as WU → exact", Operation.FromUInt32, Rtz, 0xFFFF_FFFF, 0, 0, 0x41EF_FFFF_FFE0_0000, None);
        S("2^24+1 RNE → 2^24", Operation.FromInt32, Rne, (1UL << 24) + 1, 0, 0, 0x4B80_0000, NX);
        S("2^24+1 RUP → 2^24+2", Operation.FromInt32, Rup, (1UL << 24) + 1, 0, 0, 0x4B80_0001, NX);
        S("2^24+1 RMM → 2^24+2", Operation.FromInt32, Rmm, (1UL << 24) + 1, 0, 0, 0x4B80_0001, NX);
        S("2^32−1 RTZ → 2^32−256", Operation.FromUInt32, Rtz, 0xFFFF_FFFF, 0, 0, 0x4F7F_FFFF, NX);
        S("2^64−1 RNE → 2^64", Operation.FromUInt64, Rne, ulong.MaxValue, 0, 0, 0x5F80_0000, NX);

        // --- FMIN/FMAX: minimumNumber/maximumNumber, −0 < +0, sNaN raises NV even with a number result.
        D("min(−0, +0) = −0", Operation.Min, Rne, DNegZero, DZero, 0, DNegZero, None);
        D("min(+0, −0) = −0", Operation.Min, Rne, DZero, DNegZero, 0, DNegZero, None);
        D("max(−0, +0) = +0", Operation.Max, Rne, DNegZero, DZero, 0, DZero, None);
        D("max(+0, −0) = +0", Operation.Max, Rne, DZero, DNegZero, 0, DZero, None);
        D("min(qNaN, 1) = 1", Operation.Min, Rne, DNaN, DOne, 0, DOne, None);
        D("max(−1, negative qNaN) = −1", Operation.Max, Rne, DNegOne, DNegQNaNPayload, 0, DNegOne, None);
        D("min(sNaN, 1) = 1 with NV", Operation.Min, Rne, DSNaN, DOne, 0, DOne, NV);
        D("max(1, sNaN) = 1 with NV", Operation.Max, Rne, DOne, DNegSNaN, 0, DOne, NV);
        D("min(qNaN, qNaN) = canonical", Operation.Min, Rne, DNegQNaNPayload, DNegQNaNPayload, 0, DNaN, None);
        D("max(sNaN, qNaN) = canonical with NV", Operation.Max, Rne, DSNaN, DNegQNaNPayload, 0, DNaN, NV);
        D("min(−∞, max) = −∞", Operation.Min, Rne, DNegInf, DMax, 0, DNegInf, None);
        D("max(−∞, −max) = −max", Operation.Max, Rne, DNegInf, DNegMax, 0, DNegMax, None);
        S("min(−0, +0) = −0", Operation.Min, Rne, 0x8000_0000, 0, 0, 0x8000_0000, None);
        S("max(−0, +0) = +0", Operation.Max, Rne, 0x8000_0000, 0, 0, 0, None);
        S("min(sNaN, 1) = 1 with NV", Operation.Min, Rne, SSNaN, SOne, 0, SOne, NV);
        S("max(sNaN, sNaN) = canonical with NV", Operation.Max, Rne, SSNaN, 0xFF80_0002, 0, SNaN, NV);

        // --- Comparisons: FEQ quiet, FLT/FLE signaling; 0 when unordered; −0 == +0.
        D("feq(qNaN, qNaN) = 0 quietly", Operation.Equal, Rne, DNaN, DNaN, 0, 0, None);
        D("feq(sNaN, 1) = 0 with NV", Operation.Equal, Rne, DSNaN, DOne, 0, 0, NV);
        D("flt(qNaN, 1) = 0 with NV", Operation.LessThan, Rne, DNaN, DOne, 0, 0, NV);
        D("fle(1, qNaN) = 0 with NV", Operation.LessOrEqual, Rne, DOne, DNaN, 0, 0, NV);
        D("feq(−0, +0) = 1", Operation.Equal, Rne, DNegZero, DZero, 0, 1, None);
        D("flt(−0, +0) = 0", Operation.LessThan, Rne, DNegZero, DZero, 0, 0, None);
        D("fle(+0, −0) = 1", Operation.LessOrEqual, Rne, DZero, DNegZero, 0, 1, None);
        D("flt(−∞, −max) = 1", Operation.LessThan, Rne, DNegInf, DNegMax, 0, 1, None);
        D("flt(−2, −1) = 1", Operation.LessThan, Rne, 0xC000_0000_0000_0000, DNegOne, 0, 1, None);
        S("feq(qNaN, 1) = 0 quietly", Operation.Equal, Rne, SNaN, SOne, 0, 0, None);
        S("fle(sNaN, 1) = 0 with NV", Operation.LessOrEqual, Rne, SSNaN, SOne, 0, 0, NV);

        // --- FCLASS: one bit per class.
        D("−∞", Operation.Classify, Rne, DNegInf, 0, 0, 1 << 0, None);
        D("negative normal", Operation.Classify, Rne, DNegOne, 0, 0, 1 << 1, None);
        D("negative subnormal", Operation.Classify, Rne, 0x8000_0000_0000_0001, 0, 0, 1 << 2, None);
        D("−0", Operation.Classify, Rne, DNegZero, 0, 0, 1 << 3, None);
        D("+0", Operation.Classify, Rne, DZero, 0, 0, 1 << 4, None);
        D("positive subnormal", Operation.Classify, Rne, DMaxSubnormal, 0, 0, 1 << 5, None);
        D("positive normal", Operation.Classify, Rne, DMinNormal, 0, 0, 1 << 6, None);
        D("+∞", Operation.Classify, Rne, DInf, 0, 0, 1 << 7, None);
        D("signaling NaN", Operation.Classify, Rne, DNegSNaN, 0, 0, 1 << 8, None);
        D("quiet NaN", Operation.Classify, Rne, DNegQNaNPayload, 0, 0, 1 << 9, None);
        S("−∞", Operation.Classify, Rne, SNegInf, 0, 0, 1 << 0, None);
        S("negative normal", Operation.Classify, Rne, 0xBF80_0000, 0, 0, 1 << 1, None);
        S("negative subnormal", Operation.Classify, Rne, 0x807F_FFFF, 0, 0, 1 << 2, None);
        S("−0", Operation.Classify, Rne, 0x8000_0000, 0, 0, 1 << 3, None);
        S("+0", Operation.Classify, Rne, 0, 0, 0, 1 << 4, None);
        S("positive subnormal", Operation.Classify, Rne, 1, 0, 0, 1 << 5, None);
        S("positive normal", Operation.Classify, Rne, SMax, 0, 0, 1 << 6, None);
        S("+∞", Operation.Classify, Rne, SInf, 0, 0, 1 << 7, None);
        S("signaling NaN", Operation.Classify, Rne, 0x7FBF_FFFF, 0, 0, 1 << 8, None);
        S("quiet NaN", Operation.Classify, Rne, SNaN, 0, 0, 1 << 9, None);

        // --- Fused multiply-add: ∞ × 0 is invalid even with a quiet NaN addend (RISC-V F).
        foreach (Operation fma in new[] { Operation.MulAdd, Operation.MulSub, Operation.NegMulSub, Operation.NegMulAdd })
        {
            D("∞ × 0 + qNaN", fma, Rne, DInf, DZero, DNaN, DNaN, NV);
            D("0 × −∞ + qNaN", fma, Rne, DNegZero, DNegInf, DNegQNaNPayload, DNaN, NV);
            D("qNaN × 0 + ∞ is just a NaN", fma, Rne, DNaN, DZero, DInf, DNaN, None);
            D("1 × 1 + sNaN", fma, Rne, DOne, DOne, DSNaN, DNaN, NV);
            D("∞ × 0 + 1", fma, Rne, DInf, DZero, DOne, DNaN, NV);
            S("∞ × 0 + qNaN", fma, Rne, SInf, 0, SNaN, SNaN, NV);
        }

        D("∞ × 1 − ∞ (fmadd with c = −∞)", Operation.MulAdd, Rne, DInf, DOne, DNegInf, DNaN, NV);
        D("∞ × 1 − ∞ (fmsub with c = +∞)", Operation.MulSub, Rne, DInf, DOne, DInf, DNaN, NV);
        D("−(∞ × 1) + ∞ (fnmsub)", Operation.NegMulSub, Rne, DInf, DOne, DInf, DNaN, NV);
        D("−(∞ × 1) − ∞ = −∞ (fnmadd)", Operation.NegMulAdd, Rne, DInf, DOne, DInf, DNegInf, None);
        D("fnmadd: −(+0 × 1) − (+0) = −0", Operation.NegMulAdd, Rne, DZero, DOne, DZero, DNegZero, None);
        D("fmsub: +0 × 1 − (+0) = +0", Operation.MulSub, Rne, DZero, DOne, DZero, DZero, None);
        D("fmsub: +0 × 1 − (+0) = −0 rounding down", Operation.MulSub, Rdn, DZero, DOne, DZero, DNegZero, None);
        D("fmadd: 1 × 1 + (−1) = +0", Operation.MulAdd, Rup, DOne, DOne, DNegOne, DZero, None);
        D("fmadd: 1 × 1 + (−1) = −0 rounding down", Operation.MulAdd, Rdn, DOne, DOne, DNegOne, DNegZero, None);
        D("fnmsub: −(1 × 1) + 1 = +0", Operation.NegMulSub, Rne, DOne, DOne, DOne, DZero, None);

        // One rounding: (1 + 2^−52)(1 − 2^−52) − 1 = −2^−104 exactly, which a separate multiply would lose.
        D("fma keeps the product exact", Operation.MulAdd, Rne, 0x3FF0_0000_0000_0001, 0x3FEF_FFFF_FFFF_FFFE, DNegOne, 0xB970_0000_0000_0000, None);

        // --- Exact zero results and their signs (IEEE 754-2008 6.3).
        D("x + (−x) = +0", Operation.Add, Rne, DOne, DNegOne, 0, DZero, None);
        D("x + (−x) = +0 (RTZ)", Operation.Add, Rtz, DOne, DNegOne, 0, DZero, None);
        D("x + (−x) = +0 (RUP)", Operation.Add, Rup, DOne, DNegOne, 0, DZero, None);
        D("x + (−x) = +0 (RMM)", Operation.Add, Rmm, DOne, DNegOne, 0, DZero, None);
        D("x + (−x) = −0 rounding down", Operation.Add, Rdn, DOne, DNegOne, 0, DNegZero, None);
        D("x − x = −0 rounding down", Operation.Sub, Rdn, DMax, DMax, 0, DNegZero, None);
        D("−0 + −0 = −0", Operation.Add, Rne, DNegZero, DNegZero, 0, DNegZero, None);
        D("+0 + −0 = +0", Operation.Add, Rne, DZero, DNegZero, 0, DZero, None);
        D("+0 + −0 = −0 rounding down", Operation.Add, Rdn, DZero, DNegZero, 0, DNegZero, None);
        D("+0 − +0 = −0 rounding down", Operation.Sub, Rdn, DZero, DZero, 0, DNegZero, None);
        D("+0 + +0 = +0 rounding down", Operation.Add, Rdn, DZero, DZero, 0, DZero, None);
        S("x + (−x) = −0 rounding down", Operation.Add, Rdn, SOne, 0xBF80_0000, 0, 0x8000_0000, None);
        S("−0 + −0 = −0", Operation.Add, Rup, 0x8000_0000, 0x8000_0000, 0, 0x8000_0000, None);
        D("−0 × +5 = −0", Operation.Mul, Rne, DNegZero, 0x4014_0000_0000_0000, 0, DNegZero, None);
        D("√(−0) = −0", Operation.Sqrt, Rne, DNegZero, 0, 0, DNegZero, None);

        // --- Invalid operations and division by zero.
        D("∞ − ∞", Operation.Add, Rne, DInf, DNegInf, 0, DNaN, NV);
        D("∞ × 0", Operation.Mul, Rne, DNegInf, DZero, 0, DNaN, NV);
        D("0 / 0", Operation.Div, Rne, DZero, DNegZero, 0, DNaN, NV);
        D("∞ / ∞", Operation.Div, Rne, DInf, DNegInf, 0, DNaN, NV);
        D("1 / +0 = +∞", Operation.Div, Rne, DOne, DZero, 0, DInf, DZ);
        D("1 / −0 = −∞", Operation.Div, Rne, DOne, DNegZero, 0, DNegInf, DZ);
        D("−1 / +0 = −∞", Operation.Div, Rtz, DNegOne, DZero, 0, DNegInf, DZ);
        D("∞ / 0 = ∞, no DZ", Operation.Div, Rne, DInf, DZero, 0, DInf, None);
        D("√−1", Operation.Sqrt, Rne, DNegOne, 0, 0, DNaN, NV);
        D("√−∞", Operation.Sqrt, Rne, DNegInf, 0, 0, DNaN, NV);
        D("√sNaN", Operation.Sqrt, Rne, DSNaN, 0, 0, DNaN, NV);
        D("√qNaN is quiet", Operation.Sqrt, Rne, DNegQNaNPayload, 0, 0, DNaN, None);
        D("qNaN + 1: canonical NaN, no flag", Operation.Add, Rne, DNegQNaNPayload, DOne, 0, DNaN, None);
        D("sNaN × 1: canonical NaN with NV", Operation.Mul, Rne, DNegSNaN, DOne, 0, DNaN, NV);
        S("1 / −0 = −∞", Operation.Div, Rne, SOne, 0x8000_0000, 0, SNegInf, DZ);
        S("sNaN + 1", Operation.Add, Rne, SSNaN, SOne, 0, SNaN, NV);

        // --- Overflow: ∞ or the largest finite number, by rounding mode (IEEE 754-2008 7.4).
        D("max × 2 RNE → +∞", Operation.Mul, Rne, DMax, DTwo, 0, DInf, OF | NX);
        D("max × 2 RMM → +∞", Operation.Mul, Rmm, DMax, DTwo, 0, DInf, OF | NX);
        D("max × 2 RUP → +∞", Operation.Mul, Rup, DMax, DTwo, 0, DInf, OF | NX);
        D("max × 2 RTZ → max", Operation.Mul, Rtz, DMax, DTwo, 0, DMax, OF | NX);
        D("max × 2 RDN → max", Operation.Mul, Rdn, DMax, DTwo, 0, DMax, OF | NX);
        D("−max × 2 RDN → −∞", Operation.Mul, Rdn, DNegMax, DTwo, 0, DNegInf, OF | NX);
        D("−max × 2 RUP → −max", Operation.Mul, Rup, DNegMax, DTwo, 0, DNegMax, OF | NX);
        D("−max × 2 RTZ → −max", Operation.Mul, Rtz, DNegMax, DTwo, 0, DNegMax, OF | NX);
        D("max + max RNE → +∞", Operation.Add, Rne, DMax, DMax, 0, DInf, OF | NX);
        D("max + 1 RNE → max, only inexact", Operation.Add, Rne, DMax, DOne, 0, DMax, NX);
        D("max + 1 RUP → +∞: 1 is below half an ulp but rounding up", Operation.Add, Rup, DMax, DOne, 0, DInf, OF | NX);
        S("max × 2 RNE → +∞", Operation.Mul, Rne, SMax, 0x4000_0000, 0, SInf, OF | NX);
        S("max × 2 RTZ → max", Operation.Mul, Rtz, SMax, 0x4000_0000, 0, SMax, OF | NX);

        // --- Underflow, tininess after rounding (RISC-V F: "tininess is detected after rounding").
        // 2^−1022 − 2^−1080: with unbounded exponent RNE rounds it to 2^−1022, not tiny: NX only.
        D("2^−1022 − 2^−1080 RNE: not tiny after rounding", Operation.MulAdd, Rne, 0x1E30_0000_0000_0000, 0x9E30_0000_0000_0000, DMinNormal, DMinNormal, NX);
        D("2^−1022 − 2^−1080 RTZ: tiny and inexact", Operation.MulAdd, Rtz, 0x1E30_0000_0000_0000, 0x9E30_0000_0000_0000, DMinNormal, DMaxSubnormal, UF | NX);
        D("2^−1022 − 2^−1080 RDN: tiny and inexact", Operation.MulAdd, Rdn, 0x1E30_0000_0000_0000, 0x9E30_0000_0000_0000, DMinNormal, DMaxSubnormal, UF | NX);
        D("2^−1022 − 2^−1080 RUP: not tiny", Operation.MulAdd, Rup, 0x1E30_0000_0000_0000, 0x9E30_0000_0000_0000, DMinNormal, DMinNormal, NX);

        // (1 − 2^−53) × 2^−1022 = 2^−1022 − 2^−1075 is tiny even rounded to 53 bits; as a
        // subnormal it is halfway and RNE rounds up to 2^−1022: tiny and inexact, so UF.
        D("2^−1022 − 2^−1075 RNE: UF even though the result is normal", Operation.Mul, Rne, 0x3FEF_FFFF_FFFF_FFFF, DMinNormal, 0, DMinNormal, UF | NX);
        D("exact subnormal result: no UF", Operation.Div, Rne, 0x0000_0000_0000_0002, DTwo, 0, 0x0000_0000_0000_0001, None);
        D("2^−1074 / 2 RNE → +0 (tie to even)", Operation.Div, Rne, 0x0000_0000_0000_0001, DTwo, 0, DZero, UF | NX);
        D("2^−1074 / 2 RUP → 2^−1074", Operation.Div, Rup, 0x0000_0000_0000_0001, DTwo, 0, 0x0000_0000_0000_0001, UF | NX);
        D("−2^−1074 / 2 RDN → −2^−1074", Operation.Div, Rdn, 0x8000_0000_0000_0001, DTwo, 0, 0x8000_0000_0000_0001, UF | NX);
        D("−2^−1074 / 2 RMM → −2^−1074", Operation.Div, Rmm, 0x8000_0000_0000_0001, DTwo, 0, 0x8000_0000_0000_0001, UF | NX);
        D("−2^−1074 / 2 RTZ → −0", Operation.Div, Rtz, 0x8000_0000_0000_0001, DTwo, 0, DNegZero, UF | NX);
        S("2^−126 − 2^−156 RNE: not tiny after rounding", Operation.MulAdd, Rne, 0x1880_0000, 0x9880_0000, 0x0080_0000, 0x0080_0000, NX);
        S("2^−126 − 2^−156 RTZ: tiny and inexact", Operation.MulAdd, Rtz, 0x1880_0000, 0x9880_0000, 0x0080_0000, 0x007F_FFFF, UF | NX);
        S("2^−126 − 2^−140 is an exact subnormal: no flags", Operation.MulAdd, Rne, 0x1C80_0000, 0x9C80_0000, 0x0080_0000, 0x007F_FE00, None);

        // --- FCVT.S.D and FCVT.D.S.
        D("1 + 2^−24 → 1 (RNE tie to even)", Operation.ConvertFormat, Rne, 0x3FF0_0000_1000_0000, 0, 0, SOne, NX);
        D("1 + 2^−24 → 1 + 2^−23 (RMM)", Operation.ConvertFormat, Rmm, 0x3FF0_0000_1000_0000, 0, 0, 0x3F80_0001, NX);
        D("1 + 2^−24 → 1 + 2^−23 (RUP)", Operation.ConvertFormat, Rup, 0x3FF0_0000_1000_0000, 0, 0, 0x3F80_0001, NX);
        D("1 + 2^−24 → 1 (RDN)", Operation.ConvertFormat, Rdn, 0x3FF0_0000_1000_0000, 0, 0, SOne, NX);
        D("2^128 → +∞", Operation.ConvertFormat, Rne, 0x47F0_0000_0000_0000, 0, 0, SInf, OF | NX);
        D("2^128 RTZ → max", Operation.ConvertFormat, Rtz, 0x47F0_0000_0000_0000, 0, 0, SMax, OF | NX);
        D("2^−150 RNE → +0 (tie to even)", Operation.ConvertFormat, Rne, 0x3690_0000_0000_0000, 0, 0, 0, UF | NX);
        D("2^−150 RUP → 2^−149", Operation.ConvertFormat, Rup, 0x3690_0000_0000_0000, 0, 0, 1, UF | NX);
        D("sNaN → canonical with NV", Operation.ConvertFormat, Rne, DNegSNaN, 0, 0, SNaN, NV);
        D("qNaN with payload → canonical", Operation.ConvertFormat, Rne, DNegQNaNPayload, 0, 0, SNaN, None);
        D("−∞ → −∞", Operation.ConvertFormat, Rne, DNegInf, 0, 0, SNegInf, None);
        S("sNaN → canonical double with NV", Operation.ConvertFormat, Rne, SSNaN, 0, 0, DNaN, NV);
        S("negative qNaN → canonical double", Operation.ConvertFormat, Rne, 0xFFC0_0001, 0, 0, DNaN, None);
        S("smallest subnormal → 2^−149 exactly", Operation.ConvertFormat, Rne, 1, 0, 0, 0x36A0_0000_0000_0000, None);
        S("max → exact", Operation.ConvertFormat, Rne, SMax, 0, 0, 0x47EF_FFFF_E000_0000, None);
        return rows;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void FollowsTheSpecification(string why, Operation op, string formatName, RoundingMode rm, ulong a, ulong b, ulong c, ulong expected, FloatFlags expectedFlags)
    {
        FloatFormat format = formatName == "binary64" ? FloatFormat.Binary64 : FloatFormat.Binary32;
        var expectedOutcome = new Outcome(expected, expectedFlags);
        Assert.True(expectedOutcome == OperationTable.Reference(format, op, a, b, c, rm), $"the reference model disagrees on: {why}");
        foreach (Implementation implementation in new[] { Implementation.Fpu, Implementation.Soft })
        {
            Outcome actual = OperationTable.Run(format, implementation, op, a, b, c, rm);
            Assert.True(expectedOutcome == actual, $"{implementation}: {why}: expected {expectedOutcome}, got {actual}");
        }
    }

    [Fact]
    public void NanBoxingFollowsTheDChapter()
    {
        Assert.Equal(0xFFFF_FFFF_3F80_0000UL, NanBoxing.Box(0x3F80_0000));
        Assert.Equal(0xFFFF_FFFF_7FC0_0000UL, NanBoxing.Box(0x7FC0_0000));
        Assert.Equal(0x3F80_0000u, NanBoxing.Unbox(0xFFFF_FFFF_3F80_0000));
        Assert.Equal(0x8000_0000u, NanBoxing.Unbox(0xFFFF_FFFF_8000_0000));

        // "otherwise the input value is treated as an n-bit canonical NaN"
        Assert.Equal(0x7FC0_0000u, NanBoxing.Unbox(0x0000_0000_3F80_0000));
        Assert.Equal(0x7FC0_0000u, NanBoxing.Unbox(0xFFFF_FFFE_3F80_0000));
        Assert.Equal(0x7FC0_0000u, NanBoxing.Unbox(0x7FFF_FFFF_3F80_0000));
        Assert.Equal(0x7FC0_0000u, NanBoxing.Unbox(DOne));

        // fadd.s on a register holding a double reads a canonical (quiet) NaN: NaN result, no NV.
        FloatFlags flags = FloatFlags.None;
        ulong result = NanBoxing.Box(Fpu32.Add(NanBoxing.Unbox(DOne), NanBoxing.Unbox(NanBoxing.Box(0x3F80_0000)), RoundingMode.NearestEven, ref flags));
        Assert.Equal(0xFFFF_FFFF_7FC0_0000UL, result);
        Assert.Equal(FloatFlags.None, flags);

        // A boxed signaling NaN is still signaling once unboxed.
        flags = FloatFlags.None;
        Assert.Equal(0x7FC0_0000u, Fpu32.Add(NanBoxing.Unbox(0xFFFF_FFFF_7F80_0001), 0x3F80_0000, RoundingMode.NearestEven, ref flags));
        Assert.Equal(FloatFlags.Invalid, flags);
    }

    [Fact]
    public void FlagsAccumulate()
    {
        // The interpreter passes fflags by reference: operations only ever add flags.
        FloatFlags flags = FloatFlags.DivideByZero;
        Fpu64.Add(DOne, 0x3CA0_0000_0000_0000, RoundingMode.NearestEven, ref flags); // 1 + 2^−53: inexact
        Fpu64.Add(DOne, DOne, RoundingMode.NearestEven, ref flags); // exact: adds nothing
        Assert.Equal(FloatFlags.DivideByZero | FloatFlags.Inexact, flags);
    }
}
