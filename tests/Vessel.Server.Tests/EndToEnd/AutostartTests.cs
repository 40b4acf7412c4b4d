using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// A daemon that starts (the host booted) starts the VMs marked autostart in their order, each
/// one's delay after it, and leaves the others stopped.
/// </summary>
public sealed class AutostartTests
{
    [Fact]
    public async Task VmsMarkedAutostartStartInTheirOrderWithTheirDelays()
    {
        using var temp = new TempDirectory();
        string dataDirectory = temp.File("data");
        ServeProcess serve = await ServeProcess.StartAsync(dataDirectory);
        try
        {
            // Created in the opposite order to their start order; "manual" is not marked.
            var plan = new (string Name, VmAutostart Autostart)[]
            {
                ("later", new VmAutostart(true, 20, 0)),
                ("manual", new VmAutostart(false, 0, 0)),
                ("sooner", new VmAutostart(true, 10, 2)),
            };
            foreach ((string name, VmAutostart autostart) in plan)
            {
                await serve.Client.WaitForSuccessAsync(await serve.Client.CreateVmAsync(new VmCreateRequest
                {
                    Name = name,
                    Kernel = TestFiles.Kernel,
                    Initrd = TestFiles.Initrd,
                    Append = TestFiles.CommandLine,
                    MemoryBytes = 64L << 20,
                    Nics = [],
                    Autostart = autostart,
                }));
            }

            // The host "boots": a new daemon on the same data directory.
            serve.Dispose();
            serve = await ServeProcess.StartAsync(dataDirectory);
            VesselClient client = serve.Client;
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (DateTime.UtcNow < deadline && (await client.GetVmAsync("later")).State != VmStates.Running)
            {
                await Task.Delay(250);
            }

            Assert.Equal(VmStates.Running, (await client.GetVmAsync("sooner")).State);
            Assert.Equal(VmStates.Running, (await client.GetVmAsync("later")).State);
            Assert.Equal(VmStates.Stopped, (await client.GetVmAsync("manual")).State);

            List<OperationInfo> starts = [.. (await client.ListOperationsAsync(pageSize: 100)).Items.Where(o => o.Kind == "vm.start").OrderBy(o => o.CreatedAt)];
            Assert.Equal(["sooner", "later"], starts.Select(o => o.Target));
            // "sooner" asked for 2 s after it before the next start (the daemon's own clock; a lower bound, never an upper one).
            Assert.True(starts[1].CreatedAt - starts[0].FinishedAt!.Value >= TimeSpan.FromSeconds(1.9), $"{starts[0].FinishedAt:O} -> {starts[1].CreatedAt:O}");
        }
        finally
        {
            serve.Dispose();
            VmmProcesses.KillAll(dataDirectory);
        }
    }
}
