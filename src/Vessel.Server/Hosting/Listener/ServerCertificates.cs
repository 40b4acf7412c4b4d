using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vessel.Client.Contracts;
using Vessel.Server.Api;

namespace Vessel.Server.Hosting;

/// <summary>
/// The HTTPS listener's certificate. It comes from the administrator's files (<c>--tls-cert</c>
/// and <c>--tls-key</c>) or from DATA_DIR/tls/ (cert.pem, key.pem: generated on first start,
/// replaced by dropping PEM files there or through <c>PUT /api/v1/hosts/local/certificate</c>).
/// Kestrel asks <see cref="Select"/> for every TLS handshake, so a replaced certificate serves
/// the next connection without a restart; a pair of files that does not load (half copied, key
/// of another certificate) leaves the current one in place.
/// </summary>
public sealed class ServerCertificates(ServerOptions options, TimeProvider time, ILogger<ServerCertificates> logger)
{
    public const string CertificateFileName = "cert.pem";
    public const string KeyFileName = "key.pem";

    private readonly Lock _lock = new();
    private Loaded? _current;

    private sealed record Loaded(X509Certificate2 Certificate, FileStamp Stamp);

    /// <summary>What the files looked like when they were loaded: a change means a reload.</summary>
    private readonly record struct FileStamp(DateTime CertificateWritten, long CertificateLength, DateTime KeyWritten, long KeyLength);

    /// <summary>Whether the files are the administrator's (<c>--tls-cert</c>); the API then leaves them alone.</summary>
    public bool FromAdministratorFiles => options.TlsCertificateFile is not null;

    public string CertificatePath => options.TlsCertificateFile ?? Path.Combine(options.TlsDirectory, CertificateFileName);

    public string KeyPath => options.TlsKeyFile ?? Path.Combine(options.TlsDirectory, KeyFileName);

    public bool IsLoaded => Volatile.Read(ref _current) is not null;

    /// <summary>
    /// Loads the certificate at start, making one first if DATA_DIR/tls/ has none (or renewing
    /// our own when it has expired or does not name a listen address). One sentence on failure.
    /// </summary>
    public void Prepare()
    {
        if (options.TlsCertificateFile is null && options.TlsKeyFile is null)
        {
            Directory.CreateDirectory(options.TlsDirectory);
            File.SetUnixFileMode(options.TlsDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (!File.Exists(CertificatePath) && !File.Exists(KeyPath))
            {
                Generate("first start");
            }
        }
        else if (options.TlsCertificateFile is null || options.TlsKeyFile is null)
        {
            throw new ServerStartException("--tls-cert and --tls-key go together: give the certificate and its key");
        }

        Loaded loaded;
        try
        {
            loaded = Load();
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ServerStartException($"cannot use the TLS certificate {CertificatePath} with the key {KeyPath} ({e.Message.TrimEnd('.')}); replace the files{(FromAdministratorFiles ? "" : ", or remove both to have a new one made")}");
        }

        if (!FromAdministratorFiles && SelfSignedCertificate.IsOurs(loaded.Certificate)
            && (loaded.Certificate.NotAfter.ToUniversalTime() < time.GetUtcNow().UtcDateTime.AddDays(30) || !SelfSignedCertificate.CoversListeners(loaded.Certificate, options.Listen)))
        {
            loaded.Certificate.Dispose();
            Generate("renewed: it expired soon or did not name a listen address");
            loaded = Load();
        }
        else if (loaded.Certificate.NotAfter.ToUniversalTime() < time.GetUtcNow().UtcDateTime)
        {
            logger.LogWarning("The TLS certificate {Path} expired on {Expiry:u}; clients refuse it until it is replaced", CertificatePath, loaded.Certificate.NotAfter.ToUniversalTime());
        }

        Volatile.Write(ref _current, loaded);
    }

    /// <summary>The certificate for a new TLS connection: the current one, reloaded first if its files changed.</summary>
    public X509Certificate2 Select()
    {
        Loaded current = Volatile.Read(ref _current) ?? throw new InvalidOperationException("The TLS certificate was not prepared.");
        FileStamp stamp;
        try
        {
            stamp = StampOf();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return current.Certificate;
        }

        if (stamp == current.Stamp)
        {
            return current.Certificate;
        }

        lock (_lock)
        {
            current = _current!;
            if (stamp == current.Stamp)
            {
                return current.Certificate;
            }

            try
            {
                Loaded loaded = Load();
                DateTime now = time.GetUtcNow().UtcDateTime;
                if (loaded.Certificate.NotAfter.ToUniversalTime() < now)
                {
                    logger.LogWarning("The new TLS certificate in {Path} expired on {Expiry:u}; still serving {Fingerprint}", CertificatePath, loaded.Certificate.NotAfter.ToUniversalTime(), Fingerprint(current.Certificate));
                    _current = current with { Stamp = stamp };
                    return current.Certificate;
                }

                logger.LogInformation("TLS certificate replaced from {Path}: SHA-256 {Fingerprint}", CertificatePath, Fingerprint(loaded.Certificate));
                // The old certificate is not disposed: handshakes in flight may still hold it.
                _current = loaded;
                return loaded.Certificate;
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                // Most often the first of two files copied in: the next change tries again.
                logger.LogWarning("The TLS files {Certificate} and {Key} changed but do not load ({Reason}); still serving {Fingerprint}", CertificatePath, KeyPath, e.Message, Fingerprint(current.Certificate));
                _current = current with { Stamp = stamp };
                return current.Certificate;
            }
        }
    }

    /// <summary>
    /// Replaces the certificate with PEM texts from the API after checking them (the key is the
    /// certificate's, it is valid now, it may serve TLS); writes them to DATA_DIR/tls/ atomically
    /// and serves them from the next connection. Throws <see cref="ApiException"/> with one sentence.
    /// </summary>
    public CertificateInfo Replace(string certificatePem, string keyPem)
    {
        if (FromAdministratorFiles)
        {
            throw ApiException.Conflict($"The daemon serves the certificate from {CertificatePath} given with --tls-cert; replace that file (new connections use it at once) or start without --tls-cert to manage it through the API.");
        }

        if (!IsLoaded)
        {
            throw ApiException.Conflict("The daemon has no HTTPS listener; start it with --listen https://ADDRESS:PORT to serve a certificate.");
        }

        X509Certificate2 certificate = Validate(certificatePem, keyPem, time.GetUtcNow());
        lock (_lock)
        {
            // Key first: until the certificate follows, the pair does not load and the old one serves on.
            WriteAtomically(KeyPath, keyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteAtomically(CertificatePath, certificatePem, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            _current = new Loaded(certificate, StampOf());
        }

        logger.LogInformation("TLS certificate replaced through the API: SHA-256 {Fingerprint}", Fingerprint(certificate));
        return Describe();
    }

    /// <summary>Checks a certificate and key given as PEM and returns the certificate with its key.</summary>
    public static X509Certificate2 Validate(string certificatePem, string keyPem, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(certificatePem) || string.IsNullOrWhiteSpace(keyPem))
        {
            throw ApiException.BadRequest("Give the certificate and its private key, both as PEM (certificate and key).");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (CryptographicException e)
        {
            throw ApiException.BadRequest(Sentences.Of($"The certificate and key do not make a pair that can serve TLS ({e.Message.TrimEnd('.')}); give the certificate's own private key, both as PEM"));
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(Sentences.Of($"The certificate or key is not PEM that can be read ({e.Message.TrimEnd('.')})"));
        }

        DateTime utcNow = now.UtcDateTime;
        DateTime notBefore = certificate.NotBefore.ToUniversalTime();
        DateTime notAfter = certificate.NotAfter.ToUniversalTime();
        if (notAfter <= utcNow)
        {
            certificate.Dispose();
            throw ApiException.BadRequest($"The certificate expired on {notAfter:yyyy-MM-dd HH:mm} UTC; give one that is valid now.");
        }

        if (notBefore > utcNow)
        {
            certificate.Dispose();
            throw ApiException.BadRequest($"The certificate is valid only from {notBefore:yyyy-MM-dd HH:mm} UTC; give one that is valid now.");
        }

        if (certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } usage
            && !usage.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value is "1.3.6.1.5.5.7.3.1" or "2.5.29.37.0"))
        {
            certificate.Dispose();
            throw ApiException.BadRequest("The certificate's extended key usage does not allow TLS servers (serverAuth); give a server certificate.");
        }

        return certificate;
    }

    /// <summary>The current certificate as the API shows it.</summary>
    public CertificateInfo Describe()
    {
        if (!IsLoaded)
        {
            throw ApiException.Conflict("The daemon has no HTTPS listener; start it with --listen https://ADDRESS:PORT to serve a certificate.");
        }

        X509Certificate2 certificate = Select();
        X509SubjectAlternativeNameExtension? san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        return new CertificateInfo(
            certificate.Subject,
            certificate.Issuer,
            [.. san?.EnumerateDnsNames() ?? [], .. san?.EnumerateIPAddresses().Select(a => a.ToString()) ?? []],
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime()),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
            Fingerprint(certificate),
            FromAdministratorFiles ? "files" : SelfSignedCertificate.IsOurs(certificate) ? "generated" : "replaced",
            CertificatePath);
    }

    /// <summary>The SHA-256 fingerprint as people compare it: upper-case hex pairs joined by colons.</summary>
    public static string Fingerprint(X509Certificate2 certificate) => string.Join(':', Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)));

    private void Generate(string why)
    {
        (string certificatePem, string keyPem) = SelfSignedCertificate.Create(options.Listen, time.GetUtcNow());
        WriteAtomically(KeyPath, keyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteAtomically(CertificatePath, certificatePem, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        logger.LogInformation("Made a self-signed TLS certificate in {Path} ({Why})", CertificatePath, why);
    }

    private Loaded Load()
    {
        // Stamp before reading: a change while reading shows as a change at the next handshake.
        FileStamp stamp = StampOf();
        return new Loaded(X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath), stamp);
    }

    private FileStamp StampOf()
    {
        var certificate = new FileInfo(CertificatePath);
        var key = new FileInfo(KeyPath);
        return new FileStamp(certificate.LastWriteTimeUtc, certificate.Exists ? certificate.Length : -1, key.LastWriteTimeUtc, key.Exists ? key.Length : -1);
    }

    /// <summary>Writes a file through a temporary one renamed over it, created with its final mode: never half written, a key never readable by others.</summary>
    private static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                stream.Write(System.Text.Encoding.ASCII.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
