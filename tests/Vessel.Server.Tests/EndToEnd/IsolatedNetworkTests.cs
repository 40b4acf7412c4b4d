using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// An isolated network is a virtual switch of its own: two real VMs on it reach each other and
/// nothing else (no gateway answers), and the network cannot be deleted while they use it.
/// </summary>
public sealed class IsolatedNetworkTests
{
    [Fact]
    public async Task VmsOnAnIsolatedNetworkReachEachOtherAndNothingElse()
    {
        using var temp = new TempDirectory();
        string dataDirectory = temp.File("data");
        ServeProcess serve = await ServeProcess.StartAsync(dataDirectory);
        try
        {
            VesselClient client = serve.Client;
            NetworkInfo lan = await client.CreateNetworkAsync(new NetworkCreateRequest("lan", "isolated", null));
            Assert.Equal("isolated", lan.Kind);
            foreach (string name in new[] { "left", "right" })
            {
                await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
                {
                    Name = name,
                    Kernel = TestFiles.Kernel,
                    Initrd = TestFiles.Initrd,
                    Append = TestFiles.CommandLine,
                    MemoryBytes = 128L << 20,
                    Nics = [new NicRequest { Network = "lan" }],
                }));
                await client.WaitForSuccessAsync(await client.VmActionAsync(name, "start"));
            }

            await using ConsoleSession left = await ConsoleSession.AttachAsync(client, "left");
            await using ConsoleSession right = await ConsoleSession.AttachAsync(client, "right");
            left.WaitFor(TestFiles.Prompt);
            right.WaitFor(TestFiles.Prompt);
            await left.RunAsync("ifconfig eth0 192.168.77.1 up && echo up-$((1+1))", "up-2");
            await right.RunAsync("ifconfig eth0 192.168.77.2 up && echo up-$((1+2))", "up-3");

            await right.RunAsync("ping -c 2 192.168.77.1 >/dev/null && echo reached-$((2+3))", "reached-5");
            await left.RunAsync("ping -c 2 192.168.77.2 >/dev/null && echo reached-$((2+4))", "reached-6");
            // Where a NAT network would answer (its gateway 10.0.2.2), nothing does.
            await right.RunAsync("route add default dev eth0; ping -c 2 -W 2 10.0.2.2 >/dev/null || echo alone-$((3+4))", "alone-7");

            VesselApiException inUse = await Assert.ThrowsAsync<VesselApiException>(() => client.DeleteNetworkAsync("lan"));
            Assert.Equal(409, inUse.Status);
            Assert.Contains(await client.ListNetworksAsync(), n => n.Name == "lan");
        }
        finally
        {
            serve.Dispose();
            VmmProcesses.KillAll(dataDirectory);
        }
    }
}
