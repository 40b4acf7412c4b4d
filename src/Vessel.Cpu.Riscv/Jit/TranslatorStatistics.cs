namespace Vessel.Cpu.Riscv.Jit;

/// <summary>What the dynamic translator did during a run (<c>VESSEL_STATS=1</c>).</summary>
public sealed record TranslatorStatistics(
    long FirstTierBlocks,
    long FirstTierInstructions,
    long FirstTierInstructionsRun,
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
    long ChainedDispatches,
    long TranslatedInstructions,
    long InterpretedInstructions,
    long SatpSwitches,
    long SatpSwitchesKept,
    long FencesAll,
    long FencesAsid,
    long FencesPage,
    long FencesPageAsid)
{
    /// <summary>Share of the dispatches that did not chain through an exit link and were found in the jump cache.</summary>
    public double JumpCacheHitRate => Dispatches - ChainedDispatches == 0 ? 0 : 1 - ((double)JumpCacheMisses / (Dispatches - ChainedDispatches));

    /// <summary>Share of dispatches that went straight through a direct exit's link.</summary>
    public double ChainedShare => Dispatches == 0 ? 0 : (double)ChainedDispatches / Dispatches;

    /// <summary>Share of executed instructions that ran as translated code.</summary>
    public double TranslatedShare => TranslatedInstructions + InterpretedInstructions == 0
        ? 0
        : (double)TranslatedInstructions / (TranslatedInstructions + InterpretedInstructions);

    /// <summary>Share of executed instructions that ran in the first tier.</summary>
    public double FirstTierShare => TranslatedInstructions + InterpretedInstructions == 0
        ? 0
        : (double)FirstTierInstructionsRun / (TranslatedInstructions + InterpretedInstructions);

    public override string ToString() =>
        $"jit: first tier: {FirstTierBlocks:N0} blocks ({FirstTierInstructions:N0} guest instructions), {FirstTierShare:P1} of instructions run there; " +
        $"optimising tier: {BlocksTranslated:N0} blocks translated ({RegionInstructions:N0} guest instructions, {IlBytes / 1024:N0} KiB IL) " +
        $"in {TranslationCpuTime.TotalSeconds:F2} s of CPU; {TranslatedShare:P1} of instructions run translated (either tier); " +
        $"{Dispatches:N0} dispatches, {ChainedShare:P1} chained through exit links, jump cache hit rate {JumpCacheHitRate:P1} of the rest; " +
        $"{BlocksInvalidated:N0} blocks invalidated, {CacheFlushes:N0} cache flushes, {RequestsDropped:N0} requests dropped; " +
        $"{SatpSwitches:N0} satp switches ({SatpSwitchesKept:N0} back to a cached address space), sfence.vma: " +
        $"{FencesAll:N0} all, {FencesAsid:N0} one ASID, {FencesPage:N0} one page, {FencesPageAsid:N0} one page of one ASID" +
        (CompileFailures == 0 ? string.Empty : $"; {CompileFailures:N0} compile failures (first: {FirstFailure})");
}
