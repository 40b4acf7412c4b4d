namespace Vessel.Network.User;

/// <summary>Comparisons of 32-bit TCP sequence numbers modulo 2^32 (RFC 9293, 3.4).</summary>
internal static class SequenceNumber
{
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;

    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;

    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;

    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;

    public static uint Max(uint a, uint b) => Gt(a, b) ? a : b;
}
