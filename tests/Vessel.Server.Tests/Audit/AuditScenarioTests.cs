using System.Net.Http.Json;
using System.Net.WebSockets;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Audit;

/// <summary>The audit log over a VM's life with a real VMM: each change of the scenario is on record, with its object and operation.</summary>
public sealed class AuditScenarioTests
{
    [Fact]
    public async Task EachChangeOfAVmsLifeIsOnRecord()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync();
        using VesselClient client = daemon.Typed();
        var operations = new List<Guid>();
        async Task DoneAsync(Task<OperationInfo> started)
        {
            OperationInfo operation = await client.WaitForSuccessAsync(await started);
            operations.Add(operation.Id);
        }

        await DoneAsync(client.CreateVmAsync(new VmCreateRequest
        {
            Name = "audited",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 128L << 20,
            Disks = [new DiskRequest { SizeBytes = 64L << 20 }],
            Nics = [],
        }));
        await DoneAsync(client.VmActionAsync("audited", "start"));
        await DoneAsync(client.CreateSnapshotAsync("audited", new SnapshotCreateRequest { Name = "before" }));
        using (WebSocket console = await daemon.Server.CreateWebSocketClient().ConnectAsync(new Uri(daemon.Server.BaseAddress, "api/v1/vms/audited/console"), CancellationToken.None))
        {
            await console.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        await DoneAsync(client.VmActionAsync("audited", "stop"));
        await DoneAsync(client.DeleteVmAsync("audited", deleteDisks: true));
        HttpResponseMessage again = await daemon.Http().PostAsync("/api/v1/vms/audited/start", null);
        await Infrastructure.Http.ProblemAsync(again, 404);

        List<AuditEntryInfo> entries = await AuditTestSupport.AllAsync(client);
        Assert.Equal(["vm.create", "vm.start", "snapshot.create", "vm.console", "vm.stop", "vm.delete", "vm.start"], entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal("vm:audited", e.Object));
        Assert.All(entries, e => Assert.Equal("root@pam", e.User));
        Assert.Equal(operations, entries.Where(e => e.OperationId is not null).Select(e => e.OperationId!.Value));
        Assert.Equal(101, entries[3].Status);
        Assert.Null(entries[3].OperationId);
        Assert.Equal(404, entries[^1].Status);
        Assert.Equal("There is no VM named 'audited'.", entries[^1].Detail);
        Assert.True((await client.VerifyAuditAsync()).Ok);
    }
}
