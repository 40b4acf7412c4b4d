using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Vessel.Server.Hosting;

/// <summary>
/// The certificate the daemon makes for itself on first start: ECDSA P-256, self-signed, for
/// the host's names and addresses, valid two years. Users check it by its SHA-256 fingerprint
/// (printed at start) or replace it with one their CA signed.
/// </summary>
public static class SelfSignedCertificate
{
    /// <summary>The organisation in the subject, by which a later start knows the certificate as its own to renew.</summary>
    public const string Organization = "Vessel self-signed";

    public static readonly TimeSpan Validity = TimeSpan.FromDays(730);

    /// <summary>Makes a certificate with its key, as PEM texts.</summary>
    public static (string CertificatePem, string KeyPem) Create(IReadOnlyList<ListenAddress> listen, DateTimeOffset now)
    {
        (IReadOnlyList<string> dnsNames, IReadOnlyList<IPAddress> addresses) = NamesOf(listen);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(dnsNames[0]);
        subject.AddOrganizationName(Organization);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (IPAddress address in addresses)
        {
            san.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        // A day back: hosts whose clocks lag a little still accept it at once.
        using X509Certificate2 certificate = request.CreateSelfSigned(now.AddDays(-1), now + Validity);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Whether a certificate is one this daemon made (and so renews by itself).</summary>
    public static bool IsOurs(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData)
        && certificate.SubjectName.EnumerateRelativeDistinguishedNames().Any(n => n.GetSingleElementType().Value == "2.5.4.10" && n.GetSingleElementValue() == Organization);

    /// <summary>Whether a certificate names every address the daemon listens on (a new --listen address needs a new certificate).</summary>
    public static bool CoversListeners(X509Certificate2 certificate, IReadOnlyList<ListenAddress> listen)
    {
        X509SubjectAlternativeNameExtension? san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (san is null)
        {
            return false;
        }

        var addresses = san.EnumerateIPAddresses().ToHashSet();
        return listen.Where(l => l.Address is not null && !l.IsAny).All(l => addresses.Contains(l.Address!));
    }

    /// <summary>The host name first, then its FQDN and localhost; the loopback addresses, the listen addresses, and for a wildcard listener the host's own.</summary>
    private static (IReadOnlyList<string> DnsNames, IReadOnlyList<IPAddress> Addresses) NamesOf(IReadOnlyList<ListenAddress> listen)
    {
        var names = new List<string>();
        string host = Dns.GetHostName();
        AddName(names, host);
        try
        {
            // The resolver may be slow or absent on an isolated host: the FQDN is a courtesy.
            string fqdn = Dns.GetHostEntryAsync(host).WaitAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult().HostName;
            AddName(names, fqdn);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or ArgumentException)
        {
        }

        AddName(names, "localhost");
        var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (ListenAddress address in listen)
        {
            if (address.Address is { } ip && !address.IsAny && !addresses.Contains(ip))
            {
                addresses.Add(ip);
            }
        }

        if (listen.Any(l => l.IsAny))
        {
            foreach (IPAddress ip in NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address))
                .Where(a => !a.IsIPv6LinkLocal))
            {
                if (!addresses.Contains(ip))
                {
                    addresses.Add(ip);
                }
            }
        }

        return (names, addresses);
    }

    private static void AddName(List<string> names, string name)
    {
        if (name.Length > 0 && Uri.CheckHostName(name) == UriHostNameType.Dns && !names.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            names.Add(name);
        }
    }
}
