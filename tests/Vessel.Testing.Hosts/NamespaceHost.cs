using System.Diagnostics;
using System.Net;
using System.Runtime.ExceptionServices;

namespace Vessel.Testing.Hosts;

/// <summary>One host of <see cref="NamespaceHosts"/>: a network namespace with its loopback and one interface on the bridge.</summary>
public sealed class NamespaceHost
{
    /// <summary>The host's interface on the bridge, as a machine's first NIC.</summary>
    public const string InterfaceName = "eth0";

    private readonly NamespaceHosts _hosts;

    internal NamespaceHost(NamespaceHosts hosts, int number, string namespaceName, IPAddress address, string bridgePort)
    {
        _hosts = hosts;
        Number = number;
        Namespace = namespaceName;
        Address = address;
        BridgePort = bridgePort;
    }

    /// <summary>1 for the first host.</summary>
    public int Number { get; }

    /// <summary>The namespace's name (<c>ip netns exec NAME …</c>).</summary>
    public string Namespace { get; }

    /// <summary>The host's address on the bridge's /24.</summary>
    public IPAddress Address { get; }

    /// <summary>The other end of the host's veth pair, a port of the bridge.</summary>
    public string BridgePort { get; }

    /// <summary>Starts a program in this host (see <see cref="NamespaceHosts.Start"/>).</summary>
    public Process Start(string program, params IEnumerable<string> arguments) => _hosts.Start(this, program, arguments);

    /// <summary>Runs a program in this host to its end and returns its output.</summary>
    public string Run(string program, params IEnumerable<string> arguments) => _hosts.Run(this, program, arguments);

    /// <summary>Sets the host's link up or down (its veth end: a cable pulled and put back).</summary>
    public void SetLink(bool up) => NamespaceHosts.IpIn(Namespace, "link", "set", InterfaceName, up ? "up" : "down");

    /// <summary>
    /// Runs <paramref name="action"/> on a thread that has entered this host's network namespace
    /// and returns its result: sockets made there belong to the host for their whole life (a
    /// client or a server of the test's own on the host's network). The thread ends afterwards,
    /// so no other code of the process runs in the namespace.
    /// </summary>
    public T Enter<T>(Func<T> action)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Namespaces.EnterNetwork($"/var/run/netns/{Namespace}");
                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        { IsBackground = true, Name = $"in {Namespace}" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    public override string ToString() => $"{Namespace} ({Address})";
}
