namespace Vessel.Network.Packets;

/// <summary>IPv4 protocol numbers the stack handles.</summary>
public static class IpProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
}
