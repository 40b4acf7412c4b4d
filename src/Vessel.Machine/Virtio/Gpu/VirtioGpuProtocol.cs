namespace Vessel.Machine.Virtio.Gpu;

/// <summary>virtio-gpu command and response types, flags, formats and structure sizes (virtio 1.2, section 5.7).</summary>
public static class VirtioGpuProtocol
{
    // 2D commands
    public const uint CmdGetDisplayInfo = 0x0100;
    public const uint CmdResourceCreate2D = 0x0101;
    public const uint CmdResourceUnref = 0x0102;
    public const uint CmdSetScanout = 0x0103;
    public const uint CmdResourceFlush = 0x0104;
    public const uint CmdTransferToHost2D = 0x0105;
    public const uint CmdResourceAttachBacking = 0x0106;
    public const uint CmdResourceDetachBacking = 0x0107;
    public const uint CmdGetCapsetInfo = 0x0108;
    public const uint CmdGetCapset = 0x0109;
    public const uint CmdGetEdid = 0x010a;
    public const uint CmdResourceAssignUuid = 0x010b;
    public const uint CmdResourceCreateBlob = 0x010c;
    public const uint CmdSetScanoutBlob = 0x010d;

    // cursor commands
    public const uint CmdUpdateCursor = 0x0300;
    public const uint CmdMoveCursor = 0x0301;

    // responses
    public const uint RespOkNoData = 0x1100;
    public const uint RespOkDisplayInfo = 0x1101;
    public const uint RespOkCapsetInfo = 0x1102;
    public const uint RespOkCapset = 0x1103;
    public const uint RespOkEdid = 0x1104;
    public const uint RespErrUnspecified = 0x1200;
    public const uint RespErrOutOfMemory = 0x1201;
    public const uint RespErrInvalidScanoutId = 0x1202;
    public const uint RespErrInvalidResourceId = 0x1203;
    public const uint RespErrInvalidContextId = 0x1204;
    public const uint RespErrInvalidParameter = 0x1205;

    /// <summary>VIRTIO_GPU_FLAG_FENCE: the response echoes the fence id once the command is done.</summary>
    public const uint FlagFence = 1;

    /// <summary>VIRTIO_GPU_EVENT_DISPLAY: the display configuration changed (events_read).</summary>
    public const uint EventDisplay = 1;

    // feature bits
    public const ulong FeatureVirgl = 1UL << 0;
    public const ulong FeatureEdid = 1UL << 1;

    // formats
    public const uint FormatB8G8R8A8 = 1;
    public const uint FormatB8G8R8X8 = 2;
    public const uint FormatA8R8G8B8 = 3;
    public const uint FormatX8R8G8B8 = 4;
    public const uint FormatR8G8B8A8 = 67;
    public const uint FormatX8B8G8R8 = 68;
    public const uint FormatA8B8G8R8 = 121;
    public const uint FormatR8G8B8X8 = 134;

    /// <summary>struct virtio_gpu_ctrl_hdr: type, flags, fence_id, ctx_id, ring_idx, padding.</summary>
    public const int HeaderSize = 24;

    /// <summary>struct virtio_gpu_rect: x, y, width, height.</summary>
    public const int RectSize = 16;

    /// <summary>VIRTIO_GPU_MAX_SCANOUTS: the display info response always has this many entries.</summary>
    public const int MaxScanouts = 16;

    public const int DisplayInfoSize = HeaderSize + (MaxScanouts * (RectSize + 8));
    public const int ResourceCreate2DSize = HeaderSize + 16;
    public const int ResourceUnrefSize = HeaderSize + 8;
    public const int SetScanoutSize = HeaderSize + RectSize + 8;
    public const int ResourceFlushSize = HeaderSize + RectSize + 8;
    public const int TransferToHost2DSize = HeaderSize + RectSize + 16;
    public const int AttachBackingSize = HeaderSize + 8;
    public const int MemoryEntrySize = 16;
    public const int DetachBackingSize = HeaderSize + 8;
    public const int GetEdidSize = HeaderSize + 8;
    public const int EdidResponseSize = HeaderSize + 8 + 1024;
    public const int UpdateCursorSize = HeaderSize + 16 + 16;

    /// <summary>The most backing entries one resource may have (as QEMU: 16384).</summary>
    public const int MaxBackingEntries = 16384;

    /// <summary>Bytes per pixel: every format the 2D device knows has four.</summary>
    public const int BytesPerPixel = 4;
}
