using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Hosting;
using Vessel.Server.Tests.Access;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Server.Vmm;

namespace Vessel.Server.Tests.Listener;

/// <summary>
/// Console tickets: one opens the console of one VM, of one kind, for the caller who asked,
/// once, within its time. The daemon runs in process with a fake clock; requests come "from the
/// network" with the API token of a user who has VM.Console on the VMs (VMUser on /), so that
/// what refuses them is the ticket, not the permission.
/// </summary>
public sealed class ConsoleTicketTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    private FakeTimeProvider Time => _factory.Clock;

    /// <summary>A network client of <paramref name="user"/> (created with VMUser on /) through a token of its own.</summary>
    private async Task<HttpClient> AsAsync(string user)
    {
        await _factory.AddUserAsync(user);
        using HttpClient root = _factory.Root();
        HttpResponseMessage granted = await root.PutAsJsonAsync("/api/v1/access/acl", new AclSetRequest("/", BuiltInRoles.VmUser, User: user));
        Assert.True(granted.IsSuccessStatusCode, await granted.Content.ReadAsStringAsync());
        return _factory.Remote(await _factory.CreateTokenAsync(user, "console"));
    }

    private async Task CreateVmAsync(string name, string display = VmDisplays.None)
    {
        using HttpClient http = _factory.Root();
        OperationInfo done = await Http.WaitAsync(http, await http.PostAsJsonAsync("/api/v1/vms", new { name, kernel = TestFiles.Kernel, nics = Array.Empty<object>(), display }));
        Assert.Equal(OperationStatuses.Succeeded, done.Status);
    }

    private static async Task<ConsoleTicket> TicketAsync(HttpClient http, string vm, string kind = "serial")
    {
        HttpResponseMessage response = await http.PostAsJsonAsync($"/api/v1/vms/{vm}/console/ticket", new { kind });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ConsoleTicket>(Vessel.Client.VesselClient.JsonOptions))!;
    }

    /// <summary>
    /// Opens the console with the ticket. The VMs here are stopped, so a ticket that is accepted
    /// ends in 409 ("is stopped"), one that is refused in 403 before the VM's state is looked at.
    /// </summary>
    private static async Task<(int Status, string Detail)> OpenAsync(HttpClient http, string vm, string? ticket, string endpoint = "console")
    {
        HttpResponseMessage response = await http.GetAsync($"/api/v1/vms/{vm}/{endpoint}" + (ticket is null ? "" : $"?ticket={Uri.EscapeDataString(ticket)}"));
        JsonObject problem = await Http.ProblemAsync(response, (int)response.StatusCode);
        return ((int)response.StatusCode, problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATicketOpensTheConsoleOnceForItsCaller()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = await AsAsync("alice@vessel");
        ConsoleTicket ticket = await TicketAsync(alice, "vm1");
        Assert.Equal(Time.GetUtcNow() + TimeSpan.FromSeconds(30), ticket.ExpiresAt, TimeSpan.FromMilliseconds(1));

        (int status, string detail) = await OpenAsync(alice, "vm1", ticket.Ticket);
        Assert.True(status == 409, detail);
        (status, detail) = await OpenAsync(alice, "vm1", ticket.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("used already", detail);
    }

    [Fact]
    public async Task ATicketReplayedByAnotherCallerIsRefusedAndStaysItsOwners()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = await AsAsync("alice@vessel");
        using HttpClient mallory = await AsAsync("mallory@vessel");
        ConsoleTicket ticket = await TicketAsync(alice, "vm1");

        (int status, string detail) = await OpenAsync(mallory, "vm1", ticket.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("mallory@vessel", detail);
        // Without credentials the request is not even looked at.
        using HttpClient anonymous = _factory.Remote();
        Assert.Equal(401, (await OpenAsync(anonymous, "vm1", ticket.Ticket)).Status);

        Assert.Equal(409, (await OpenAsync(alice, "vm1", ticket.Ticket)).Status);
    }

    [Fact]
    public async Task ATicketAfterItsTimeIsRefused()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = await AsAsync("alice@vessel");
        ConsoleTicket late = await TicketAsync(alice, "vm1");
        ConsoleTicket inTime = await TicketAsync(alice, "vm1");

        Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(409, (await OpenAsync(alice, "vm1", inTime.Ticket)).Status);
        Time.Advance(TimeSpan.FromSeconds(1));
        (int status, string detail) = await OpenAsync(alice, "vm1", late.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("expired", detail);
    }

    [Fact]
    public async Task ATicketForAnotherVmOrAnotherKindIsRefused()
    {
        await CreateVmAsync("vm1");
        await CreateVmAsync("vm2");
        using HttpClient alice = await AsAsync("alice@vessel");
        ConsoleTicket ticket = await TicketAsync(alice, "vm1");
        (int status, string detail) = await OpenAsync(alice, "vm2", ticket.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("vm2", detail);

        // A kind the server does not serve gets no ticket.
        JsonObject unknown = await Http.ProblemAsync(await alice.PostAsJsonAsync("/api/v1/vms/vm1/console/ticket", new { kind = "spice" }), 400);
        Assert.Equal("The console kind 'spice' is not one this server opens; ask for serial or vnc.", unknown["detail"]!.GetValue<string>());
        var tickets = new ConsoleTickets(_factory.Services.GetRequiredService<ServerOptions>(), Time);
        ConsoleTicket vnc = tickets.Issue("alice@vessel", "11111111-1111-1111-1111-111111111111", "vnc");
        Server.Api.ApiException refused = Assert.Throws<Server.Api.ApiException>(() => tickets.Redeem(vnc.Ticket, "alice@vessel", "11111111-1111-1111-1111-111111111111", "vm1", ConsoleKinds.Serial));
        Assert.Equal(403, refused.Status);
        tickets.Redeem(vnc.Ticket, "alice@vessel", "11111111-1111-1111-1111-111111111111", "vm1", "vnc");
    }

    [Fact]
    public async Task AVncTicketOpensOnlyTheScreenAndASerialTicketOnlyTheSerialConsole()
    {
        await CreateVmAsync("screen", VmDisplays.Vnc);
        using HttpClient alice = await AsAsync("alice@vessel");
        ConsoleTicket serial = await TicketAsync(alice, "screen", ConsoleKinds.Serial);
        ConsoleTicket vnc = await TicketAsync(alice, "screen", ConsoleKinds.Vnc);

        (int status, string detail) = await OpenAsync(alice, "screen", serial.Ticket, "vnc");
        Assert.Equal(403, status);
        Assert.Equal("The console ticket was not issued to alice@vessel!console for the vnc console of VM 'screen'; ask for a ticket of your own.", detail);
        (status, detail) = await OpenAsync(alice, "screen", vnc.Ticket, "console");
        Assert.Equal(403, status);
        Assert.Contains("for the serial console", detail);

        // Accepted (the VM is stopped, so 409), then used up.
        (status, detail) = await OpenAsync(alice, "screen", vnc.Ticket, "vnc");
        Assert.True(status == 409, detail);
        Assert.Equal("VM 'screen' is stopped; its console is there while it runs.", detail);
        (status, detail) = await OpenAsync(alice, "screen", vnc.Ticket, "vnc");
        Assert.Equal(403, status);
        Assert.Contains("used already", detail);

        // Without a ticket the screen does not open over the network; the Unix socket needs none.
        (status, detail) = await OpenAsync(alice, "screen", null, "vnc");
        Assert.Equal(403, status);
        Assert.Contains("/console/ticket", detail);
        using HttpClient root = _factory.Root();
        Assert.Equal(409, (await OpenAsync(root, "screen", null, "vnc")).Status);
    }

    [Fact]
    public async Task AVmWithoutADisplayGetsNoVncTicket()
    {
        await CreateVmAsync("headless");
        using HttpClient alice = await AsAsync("alice@vessel");
        JsonObject refused = await Http.ProblemAsync(await alice.PostAsJsonAsync("/api/v1/vms/headless/console/ticket", new { kind = "vnc" }), 409);
        Assert.Equal("VM 'headless' has no display; give it one (display: vnc) and start it again.", refused["detail"]!.GetValue<string>());
        await TicketAsync(alice, "headless", ConsoleKinds.Serial);
    }

    [Fact]
    public async Task ATicketIsIssuedOnlyToACallerWithVmConsoleOnThatVm()
    {
        await CreateVmAsync("vm1");
        await CreateVmAsync("vm2");
        await _factory.AddUserAsync("viewer@vessel");
        await _factory.SetAclAsync(
            AccessFactory.Entry("/", "user", "viewer@vessel", BuiltInRoles.Auditor),
            AccessFactory.Entry("/vms/" + await VmIdAsync("vm2"), "user", "viewer@vessel", BuiltInRoles.VmUser));
        using HttpClient viewer = _factory.Remote(await _factory.CreateTokenAsync("viewer@vessel", "t"));

        // Seeing a VM is not using its console.
        JsonObject refused = await Http.ProblemAsync(await viewer.PostAsJsonAsync("/api/v1/vms/vm1/console/ticket", new { kind = "serial" }), 403);
        Assert.Equal("Permission denied: viewer@vessel!t needs VM.Console on /vms/vm1.", refused["detail"]!.GetValue<string>());
        ConsoleTicket ticket = await TicketAsync(viewer, "vm2");
        Assert.Equal(409, (await OpenAsync(viewer, "vm2", ticket.Ticket)).Status);

        // Without credentials there is no ticket at all.
        using HttpClient anonymous = _factory.Remote();
        await Http.ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/vms/vm2/console/ticket", new { kind = "serial" }), 401);
    }

    private async Task<Guid> VmIdAsync(string name) =>
        await _factory.WithInventoryAsync(async db => await db.Vms.Where(v => v.Name == name).Select(v => v.Id).SingleAsync());

    [Fact]
    public async Task OverTheNetworkTheConsoleNeedsATicketAndOnTheUnixSocketItDoesNot()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = await AsAsync("alice@vessel");
        (int status, string detail) = await OpenAsync(alice, "vm1", null);
        Assert.Equal(403, status);
        Assert.Contains("/console/ticket", detail);
        Assert.Equal(403, (await OpenAsync(alice, "vm1", "bm90LWEtdGlja2V0")).Status);
        Assert.Equal(403, (await OpenAsync(alice, "vm1", new string('A', 5000))).Status);

        using HttpClient root = _factory.Root();
        Assert.Equal(409, (await OpenAsync(root, "vm1", null)).Status);
    }

    public void Dispose() => _factory.Dispose();
}
