using Vessel.Cpu.Riscv.Decoding;

namespace Vessel.Cpu.Riscv;

/// <summary>
/// The A extension. AMOs on RAM are host atomic operations, so they stay atomic when harts run
/// on several host threads. LR/SC follows QEMU: LR remembers the address and the value it
/// loaded, and SC succeeds when the reservation is held and a compare-and-swap against that
/// value succeeds (any store of a different value by another hart makes it fail).
/// </summary>
public sealed unsafe partial class Hart
{
    private bool _reservationValid;
    private ulong _reservationAddress;
    private ulong _reservationValue;

    private bool ExecuteAtomic(in Instruction ins)
    {
        ulong* x = _s->X;
        ulong address = x[ins.Rs1];
        bool doubleword = ins.Op >= Opcode.LrD;
        int size = doubleword ? 8 : 4;
        bool isLoadReserved = ins.Op is Opcode.LrW or Opcode.LrD;

        if ((address & (ulong)(size - 1)) != 0)
        {
            return Fault(isLoadReserved ? ExceptionCause.LoadMisaligned : ExceptionCause.StoreMisaligned, address);
        }

        if (isLoadReserved)
        {
            bool ok = doubleword ? TryLoad64(address, out ulong value) : TryLoad32(address, out value);
            if (!ok)
            {
                return false;
            }

            if (!doubleword)
            {
                value = SignExtend32(value);
            }

            _reservationValid = true;
            _reservationAddress = address;
            _reservationValue = value;
            x[ins.Rd] = value;
            return true;
        }

        if (ins.Op is Opcode.ScW or Opcode.ScD)
        {
            bool held = _reservationValid && _reservationAddress == address;
            _reservationValid = false;
            if (!held)
            {
                x[ins.Rd] = 1;
                return true;
            }

            if (!TryGetAtomicPointer(address, size, out byte* target))
            {
                return false;
            }

            bool success;
            if (target == null)
            {
                success = _bus.TryWrite(_atomicPhysical, size, x[ins.Rs2]);
            }
            else if (doubleword)
            {
                success = Interlocked.CompareExchange(ref *(ulong*)target, x[ins.Rs2], _reservationValue) == _reservationValue;
            }
            else
            {
                uint expected = (uint)_reservationValue;
                success = Interlocked.CompareExchange(ref *(uint*)target, (uint)x[ins.Rs2], expected) == expected;
            }

            x[ins.Rd] = success ? 0UL : 1UL;
            return true;
        }

        if (!TryGetAtomicPointer(address, size, out byte* host))
        {
            return false;
        }

        ulong operand = x[ins.Rs2];
        ulong old;
        if (host == null)
        {
            // An AMO on a device register: read-modify-write through the bus (devices are not
            // shared with other writers in a way that needs atomicity).
            if (!_bus.TryRead(_atomicPhysical, size, out old))
            {
                return Fault(ExceptionCause.StoreAccessFault, address);
            }

            ulong result = doubleword ? AmoCombine(ins.Op, old, operand) : AmoCombine(ins.Op, SignExtend32(old), SignExtend32(operand));
            _bus.TryWrite(_atomicPhysical, size, result);
        }
        else if (doubleword)
        {
            old = AmoDoubleword(ins.Op, (ulong*)host, operand);
        }
        else
        {
            old = AmoWord(ins.Op, (uint*)host, (uint)operand);
        }

        x[ins.Rd] = doubleword ? old : SignExtend32(old);
        return true;
    }

    private ulong _atomicPhysical;

    /// <summary>
    /// Translates an AMO/SC target for writing. Returns the host pointer for RAM (after noting the
    /// write for the code cache and dirty log), or null with the physical address in
    /// <see cref="_atomicPhysical"/> for MMIO.
    /// </summary>
    private bool TryGetAtomicPointer(ulong address, int size, out byte* host)
    {
        host = Lookup(_tlbStore, address, size);
        if (host != null)
        {
            return true;
        }

        if (!Translate(address, AccessKind.Store, _dataMmuIndex, out ulong physical))
        {
            return false;
        }

        _atomicPhysical = physical;
        if (_memory.Contains(physical, (ulong)size))
        {
            _memory.NoteWrite(physical, (ulong)size);
            host = _memory.HostPointer + (physical - _memory.Base);
        }

        return true;
    }

    private static ulong AmoDoubleword(Opcode op, ulong* target, ulong operand)
    {
        switch (op)
        {
            case Opcode.AmoSwapD: return Interlocked.Exchange(ref *target, operand);
            case Opcode.AmoAddD: return Interlocked.Add(ref *target, operand) - operand;
            case Opcode.AmoAndD: return Interlocked.And(ref *target, operand);
            case Opcode.AmoOrD: return Interlocked.Or(ref *target, operand);
        }

        ulong old;
        do
        {
            old = Volatile.Read(ref *target);
        }
        while (Interlocked.CompareExchange(ref *target, AmoCombine(op, old, operand), old) != old);
        return old;
    }

    private static ulong AmoWord(Opcode op, uint* target, uint operand)
    {
        switch (op)
        {
            case Opcode.AmoSwapW: return Interlocked.Exchange(ref *target, operand);
            case Opcode.AmoAddW: return Interlocked.Add(ref *target, operand) - operand;
            case Opcode.AmoAndW: return Interlocked.And(ref *target, operand);
            case Opcode.AmoOrW: return Interlocked.Or(ref *target, operand);
        }

        uint old;
        do
        {
            old = Volatile.Read(ref *target);
        }
        while (Interlocked.CompareExchange(ref *target, (uint)AmoCombine(op, SignExtend32(old), SignExtend32(operand)), old) != old);
        return old;
    }

    /// <summary>The value an AMO stores, given the old memory value and the operand (words sign-extended).</summary>
    private static ulong AmoCombine(Opcode op, ulong old, ulong operand) => op switch
    {
        Opcode.AmoSwapW or Opcode.AmoSwapD => operand,
        Opcode.AmoAddW or Opcode.AmoAddD => old + operand,
        Opcode.AmoXorW or Opcode.AmoXorD => old ^ operand,
        Opcode.AmoAndW or Opcode.AmoAndD => old & operand,
        Opcode.AmoOrW or Opcode.AmoOrD => old | operand,
        Opcode.AmoMinW or Opcode.AmoMinD => (long)old < (long)operand ? old : operand,
        Opcode.AmoMaxW or Opcode.AmoMaxD => (long)old > (long)operand ? old : operand,
        Opcode.AmoMinuW or Opcode.AmoMinuD => old < operand ? old : operand,
        _ => old > operand ? old : operand,
    };
}
