using Vessel.Machine.Bus;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Persistence;

namespace Vessel.Machine.Devices;

/// <summary>
/// A 16550A UART as QEMU emulates it on the <c>virt</c> board (8 one-byte registers, reg-shift
/// 0, 3.6864 MHz clock): 16-byte receive FIFO with trigger levels, the character-timeout
/// interrupt, the THR-empty interrupt with the edge behaviour Linux's 8250 driver tests for,
/// loopback and the modem status register. Transmission is instantaneous (no baud-rate
/// pacing), so the transmitter is always empty again by the time the guest's THR write
/// returns, as in QEMU.
/// </summary>
/// <remarks>
/// Input arrives from the host through <see cref="EnqueueInput"/> into a bounded host-side
/// queue that feeds the receive FIFO as the guest drains it, using QEMU's flow rule: fill the
/// FIFO up to the trigger level, then one byte at a time. All entry points take one lock; the
/// interrupt line, the transmit callback and the receive-timeout timer are driven under it.
/// </remarks>
public sealed class Uart16550 : IMmioDevice, IPersistent<Uart16550State>, IDisposable
{
    /// <summary>The input clock of the <c>virt</c> board's UART (the FDT's clock-frequency).</summary>
    public const uint ClockFrequency = 3_686_400;

    /// <summary>The size of the host-side input queue in front of the receive FIFO.</summary>
    public const int HostInputCapacity = 4096;

    private const int FifoSize = 16;

    // Register offsets.
    private const int RegData = 0;       // RBR / THR / DLL
    private const int RegIer = 1;        // IER / DLM
    private const int RegIirFcr = 2;
    private const int RegLcr = 3;
    private const int RegMcr = 4;
    private const int RegLsr = 5;
    private const int RegMsr = 6;
    private const int RegScr = 7;

    private const byte LcrDlab = 0x80;

    private const byte IerReceivedData = 0x01;
    private const byte IerTransmitEmpty = 0x02;
    private const byte IerLineStatus = 0x04;
    private const byte IerModemStatus = 0x08;

    private const byte IirNoInterrupt = 0x01;
    private const byte IirIdMask = 0x06;
    private const byte IirModemStatus = 0x00;
    private const byte IirTransmitEmpty = 0x02;
    private const byte IirReceivedData = 0x04;
    private const byte IirLineStatus = 0x06;
    private const byte IirCharacterTimeout = 0x0c;
    private const byte IirFifoEnabled = 0xc0;

    private const byte FcrEnable = 0x01;
    private const byte FcrClearReceive = 0x02;
    private const byte FcrClearTransmit = 0x04;
    private const byte FcrStickyBits = 0xc9; // trigger level, DMA mode, enable

    private const byte McrLoopback = 0x10;
    private const byte McrOut2 = 0x08;

    private const byte LsrDataReady = 0x01;
    private const byte LsrOverrun = 0x02;
    private const byte LsrBreak = 0x10;
    private const byte LsrInterruptCauses = 0x1e; // overrun, parity, framing, break
    private const byte LsrTransmitHoldingEmpty = 0x20;
    private const byte LsrTransmitterEmpty = 0x40;

    private const byte MsrAnyDelta = 0x0f;
    private const byte MsrCts = 0x10;
    private const byte MsrDsr = 0x20;
    private const byte MsrDcd = 0x80;

    private readonly object _gate = new();
    private readonly IInterruptLine _irq;
    private readonly Action<byte> _transmit;
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _timeoutTimer;
    private readonly ByteFifo _receiveFifo = new(FifoSize);
    private readonly ByteFifo _hostInput = new(HostInputCapacity);

    private ushort _divisor;
    private byte _rbr;
    private byte _ier;
    private byte _iir;
    private byte _fcr;
    private byte _lcr;
    private byte _mcr;
    private byte _lsr;
    private byte _msr;
    private byte _scr;
    private bool _thrPending;
    private bool _timeoutPending;
    private int _triggerLevel;
    private long _charTimeNanoseconds;

    private bool _timeoutArmed;
    private long _timeoutDeadline;

    private bool _irqLevel;
    private bool _hostWriterBlocked;
    private bool _disposed;

    /// <param name="irq">The interrupt line (PLIC source 10 on <c>virt</c>).</param>
    /// <param name="transmit">Receives each byte the guest sends, in order, on the guest's thread.</param>
    /// <param name="timeProvider">The clock of the receive timeout; the system clock by default.</param>
    public Uart16550(IInterruptLine irq, Action<byte> transmit, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(irq);
        ArgumentNullException.ThrowIfNull(transmit);
        _irq = irq;
        _transmit = transmit;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _timeoutTimer = _timeProvider.CreateTimer(OnReceiveTimeout, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            ResetLocked();
            DriveIrq(force: true);
        }
    }

    /// <summary>
    /// Raised (outside the device lock, on the guest's thread) when room has appeared in the
    /// host input queue after an <see cref="EnqueueInput"/> call could not take all of its
    /// bytes. It can fire before the console starts waiting, so wait on a signal that
    /// remembers (a semaphore or an auto-reset event).
    /// </summary>
    public event Action? InputSpaceAvailable;

    /// <summary>Bytes waiting in the host input queue (not yet in the guest-visible FIFO).</summary>
    public int PendingHostInput
    {
        get
        {
            lock (_gate)
            {
                return _hostInput.Count;
            }
        }
    }

    /// <summary>
    /// Queues bytes typed on the host console for the guest; returns how many were accepted
    /// (fewer than offered when the host queue is full: wait for <see cref="InputSpaceAvailable"/>).
    /// </summary>
    public int EnqueueInput(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            int accepted = _hostInput.PushMany(data);
            FeedFromHostLocked();
            if (accepted < data.Length)
            {
                accepted += _hostInput.PushMany(data[accepted..]);
            }

            if (accepted < data.Length)
            {
                _hostWriterBlocked = true;
            }

            return accepted;
        }
    }

    public ulong Read(ulong offset, int size)
    {
        if (offset >= 8)
        {
            return 0;
        }

        bool notify = false;
        byte value;
        lock (_gate)
        {
            value = ReadRegisterLocked((int)offset, ref notify);
        }

        if (notify)
        {
            InputSpaceAvailable?.Invoke();
        }

        return value;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset >= 8)
        {
            return;
        }

        bool notify = false;
        lock (_gate)
        {
            WriteRegisterLocked((int)offset, (byte)value, ref notify);
        }

        if (notify)
        {
            InputSpaceAvailable?.Invoke();
        }
    }

    /// <summary>Puts the UART in its power-on state (the host input queue is kept).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            ResetLocked();
            DriveIrq(force: true);
        }
    }

    public Uart16550State SaveState()
    {
        lock (_gate)
        {
            return new Uart16550State
            {
                Divisor = _divisor,
                ReceiveBuffer = _rbr,
                InterruptEnable = _ier,
                InterruptIdentification = _iir,
                FifoControl = _fcr,
                LineControl = _lcr,
                ModemControl = _mcr,
                LineStatus = _lsr,
                ModemStatus = _msr,
                Scratch = _scr,
                TransmitInterruptPending = _thrPending,
                TimeoutInterruptPending = _timeoutPending,
                ReceiveTimeoutArmed = _timeoutArmed,
                ReceiveFifo = _receiveFifo.ToArray(),
            };
        }
    }

    public void RestoreState(Uart16550State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.ReceiveFifo.Length > FifoSize)
        {
            throw new ArgumentException($"A 16550 receive FIFO holds at most {FifoSize} bytes, the saved state has {state.ReceiveFifo.Length}.", nameof(state));
        }

        lock (_gate)
        {
            _divisor = state.Divisor;
            _rbr = state.ReceiveBuffer;
            _ier = (byte)(state.InterruptEnable & 0x0f);
            _iir = state.InterruptIdentification;
            _lcr = state.LineControl;
            _mcr = (byte)(state.ModemControl & 0x1f);
            _lsr = state.LineStatus;
            _msr = state.ModemStatus;
            _scr = state.Scratch;
            _thrPending = state.TransmitInterruptPending;
            _timeoutPending = state.TimeoutInterruptPending;
            _receiveFifo.Load(state.ReceiveFifo);
            ApplyFifoControl(state.FifoControl);
            _charTimeNanoseconds = DefaultCharTimeNanoseconds;
            UpdateLineParameters();
            if (state.ReceiveTimeoutArmed)
            {
                ArmReceiveTimeout();
            }
            else
            {
                DisarmReceiveTimeout();
            }

            UpdateInterrupt();
            DriveIrq(force: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timeoutArmed = false;
        }

        _timeoutTimer.Dispose();
    }

    // 9600 baud, 8N1: the line setting after reset.
    private static long DefaultCharTimeNanoseconds => 1_000_000_000L / 9600 * 10;

    private bool FifoEnabled => (_fcr & FcrEnable) != 0;

    private bool Loopback => (_mcr & McrLoopback) != 0;

    private byte ReadRegisterLocked(int register, ref bool notify)
    {
        switch (register)
        {
            case RegData:
                if ((_lcr & LcrDlab) != 0)
                {
                    return (byte)_divisor;
                }

                return ReadReceiveBufferLocked(ref notify);

            case RegIer:
                return (_lcr & LcrDlab) != 0 ? (byte)(_divisor >> 8) : _ier;

            case RegIirFcr:
            {
                byte iir = _iir;
                // Reading IIR while it reports THR-empty acknowledges that interrupt.
                if ((iir & IirIdMask) == IirTransmitEmpty)
                {
                    _thrPending = false;
                    UpdateInterrupt();
                }

                return iir;
            }

            case RegLcr:
                return _lcr;

            case RegMcr:
                return _mcr;

            case RegLsr:
            {
                byte lsr = _lsr;
                if ((_lsr & (LsrBreak | LsrOverrun)) != 0)
                {
                    _lsr &= unchecked((byte)~(LsrBreak | LsrOverrun));
                    UpdateInterrupt();
                }

                return lsr;
            }

            case RegMsr:
                if (Loopback)
                {
                    // In loopback the modem outputs are wired to the inputs:
                    // OUT2 -> DCD, OUT1 -> RI, RTS -> CTS, DTR -> DSR.
                    return (byte)(((_mcr & 0x0c) << 4) | ((_mcr & 0x02) << 3) | ((_mcr & 0x01) << 5));
                }
                else
                {
                    byte msr = _msr;
                    if ((_msr & MsrAnyDelta) != 0)
                    {
                        _msr &= 0xf0;
                        UpdateInterrupt();
                    }

                    return msr;
                }

            default:
                return _scr;
        }
    }

    private byte ReadReceiveBufferLocked(ref bool notify)
    {
        byte value;
        if (FifoEnabled)
        {
            value = _receiveFifo.IsEmpty ? (byte)0 : _receiveFifo.Pop();
            if (_receiveFifo.IsEmpty)
            {
                _lsr &= unchecked((byte)~(LsrDataReady | LsrBreak));
            }
            else
            {
                ArmReceiveTimeout();
            }

            _timeoutPending = false;
        }
        else
        {
            value = _rbr;
            _lsr &= unchecked((byte)~(LsrDataReady | LsrBreak));
        }

        UpdateInterrupt();
        if (!Loopback)
        {
            notify = FeedFromHostLocked();
        }

        return value;
    }

    private void WriteRegisterLocked(int register, byte value, ref bool notify)
    {
        switch (register)
        {
            case RegData:
                if ((_lcr & LcrDlab) != 0)
                {
                    _divisor = (ushort)((_divisor & 0xff00) | value);
                    UpdateLineParameters();
                }
                else
                {
                    TransmitLocked(value);
                }

                break;

            case RegIer:
                if ((_lcr & LcrDlab) != 0)
                {
                    _divisor = (ushort)((_divisor & 0x00ff) | (value << 8));
                    UpdateLineParameters();
                }
                else
                {
                    WriteInterruptEnableLocked(value);
                }

                break;

            case RegIirFcr:
                WriteFifoControlLocked(value);
                notify = FeedFromHostLocked();
                break;

            case RegLcr:
                _lcr = value;
                UpdateLineParameters();
                break;

            case RegMcr:
                _mcr = (byte)(value & 0x1f);
                notify = FeedFromHostLocked();
                break;

            case RegLsr:
            case RegMsr:
                // Read-only status registers.
                break;

            default:
                _scr = value;
                break;
        }
    }

    private void TransmitLocked(byte value)
    {
        // Writing THR acknowledges the THR-empty interrupt, but the byte leaves at once, so
        // THR and the shift register are empty again and THR-empty is signalled anew (the
        // line ends up where it was; no need to pulse it low in between).
        _lsr |= LsrTransmitHoldingEmpty | LsrTransmitterEmpty;
        _thrPending = true;
        if (Loopback)
        {
            ReceiveLocked(value);
        }
        else
        {
            _transmit(value);
        }

        UpdateInterrupt();
    }

    private void WriteInterruptEnableLocked(byte value)
    {
        byte changed = (byte)((_ier ^ value) & 0x0f);
        _ier = (byte)(value & 0x0f);

        // Enabling THRI while THR is empty raises the interrupt again even if reading IIR had
        // acknowledged it: Linux's 8250 driver checks for exactly this at start-up (and would
        // otherwise fall back to polling the transmitter with a timer).
        if ((changed & IerTransmitEmpty) != 0)
        {
            _thrPending = (_ier & IerTransmitEmpty) != 0 && (_lsr & LsrTransmitHoldingEmpty) != 0;
        }

        if (changed != 0)
        {
            UpdateInterrupt();
        }
    }

    private void WriteFifoControlLocked(byte value)
    {
        // Switching the FIFOs on or off flushes both of them.
        if (((value ^ _fcr) & FcrEnable) != 0)
        {
            value |= FcrClearReceive | FcrClearTransmit;
        }

        if ((value & FcrClearReceive) != 0)
        {
            _lsr &= unchecked((byte)~(LsrDataReady | LsrBreak));
            DisarmReceiveTimeout();
            _timeoutPending = false;
            _receiveFifo.Clear();
        }

        if ((value & FcrClearTransmit) != 0)
        {
            _lsr |= LsrTransmitHoldingEmpty;
            _thrPending = true;
        }

        ApplyFifoControl((byte)(value & FcrStickyBits));
        UpdateInterrupt();
    }

    private void ApplyFifoControl(byte fcr)
    {
        _fcr = (byte)(fcr & FcrStickyBits);
        if (FifoEnabled)
        {
            _iir |= IirFifoEnabled;
            _triggerLevel = (_fcr >> 6) switch
            {
                0 => 1,
                1 => 4,
                2 => 8,
                _ => 14,
            };
        }
        else
        {
            _iir &= unchecked((byte)~IirFifoEnabled);
            _triggerLevel = 1;
        }
    }

    private void UpdateLineParameters()
    {
        uint baseRate = ClockFrequency / 16;
        if (_divisor == 0 || _divisor > baseRate)
        {
            return;
        }

        int frameBits = 1 + (_lcr & 0x03) + 5 + ((_lcr & 0x04) != 0 ? 2 : 1) + ((_lcr & 0x08) != 0 ? 1 : 0);
        uint speed = baseRate / _divisor;
        _charTimeNanoseconds = 1_000_000_000L / speed * frameBits;
    }

    /// <summary>How many bytes the receiver can take now (QEMU's flow rule).</summary>
    private int ReceiveRoom()
    {
        if (Loopback)
        {
            // The receiver is wired to the transmitter; the outside line is ignored.
            return 0;
        }

        if (!FifoEnabled)
        {
            return (_lsr & LsrDataReady) != 0 ? 0 : 1;
        }

        int count = _receiveFifo.Count;
        if (count >= FifoSize)
        {
            return 0;
        }

        // Fill up to the trigger level at once, then one byte at a time: offering the whole
        // free space would almost always fill the FIFO before the guest's interrupt handler
        // runs, overriding the trigger level the guest chose.
        return count <= _triggerLevel ? _triggerLevel - count : 1;
    }

    /// <summary>Moves host input into the receiver; true when a blocked host writer should be told there is room.</summary>
    private bool FeedFromHostLocked()
    {
        int moved = 0;
        int room;
        while (!_hostInput.IsEmpty && (room = ReceiveRoom()) > 0)
        {
            int n = Math.Min(room, _hostInput.Count);
            for (int i = 0; i < n; i++)
            {
                PutReceivedByte(_hostInput.Pop());
            }

            AfterReceive();
            moved += n;
        }

        if (moved > 0 && _hostWriterBlocked)
        {
            _hostWriterBlocked = false;
            return true;
        }

        return false;
    }

    private void ReceiveLocked(byte value)
    {
        PutReceivedByte(value);
        AfterReceive();
    }

    private void PutReceivedByte(byte value)
    {
        if (FifoEnabled)
        {
            // A full FIFO keeps its contents; the new byte is lost and overrun is flagged.
            if (_receiveFifo.IsFull)
            {
                _lsr |= LsrOverrun;
            }
            else
            {
                _receiveFifo.Push(value);
            }
        }
        else
        {
            if ((_lsr & LsrDataReady) != 0)
            {
                _lsr |= LsrOverrun;
            }

            _rbr = value;
        }

        _lsr |= LsrDataReady;
    }

    private void AfterReceive()
    {
        if (FifoEnabled)
        {
            // The character timeout counts four character times from the last received byte.
            ArmReceiveTimeout();
        }

        UpdateInterrupt();
    }

    private void ArmReceiveTimeout()
    {
        if (_disposed)
        {
            return;
        }

        // Four character times, but at least the 1 ms a host timer can resolve (at 115200
        // baud four characters take 0.35 ms; a guest cannot tell the difference).
        long nanoseconds = _charTimeNanoseconds * 4;
        TimeSpan due = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, nanoseconds / 100));
        _timeoutDeadline = _timeProvider.GetTimestamp() + (long)(due.TotalSeconds * _timeProvider.TimestampFrequency);
        _timeoutArmed = true;
        _timeoutTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void DisarmReceiveTimeout()
    {
        _timeoutArmed = false;
        if (!_disposed)
        {
            _timeoutTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnReceiveTimeout(object? state)
    {
        lock (_gate)
        {
            // A callback already on its way when the timeout was cancelled is stale.
            if (!_timeoutArmed)
            {
                return;
            }

            // Early (re-armed meanwhile, or a timer coarser than the clock): wait for the rest.
            long remaining = _timeoutDeadline - _timeProvider.GetTimestamp();
            if (remaining > 0)
            {
                TimeSpan rest = TimeSpan.FromSeconds((double)remaining / _timeProvider.TimestampFrequency);
                _timeoutTimer.Change(rest < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : rest, Timeout.InfiniteTimeSpan);
                return;
            }

            _timeoutArmed = false;
            if (!_receiveFifo.IsEmpty)
            {
                _timeoutPending = true;
                UpdateInterrupt();
            }
        }
    }

    /// <summary>Recomputes IIR from the interrupt causes in priority order and drives the line.</summary>
    private void UpdateInterrupt()
    {
        byte id;
        if ((_ier & IerLineStatus) != 0 && (_lsr & LsrInterruptCauses) != 0)
        {
            id = IirLineStatus;
        }
        else if ((_ier & IerReceivedData) != 0 && _timeoutPending)
        {
            id = IirCharacterTimeout;
        }
        else if ((_ier & IerReceivedData) != 0 && (_lsr & LsrDataReady) != 0
            && (!FifoEnabled || _receiveFifo.Count >= _triggerLevel))
        {
            id = IirReceivedData;
        }
        else if ((_ier & IerTransmitEmpty) != 0 && _thrPending)
        {
            id = IirTransmitEmpty;
        }
        else if ((_ier & IerModemStatus) != 0 && (_msr & MsrAnyDelta) != 0)
        {
            id = IirModemStatus;
        }
        else
        {
            id = IirNoInterrupt;
        }

        _iir = (byte)(id | (_iir & 0xf0));
        DriveIrq(force: false);
    }

    private void DriveIrq(bool force)
    {
        bool level = (_iir & IirNoInterrupt) == 0;
        if (force || level != _irqLevel)
        {
            _irqLevel = level;
            _irq.Set(level);
        }
    }

    private void ResetLocked()
    {
        _rbr = 0;
        _ier = 0;
        _iir = IirNoInterrupt;
        _lcr = 0;
        _lsr = LsrTransmitterEmpty | LsrTransmitHoldingEmpty;
        // No modem behind the port: carrier, data-set-ready and clear-to-send are always on.
        _msr = MsrDcd | MsrDsr | MsrCts;
        _divisor = 0x0c; // 9600 baud
        _mcr = McrOut2;
        _scr = 0;
        _thrPending = false;
        _timeoutPending = false;
        _receiveFifo.Clear();
        ApplyFifoControl(0);
        _charTimeNanoseconds = DefaultCharTimeNanoseconds;
        DisarmReceiveTimeout();
    }
}
