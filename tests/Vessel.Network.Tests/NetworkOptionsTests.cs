using System.Net;
using Vessel.Network.Packets;
using Vessel.Network.User;

namespace Vessel.Network.Tests;

public sealed class NetworkOptionsTests
{
    [Fact]
    public void PlainUserGivesQemusDefaults()
    {
        var options = Assert.IsType<UserNetworkOptions>(NetworkOptions.Parse("user"));
        Assert.Equal("10.0.2.0", options.Network.ToString());
        Assert.Equal(24, options.PrefixLength);
        Assert.Empty(options.PortForwards);
        Assert.Null(options.Mac);
    }

    [Fact]
    public void UserWithNetAndSeveralForwards()
    {
        var options = Assert.IsType<UserNetworkOptions>(NetworkOptions.Parse(
            "user,net=192.168.76.0/255.255.255.0,hostfwd=tcp::2222-:22,hostfwd=udp:0.0.0.0:5353-192.168.76.20:53,mac=52:54:00:ab:cd:ef"));
        Assert.Equal("192.168.76.0", options.Network.ToString());
        Assert.Equal(24, options.PrefixLength);
        Assert.Equal(MacAddress.Parse("52:54:00:ab:cd:ef"), options.Mac);
        Assert.Equal(
            [
                new PortForward(ForwardProtocol.Tcp, IPAddress.Loopback, 2222, null, 22),
                new PortForward(ForwardProtocol.Udp, IPAddress.Any, 5353, new Ipv4Address(192, 168, 76, 20), 53),
            ],
            options.PortForwards);
    }

    [Fact]
    public void ForwardWithoutProtocolMeansTcp()
    {
        var options = (UserNetworkOptions)NetworkOptions.Parse("user,hostfwd=:127.0.0.1:8080-:80");
        Assert.Equal(new PortForward(ForwardProtocol.Tcp, IPAddress.Loopback, 8080, null, 80), options.PortForwards[0]);
    }

    [Fact]
    public void TapAndSocket()
    {
        Assert.Equal(new TapNetworkOptions("tap0"), NetworkOptions.Parse("tap,ifname=tap0"));
        var listen = Assert.IsType<SocketNetworkOptions>(NetworkOptions.Parse("socket,listen=:4000"));
        Assert.Equal(new IPEndPoint(IPAddress.Any, 4000), listen.Listen);
        var connect = Assert.IsType<SocketNetworkOptions>(NetworkOptions.Parse("socket,connect=127.0.0.1:4000"));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4000), connect.Connect);
        Assert.Equal(new SwitchNetworkOptions("/run/vessel/sw0.sock"), NetworkOptions.Parse("switch,path=/run/vessel/sw0.sock"));
    }

    [Theory]
    [InlineData("", "the --net option is empty")]
    [InlineData("bridge", "unknown network kind 'bridge'")]
    [InlineData("user,foo=1", "--net user has no option 'foo'")]
    [InlineData("user,net", "'net' in --net user is not of the form key=value")]
    [InlineData("user,net=10.0.2.0/33", "net=10.0.2.0/33 needs a prefix length")]
    [InlineData("user,net=10.0.2.0/255.0.255.0", "net=10.0.2.0/255.0.255.0 has a network mask whose ones are not contiguous")]
    [InlineData("user,net=10.0.2.7/24", "net=10.0.2.7/24 has host bits set")]
    [InlineData("user,net=10.0.2.0/30", "too small or too large")]
    [InlineData("user,net=10.0.2", "'10.0.2' given for net is not an IPv4 address")]
    [InlineData("user,dhcpstart=10.0.3.15", "dhcpstart=10.0.3.15 is not a host address in the virtual network 10.0.2.0/24")]
    [InlineData("user,net=10.0.2.0/24,net=10.0.3.0/24", "has option 'net' more than once")]
    [InlineData("user,hostfwd=tcp:2222-:22", "hostfwd=tcp:2222-:22 is not of the form")]
    [InlineData("user,hostfwd=sctp::1-:2", "names protocol 'sctp'")]
    [InlineData("user,hostfwd=tcp::70000-:22", "'70000' in hostfwd=tcp::70000-:22 is not a port number")]
    [InlineData("user,hostfwd=tcp::22-:0", "'0' in hostfwd=tcp::22-:0 is not a port number")]
    [InlineData("user,hostfwd=tcp::22-10.0.9.1:22", "hostfwd guest address 10.0.9.1 is not in the virtual network")]
    [InlineData("user,mac=01:00:5e:00:00:01", "is a multicast address")]
    [InlineData("user,mac=52:54:00:12:34", "is not a MAC address")]
    [InlineData("tap", "--net tap needs ifname=NAME")]
    [InlineData("tap,ifname=a/b", "'a/b' is not a valid interface name")]
    [InlineData("tap,ifname=abcdefghijklmnop", "is not a valid interface name")]
    [InlineData("socket", "--net socket needs exactly one of")]
    [InlineData("socket,listen=:1,connect=127.0.0.1:2", "--net socket needs exactly one of")]
    [InlineData("socket,connect=:4000", "connect=:4000 needs an address")]
    [InlineData("socket,connect=127.0.0.1", "connect=127.0.0.1 is not of the form ADDR:PORT")]
    [InlineData("switch", "--net switch needs path=PATH")]
    [InlineData("user,restrict=maybe", "restrict=maybe must be on or off")]
    [InlineData("switch,path=/a,ifname=x", "--net switch has no option 'ifname'")]
    public void MistakesAreOneClearSentence(string text, string expected)
    {
        var error = Assert.Throws<NetworkOptionsException>(() => NetworkOptions.Parse(text));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("\n", error.Message);
        Assert.IsAssignableFrom<NetworkException>(error);
    }

    [Fact]
    public void TheFactoryCreatesTheBackendTheOptionsName()
    {
        using INetworkBackend user = NetworkBackendFactory.Create("user");
        Assert.IsType<UserNetwork>(user);
        using INetworkBackend socket = NetworkBackendFactory.Create("socket,listen=127.0.0.1:0");
        Assert.IsType<Vessel.Network.SocketLink.SocketLinkBackend>(socket);
    }
}
