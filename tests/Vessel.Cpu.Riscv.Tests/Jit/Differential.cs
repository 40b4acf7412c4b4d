using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Tests.Harness;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Runs one program on the interpreter and on the translator from the same initial state and
/// checks that both machines end in the same architectural state. Without explicit options
/// the translator runs it three ways: every block in the first tier, both tiers mixed with the
/// interpreter (first tier after one run, optimised after four), and every block optimised.
/// </summary>
public static class Differential
{
    public const ulong DefaultRam = 1024 * 1024;

    /// <summary>Translation at the first execution, synchronously.</summary>
    public static TranslatorOptions Eager => TranslatorOptions.Eager;

    /// <summary>Both tiers and the interpreter in turn: a block is interpreted once, runs in the first tier three times, then optimised.</summary>
    public static TranslatorOptions Tiered { get; } = new() { FirstTierThreshold = 1, HotThreshold = 4, Background = false };

    /// <summary>What a differential test runs when it names no options; the optimising tier last, so that inspections see it.</summary>
    public static IReadOnlyList<TranslatorOptions> EveryTier { get; } = [TranslatorOptions.FirstTierOnly, Tiered, Eager];

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

        MachineSnapshot actual = expected;
        foreach (TranslatorOptions tier in options is null ? EveryTier : [options])
        {
            using var translated = TestMachine.WithTranslator(ram, tier);
            setup(translated);
            translated.Hart.Reset(entry);
            translated.RunUntilIdle(translatorSlice);
            actual = translated.Capture();
            TranslatorStatistics statistics = translated.Processor.TranslatorStatistics!;
            Assert.True(statistics.CompileFailures == 0, statistics.FirstFailure);
            // Only a configuration that translates at a block's first execution must have
            // translated something: with thresholds, code that rewrites itself every iteration
            // never gets a block past its first run, and stays interpreted (correctly).
            if (expectTranslation && (tier.FirstTierThreshold == 0 || tier.HotThreshold == 0))
            {
                Assert.True(statistics.BlocksTranslated + statistics.FirstTierBlocks > 0, $"nothing was translated ({Describe(tier)})");
                Assert.True(statistics.TranslatedInstructions > 0, $"no translated code ran ({Describe(tier)})");
            }

            MachineSnapshot.AssertSame(expected, actual, $"end state ({Describe(tier)})");
            inspect?.Invoke(statistics);
        }

        return actual;
    }

    /// <summary>Names a configuration in failure messages.</summary>
    public static string Describe(TranslatorOptions options) =>
        $"first tier after {(options.FirstTierThreshold == int.MaxValue ? "never" : options.FirstTierThreshold)}, " +
        $"optimised after {(options.HotThreshold == int.MaxValue ? "never" : options.HotThreshold)}";

    /// <summary><see cref="Run(Action{TestMachine}, ulong, TranslatorOptions?, int, ulong, bool, Action{TranslatorStatistics}?)"/> for one program at RAM base.</summary>
    public static MachineSnapshot Run(Code code, TranslatorOptions? options = null, int translatorSlice = 997) =>
        Run(machine => machine.Load(code.Base, code.ToArray()), code.Base, options, translatorSlice);
}
