namespace Vessel.Cpu.Riscv;

/// <summary>
/// Control and status registers: their storage, the WARL rules of each field, and the access
/// checks (privilege, read-only, FS state, counter enables, TVM).
/// </summary>
public sealed unsafe partial class Hart
{
    // mstatus fields (RV64).
    internal const ulong MstatusSie = 1UL << 1;
    internal const ulong MstatusMie = 1UL << 3;
    internal const ulong MstatusSpie = 1UL << 5;
    internal const ulong MstatusMpie = 1UL << 7;
    internal const ulong MstatusSpp = 1UL << 8;
    internal const ulong MstatusMpp = 3UL << 11;
    internal const ulong MstatusFs = 3UL << 13;
    internal const ulong MstatusMprv = 1UL << 17;
    internal const ulong MstatusSum = 1UL << 18;
    internal const ulong MstatusMxr = 1UL << 19;
    internal const ulong MstatusTvm = 1UL << 20;
    internal const ulong MstatusTw = 1UL << 21;
    internal const ulong MstatusTsr = 1UL << 22;
    internal const ulong MstatusUxl = 2UL << 32;
    internal const ulong MstatusSxl = 2UL << 34;
    internal const ulong MstatusSd = 1UL << 63;

    private const ulong MstatusWritable = MstatusSie | MstatusMie | MstatusSpie | MstatusMpie | MstatusSpp | MstatusMpp
        | MstatusFs | MstatusMprv | MstatusSum | MstatusMxr | MstatusTvm | MstatusTw | MstatusTsr;

    private const ulong SstatusMask = MstatusSie | MstatusSpie | MstatusSpp | MstatusFs | MstatusSum | MstatusMxr
        | MstatusUxl | MstatusSd;

    private const ulong FsDirty = 3UL << 13;

    // misa: RV64 (MXL = 2) with A, C, D, F, I, M, S, U.
    private const ulong Misa = (2UL << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

    private const ulong SupervisorInterrupts = (1 << 1) | (1 << 5) | (1 << 9);
    private const ulong AllInterrupts = SupervisorInterrupts | (1 << 3) | (1 << 7) | (1 << 11);

    // Exceptions that may be delegated: everything but ecall from M (11) and the reserved codes.
    private const ulong DelegableExceptions = 0xb3ff;

    private PrivilegeLevel _privilege;
    private ulong _mstatus;
    private ulong _medeleg;
    private ulong _mideleg;
    private ulong _mie;
    private long _mipSoftware; // bits written by software (SSIP, STIP, SEIP; MSIP etc. via pins)
    private long _mipPins;     // bits driven by the CLINT and the PLIC
    private ulong _mtvec;
    private ulong _mscratch;
    private ulong _mepc;
    private ulong _mcause;
    private ulong _mtval;
    private ulong _mcounteren;
    private ulong _mcountinhibit;
    private ulong _menvcfg;
    private ulong _stvec;
    private ulong _sscratch;
    private ulong _sepc;
    private ulong _scause;
    private ulong _stval;
    private ulong _scounteren;
    private ulong _senvcfg;
    private ulong _satp;
    private byte _fflags;
    private byte _frm;
    private ulong _instret;
    private readonly byte[] _pmpcfg = new byte[64];
    private readonly ulong[] _pmpaddr = new ulong[64];

    /// <summary>The current value of <c>mip</c>: software-written bits and device-driven pins.</summary>
    private ulong ReadMip() => (ulong)(Volatile.Read(ref _mipSoftware) | Volatile.Read(ref _mipPins));

    /// <summary><paramref name="mip"/> with SEIP taken from the software-written bit only.</summary>
    private ulong SoftwareMipForModify(ulong mip)
    {
        const ulong seip = 1UL << 9;
        return (mip & ~seip) | ((ulong)Volatile.Read(ref _mipSoftware) & seip);
    }

    /// <summary><c>mstatus</c> with SD computed from FS.</summary>
    private ulong ReadMstatus() => (_mstatus & MstatusFs) == FsDirty ? _mstatus | MstatusSd : _mstatus;

    private void MarkFloatDirty() => _mstatus |= FsDirty;

    private bool FloatEnabled => (_mstatus & MstatusFs) != 0;

    /// <summary>Reads a CSR for an instruction; false means illegal instruction.</summary>
    private bool TryReadCsr(int csr, out ulong value)
    {
        value = 0;
        if (((csr >> 8) & 3) > (int)_privilege)
        {
            return false;
        }

        switch (csr)
        {
            // Floating point.
            case 0x001:
                if (!FloatEnabled)
                {
                    return false;
                }

                value = _fflags;
                return true;
            case 0x002:
                if (!FloatEnabled)
                {
                    return false;
                }

                value = _frm;
                return true;
            case 0x003:
                if (!FloatEnabled)
                {
                    return false;
                }

                value = ((ulong)_frm << 5) | _fflags;
                return true;

            // Counters, readable from lower modes when the enables allow.
            case >= 0xc00 and <= 0xc1f:
                if (!CounterAccessible(csr - 0xc00))
                {
                    return false;
                }

                value = csr switch
                {
                    0xc00 => _instret,
                    0xc01 => _processor.ReadTime(),
                    0xc02 => _instret,
                    _ => 0,
                };
                return true;

            // Supervisor.
            case 0x100: value = ReadMstatus() & SstatusMask; return true;
            case 0x104: value = _mie & _mideleg; return true;
            case 0x105: value = _stvec; return true;
            case 0x106: value = _scounteren; return true;
            case 0x10a: value = _senvcfg; return true;
            case 0x140: value = _sscratch; return true;
            case 0x141: value = _sepc; return true;
            case 0x142: value = _scause; return true;
            case 0x143: value = _stval; return true;
            case 0x144: value = ReadMip() & _mideleg; return true;
            case 0x180:
                if (_privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusTvm) != 0)
                {
                    return false;
                }

                value = _satp;
                return true;

            // Machine information.
            case 0xf11: value = 0; return true; // mvendorid: non-commercial implementation
            case 0xf12: value = 0; return true; // marchid
            case 0xf13: value = 0; return true; // mimpid
            case 0xf14: value = (ulong)HartId; return true;
            case 0xf15: value = 0; return true; // mconfigptr

            // Machine trap setup and handling.
            case 0x300: value = ReadMstatus(); return true;
            case 0x301: value = Misa; return true;
            case 0x302: value = _medeleg; return true;
            case 0x303: value = _mideleg; return true;
            case 0x304: value = _mie; return true;
            case 0x305: value = _mtvec; return true;
            case 0x306: value = _mcounteren; return true;
            case 0x30a: value = _menvcfg; return true;
            case 0x320: value = _mcountinhibit; return true;
            case >= 0x323 and <= 0x33f: value = 0; return true; // mhpmevent3..31
            case 0x340: value = _mscratch; return true;
            case 0x341: value = _mepc; return true;
            case 0x342: value = _mcause; return true;
            case 0x343: value = _mtval; return true;
            case 0x344: value = ReadMip(); return true;

            // Physical memory protection: the registers are kept with their WARL rules (OpenSBI programs
            // them) but accesses are not checked against them.
            case >= 0x3a0 and <= 0x3af:
                if ((csr & 1) != 0)
                {
                    return false; // odd pmpcfg registers do not exist on RV64
                }

                value = ReadPmpConfig((csr - 0x3a0) * 4);
                return true;
            case >= 0x3b0 and <= 0x3ef:
                value = _pmpaddr[csr - 0x3b0];
                return true;

            // Machine counters.
            case 0xb00: value = _instret; return true;
            case 0xb02: value = _instret; return true;
            case >= 0xb03 and <= 0xb1f: value = 0; return true;

            default:
                return false;
        }
    }

    /// <summary>Writes a CSR for an instruction; false means illegal instruction.</summary>
    private bool TryWriteCsr(int csr, ulong value)
    {
        if (((csr >> 8) & 3) > (int)_privilege || (csr >> 10) == 3)
        {
            return false; // too privileged, or a read-only CSR
        }

        switch (csr)
        {
            case 0x001:
                if (!FloatEnabled)
                {
                    return false;
                }

                _fflags = (byte)(value & 0x1f);
                MarkFloatDirty();
                return true;
            case 0x002:
                if (!FloatEnabled)
                {
                    return false;
                }

                _frm = (byte)(value & 7);
                MarkFloatDirty();
                return true;
            case 0x003:
                if (!FloatEnabled)
                {
                    return false;
                }

                _fflags = (byte)(value & 0x1f);
                _frm = (byte)((value >> 5) & 7);
                MarkFloatDirty();
                return true;

            case 0x100:
                WriteMstatus((_mstatus & ~SstatusMask) | (value & SstatusMask));
                return true;
            case 0x104:
                _mie = (_mie & ~_mideleg) | (value & _mideleg);
                return true;
            case 0x105: _stvec = LegalizeTvec(value); return true;
            case 0x106: _scounteren = value & 0xffff_ffff; return true;
            case 0x10a: _senvcfg = value & 1; return true;
            case 0x140: _sscratch = value; return true;
            case 0x141: _sepc = value & ~1UL; return true;
            case 0x142: _scause = value; return true;
            case 0x143: _stval = value; return true;
            case 0x144:
            {
                // Only SSIP is writable through sip, and only when delegated.
                long mask = (long)(_mideleg & (1 << 1));
                UpdateSoftwareMip(mask, (long)value & mask);
                return true;
            }

            case 0x180:
                if (_privilege == PrivilegeLevel.Supervisor && (_mstatus & MstatusTvm) != 0)
                {
                    return false;
                }

                WriteSatp(value);
                return true;

            case 0x300: WriteMstatus(value); return true;
            case 0x301: return true; // misa is read-only here (WARL): writes are ignored
            case 0x302: _medeleg = value & DelegableExceptions; return true;
            case 0x303: _mideleg = value & SupervisorInterrupts; return true;
            case 0x304: _mie = value & AllInterrupts; return true;
            case 0x305: _mtvec = LegalizeTvec(value); return true;
            case 0x306: _mcounteren = value & 0xffff_ffff; return true;
            case 0x30a: _menvcfg = value & 1; return true; // only FIOM; no Sstc, Svpbmt or CBO
            case 0x320: _mcountinhibit = value & 0xffff_fff8; return true; // CY and IR cannot be inhibited (WARL 0): they always count
            case >= 0x323 and <= 0x33f: return true;
            case 0x340: _mscratch = value; return true;
            case 0x341: _mepc = value & ~1UL; return true;
            case 0x342: _mcause = value; return true;
            case 0x343: _mtval = value; return true;
            case 0x344:
            {
                const long writable = (1 << 1) | (1 << 5) | (1 << 9);
                UpdateSoftwareMip(writable, (long)value & writable);
                return true;
            }

            case >= 0x3a0 and <= 0x3af:
                if ((csr & 1) != 0)
                {
                    return false;
                }

                WritePmpConfig((csr - 0x3a0) * 4, value);
                return true;
            case >= 0x3b0 and <= 0x3ef:
            {
                int index = csr - 0x3b0;
                if (!PmpLocked(index))
                {
                    _pmpaddr[index] = value & ((1UL << 54) - 1);
                }

                return true;
            }

            // The CSR instruction itself counts as retired after this write; a write replaces
            // that increment (Zicsr: "the write is done instead of the increment").
            case 0xb00: _instret = value - 1; return true;
            case 0xb02: _instret = value - 1; return true;
            case >= 0xb03 and <= 0xb1f: return true;

            default:
                return false;
        }
    }

    /// <summary>Whether counter <paramref name="counter"/> (0 = cycle, 1 = time, 2 = instret, ...) may be read in the current mode.</summary>
    private bool CounterAccessible(int counter)
    {
        ulong bit = 1UL << counter;
        return _privilege switch
        {
            PrivilegeLevel.Machine => true,
            PrivilegeLevel.Supervisor => (_mcounteren & bit) != 0,
            _ => (_mcounteren & bit) != 0 && (_scounteren & bit) != 0,
        };
    }

    private static ulong LegalizeTvec(ulong value) => (value & 3) >= 2 ? value & ~3UL : value;

    private void UpdateSoftwareMip(long mask, long bits)
    {
        long old, updated;
        do
        {
            old = Volatile.Read(ref _mipSoftware);
            updated = (old & ~mask) | bits;
        }
        while (Interlocked.CompareExchange(ref _mipSoftware, updated, old) != old);
    }

    /// <summary>Sets or clears software-pending bits (used by the built-in SBI for IPIs and timers).</summary>
    internal void SetSoftwarePending(int bit, bool level)
    {
        long mask = 1L << bit;
        UpdateSoftwareMip(mask, level ? mask : 0);
        _attention = 1;
        if (level)
        {
            _wakeup.Set();
            _processor.NotifyActivity();
        }
    }

    private void WriteMstatus(ulong value)
    {
        ulong old = _mstatus;
        ulong updated = (old & ~MstatusWritable) | (value & MstatusWritable);
        if (((updated >> 11) & 3) == 2)
        {
            updated &= ~MstatusMpp; // MPP = 2 (hypervisor) does not exist: legalise to U
        }

        _mstatus = updated | MstatusUxl | MstatusSxl;
        if (((old ^ updated) & MstatusMxr) != 0)
        {
            FlushTranslatedLoadTlb();
        }

        if (((old ^ updated) & (MstatusMprv | MstatusMpp | MstatusSum)) != 0)
        {
            UpdateMmuContext();
        }
    }

    private void WriteSatp(ulong value)
    {
        ulong mode = value >> 60;
        if (mode != SatpModeBare && mode != SatpModeSv39 && mode != SatpModeSv48)
        {
            return; // unsupported mode: the whole write has no effect
        }

        // ASIDLEN = 16 (Linux then gives each process its own ASID); PPN limited to the 44 bits of Sv39/Sv48.
        ulong legal = value & ((0xfUL << 60) | (0xffffUL << 44) | PtePpnMask);
        if (mode == SatpModeBare)
        {
            legal = 0;
        }

        if (legal != _satp)
        {
            // No flush: the entries of the previous address space stay in their bank, tagged
            // with its whole satp value, for a later switch back (the OS fences before it reuses
            // an ASID for other mappings, as the spec requires).
            if (((legal ^ _satp) >> 60) != 0)
            {
                // Global mappings belong to one translation scheme: none survives a change of mode.
                _translation?.FlushGlobalContext();
            }

            _satp = legal;
            TlbContextSwitches++;
            SelectBankForSatp();
        }
    }

    private ulong ReadPmpConfig(int firstEntry)
    {
        ulong value = 0;
        for (int i = 0; i < 8; i++)
        {
            value |= (ulong)_pmpcfg[firstEntry + i] << (8 * i);
        }

        return value;
    }

    private void WritePmpConfig(int firstEntry, ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            if ((_pmpcfg[firstEntry + i] & 0x80) != 0)
            {
                continue; // locked entries ignore writes until reset
            }

            byte config = (byte)(value >> (8 * i));
            if ((config & 3) == 2)
            {
                config &= 0xfd; // R=0, W=1 is reserved: clear W (bit 1)
            }

            _pmpcfg[firstEntry + i] = (byte)(config & 0x9f);
        }
    }

    private bool PmpLocked(int index)
    {
        if ((_pmpcfg[index] & 0x80) != 0)
        {
            return true;
        }

        // A locked TOR entry also locks the address register below it.
        return index + 1 < 64 && (_pmpcfg[index + 1] & 0x98) == 0x88;
    }
}
