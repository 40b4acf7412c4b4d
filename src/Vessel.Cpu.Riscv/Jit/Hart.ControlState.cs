namespace Vessel.Cpu.Riscv;

/// <summary>
/// The hart's control state as a list of named values, so that the translator's differential
/// tests can check that an engine left every CSR exactly as the interpreter does.
/// </summary>
public sealed unsafe partial class Hart
{
    internal IReadOnlyList<KeyValuePair<string, ulong>> CaptureControlState() =>
    [
        new("privilege", (ulong)_privilege),
        new("runstate", (ulong)RunState),
        new("mstatus", ReadMstatus()),
        new("mie", _mie),
        new("mip", ReadMip()),
        new("medeleg", _medeleg),
        new("mideleg", _mideleg),
        new("mtvec", _mtvec),
        new("mscratch", _mscratch),
        new("mepc", _mepc),
        new("mcause", _mcause),
        new("mtval", _mtval),
        new("stvec", _stvec),
        new("sscratch", _sscratch),
        new("sepc", _sepc),
        new("scause", _scause),
        new("stval", _stval),
        new("satp", _satp),
        new("fflags", _fflags),
        new("frm", _frm),
        new("instret", _instret),
        new("reservation", _reservationValid ? _reservationAddress : ulong.MaxValue),
    ];
}
