using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>
/// The VM list names what each VM was cloned or deployed from (<c>clonedFromId</c>), so that a
/// VM's page lists its clones from the one list the web interface already holds.
/// </summary>
public sealed class CloneListingTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    [Fact]
    public async Task ListedClonesAndDeployedVmsNameTheirSourceAndOriginalsNameNone()
    {
        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "source", Kernel = TestFiles.Kernel, Nics = [], Disks = [new DiskRequest { SizeBytes = 16L << 20 }] }));
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "other", Kernel = TestFiles.Kernel, Nics = [] }));
        await client.WaitForSuccessAsync(await client.CloneVmAsync("source", new CloneRequest { Name = "copy", Mode = "full" }));
        VmDetails template = await client.MakeTemplateAsync("copy");
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "deployed", Template = "copy" }));

        Dictionary<string, VmSummary> listed = (await client.ListVmsAsync()).Items.ToDictionary(v => v.Name);
        Guid source = listed["source"].Id;
        Assert.Equal(source, listed["copy"].ClonedFromId);
        Assert.Equal(template.Id, listed["deployed"].ClonedFromId);
        Assert.Null(listed["source"].ClonedFromId);
        Assert.Null(listed["other"].ClonedFromId);
        Assert.Equal(source, Assert.Single((await client.ListTemplatesAsync()).Items).ClonedFromId);
    }

    public void Dispose() => _factory.Dispose();
}
