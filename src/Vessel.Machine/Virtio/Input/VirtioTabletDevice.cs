using static Vessel.Machine.Virtio.Input.InputEventCodes;

namespace Vessel.Machine.Virtio.Input;

/// <summary>
/// An absolute pointer, as QEMU's <c>virtio-tablet-device</c>: X and Y from 0 to
/// <see cref="AxisMaximum"/> across the screen, five buttons, and a wheel (REL_WHEEL). A VNC
/// client's pointer maps onto it directly, with no acceleration to fight.
/// </summary>
public sealed class VirtioTabletDevice : VirtioInputDevice
{
    public const string DeviceName = "QEMU Virtio Tablet";

    /// <summary>The largest axis value (QEMU's INPUT_EVENT_ABS_MAX).</summary>
    public const int AxisMaximum = 0x7fff;

    public VirtioTabletDevice()
        : base(Identity(), "virtio-tablet")
    {
    }

    /// <summary>Scales a screen coordinate (0 .. size-1) onto the axis (0 .. <see cref="AxisMaximum"/>), as QEMU does.</summary>
    public static int ScaleToAxis(int value, int size)
    {
        if (size <= 1)
        {
            return 0;
        }

        long clamped = Math.Clamp(value, 0, size - 1);
        return (int)(clamped * AxisMaximum / (size - 1));
    }

    private static VirtioInputIdentity Identity() => new(
        DeviceName,
        BusType: 0x06, // BUS_VIRTUAL
        Vendor: 0x0627,
        Product: 0x0003,
        Version: 0x0002,
        EventBits: new Dictionary<ushort, byte[]>
        {
            [EvKey] = Bitmap(BtnLeft, BtnRight, BtnMiddle, BtnSide, BtnExtra, BtnGearDown, BtnGearUp),
            [EvRel] = Bitmap(RelWheel),
            [EvAbs] = Bitmap(AbsX, AbsY),
        },
        AbsoluteAxes: new Dictionary<ushort, InputAbsInfo>
        {
            [AbsX] = new InputAbsInfo(0, AxisMaximum),
            [AbsY] = new InputAbsInfo(0, AxisMaximum),
        });
}
