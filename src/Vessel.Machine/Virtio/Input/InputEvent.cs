namespace Vessel.Machine.Virtio.Input;

/// <summary>One evdev event as virtio-input carries it (struct virtio_input_event: le16 type, le16 code, le32 value).</summary>
public readonly record struct InputEvent(ushort Type, ushort Code, int Value)
{
    public const int Size = 8;

    public static InputEvent Sync => new(InputEventCodes.EvSyn, InputEventCodes.SynReport, 0);
}

/// <summary>The Linux input event types and codes the virtio-input devices use (<c>linux/input-event-codes.h</c>).</summary>
public static class InputEventCodes
{
    public const ushort EvSyn = 0x00;
    public const ushort EvKey = 0x01;
    public const ushort EvRel = 0x02;
    public const ushort EvAbs = 0x03;
    public const ushort EvMsc = 0x04;
    public const ushort EvLed = 0x11;
    public const ushort EvRep = 0x14;

    public const ushort SynReport = 0;

    public const ushort AbsX = 0x00;
    public const ushort AbsY = 0x01;

    public const ushort RelWheel = 0x08;

    public const ushort BtnLeft = 0x110;
    public const ushort BtnRight = 0x111;
    public const ushort BtnMiddle = 0x112;
    public const ushort BtnSide = 0x113;
    public const ushort BtnExtra = 0x114;
    public const ushort BtnGearDown = 0x150;
    public const ushort BtnGearUp = 0x151;

    public const ushort LedNumLock = 0;
    public const ushort LedCapsLock = 1;
    public const ushort LedScrollLock = 2;

    /// <summary>Keys up to this code can be sent (KEY_MAX).</summary>
    public const ushort KeyMax = 0x2ff;
}

/// <summary>An absolute axis's range (struct virtio_input_absinfo).</summary>
public readonly record struct InputAbsInfo(int Minimum, int Maximum, int Fuzz = 0, int Flat = 0, int Resolution = 0);
