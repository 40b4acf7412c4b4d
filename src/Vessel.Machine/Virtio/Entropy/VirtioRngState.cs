namespace Vessel.Machine.Virtio.Entropy;

/// <summary>virtio-rng keeps no state beyond its queue.</summary>
public sealed record VirtioRngState : VirtioDeviceState;
