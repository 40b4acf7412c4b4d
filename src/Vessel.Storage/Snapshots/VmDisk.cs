namespace Vessel.Storage.Snapshots;

/// <summary>One disk of a VM as its snapshots see it: the device's ID (what <c>vmstate</c> names) and its open image.</summary>
public sealed record VmDisk(string Id, DiskImage Image);
