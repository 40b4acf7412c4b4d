using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Vessel.Licensing;

/// <summary>
/// A licence's text form: an armoured line <c>BASE64(payload).BASE64(signature)</c>, where the
/// payload is the licence as UTF-8 JSON and the signature is ECDSA P-256 with SHA-256 over the
/// payload's exact bytes (IEEE P1363, r‖s). Reading is strict: one byte changed anywhere in the
/// file (armour, payload, signature, padding) makes it unreadable or its signature wrong.
/// </summary>
public static class LicenseDocument
{
    public const string Header = "-----BEGIN VESSEL LICENSE-----";
    public const string Footer = "-----END VESSEL LICENSE-----";

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>Signs <paramref name="license"/> with the vendor's private key; returns the file's text.</summary>
    public static string Sign(License license, ECDsa privateKey)
    {
        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(license, JsonOptions);
        byte[] signature = privateKey.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{Header}\n{Convert.ToBase64String(payload)}.{Convert.ToBase64String(signature)}\n{Footer}\n";
    }

    /// <summary>Reads and verifies a licence file's text; throws <see cref="LicenseException"/> with one sentence when it is not a valid licence signed by <paramref name="publicKey"/>.</summary>
    public static License Read(string text, ECDsa publicKey)
    {
        (byte[] payload, byte[] signature) = Split(text);
        if (!publicKey.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            throw new LicenseException("The licence's signature does not match its content: it was altered or not issued by Vessel's vendor.");
        }

        License? license;
        try
        {
            license = JsonSerializer.Deserialize<License>(payload, JsonOptions);
        }
        catch (JsonException)
        {
            license = null;
        }

        if (license is null || string.IsNullOrWhiteSpace(license.Id) || string.IsNullOrWhiteSpace(license.Edition) || license.NotAfter <= license.NotBefore)
        {
            throw new LicenseException("The licence is signed but its content is not a licence this version of Vessel understands.");
        }

        return license;
    }

    private static (byte[] Payload, byte[] Signature) Split(string text)
    {
        const string unreadable = "The file is not a Vessel licence (it must hold the lines between BEGIN VESSEL LICENSE and END VESSEL LICENSE unchanged).";
        // Line ends may be \n or \r\n (a file edited on Windows); everything else must be exact.
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length is < 3 or > 4 || lines[0] != Header || lines[2] != Footer || (lines.Length == 4 && lines[3].Length != 0))
        {
            throw new LicenseException(unreadable);
        }

        string[] parts = lines[1].Split('.');
        if (parts.Length != 2 || Decode(parts[0]) is not { Length: > 0 } payload || Decode(parts[1]) is not { Length: > 0 } signature)
        {
            throw new LicenseException(unreadable);
        }

        return (payload, signature);
    }

    /// <summary>Decodes canonical base64 only: text that decodes but is not what encoding gives back (spare bits set) is refused.</summary>
    private static byte[]? Decode(string text)
    {
        try
        {
            byte[] bytes = Convert.FromBase64String(text);
            return Convert.ToBase64String(bytes) == text ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A key from PEM text: a public key (SubjectPublicKeyInfo) or a private key (PKCS#8 or SEC1).</summary>
    public static ECDsa KeyFromPem(string pem, string what)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new LicenseException($"The {what} is not an EC key in PEM form ({e.Message.TrimEnd('.')}).");
        }

        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new LicenseException($"The {what} is a {key.KeySize}-bit EC key; licences are signed with P-256 keys.");
        }

        return key;
    }
}

/// <summary>A licence that cannot be read, verified or used; the message is one sentence for the user.</summary>
public sealed class LicenseException(string message) : Exception(message);
