using System.Reflection;
using System.Runtime.CompilerServices;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Jit;
using Vessel.Cpu.Riscv.Mmu;
using Vessel.Machine.Memory;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The hart's side of the dynamic translator: the dispatcher that runs translated blocks
/// (falling back to the interpreter for cold code and for the instructions the translator
/// leaves to it), and the members translated code uses.
/// </summary>
public sealed unsafe partial class Hart
{
    private HartTranslation? _translation;

    /// <summary>
    /// Set when a write dropped translated code. Translated code that stored through the slow
    /// path checks it and leaves its block, since the rest of the block may be stale.
    /// </summary>
    private int _translatedCodeWritten;

    /// <summary>
    /// The direct exit (link slot number) through which the last translated block left, or -1
    /// after an indirect jump. Written by translated code; the dispatcher only uses it to pick
    /// a candidate link, which it validates in full, so a stale value costs a lookup, never
    /// correctness.
    /// </summary>
    private int _chainExit = -1;

    /// <summary>This hart's translator state (jump cache, counters), or null under the interpreter.</summary>
    internal HartTranslation? Translation => _translation;

    /// <summary>Makes the hart run through <paramref name="translator"/> from its next slice on (null: interpreter only).</summary>
    internal void SetTranslator(Translator? translator) =>
        _translation = translator is null ? null : new HartTranslation(translator, translator.HartIndexOf(this), TlbBanks, _tlbBank);

    /// <summary>Called when translated code was dropped because its page was written (any thread).</summary>
    internal void NoteTranslatedCodeWritten() => Volatile.Write(ref _translatedCodeWritten, 1);

    /// <summary>
    /// Runs up to <paramref name="budget"/> instructions through translated blocks until the
    /// hart needs attention, an instruction must be interpreted, or a trap is taken; cold code
    /// is interpreted a block at a time while it warms up. A block that left through a direct
    /// exit is chained to its successor through the exit's link slot (no hashing, no address
    /// translation); everything else goes through the jump cache.
    /// </summary>
    private int RunTranslated(int budget)
    {
        HartTranslation jit = _translation!;
        Translator translator = jit.Translator;
        HartState* s = _s;
        int executed = 0;

        // The block that just left through a direct exit (its link slot is a candidate for the
        // next pc); null after anything else (interpreted code, traps, indirect jumps), and at
        // the start of a slice, since Run may have taken an interrupt or a remote request since.
        TranslatedBlock? previous = null;
        while (executed < budget)
        {
            jit.Dispatches++;
            ulong pc = s->Pc;
            TranslatedBlock? block = null;
            ref ExitLink link = ref Unsafe.NullRef<ExitLink>();
            if (previous is not null)
            {
                link = ref previous.LinkSlot(jit.HartIndex, _chainExit);
                if (!Unsafe.IsNullRef(ref link) && link.Pc == pc && link.Generation == jit.LinkGeneration &&
                    link.MmuIndex == _fetchMmuIndex && link.Target is { IsValid: true } target)
                {
                    block = target;
                    jit.ChainedDispatches++;
                }

                previous = null;
            }

            if (block is null)
            {
                block = jit.Lookup(_fetchMmuIndex, pc);
                if (block is null || !block.IsValid)
                {
                    jit.JumpCacheMisses++;
                    block = FindBlock(translator, pc);
                    if (block is null)
                    {
                        return executed + Interpret(1); // a fetch fault: the interpreter takes it
                    }

                    jit.Remember(_fetchMmuIndex, pc, block, _fetchPageGlobal);
                }

                if (!Unsafe.IsNullRef(ref link))
                {
                    // The lookup above ran in the current translation context and TLB
                    // generation: exactly what the link records.
                    link.Pc = pc;
                    link.Generation = jit.LinkGeneration;
                    link.MmuIndex = _fetchMmuIndex;
                    link.Target = block;
                }
            }

            BlockFunction? function = block.Function;
            int result;
            if (function is null)
            {
                int executions = ++block.Executions;
                if (executions > translator.Options.HotThreshold && block.TryMarkQueued())
                {
                    translator.Request(block);
                    function = block.Function; // set already when compiling synchronously
                }

                if (function is null)
                {
                    FirstTierBlock? firstTier = block.FirstTier;
                    if (firstTier is null && executions > translator.Options.FirstTierThreshold && !block.FirstTierTried)
                    {
                        firstTier = translator.BuildFirstTier(block);
                    }

                    if (firstTier is null)
                    {
                        // Cold: interpret up to the next jump, so that the next dispatch is at a block entry.
                        int interpreted = Interpret(budget - executed, stopAtJumps: true);
                        jit.InterpretedInstructions += interpreted;
                        executed += interpreted;
                        if (!MayContinueDispatching())
                        {
                            break;
                        }

                        continue;
                    }

                    result = RunFirstTier(firstTier);
                    jit.FirstTierInstructions += result < 0 ? -result : result & BlockExit.CountMask;
                }
                else
                {
                    result = function(this, s, budget - executed);
                }
            }
            else
            {
                result = function(this, s, budget - executed);
            }
            if (result < 0)
            {
                // A trap inside the block: it retired -result - 1 instructions before the one
                // that trapped, which counts as executed but not retired (as in the interpreter).
                _instret += (ulong)(-result - 1);
                jit.TranslatedInstructions += -result;
                executed -= result;
                if (!MayContinueDispatching())
                {
                    break;
                }

                continue;
            }

            int count = result & BlockExit.CountMask;
            _instret += (ulong)count;
            jit.TranslatedInstructions += count;
            executed += count;
            if ((result & BlockExit.InterpretNextFlag) != 0)
            {
                int interpreted = Interpret(1);
                jit.InterpretedInstructions += interpreted;
                executed += interpreted;
                if (!MayContinueDispatching())
                {
                    break;
                }
            }
            else if (_attention != 0)
            {
                // Checked after every block, chained or not: interrupts and remote requests
                // wait at most one block (whose loops check it too).
                break;
            }
            else
            {
                previous = block;
            }
        }

        return executed;
    }

    /// <summary>
    /// Whether the dispatcher may go on without returning to <see cref="Run"/>: nothing asks for
    /// attention, the hart still runs, and no interrupt is both pending and enabled in mie
    /// (without one, <see cref="Run"/> could not take an interrupt whatever the global enables,
    /// which the interpreted instruction or a trap may have changed).
    /// </summary>
    private bool MayContinueDispatching() =>
        _attention == 0 && RunState == HartRunState.Running && (ReadMip() & _mie) == 0;

    /// <summary>The block for the instruction at virtual address <paramref name="pc"/>, or null on a fetch fault.</summary>
    private TranslatedBlock? FindBlock(Translator translator, ulong pc)
    {
        if ((pc & ~PageOffsetMask) != _fetchVirtualPage && !SetFetchPage(pc))
        {
            return null;
        }

        return translator.Cache.GetOrCreate(_fetchPhysicalPage | (pc & PageOffsetMask));
    }

    /// <summary>
    /// Runs one A-extension instruction for translated code, which stored the registers it
    /// reads in the state and reloads the one it writes. False when it faulted (recorded).
    /// </summary>
    private bool TranslatedAtomic(ulong low, ulong high)
    {
        Instruction instruction = Unpack(low, high);
        return ExecuteAtomic(in instruction);
    }

    /// <summary>Runs one F/D instruction for translated code, as <see cref="TranslatedAtomic"/>.</summary>
    private bool TranslatedFloat(ulong low, ulong high)
    {
        Instruction instruction = Unpack(low, high);
        return ExecuteFloat(in instruction);
    }

    /// <summary>Packs an instruction into two constants that translated code passes back to <see cref="Unpack"/>.</summary>
    internal static (ulong Low, ulong High) Pack(in Instruction instruction)
    {
        ref readonly ulong words = ref Unsafe.As<Instruction, ulong>(ref Unsafe.AsRef(in instruction));
        return (words, Unsafe.Add(ref Unsafe.AsRef(in words), 1));
    }

    private static Instruction Unpack(ulong low, ulong high)
    {
        Instruction instruction = default;
        ref ulong words = ref Unsafe.As<Instruction, ulong>(ref instruction);
        words = low;
        Unsafe.Add(ref words, 1) = high;
        return instruction;
    }

    /// <summary>
    /// The members of <see cref="Hart"/> that translated code reaches. Translated methods are
    /// <see cref="System.Reflection.Emit.DynamicMethod"/>s owned by <see cref="Hart"/>, so they
    /// may use its private state directly, as the interpreter does.
    /// </summary>
    internal static class TranslatedCode
    {
        private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic;
        private const BindingFlags Static = BindingFlags.Static | BindingFlags.NonPublic;

        /// <summary>Shift that turns an address into a byte offset of its TLB entry (once masked).</summary>
        public const int TlbEntryShift = GuestMemory.PageShift - 4;

        /// <summary>Mask of the TLB entry's byte offset within its table.</summary>
        public const long TlbEntryOffsetMask = TlbMask << 4;

        /// <summary>Mask that keeps the page of an address (the tag compare also keeps the low bits the access size must not have).</summary>
        public const long PageMask = unchecked((long)~PageOffsetMask);

        public static readonly FieldInfo Attention = typeof(Hart).GetField(nameof(_attention), Instance)!;
        public static readonly FieldInfo LoadTable = typeof(Hart).GetField(nameof(_tlbLoad), Instance)!;
        public static readonly FieldInfo StoreTable = typeof(Hart).GetField(nameof(_tlbStore), Instance)!;
        public static readonly FieldInfo CodeWritten = typeof(Hart).GetField(nameof(_translatedCodeWritten), Instance)!;
        public static readonly FieldInfo ChainExit = typeof(Hart).GetField(nameof(_chainExit), Instance)!;
        public static readonly MethodInfo LoadSlow = typeof(Hart).GetMethod(nameof(Hart.LoadSlow), Instance)!;
        public static readonly MethodInfo StoreSlow = typeof(Hart).GetMethod(nameof(Hart.StoreSlow), Instance)!;
        public static readonly MethodInfo RaisePendingFault = typeof(Hart).GetMethod(nameof(Hart.RaisePendingFault), Instance)!;
        public static readonly MethodInfo Atomic = typeof(Hart).GetMethod(nameof(Hart.TranslatedAtomic), Instance)!;
        public static readonly MethodInfo Float = typeof(Hart).GetMethod(nameof(Hart.TranslatedFloat), Instance)!;

        public static readonly int PcOffset = (int)System.Runtime.InteropServices.Marshal.OffsetOf<HartState>(nameof(HartState.Pc));

        static TranslatedCode()
        {
            // The emitted TLB lookup scales the index by shifting: entries must stay 16 bytes;
            // helper instructions travel as two 64-bit constants.
            if (sizeof(TlbEntry) != 16 || System.Runtime.InteropServices.Marshal.OffsetOf<TlbEntry>(nameof(TlbEntry.Addend)) != 8 ||
                sizeof(Instruction) != 16)
            {
                throw new InvalidOperationException("TlbEntry's layout changed; update the translator's TLB lookup.");
            }
        }
    }
}
