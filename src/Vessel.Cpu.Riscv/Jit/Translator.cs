using System.Runtime.CompilerServices;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv.Jit;

/// <summary>
/// The dynamic translator of one processor: turns hot guest code into .NET methods and keeps
/// them coherent with guest memory.
/// </summary>
/// <remarks>
/// <para>
/// Tiering: harts interpret code and count executions per block entry; a block that passes
/// <see cref="TranslatorOptions.HotThreshold"/> is requested. The hart itself decodes the
/// region (cheap: microseconds), after marking its page as code so that any later write drops
/// the result; the expensive part, generating IL and having the .NET JIT compile it (a fraction
/// of a millisecond to a few milliseconds per region, always fully optimised), runs on a
/// background thread while the hart keeps interpreting. A guest is therefore never stopped by
/// translation: timer interrupts stay on time and boot is not slowed by code that runs only a
/// few hundred times. The finished code is published into the block, and the hart picks it up
/// at the block's next dispatch.
/// </para>
/// <para>
/// Coherence: writes to a page holding translated code reach <see cref="OnPageInvalidated"/>
/// through the decode cache; every block of the page is dropped, including blocks still being
/// compiled (their result is never used).
/// </para>
/// </remarks>
internal sealed unsafe class Translator : IDisposable
{
    private readonly GuestMemory _memory;
    private readonly DecodeCache _decodeCache;
    private readonly IReadOnlyList<Hart> _harts;
    private readonly LinkedList<(TranslatedBlock Block, Region Region)> _queue = new();
    private readonly Thread? _worker;
    private bool _stopping;

    // Statistics (updated under Interlocked: the worker and harts both write some of them).
    private long _blocksTranslated;
    private long _firstTierBlocks;
    private long _firstTierInstructions;
    private long _regionInstructions;
    private long _translationNanoseconds;
    private long _ilBytes;
    private long _compileFailures;
    private long _requestsDropped;
    private string? _firstFailure;

    public Translator(GuestMemory memory, DecodeCache decodeCache, IReadOnlyList<Hart> harts, TranslatorOptions options)
    {
        _memory = memory;
        _decodeCache = decodeCache;
        _harts = harts;
        Options = options;
        Cache = new TranslationCache(memory, options.CacheCapacityBytes);
        if (options.Background)
        {
            _worker = new Thread(CompileLoop) { IsBackground = true, Name = "Vessel JIT" };
            _worker.Start();
        }
    }

    public TranslatorOptions Options { get; }

    public TranslationCache Cache { get; }

    /// <summary>
    /// Translates <paramref name="block"/>, which the calling hart claimed with
    /// <see cref="TranslatedBlock.TryMarkQueued"/>: decodes its region now and compiles it now
    /// or in the background.
    /// </summary>
    public void Request(TranslatedBlock block)
    {
        ulong page = block.PhysicalAddress & ~(GuestMemory.PageSize - 1);
        _decodeCache.EnsureCodePage(page);

        // Safe: the block's address came from a fetch translation that checked it lies in RAM,
        // so the whole page is inside the guest mapping.
        byte* hostPage = _memory.HostPointer + (page - _memory.Base);
        Region region = RegionBuilder.Build(hostPage, (int)(block.PhysicalAddress - page), Options.MaxRegionInstructions);
        if (region.Instructions.Length == 0)
        {
            block.MarkUntranslatable();
            return;
        }

        if (_worker is null)
        {
            Compile(block, region);
            return;
        }

        lock (_queue)
        {
            // Newest first: under a backlog, what became hot last is what the guest runs now.
            // The oldest requests make room and go back to the interpreter's counting.
            _queue.AddFirst((block, region));
            if (_queue.Count > Options.MaxQueuedRequests)
            {
                _queue.Last!.Value.Block.ReturnToCold();
                _queue.RemoveLast();
                Interlocked.Increment(ref _requestsDropped);
            }

            Monitor.Pulse(_queue);
        }
    }

    /// <summary>
    /// Builds and publishes the first tier's form of <paramref name="block"/> on the calling
    /// hart's thread (cheap: one decode per instruction), after marking its page as code so that
    /// any later write drops it. Null when the block starts with an instruction the interpreter
    /// must run. Deterministic: it depends only on guest memory.
    /// </summary>
    public FirstTierBlock? BuildFirstTier(TranslatedBlock block)
    {
        ulong page = block.PhysicalAddress & ~(GuestMemory.PageSize - 1);
        _decodeCache.EnsureCodePage(page);

        // Safe: the block's address came from a fetch translation that checked it lies in RAM.
        byte* hostPage = _memory.HostPointer + (page - _memory.Base);
        FirstTierBlock? firstTier = FirstTierBlock.Build(hostPage, (int)(block.PhysicalAddress - page), Options.FirstTierMaxInstructions);
        block.PublishFirstTier(firstTier, _harts.Count);
        if (firstTier is not null)
        {
            Interlocked.Increment(ref _firstTierBlocks);
            Interlocked.Add(ref _firstTierInstructions, firstTier.Instructions.Length);
        }

        // A write between the decode and the publication (another hart, DMA) dropped the block
        // already; its first-tier form must not run.
        return block.IsValid ? block.FirstTier : null;
    }

    /// <summary>The position of <paramref name="hart"/> among this translator's harts (its link slots in every block).</summary>
    public int HartIndexOf(Hart hart)
    {
        for (int i = 0; i < _harts.Count; i++)
        {
            if (ReferenceEquals(_harts[i], hart))
            {
                return i;
            }
        }

        throw new ArgumentException("The hart does not belong to this translator's processor.", nameof(hart));
    }

    /// <summary>A page holding code was written (any thread): drop its blocks.</summary>
    public void OnPageInvalidated(ulong page)
    {
        Cache.InvalidatePage(page);
        foreach (Hart hart in _harts)
        {
            hart.NoteTranslatedCodeWritten();
        }
    }

    private void CompileLoop()
    {
        while (true)
        {
            (TranslatedBlock Block, Region Region) job;
            lock (_queue)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_queue);
                }

                if (_stopping)
                {
                    return;
                }

                job = _queue.First!.Value;
                _queue.RemoveFirst();
            }

            Compile(job.Block, job.Region);
        }
    }

    private void Compile(TranslatedBlock block, Region region)
    {
        if (!block.IsValid)
        {
            return; // its page was written while it waited
        }

        long start = ThreadCpuTime.Nanoseconds();
        BlockFunction function;
        int ilBytes;
        int exitCount;
        try
        {
            function = BlockCompiler.Compile(region, block.PhysicalAddress, out ilBytes, out exitCount);
            RuntimeHelpers.PrepareDelegate(function); // have the .NET JIT compile it here, not on the hart
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            // A translator bug must not take the guest down: the block stays interpreted.
            Interlocked.Increment(ref _compileFailures);
            Interlocked.CompareExchange(ref _firstFailure, $"{block.PhysicalAddress:x}: {e.GetType().Name}: {e.Message}", null);
            block.MarkUntranslatable();
            return;
        }

        Interlocked.Add(ref _translationNanoseconds, ThreadCpuTime.Nanoseconds() - start);
        Interlocked.Increment(ref _blocksTranslated);
        Interlocked.Add(ref _regionInstructions, region.Instructions.Length);
        Interlocked.Add(ref _ilBytes, ilBytes);
        block.Publish(function, region.Instructions.Length, exitCount, _harts.Count);
        if (!Cache.Account(ilBytes))
        {
            Cache.Flush();
        }
    }

    /// <summary>What the translator did so far, with the harts' dispatch counters.</summary>
    public TranslatorStatistics GetStatistics()
    {
        long dispatches = 0, misses = 0, translated = 0, interpreted = 0, chained = 0, firstTierRun = 0;
        long switches = 0, kept = 0, fencesAll = 0, fencesAsid = 0, fencesPage = 0, fencesPageAsid = 0;
        foreach (Hart hart in _harts)
        {
            switches += hart.TlbContextSwitches;
            kept += hart.TlbContextHits;
            fencesAll += hart.FencesAll;
            fencesAsid += hart.FencesAsid;
            fencesPage += hart.FencesPage;
            fencesPageAsid += hart.FencesPageAsid;
            if (hart.Translation is { } jit)
            {
                dispatches += jit.Dispatches;
                misses += jit.JumpCacheMisses;
                translated += jit.TranslatedInstructions;
                interpreted += jit.InterpretedInstructions;
                chained += jit.ChainedDispatches;
                firstTierRun += jit.FirstTierInstructions;
            }
        }

        return new TranslatorStatistics(
            FirstTierBlocks: Interlocked.Read(ref _firstTierBlocks),
            FirstTierInstructions: Interlocked.Read(ref _firstTierInstructions),
            FirstTierInstructionsRun: firstTierRun,
            BlocksTranslated: Interlocked.Read(ref _blocksTranslated),
            RegionInstructions: Interlocked.Read(ref _regionInstructions),
            TranslationCpuTime: TimeSpan.FromTicks(Interlocked.Read(ref _translationNanoseconds) / 100),
            IlBytes: Interlocked.Read(ref _ilBytes),
            BlocksInvalidated: Cache.BlocksInvalidated,
            CacheFlushes: Cache.Flushes,
            CompileFailures: Interlocked.Read(ref _compileFailures),
            FirstFailure: Volatile.Read(ref _firstFailure),
            RequestsDropped: Interlocked.Read(ref _requestsDropped),
            Dispatches: dispatches,
            JumpCacheMisses: misses,
            ChainedDispatches: chained,
            TranslatedInstructions: translated,
            InterpretedInstructions: interpreted,
            SatpSwitches: switches,
            SatpSwitchesKept: kept,
            FencesAll: fencesAll,
            FencesAsid: fencesAsid,
            FencesPage: fencesPage,
            FencesPageAsid: fencesPageAsid);
    }

    public void Dispose()
    {
        lock (_queue)
        {
            _stopping = true;
            Monitor.PulseAll(_queue);
        }

        _worker?.Join();
    }
}
