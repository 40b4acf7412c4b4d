using System.Net;
using System.Net.Sockets;
using System.Text;
using Vessel.Testing.Hosts;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// The namespace hosts the multi-host tests run on: two hosts talk over the bridge, a host is
/// cut off from the root namespace (its loopback included), and nothing of a run is left after
/// it. Skipped with the reason where namespaces cannot be made (no root).
/// </summary>
public sealed class NamespaceHostsTests
{
    [SkippableFact]
    public void TwoHostsReachEachOtherOverTheBridge()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var hosts = new NamespaceHosts(2);
        NamespaceHost a = hosts[0], b = hosts[1];
        Assert.NotEqual(a.Address, b.Address);

        // A server of this process inside B, on B's address; a client inside A sends to it.
        using Socket listener = b.Enter(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(b.Address, 0));
            socket.Listen(1);
            return socket;
        });
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Task<string> received = Task.Run(() =>
        {
            using Socket connection = listener.Accept();
            byte[] buffer = new byte[64];
            int read = connection.Receive(buffer);
            connection.Send(Encoding.ASCII.GetBytes($"{((IPEndPoint)connection.RemoteEndPoint!).Address}"));
            return Encoding.ASCII.GetString(buffer, 0, read);
        });
        string seenFrom = a.Enter(() =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(b.Address, port));
            client.Send(Encoding.ASCII.GetBytes($"hello from {a.Number}"));
            byte[] buffer = new byte[64];
            return Encoding.ASCII.GetString(buffer, 0, client.Receive(buffer));
        });
        Assert.Equal("hello from 1", received.Result);
        Assert.Equal(a.Address.ToString(), seenFrom);

        // A program run in a host sees the host's address on its interface, and nothing else but loopback.
        string addresses = b.Run("ip", "-o", "-4", "address", "show");
        Assert.Contains($"{NamespaceHost.InterfaceName}    inet {b.Address}/24", addresses, StringComparison.Ordinal);
        Assert.Equal(2, addresses.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [SkippableFact]
    public void AHostCannotReachTheRootNamespacesLoopback()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        using var rootListener = new TcpListener(IPAddress.Loopback, 0);
        rootListener.Start();
        int port = ((IPEndPoint)rootListener.LocalEndpoint).Port;
        using (var fromRoot = new TcpClient())
        {
            fromRoot.Connect(IPAddress.Loopback, port); // the listener is there
        }

        using var hosts = new NamespaceHosts(1);
        NamespaceHost host = hosts[0];
        SocketError refused = host.Enter(() =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                client.Connect(new IPEndPoint(IPAddress.Loopback, port));
                return SocketError.Success;
            }
            catch (SocketException e)
            {
                return e.SocketErrorCode;
            }
        });
        Assert.Equal(SocketError.ConnectionRefused, refused);

        // The host's own loopback works: a listener there on the same port is reached.
        bool ownLoopback = host.Enter(() =>
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            using TcpClient accepted = listener.AcceptTcpClient();
            return accepted.Connected;
        });
        Assert.True(ownLoopback);
    }

    [SkippableFact]
    public void TeardownLeavesNoNamespaceInterfaceOrProcess()
    {
        Skip.If(NamespaceHosts.UnavailableReason is not null, NamespaceHosts.UnavailableReason);
        string[] namespaces;
        string[] interfaces;
        System.Diagnostics.Process sleeper;
        int pid;
        using (var hosts = new NamespaceHosts(3))
        {
            namespaces = [.. hosts.Namespaces];
            interfaces = [.. hosts.InterfaceNames];
            Assert.Equal(4, namespaces.Length);
            Assert.Subset(NamespaceHosts.ListNamespaces().ToHashSet(), namespaces.ToHashSet());
            string bridgeLinks = hosts.Run(hosts[0], "ip", "netns", "exec", hosts.BridgeNamespace, "ip", "-o", "link");
            Assert.All(interfaces, name => Assert.Contains($": {name}", bridgeLinks, StringComparison.Ordinal));
            sleeper = hosts[1].Start("sleep", "600");
            pid = sleeper.Id;
            Assert.Contains(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), hosts.Run(hosts[1], "ip", "netns", "pids", hosts[1].Namespace), StringComparison.Ordinal);
        }

        Assert.Empty(NamespaceHosts.ListNamespaces().Intersect(namespaces));
        string rootLinks = RunIp("-o", "link");
        Assert.All(interfaces, name => Assert.DoesNotContain($": {name}", rootLinks, StringComparison.Ordinal));
        Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal), "the process started in a host still runs");
    }

    private static string RunIp(params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
