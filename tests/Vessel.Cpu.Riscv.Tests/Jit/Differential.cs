using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Runs one program on the interpreter and on the translator from the same initial state and
/// checks that both machines end in the same architectural state.
/// </summary>
public static class Differential
{
    public const ulong DefaultRam = 1024 * 1024;

    /// <summary>Translation at the first execution, synchronously.</summary>
    public static TranslatorOptions Eager => TranslatorOptions.Eager;

    /// <summary>
    /// Sets both machines up with <paramref name="setup"/>, starts hart 0 in M-mode at
    /// <paramref name="entry"/>, runs until it waits in <c>wfi</c>, and compares. Returns the
    /// translator's machine state (equal to the interpreter's) for further assertions;
    /// <paramref name="inspect"/> sees the translator's statistics (e.g. to check that the
    /// program exercised what it is about).
    /// </summary>
    public static MachineSnapshot Run(
        Action<TestMachine> setup,
        ulong entry,
        TranslatorOptions? options = null,
        int translatorSlice = 997,
        ulong ram = DefaultRam,
        bool expectTranslation = true,
        Action<TranslatorStatistics>? inspect = null)
    {
        MachineSnapshot expected;
        using (var interpreter = TestMachine.WithTranslator(ram, translator: null))
        {
            setup(interpreter);
            interpreter.Hart.Reset(entry);
            interpreter.RunUntilIdle();
            expected = interpreter.Capture();
        }

        using var translated = TestMachine.WithTranslator(ram, options ?? Eager);
        setup(translated);
        translated.Hart.Reset(entry);
        translated.RunUntilIdle(translatorSlice);
        MachineSnapshot actual = translated.Capture();
        TranslatorStatistics statistics = translated.Processor.TranslatorStatistics!;
        Assert.True(statistics.CompileFailures == 0, statistics.FirstFailure);
        if (expectTranslation)
        {
            Assert.True(statistics.BlocksTranslated > 0, "nothing was translated");
            Assert.True(statistics.TranslatedInstructions > 0, "no translated code ran");
        }

        MachineSnapshot.AssertSame(expected, actual, "end state");
        inspect?.Invoke(statistics);
        return actual;
    }

    /// <summary><see cref="Run(Action{TestMachine}, ulong, TranslatorOptions?, int, ulong, bool, Action{TranslatorStatistics}?)"/> for one program at RAM base.</summary>
    public static MachineSnapshot Run(Code code, TranslatorOptions? options = null, int translatorSlice = 997) =>
        Run(machine => machine.Load(code.Base, code.ToArray()), code.Base, options, translatorSlice);
}
