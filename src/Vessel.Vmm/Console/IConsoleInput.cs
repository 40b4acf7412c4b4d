namespace Vessel.Vmm.Console;

/// <summary>A guest device that takes console input: the UART or virtio-console.</summary>
public interface IConsoleInput
{
    /// <summary>Offers bytes to the guest; returns how many it accepted (0 when its buffer is full).</summary>
    int Offer(ReadOnlySpan<byte> data);
}
