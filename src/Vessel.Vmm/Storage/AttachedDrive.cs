using Vessel.Machine.Virtio;

namespace Vessel.Vmm.Storage;

/// <summary>
/// A drive as the board attached it: its id (the device name QMP's block commands take), the
/// disk it was opened from (null for the CD/DVD drive, whose disc comes and goes), and the
/// counters of the guest's requests.
/// </summary>
public sealed record AttachedDrive(string Device, HandoverDisk? Disk, BlockIoStatistics Statistics)
{
    /// <summary>A CD/DVD drive: its medium can be ejected and changed.</summary>
    public bool Removable => Disk is null;
}
