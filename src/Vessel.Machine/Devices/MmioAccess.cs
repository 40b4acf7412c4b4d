namespace Vessel.Machine.Devices;

/// <summary>
/// Helpers that devices with 32-bit registers use to answer 1-, 2- and 8-byte accesses the
/// way a bus bridge would: a narrow access sees a slice of the register that contains it, and
/// a wide access is two neighbouring registers.
/// </summary>
internal static class MmioAccess
{
    /// <summary>The mask of the low <paramref name="size"/> bytes.</summary>
    public static ulong Mask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    /// <summary>Extracts <paramref name="size"/> bytes at byte <paramref name="byteOffset"/> of <paramref name="register"/>.</summary>
    public static ulong Slice(ulong register, int byteOffset, int size) => (register >> (byteOffset * 8)) & Mask(size);

    /// <summary>Replaces <paramref name="size"/> bytes at byte <paramref name="byteOffset"/> of <paramref name="register"/>.</summary>
    public static ulong Merge(ulong register, int byteOffset, int size, ulong value)
    {
        ulong mask = Mask(size) << (byteOffset * 8);
        return (register & ~mask) | ((value << (byteOffset * 8)) & mask);
    }
}
