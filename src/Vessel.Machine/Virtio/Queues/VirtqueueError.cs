namespace Vessel.Machine.Virtio.Queues;

/// <summary>Ways a driver can corrupt a split virtqueue; each one makes the device need a reset.</summary>
public enum VirtqueueError
{
    /// <summary>The available index moved ahead by more than the queue size.</summary>
    AvailableIndexJump,

    /// <summary>An available ring entry names a descriptor outside the table.</summary>
    HeadOutOfRange,

    /// <summary>A <c>next</c> field names a descriptor outside its table.</summary>
    NextOutOfRange,

    /// <summary>A chain revisits a descriptor or is longer than the device accepts.</summary>
    ChainTooLong,

    /// <summary>A buffer does not lie entirely inside guest RAM.</summary>
    BufferOutsideRam,

    /// <summary>A device-readable descriptor follows a device-writable one.</summary>
    ReadableAfterWritable,

    /// <summary>The chain's total length exceeds 4 GiB.</summary>
    ChainTooLarge,

    /// <summary>An indirect descriptor used without VIRTIO_F_INDIRECT_DESC.</summary>
    IndirectNotNegotiated,

    /// <summary>An indirect descriptor inside an indirect table.</summary>
    NestedIndirect,

    /// <summary>An indirect descriptor that also has VIRTQ_DESC_F_NEXT.</summary>
    IndirectWithNext,

    /// <summary>An indirect table whose length is zero or not a multiple of 16 bytes.</summary>
    BadIndirectLength,

    /// <summary>The buffers do not have the layout the device type requires.</summary>
    MalformedRequest,
}
