using System.Text;
using Vessel.Machine.Bus;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>
/// A stand-in for the 16550 UART at 0x1000_0000 that only transmits: bytes written to THR are
/// collected, LSR always reports an empty transmitter. Enough for the oracle programs, which
/// print the same way under QEMU.
/// </summary>
public sealed class UartSink : IMmioDevice
{
    private const ulong TransmitHolding = 0;
    private const ulong LineStatus = 5;
    private const byte TransmitterEmpty = 0x60;

    private readonly StringBuilder _text = new();

    public string Text => _text.ToString();

    public ulong Read(ulong offset, int size) => offset == LineStatus ? TransmitterEmpty : 0UL;

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset == TransmitHolding)
        {
            _text.Append((char)(byte)value);
        }
    }
}
