using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>
/// A VM's <c>display</c> setting (none or vnc) through the API: checked with one sentence, kept,
/// edited while stopped, and carried to clones and to VMs deployed from templates. (What a
/// running VMM does with it is in <c>EndToEnd/VncConsoleTests</c>.)
/// </summary>
public sealed class DisplaySettingTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    private static VmCreateRequest Definition(string name, string? display) => new()
    {
        Name = name,
        Kernel = TestFiles.Kernel,
        Nics = [],
        Display = display,
        Disks = [new DiskRequest { SizeBytes = 16L << 20 }],
    };

    [Theory]
    [InlineData("svga")]
    [InlineData("VNC")]
    [InlineData("")]
    public async Task AnUnknownDisplayIsRefusedWithOneSentenceAndNothingIsMade(string display)
    {
        using HttpClient http = _factory.Http();
        JsonObject problem = await Http.ProblemAsync(await http.PostAsJsonAsync("/api/v1/vms", new { name = "screen", kernel = TestFiles.Kernel, display }), 400);
        Assert.Equal($"The display is none or vnc, not '{display}'.", problem["detail"]!.GetValue<string>());
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonObject>("/api/v1/vms"))!["total"]!.GetValue<int>());

        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(Definition("plain", null)));
        VesselApiException edit = await Assert.ThrowsAsync<VesselApiException>(() => client.EditVmAsync("plain", new VmEditRequest { Display = display }));
        Assert.Equal(400, edit.Status);
        Assert.Equal(VmDisplays.None, (await client.GetVmAsync("plain")).Display);
    }

    [Fact]
    public async Task TheDisplayIsKeptAndEditedWhileStopped()
    {
        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(Definition("plain", null)));
        await client.WaitForSuccessAsync(await client.CreateVmAsync(Definition("screen", VmDisplays.Vnc)));
        Assert.Equal(VmDisplays.None, (await client.GetVmAsync("plain")).Display);
        Assert.Equal(VmDisplays.Vnc, (await client.GetVmAsync("screen")).Display);

        VmDetails edited = await client.EditVmAsync("plain", new VmEditRequest { Display = VmDisplays.Vnc });
        Assert.Equal(VmDisplays.Vnc, edited.Display);
        Assert.Empty(edited.PendingChanges);
        edited = await client.EditVmAsync("screen", new VmEditRequest { Display = VmDisplays.None });
        Assert.Equal(VmDisplays.None, edited.Display);

        // An edit that does not name the display leaves it alone.
        edited = await client.EditVmAsync("plain", new VmEditRequest { Description = "with a screen" });
        Assert.Equal(VmDisplays.Vnc, edited.Display);
    }

    [Fact]
    public async Task ClonesAndVmsDeployedFromATemplateHaveTheSourcesDisplayUnlessToldOtherwise()
    {
        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(Definition("source", VmDisplays.Vnc)));
        await client.WaitForSuccessAsync(await client.CloneVmAsync("source", new CloneRequest { Name = "copy", Mode = "full" }));
        Assert.Equal(VmDisplays.Vnc, (await client.GetVmAsync("copy")).Display);

        VmDetails template = await client.MakeTemplateAsync("source");
        Assert.Equal(VmDisplays.Vnc, template.Display);
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "deployed", Template = "source" }));
        Assert.Equal(VmDisplays.Vnc, (await client.GetVmAsync("deployed")).Display);
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "headless", Template = "source", Display = VmDisplays.None }));
        Assert.Equal(VmDisplays.None, (await client.GetVmAsync("headless")).Display);
    }

    public void Dispose() => _factory.Dispose();
}
