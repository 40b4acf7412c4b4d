using Vessel.Machine.Display;
using Vessel.Machine.Memory;

namespace Vessel.Machine.Virtio.Gpu;

/// <summary>One piece of the guest's backing memory for a resource: a guest physical range checked to lie in RAM.</summary>
public readonly record struct GpuBackingEntry(ulong Address, uint Length);

/// <summary>
/// A 2D resource: its pixels in host memory (owned by the device, and saved with it) and the
/// guest pages that back it (the guest's, saved with RAM), from which transfers copy.
/// </summary>
internal sealed class GpuResource
{
    /// <summary>What the host spends on a resource besides its pixels, counted against the device's memory budget.</summary>
    public const int Overhead = 4096;

    private long[] _backingStarts = [];

    public GpuResource(uint id, uint format, SourcePixelFormat pixelFormat, int width, int height)
    {
        Id = id;
        Format = format;
        PixelFormat = pixelFormat;
        Width = width;
        Height = height;
        Pixels = new byte[(long)width * height * VirtioGpuProtocol.BytesPerPixel];
    }

    public uint Id { get; }

    public uint Format { get; }

    public SourcePixelFormat PixelFormat { get; }

    public int Width { get; }

    public int Height { get; }

    public int Stride => Width * VirtioGpuProtocol.BytesPerPixel;

    public byte[] Pixels { get; }

    public GpuBackingEntry[]? Backing { get; private set; }

    /// <summary>Host bytes this resource costs: pixels, the backing list, the fixed overhead.</summary>
    public long HostBytes => Pixels.LongLength + Overhead + ((Backing?.Length ?? 0) * 24L);

    public static long HostBytesFor(int width, int height) => ((long)width * height * VirtioGpuProtocol.BytesPerPixel) + Overhead;

    public void AttachBacking(GpuBackingEntry[] entries)
    {
        Backing = entries;
        _backingStarts = new long[entries.Length];
        long start = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            _backingStarts[i] = start;
            start += entries[i].Length;
        }
    }

    public void DetachBacking()
    {
        Backing = null;
        _backingStarts = [];
    }

    public bool Contains(uint x, uint y, uint width, uint height) =>
        (ulong)x + width <= (ulong)Width && (ulong)y + height <= (ulong)Height;

    /// <summary>
    /// Copies backing bytes starting <paramref name="offset"/> bytes in; as much as the backing
    /// holds (a guest that attached too little memory gets a partly stale resource, as on QEMU).
    /// </summary>
    public void CopyFromBacking(GuestMemory memory, ulong offset, Span<byte> destination)
    {
        GpuBackingEntry[]? backing = Backing;
        if (backing is null || backing.Length == 0 || offset > long.MaxValue)
        {
            return;
        }

        int index = Array.BinarySearch(_backingStarts, (long)offset);
        if (index < 0)
        {
            index = ~index - 1;
        }

        long within = (long)offset - _backingStarts[index];
        int copied = 0;
        while (copied < destination.Length && index < backing.Length)
        {
            GpuBackingEntry entry = backing[index];
            if (within < entry.Length)
            {
                int piece = (int)Math.Min(entry.Length - within, destination.Length - copied);
                memory.GetReadSpan(entry.Address + (ulong)within, piece).CopyTo(destination[copied..]);
                copied += piece;
            }

            within = 0;
            index++;
        }
    }
}
