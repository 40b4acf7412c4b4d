using System.Buffers.Text;
using System.Security.Cryptography;

namespace Vessel.Server.Hosts;

/// <summary>
/// A join token as <c>vessel host add</c> prints it: <c>vjt1.ID.SECRET.PIN</c>. ID (16 hex
/// digits) names the token's record, SECRET (192 random bits) proves the holder got it from the
/// manager, and PIN is the SHA-256 of the manager's HTTPS certificate (base64url), with which the
/// agent checks on first contact that it talks to that manager, before it sends the secret (as
/// kubeadm's discovery hash: a self-signed manager certificate is then safe to join).
/// </summary>
public sealed record JoinToken(string Id, string Secret, byte[] ManagerCertificateSha256)
{
    public const string Prefix = "vjt1";

    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    public static JoinToken New(byte[] managerCertificateSha256) =>
        new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)), managerCertificateSha256);

    public override string ToString() => $"{Prefix}.{Id}.{Secret}.{Base64Url.EncodeToString(ManagerCertificateSha256)}";

    /// <summary>Reads a token; null when it is not one (wrong shape, wrong lengths, bad characters).</summary>
    public static JoinToken? Parse(string? text)
    {
        string[] parts = (text ?? "").Trim().Split('.');
        if (parts.Length != 4 || parts[0] != Prefix || parts[1].Length != 16 || !parts[1].All(char.IsAsciiHexDigitLower)
            || parts[2].Length != 32 || !Base64Url.IsValid(parts[2]) || parts[3].Length != 43 || !Base64Url.IsValid(parts[3]))
        {
            return null;
        }

        byte[] pin = Base64Url.DecodeFromChars(parts[3]);
        return pin.Length == 32 ? new JoinToken(parts[1], parts[2], pin) : null;
    }

    public bool PinMatches(ReadOnlySpan<byte> certificateSha256) => CryptographicOperations.FixedTimeEquals(ManagerCertificateSha256, certificateSha256);
}
