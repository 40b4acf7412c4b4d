using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Vessel.Server.Hosting;
using Vessel.Server.Hosts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Hosts;

/// <summary>The manager's CA and the join token's format, in process, with a clock the tests move.</summary>
public sealed class HostCertificateAuthorityTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

    private HostCertificateAuthority NewAuthority() => new(
        new ServerOptions { DataDirectory = _temp.Path, VesselProgram = "", VesselPrefixArguments = [] }, _time, NullLogger<HostCertificateAuthority>.Instance);

    private static string NewRequest(out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest("CN=whatever-the-agent-says, O=Evil", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }

    [Fact]
    public void TheCaIsMadeOnceWithAPrivateKeyAndIssuesHostCertificatesThatNameTheHost()
    {
        HostCertificateAuthority authority = NewAuthority();
        X509Certificate2 ca = authority.Certificate;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(authority.Directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(authority.KeyPath));
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(_time.GetUtcNow().UtcDateTime.AddDays(3652).Date, ca.NotAfter.ToUniversalTime().Date);

        // A second start reads the same CA.
        Assert.Equal(ca.Thumbprint, NewAuthority().Certificate.Thumbprint);

        Guid host = Guid.NewGuid();
        using X509Certificate2 issued = authority.IssueHostCertificate(host, "edge-1", NewRequest(out ECDsa key));
        using (key)
        {
            // The agent's key, the manager's identity: the request's subject is ignored.
            Assert.Equal(key.ExportSubjectPublicKeyInfo(), issued.PublicKey.ExportSubjectPublicKeyInfo());
        }

        Assert.Equal("CN=edge-1, O=Vessel host", issued.Subject);
        Assert.Equal(host, HostCertificateAuthority.HostIdOf(issued));
        Assert.Equal(_time.GetUtcNow().UtcDateTime.AddDays(365).Date, issued.NotAfter.ToUniversalTime().Date);
        Assert.Equal((host, (string?)null), authority.IdentifyHost(issued));
    }

    [Fact]
    public void ACertificateOfAnotherCaAnExpiredOneAndTheEndpointsOwnAreNotHostCertificates()
    {
        HostCertificateAuthority authority = NewAuthority();
        using X509Certificate2 issued = authority.IssueHostCertificate(Guid.NewGuid(), "edge-1", NewRequest(out ECDsa key));
        key.Dispose();

        // Another manager's CA, with the same names: refused.
        using var elsewhere = new TempDirectory();
        var other = new HostCertificateAuthority(new ServerOptions { DataDirectory = elsewhere.Path, VesselProgram = "", VesselPrefixArguments = [] }, _time, NullLogger<HostCertificateAuthority>.Instance);
        using X509Certificate2 foreign = other.IssueHostCertificate(Guid.NewGuid(), "edge-1", NewRequest(out ECDsa foreignKey));
        foreignKey.Dispose();
        (Guid? id, string? refusal) = authority.IdentifyHost(foreign);
        Assert.Null(id);
        Assert.Contains("not issued by this manager's CA", refusal, StringComparison.Ordinal);

        // The endpoint's certificate chains to the CA but is no client certificate.
        using X509Certificate2 endpoint = authority.IssueEndpointCertificate();
        Assert.Contains(HostCertificateAuthority.ManagerUri, HostCertificateAuthority.UrisOf(endpoint));
        Assert.Null(authority.IdentifyHost(endpoint).HostId);

        // A year and a day later the host's certificate has expired.
        _time.Advance(TimeSpan.FromDays(366));
        Assert.Null(authority.IdentifyHost(issued).HostId);
        Assert.Null(authority.IdentifyHost(null).HostId);
    }

    [Fact]
    public void ARequestThatIsNotAPkcs10RequestIsRefusedWithOneSentence()
    {
        Vessel.Server.Api.ApiException refused = Assert.Throws<Vessel.Server.Api.ApiException>(() => NewAuthority().IssueHostCertificate(Guid.NewGuid(), "edge-1", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"));
        Assert.Equal(400, refused.Status);
        Http.AssertOneSentence(refused.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("vjt1")]
    [InlineData("vjt2.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("vjt1.0123456789ABCDEF.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("vjt1.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("vjt1.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/+.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("vjt1.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.extra")]
    public void WhatIsNotAJoinTokenIsNotReadAsOne(string text) => Assert.Null(JoinToken.Parse(text));

    [Fact]
    public void AJoinTokenReadsBackAsItWasWrittenAndPinsItsCertificate()
    {
        byte[] pin = SHA256.HashData("manager certificate"u8);
        JoinToken token = JoinToken.New(pin);
        JoinToken read = JoinToken.Parse(" " + token + "\n")!;
        Assert.Equal(token.Id, read.Id);
        Assert.Equal(token.Secret, read.Secret);
        Assert.True(read.PinMatches(pin));
        Assert.False(read.PinMatches(SHA256.HashData("another certificate"u8)));
        Assert.NotEqual(token.Secret, JoinToken.New(pin).Secret);
    }

    public void Dispose() => _temp.Dispose();
}
