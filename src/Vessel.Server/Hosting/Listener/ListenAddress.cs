using System.Net;

namespace Vessel.Server.Hosting;

/// <summary>
/// One network listener of <c>vessel serve --listen</c>: <c>https://ADDRESS:PORT</c> serves the
/// API, <c>http://ADDRESS:PORT</c> only redirects to HTTPS. ADDRESS is an IP address (IPv6 in
/// brackets), <c>localhost</c>, or <c>*</c> / <c>0.0.0.0</c> / <c>[::]</c> for every address.
/// Port 0 lets the system choose (the daemon prints what it got).
/// </summary>
public sealed record ListenAddress(bool Https, string Host, IPAddress? Address, int Port)
{
    public const string Default = "https://127.0.0.1:8006";

    public const int DefaultHttpsPort = 8006;

    /// <summary>Listens on every address of the host (<c>*</c>, <c>0.0.0.0</c>, <c>[::]</c>).</summary>
    public bool IsAny => Host == "*" || (Address is not null && (Address.Equals(IPAddress.Any) || Address.Equals(IPAddress.IPv6Any)));

    public bool IsLocalhost => Host.Equals("localhost", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{(Https ? "https" : "http")}://{(Address?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Host}]" : Host)}:{Port}";

    /// <summary>
    /// Parses the <c>--listen</c> values; <c>none</c> alone means the Unix socket only. Throws
    /// <see cref="ServerStartException"/> with one sentence for a value it cannot use.
    /// </summary>
    public static IReadOnlyList<ListenAddress> ParseAll(IEnumerable<string> values)
    {
        var result = new List<ListenAddress>();
        foreach (string value in values.Select(v => v.Trim()).Where(v => v.Length > 0))
        {
            if (value.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            result.Add(Parse(value));
        }

        if (result.Count > 0 && result.All(a => !a.Https))
        {
            throw new ServerStartException("an http:// listener only redirects to HTTPS, so --listen needs an https:// address too");
        }

        return result;
    }

    public static ListenAddress Parse(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || !string.IsNullOrEmpty(uri.UserInfo))
        {
            // Uri does not take '*' as a host: read it by hand.
            if (TryParseWildcard(value) is { } wildcard)
            {
                return wildcard;
            }

            throw new ServerStartException($"--listen '{value}' is not a listen address; write it like {Default}, https://[::1]:8006, https://*:8006 or http://127.0.0.1:8080");
        }

        bool https = uri.Scheme == Uri.UriSchemeHttps;
        string host = uri.Host.Trim('[', ']');
        bool explicitPort = !uri.IsDefaultPort || value.Contains($":{uri.Port}", StringComparison.Ordinal);
        int port = explicitPort ? uri.Port : https ? DefaultHttpsPort : 80;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new ListenAddress(https, "localhost", null, port);
        }

        if (!IPAddress.TryParse(host, out IPAddress? address))
        {
            throw new ServerStartException($"--listen '{value}' names the host '{host}'; give an IP address of this host (or localhost, or * for every address), so that the daemon listens where you expect");
        }

        return new ListenAddress(https, address.ToString(), address, port);
    }

    private static ListenAddress? TryParseWildcard(string value)
    {
        foreach ((string prefix, bool https) in new[] { ("https://*", true), ("http://*", false) })
        {
            if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                string rest = value[prefix.Length..].TrimEnd('/');
                if (rest.Length == 0)
                {
                    return new ListenAddress(https, "*", null, https ? DefaultHttpsPort : 80);
                }

                if (rest[0] == ':' && int.TryParse(rest[1..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port <= 65535)
                {
                    return new ListenAddress(https, "*", null, port);
                }
            }
        }

        return null;
    }
}
