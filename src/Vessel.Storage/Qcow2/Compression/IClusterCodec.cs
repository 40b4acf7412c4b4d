namespace Vessel.Storage.Qcow2.Compression;

/// <summary>Compresses and decompresses single clusters the way QEMU stores them.</summary>
internal interface IClusterCodec : IDisposable
{
    /// <summary>Compresses a cluster into <paramref name="output"/>; returns the length, or -1 when it does not fit.</summary>
    int Compress(ReadOnlySpan<byte> cluster, Span<byte> output);

    /// <summary>
    /// Fills <paramref name="cluster"/> from compressed data; <paramref name="input"/> may carry
    /// trailing bytes of the next compressed cluster. Returns false when the data is invalid.
    /// </summary>
    bool Decompress(ReadOnlySpan<byte> input, Span<byte> cluster);

    public static IClusterCodec Create(Qcow2CompressionType type) => type switch
    {
        Qcow2CompressionType.Zstd => new ZstdCodec(),
        _ => new DeflateCodec(),
    };
}
