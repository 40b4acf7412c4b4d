namespace Vessel.Machine.Virtio.Console;

/// <summary>How a virtio-console device is set up.</summary>
public sealed record VirtioConsoleOptions
{
    /// <summary>Terminal width offered with VIRTIO_CONSOLE_F_SIZE; 0 with <see cref="Rows"/> 0 to not offer a size.</summary>
    public ushort Columns { get; init; }

    /// <summary>Terminal height offered with VIRTIO_CONSOLE_F_SIZE.</summary>
    public ushort Rows { get; init; }

    /// <summary>Most bytes of input held for the guest before <see cref="VirtioConsoleDevice.EnqueueInput"/> refuses more.</summary>
    public int InputCapacity { get; init; } = 64 * 1024;

    /// <summary>Size of each of the two queues.</summary>
    public ushort QueueSize { get; init; } = 128;
}
