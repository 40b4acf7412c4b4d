using System.Text;

namespace Vessel.Cpu.Riscv.Tests.Fpu.QemuOracle;

/// <summary>
/// The RISC-V program run under qemu-riscv64: it reads records (op, rm, a, b, c) from stdin,
/// sets frm, clears fflags, executes the one real F/D instruction for op on the raw 64-bit
/// register values (so NaN-boxing is QEMU's), and writes the destination register and fflags.
/// </summary>
internal static class OracleProgram
{
    /// <summary>The instruction for each operation: (binary64 form, binary32 form, how it is called).</summary>
    private static readonly (Operation Op, string Double, string Single, string Shape)[] s_instructions =
    [
        (Operation.Add, "fadd.d %0, %1, %2, dyn", "fadd.s %0, %1, %2, dyn", "FFF"),
        (Operation.Sub, "fsub.d %0, %1, %2, dyn", "fsub.s %0, %1, %2, dyn", "FFF"),
        (Operation.Mul, "fmul.d %0, %1, %2, dyn", "fmul.s %0, %1, %2, dyn", "FFF"),
        (Operation.Div, "fdiv.d %0, %1, %2, dyn", "fdiv.s %0, %1, %2, dyn", "FFF"),
        (Operation.Sqrt, "fsqrt.d %0, %1, dyn", "fsqrt.s %0, %1, dyn", "FF"),
        (Operation.MulAdd, "fmadd.d %0, %1, %2, %3, dyn", "fmadd.s %0, %1, %2, %3, dyn", "FFFF"),
        (Operation.MulSub, "fmsub.d %0, %1, %2, %3, dyn", "fmsub.s %0, %1, %2, %3, dyn", "FFFF"),
        (Operation.NegMulSub, "fnmsub.d %0, %1, %2, %3, dyn", "fnmsub.s %0, %1, %2, %3, dyn", "FFFF"),
        (Operation.NegMulAdd, "fnmadd.d %0, %1, %2, %3, dyn", "fnmadd.s %0, %1, %2, %3, dyn", "FFFF"),
        (Operation.Min, "fmin.d %0, %1, %2", "fmin.s %0, %1, %2", "FFF"),
        (Operation.Max, "fmax.d %0, %1, %2", "fmax.s %0, %1, %2", "FFF"),
        (Operation.Equal, "feq.d %0, %1, %2", "feq.s %0, %1, %2", "XFF"),
        (Operation.LessThan, "flt.d %0, %1, %2", "flt.s %0, %1, %2", "XFF"),
        (Operation.LessOrEqual, "fle.d %0, %1, %2", "fle.s %0, %1, %2", "XFF"),
        (Operation.Classify, "fclass.d %0, %1", "fclass.s %0, %1", "XF"),
        (Operation.ToInt32, "fcvt.w.d %0, %1, dyn", "fcvt.w.s %0, %1, dyn", "WF"),
        (Operation.ToUInt32, "fcvt.wu.d %0, %1, dyn", "fcvt.wu.s %0, %1, dyn", "WF"),
        (Operation.ToInt64, "fcvt.l.d %0, %1, dyn", "fcvt.l.s %0, %1, dyn", "XF"),
        (Operation.ToUInt64, "fcvt.lu.d %0, %1, dyn", "fcvt.lu.s %0, %1, dyn", "XF"),
        (Operation.FromInt32, "fcvt.d.w %0, %1", "fcvt.s.w %0, %1, dyn", "FX"),
        (Operation.FromUInt32, "fcvt.d.wu %0, %1", "fcvt.s.wu %0, %1, dyn", "FX"),
        (Operation.FromInt64, "fcvt.d.l %0, %1, dyn", "fcvt.s.l %0, %1, dyn", "FX"),
        (Operation.FromUInt64, "fcvt.d.lu %0, %1, dyn", "fcvt.s.lu %0, %1, dyn", "FX"),
        (Operation.ConvertFormat, "fcvt.s.d %0, %1, dyn", "fcvt.d.s %0, %1", "FF"),
    ];

    /// <summary>The opcode in a record: operation and format.</summary>
    public static uint OpCode(Operation op, bool single) => (uint)op * 2 + (single ? 1u : 0u);

    public static string Source()
    {
        var cases = new StringBuilder();
        foreach ((Operation op, string d, string s, string shape) in s_instructions)
        {
            cases.AppendLine($"        case {OpCode(op, false)}: {Statement(d, shape)} break;");
            cases.AppendLine($"        case {OpCode(op, true)}: {Statement(s, shape)} break;");
        }

        return Template.Replace("@CASES@", cases.ToString());
    }

    /// <summary>One asm statement; F = an f register (64 raw bits), X = an x register, W = an x register holding a 32-bit result.</summary>
    private static string Statement(string instruction, string shape)
    {
        string output = shape[0] == 'F' ? "\"=f\"(fr)" : "\"=r\"(xr)";
        var inputs = new List<string>();
        for (int i = 1; i < shape.Length; i++)
        {
            string operand = "abc"[i - 1].ToString();
            inputs.Add(shape[i] == 'F' ? $"\"f\"(f{operand})" : $"\"r\"(r.{operand})");
        }

        string result = shape[0] switch
        {
            'F' => "v = bits(fr);",
            'W' => "v = (uint32_t)xr;",
            _ => "v = (uint64_t)xr;",
        };
        return $"__asm__ volatile(\"{instruction}\" : {output} : {string.Join(", ", inputs)}); {result}";
    }

    private const string Template = """
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>

        struct record { uint32_t op, rm; uint64_t a, b, c; };
        struct result { uint64_t value, flags; };

        static double reg(uint64_t x) { double d; memcpy(&d, &x, 8); return d; }
        static uint64_t bits(double d) { uint64_t x; memcpy(&x, &d, 8); return x; }

        int main(void)
        {
            static struct record in[4096];
            static struct result out[4096];
            size_t n;
            while ((n = fread(in, sizeof in[0], 4096, stdin)) > 0) {
                for (size_t i = 0; i < n; i++) {
                    struct record r = in[i];
                    double fa = reg(r.a), fb = reg(r.b), fc = reg(r.c), fr;
                    int64_t xr;
                    uint64_t v = 0, flags;
                    __asm__ volatile("fsrm %0" : : "r"((uint64_t)r.rm));
                    __asm__ volatile("fsflags zero");
                    switch (r.op) {
        @CASES@
                    default: return 2;
                    }
                    __asm__ volatile("frflags %0" : "=r"(flags));
                    out[i].value = v;
                    out[i].flags = flags;
                    (void)fa; (void)fb; (void)fc; (void)fr; (void)xr;
                }
                if (fwrite(out, sizeof out[0], n, stdout) != n) return 3;
            }
            return 0;
        }
        """;
}
