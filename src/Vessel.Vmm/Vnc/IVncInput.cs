using Vessel.Machine.Virtio.Input;

namespace Vessel.Vmm.Vnc;

/// <summary>Where a VNC server's keys and pointer events go: the VM's virtio keyboard and tablet, or a test's recorder.</summary>
public interface IVncInput
{
    /// <summary>A key (Linux key code) pressed or released.</summary>
    void Key(ushort code, bool down);

    /// <summary>Pointer events (EV_ABS X/Y scaled to the tablet's axes, buttons, wheel), ending with a SYN_REPORT.</summary>
    void Pointer(ReadOnlySpan<InputEvent> events);
}

/// <summary>The VM's virtio keyboard and tablet (either may be absent: its events are dropped).</summary>
public sealed class VirtioVncInput(VirtioKeyboardDevice? keyboard, VirtioTabletDevice? tablet) : IVncInput
{
    public void Key(ushort code, bool down) => keyboard?.SendKey(code, down);

    public void Pointer(ReadOnlySpan<InputEvent> events) => tablet?.Send(events);
}
