using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>Loopback TCP ports for tests: a free one, and waiting until a process listens on one.</summary>
public static class LocalPorts
{
    /// <summary>A port nothing listens on now (the system picks it).</summary>
    public static int Free()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>
    /// Waits until something listens on <paramref name="port"/>, looking at the host's listening
    /// sockets rather than connecting: a probe connection that closes at once would be, to a VMM
    /// waiting for a migration, a stream cut at its first byte.
    /// </summary>
    public static void WaitUntilListening(int port, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? VesselProcess.DefaultTimeout);
        while (!IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Any(e => e.Port == port))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"nothing listens on port {port}");
            }

            Thread.Sleep(50);
        }
    }
}
