using System.Globalization;
using System.Net;
using Vessel.Network.Packets;
using Vessel.Network.User;

namespace Vessel.Network;

/// <summary>
/// A parsed <c>--net</c> option: which backend and its settings. <see cref="Parse"/> reads
/// QEMU-like strings:
/// <list type="bullet">
/// <item><c>user[,net=10.0.2.0/24][,host=A][,dns=A][,dhcpstart=A][,restrict=on|off][,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...</c></item>
/// <item><c>tap,ifname=NAME</c></item>
/// <item><c>socket,listen=[ADDR]:PORT</c> or <c>socket,connect=ADDR:PORT</c></item>
/// <item><c>switch,path=PATH</c></item>
/// </list>
/// Every kind also takes <c>mac=52:54:00:12:34:56</c>. Mistakes raise
/// <see cref="NetworkOptionsException"/> with one sentence.
/// </summary>
public abstract record NetworkOptions
{
    /// <summary>The NIC's MAC address when given with <c>mac=</c>; otherwise the VM generates one.</summary>
    public MacAddress? Mac { get; init; }

    public static NetworkOptions Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(',');
        string kind = parts[0].Trim();
        if (kind.Length == 0)
        {
            throw new NetworkOptionsException("the --net option is empty (expected user, tap,ifname=NAME, socket,listen=|connect=ADDR:PORT or switch,path=PATH)");
        }

        var settings = new List<KeyValuePair<string, string>>();
        foreach (string part in parts.AsSpan(1))
        {
            int equals = part.IndexOf('=');
            if (equals <= 0)
            {
                throw new NetworkOptionsException($"'{part}' in --net {kind} is not of the form key=value");
            }

            settings.Add(new(part[..equals].Trim(), part[(equals + 1)..].Trim()));
        }

        return kind switch
        {
            "user" => ParseUser(settings),
            "tap" => ParseTap(settings),
            "socket" => ParseSocket(settings),
            "switch" => ParseSwitch(settings),
            _ => throw new NetworkOptionsException($"unknown network kind '{kind}' (expected user, tap, socket or switch)"),
        };
    }

    private static UserNetworkOptions ParseUser(List<KeyValuePair<string, string>> settings)
    {
        CheckKeys("user", settings, ["net", "host", "dns", "dhcpstart", "hostfwd", "restrict", "mac"], repeatable: "hostfwd");
        var options = new UserNetworkOptions();
        var forwards = new List<PortForward>();
        foreach ((string key, string value) in settings)
        {
            options = key switch
            {
                "net" => ParseNet(options, value),
                "host" => options with { Host = ParseAddress("host", value) },
                "dns" => options with { Dns = ParseAddress("dns", value) },
                "dhcpstart" => options with { DhcpStart = ParseAddress("dhcpstart", value) },
                "mac" => options with { Mac = MacAddress.Parse(value) },
                "restrict" => options with { Restrict = ParseOnOff("restrict", value) },
                _ => options,
            };
            if (key == "hostfwd")
            {
                forwards.Add(ParseHostForward(value));
            }
        }

        options = options with { PortForwards = forwards };
        options.Validate();
        return options;
    }

    private static UserNetworkOptions ParseNet(UserNetworkOptions options, string value)
    {
        int slash = value.IndexOf('/');
        string addressText = slash < 0 ? value : value[..slash];
        Ipv4Address network = ParseAddress("net", addressText);
        int prefix = 24;
        if (slash >= 0)
        {
            string maskText = value[(slash + 1)..];
            if (Ipv4Address.TryParse(maskText, out Ipv4Address mask))
            {
                prefix = System.Numerics.BitOperations.PopCount(mask.Value);
                if (Ipv4Address.MaskOf(prefix) != mask)
                {
                    throw new NetworkOptionsException($"net={value} has a network mask whose ones are not contiguous");
                }
            }
            else if (!int.TryParse(maskText, NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > 32)
            {
                throw new NetworkOptionsException($"net={value} needs a prefix length between 0 and 32 or a mask like 255.255.255.0 after the '/'");
            }
        }

        return options with { Network = network, PrefixLength = prefix };
    }

    /// <summary>Parses QEMU's <c>[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT</c>.</summary>
    internal static PortForward ParseHostForward(string value)
    {
        string usage = $"hostfwd={value} is not of the form tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
        int dash = value.IndexOf('-');
        if (dash < 0)
        {
            throw new NetworkOptionsException(usage);
        }

        string[] host = value[..dash].Split(':');
        string[] guest = value[(dash + 1)..].Split(':');
        if (host.Length != 3 || guest.Length != 2)
        {
            throw new NetworkOptionsException(usage);
        }

        ForwardProtocol protocol = host[0] switch
        {
            "" or "tcp" => ForwardProtocol.Tcp,
            "udp" => ForwardProtocol.Udp,
            _ => throw new NetworkOptionsException($"hostfwd={value} names protocol '{host[0]}' (expected tcp or udp)"),
        };

        IPAddress hostAddress = IPAddress.Loopback;
        if (host[1].Length > 0)
        {
            hostAddress = ParseAddress("hostfwd host address", host[1]).ToIPAddress();
        }

        int hostPort = ParsePort($"hostfwd={value}", host[2], allowZero: true);
        Ipv4Address? guestAddress = guest[0].Length > 0 ? ParseAddress("hostfwd guest address", guest[0]) : null;
        int guestPort = ParsePort($"hostfwd={value}", guest[1], allowZero: false);
        return new PortForward(protocol, hostAddress, hostPort, guestAddress, guestPort);
    }

    private static TapNetworkOptions ParseTap(List<KeyValuePair<string, string>> settings)
    {
        CheckKeys("tap", settings, ["ifname", "mac"], repeatable: null);
        string? name = null;
        MacAddress? mac = null;
        foreach ((string key, string value) in settings)
        {
            if (key == "ifname")
            {
                name = value;
            }
            else
            {
                mac = MacAddress.Parse(value);
            }
        }

        if (name is null)
        {
            throw new NetworkOptionsException("--net tap needs ifname=NAME (the TAP interface to use or create)");
        }

        if (name.Length is 0 or > 15 || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || c > 0x7E) || name is "." or "..")
        {
            throw new NetworkOptionsException($"'{name}' is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)");
        }

        return new TapNetworkOptions(name) { Mac = mac };
    }

    private static SocketNetworkOptions ParseSocket(List<KeyValuePair<string, string>> settings)
    {
        CheckKeys("socket", settings, ["listen", "connect", "mac"], repeatable: null);
        IPEndPoint? listen = null;
        IPEndPoint? connect = null;
        MacAddress? mac = null;
        foreach ((string key, string value) in settings)
        {
            switch (key)
            {
                case "listen":
                    listen = ParseEndPoint("listen", value, defaultAddress: IPAddress.Any);
                    break;
                case "connect":
                    connect = ParseEndPoint("connect", value, defaultAddress: null);
                    break;
                default:
                    mac = MacAddress.Parse(value);
                    break;
            }
        }

        if ((listen is null) == (connect is null))
        {
            throw new NetworkOptionsException("--net socket needs exactly one of listen=[ADDR]:PORT or connect=ADDR:PORT");
        }

        return new SocketNetworkOptions { Listen = listen, Connect = connect, Mac = mac };
    }

    private static SwitchNetworkOptions ParseSwitch(List<KeyValuePair<string, string>> settings)
    {
        CheckKeys("switch", settings, ["path", "mac"], repeatable: null);
        string? path = null;
        MacAddress? mac = null;
        foreach ((string key, string value) in settings)
        {
            if (key == "path")
            {
                path = value;
            }
            else
            {
                mac = MacAddress.Parse(value);
            }
        }

        if (string.IsNullOrEmpty(path))
        {
            throw new NetworkOptionsException("--net switch needs path=PATH (the socket of a running 'vessel switch')");
        }

        return new SwitchNetworkOptions(path) { Mac = mac };
    }

    private static IPEndPoint ParseEndPoint(string key, string value, IPAddress? defaultAddress)
    {
        int colon = value.LastIndexOf(':');
        if (colon < 0)
        {
            throw new NetworkOptionsException($"{key}={value} is not of the form ADDR:PORT");
        }

        string addressText = value[..colon];
        IPAddress address;
        if (addressText.Length == 0)
        {
            address = defaultAddress ?? throw new NetworkOptionsException($"{key}={value} needs an address before the ':'");
        }
        else
        {
            address = ParseAddress(key, addressText).ToIPAddress();
        }

        return new IPEndPoint(address, ParsePort($"{key}={value}", value[(colon + 1)..], allowZero: key == "listen"));
    }

    private static bool ParseOnOff(string key, string value) => value switch
    {
        "on" or "yes" or "y" => true,
        "off" or "no" or "n" => false,
        _ => throw new NetworkOptionsException($"{key}={value} must be on or off"),
    };

    private static Ipv4Address ParseAddress(string what, string text)
    {
        if (!Ipv4Address.TryParse(text, out Ipv4Address address))
        {
            throw new NetworkOptionsException($"'{text}' given for {what} is not an IPv4 address");
        }

        return address;
    }

    private static int ParsePort(string context, string text, bool allowZero)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535 || (port == 0 && !allowZero))
        {
            throw new NetworkOptionsException($"'{text}' in {context} is not a port number (1 to 65535)");
        }

        return port;
    }

    private static void CheckKeys(string kind, List<KeyValuePair<string, string>> settings, string[] known, string? repeatable)
    {
        var seen = new HashSet<string>();
        foreach ((string key, _) in settings)
        {
            if (!known.Contains(key))
            {
                throw new NetworkOptionsException($"--net {kind} has no option '{key}' (known: {string.Join(", ", known)})");
            }

            if (key != repeatable && !seen.Add(key))
            {
                throw new NetworkOptionsException($"--net {kind} has option '{key}' more than once");
            }
        }
    }
}
