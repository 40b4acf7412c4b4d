using System.Security.Cryptography;
using Vessel.Licensing;
using Vessel.Server.Hosting;

namespace Vessel.Server.Licensing;

/// <summary>
/// The public key that licences must be signed with: the vendor's, embedded in the product
/// (<c>vendor-public.pem</c>; the private key never leaves the vendor). Tests sign their own
/// licences and give their public key as <c>Vessel:LicensePublicKey</c> (PEM text). That setting
/// exists for tests only: it is not an option of <c>vessel serve</c>, and a product run with it
/// accepts licences that are not the vendor's.
/// </summary>
public sealed class LicenseVerificationKey
{
    public const string TestKeySetting = "Vessel:LicensePublicKey";
    private const string ResourceName = "Vessel.Server.Licensing.vendor-public.pem";

    private LicenseVerificationKey(ECDsa key) => Key = key;

    public ECDsa Key { get; }

    public static LicenseVerificationKey From(IConfiguration configuration)
    {
        string pem = configuration[TestKeySetting] is { Length: > 0 } testKey ? testKey : Embedded();
        try
        {
            return new LicenseVerificationKey(LicenseDocument.KeyFromPem(pem, "licence verification key"));
        }
        catch (LicenseException e)
        {
            throw new ServerStartException(e.Message);
        }
    }

    private static string Embedded()
    {
        using Stream stream = typeof(LicenseVerificationKey).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the vendor's public key ({ResourceName}) is not embedded in this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
