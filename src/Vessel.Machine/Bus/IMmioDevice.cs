namespace Vessel.Machine.Bus;

/// <summary>
/// A device register window on the memory bus. The bus hands the device an offset from the
/// start of its window, never an absolute address, and an access size of 1, 2, 4 or 8 bytes.
/// Implementations are called from vCPU threads and must do their own locking.
/// </summary>
public interface IMmioDevice
{
    /// <summary>Reads <paramref name="size"/> bytes at <paramref name="offset"/>, zero-extended.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
