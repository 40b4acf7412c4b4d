namespace Vessel.Cpu.Riscv;

/// <summary>
/// Trap entry (exceptions and interrupts, with delegation to S-mode), trap return
/// (<c>mret</c>/<c>sret</c>) and the choice of which pending interrupt to take.
/// </summary>
public sealed unsafe partial class Hart
{
    private const ulong InterruptBit = 1UL << 63;

    // Interrupts in the priority order of the privileged spec: MEI, MSI, MTI, SEI, SSI, STI.
    private static readonly int[] s_interruptPriority = [11, 3, 7, 9, 1, 5];

    /// <summary>Raises a synchronous exception at the current pc.</summary>
    private void RaiseException(ExceptionCause cause, ulong value)
    {
        EnterTrap((ulong)cause, value, isInterrupt: false);
    }

    /// <summary>Raises the exception recorded by the last failing memory access.</summary>
    private void RaisePendingFault() => RaiseException(_faultCause, _faultValue);

    /// <summary>
    /// Takes the highest-priority pending and enabled interrupt, if any. Returns whether one was
    /// taken.
    /// </summary>
    private bool TryTakeInterrupt()
    {
        ulong pending = ReadMip() & _mie;
        if (pending == 0)
        {
            return false;
        }

        // M-level interrupts (not delegated) are enabled below M always, and in M when MIE.
        ulong machine = pending & ~_mideleg;
        bool machineEnabled = _privilege < PrivilegeLevel.Machine || (_mstatus & MstatusMie) != 0;
        ulong supervisor = pending & _mideleg;
        bool supervisorEnabled = _privilege < PrivilegeLevel.Supervisor
            || (_privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusSie) != 0);

        ulong candidates = (machineEnabled ? machine : 0) | (supervisorEnabled ? supervisor : 0);
        if (candidates == 0)
        {
            return false;
        }

        // Machine interrupts take precedence over supervisor ones when both are enabled.
        ulong chosenSet = machineEnabled && machine != 0 ? machine : candidates;
        foreach (int bit in s_interruptPriority)
        {
            if ((chosenSet & (1UL << bit)) != 0)
            {
                if (RunState == HartRunState.WaitingForInterrupt)
                {
                    RunState = HartRunState.Running;
                }

                EnterTrap((ulong)bit, 0, isInterrupt: true);
                return true;
            }
        }

        return false;
    }

    private static readonly bool s_traceTraps = Environment.GetEnvironmentVariable("VESSEL_TRACE_TRAPS") == "1";

    private void EnterTrap(ulong code, ulong value, bool isInterrupt)
    {
        if (s_traceTraps && !isInterrupt && code == 2)
        {
            Console.Error.WriteLine($"[trap] hart {HartId} priv {_privilege} pc {_s->Pc:x} cause {code} tval {value:x}");
        }

        ulong pc = _s->Pc;
        ulong cause = isInterrupt ? code | InterruptBit : code;
        ulong delegation = isInterrupt ? _mideleg : _medeleg;
        _reservationValid = false;

        if (_privilege <= PrivilegeLevel.Supervisor && ((delegation >> (int)code) & 1) != 0)
        {
            _scause = cause;
            _sepc = pc;
            _stval = value;
            ulong status = _mstatus;
            status = (status & MstatusSie) != 0 ? status | MstatusSpie : status & ~MstatusSpie;
            status = _privilege == PrivilegeLevel.Supervisor ? status | MstatusSpp : status & ~MstatusSpp;
            status &= ~MstatusSie;
            _mstatus = status;
            _s->Pc = TrapVector(_stvec, code, isInterrupt);
            SetPrivilege(PrivilegeLevel.Supervisor);
        }
        else
        {
            _mcause = cause;
            _mepc = pc;
            _mtval = value;
            ulong status = _mstatus;
            status = (status & MstatusMie) != 0 ? status | MstatusMpie : status & ~MstatusMpie;
            status = (status & ~MstatusMpp) | ((ulong)_privilege << 11);
            status &= ~MstatusMie;
            _mstatus = status;
            _s->Pc = TrapVector(_mtvec, code, isInterrupt);
            SetPrivilege(PrivilegeLevel.Machine);
        }
    }

    private static ulong TrapVector(ulong tvec, ulong code, bool isInterrupt)
    {
        ulong baseAddress = tvec & ~3UL;
        return isInterrupt && (tvec & 3) == 1 ? baseAddress + (4 * code) : baseAddress;
    }

    private void SetPrivilege(PrivilegeLevel privilege)
    {
        _privilege = privilege;
        UpdateMmuContext();
    }

    /// <summary>mret: returns to the mode in MPP. False when not allowed (illegal instruction).</summary>
    private bool ReturnFromMachine()
    {
        if (_privilege != PrivilegeLevel.Machine)
        {
            return false;
        }

        ulong status = _mstatus;
        var previous = (PrivilegeLevel)((status >> 11) & 3);
        status = (status & MstatusMpie) != 0 ? status | MstatusMie : status & ~MstatusMie;
        status |= MstatusMpie;
        status &= ~MstatusMpp; // MPP = U (the least privileged mode)
        if (previous != PrivilegeLevel.Machine)
        {
            status &= ~MstatusMprv;
        }

        _mstatus = status;
        _s->Pc = _mepc;
        SetPrivilege(previous);
        return true;
    }

    /// <summary>sret: returns to the mode in SPP. False when not allowed (illegal instruction).</summary>
    private bool ReturnFromSupervisor()
    {
        if (_privilege < PrivilegeLevel.Supervisor ||
            (_privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusTsr) != 0))
        {
            return false;
        }

        ulong status = _mstatus;
        PrivilegeLevel previous = (status & MstatusSpp) != 0 ? PrivilegeLevel.Supervisor : PrivilegeLevel.User;
        status = (status & MstatusSpie) != 0 ? status | MstatusSie : status & ~MstatusSie;
        status |= MstatusSpie;
        status &= ~MstatusSpp;
        status &= ~MstatusMprv; // returning to a mode below M clears MPRV
        _mstatus = status;
        _s->Pc = _sepc;
        SetPrivilege(previous);
        return true;
    }

    /// <summary>
    /// Puts the hart in S-mode at <paramref name="entry"/> with a0/a1 set, as firmware does
    /// before jumping to a kernel (built-in SBI boot and HSM hart_start).
    /// </summary>
    public void StartInSupervisorMode(ulong entry, ulong a0, ulong a1)
    {
        _s->X[10] = a0;
        _s->X[11] = a1;
        _s->Pc = entry;
        _satp = 0;
        _mstatus &= ~(MstatusSie | MstatusSpie | MstatusMprv);
        FlushTlb();
        SetPrivilege(PrivilegeLevel.Supervisor);
        RunState = HartRunState.Running;
        _wakeup.Set(); // a hart with its own thread sleeps while stopped
    }

    /// <summary>Stops the hart until the SBI HSM extension starts it (secondary harts at boot).</summary>
    public void StopUntilStarted() => RunState = HartRunState.Stopped;

    /// <summary>
    /// Configures delegation and counters as firmware (OpenSBI) leaves them for an S-mode kernel,
    /// for the built-in SBI: every exception but ecall-from-S and every supervisor interrupt go
    /// straight to S-mode.
    /// </summary>
    internal void ConfigureForBuiltinFirmware()
    {
        _medeleg = DelegableExceptions & ~(1UL << (int)ExceptionCause.EcallFromSupervisor);
        _mideleg = SupervisorInterrupts;
        _mcounteren = 0xffff_ffff;
        _scounteren = 0xffff_ffff; // OpenSBI opens every counter to S and U mode (rdtime in user space)
        _mstatus |= MstatusFs & (1UL << 13); // FS = Initial, as OpenSBI leaves it
    }
}
