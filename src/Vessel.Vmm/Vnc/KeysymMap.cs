namespace Vessel.Vmm.Vnc;

/// <summary>The keyboard layout the guest uses, which decides the key a VNC client's keysym stands for.</summary>
public enum VncKeymap
{
    /// <summary>US English (QEMU's default, <c>-k en-us</c>).</summary>
    EnglishUs,

    /// <summary>German (<c>-k de</c>): Z and Y swapped, umlauts, ß, the key left of Y (&lt; &gt; |).</summary>
    German,
}

/// <summary>
/// Maps X11 keysyms, which VNC clients send, to Linux key codes (<c>KEY_*</c>), which the
/// virtio keyboard sends: the key that produces the symbol on the guest's layout. A client sends
/// Shift and AltGr as keys of their own, so a shifted symbol maps to its unshifted key (<c>!</c>
/// is the <c>1</c> key on both layouts). Keysyms of a layout's own letters (ä, ö, ü, ß, €, µ, §, °,
/// dead keys) map to their key on that layout, and on a US layout to the key a German layout
/// has them on, so a German client typing into a US guest gets the key it pressed.
/// </summary>
public static class KeysymMap
{
    private static readonly Dictionary<uint, ushort> s_common = BuildCommon();
    private static readonly Dictionary<uint, ushort> s_us = BuildUs();
    private static readonly Dictionary<uint, ushort> s_german = BuildGerman();

    /// <summary>Finds the Linux key code for <paramref name="keysym"/>; false for a keysym no key of the layout makes.</summary>
    public static bool TryMap(uint keysym, VncKeymap keymap, out ushort code)
    {
        Dictionary<uint, ushort> layout = keymap == VncKeymap.German ? s_german : s_us;
        if (layout.TryGetValue(keysym, out code) || s_common.TryGetValue(keysym, out code))
        {
            return true;
        }

        // Latin letters: the same key upper and lower case.
        if (keysym is >= 'A' and <= 'Z')
        {
            return layout.TryGetValue(keysym + 0x20, out code);
        }

        code = 0;
        return false;
    }

    /// <summary>Keys outside the typewriter block, the same on every layout.</summary>
    private static Dictionary<uint, ushort> BuildCommon()
    {
        var map = new Dictionary<uint, ushort>
        {
            [0xff08] = 14, // BackSpace
            [0xff09] = 15, // Tab
            [0xfe20] = 15, // ISO_Left_Tab (Shift+Tab)
            [0xff0d] = 28, // Return
            [0xff1b] = 1, // Escape
            [0xffff] = 111, // Delete
            [0xff50] = 102, // Home
            [0xff51] = 105, // Left
            [0xff52] = 103, // Up
            [0xff53] = 106, // Right
            [0xff54] = 108, // Down
            [0xff55] = 104, // Page_Up
            [0xff56] = 109, // Page_Down
            [0xff57] = 107, // End
            [0xff63] = 110, // Insert
            [0xff67] = 127, // Menu (KEY_COMPOSE)
            [0xff13] = 119, // Pause
            [0xff14] = 70, // Scroll_Lock
            [0xff15] = 99, // Sys_Req
            [0xff61] = 99, // Print
            [0xff7f] = 69, // Num_Lock
            [0xffe5] = 58, // Caps_Lock
            [0xffe1] = 42, // Shift_L
            [0xffe2] = 54, // Shift_R
            [0xffe3] = 29, // Control_L
            [0xffe4] = 97, // Control_R
            [0xffe7] = 125, // Meta_L
            [0xffe8] = 126, // Meta_R
            [0xffe9] = 56, // Alt_L
            [0xffea] = 100, // Alt_R
            [0xffeb] = 125, // Super_L
            [0xffec] = 126, // Super_R
            [0xfe03] = 100, // ISO_Level3_Shift (AltGr)
            [0xff7e] = 100, // Mode_switch
            [0x20] = 57, // space
            [0xff8d] = 96, // KP_Enter
            [0xffaa] = 55, // KP_Multiply
            [0xffab] = 78, // KP_Add
            [0xffac] = 83, // KP_Separator
            [0xffad] = 74, // KP_Subtract
            [0xffae] = 83, // KP_Decimal
            [0xffaf] = 98, // KP_Divide
            [0xff95] = 71, // KP_Home
            [0xff96] = 75, // KP_Left
            [0xff97] = 72, // KP_Up
            [0xff98] = 77, // KP_Right
            [0xff99] = 80, // KP_Down
            [0xff9a] = 73, // KP_Prior
            [0xff9b] = 81, // KP_Next
            [0xff9c] = 79, // KP_End
            [0xff9d] = 76, // KP_Begin
            [0xff9e] = 82, // KP_Insert
            [0xff9f] = 83, // KP_Delete
        };

        ReadOnlySpan<ushort> keypadDigits = [82, 79, 80, 81, 75, 76, 77, 71, 72, 73];
        for (int digit = 0; digit < 10; digit++)
        {
            map[0xffb0 + (uint)digit] = keypadDigits[digit];
        }

        // F1..F10 are KEY_F1 (59)..KEY_F10 (68); F11 and F12 are 87 and 88.
        for (uint f = 0; f < 10; f++)
        {
            map[0xffbe + f] = (ushort)(59 + f);
        }

        map[0xffc8] = 87;
        map[0xffc9] = 88;
        return map;
    }

    /// <summary>The letter and digit rows, which both layouts share except where noted.</summary>
    private static void AddLettersAndDigits(Dictionary<uint, ushort> map)
    {
        const string Row1 = "qwertyuiop";
        const string Row2 = "asdfghjkl";
        const string Row3 = "zxcvbnm";
        for (int i = 0; i < Row1.Length; i++)
        {
            map[Row1[i]] = (ushort)(16 + i);
        }

        for (int i = 0; i < Row2.Length; i++)
        {
            map[Row2[i]] = (ushort)(30 + i);
        }

        for (int i = 0; i < Row3.Length; i++)
        {
            map[Row3[i]] = (ushort)(44 + i);
        }

        // '1'..'9' are KEY_1 (2)..KEY_9 (10), '0' is KEY_0 (11).
        for (uint digit = 1; digit <= 9; digit++)
        {
            map['0' + digit] = (ushort)(1 + digit);
        }

        map['0'] = 11;
    }

    private static Dictionary<uint, ushort> BuildUs()
    {
        var map = new Dictionary<uint, ushort>();
        AddLettersAndDigits(map);
        Add(map, 12, "-_");
        Add(map, 13, "=+");
        Add(map, 26, "[{");
        Add(map, 27, "]}");
        Add(map, 39, ";:");
        Add(map, 40, "'\"");
        Add(map, 41, "`~");
        Add(map, 43, "\\|");
        Add(map, 51, ",<");
        Add(map, 52, ".>");
        Add(map, 53, "/?");
        Add(map, 2, "!");
        Add(map, 3, "@");
        Add(map, 4, "#");
        Add(map, 5, "$");
        Add(map, 6, "%");
        Add(map, 7, "^");
        Add(map, 8, "&");
        Add(map, 9, "*");
        Add(map, 10, "(");
        Add(map, 11, ")");
        AddGermanLetters(map);
        return map;
    }

    private static Dictionary<uint, ushort> BuildGerman()
    {
        var map = new Dictionary<uint, ushort>();
        AddLettersAndDigits(map);
        map['z'] = 21;
        map['y'] = 44;
        Add(map, 2, "!");
        Add(map, 3, "\"");
        Add(map, 5, "$");
        Add(map, 6, "%");
        Add(map, 7, "&");
        Add(map, 8, "/{");
        Add(map, 9, "([");
        Add(map, 10, ")]");
        Add(map, 11, "=}");
        Add(map, 12, "?\\");
        Add(map, 13, "`");
        Add(map, 16, "@");
        Add(map, 27, "+*~");
        Add(map, 43, "#'");
        Add(map, 41, "^");
        Add(map, 51, ",;");
        Add(map, 52, ".:");
        Add(map, 53, "-_");
        Add(map, 86, "<>|");
        AddGermanLetters(map);
        return map;
    }

    /// <summary>The keysyms only a German keyboard has, at the keys it has them on.</summary>
    private static void AddGermanLetters(Dictionary<uint, ushort> map)
    {
        map[0xe4] = 40; // adiaeresis
        map[0xc4] = 40; // Adiaeresis
        map[0xf6] = 39; // odiaeresis
        map[0xd6] = 39; // Odiaeresis
        map[0xfc] = 26; // udiaeresis
        map[0xdc] = 26; // Udiaeresis
        map[0xdf] = 12; // ssharp
        map[0xa7] = 4; // section (Shift+3)
        map[0xb0] = 41; // degree (Shift+^)
        map[0xb4] = 13; // acute
        map[0xb2] = 3; // twosuperior (AltGr+2)
        map[0xb3] = 4; // threesuperior (AltGr+3)
        map[0xb5] = 50; // mu (AltGr+M)
        map[0x20ac] = 18; // EuroSign (AltGr+E)
        map[0xfe50] = 13; // dead_grave (Shift+´)
        map[0xfe51] = 13; // dead_acute
        map[0xfe52] = 41; // dead_circumflex
        map[0xfe53] = 27; // dead_tilde (AltGr++)
        map.TryAdd(0xa6, 86); // brokenbar
    }

    private static void Add(Dictionary<uint, ushort> map, ushort code, string symbols)
    {
        foreach (char symbol in symbols)
        {
            map[symbol] = code;
        }
    }
}
