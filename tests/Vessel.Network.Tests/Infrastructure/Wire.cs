namespace Vessel.Network.Tests.Infrastructure;

/// <summary>
/// The test guest's own encoding of Ethernet/ARP/IPv4/TCP/UDP/ICMP/DHCP, written from the RFCs
/// independently of the production packet code (plain byte loops, no shared helpers), so a
/// symmetric bug in the stack cannot hide.
/// </summary>
public static class Wire
{
    public static readonly byte[] GuestMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    public static readonly byte[] Broadcast = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    public static byte[] Ip(string dotted) => dotted.Split('.').Select(byte.Parse).ToArray();

    public static ushort Checksum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        uint sum = initial;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        if (data.Length % 2 == 1)
        {
            sum += (uint)(data[^1] << 8);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    public static uint PseudoSum(byte[] src, byte[] dst, byte protocol, int length)
    {
        uint sum = 0;
        sum += (uint)((src[0] << 8) | src[1]) + (uint)((src[2] << 8) | src[3]);
        sum += (uint)((dst[0] << 8) | dst[1]) + (uint)((dst[2] << 8) | dst[3]);
        sum += protocol;
        sum += (uint)length;
        return sum;
    }

    public static void Put16(byte[] b, int at, int value)
    {
        b[at] = (byte)(value >> 8);
        b[at + 1] = (byte)value;
    }

    public static void Put32(byte[] b, int at, uint value)
    {
        b[at] = (byte)(value >> 24);
        b[at + 1] = (byte)(value >> 16);
        b[at + 2] = (byte)(value >> 8);
        b[at + 3] = (byte)value;
    }

    public static int Get16(byte[] b, int at) => (b[at] << 8) | b[at + 1];

    public static uint Get32(byte[] b, int at) => ((uint)b[at] << 24) | ((uint)b[at + 1] << 16) | ((uint)b[at + 2] << 8) | b[at + 3];

    public static byte[] Ethernet(byte[] dst, byte[] src, int type, byte[] payload)
    {
        var frame = new byte[14 + payload.Length];
        dst.CopyTo(frame, 0);
        src.CopyTo(frame, 6);
        Put16(frame, 12, type);
        payload.CopyTo(frame, 14);
        return frame;
    }

    public static byte[] ArpRequest(byte[] senderMac, byte[] senderIp, byte[] targetIp)
    {
        var arp = new byte[28];
        Put16(arp, 0, 1);
        Put16(arp, 2, 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        Put16(arp, 6, 1);
        senderMac.CopyTo(arp, 8);
        senderIp.CopyTo(arp, 14);
        targetIp.CopyTo(arp, 24);
        return Ethernet(Broadcast, senderMac, 0x0806, arp);
    }

    public static byte[] Ipv4(byte[] src, byte[] dst, byte protocol, byte[] payload, ushort id = 1, int flagsAndOffset = 0x4000)
    {
        var packet = new byte[20 + payload.Length];
        packet[0] = 0x45;
        Put16(packet, 2, packet.Length);
        Put16(packet, 4, id);
        Put16(packet, 6, flagsAndOffset);
        packet[8] = 64;
        packet[9] = protocol;
        src.CopyTo(packet, 12);
        dst.CopyTo(packet, 16);
        Put16(packet, 10, Checksum(packet.AsSpan(0, 20)));
        payload.CopyTo(packet, 20);
        return packet;
    }

    public static byte[] Udp(byte[] src, byte[] dst, int srcPort, int dstPort, byte[] data)
    {
        var udp = new byte[8 + data.Length];
        Put16(udp, 0, srcPort);
        Put16(udp, 2, dstPort);
        Put16(udp, 4, udp.Length);
        data.CopyTo(udp, 8);
        ushort sum = Checksum(udp, PseudoSum(src, dst, 17, udp.Length));
        Put16(udp, 6, sum == 0 ? 0xFFFF : sum);
        return udp;
    }

    public const byte Fin = 1, Syn = 2, Rst = 4, Psh = 8, Ack = 16;

    public static byte[] Tcp(byte[] src, byte[] dst, int srcPort, int dstPort, uint seq, uint ack, byte flags, int window, byte[]? data = null, byte[]? options = null)
    {
        data ??= [];
        options ??= [];
        int headerLength = 20 + options.Length;
        var tcp = new byte[headerLength + data.Length];
        Put16(tcp, 0, srcPort);
        Put16(tcp, 2, dstPort);
        Put32(tcp, 4, seq);
        Put32(tcp, 8, ack);
        tcp[12] = (byte)((headerLength / 4) << 4);
        tcp[13] = flags;
        Put16(tcp, 14, window);
        options.CopyTo(tcp, 20);
        data.CopyTo(tcp, headerLength);
        Put16(tcp, 16, Checksum(tcp, PseudoSum(src, dst, 6, tcp.Length)));
        return tcp;
    }

    public static byte[] IcmpEcho(ushort id, ushort seq, byte[] data)
    {
        var icmp = new byte[8 + data.Length];
        icmp[0] = 8;
        Put16(icmp, 4, id);
        Put16(icmp, 6, seq);
        data.CopyTo(icmp, 8);
        Put16(icmp, 2, Checksum(icmp));
        return icmp;
    }

    /// <summary>A BOOTP/DHCP client message with the given options (code, value) and an end option.</summary>
    public static byte[] Dhcp(byte type, uint xid, byte[] mac, byte[] ciaddr, params (byte Code, byte[] Value)[] options)
    {
        var list = new List<byte>();
        list.AddRange([53, 1, type]);
        foreach ((byte code, byte[] value) in options)
        {
            list.Add(code);
            list.Add((byte)value.Length);
            list.AddRange(value);
        }

        list.Add(255);
        var message = new byte[240 + list.Count];
        message[0] = 1;
        message[1] = 1;
        message[2] = 6;
        Put32(message, 4, xid);
        ciaddr.CopyTo(message, 12);
        mac.CopyTo(message, 28);
        Put32(message, 236, 0x63825363);
        list.CopyTo(message, 240);
        return message;
    }
}
