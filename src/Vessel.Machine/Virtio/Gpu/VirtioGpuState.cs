namespace Vessel.Machine.Virtio.Gpu;

/// <summary>
/// virtio-gpu's state: the host-side resources with their pixels (the device's memory; the
/// guest pages backing them are saved with RAM), what the scanout shows, the cursor, the
/// pending display event and the size the host asked for.
/// </summary>
public sealed record VirtioGpuState(
    GpuResourceState[] Resources,
    GpuScanoutState Scanout,
    GpuCursorState Cursor,
    uint EventsRead,
    int RequestedWidth,
    int RequestedHeight) : VirtioDeviceState;

public sealed record GpuResourceState(uint Id, uint Format, int Width, int Height, byte[] Pixels, GpuBackingEntry[]? Backing);

/// <summary>Scanout 0: the resource it shows (0: none) and the rectangle of it.</summary>
public sealed record GpuScanoutState(uint ResourceId, int X, int Y, int Width, int Height);

public sealed record GpuCursorState(uint ResourceId, int HotX, int HotY, int X, int Y);
