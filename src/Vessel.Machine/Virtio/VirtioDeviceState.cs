using System.Text.Json.Serialization;
using Vessel.Machine.Virtio.Balloon;
using Vessel.Machine.Virtio.Block;
using Vessel.Machine.Virtio.Console;
using Vessel.Machine.Virtio.Entropy;
using Vessel.Machine.Virtio.Gpu;
using Vessel.Machine.Virtio.Input;
using Vessel.Machine.Virtio.Net;
using Vessel.Machine.Virtio.Scsi;

namespace Vessel.Machine.Virtio;

/// <summary>
/// The device-specific part of a virtio device's saved state: plain data, one derived record
/// per device type. The type discriminator lets a snapshot be written as JSON and read back.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$device")]
[JsonDerivedType(typeof(VirtioBlockState), "virtio-blk")]
[JsonDerivedType(typeof(VirtioRngState), "virtio-rng")]
[JsonDerivedType(typeof(VirtioConsoleState), "virtio-console")]
[JsonDerivedType(typeof(VirtioBalloonState), "virtio-balloon")]
[JsonDerivedType(typeof(VirtioNetState), "virtio-net")]
[JsonDerivedType(typeof(VirtioGpuState), "virtio-gpu")]
[JsonDerivedType(typeof(VirtioInputState), "virtio-input")]
[JsonDerivedType(typeof(VirtioScsiState), "virtio-scsi")]
public abstract record VirtioDeviceState;
