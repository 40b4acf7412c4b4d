using System.Text.Json;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Server.Vmm;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// A VM's optical drive is the VMM's CD/DVD drive (<c>--cdrom</c>): the VMM's own
/// <c>query-block</c> shows the ISO volume in it, and an edit of a running VM changes or ejects
/// the disc at once, with nothing left pending.
/// </summary>
public sealed class OpticalDriveTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    [Fact]
    public async Task ARunningVmsDiscIsChangedAndEjectedLive()
    {
        using VesselClient client = _factory.Typed();
        foreach (string name in new[] { "disc1", "disc2" })
        {
            string file = Path.Combine(_factory.DataDirectory, $"{name}-source.iso");
            await File.WriteAllBytesAsync(file, new byte[2 << 20]);
            JsonNode started = await client.CreateVolumeAsync("default", new VolumeCreateRequest { Name = name, Format = "iso", Import = file });
            await client.WaitForSuccessAsync(started.Deserialize<OperationInfo>(VesselClient.JsonOptions)!);
        }

        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
        {
            Name = "reader",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 128L << 20,
            Nics = [],
            Iso = "default/disc1",
        }));
        await client.WaitForSuccessAsync(await client.VmActionAsync("reader", "start"));
        VmDetails vm = await client.GetVmAsync("reader");
        string socket = Path.Combine(_factory.DataDirectory, "run", vm.Id.ToString("N"), "qmp.sock");
        await using QmpConnection qmp = await QmpConnection.ConnectAsync(socket, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.StartsWith("disc1", Path.GetFileName(await DiscAsync(qmp)));

        VmDetails changed = await client.EditVmAsync("reader", new VmEditRequest { Iso = "default/disc2" });
        Assert.Equal("default/disc2", changed.Iso);
        Assert.Empty(changed.PendingChanges);
        Assert.StartsWith("disc2", Path.GetFileName(await DiscAsync(qmp)));

        VmDetails ejected = await client.EditVmAsync("reader", new VmEditRequest { Iso = "" });
        Assert.Null(ejected.Iso);
        Assert.Empty(ejected.PendingChanges);
        Assert.Null(await DiscAsync(qmp));

        // The disc volume in use by a definition cannot be deleted; once the VM lets go, it can.
        await client.EditVmAsync("reader", new VmEditRequest { Iso = "default/disc1" });
        VesselApiException inUse = await Assert.ThrowsAsync<VesselApiException>(() => client.DeleteVolumeAsync("default", "disc1"));
        Assert.Equal(409, inUse.Status);
        await client.WaitForSuccessAsync(await client.VmActionAsync("reader", "stop"));
    }

    /// <summary>The file in the VMM's CD/DVD drive, or null when it is empty.</summary>
    private static async Task<string?> DiscAsync(QmpConnection qmp)
    {
        JsonArray drives = (await qmp.ExecuteAsync("query-block", null, CancellationToken.None))!.AsArray();
        JsonObject drive = drives.Select(d => d!.AsObject()).Single(d => d["device"]!.GetValue<string>() == VmDefinitions.OpticalDriveId);
        return drive["inserted"]?["file"]?.GetValue<string>();
    }

    public void Dispose() => _factory.Dispose();
}
