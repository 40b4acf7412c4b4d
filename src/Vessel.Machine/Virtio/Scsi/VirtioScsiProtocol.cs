namespace Vessel.Machine.Virtio.Scsi;

/// <summary>virtio-scsi structures, response codes and feature bits (virtio 1.2, section 5.6).</summary>
public static class VirtioScsiProtocol
{
    public const ulong FeatureInOut = 1UL << 0;
    public const ulong FeatureHotplug = 1UL << 1;
    public const ulong FeatureChange = 1UL << 2;

    /// <summary>The CDB and sense sizes a driver gets unless it writes others into the configuration space.</summary>
    public const int DefaultCdbSize = 32;
    public const int DefaultSenseSize = 96;

    /// <summary>struct virtio_scsi_cmd_req up to the CDB: lun[8], id, task_attr, prio, crn.</summary>
    public const int RequestHeaderSize = 19;

    /// <summary>struct virtio_scsi_cmd_resp up to the sense: sense_len, resid, status_qualifier, status, response.</summary>
    public const int ResponseHeaderSize = 12;

    // virtio_scsi_cmd_resp.response
    public const byte ResponseOk = 0;
    public const byte ResponseOverrun = 1;
    public const byte ResponseAborted = 2;
    public const byte ResponseBadTarget = 3;
    public const byte ResponseReset = 4;
    public const byte ResponseBusy = 5;
    public const byte ResponseTransportFailure = 6;
    public const byte ResponseTargetFailure = 7;
    public const byte ResponseNexusFailure = 8;
    public const byte ResponseFailure = 9;

    // control queue
    public const uint ControlTaskManagement = 0;
    public const uint ControlAsyncQuery = 1;
    public const uint ControlAsyncSubscribe = 2;
    public const uint TmfAbortTask = 0;
    public const uint TmfAbortTaskSet = 1;
    public const uint TmfClearAca = 2;
    public const uint TmfClearTaskSet = 3;
    public const uint TmfItNexusReset = 4;
    public const uint TmfLogicalUnitReset = 5;
    public const uint TmfQueryTask = 6;
    public const uint TmfQueryTaskSet = 7;
    public const byte TmfFunctionComplete = 0;
    public const byte TmfFunctionRejected = 11;
    public const byte TmfIncorrectLun = 12;

    /// <summary>struct virtio_scsi_ctrl_tmf_req: type, subtype, lun[8], tag.</summary>
    public const int TmfRequestSize = 24;

    /// <summary>struct virtio_scsi_ctrl_an_req: type, lun[8], event_requested.</summary>
    public const int AsyncRequestSize = 16;

    public const int MaxTarget = 255;
    public const int MaxLun = 16383;
}

/// <summary>SCSI status bytes (SAM).</summary>
public static class ScsiStatus
{
    public const byte Good = 0x00;
    public const byte CheckCondition = 0x02;
}

/// <summary>The SCSI operation codes the emulated disks and CD-ROM drive understand (SPC, SBC, MMC).</summary>
public static class ScsiOpcode
{
    public const byte TestUnitReady = 0x00;
    public const byte RequestSense = 0x03;
    public const byte Read6 = 0x08;
    public const byte Write6 = 0x0a;
    public const byte Inquiry = 0x12;
    public const byte ModeSense6 = 0x1a;
    public const byte StartStopUnit = 0x1b;
    public const byte PreventAllowMediumRemoval = 0x1e;
    public const byte ReadCapacity10 = 0x25;
    public const byte Read10 = 0x28;
    public const byte Write10 = 0x2a;
    public const byte Seek10 = 0x2b;
    public const byte WriteAndVerify10 = 0x2e;
    public const byte Verify10 = 0x2f;
    public const byte SynchronizeCache10 = 0x35;
    public const byte ReadTocPmaAtip = 0x43;
    public const byte GetConfiguration = 0x46;
    public const byte Unmap = 0x42;
    public const byte GetEventStatusNotification = 0x4a;
    public const byte ReadDiscInformation = 0x51;
    public const byte ModeSense10 = 0x5a;
    public const byte Read16 = 0x88;
    public const byte Write16 = 0x8a;
    public const byte Verify16 = 0x8f;
    public const byte SynchronizeCache16 = 0x91;
    public const byte ServiceActionIn16 = 0x9e;
    public const byte ReportLuns = 0xa0;
    public const byte Read12 = 0xa8;
    public const byte Write12 = 0xaa;
    public const byte SetCdSpeed = 0xbb;
    public const byte MechanismStatus = 0xbd;

    /// <summary>SERVICE ACTION IN(16)'s READ CAPACITY(16).</summary>
    public const byte ReadCapacity16ServiceAction = 0x10;
}
