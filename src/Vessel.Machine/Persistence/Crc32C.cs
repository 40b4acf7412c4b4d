using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vessel.Machine.Persistence;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of every record of a saved state. The processor's CRC32
/// instruction computes it (SSE 4.2 on x86-64, the CRC extension on Arm64) through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>, eight bytes at a time.
/// </summary>
public static class Crc32C
{
    /// <summary>The initial value to pass to <see cref="Update"/>.</summary>
    public const uint Seed = 0xffff_ffff;

    /// <summary>Continues a running checksum over <paramref name="data"/>.</summary>
    /// <remarks>
    /// Compiled fully optimised at its first call: every page a migration sends or receives
    /// goes through it, and the quick first compilation of a method with a loop (tiered
    /// compilation) checksummed at a tenth of the speed for the whole of a process's first
    /// migration, before the optimised code replaced it.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte value in data)
        {
            crc = BitOperations.Crc32C(crc, value);
        }

        return crc;
    }

    /// <summary>Finishes a running checksum.</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Seed, data));
}
