using Vessel.Network.Packets;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.Packets;

public sealed class InternetChecksumTests
{
    [Fact]
    public void Rfc1071Example()
    {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d).
        byte[] data = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7];
        Assert.Equal(0x220D, InternetChecksum.Compute(data));
    }

    [Fact]
    public void AgreesWithAPlainByteLoopForAllLengthsAndSplits()
    {
        var random = new Random(7);
        for (int length = 0; length < 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(Wire.Checksum(data), InternetChecksum.Compute(data));

            // Split at an even boundary, as pseudo-header + header + data are summed.
            int split = length / 2 & ~1;
            uint partial = InternetChecksum.Add(InternetChecksum.Add(0, data.AsSpan(0, split)), data.AsSpan(split));
            Assert.Equal(Wire.Checksum(data), InternetChecksum.Finish(partial));
        }
    }

    [Fact]
    public void PseudoHeaderMatchesTheByteLoop()
    {
        byte[] src = Wire.Ip("10.0.2.15"), dst = Wire.Ip("93.184.216.34");
        byte[] segment = Wire.Tcp(src, dst, 40000, 80, 1, 2, Wire.Ack, 100, [1, 2, 3]);
        uint sum = InternetChecksum.PseudoHeader(Ipv4Address.Read(src), Ipv4Address.Read(dst), IpProtocol.Tcp, segment.Length);
        Assert.True(InternetChecksum.IsValid(InternetChecksum.Add(sum, segment)));
    }
}
