using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Vessel.Server.Hosting;

namespace Vessel.Server.Hosts;

/// <summary>
/// The agent endpoint of <c>vessel serve</c> (<c>--agent-listen ADDRESS:PORT</c>): gRPC over
/// HTTP/2 on TLS with a client certificate required. It is a Kestrel server of its own, beside
/// the API's: nothing of the API (its sessions, tokens, routes) is reachable on it, and the
/// agent channel is not reachable on the API's listeners. Its server certificate is issued by
/// the manager's CA (agents trust nothing else there) and renewed in memory before it ends.
/// </summary>
public sealed class AgentEndpoint(
    ServerOptions options,
    HostCertificateAuthority authority,
    HostRegistry registry,
    ILogger<AgentEndpoint> logger) : IHostedService, IAsyncDisposable
{
    private readonly Lock _lock = new();
    private WebApplication? _app;
    private X509Certificate2? _certificate;

    /// <summary>Reads <c>--agent-listen</c>: ADDRESS:PORT (or https://ADDRESS:PORT); null when not given.</summary>
    public static ListenAddress? ParseListen(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value == "none")
        {
            return null;
        }

        string url = value.Contains("://", StringComparison.Ordinal) ? value : $"https://{value}";
        if (!url.StartsWith("https://", StringComparison.Ordinal))
        {
            throw new ServerStartException($"--agent-listen takes ADDRESS:PORT (the agent channel is always TLS), not '{value}'");
        }

        try
        {
            return ListenAddress.Parse(url);
        }
        catch (FormatException e)
        {
            throw new ServerStartException($"--agent-listen '{value}' is not ADDRESS:PORT ({e.Message.TrimEnd('.')})");
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.AgentListen is not { } listen)
        {
            return;
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        // The daemon says where agents connect; the endpoint's own start and stop are not news.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // An agent that goes away cancels its call: gRPC reports that at Information with a stack.
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(authority);
        builder.Services.AddSingleton(registry);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            Action<ListenOptions> configure = endpoint =>
            {
                endpoint.Protocols = HttpProtocols.Http2;
                endpoint.UseHttps(https =>
                {
                    https.ServerCertificateSelector = (_, _) => CurrentCertificate();
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    // Every client certificate gets through the handshake so that the refusal can
                    // be a sentence the agent prints (a failed handshake says nothing):
                    // AgentChannelService checks the chain to our CA before it reads a message.
                    https.AllowAnyClientCertificate();
                });
            };
            if (listen.IsAny)
            {
                kestrel.ListenAnyIP(listen.Port, configure);
            }
            else if (listen.IsLocalhost)
            {
                kestrel.ListenLocalhost(listen.Port, configure);
            }
            else
            {
                kestrel.Listen(listen.Address!, listen.Port, configure);
            }
        });
        WebApplication app = builder.Build();
        app.MapGrpcService<AgentChannelService>();
        await app.StartAsync(cancellationToken);
        _app = app;
        string? bound = app.Urls.FirstOrDefault();
        if (bound is not null && Uri.TryCreate(bound.Replace("[::]", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out Uri? uri))
        {
            registry.AgentEndpointPort = uri.Port;
        }

        logger.LogInformation("Agent endpoint listening on {Address}", bound);
    }

    /// <summary>The endpoint's certificate, issued again when it has less than a week left.</summary>
    private X509Certificate2 CurrentCertificate()
    {
        lock (_lock)
        {
            if (_certificate is null || _certificate.NotAfter.ToUniversalTime() < DateTime.UtcNow.AddDays(7))
            {
                _certificate = authority.IssueEndpointCertificate();
            }

            return _certificate;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            // The agents' streams never end by themselves: end them, or the stop waits out its timeout.
            registry.DisconnectAll();
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
