namespace Vessel.Machine.Virtio.Gpu;

/// <summary>How a virtio-gpu device presents its display (QEMU's <c>virtio-gpu-device</c> properties).</summary>
public sealed record VirtioGpuOptions
{
    /// <summary>The display's preferred width (QEMU's <c>xres</c>; 1280 as there).</summary>
    public int Width { get; init; } = 1280;

    /// <summary>The display's preferred height (QEMU's <c>yres</c>; 800 as there).</summary>
    public int Height { get; init; } = 800;

    /// <summary>The host memory all resources together may use (QEMU's <c>max_hostmem</c>, 256 MiB).</summary>
    public long MaxHostMemory { get; init; } = 256L << 20;

    /// <summary>Offer VIRTIO_GPU_F_EDID (QEMU's <c>edid=on</c>).</summary>
    public bool Edid { get; init; } = true;

    /// <summary>The smallest width or height the display takes.</summary>
    public const int MinDimension = 16;

    /// <summary>The largest width or height the display takes (an EDID's limit).</summary>
    public const int MaxDimension = Gpu.Edid.MaxDimension;
}
