using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Listener;

/// <summary>
/// A real <c>vessel serve</c> listening on loopback: HTTPS and a redirect listener on ports the
/// system chose, read from what the daemon prints at start, with the fingerprint it printed,
/// and an API token of admin@vessel (made over the Unix socket) that its network clients send.
/// </summary>
public sealed class ListenerDaemon : IDisposable
{
    private ListenerDaemon(TempDirectory temp, ServeProcess serve, Uri https, Uri? http, string fingerprint, string token)
    {
        Token = token;
        Temp = temp;
        Serve = serve;
        Https = https;
        Http = http;
        Fingerprint = fingerprint;
    }

    public TempDirectory Temp { get; }

    public ServeProcess Serve { get; }

    public string DataDirectory => Serve.DataDirectory;

    /// <summary>The HTTPS listener's base URL (https://127.0.0.1:PORT/).</summary>
    public Uri Https { get; }

    /// <summary>The redirect listener's base URL, when one was asked for.</summary>
    public Uri? Http { get; }

    /// <summary>The certificate's SHA-256 fingerprint as the daemon printed it at start.</summary>
    public string Fingerprint { get; }

    /// <summary>The secret of an API token of admin@vessel (Administrator on /): network requests need one.</summary>
    public string Token { get; }

    public static async Task<ListenerDaemon> StartAsync(bool redirect = true, params string[] arguments)
    {
        var temp = new TempDirectory();
        string[] listen = ["--listen", "https://127.0.0.1:0", .. redirect ? new[] { "--listen", "http://127.0.0.1:0" } : []];
        ServeProcess serve = await ServeProcess.StartAsync(temp.File("data"), [.. listen, .. arguments]);
        try
        {
            string https = await serve.WaitForLineAsync("vessel: serving the API on https://");
            Uri? http = redirect ? new Uri("http://" + (await serve.WaitForLineAsync("vessel: redirecting http://")).Split(' ')[0] + "/") : null;
            string fingerprint = (await serve.WaitForLineAsync("vessel: TLS certificate SHA-256 fingerprint ")).Split(' ')[0];
            Vessel.Client.Contracts.TokenCreated token = await serve.Client.CreateTokenAsync(new Vessel.Client.Contracts.TokenCreateRequest("listener-tests", User: "admin@vessel"));
            return new ListenerDaemon(temp, serve, new Uri($"https://{https}/"), http, fingerprint, token.Secret);
        }
        catch
        {
            serve.Dispose();
            temp.Dispose();
            throw;
        }
    }

    /// <summary>The certificate a new TLS connection to the listener is shown.</summary>
    public async Task<X509Certificate2> PresentedCertificateAsync()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Https.Host, Https.Port);
        X509Certificate2? presented = null;
        using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            presented = certificate is null ? null : new X509Certificate2(certificate);
            return true;
        });
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        return presented ?? throw new InvalidOperationException("The listener showed no certificate.");
    }

    public static string FingerprintOf(X509Certificate2 certificate) =>
        string.Join(':', Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)));

    /// <summary>An HTTP client of the HTTPS listener that trusts exactly the certificate the daemon printed, with <see cref="Token"/> unless <paramref name="authenticated"/> is false.</summary>
    public HttpClient PinnedHttp(bool authenticated = true)
    {
        string pinned = Fingerprint;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 c && FingerprintOf(c) == pinned },
        };
        var client = new HttpClient(handler) { BaseAddress = Https };
        if (authenticated)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        }

        return client;
    }

    /// <summary>
    /// Sends <paramref name="request"/> as raw bytes over TLS (exactly as written: no client
    /// normalises its path or headers) and returns the whole response as text. Unless
    /// <paramref name="authenticated"/> is false, <see cref="Token"/> goes in a header after the request line.
    /// </summary>
    public async Task<string> RawAsync(string request, byte[]? body = null, bool authenticated = true)
    {
        if (authenticated)
        {
            int lineEnd = request.IndexOf("\r\n", StringComparison.Ordinal) + 2;
            request = request[..lineEnd] + $"Authorization: Bearer {Token}\r\n" + request[lineEnd..];
        }

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Https.Host, Https.Port);
        using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http11] });
        await tls.WriteAsync(Encoding.ASCII.GetBytes(request));
        if (body is not null)
        {
            try
            {
                await tls.WriteAsync(body);
            }
            catch (IOException)
            {
                // The server may answer and close before it read the whole body: the answer counts.
            }
        }

        await tls.FlushAsync();
        using var response = new MemoryStream();
        try
        {
            await tls.CopyToAsync(response);
        }
        catch (IOException)
        {
        }

        return Encoding.UTF8.GetString(response.ToArray());
    }

    public void Dispose()
    {
        Serve.Dispose();
        // VMs live on without their daemon (that is the point): end those the test started.
        VmmProcesses.KillAll(DataDirectory);
        Temp.Dispose();
    }
}
