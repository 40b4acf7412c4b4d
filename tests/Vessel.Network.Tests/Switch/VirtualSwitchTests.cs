using Vessel.Network.SocketLink;
using Vessel.Network.Switch;
using Vessel.Network.Tests.Infrastructure;

namespace Vessel.Network.Tests.Switch;

public sealed class VirtualSwitchTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vessel-switch-").FullName;

    private string SocketPath => Path.Combine(_directory, "switch.sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static byte[] Frame(byte destinationLast, byte sourceLast, int payload = 50)
    {
        byte[] frame = new byte[14 + payload];
        byte[] destination = destinationLast == 0xFF ? Wire.Broadcast : [0x52, 0x54, 0, 0, 0, destinationLast];
        destination.CopyTo(frame, 0);
        new byte[] { 0x52, 0x54, 0, 0, 0, sourceLast }.CopyTo(frame, 6);
        frame[12] = 0x08;
        frame[14] = sourceLast;
        return frame;
    }

    [Fact]
    public void ThreeVmsShareASegmentAndUnicastGoesOnlyWhereTheMacLives()
    {
        using var @switch = new VirtualSwitch(SocketPath);
        @switch.Start();
        var nics = new[] { new FrameCollector(), new FrameCollector(), new FrameCollector() };
        var links = nics.Select(nic =>
        {
            SocketLinkBackend link = SocketLinkBackend.ConnectToSwitch(SocketPath);
            link.Attach(nic);
            link.Start();
            return link;
        }).ToArray();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => @switch.PortCount == 3, TestGuest.Timeout));

            // VM 1 broadcasts: 2 and 3 hear it, and the switch learns where 1 is.
            links[0].Send(Frame(0xFF, 1));
            Assert.Equal(Frame(0xFF, 1), nics[1].Next(TestGuest.Timeout));
            Assert.Equal(Frame(0xFF, 1), nics[2].Next(TestGuest.Timeout));

            // VM 2 answers 1 by unicast: only 1 gets it.
            links[1].Send(Frame(1, 2));
            Assert.Equal(Frame(1, 2), nics[0].Next(TestGuest.Timeout));

            // An unknown destination is flooded; a known one is not.
            links[2].Send(Frame(9, 3));
            Assert.Equal(Frame(9, 3), nics[0].Next(TestGuest.Timeout));
            Assert.Equal(Frame(9, 3), nics[1].Next(TestGuest.Timeout));
            links[0].Send(Frame(2, 1));
            Assert.Equal(Frame(2, 1), nics[1].Next(TestGuest.Timeout));
            Assert.Null(nics[2].Next(TimeSpan.FromMilliseconds(300)));
            Assert.Equal(0, nics[0].Count);
        }
        finally
        {
            foreach (SocketLinkBackend link in links)
            {
                link.Dispose();
            }
        }

        Assert.True(SpinWait.SpinUntil(() => @switch.PortCount == 0, TestGuest.Timeout));
    }

    [Fact]
    public void ASecondSwitchOnALivePathIsRefusedAndAStaleSocketIsReplaced()
    {
        using (var first = new VirtualSwitch(SocketPath))
        {
            first.Start();
            var error = Assert.Throws<NetworkBackendException>(() => new VirtualSwitch(SocketPath));
            Assert.Equal($"a virtual switch is already running at {SocketPath}", error.Message);
        }

        File.WriteAllText(SocketPath, "stale");
        using var second = new VirtualSwitch(SocketPath);
        second.Start();
        using SocketLinkBackend link = SocketLinkBackend.ConnectToSwitch(SocketPath);
        Assert.True(link.IsConnected);
    }

    [Fact]
    public void ConnectingWhereNoSwitchRunsIsOneSentence()
    {
        var error = Assert.Throws<NetworkBackendException>(() => NetworkBackendFactory.Create($"switch,path={SocketPath}"));
        Assert.Equal($"no virtual switch is running at {SocketPath} (start one with 'vessel switch {SocketPath}')", error.Message);
    }
}
