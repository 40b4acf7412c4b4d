using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Vessel.Server.Access;

/// <summary>
/// Random secrets (session ids, CSRF tokens, API token secrets) and their stored form. They are
/// 256 random bits, so one SHA-256 is enough to store them (a password needs a slow hash; a
/// random secret has nothing to guess), and comparisons take constant time.
/// </summary>
public static class Secrets
{
    private const string TokenPrefix = "vessel_";

    public static string NewRandom() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(string secret, byte[] storedHash) => CryptographicOperations.FixedTimeEquals(Hash(secret), storedHash);

    public static bool SameText(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    /// <summary>A token's secret names its token (<c>vessel_ID_RANDOM</c>), so that the server finds the one hash to compare.</summary>
    public static string NewTokenSecret(Guid tokenId) => $"{TokenPrefix}{tokenId:N}_{NewRandom()}";

    public static bool TryTokenIdOf(string secret, out Guid tokenId)
    {
        tokenId = Guid.Empty;
        return secret.StartsWith(TokenPrefix, StringComparison.Ordinal)
            && secret.Length > TokenPrefix.Length + 33
            && secret[TokenPrefix.Length + 32] == '_'
            && Guid.TryParseExact(secret.AsSpan(TokenPrefix.Length, 32), "N", out tokenId);
    }
}
