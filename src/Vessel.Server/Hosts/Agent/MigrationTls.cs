using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Vessel.Server.Hosts.Agent;

/// <summary>
/// The TLS of a migration stream between hosts (as vSphere's encrypted vMotion): guest memory and
/// disks cross the network encrypted and authenticated. Each end presents its certificate from
/// the manager's CA — an agent its host certificate from enrolment, the manager's own host the
/// agent endpoint's — and accepts only the other end's: the destination any host of this manager
/// (the one-time ticket then says which migration), the source only the host it was told to
/// reach, so a stream never goes to a machine impersonating the destination.
/// </summary>
public sealed class MigrationTls(X509Certificate2 certificate, X509Certificate2 ca)
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The identity a host's certificate carries: <c>urn:vessel:host:ID</c>, or the manager's for its own host.</summary>
    public static string PeerOf(Guid? hostId) =>
        hostId is { } id ? HostCertificateAuthority.HostUriPrefix + id.ToString("D") : HostCertificateAuthority.ManagerUri;

    /// <summary>The destination's side: a client certificate of this CA, naming a host or the manager, is required; a failed handshake closes <paramref name="connection"/>.</summary>
    public async Task<SslStream> AcceptAsync(Stream connection)
    {
        var tls = new SslStream(connection, leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(s_handshakeTimeout);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, _) => IsOfThisCa(presented, expected: null),
            }, timeout.Token);
            return tls;
        }
        catch
        {
            tls.Dispose(); // and the connection under it
            throw;
        }
    }

    /// <summary>The source's side: the destination must present the certificate of <paramref name="expectedPeer"/>; a failed handshake closes <paramref name="connection"/>.</summary>
    public async Task<SslStream> ConnectAsync(Stream connection, string expectedPeer)
    {
        var tls = new SslStream(connection, leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(s_handshakeTimeout);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "vessel-migration",
                ClientCertificates = [certificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, _) => IsOfThisCa(presented, expectedPeer),
            }, timeout.Token);
            return tls;
        }
        catch
        {
            tls.Dispose(); // and the connection under it
            throw;
        }
    }

    /// <summary>
    /// Whether a peer's certificate chains to this CA (only to it; the system's authorities and
    /// the host name play no part) and names <paramref name="expected"/>, or any host or the
    /// manager when that is null.
    /// </summary>
    private bool IsOfThisCa(X509Certificate? presented, string? expected)
    {
        if (presented is not X509Certificate2 peer || !HostCertificateAuthority.ChainsTo(peer, ca, DateTime.UtcNow))
        {
            return false;
        }

        IEnumerable<string> uris = HostCertificateAuthority.UrisOf(peer);
        return expected is null
            ? uris.Any(u => u == HostCertificateAuthority.ManagerUri || u.StartsWith(HostCertificateAuthority.HostUriPrefix, StringComparison.Ordinal))
            : uris.Contains(expected, StringComparer.Ordinal);
    }
}
