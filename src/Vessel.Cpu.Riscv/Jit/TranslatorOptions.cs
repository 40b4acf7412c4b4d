namespace Vessel.Cpu.Riscv.Jit;

/// <summary>How the dynamic translator tiers and bounds its work.</summary>
public sealed record TranslatorOptions
{
    /// <summary>
    /// Times a block entry is executed by the interpreter before it is translated. Translating a
    /// region costs about a millisecond of CPU (the .NET JIT compiles every method fully
    /// optimised), and saves a few nanoseconds per instruction run afterwards, so a block pays
    /// back only after a few hundred thousand instructions: on the reference guest, 10 000
    /// translates ~200 regions that run ~95 % of all instructions, where 40 translated ~2 300
    /// and spent seconds compiling during boot.
    /// </summary>
    public int HotThreshold { get; init; } = 10_000;

    /// <summary>
    /// Times a block entry is executed by the interpreter before the first tier takes it
    /// (<see cref="FirstTierBlock"/>): a decode per instruction, a few microseconds a block, so it
    /// pays back after a handful of runs; code that runs once (most of a kernel's
    /// initialisation) stays interpreted. <see cref="int.MaxValue"/> turns the first tier off.
    /// </summary>
    public int FirstTierThreshold { get; init; } = 2;

    /// <summary>Most guest instructions in one first-tier block (at most 254: exits are numbered in a byte).</summary>
    public int FirstTierMaxInstructions { get; init; } = 64;

    /// <summary>
    /// Whether blocks are compiled on a background thread while the interpreter keeps running
    /// the guest (the default), or synchronously on the hart's thread (deterministic: tests).
    /// </summary>
    public bool Background { get; init; } = true;

    /// <summary>Most guest instructions in one translated region.</summary>
    public int MaxRegionInstructions { get; init; } = 384;

    /// <summary>
    /// Bound on the translation cache, in bytes of generated IL: when it is exceeded every
    /// translation is dropped at once (as QEMU flushes its code buffer) and hot code is
    /// translated again.
    /// </summary>
    public long CacheCapacityBytes { get; init; } = 48L * 1024 * 1024;

    /// <summary>Compile requests waiting at most; beyond this, hot blocks stay interpreted for a while.</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    public static TranslatorOptions Default { get; } = new();

    /// <summary>
    /// <see cref="Default"/>, with tuning overrides from the environment for experiments:
    /// <c>VESSEL_JIT_THRESHOLD</c> (hot threshold), <c>VESSEL_JIT_SYNC=1</c> (compile on the hart's
    /// thread), <c>VESSEL_JIT_REGION</c> (instructions per region), <c>VESSEL_JIT_FIRST_THRESHOLD</c>
    /// (the first tier's threshold; <c>off</c> turns the first tier off).
    /// </summary>
    public static TranslatorOptions FromEnvironment()
    {
        TranslatorOptions options = Default;
        if (int.TryParse(Environment.GetEnvironmentVariable("VESSEL_JIT_THRESHOLD"), out int threshold) && threshold >= 0)
        {
            options = options with { HotThreshold = threshold };
        }

        if (Environment.GetEnvironmentVariable("VESSEL_JIT_SYNC") == "1")
        {
            options = options with { Background = false };
        }

        string? first = Environment.GetEnvironmentVariable("VESSEL_JIT_FIRST_THRESHOLD");
        if (first == "off")
        {
            options = options with { FirstTierThreshold = int.MaxValue };
        }
        else if (int.TryParse(first, out int firstThreshold) && firstThreshold >= 0)
        {
            options = options with { FirstTierThreshold = firstThreshold };
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("VESSEL_JIT_REGION"), out int region) && region > 0)
        {
            options = options with { MaxRegionInstructions = region };
        }

        return options;
    }

    /// <summary>Translate every block on first execution, synchronously: for differential tests.</summary>
    public static TranslatorOptions Eager { get; } = new() { HotThreshold = 0, Background = false, FirstTierThreshold = int.MaxValue };

    /// <summary>Run every block in the first tier from its first execution, never optimised: for differential tests.</summary>
    public static TranslatorOptions FirstTierOnly { get; } = new() { HotThreshold = int.MaxValue, Background = false, FirstTierThreshold = 0 };
}
