using System.Security.Cryptography;

namespace Vessel.Vmm.Vnc;

/// <summary>
/// RFB's "VNC authentication": the server sends 16 random bytes, the client returns them
/// encrypted with DES in ECB mode, keyed by the password's first 8 bytes (zero-padded) with each
/// byte's bits reversed (a quirk of the original implementation every client keeps).
/// </summary>
public static class VncAuthentication
{
    public const int ChallengeSize = 16;

    /// <summary>At most this many bytes of a password count, as in every VNC implementation.</summary>
    public const int MaxPasswordLength = 8;

    /// <summary>The response a client holding <paramref name="password"/> gives to <paramref name="challenge"/>; null when DES refuses the key (a weak key).</summary>
    public static byte[]? Respond(ReadOnlySpan<byte> challenge, string password)
    {
        byte[] key = new byte[8];
        int length = Math.Min(password.Length, MaxPasswordLength);
        for (int i = 0; i < length; i++)
        {
            key[i] = ReverseBits((byte)password[i]);
        }

        using DES des = DES.Create();
        try
        {
            des.Key = key;
        }
        catch (CryptographicException)
        {
            return null; // a weak key: such a password cannot be used, as with other servers
        }

        return des.EncryptEcb(challenge, PaddingMode.None);
    }

    /// <summary>Whether <paramref name="response"/> answers <paramref name="challenge"/> for <paramref name="password"/> (compared in constant time).</summary>
    public static bool Verify(ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> response, string password)
    {
        byte[]? expected = Respond(challenge, password);
        return expected is not null && CryptographicOperations.FixedTimeEquals(expected, response);
    }

    private static byte ReverseBits(byte value)
    {
        uint v = value;
        v = ((v & 0xf0) >> 4) | ((v & 0x0f) << 4);
        v = ((v & 0xcc) >> 2) | ((v & 0x33) << 2);
        v = ((v & 0xaa) >> 1) | ((v & 0x55) << 1);
        return (byte)v;
    }
}
