using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vessel.Server.Hosting;

namespace Vessel.Server.Hosts;

/// <summary>
/// The manager's own certificate authority, made on first need in DATA_DIR/pki (ca.pem and
/// ca-key.pem, the key 0600 in a 0700 directory): ECDSA P-256, ten years. It issues each host
/// agent a client certificate (one year) whose identity is the host's id, as the SAN URI
/// <c>urn:vessel:host:&lt;uuid&gt;</c>, and the agent endpoint's server certificate (SAN URI
/// <see cref="ManagerUri"/>). Agents trust nothing but this CA on the agent channel.
/// </summary>
public sealed class HostCertificateAuthority(ServerOptions options, TimeProvider time, ILogger<HostCertificateAuthority> logger)
{
    public const string HostUriPrefix = "urn:vessel:host:";

    /// <summary>The agent endpoint's identity: agents accept a server certificate of the CA only with this name.</summary>
    public const string ManagerUri = "urn:vessel:manager";

    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3652);
    public static readonly TimeSpan HostValidity = TimeSpan.FromDays(365);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode KeyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Lock _lock = new();
    private X509Certificate2? _ca;

    public string Directory => Path.Combine(options.DataDirectory, "pki");

    public string CertificatePath => Path.Combine(Directory, "ca.pem");

    public string KeyPath => Path.Combine(Directory, "ca-key.pem");

    /// <summary>The CA's certificate with its private key, made the first time it is needed.</summary>
    public X509Certificate2 Certificate
    {
        get
        {
            lock (_lock)
            {
                return _ca ??= LoadOrCreate();
            }
        }
    }

    public string CertificatePem => Certificate.ExportCertificatePem();

    private X509Certificate2 LoadOrCreate()
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.SetUnixFileMode(Directory, DirectoryMode);
        if (!File.Exists(CertificatePath) || !File.Exists(KeyPath))
        {
            DateTimeOffset now = time.GetUtcNow();
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var subject = new X500DistinguishedNameBuilder();
            subject.AddCommonName("Vessel host CA");
            subject.AddOrganizationName("Vessel");
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            using X509Certificate2 created = request.CreateSelfSigned(now.AddDays(-1), now + CaValidity);
            // The key first, with its mode set before a byte is written: it never exists readable by others.
            WritePrivate(KeyPath, key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(CertificatePath, created.ExportCertificatePem());
            logger.LogInformation("Made the host CA {Path}", CertificatePath);
        }

        return X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath);
    }

    /// <summary>Writes a file only its owner may read (keys, agents' identities).</summary>
    public static void WritePrivate(string path, string text)
    {
        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = KeyMode });
        File.SetUnixFileMode(path, KeyMode);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    /// <summary>
    /// Issues a host's client certificate for the public key of its PKCS#10 request (the request's
    /// subject and extensions are ignored: the identity is the manager's to give).
    /// </summary>
    public X509Certificate2 IssueHostCertificate(Guid hostId, string hostName, string csrPem)
    {
        CertificateRequest csr;
        try
        {
            csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw Api.ApiException.BadRequest("The certificate signing request is not a signed PKCS#10 request in PEM.");
        }

        if (csr.PublicKey.Oid.Value != "1.2.840.10045.2.1")
        {
            throw Api.ApiException.BadRequest("The certificate signing request's key is not an ECDSA key.");
        }

        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(hostName);
        subject.AddOrganizationName("Vessel host");
        var request = new CertificateRequest(subject.Build(), csr.PublicKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(HostUriPrefix + hostId.ToString("D")));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], false));
        return Sign(request, HostValidity);
    }

    /// <summary>The agent endpoint's server certificate, with a key made here (it lives in memory only).</summary>
    public X509Certificate2 IssueEndpointCertificate()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName("Vessel agent endpoint");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(ManagerUri));
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], false));
        using X509Certificate2 issued = Sign(request, TimeSpan.FromDays(30));
        // Kestrel needs the key exportable into its TLS layer: a PKCS#12 round trip gives that.
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private X509Certificate2 Sign(CertificateRequest request, TimeSpan validity)
    {
        X509Certificate2 ca = Certificate;
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        DateTimeOffset now = time.GetUtcNow();
        DateTimeOffset notAfter = now + validity < ca.NotAfter ? now + validity : new DateTimeOffset(ca.NotAfter.ToUniversalTime());
        return request.Create(ca, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
    }

    /// <summary>
    /// The host a client certificate names, if this CA issued it, it is valid now and it is a
    /// client certificate; otherwise the one sentence that says why not.
    /// </summary>
    public (Guid? HostId, string? Refusal) IdentifyHost(X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return (null, "The agent presented no client certificate; join the host with vessel agent --join.");
        }

        if (!IsIssuedByThisCa(certificate))
        {
            return (null, "The agent's certificate was not issued by this manager's CA; join the host to this manager with vessel agent --join.");
        }

        if (!certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == ClientAuthOid)))
        {
            return (null, "The agent's certificate is not a host's client certificate.");
        }

        return HostIdOf(certificate) is { } id
            ? (id, null)
            : (null, "The agent's certificate names no host.");
    }

    /// <summary>Whether the certificate chains to this CA (and only to it) and is valid now.</summary>
    public bool IsIssuedByThisCa(X509Certificate2 certificate) => ChainsTo(certificate, Certificate, time.GetUtcNow().UtcDateTime);

    /// <summary>Chains a certificate to exactly <paramref name="root"/>, ignoring the system's authorities (no revocation lists exist: removal is checked by the manager).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 root, DateTime now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        return chain.Build(certificate)
            && chain.ChainElements.Count == 2
            && chain.ChainElements[^1].Certificate.RawData.AsSpan().SequenceEqual(root.RawData);
    }

    /// <summary>The host id of a certificate's <c>urn:vessel:host:</c> SAN URI.</summary>
    public static Guid? HostIdOf(X509Certificate2 certificate)
    {
        foreach (string uri in UrisOf(certificate))
        {
            if (uri.StartsWith(HostUriPrefix, StringComparison.Ordinal) && Guid.TryParseExact(uri[HostUriPrefix.Length..], "D", out Guid id))
            {
                return id;
            }
        }

        return null;
    }

    /// <summary>The SAN URIs (.NET's SAN extension enumerates DNS names and addresses only).</summary>
    public static IEnumerable<string> UrisOf(X509Certificate2 certificate)
    {
        X509Extension? san = certificate.Extensions.Cast<X509Extension>().FirstOrDefault(e => e.Oid?.Value == "2.5.29.17");
        if (san is null)
        {
            yield break;
        }

        var names = new List<string>();
        try
        {
            AsnReader sequence = new AsnReader(san.RawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (sequence.HasData)
            {
                if (sequence.PeekTag() == uriTag)
                {
                    names.Add(sequence.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                }
                else
                {
                    sequence.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
            names.Clear();
        }

        foreach (string name in names)
        {
            yield return name;
        }
    }
}
