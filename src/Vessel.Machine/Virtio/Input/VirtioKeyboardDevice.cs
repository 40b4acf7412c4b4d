using static Vessel.Machine.Virtio.Input.InputEventCodes;

namespace Vessel.Machine.Virtio.Input;

/// <summary>
/// A keyboard, as QEMU's <c>virtio-keyboard-device</c>: the same name, ids and keys (so guests
/// that know QEMU's device treat this one alike), autorepeat done by the guest (EV_REP) and the
/// num, caps and scroll lock LEDs. Keys are Linux key codes (<c>KEY_A</c> = 30).
/// </summary>
public sealed class VirtioKeyboardDevice : VirtioInputDevice
{
    public const string DeviceName = "QEMU Virtio Keyboard";

    // The EV_KEY bits of QEMU's device, which has every key its QKeyCode table maps, as 64-bit
    // words from bit 0 (read from /sys/class/input/*/capabilities/key under QEMU 7.2).
    private static readonly ulong[] s_keyWords = [0xffff_ffff_ffff_fffe, 0xfebe_ffff_7bcf_ffff, 0x0000_3078_f800_dfff, 0x0000_0004_0000_0000];

    public VirtioKeyboardDevice()
        : base(Identity(), "virtio-keyboard")
    {
    }

    /// <summary>The keys the device announces (the guest ignores others).</summary>
    public static IReadOnlyList<ushort> SupportedKeys { get; } = Enumerable.Range(0, s_keyWords.Length * 64)
        .Where(bit => (s_keyWords[bit / 64] & (1UL << (bit % 64))) != 0)
        .Select(bit => (ushort)bit)
        .ToArray();

    /// <summary>Presses (<paramref name="down"/>) or releases a key; false when the event could not be queued.</summary>
    public bool SendKey(ushort code, bool down)
    {
        ReadOnlySpan<InputEvent> events = [new InputEvent(EvKey, code, down ? 1 : 0), InputEvent.Sync];
        return code <= KeyMax && Send(events);
    }

    private static VirtioInputIdentity Identity()
    {
        byte[] keys = new byte[s_keyWords.Length * 8];
        for (int i = 0; i < s_keyWords.Length; i++)
        {
            BitConverter.TryWriteBytes(keys.AsSpan(i * 8), s_keyWords[i]);
        }

        int length = keys.Length;
        while (length > 0 && keys[length - 1] == 0)
        {
            length--;
        }

        return new VirtioInputIdentity(
            DeviceName,
            BusType: 0x06, // BUS_VIRTUAL
            Vendor: 0x0627,
            Product: 0x0001,
            Version: 0x0001,
            EventBits: new Dictionary<ushort, byte[]>
            {
                [EvKey] = keys[..length],
                [EvRep] = [0], // size 1: the guest repeats held keys itself
                [EvLed] = Bitmap(LedNumLock, LedCapsLock, LedScrollLock),
            },
            AbsoluteAxes: new Dictionary<ushort, InputAbsInfo>());
    }
}
