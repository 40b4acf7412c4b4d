using Vessel.Machine.Bus;

namespace Vessel.Machine.Devices;

/// <summary>
/// The SiFive test finisher, the <c>virt</c> board's power control ("sifive,test0" and the
/// syscon behind Linux's syscon-poweroff/syscon-reboot). A write to offset 0 with 0x5555 in
/// the low 16 bits powers off, 0x7777 resets, 0x3333 reports a failure with the exit code in
/// bits 16..31. Any other value is ignored and reads return 0. The device has no state.
/// </summary>
public sealed class SifiveTest : IMmioDevice
{
    /// <summary>The size of the register window on <c>virt</c>.</summary>
    public const ulong WindowSize = 0x1000;

    public const ushort Fail = 0x3333;
    public const ushort Pass = 0x5555;
    public const ushort ResetRequest = 0x7777;

    private readonly IPowerControl _power;

    public SifiveTest(IPowerControl power)
    {
        ArgumentNullException.ThrowIfNull(power);
        _power = power;
    }

    public ulong Read(ulong offset, int size) => 0;

    public void Write(ulong offset, int size, ulong value)
    {
        // Linux's syscon regmap writes 32 bits; QEMU also takes 16-bit writes.
        if (offset != 0 || (size != 4 && size != 2))
        {
            return;
        }

        ushort status = (ushort)value;
        int code = (int)((value >> 16) & 0xffff);
        switch (status)
        {
            case Fail:
                _power.Fail(code);
                break;
            case Pass:
                _power.PowerOff();
                break;
            case ResetRequest:
                _power.Reset();
                break;
        }
    }
}
