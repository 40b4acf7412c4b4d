using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.User;

public sealed class HostileGuestTests
{
    [Fact]
    public void MalformedFramesAreDroppedAndTheStackKeepsWorking()
    {
        using var guest = new TestGuest();
        var random = new Random(1234);
        byte[] gateway = Wire.Ip("10.0.2.2");
        byte[] mac = [0x52, 0x55, 10, 0, 2, 2];

        // Truncated and empty frames.
        guest.Send([]);
        guest.Send([1, 2, 3]);
        guest.Send(Wire.Ethernet(mac, Wire.GuestMac, 0x0800, [0x45]));
        guest.Send(Wire.Ethernet(mac, Wire.GuestMac, 0x0806, [0, 1, 8, 0, 6, 4]));

        // IP headers with bad lengths, versions and checksums.
        byte[] ip = Wire.Ipv4(TestGuest.GuestIp, gateway, 17, Wire.Udp(TestGuest.GuestIp, gateway, 1, 2, [1, 2, 3]));
        foreach (Action<byte[]> damage in new Action<byte[]>[]
        {
            b => b[0] = 0x44, // header length 16
            b => b[0] = 0x65, // version 6 in an IPv4 frame
            b => Wire.Put16(b, 2, 4000), // total length beyond the frame
            b => Wire.Put16(b, 2, 10), // total length below the header
            b => b[10] ^= 0x55, // header checksum
            b => b[0] = 0x4F, // header length 60 beyond the packet
        })
        {
            byte[] copy = (byte[])ip.Clone();
            damage(copy);
            guest.Send(Wire.Ethernet(mac, Wire.GuestMac, 0x0800, copy));
        }

        // Transport headers with bad lengths, offsets and checksums (valid IP around them).
        guest.SendIp(gateway, 6, new byte[10]);
        byte[] tcp = Wire.Tcp(TestGuest.GuestIp, gateway, 1, 2, 0, 0, Wire.Syn, 100);
        tcp[12] = 0xF0; // data offset 60 beyond the segment
        guest.SendIp(gateway, 6, tcp);
        byte[] badSum = Wire.Tcp(TestGuest.GuestIp, gateway, 1, 2, 0, 0, Wire.Syn, 100);
        badSum[16] ^= 1;
        guest.SendIp(gateway, 6, badSum);
        byte[] udp = Wire.Udp(TestGuest.GuestIp, gateway, 1, 2, [9, 9]);
        Wire.Put16(udp, 4, 500); // UDP length beyond the packet
        guest.SendIp(gateway, 17, udp);
        guest.SendIp(gateway, 1, [8, 0]);

        // Bogus TCP options in a SYN: zero lengths, lengths past the end, huge window scale.
        byte[][] optionSets = [[2, 0, 0, 0], [3, 200, 1, 1], [2, 4, 0, 0, 3, 3, 255, 0], [1, 1, 1, 2]];
        int port = 50000;
        foreach (byte[] options in optionSets)
        {
            guest.SendTcp(gateway, port++, 1, 7, 0, Wire.Syn, 1000, null, options);
        }

        // Random garbage, with and without a plausible Ethernet/IP start, and oversize frames.
        for (int i = 0; i < 2000; i++)
        {
            var junk = new byte[random.Next(0, 1600)];
            random.NextBytes(junk);
            if (junk.Length > 34 && i % 2 == 0)
            {
                mac.CopyTo(junk, 0);
                junk[12] = 0x08;
                junk[13] = 0x00;
                junk[14] = 0x45;
            }

            guest.Send(junk);
        }

        guest.Send(new byte[70_000]);

        // Still alive and well: ARP and ping are answered (once the flood is worked off: a
        // full input queue drops frames, as a NIC would).
        guest.Discard(_ => true);
        guest.ResolveGateway();
        guest.SendIp(gateway, 1, Wire.IcmpEcho(5, 6, [1]));
        Assert.Equal(6, guest.Expect(f => f.Protocol == 1 && f.IcmpType == 0).IcmpSeq);
    }

    [Fact]
    public void OverlappingAndNonsenseFragmentsAreSurvived()
    {
        using var guest = new TestGuest();
        guest.ResolveGateway();
        byte[] gateway = TestGuest.GatewayIp;
        var random = new Random(99);
        for (int i = 0; i < 500; i++)
        {
            var payload = new byte[random.Next(0, 1400)];
            random.NextBytes(payload);
            int flags = (random.Next(2) == 0 ? 0x2000 : 0) | random.Next(0, 0x1FFF);
            guest.Send(Wire.Ethernet(guest.GatewayMac, Wire.GuestMac, 0x0800,
                Wire.Ipv4(TestGuest.GuestIp, gateway, (byte)random.Next(0, 256), payload, id: (ushort)random.Next(0, 20), flagsAndOffset: flags)));
        }

        guest.SendIp(gateway, 1, Wire.IcmpEcho(5, 7, [1]));
        Assert.Equal(7, guest.Expect(f => f.Protocol == 1 && f.IcmpType == 0).IcmpSeq);
    }
}
