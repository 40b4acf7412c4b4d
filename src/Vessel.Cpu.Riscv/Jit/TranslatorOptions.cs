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
    /// thread), <c>VESSEL_JIT_REGION</c> (instructions per region).
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

        if (int.TryParse(Environment.GetEnvironmentVariable("VESSEL_JIT_REGION"), out int region) && region > 0)
        {
            options = options with { MaxRegionInstructions = region };
        }

        return options;
    }

    /// <summary>Translate every block on first execution, synchronously: for differential tests.</summary>
    public static TranslatorOptions Eager { get; } = new() { HotThreshold = 0, Background = false };
}
