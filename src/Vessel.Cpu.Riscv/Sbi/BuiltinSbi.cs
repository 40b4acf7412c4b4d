using Vessel.Machine.Interrupts;

namespace Vessel.Cpu.Riscv.Sbi;

/// <summary>
/// A Supervisor Binary Interface implementation inside the VMM, so that a kernel boots without
/// a firmware file: S-mode <c>ecall</c>s are served here instead of trapping to M-mode code.
/// Implements SBI v1.0: Base, TIME, IPI, RFENCE, HSM, SRST, the debug console (DBCN) and the
/// legacy v0.1 calls (console, timer, IPI, fences, shutdown).
/// </summary>
public sealed class BuiltinSbi
{
    /// <summary>Our implementation ID (unassigned in the SBI registry; ASCII "VSL").</summary>
    public const long ImplementationId = 0x56534c;

    private const long SpecVersion = 1L << 24; // v1.0

    private const long ExtensionBase = 0x10;
    private const long ExtensionTime = 0x54494d45;
    private const long ExtensionIpi = 0x735049;
    private const long ExtensionRfence = 0x52464e43;
    private const long ExtensionHsm = 0x48534d;
    private const long ExtensionSrst = 0x53525354;
    private const long ExtensionDebugConsole = 0x4442434e;

    private const long Success = 0;
    private const long ErrorFailed = -1;
    private const long ErrorNotSupported = -2;
    private const long ErrorInvalidParameter = -3;
    private const long ErrorInvalidAddress = -5;
    private const long ErrorAlreadyAvailable = -6;

    private readonly RiscvProcessor _processor;
    private readonly IFirmwarePlatform _platform;

    internal BuiltinSbi(RiscvProcessor processor, IFirmwarePlatform platform)
    {
        _processor = processor;
        _platform = platform;
    }

    /// <summary>Serves the ecall of <paramref name="hart"/>; the caller advances the pc.</summary>
    internal void HandleEcall(Hart hart)
    {
        long extension = (long)hart.GetRegister(17);
        long function = (long)hart.GetRegister(16);
        if (extension is >= 0 and <= 8)
        {
            HandleLegacy(hart, extension);
            return;
        }

        (long error, long value) = extension switch
        {
            ExtensionBase => Base(function, hart),
            ExtensionTime => Time(function, hart),
            ExtensionIpi => Ipi(function, hart),
            ExtensionRfence => Rfence(function, hart),
            ExtensionHsm => Hsm(function, hart),
            ExtensionSrst => Srst(function, hart),
            ExtensionDebugConsole => DebugConsole(function, hart),
            _ => (ErrorNotSupported, 0L),
        };

        hart.SetRegister(10, (ulong)error);
        hart.SetRegister(11, (ulong)value);
    }

    private static bool Supported(long extension) => extension is ExtensionBase or ExtensionTime or ExtensionIpi
        or ExtensionRfence or ExtensionHsm or ExtensionSrst or ExtensionDebugConsole or (>= 0 and <= 8);

    private (long, long) Base(long function, Hart hart) => function switch
    {
        0 => (Success, SpecVersion),
        1 => (Success, ImplementationId),
        2 => (Success, 1),
        3 => (Success, Supported((long)hart.GetRegister(10)) ? 1 : 0),
        4 or 5 or 6 => (Success, 0), // mvendorid, marchid, mimpid
        _ => (ErrorNotSupported, 0),
    };

    private (long, long) Time(long function, Hart hart)
    {
        if (function != 0)
        {
            return (ErrorNotSupported, 0);
        }

        _platform.SetTimer(hart.HartId, hart.GetRegister(10));
        return (Success, 0);
    }

    private (long, long) Ipi(long function, Hart hart)
    {
        if (function != 0)
        {
            return (ErrorNotSupported, 0);
        }

        return ForEachHart(hart.GetRegister(10), hart.GetRegister(11),
            target => target.SetSoftwarePending(RiscvInterruptBits.SupervisorSoftware, true));
    }

    private (long, long) Rfence(long function, Hart hart)
    {
        RemoteRequest request = function switch
        {
            0 => RemoteRequest.FenceI,
            1 or 2 => RemoteRequest.FlushTlb,
            _ => RemoteRequest.None,
        };
        if (request == RemoteRequest.None)
        {
            return (ErrorNotSupported, 0); // hypervisor fences: no H extension
        }

        return ForEachHart(hart.GetRegister(10), hart.GetRegister(11), target => _processor.RemoteFence(hart, target, request));
    }

    private (long, long) Hsm(long function, Hart hart)
    {
        switch (function)
        {
            case 0: // hart_start(hartid, start_addr, opaque)
            {
                Hart? target = FindHart(hart.GetRegister(10));
                if (target is null)
                {
                    return (ErrorInvalidParameter, 0);
                }

                ulong start = hart.GetRegister(11);
                if (!_processor.Memory.Contains(start, 2))
                {
                    return (ErrorInvalidAddress, 0);
                }

                if (target.RunState != HartRunState.Stopped)
                {
                    return (ErrorAlreadyAvailable, 0);
                }

                target.StartInSupervisorMode(start, (ulong)target.HartId, hart.GetRegister(12));
                _processor.NotifyActivity();
                return (Success, 0);
            }

            case 1: // hart_stop()
                hart.RunState = HartRunState.Stopped;
                return (Success, 0);

            case 2: // hart_get_status(hartid)
            {
                Hart? target = FindHart(hart.GetRegister(10));
                if (target is null)
                {
                    return (ErrorInvalidParameter, 0);
                }

                return (Success, target.RunState == HartRunState.Stopped ? 1 : 0);
            }

            case 3: // hart_suspend(type, resume_addr, opaque): only the default retentive type
                if ((uint)hart.GetRegister(10) != 0)
                {
                    return (ErrorNotSupported, 0);
                }

                if (!hart.InterruptPendingForWakeup())
                {
                    hart.RunState = HartRunState.WaitingForInterrupt;
                }

                return (Success, 0);

            default:
                return (ErrorNotSupported, 0);
        }
    }

    private (long, long) Srst(long function, Hart hart)
    {
        if (function != 0)
        {
            return (ErrorNotSupported, 0);
        }

        uint type = (uint)hart.GetRegister(10);
        uint reason = (uint)hart.GetRegister(11);
        if (type > 2 || reason > 1 && reason < 0xe0000000)
        {
            return (ErrorInvalidParameter, 0);
        }

        SystemResetKind kind = type == 0 ? (reason == 1 ? SystemResetKind.Failure : SystemResetKind.Shutdown) : SystemResetKind.Reboot;
        _platform.SystemReset(kind);
        hart.StopUntilStarted(); // a successful reset call does not return to the caller
        return (Success, 0);
    }

    private (long, long) DebugConsole(long function, Hart hart)
    {
        switch (function)
        {
            case 0: // console_write(num_bytes, base_lo, base_hi): physical address
            {
                ulong length = hart.GetRegister(10);
                ulong address = hart.GetRegister(11);
                if (length > int.MaxValue || !_processor.Memory.TryGetReadSpan(address, (int)length, out ReadOnlySpan<byte> bytes))
                {
                    return (ErrorInvalidParameter, 0);
                }

                foreach (byte b in bytes)
                {
                    _platform.ConsoleWrite(b);
                }

                return (Success, (long)length);
            }

            case 1: // console_read(num_bytes, base_lo, base_hi)
            {
                ulong length = hart.GetRegister(10);
                ulong address = hart.GetRegister(11);
                if (length > int.MaxValue || !_processor.Memory.Contains(address, length))
                {
                    return (ErrorInvalidParameter, 0);
                }

                long count = 0;
                for (; count < (long)length; count++)
                {
                    int c = _platform.ConsoleRead();
                    if (c < 0)
                    {
                        break;
                    }

                    _processor.Memory.Write(address + (ulong)count, (byte)c);
                }

                return (Success, count);
            }

            case 2: // console_write_byte(byte)
                _platform.ConsoleWrite((byte)hart.GetRegister(10));
                return (Success, 0);

            default:
                return (ErrorNotSupported, 0);
        }
    }

    private void HandleLegacy(Hart hart, long extension)
    {
        long result = 0;
        switch (extension)
        {
            case 0:
                _platform.SetTimer(hart.HartId, hart.GetRegister(10));
                break;
            case 1:
                _platform.ConsoleWrite((byte)hart.GetRegister(10));
                break;
            case 2:
                result = _platform.ConsoleRead();
                break;
            case 3:
                hart.SetSoftwarePending(RiscvInterruptBits.SupervisorSoftware, false);
                break;
            case 4:
            case 5:
            case 6:
            case 7:
            {
                // The legacy calls pass the address of a hart mask in S-mode virtual memory;
                // a null address means all harts.
                ulong maskAddress = hart.GetRegister(10);
                ulong mask = ulong.MaxValue;
                if (maskAddress != 0 && !hart.TryReadVirtual64(maskAddress, out mask))
                {
                    result = ErrorInvalidAddress;
                    break;
                }

                Action<Hart> action = extension switch
                {
                    4 => target => target.SetSoftwarePending(RiscvInterruptBits.SupervisorSoftware, true),
                    5 => target => _processor.RemoteFence(hart, target, RemoteRequest.FenceI),
                    _ => target => _processor.RemoteFence(hart, target, RemoteRequest.FlushTlb),
                };
                result = ForEachHart(mask, 0, action).Item1;
                break;
            }

            case 8:
                _platform.SystemReset(SystemResetKind.Shutdown);
                hart.StopUntilStarted();
                break;
        }

        hart.SetRegister(10, (ulong)result);
    }

    /// <summary>Applies <paramref name="action"/> to the harts selected by an SBI hart mask.</summary>
    private (long, long) ForEachHart(ulong mask, ulong maskBase, Action<Hart> action)
    {
        IReadOnlyList<Hart> harts = _processor.Harts;
        if (maskBase == ulong.MaxValue)
        {
            foreach (Hart target in harts)
            {
                action(target);
            }

            return (Success, 0);
        }

        for (int bit = 0; bit < 64 && mask != 0; bit++, mask >>= 1)
        {
            if ((mask & 1) == 0)
            {
                continue;
            }

            Hart? target = FindHart(maskBase + (ulong)bit);
            if (target is null)
            {
                return (ErrorInvalidParameter, 0);
            }

            action(target);
        }

        return (Success, 0);
    }

    private Hart? FindHart(ulong hartId)
    {
        foreach (Hart hart in _processor.Harts)
        {
            if ((ulong)hart.HartId == hartId)
            {
                return hart;
            }
        }

        return null;
    }
}
