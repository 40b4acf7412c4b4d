namespace Vessel.Machine.Devices;

/// <summary>
/// The guest-visible state of a <see cref="Uart16550"/>: its registers, the receive FIFO and
/// the interrupt latches that are not visible in any register. The host-side input queue is
/// not part of it (it belongs to the console connection, not to the hardware).
/// </summary>
public sealed record Uart16550State
{
    public ushort Divisor { get; init; }

    public byte ReceiveBuffer { get; init; }

    public byte InterruptEnable { get; init; }

    public byte InterruptIdentification { get; init; }

    public byte FifoControl { get; init; }

    public byte LineControl { get; init; }

    public byte ModemControl { get; init; }

    public byte LineStatus { get; init; }

    public byte ModemStatus { get; init; }

    public byte Scratch { get; init; }

    /// <summary>The THR-empty interrupt latch (set when THR empties or IER.THRI rises, cleared by reading IIR or writing THR).</summary>
    public bool TransmitInterruptPending { get; init; }

    /// <summary>The character-timeout interrupt latch.</summary>
    public bool TimeoutInterruptPending { get; init; }

    /// <summary>Whether the receive timeout was counting down when the state was saved.</summary>
    public bool ReceiveTimeoutArmed { get; init; }

    /// <summary>Bytes in the receive FIFO, oldest first.</summary>
    public byte[] ReceiveFifo { get; init; } = [];
}
