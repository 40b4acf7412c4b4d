namespace Vessel.Vmm.Qmp;

/// <summary>
/// QEMU's key names (QAPI <c>QKeyCode</c>) and PC scancodes (QAPI KeyValue <c>number</c>) as Linux
/// key codes, for <c>send-key</c> and <c>input-send-event</c>.
/// </summary>
internal static class QKeyCodes
{
    private static readonly Dictionary<string, ushort> s_names = Build();

    public static ushort? FromName(string name) => s_names.TryGetValue(name, out ushort code) ? code : null;

    /// <summary>A set-1 scancode: below 0x80 it is the Linux key code; 0x80 and up stand for the 0xe0-prefixed keys.</summary>
    public static ushort? FromScancode(int scancode) => scancode switch
    {
        > 0 and < 0x80 => (ushort)scancode,
        0x9c => 96, // KP Enter
        0x9d => 97, // right Ctrl
        0xb5 => 98, // KP /
        0xb7 => 99, // Print
        0xb8 => 100, // right Alt
        0xc7 => 102, // Home
        0xc8 => 103, // Up
        0xc9 => 104, // Page Up
        0xcb => 105, // Left
        0xcd => 106, // Right
        0xcf => 107, // End
        0xd0 => 108, // Down
        0xd1 => 109, // Page Down
        0xd2 => 110, // Insert
        0xd3 => 111, // Delete
        0xdb => 125, // left Meta
        0xdc => 126, // right Meta
        0xdd => 127, // Menu
        _ => null,
    };

    private static Dictionary<string, ushort> Build()
    {
        var map = new Dictionary<string, ushort>(StringComparer.Ordinal)
        {
            ["esc"] = 1, ["minus"] = 12, ["equal"] = 13, ["backspace"] = 14, ["tab"] = 15,
            ["bracket_left"] = 26, ["bracket_right"] = 27, ["ret"] = 28, ["ctrl"] = 29,
            ["semicolon"] = 39, ["apostrophe"] = 40, ["grave_accent"] = 41, ["shift"] = 42, ["backslash"] = 43,
            ["comma"] = 51, ["dot"] = 52, ["slash"] = 53, ["shift_r"] = 54, ["kp_multiply"] = 55, ["asterisk"] = 55,
            ["alt"] = 56, ["spc"] = 57, ["caps_lock"] = 58, ["num_lock"] = 69, ["scroll_lock"] = 70,
            ["kp_7"] = 71, ["kp_8"] = 72, ["kp_9"] = 73, ["kp_subtract"] = 74, ["kp_4"] = 75, ["kp_5"] = 76, ["kp_6"] = 77,
            ["kp_add"] = 78, ["kp_1"] = 79, ["kp_2"] = 80, ["kp_3"] = 81, ["kp_0"] = 82, ["kp_decimal"] = 83,
            ["less"] = 86, ["f11"] = 87, ["f12"] = 88, ["kp_enter"] = 96, ["ctrl_r"] = 97, ["kp_divide"] = 98,
            ["sysrq"] = 99, ["print"] = 99, ["alt_r"] = 100, ["altgr"] = 100, ["altgr_r"] = 100,
            ["home"] = 102, ["up"] = 103, ["pgup"] = 104, ["left"] = 105, ["right"] = 106, ["end"] = 107,
            ["down"] = 108, ["pgdn"] = 109, ["insert"] = 110, ["delete"] = 111, ["pause"] = 119,
            ["meta_l"] = 125, ["meta_r"] = 126, ["menu"] = 127, ["compose"] = 127, ["kp_comma"] = 121, ["kp_equals"] = 117,
        };

        const string Row1 = "qwertyuiop", Row2 = "asdfghjkl", Row3 = "zxcvbnm";
        for (int i = 0; i < Row1.Length; i++)
        {
            map[Row1[i].ToString()] = (ushort)(16 + i);
        }

        for (int i = 0; i < Row2.Length; i++)
        {
            map[Row2[i].ToString()] = (ushort)(30 + i);
        }

        for (int i = 0; i < Row3.Length; i++)
        {
            map[Row3[i].ToString()] = (ushort)(44 + i);
        }

        for (int digit = 1; digit <= 9; digit++)
        {
            map[digit.ToString(System.Globalization.CultureInfo.InvariantCulture)] = (ushort)(1 + digit);
        }

        map["0"] = 11;
        for (int f = 1; f <= 10; f++)
        {
            map["f" + f.ToString(System.Globalization.CultureInfo.InvariantCulture)] = (ushort)(58 + f);
        }

        return map;
    }
}
