using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vessel.Client.Contracts;

namespace Vessel.Client;

/// <summary>The client over the network: HTTPS to a server URL, a bearer token, the server's certificate trusted or pinned.</summary>
public sealed partial class VesselClient
{
    /// <summary>
    /// A client of the daemon at <paramref name="server"/> (https://HOST:PORT) that sends
    /// <paramref name="token"/> as <c>Authorization: Bearer</c>. The server's certificate must be
    /// trusted by the system, or have the SHA-256 <paramref name="fingerprint"/> pinned here (hex,
    /// colons allowed), as one trusts a self-signed certificate that was checked by hand.
    /// </summary>
    public static VesselClient ForServer(Uri server, string? token, string? fingerprint = null)
    {
        if (server.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"The server URL {server} is not https://; the daemon serves its API over HTTPS only.", nameof(server));
        }

        byte[]? pinned = null;
        if (!string.IsNullOrWhiteSpace(fingerprint))
        {
            pinned = ServerTrust.ParseFingerprint(fingerprint)
                ?? throw new ArgumentException($"'{fingerprint}' is not a SHA-256 fingerprint (64 hex digits, colons allowed).", nameof(fingerprint));
        }

        var trust = new ServerTrust(pinned);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = trust.Validate },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };
        var baseAddress = new UriBuilder(server) { Path = "/", Query = "", Fragment = "" }.Uri;
        return new VesselClient(handler, baseAddress, baseAddress.GetLeftPart(UriPartial.Authority), token, trust);
    }

    // ---- the HTTPS listener's certificate, console tickets ---------------------------------

    public Task<CertificateInfo> GetCertificateAsync(CancellationToken cancellationToken = default) => GetAsync<CertificateInfo>("api/v1/hosts/local/certificate", cancellationToken);

    public Task<CertificateInfo> ReplaceCertificateAsync(string certificatePem, string keyPem, CancellationToken cancellationToken = default) =>
        SendForAsync<CertificateInfo>(HttpMethod.Put, "api/v1/hosts/local/certificate", new CertificateReplaceRequest(certificatePem, keyPem), cancellationToken);

    public Task<ConsoleTicket> RequestConsoleTicketAsync(string vm, string kind = ConsoleKinds.Serial, CancellationToken cancellationToken = default) =>
        PostAsync<ConsoleTicket>($"api/v1/vms/{Segment(vm)}/console/ticket", new ConsoleTicketRequest(kind), cancellationToken);
}

/// <summary>
/// Whether a remote client accepts the server's certificate: the pinned SHA-256 fingerprint when
/// there is one (then nothing else matters, as with Proxmox's fingerprints), else the system's
/// trust. It remembers the certificate it refused, so that the error names its fingerprint.
/// </summary>
public sealed class ServerTrust(byte[]? pinned)
{
    private volatile string? _refusedFingerprint;
    private volatile string? _refusedReason;

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            _refusedFingerprint = null;
            _refusedReason = "it showed no certificate";
            return false;
        }

        byte[] hash = certificate.GetCertHash(HashAlgorithmName.SHA256);
        if (pinned is not null)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, pinned))
            {
                return true;
            }

            _refusedFingerprint = Format(hash);
            _refusedReason = null;
            return false;
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        _refusedFingerprint = Format(hash);
        _refusedReason = errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) && !errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)
            ? "it does not name the host in the URL"
            : "no authority this system trusts signed it";
        return false;
    }

    /// <summary>One sentence for a request that failed on the server's certificate; null when it failed otherwise.</summary>
    public string? Explain(HttpRequestException e, string where)
    {
        if (e.InnerException is not AuthenticationException || (_refusedFingerprint is null && _refusedReason is null))
        {
            return null;
        }

        if (_refusedFingerprint is not { } fingerprint)
        {
            return $"The server {where} is refused because {_refusedReason}.";
        }

        // Kept under a line's worth of words with the fingerprint in it: one sentence to act on.
        return _refusedReason is { } reason
            ? $"The certificate of {where} is not trusted ({reason}); if vessel serve printed the SHA-256 fingerprint {fingerprint} at start, pin it with --fingerprint or VESSEL_FINGERPRINT."
            : $"The certificate of {where} has the SHA-256 fingerprint {fingerprint}, not the pinned one; compare it with what vessel serve printed at start before pinning it.";
    }

    /// <summary>Reads a SHA-256 fingerprint written as hex, with or without colons; null if it is not one.</summary>
    public static byte[]? ParseFingerprint(string text)
    {
        string hex = text.Trim().Replace(":", "", StringComparison.Ordinal);
        if (hex.Length != 64)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>As the daemon prints it: upper-case hex pairs joined by colons.</summary>
    public static string Format(byte[] hash) => string.Join(':', Convert.ToHexString(hash).Chunk(2).Select(c => new string(c)));
}
