namespace Vessel.Network.Tests.Infrastructure;

/// <summary>The test guest's side of one TCP connection: explicit sequence bookkeeping, no hidden retransmissions.</summary>
public sealed class GuestTcp(TestGuest guest, byte[] remoteIp, int remotePort, int localPort)
{
    public uint Snd { get; set; } = 1_000_000;

    public uint Rcv { get; set; }

    public int Window { get; set; } = 65535;

    public int LocalPort => localPort;

    public int RemotePort => remotePort;

    public bool Matches(ParsedFrame f) =>
        f.IsTcp && f.SourcePort == remotePort && f.DestinationPort == localPort && f.SourceIp.SequenceEqual(remoteIp);

    /// <summary>SYN with MSS 1460 (and window scale, SACK permitted when asked), SYN-ACK, ACK.</summary>
    public ParsedFrame Connect(int windowScale = -1, bool sack = false)
    {
        byte[] options = windowScale < 0 ? [2, 4, 0x05, 0xB4] : [2, 4, 0x05, 0xB4, 1, 3, 3, (byte)windowScale];
        if (sack)
        {
            options = [.. options, 1, 1, 4, 2];
        }

        guest.SendTcp(remoteIp, localPort, remotePort, Snd, 0, Wire.Syn, Window, null, options);
        ParsedFrame synAck = guest.Expect(f => Matches(f) && f.Has(Wire.Syn | Wire.Ack));
        Assert.Equal(Snd + 1, synAck.AckNumber);
        Snd++;
        Rcv = synAck.Seq + 1;
        SendAck();
        return synAck;
    }

    public void SendAck(int? window = null) =>
        guest.SendTcp(remoteIp, localPort, remotePort, Snd, Rcv, Wire.Ack, window ?? Window);

    public void SendData(byte[] data, int segment = 1000)
    {
        for (int i = 0; i < data.Length; i += segment)
        {
            byte[] part = data[i..Math.Min(data.Length, i + segment)];
            guest.SendTcp(remoteIp, localPort, remotePort, Snd, Rcv, Wire.Ack | Wire.Psh, Window, part);
            Snd += (uint)part.Length;
        }
    }

    public void SendFin()
    {
        guest.SendTcp(remoteIp, localPort, remotePort, Snd, Rcv, Wire.Fin | Wire.Ack, Window);
        Snd++;
    }

    /// <summary>Collects in-order data until <paramref name="count"/> bytes, acknowledging every segment.</summary>
    public byte[] Receive(int count, TimeSpan? timeout = null)
    {
        var received = new List<byte>();
        DateTime end = DateTime.UtcNow + (timeout ?? TestGuest.Timeout);
        while (received.Count < count)
        {
            ParsedFrame? f = guest.TryExpect(f => Matches(f) && f.Data.Length > 0, end - DateTime.UtcNow);
            Assert.True(f is not null, $"only {received.Count} of {count} bytes arrived");
            if (f!.Seq == Rcv)
            {
                received.AddRange(f.Data);
                Rcv += (uint)f.Data.Length;
            }

            SendAck();
        }

        return received.ToArray();
    }

    /// <summary>Waits for the NAT's FIN (after all data) and acknowledges it.</summary>
    public ParsedFrame ExpectFin()
    {
        ParsedFrame fin = guest.Expect(f => Matches(f) && f.Has(Wire.Fin));
        Assert.Equal(Rcv, fin.Seq);
        Rcv++;
        SendAck();
        return fin;
    }
}
