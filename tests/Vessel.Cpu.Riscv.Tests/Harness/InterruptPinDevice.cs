using Vessel.Machine.Bus;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// Lets a test program drive its own hart's interrupt inputs, as a CLINT or PLIC would: a write
/// at offset 8 * hart sets that hart's pins to the written mask of mip bits (3 = MSIP, 7 = MTIP,
/// 9 = SEIP, 11 = MEIP), raising the set ones and lowering the others, through
/// <see cref="Hart.SetPin"/>.
/// </summary>
public sealed class InterruptPinDevice(RiscvProcessor processor) : IMmioDevice
{
    public static readonly int[] Pins = [3, 7, 9, 11];

    public ulong Read(ulong offset, int size) => 0;

    public void Write(ulong offset, int size, ulong value)
    {
        int hart = (int)(offset / 8);
        if (hart >= processor.Harts.Count)
        {
            return;
        }

        foreach (int pin in Pins)
        {
            processor.Harts[hart].SetPin(pin, ((value >> pin) & 1) != 0);
        }
    }
}
