namespace Vessel.Machine.Virtio.Block;

/// <summary>virtio-blk request types and status codes (virtio 1.2, section 5.2.6).</summary>
public static class VirtioBlockRequest
{
    public const uint TypeIn = 0;
    public const uint TypeOut = 1;
    public const uint TypeFlush = 4;
    public const uint TypeGetId = 8;
    public const uint TypeGetLifetime = 10;
    public const uint TypeDiscard = 11;
    public const uint TypeWriteZeroes = 13;
    public const uint TypeSecureErase = 14;

    public const byte StatusOk = 0;
    public const byte StatusIoError = 1;
    public const byte StatusUnsupported = 2;

    /// <summary>struct virtio_blk_req up to the data: type, reserved, sector.</summary>
    public const int HeaderSize = 16;

    /// <summary>struct virtio_blk_discard_write_zeroes.</summary>
    public const int RangeSize = 16;

    /// <summary>The unmap flag of a discard / write-zeroes range.</summary>
    public const uint RangeFlagUnmap = 1;

    public const int SectorSize = 512;
    public const int SectorShift = 9;

    /// <summary>Length of the device ID string returned by GET_ID.</summary>
    public const int IdLength = 20;
}
