namespace Vessel.Network.Packets;

/// <summary>The TCP options the stack uses from a SYN: maximum segment size, window scale, SACK permitted.</summary>
public readonly record struct TcpOptions(int MaxSegmentSize, int WindowScale, bool SackPermitted = false)
{
    /// <summary>No window scale option present.</summary>
    public const int NoWindowScale = -1;

    /// <summary>The MSS to assume when a SYN has none (RFC 9293, 3.7.1).</summary>
    public const int DefaultMaxSegmentSize = 536;
}
