namespace Vessel.Network.Tests.Infrastructure;

/// <summary>A frame the stack sent to the test guest, decoded by test code; checksums are verified here.</summary>
public sealed class ParsedFrame
{
    public ParsedFrame(byte[] frame)
    {
        Raw = frame;
        Destination = frame[..6];
        Source = frame[6..12];
        EtherType = Wire.Get16(frame, 12);
        if (EtherType == 0x0806)
        {
            ArpOperation = Wire.Get16(frame, 20);
            ArpSenderMac = frame[22..28];
            ArpSenderIp = frame[28..32];
            ArpTargetIp = frame[38..42];
            return;
        }

        if (EtherType != 0x0800)
        {
            return;
        }

        int ihl = (frame[14] & 0xF) * 4;
        int total = Wire.Get16(frame, 16);
        Assert.True(14 + total <= frame.Length, "IP total length beyond the frame");
        Assert.Equal(0, Wire.Checksum(frame.AsSpan(14, ihl)));
        IpId = Wire.Get16(frame, 18);
        FlagsAndOffset = Wire.Get16(frame, 20);
        Protocol = frame[23];
        SourceIp = frame[26..30];
        DestinationIp = frame[30..34];
        byte[] l4 = frame[(14 + ihl)..(14 + total)];
        IpPayload = l4;
        if ((FlagsAndOffset & 0x3FFF) != 0)
        {
            return; // a fragment: transport headers only in the first, checksum over the whole
        }

        switch (Protocol)
        {
            case 6:
                Assert.Equal(0, Wire.Checksum(l4, Wire.PseudoSum(SourceIp, DestinationIp, 6, l4.Length)));
                SourcePort = Wire.Get16(l4, 0);
                DestinationPort = Wire.Get16(l4, 2);
                Seq = Wire.Get32(l4, 4);
                AckNumber = Wire.Get32(l4, 8);
                int dataOffset = (l4[12] >> 4) * 4;
                TcpFlags = l4[13];
                Window = Wire.Get16(l4, 14);
                TcpOptions = l4[20..dataOffset];
                Data = l4[dataOffset..];
                break;
            case 17:
                if (Wire.Get16(l4, 6) != 0)
                {
                    Assert.Equal(0, Wire.Checksum(l4, Wire.PseudoSum(SourceIp, DestinationIp, 17, l4.Length)));
                }

                SourcePort = Wire.Get16(l4, 0);
                DestinationPort = Wire.Get16(l4, 2);
                Assert.Equal(l4.Length, Wire.Get16(l4, 4));
                Data = l4[8..];
                break;
            case 1:
                Assert.Equal(0, Wire.Checksum(l4));
                IcmpType = l4[0];
                IcmpId = Wire.Get16(l4, 4);
                IcmpSeq = Wire.Get16(l4, 6);
                Data = l4[8..];
                break;
        }
    }

    public byte[] Raw { get; }

    public byte[] Destination { get; }

    public byte[] Source { get; }

    public int EtherType { get; }

    public int ArpOperation { get; }

    public byte[] ArpSenderMac { get; } = [];

    public byte[] ArpSenderIp { get; } = [];

    public byte[] ArpTargetIp { get; } = [];

    public int IpId { get; }

    public int FlagsAndOffset { get; }

    public byte Protocol { get; }

    public byte[] SourceIp { get; } = [];

    public byte[] DestinationIp { get; } = [];

    public byte[] IpPayload { get; } = [];

    public int SourcePort { get; }

    public int DestinationPort { get; }

    public uint Seq { get; }

    public uint AckNumber { get; }

    public byte TcpFlags { get; }

    public int Window { get; }

    public byte[] TcpOptions { get; } = [];

    public byte[] Data { get; } = [];

    public int IcmpType { get; } = -1;

    public int IcmpId { get; }

    public int IcmpSeq { get; }

    public bool IsTcp => EtherType == 0x0800 && Protocol == 6;

    public bool IsUdp => EtherType == 0x0800 && Protocol == 17 && (FlagsAndOffset & 0x3FFF) == 0;

    public bool Has(byte flag) => (TcpFlags & flag) == flag;

    /// <summary>The MSS and window scale options of a SYN, decoded by hand.</summary>
    public (int Mss, int Scale) SynOptions()
    {
        int mss = -1, scale = -1;
        for (int i = 0; i < TcpOptions.Length;)
        {
            byte kind = TcpOptions[i];
            if (kind == 0)
            {
                break;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            int length = TcpOptions[i + 1];
            if (kind == 2)
            {
                mss = Wire.Get16(TcpOptions, i + 2);
            }
            else if (kind == 3)
            {
                scale = TcpOptions[i + 2];
            }

            i += length;
        }

        return (mss, scale);
    }

    /// <summary>The SACK-permitted option of a SYN and the blocks of a SACK option, decoded by hand.</summary>
    public (bool Permitted, List<(uint Start, uint End)> Blocks) Sack()
    {
        bool permitted = false;
        var blocks = new List<(uint, uint)>();
        for (int i = 0; i < TcpOptions.Length;)
        {
            byte kind = TcpOptions[i];
            if (kind == 0)
            {
                break;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            int length = TcpOptions[i + 1];
            if (kind == 4)
            {
                permitted = true;
            }
            else if (kind == 5)
            {
                for (int b = i + 2; b + 8 <= i + length; b += 8)
                {
                    blocks.Add((Wire.Get32(TcpOptions, b), Wire.Get32(TcpOptions, b + 4)));
                }
            }

            i += length;
        }

        return (permitted, blocks);
    }

    /// <summary>DHCP options of a reply (after the 240-byte fixed part and cookie).</summary>
    public Dictionary<byte, byte[]> DhcpOptions()
    {
        var options = new Dictionary<byte, byte[]>();
        Assert.Equal(0x63825363u, Wire.Get32(Data, 236));
        for (int i = 240; i < Data.Length;)
        {
            byte code = Data[i];
            if (code == 255)
            {
                break;
            }

            if (code == 0)
            {
                i++;
                continue;
            }

            int length = Data[i + 1];
            options[code] = Data[(i + 2)..(i + 2 + length)];
            i += 2 + length;
        }

        return options;
    }

    public override string ToString() => IsTcp
        ? $"TCP {SourcePort}->{DestinationPort} seq={Seq} ack={AckNumber} flags={TcpFlags:x2} win={Window} len={Data.Length}"
        : $"type={EtherType:x4} proto={Protocol}";
}
