namespace Vessel.Network.User;

/// <summary>The guest-side TCP states of a NAT connection (RFC 9293, 3.3.2).</summary>
internal enum TcpState
{
    /// <summary>A port forward: the NAT sent SYN to the guest and waits for SYN-ACK.</summary>
    SynSent,

    /// <summary>The guest sent SYN; the NAT connects to the host, then answers SYN-ACK.</summary>
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Closed,
}
