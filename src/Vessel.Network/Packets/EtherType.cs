namespace Vessel.Network.Packets;

/// <summary>The EtherType values the stack understands.</summary>
public static class EtherType
{
    public const ushort Ipv4 = 0x0800;
    public const ushort Arp = 0x0806;
    public const ushort Ipv6 = 0x86DD;
}
