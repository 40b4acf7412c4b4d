using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// Where a VM's state goes to or comes from, in QEMU's URI spellings: <c>file:PATH</c>,
/// <c>unix:PATH</c>, <c>tcp:HOST:PORT</c> (or <c>tcp:[IPV6]:PORT</c>), <c>exec:COMMAND</c>,
/// and for <c>--incoming</c> only <c>defer</c> (wait for QMP <c>migrate-incoming</c>).
/// </summary>
public sealed record MigrationAddress
{
    public required MigrationTransport Transport { get; init; }

    /// <summary>The file or socket path, or the command for <see cref="MigrationTransport.Exec"/>.</summary>
    public string Path { get; init; } = string.Empty;

    public string Host { get; init; } = string.Empty;

    public int Port { get; init; }

    /// <summary>Parses a URI; the message of the exception is one sentence.</summary>
    /// <exception cref="FormatException">Not one of the spellings above.</exception>
    public static MigrationAddress Parse(string uri, bool allowDefer)
    {
        if (uri == "defer" && allowDefer)
        {
            return new MigrationAddress { Transport = MigrationTransport.Defer };
        }

        int colon = uri.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon < 0 ? uri : uri[..colon];
        string rest = colon < 0 ? string.Empty : uri[(colon + 1)..];
        switch (scheme)
        {
            case "file" when rest.Length > 0:
                return new MigrationAddress { Transport = MigrationTransport.File, Path = rest };
            case "unix" when rest.Length > 0:
                return new MigrationAddress { Transport = MigrationTransport.Unix, Path = rest };
            case "exec" when rest.Length > 0:
                return new MigrationAddress { Transport = MigrationTransport.Exec, Path = rest };
            case "tcp":
            {
                int portColon = rest.LastIndexOf(':');
                string host = portColon < 0 ? string.Empty : rest[..portColon].Trim('[', ']');
                if (portColon < 0 || !int.TryParse(rest.AsSpan(portColon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                {
                    throw new FormatException($"'{uri}' is not a tcp address; write it as tcp:HOST:PORT with a port from 1 to 65535.");
                }

                return new MigrationAddress { Transport = MigrationTransport.Tcp, Host = host.Length == 0 ? "0.0.0.0" : host, Port = port };
            }
        }

        throw new FormatException($"'{uri}' is not a migration address; use file:PATH, unix:PATH, tcp:HOST:PORT or exec:COMMAND{(allowDefer ? ", or defer" : string.Empty)}.");
    }

    /// <summary>The endpoint of a unix or tcp address.</summary>
    public EndPoint ToEndPoint()
    {
        if (Transport == MigrationTransport.Unix)
        {
            return new UnixDomainSocketEndPoint(Path);
        }

        if (IPAddress.TryParse(Host, out IPAddress? address))
        {
            return new IPEndPoint(address, Port);
        }

        return new DnsEndPoint(Host, Port);
    }

    public override string ToString() => Transport switch
    {
        MigrationTransport.Defer => "defer",
        MigrationTransport.Tcp => string.Create(CultureInfo.InvariantCulture, $"tcp:{Host}:{Port}"),
        _ => $"{Transport.ToString().ToLowerInvariant()}:{Path}",
    };
}

public enum MigrationTransport
{
    Defer,
    File,
    Unix,
    Tcp,
    Exec,
}
