using Vessel.Machine.Bus;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Timing;
using Vessel.Machine.Persistence;

namespace Vessel.Machine.Devices;

/// <summary>
/// The SiFive CLINT of the <c>virt</c> board (QEMU maps it as an ACLINT MSWI at 0x0000 and
/// MTIMER at 0x4000): <c>msip</c> at 4*hart drives the hart's MSIP pin, <c>mtimecmp</c> at
/// 0x4000 + 8*hart and <c>mtime</c> at 0xbff8 drive MTIP. 32- and 64-bit accesses work on
/// every register (narrower ones see a slice).
/// </summary>
/// <remarks>
/// <c>mtime</c> is the machine's <see cref="VirtualClock"/> plus an offset that only changes
/// when the guest writes <c>mtime</c>; the CPU's <c>time</c> CSR must read
/// <see cref="ReadTime"/> so both agree. MTIP is re-evaluated at once when <c>mtimecmp</c> or
/// <c>mtime</c> is written; as time passes the hart loop calls <see cref="UpdateTimer"/>, which
/// also says when the next change is due, so an idle hart can sleep until then.
/// </remarks>
public sealed class Clint : IMmioDevice, IPersistent<ClintState>
{
    /// <summary>The size of the register window on <c>virt</c>.</summary>
    public const ulong WindowSize = 0x1_0000;

    private const ulong MtimecmpBase = 0x4000;
    private const ulong MtimeOffset = 0xbff8;

    private readonly object _gate = new();
    private readonly VirtualClock _clock;
    private readonly IReadOnlyList<IHartInterruptPins> _harts;
    private readonly ulong[] _timeCompare;
    private readonly bool[] _msip;
    private readonly bool[] _mtip;
    private ulong _timeOffset;

    public Clint(VirtualClock clock, IReadOnlyList<IHartInterruptPins> harts)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(harts);
        if (harts.Count == 0 || harts.Count > (int)((MtimeOffset - MtimecmpBase) / 8))
        {
            throw new ArgumentException("A CLINT serves between 1 and 4095 harts.", nameof(harts));
        }

        _clock = clock;
        _harts = harts;
        _timeCompare = new ulong[harts.Count];
        _msip = new bool[harts.Count];
        _mtip = new bool[harts.Count];
        lock (_gate)
        {
            ResetLocked();
        }
    }

    public int HartCount => _harts.Count;

    /// <summary>The current <c>mtime</c> (what the <c>time</c> CSR reads).</summary>
    public ulong ReadTime() => _clock.Now + Volatile.Read(ref _timeOffset);

    public ulong GetTimeCompare(int hart)
    {
        CheckHart(hart);
        lock (_gate)
        {
            return _timeCompare[hart];
        }
    }

    /// <summary>Sets <c>mtimecmp</c> of <paramref name="hart"/> (the built-in SBI's set_timer) and updates MTIP at once.</summary>
    public void SetTimeCompare(int hart, ulong value)
    {
        CheckHart(hart);
        lock (_gate)
        {
            _timeCompare[hart] = value;
            EvaluateTimer(hart, ReadTime(), force: false);
        }
    }

    /// <summary>
    /// Re-evaluates MTIP of <paramref name="hart"/> against the clock, sets or clears the pin,
    /// and returns the <c>mtime</c> value at which the pin would next change by the passing of
    /// time (<see cref="ulong.MaxValue"/> when never: MTIP is already set). The wait in clock
    /// ticks is the returned value minus <see cref="ReadTime"/>.
    /// </summary>
    public ulong UpdateTimer(int hart)
    {
        CheckHart(hart);
        lock (_gate)
        {
            return EvaluateTimer(hart, ReadTime(), force: false);
        }
    }

    public ulong Read(ulong offset, int size)
    {
        lock (_gate)
        {
            if (offset >= MtimecmpBase && offset < MtimecmpBase + 8 * (ulong)_harts.Count)
            {
                int hart = (int)((offset - MtimecmpBase) / 8);
                return SliceOf(_timeCompare[hart], (int)((offset - MtimecmpBase) % 8), size);
            }

            if (offset >= MtimeOffset && offset < MtimeOffset + 8)
            {
                return SliceOf(ReadTime(), (int)(offset - MtimeOffset), size);
            }

            if (offset < 4 * (ulong)_harts.Count)
            {
                int hart = (int)(offset / 4);
                int byteOffset = (int)(offset % 4);
                if (size == 8 && byteOffset == 0)
                {
                    ulong high = hart + 1 < _harts.Count && _msip[hart + 1] ? 1UL : 0;
                    return (_msip[hart] ? 1UL : 0) | (high << 32);
                }

                return byteOffset + size <= 4 ? MmioAccess.Slice(_msip[hart] ? 1UL : 0, byteOffset, size) : 0;
            }

            return 0;
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        lock (_gate)
        {
            if (offset >= MtimecmpBase && offset < MtimecmpBase + 8 * (ulong)_harts.Count)
            {
                int hart = (int)((offset - MtimecmpBase) / 8);
                int byteOffset = (int)((offset - MtimecmpBase) % 8);
                if (byteOffset + size <= 8)
                {
                    // A 32-bit write replaces one half; the other half is kept, as on hardware.
                    _timeCompare[hart] = MmioAccess.Merge(_timeCompare[hart], byteOffset, size, value);
                    EvaluateTimer(hart, ReadTime(), force: false);
                }

                return;
            }

            if (offset >= MtimeOffset && offset < MtimeOffset + 8)
            {
                int byteOffset = (int)(offset - MtimeOffset);
                if (byteOffset + size <= 8)
                {
                    ulong now = _clock.Now;
                    ulong newTime = MmioAccess.Merge(now + _timeOffset, byteOffset, size, value);
                    Volatile.Write(ref _timeOffset, newTime - now);
                    for (int hart = 0; hart < _harts.Count; hart++)
                    {
                        EvaluateTimer(hart, newTime, force: false);
                    }
                }

                return;
            }

            if (offset < 4 * (ulong)_harts.Count)
            {
                int hart = (int)(offset / 4);
                int byteOffset = (int)(offset % 4);
                if (byteOffset == 0)
                {
                    SetSoftwareInterrupt(hart, (value & 1) != 0, force: false);
                    if (size == 8 && hart + 1 < _harts.Count)
                    {
                        SetSoftwareInterrupt(hart + 1, ((value >> 32) & 1) != 0, force: false);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The power-on state: no software interrupts, <c>mtime</c> following the clock and every
    /// <c>mtimecmp</c> at its maximum (the specification leaves it unknown; the maximum keeps
    /// MTIP low until firmware programs a deadline).
    /// </summary>
    public void Reset()
    {
        lock (_gate)
        {
            ResetLocked();
        }
    }

    public ClintState SaveState()
    {
        lock (_gate)
        {
            return new ClintState
            {
                TimeOffset = _timeOffset,
                TimeCompare = (ulong[])_timeCompare.Clone(),
                SoftwareInterrupt = (bool[])_msip.Clone(),
            };
        }
    }

    public void RestoreState(ClintState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.TimeCompare.Length != _harts.Count || state.SoftwareInterrupt.Length != _harts.Count)
        {
            throw new ArgumentException($"The saved CLINT state is for {state.TimeCompare.Length} harts, this CLINT has {_harts.Count}.", nameof(state));
        }

        lock (_gate)
        {
            Volatile.Write(ref _timeOffset, state.TimeOffset);
            state.TimeCompare.CopyTo(_timeCompare, 0);
            ulong now = ReadTime();
            for (int hart = 0; hart < _harts.Count; hart++)
            {
                SetSoftwareInterrupt(hart, state.SoftwareInterrupt[hart], force: true);
                EvaluateTimer(hart, now, force: true);
            }
        }
    }

    private static ulong SliceOf(ulong register, int byteOffset, int size) =>
        byteOffset + size <= 8 ? MmioAccess.Slice(register, byteOffset, size) : 0;

    private void ResetLocked()
    {
        Volatile.Write(ref _timeOffset, 0);
        Array.Fill(_timeCompare, ulong.MaxValue);
        ulong now = ReadTime();
        for (int hart = 0; hart < _harts.Count; hart++)
        {
            SetSoftwareInterrupt(hart, false, force: true);
            EvaluateTimer(hart, now, force: true);
        }
    }

    private ulong EvaluateTimer(int hart, ulong now, bool force)
    {
        bool level = now >= _timeCompare[hart];
        if (force || level != _mtip[hart])
        {
            _mtip[hart] = level;
            _harts[hart].SetPin(RiscvInterruptBits.MachineTimer, level);
        }

        return level ? ulong.MaxValue : _timeCompare[hart];
    }

    private void SetSoftwareInterrupt(int hart, bool level, bool force)
    {
        if (force || level != _msip[hart])
        {
            _msip[hart] = level;
            _harts[hart].SetPin(RiscvInterruptBits.MachineSoftware, level);
        }
    }

    private void CheckHart(int hart)
    {
        if ((uint)hart >= (uint)_harts.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(hart), $"Hart {hart} does not exist; this CLINT serves harts 0 to {_harts.Count - 1}.");
        }
    }
}
