using Vessel.Machine.Persistence;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// Saving and restoring the hart's architectural state (<see cref="HartArchitecturalState"/>).
/// Both run while the hart is parked (the machine paused), on any thread.
/// </summary>
public sealed unsafe partial class Hart : IPersistent<HartArchitecturalState>
{
    private const int PmpEntries = 64;

    public HartArchitecturalState SaveState()
    {
        var x = new ulong[32];
        var f = new ulong[32];
        for (int i = 0; i < 32; i++)
        {
            x[i] = _s->X[i];
            f[i] = _s->F[i];
        }

        return new HartArchitecturalState
        {
            X = x,
            F = f,
            Pc = _s->Pc,
            Privilege = _privilege,
            RunState = RunState,
            Mstatus = _mstatus,
            Medeleg = _medeleg,
            Mideleg = _mideleg,
            Mie = _mie,
            MipSoftware = (ulong)Volatile.Read(ref _mipSoftware),
            MipPins = (ulong)Volatile.Read(ref _mipPins),
            Mtvec = _mtvec,
            Mscratch = _mscratch,
            Mepc = _mepc,
            Mcause = _mcause,
            Mtval = _mtval,
            Mcounteren = _mcounteren,
            Mcountinhibit = _mcountinhibit,
            Menvcfg = _menvcfg,
            Stvec = _stvec,
            Sscratch = _sscratch,
            Sepc = _sepc,
            Scause = _scause,
            Stval = _stval,
            Scounteren = _scounteren,
            Senvcfg = _senvcfg,
            Satp = _satp,
            Fflags = _fflags,
            Frm = _frm,
            Instret = _instret,
            PmpConfig = (byte[])_pmpcfg.Clone(),
            PmpAddress = (ulong[])_pmpaddr.Clone(),
            ReservationValid = _reservationValid,
            ReservationAddress = _reservationAddress,
            ReservationValue = _reservationValue,
        };
    }

    public void RestoreState(HartArchitecturalState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.X.Length != 32 || state.F.Length != 32 || state.PmpConfig.Length != PmpEntries || state.PmpAddress.Length != PmpEntries)
        {
            throw new ArgumentException("The saved hart state does not have 32 integer and 32 floating-point registers and 64 PMP entries.", nameof(state));
        }

        if (!Enum.IsDefined(state.Privilege) || !Enum.IsDefined(state.RunState))
        {
            throw new ArgumentException($"The saved hart state has an invalid privilege mode ({(int)state.Privilege}) or run state ({(int)state.RunState}).", nameof(state));
        }

        for (int i = 0; i < 32; i++)
        {
            _s->X[i] = state.X[i];
            _s->F[i] = state.F[i];
        }

        _s->X[0] = 0;
        _s->X[HartState.IntegerSlots - 1] = 0;
        _s->Pc = state.Pc;
        _privilege = state.Privilege;
        RunState = state.RunState;
        _mstatus = state.Mstatus;
        _medeleg = state.Medeleg;
        _mideleg = state.Mideleg;
        _mie = state.Mie;
        Volatile.Write(ref _mipSoftware, (long)state.MipSoftware);
        Volatile.Write(ref _mipPins, (long)state.MipPins);
        _mtvec = state.Mtvec;
        _mscratch = state.Mscratch;
        _mepc = state.Mepc;
        _mcause = state.Mcause;
        _mtval = state.Mtval;
        _mcounteren = state.Mcounteren;
        _mcountinhibit = state.Mcountinhibit;
        _menvcfg = state.Menvcfg;
        _stvec = state.Stvec;
        _sscratch = state.Sscratch;
        _sepc = state.Sepc;
        _scause = state.Scause;
        _stval = state.Stval;
        _scounteren = state.Scounteren;
        _senvcfg = state.Senvcfg;
        _satp = state.Satp;
        _fflags = state.Fflags;
        _frm = state.Frm;
        _instret = state.Instret;
        state.PmpConfig.CopyTo(_pmpcfg, 0);
        state.PmpAddress.CopyTo(_pmpaddr, 0);
        _reservationValid = state.ReservationValid;
        _reservationAddress = state.ReservationAddress;
        _reservationValue = state.ReservationValue;

        // Derived state: every cached translation and the fetch page are rebuilt from here.
        FlushTlb();
        UpdateMmuContext();
        _attention = 1;
        _wakeup.Set();
    }
}
