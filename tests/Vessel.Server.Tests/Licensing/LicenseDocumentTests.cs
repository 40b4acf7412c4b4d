using System.Security.Cryptography;
using System.Text;
using Vessel.Licensing;

namespace Vessel.Server.Tests.Licensing;

/// <summary>The licence file: what is signed reads back; any one byte changed, or another key's signature, is refused.</summary>
public sealed class LicenseDocumentTests
{
    public static License Sample(DateTimeOffset notBefore, DateTimeOffset notAfter, int? runningVms = 4, string[]? features = null) => new()
    {
        Id = "lic-0001",
        Licensee = "ACME \"Clouds\", Inc.",
        Edition = "standard",
        Capacity = new LicenseCapacity { Hosts = 1, Vcpus = 16, RunningVms = runningVms },
        Features = features ?? [LicenseFeatures.InstantClone],
        NotBefore = notBefore,
        NotAfter = notAfter,
    };

    [Fact]
    public void ASignedLicenceReadsBackAsIssued()
    {
        using var vendor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        License issued = Sample(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2028, 1, 1, 0, 0, 0, TimeSpan.Zero));
        string text = LicenseDocument.Sign(issued, vendor);

        using ECDsa publicKey = LicenseDocument.KeyFromPem(vendor.ExportSubjectPublicKeyInfoPem(), "key");
        License read = LicenseDocument.Read(text, publicKey);
        Assert.Equal(issued with { Features = [] }, read with { Features = [] });
        Assert.Equal(issued.Features, read.Features);
        // A file edited on Windows (CRLF line ends) is the same licence.
        Assert.Equal(issued.Id, LicenseDocument.Read(text.Replace("\n", "\r\n", StringComparison.Ordinal), publicKey).Id);
    }

    [Fact]
    public void EveryOneByteChangeIsRefused()
    {
        using var vendor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] file = Encoding.UTF8.GetBytes(LicenseDocument.Sign(Sample(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100)), vendor));
        for (int position = 0; position < file.Length; position++)
        {
            foreach (byte flip in new byte[] { 0x01, 0x20 })
            {
                byte[] altered = (byte[])file.Clone();
                altered[position] ^= flip;
                LicenseException refused = Assert.Throws<LicenseException>(() => LicenseDocument.Read(Encoding.UTF8.GetString(altered), vendor));
                Infrastructure.Http.AssertOneSentence(refused.Message);
            }
        }
    }

    [Fact]
    public void ALicenceSignedWithAnotherKeyIsRefused()
    {
        using var vendor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string forged = LicenseDocument.Sign(Sample(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100), runningVms: null), impostor);
        LicenseException refused = Assert.Throws<LicenseException>(() => LicenseDocument.Read(forged, vendor));
        Assert.Contains("signature does not match", refused.Message);
    }
}
