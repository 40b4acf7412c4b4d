using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vessel.Server.Access;
using Vessel.Server.Api;

namespace Vessel.Server.Hosting;

/// <summary>
/// The daemon on the network: Kestrel's HTTPS listeners with the certificate of
/// <see cref="ServerCertificates"/>, HTTP listeners that only redirect, the request limits,
/// HSTS, and the refusal of cross-origin WebSocket upgrades.
/// </summary>
public static class NetworkListener
{
    /// <summary>The largest request body outside the volume upload (which streams and declares no limit).</summary>
    public const long MaxBodyBytes = 1 << 20;

    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<ServerCertificates>();
        services.AddSingleton<BoundAddresses>();
        services.AddHsts(o =>
        {
            o.MaxAge = TimeSpan.FromDays(365);
            // The daemon is often reached as localhost or by address: HSTS holds there too.
            o.ExcludedHosts.Clear();
        });
        // JSON answers escape HTML's characters (<, >, &, quotes): a name or description that holds
        // markup stays text even where a page pastes an answer into itself. The values are the same.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Create(System.Text.Unicode.UnicodeRanges.All));
        // ASP.NET answers an oversized body with a bare 413 (the body binding catches Kestrel's
        // error): give it the sentence every refusal carries.
        services.Configure<ProblemDetailsOptions>(o =>
        {
            Action<ProblemDetailsContext>? previous = o.CustomizeProblemDetails;
            o.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                if (context.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge && string.IsNullOrEmpty(context.ProblemDetails.Detail))
                {
                    context.ProblemDetails.Detail = $"The request body is larger than the {MaxBodyBytes >> 20} MiB a request may carry (only a volume upload streams more).";
                }
            };
        });
    }

    /// <summary>Adds the listeners and the limits to Kestrel (the Unix socket is added beside them).</summary>
    public static void Configure(KestrelServerOptions kestrel, ServerOptions options)
    {
        // Kestrel's defaults, stated because the network listener relies on them: a header block
        // beyond 32 KiB or 100 headers is 431, a request line beyond 8 KiB is 414.
        kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        kestrel.Limits.MaxRequestHeaderCount = 100;
        kestrel.Limits.MaxRequestLineSize = 8 * 1024;
        // JSON bodies are small; the volume upload lifts this limit for itself (DisableRequestSizeLimit).
        kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
        kestrel.AddServerHeader = false;
        foreach (ListenAddress address in options.Listen)
        {
            Action<ListenOptions> configure = listen =>
            {
                if (address.Https)
                {
                    ServerCertificates certificates = kestrel.ApplicationServices.GetRequiredService<ServerCertificates>();
                    listen.UseHttps(https => https.ServerCertificateSelector = (_, _) => certificates.Select());
                }
                else
                {
                    // A redirect listener answers one small request per connection; HTTP/1.1 is all it needs.
                    listen.Protocols = HttpProtocols.Http1;
                }
            };
            if (address.IsLocalhost)
            {
                kestrel.ListenLocalhost(address.Port, configure);
            }
            else if (address.IsAny)
            {
                kestrel.ListenAnyIP(address.Port, configure);
            }
            else
            {
                kestrel.Listen(address.Address!, address.Port, configure);
            }
        }
    }

    /// <summary>
    /// The network's rules in the pipeline: plain HTTP is answered with a redirect and nothing
    /// else, HTTPS responses carry HSTS, WebSocket upgrades from another origin are refused.
    /// </summary>
    public static void Use(WebApplication app)
    {
        // Plain HTTP never reaches the API: an http:// listener redirects each request to the same
        // path on HTTPS. (An HTTP request sent to the HTTPS port itself fails the TLS handshake;
        // answering it would mean sniffing the first bytes of every connection, and a redirect
        // listener is the robust, standard way to catch users who type http://.)
        app.Use((http, next) =>
        {
            if (http.Request.IsHttps)
            {
                // A JSON answer is never to be sniffed into HTML by a browser.
                http.Response.Headers.XContentTypeOptions = "nosniff";
                return next(http);
            }

            if (Caller.IsUnixSocket(http))
            {
                return next(http);
            }

            BoundAddresses bound = http.RequestServices.GetRequiredService<BoundAddresses>();
            string host = http.Request.Host.HasValue ? http.Request.Host.Host : http.Connection.LocalIpAddress?.ToString() ?? "localhost";
            if (IPAddress.TryParse(host, out IPAddress? ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !host.StartsWith('['))
            {
                host = $"[{host}]";
            }

            string location = $"https://{host}:{bound.HttpsPort}{http.Request.PathBase}{http.Request.Path}{http.Request.QueryString}";
            http.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
            http.Response.Headers.Location = location;
            return Task.CompletedTask;
        });
        app.UseHsts();
    }

    /// <summary>
    /// Refuses a WebSocket upgrade whose Origin is not the listener's own (scheme, host and port):
    /// a page elsewhere must not open a console or the events with the user's browser credentials.
    /// Clients that are not browsers send no Origin and pass. Goes after UseWebSockets.
    /// </summary>
    public static void UseSameOriginWebSockets(WebApplication app)
    {
        app.Use((http, next) =>
        {
            if (!http.WebSockets.IsWebSocketRequest || !http.Request.Headers.TryGetValue("Origin", out var origins))
            {
                return next(http);
            }

            string origin = origins.ToString();
            if (!IsSameOrigin(origin, http.Request))
            {
                throw new ApiException(StatusCodes.Status403Forbidden, $"A WebSocket from the origin '{HttpConventions.Short(origin)}' is refused: only pages served by this host may open it.");
            }

            return next(http);
        });
    }

    private static bool IsSameOrigin(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) || !request.Host.HasValue)
        {
            return false;
        }

        int requestPort = request.Host.Port ?? (request.IsHttps ? 443 : 80);
        return uri.Scheme.Equals(request.Scheme, StringComparison.OrdinalIgnoreCase)
            && uri.IdnHost.Trim('[', ']').Equals(request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
            && uri.Port == requestPort;
    }

    /// <summary>Reads the addresses Kestrel bound (port 0 becomes a real port) once the server runs.</summary>
    public static IReadOnlyList<string> Record(WebApplication app)
    {
        IServerAddressesFeature? feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        string[] addresses = feature?.Addresses.Where(a => !a.Contains("unix:", StringComparison.Ordinal)).ToArray() ?? [];
        BoundAddresses bound = app.Services.GetRequiredService<BoundAddresses>();
        foreach (string address in addresses)
        {
            if (address.StartsWith("https://", StringComparison.Ordinal) && BindingAddress.Parse(address) is { Port: > 0 } https)
            {
                bound.HttpsPort = https.Port;
                break;
            }
        }

        return addresses;
    }

    /// <summary>The port of the first HTTPS listener as bound, where the redirect points.</summary>
    public sealed class BoundAddresses
    {
        public int HttpsPort { get; set; } = ListenAddress.DefaultHttpsPort;
    }
}
