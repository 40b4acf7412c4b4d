using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Mmu;
using Vessel.Machine.Bus;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Memory;
using Vessel.Machine.Timing;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// One RISC-V hardware thread (RV64GC, privileged architecture 1.12 with M, S and U modes,
/// Sv39/Sv48). This file holds the hart's state and its run loop; the other parts of the
/// class are split by concern: <c>Hart.Execute.cs</c> (the interpreter), <c>Hart.Memory.cs</c>
/// (loads, stores and the software TLB), <c>Hart.PageWalk.cs</c>, <c>Hart.Csr.cs</c>,
/// <c>Hart.Traps.cs</c>, <c>Hart.Float.cs</c> and <c>Hart.Atomics.cs</c>.
/// </summary>
/// <remarks>
/// A hart is driven by one host thread at a time (<see cref="Run"/>); other threads may only
/// set its interrupt pins (<see cref="SetPin"/>) and request cross-hart work through the
/// methods documented as thread-safe.
/// </remarks>
public sealed unsafe partial class Hart : IHartInterruptPins, IDisposable
{
    private readonly RiscvProcessor _processor;
    private readonly GuestMemory _memory;
    private readonly MmioBus _bus;
    private readonly VirtualClock _clock;
    private readonly DecodeCache _decodeCache;

    private HartState* _s;

    /// <summary>Set by other threads when something needs the run loop's attention (pins, remote fences).</summary>
    private volatile int _attention;

    /// <summary>Remote requests (flush TLB, fence.i) posted by other harts; see <see cref="RemoteRequest"/>.</summary>
    private int _remoteRequests;

    private ManualResetEventSlim _wakeup = new(false);

    /// <summary>Set by <see cref="RequestYield"/>: <see cref="Run"/> returns at its next look at <see cref="_attention"/>.</summary>
    private volatile bool _yieldRequested;

    internal Hart(RiscvProcessor processor, int hartId)
    {
        _processor = processor;
        _memory = processor.Memory;
        _bus = processor.Bus;
        _clock = processor.Clock;
        _decodeCache = processor.DecodeCache;
        HartId = hartId;

        // Safe: the allocation is owned by this hart, zeroed, and freed only in Dispose after the
        // run loop has stopped.
        _s = (HartState*)NativeMemory.AlignedAlloc((nuint)sizeof(HartState), 64);
        *_s = default;
        _tlbBanks = (TlbEntry*)NativeMemory.AlignedAlloc((nuint)(sizeof(TlbEntry) * TlbTotalEntries * TlbBanks), 64);
        FlushTlb();
        Reset(0);
    }

    /// <summary>The value of <c>mhartid</c>.</summary>
    public int HartId { get; }

    /// <summary>The current privilege mode.</summary>
    public PrivilegeLevel Privilege => _privilege;

    /// <summary>Whether the hart is running, waiting in <c>wfi</c>, or stopped (HSM).</summary>
    public HartRunState RunState { get; internal set; } = HartRunState.Running;

    /// <summary>Retired instructions (<c>minstret</c>).</summary>
    public ulong InstructionsRetired => _instret;

    /// <summary>The program counter.</summary>
    public ulong Pc
    {
        get => _s->Pc;
        set => _s->Pc = value;
    }

    /// <summary>Raw access to the native register block, for translated code.</summary>
    public HartState* State => _s;

    /// <summary>Reads integer register <paramref name="index"/> (0..31).</summary>
    public ulong GetRegister(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)index, 31u, nameof(index));
        return _s->X[index];
    }

    /// <summary>Writes integer register <paramref name="index"/> (writes to x0 are ignored).</summary>
    public void SetRegister(int index, ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)index, 31u, nameof(index));
        if (index != 0)
        {
            _s->X[index] = value;
        }
    }

    /// <summary>Reads the raw bits of FP register <paramref name="index"/>.</summary>
    public ulong GetFloatRegister(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)index, 31u, nameof(index));
        return _s->F[index];
    }

    /// <summary>Writes the raw bits of FP register <paramref name="index"/>.</summary>
    public void SetFloatRegister(int index, ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)index, 31u, nameof(index));
        _s->F[index] = value;
    }

    /// <summary>
    /// Puts the hart in its reset state: M-mode at <paramref name="pc"/>, interrupts off,
    /// translation off.
    /// </summary>
    public void Reset(ulong pc)
    {
        for (int i = 0; i < HartState.IntegerSlots; i++)
        {
            _s->X[i] = 0;
        }

        for (int i = 0; i < 32; i++)
        {
            _s->F[i] = 0;
        }

        _s->Pc = pc;
        _privilege = PrivilegeLevel.Machine;
        _mstatus = MstatusUxl | MstatusSxl;
        _medeleg = _mideleg = _mie = 0;
        Volatile.Write(ref _mipSoftware, 0);
        _mtvec = _mscratch = _mepc = _mcause = _mtval = 0;
        _stvec = _sscratch = _sepc = _scause = _stval = 0;
        _mcounteren = _scounteren = _mcountinhibit = 0;
        _menvcfg = _senvcfg = 0;
        _satp = 0;
        _fflags = 0;
        _frm = 0;
        Array.Clear(_pmpcfg);
        Array.Clear(_pmpaddr);
        _reservationValid = false;
        RunState = HartRunState.Running;
        FlushTlb();
        UpdateMmuContext();
    }

    /// <summary>
    /// Runs up to <paramref name="budget"/> instructions, taking interrupts between blocks of
    /// instructions. Returns the number of instructions retired (or attempted). Returns early when
    /// the hart stops or starts waiting for an interrupt.
    /// </summary>
    public int Run(int budget)
    {
        int executed = 0;
        while (executed < budget)
        {
            if (_attention != 0)
            {
                ServiceAttention();
                if (_yieldRequested)
                {
                    _yieldRequested = false;
                    break;
                }
            }

            if (RunState != HartRunState.Running)
            {
                if (RunState == HartRunState.WaitingForInterrupt && InterruptPendingForWakeup())
                {
                    RunState = HartRunState.Running;
                }
                else
                {
                    break;
                }
            }

            if (TryTakeInterrupt())
            {
                continue;
            }

            executed += _translation is null ? Interpret(budget - executed) : RunTranslated(budget - executed);
        }

        return executed;
    }

    /// <summary>
    /// Sets or clears one of the hart's interrupt inputs (a <c>mip</c> bit driven by the CLINT or
    /// the PLIC). Thread-safe; wakes the hart if it waits in <c>wfi</c>.
    /// </summary>
    public void SetPin(int mipBit, bool level)
    {
        if (_processor.BuiltinFirmware && mipBit == RiscvInterruptBits.MachineTimer)
        {
            // With the built-in SBI the firmware's timer is the supervisor timer: the CLINT's
            // comparator, programmed through sbi_set_timer, drives STIP directly.
            mipBit = RiscvInterruptBits.SupervisorTimer;
        }

        long mask = 1L << mipBit;
        long old = level ? Interlocked.Or(ref _mipPins, mask) : Interlocked.And(ref _mipPins, ~mask);
        if (((old & mask) != 0) != level)
        {
            _attention = 1;
            if (level)
            {
                _wakeup.Set();
                _processor.NotifyActivity();
            }
        }
    }

    /// <summary>
    /// Makes <see cref="Run"/> return soon (at the next jump or block exit), from any thread, and
    /// wakes the hart if it sleeps: how the scheduler parks every hart quickly to pause the machine.
    /// </summary>
    public void RequestYield()
    {
        _yieldRequested = true;
        _attention = 1;
        _wakeup.Set();
        _processor.NotifyActivity();
    }

    /// <summary>Forgets a yield asked for while the hart did not run (it is parked now), so that its next slice runs whole.</summary>
    internal void ClearYieldRequest() => _yieldRequested = false;

    /// <summary>Asks the hart, from any thread, to perform <paramref name="request"/> before its next instruction.</summary>
    public void PostRemoteRequest(RemoteRequest request) => PostTrackedRequest(request);

    /// <summary>Signalled when the hart may have work to do; for schedulers that sleep.</summary>
    public WaitHandle WakeupHandle => _wakeup.WaitHandle;

    /// <summary>Whether a pending interrupt would end a <c>wfi</c> (pending and enabled in mie, whatever the global enables).</summary>
    public bool InterruptPendingForWakeup() => (ReadMip() & _mie) != 0;

    private void ServiceAttention()
    {
        _attention = 0;
        _wakeup.Reset();
        ServiceStoreFlushRequests();
        long posted = Volatile.Read(ref _requestsPosted);
        int requests = Interlocked.Exchange(ref _remoteRequests, 0);
        if ((requests & (int)RemoteRequest.FlushTlb) != 0)
        {
            FlushTlb();
        }

        if ((requests & (int)RemoteRequest.FenceI) != 0)
        {
            InvalidateFetchPage();
        }

        if ((requests & (int)RemoteRequest.FlushWriteTlb) != 0)
        {
            FlushStoreTlb();
        }

        Volatile.Write(ref _requestsServiced, posted);
    }

    /// <summary>A one-line summary of the hart's control state, for diagnostics.</summary>
    public string DescribeState() =>
        $"hart {HartId}: {RunState} {_privilege} pc={_s->Pc:x} mstatus={ReadMstatus():x} mip={ReadMip():x} mie={_mie:x} " +
        $"mideleg={_mideleg:x} satp={_satp:x} sepc={_sepc:x} scause={_scause:x} stvec={_stvec:x} instret={_instret}";

    public void Dispose()
    {
        if (_s != null)
        {
            NativeMemory.AlignedFree(_s);
            _s = null;
            NativeMemory.AlignedFree(_tlbBanks);
            _tlbBanks = null;
            _tlb = null;
            _wakeup.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SignExtend32(ulong value) => (ulong)(long)(int)value;
}

/// <summary>What a hart is doing, for the scheduler and the SBI HSM extension.</summary>
public enum HartRunState
{
    Running,
    WaitingForInterrupt,
    Stopped,
}

/// <summary>Work one hart asks another to do (SBI RFENCE, code invalidation).</summary>
[Flags]
public enum RemoteRequest
{
    None = 0,
    FlushTlb = 1,
    FenceI = 2,
    FlushWriteTlb = 4,
}
