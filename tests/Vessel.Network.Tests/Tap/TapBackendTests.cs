using Vessel.Network.Tap;
using Vessel.Network.Tests.Infrastructure;
namespace Vessel.Network.Tests.Tap;

/// <summary>
/// The TAP backend against the kernel. Without CAP_NET_ADMIN these tests cannot run here, and
/// the runner reports them as skipped.
/// </summary>
public sealed class TapBackendTests
{
    private static string NewName() => "vtap" + Guid.NewGuid().ToString("N")[..8];

    [SkippableFact]
    public void FramesGoBothWaysThroughATapInterfaceInItsOwnNamespace()
    {
        Capabilities.SkipUnlessNetAdmin();
        using NetNamespace? ns = NetNamespace.TryCreate(out string reason);
        Skip.If(ns is null, reason);

        var nic = new FrameCollector();
        using var tap = new TapBackend(NewName());
        tap.Attach(nic);
        tap.Start();

        // The kernel in the namespace plays the host at 10.77.0.1; our side is the guest.
        Assert.Equal(0, NetNamespace.Run("ip", $"link set {tap.InterfaceName} netns {ns.Name}").Code);
        ns.Ip($"addr add 10.77.0.1/24 dev {tap.InterfaceName}");
        ns.Ip($"link set {tap.InterfaceName} up");

        byte[] guestIp = Wire.Ip("10.77.0.2");
        tap.Send(Wire.ArpRequest(Wire.GuestMac, guestIp, Wire.Ip("10.77.0.1")));
        ParsedFrame arp = Next(nic, f => f.EtherType == 0x0806 && f.ArpOperation == 2);
        Assert.Equal(Wire.Ip("10.77.0.1"), arp.ArpSenderIp);
        byte[] hostMac = arp.ArpSenderMac;

        tap.Send(Wire.Ethernet(hostMac, Wire.GuestMac, 0x0800, Wire.Ipv4(guestIp, Wire.Ip("10.77.0.1"), 1, Wire.IcmpEcho(77, 1, "hello tap"u8.ToArray()))));
        ParsedFrame echo = Next(nic, f => f.EtherType == 0x0800 && f.Protocol == 1 && f.IcmpType == 0);
        Assert.Equal(77, echo.IcmpId);
        Assert.Equal("hello tap"u8.ToArray(), echo.Data);
    }

    [SkippableFact]
    public void ASecondUserOfTheSameInterfaceIsToldItIsInUse()
    {
        Capabilities.SkipUnlessNetAdmin();
        string name = NewName();
        using (new TapBackend(name))
        {
            var error = Assert.Throws<NetworkBackendException>(() => new TapBackend(name));
            Assert.Equal($"TAP interface {name} is already in use", error.Message);
        }
    }

    [SkippableFact]
    public void WithoutCapNetAdminTheReasonIsOneSentence()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "needs root, to drop CAP_NET_ADMIN and nothing else");

        string name = NewName();
        NetworkBackendException? error = null;
        bool dropped = Capabilities.RunWithout(Capabilities.NetAdmin, () =>
        {
            try
            {
                new TapBackend(name).Dispose();
            }
            catch (NetworkBackendException e)
            {
                error = e;
            }
        });
        Skip.IfNot(dropped, "cannot drop CAP_NET_ADMIN from a thread here");

        Assert.NotNull(error);
        Assert.Equal(
            $"no permission to create or attach TAP interface {name} (it needs CAP_NET_ADMIN, or an interface made beforehand with 'ip tuntap add {name} mode tap user $USER')",
            error!.Message);
    }

    [SkippableFact]
    public void AnInterfaceThatIsNotATapIsRefusedInOneSentence()
    {
        Capabilities.SkipUnlessNetAdmin();

        var error = Assert.Throws<NetworkBackendException>(() => new TapBackend("lo"));
        Assert.Contains("lo", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    private static ParsedFrame Next(FrameCollector nic, Func<ParsedFrame, bool> match)
    {
        DateTime end = DateTime.UtcNow + TestGuest.Timeout;
        while (DateTime.UtcNow < end)
        {
            byte[]? raw = nic.Next(end - DateTime.UtcNow);
            if (raw is null)
            {
                break;
            }

            var frame = new ParsedFrame(raw);
            if (match(frame))
            {
                return frame;
            }
        }

        Assert.Fail("the expected frame did not come through the TAP interface");
        return null!;
    }
}
