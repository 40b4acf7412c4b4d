using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Sbi;
using Vessel.Machine.Bus;
using Vessel.Machine.Memory;
using Vessel.Machine.Timing;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The RISC-V processor of one machine: its harts and what they share — guest RAM, the MMIO
/// bus, the time base, the decode cache and, when no firmware file is used, the built-in SBI.
/// </summary>
public sealed class RiscvProcessor : IDisposable
{
    private readonly Hart[] _harts;
    private readonly AutoResetEvent _activity = new(false);
    private ExecutionEngine _engine = ExecutionEngine.Interpreter;

    public RiscvProcessor(GuestMemory memory, MmioBus bus, VirtualClock clock, int hartCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hartCount, 1);
        Memory = memory;
        Bus = bus;
        Clock = clock;
        DecodeCache = new DecodeCache(memory, OnPageBecameCode);
        ReadTime = () => clock.Now;
        _harts = new Hart[hartCount];
        for (int i = 0; i < hartCount; i++)
        {
            _harts[i] = new Hart(this, i);
        }
    }

    public GuestMemory Memory { get; }

    public MmioBus Bus { get; }

    public VirtualClock Clock { get; }

    public DecodeCache DecodeCache { get; }

    /// <summary>What the <c>time</c> CSR reads: the board sets it to the CLINT's <c>mtime</c>.</summary>
    public Func<ulong> ReadTime { get; set; }

    public IReadOnlyList<Hart> Harts => _harts;

    /// <summary>Which engine runs guest code; set before the first instruction.</summary>
    public ExecutionEngine Engine
    {
        get => _engine;
        set
        {
            _engine = value;
            // The deterministic mode compiles on the hart's thread, so which code is translated
            // when depends only on what the harts executed.
            TranslatorOptions options = TranslatorOptions.FromEnvironment();
            UseTranslator(value != ExecutionEngine.Jit ? null : Clock.CountsInstructions ? options with { Background = false } : options);
        }
    }

    /// <summary>The dynamic translator's statistics, when the engine is <see cref="ExecutionEngine.Jit"/>.</summary>
    public TranslatorStatistics? TranslatorStatistics => Translator?.GetStatistics();

    /// <summary>The dynamic translator, when the engine is <see cref="ExecutionEngine.Jit"/>.</summary>
    internal Translator? Translator { get; private set; }

    /// <summary>Runs the harts through a translator with <paramref name="options"/>, or interprets only (null).</summary>
    internal void UseTranslator(TranslatorOptions? options)
    {
        Translator?.Dispose();
        Translator = options is null ? null : new Translator(Memory, DecodeCache, _harts, options);
        DecodeCache.PageInvalidated = Translator is null ? null : Translator.OnPageInvalidated;
        foreach (Hart hart in _harts)
        {
            hart.SetTranslator(Translator);
        }
    }

    /// <summary>The built-in SBI, when the machine boots without a firmware file.</summary>
    public BuiltinSbi? Firmware { get; private set; }

    /// <summary>Whether S-mode ecalls are served by <see cref="Firmware"/> instead of trapping to M-mode.</summary>
    public bool BuiltinFirmware => Firmware is not null;

    /// <summary>Signalled whenever a hart may have become runnable (interrupt pins, IPIs).</summary>
    public WaitHandle Activity => _activity;

    /// <summary>
    /// Installs the built-in SBI and prepares every hart as OpenSBI would leave it: delegation
    /// configured, hart 0 about to enter the kernel, the others stopped until HSM starts them.
    /// </summary>
    public void UseBuiltinFirmware(IFirmwarePlatform platform)
    {
        Firmware = new BuiltinSbi(this, platform);
        foreach (Hart hart in _harts)
        {
            hart.ConfigureForBuiltinFirmware();
        }
    }

    internal void NotifyActivity() => _activity.Set();

    /// <summary>
    /// With every hart parked: makes each hart's next store to any page take the slow path, where
    /// it is recorded in guest RAM's dirty log (called when logging starts and each time its bits
    /// are taken).
    /// </summary>
    public void DropFastStorePaths()
    {
        foreach (Hart hart in _harts)
        {
            hart.FlushStoreTlbWhileParked();
        }
    }

    /// <summary>
    /// With every hart parked, after guest RAM was replaced (a restore, a power cycle): forgets
    /// every decoded and translated instruction, so code is decoded afresh from the new contents.
    /// The harts' own translations are rebuilt when their state is restored or reset.
    /// </summary>
    public void ForgetCode() => DecodeCache.Clear();

    /// <summary>
    /// With every hart parked: forgets everything derived from guest state (decoded and
    /// translated code with its hotness counters, TLBs and their history), so that execution goes
    /// on exactly as it does in a process that has just restored this state. The deterministic
    /// mode does this whenever its state is saved.
    /// </summary>
    public void ResetDerivedState()
    {
        DecodeCache.Clear();
        Translator?.Cache.Flush();
        foreach (Hart hart in _harts)
        {
            hart.ForgetCachedTranslations();
        }
    }

    /// <summary>
    /// Whether <see cref="HartScheduler"/> runs every hart on a host thread of its own (the
    /// default, false, runs them round robin on one thread, deterministically); the CLI's
    /// <c>--cpu-threads multi</c>.
    /// </summary>
    public bool ThreadPerHart { get; set; }

    private void OnPageBecameCode(ulong physicalPage)
    {
        // Every hart may hold a fast store entry for the page; drop them so stores to it are
        // seen by the decode cache. A hart on another thread must have dropped them before the
        // page is decoded, or a store it makes meanwhile would leave stale code behind; it
        // drops all its store entries, which is rare enough (a page becomes code once).
        Hart? self = null;
        foreach (Hart hart in _harts)
        {
            if (!hart.RunsOnAnotherThread)
            {
                hart.DropStoreEntriesFor(physicalPage);
                self ??= hart.OwnerThreadId != 0 ? hart : null;
            }
        }

        foreach (Hart hart in _harts)
        {
            if (hart.RunsOnAnotherThread)
            {
                hart.WaitForStoreFlush(hart.PostStoreFlush(), self);
            }
        }
    }

    /// <summary>
    /// An SBI remote fence from <paramref name="caller"/>: <paramref name="target"/> performs
    /// <paramref name="request"/> before its next instruction and, when it runs on another
    /// thread, before this call returns, as the SBI specification requires.
    /// </summary>
    internal void RemoteFence(Hart caller, Hart target, RemoteRequest request)
    {
        long sequence = target.PostTrackedRequest(request);
        if (target != caller && target.RunsOnAnotherThread)
        {
            target.WaitForRequest(sequence, caller);
        }
    }

    public void Dispose()
    {
        if (Translator is not null)
        {
            if (Environment.GetEnvironmentVariable("VESSEL_STATS") == "1")
            {
                Console.Error.WriteLine($"vessel: {Translator.GetStatistics()}");
                Console.Error.WriteLine(
                    $"vessel: GC: {GC.CollectionCount(0)} gen0, {GC.CollectionCount(1)} gen1, {GC.CollectionCount(2)} gen2 collections, " +
                    $"{GC.GetTotalPauseDuration().TotalSeconds:F2} s paused, {GC.GetTotalAllocatedBytes() / (1024 * 1024):N0} MiB allocated; " +
                    $"process CPU {System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F2} s");
            }

            Translator.Dispose();
        }

        foreach (Hart hart in _harts)
        {
            hart.Dispose();
        }

        _activity.Dispose();
    }
}
