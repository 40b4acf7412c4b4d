namespace Vessel.Machine.Virtio.Console;

/// <summary>The console's state: input accepted from the host and not yet delivered to the guest, and the terminal size.</summary>
public sealed record VirtioConsoleState(byte[] PendingInput, ushort Columns, ushort Rows) : VirtioDeviceState;
