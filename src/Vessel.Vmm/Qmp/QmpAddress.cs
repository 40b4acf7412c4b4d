namespace Vessel.Vmm.Qmp;

/// <summary>
/// Where QMP listens, in QEMU's <c>-qmp</c> spelling: <c>unix:PATH[,server=on][,wait=on|off]</c>
/// (also the older <c>server</c> and <c>nowait</c>). As in QEMU, <c>wait</c> defaults to on: the
/// VM starts once the first client has connected.
/// </summary>
public sealed record QmpAddress(string Path, bool Wait)
{
    /// <summary>Parses <paramref name="text"/>; the exception's message is one sentence.</summary>
    /// <exception cref="FormatException">Not a spelling Vessel takes.</exception>
    public static QmpAddress Parse(string text)
    {
        string[] parts = text.Split(',');
        if (!parts[0].StartsWith("unix:", StringComparison.Ordinal) || parts[0].Length == "unix:".Length)
        {
            throw new FormatException($"--qmp '{text}' is not a QMP address; write it as unix:PATH[,server=on][,wait=off].");
        }

        bool wait = true;
        foreach (string option in parts.Skip(1))
        {
            switch (option)
            {
                case "server" or "server=on":
                    break;
                case "server=off":
                    throw new FormatException("--qmp server=off is not supported: Vessel listens for QMP clients, it does not connect to one.");
                case "wait" or "wait=on":
                    wait = true;
                    break;
                case "nowait" or "wait=off":
                    wait = false;
                    break;
                default:
                    throw new FormatException($"--qmp option '{option}' is not one Vessel knows; use server=on and wait=on|off.");
            }
        }

        return new QmpAddress(parts[0]["unix:".Length..], wait);
    }
}
