namespace Vessel.Machine.Virtio.Input;

/// <summary>virtio-input's state: events the host sent that the guest has not taken yet, and the LEDs the guest set.</summary>
public sealed record VirtioInputState(InputEvent[] PendingEvents, uint Leds) : VirtioDeviceState;
