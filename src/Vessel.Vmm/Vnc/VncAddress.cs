using System.Globalization;
using System.Net;

namespace Vessel.Vmm.Vnc;

/// <summary>
/// Where a VNC server listens, written as QEMU writes it: <c>unix:PATH</c>, or <c>HOST:N</c>
/// for display N, which is TCP port 5900 + N. Unlike QEMU, an empty host (<c>:1</c>) means
/// 127.0.0.1, not every address: a screen with a keyboard should not be on the network by default.
/// </summary>
public sealed record VncAddress
{
    public const int BasePort = 5900;

    /// <summary>The socket's path for a Unix socket, else null.</summary>
    public string? UnixPath { get; init; }

    /// <summary>The TCP address when <see cref="UnixPath"/> is null.</summary>
    public IPEndPoint? TcpEndPoint { get; init; }

    /// <summary>QEMU's display number (port − 5900), for TCP.</summary>
    public int Display => TcpEndPoint is null ? -1 : TcpEndPoint.Port - BasePort;

    /// <exception cref="FormatException">The text is not a VNC address.</exception>
    public static VncAddress Parse(string text)
    {
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = text["unix:".Length..];
            return path.Length == 0 ? throw new FormatException("vnc=unix: needs a path") : new VncAddress { UnixPath = path };
        }

        int colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            throw new FormatException($"vnc={text} is neither unix:PATH nor HOST:DISPLAY (such as 127.0.0.1:1, port 5901)");
        }

        string host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int display) || display > IPEndPoint.MaxPort - BasePort)
        {
            throw new FormatException($"vnc={text}: the display number after ':' must be between 0 and {IPEndPoint.MaxPort - BasePort}");
        }

        IPAddress address;
        if (host.Length == 0 || host == "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host, out address!))
        {
            throw new FormatException($"vnc={text}: '{host}' is not an IP address");
        }

        return new VncAddress { TcpEndPoint = new IPEndPoint(address, BasePort + display) };
    }

    public override string ToString() => UnixPath is not null
        ? "unix:" + UnixPath
        : string.Create(CultureInfo.InvariantCulture, $"{TcpEndPoint!.Address}:{Display}");
}
