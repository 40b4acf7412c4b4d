using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Listener;

/// <summary>
/// <c>vessel serve --listen</c> on loopback: the certificate it makes, HSTS, plain HTTP only as a
/// redirect, and the certificate replaced through the API and through files while it runs.
/// </summary>
public sealed class HttpsListenerTests
{
    [Fact]
    public async Task TheGeneratedCertificateNamesLocalhostAndTheLoopbackAddressesAndIsPrintedByFingerprint()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        using X509Certificate2 presented = await daemon.PresentedCertificateAsync();

        Assert.Equal(daemon.Fingerprint, ListenerDaemon.FingerprintOf(presented));
        X509SubjectAlternativeNameExtension names = presented.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(Dns.GetHostName(), names.EnumerateDnsNames(), StringComparer.OrdinalIgnoreCase);
        Assert.Contains(IPAddress.Loopback, names.EnumerateIPAddresses());
        Assert.Contains(IPAddress.IPv6Loopback, names.EnumerateIPAddresses());
        Assert.True(presented.NotAfter.ToUniversalTime() > DateTime.UtcNow.AddDays(365), $"valid only until {presented.NotAfter:u}");

        string tls = Path.Combine(daemon.DataDirectory, "tls");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "key.pem")));
        using X509Certificate2 onDisk = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tls, "cert.pem")));
        Assert.Equal(daemon.Fingerprint, ListenerDaemon.FingerprintOf(onDisk));

        CertificateInfo shown = await daemon.Serve.Client.GetCertificateAsync();
        Assert.Equal(daemon.Fingerprint, shown.FingerprintSha256);
        Assert.Equal("generated", shown.Source);
        Assert.Contains("127.0.0.1", shown.Names);
    }

    [Fact]
    public async Task HttpsAnswersCarryHstsAndPlainHttpIsOnlyARedirect()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync();
        using HttpClient https = daemon.PinnedHttp();
        using HttpResponseMessage answer = await https.GetAsync("api/v1/vms");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Matches(@"^max-age=\d{7,}", answer.Headers.GetValues("Strict-Transport-Security").Single());

        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = daemon.Http };
        using HttpResponseMessage redirect = await http.GetAsync("api/v1/vms?page=1");
        Assert.Equal(HttpStatusCode.PermanentRedirect, redirect.StatusCode);
        Assert.Equal(new Uri(daemon.Https, "api/v1/vms?page=1"), redirect.Headers.Location);
        Assert.False(redirect.Headers.Contains("Strict-Transport-Security"));

        // A change sent in the clear is redirected, never carried out.
        using HttpResponseMessage post = await http.PostAsJsonAsync("api/v1/networks", new { name = "cleartext", kind = "isolated" });
        Assert.Equal(HttpStatusCode.PermanentRedirect, post.StatusCode);
        Assert.DoesNotContain(await daemon.Serve.Client.ListNetworksAsync(), n => n.Name == "cleartext");
    }

    [Fact]
    public async Task ACertificateReplacedThroughTheApiServesTheNextConnectionWithoutARestart()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        int processId = daemon.Serve.ProcessId;
        (string certificatePem, string keyPem, string fingerprint) = TestCertificates.Make("replaced.example");
        Assert.NotEqual(daemon.Fingerprint, fingerprint);

        CertificateInfo replaced = await daemon.Serve.Client.ReplaceCertificateAsync(certificatePem, keyPem);

        Assert.Equal(fingerprint, replaced.FingerprintSha256);
        Assert.Equal("replaced", replaced.Source);
        Assert.Contains("replaced.example", replaced.Names);
        using (X509Certificate2 presented = await daemon.PresentedCertificateAsync())
        {
            Assert.Equal(fingerprint, ListenerDaemon.FingerprintOf(presented));
        }

        Assert.Equal(processId, daemon.Serve.ProcessId);
        string tls = Path.Combine(daemon.DataDirectory, "tls");
        Assert.Equal(keyPem.Trim(), File.ReadAllText(Path.Combine(tls, "key.pem")).Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "key.pem")));
        Assert.Empty(Directory.EnumerateFiles(tls, "*.tmp"));
    }

    [Fact]
    public async Task PemFilesDroppedIntoTheTlsDirectoryServeTheNextConnection()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        (string certificatePem, string keyPem, string fingerprint) = TestCertificates.Make("dropped.example");
        string tls = Path.Combine(daemon.DataDirectory, "tls");

        // As an administrator copies them: the key first (the pair does not load in between), then the certificate.
        TestCertificates.Replace(Path.Combine(tls, "key.pem"), keyPem);
        using (X509Certificate2 between = await daemon.PresentedCertificateAsync())
        {
            Assert.Equal(daemon.Fingerprint, ListenerDaemon.FingerprintOf(between));
        }

        TestCertificates.Replace(Path.Combine(tls, "cert.pem"), certificatePem);
        using X509Certificate2 presented = await daemon.PresentedCertificateAsync();
        Assert.Equal(fingerprint, ListenerDaemon.FingerprintOf(presented));
        Assert.Equal(fingerprint, (await daemon.Serve.Client.GetCertificateAsync()).FingerprintSha256);
    }

    [Fact]
    public async Task AKeyOfAnotherCertificateAnExpiredCertificateAndGarbageAreRefusedInOneSentence()
    {
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false);
        (string certificatePem, _, _) = TestCertificates.Make("one.example");
        (_, string otherKeyPem, _) = TestCertificates.Make("other.example");
        (string expiredPem, string expiredKeyPem, _) = TestCertificates.Make("expired.example", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(daemon.DataDirectory, "vessel.sock")), cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        }) { BaseAddress = new Uri("http://vessel/") };

        JsonObject mismatched = await Http.ProblemAsync(await http.PutAsJsonAsync("api/v1/hosts/local/certificate", new CertificateReplaceRequest(certificatePem, otherKeyPem)), 400);
        Assert.Contains("key", mismatched["detail"]!.GetValue<string>());
        JsonObject expired = await Http.ProblemAsync(await http.PutAsJsonAsync("api/v1/hosts/local/certificate", new CertificateReplaceRequest(expiredPem, expiredKeyPem)), 400);
        Assert.Contains("expired", expired["detail"]!.GetValue<string>());
        await Http.ProblemAsync(await http.PutAsJsonAsync("api/v1/hosts/local/certificate", new CertificateReplaceRequest("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", otherKeyPem)), 400);
        await Http.ProblemAsync(await http.PutAsJsonAsync("api/v1/hosts/local/certificate", new CertificateReplaceRequest("", "")), 400);

        using X509Certificate2 presented = await daemon.PresentedCertificateAsync();
        Assert.Equal(daemon.Fingerprint, ListenerDaemon.FingerprintOf(presented));
    }

    [Fact]
    public async Task ACertificateGivenWithTlsCertIsServedAndTheApiLeavesItsFilesAlone()
    {
        using var files = new TempDirectory();
        (string certificatePem, string keyPem, string fingerprint) = TestCertificates.Make("given.example");
        File.WriteAllText(files.File("given.crt"), certificatePem);
        File.WriteAllText(files.File("given.key"), keyPem);
        using ListenerDaemon daemon = await ListenerDaemon.StartAsync(false, "--tls-cert", files.File("given.crt"), "--tls-key", files.File("given.key"));

        Assert.Equal(fingerprint, daemon.Fingerprint);
        using (X509Certificate2 presented = await daemon.PresentedCertificateAsync())
        {
            Assert.Equal(fingerprint, ListenerDaemon.FingerprintOf(presented));
        }

        (string otherPem, string otherKeyPem, _) = TestCertificates.Make("other.example");
        VesselApiException refused = await Assert.ThrowsAsync<VesselApiException>(() => daemon.Serve.Client.ReplaceCertificateAsync(otherPem, otherKeyPem));
        Assert.Equal(409, refused.Status);
        Http.AssertOneSentence(refused.Message);
        Assert.Equal(certificatePem, File.ReadAllText(files.File("given.crt")));
    }
}

/// <summary>Certificates the tests make for themselves (an administrator's, a CA's).</summary>
internal static class TestCertificates
{
    public static (string CertificatePem, string KeyPem, string Fingerprint) Make(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow.AddDays(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(90));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), ListenerDaemon.FingerprintOf(certificate));
    }

    /// <summary>Replaces a file as an administrator does it safely: a new file renamed over the old.</summary>
    public static void Replace(string path, string text)
    {
        File.WriteAllText(path + ".new", text);
        File.Move(path + ".new", path, overwrite: true);
    }
}
