namespace Vessel.Cpu.Riscv.Jit;

/// <summary>What the dynamic translator did during a run (<c>VESSEL_STATS=1</c>).</summary>
public sealed record TranslatorStatistics(
    long BlocksTranslated,
    long RegionInstructions,
    TimeSpan TranslationCpuTime,
    long IlBytes,
    long BlocksInvalidated,
    long CacheFlushes,
    long CompileFailures,
    string? FirstFailure,
    long RequestsDropped,
    long Dispatches,
    long JumpCacheMisses,
    long TranslatedInstructions,
    long InterpretedInstructions)
{
    /// <summary>Share of block dispatches found in the jump cache.</summary>
    public double JumpCacheHitRate => Dispatches == 0 ? 0 : 1 - ((double)JumpCacheMisses / Dispatches);

    /// <summary>Share of executed instructions that ran as translated code.</summary>
    public double TranslatedShare => TranslatedInstructions + InterpretedInstructions == 0
        ? 0
        : (double)TranslatedInstructions / (TranslatedInstructions + InterpretedInstructions);

    public override string ToString() =>
        $"jit: {BlocksTranslated:N0} blocks translated ({RegionInstructions:N0} guest instructions, {IlBytes / 1024:N0} KiB IL) " +
        $"in {TranslationCpuTime.TotalSeconds:F2} s of CPU; {TranslatedShare:P1} of instructions translated; " +
        $"{Dispatches:N0} dispatches, jump cache hit rate {JumpCacheHitRate:P1}; " +
        $"{BlocksInvalidated:N0} blocks invalidated, {CacheFlushes:N0} cache flushes, {RequestsDropped:N0} requests dropped" +
        (CompileFailures == 0 ? string.Empty : $"; {CompileFailures:N0} compile failures (first: {FirstFailure})");
}
