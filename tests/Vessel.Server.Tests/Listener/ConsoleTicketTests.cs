using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Vessel.Client.Contracts;
using Vessel.Server.Hosting;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Server.Vmm;

namespace Vessel.Server.Tests.Listener;

/// <summary>
/// Console tickets: one opens the console of one VM, of one kind, for the caller who asked,
/// once, within its time. The daemon runs in process with a fake clock; requests come "from the
/// network" (a loopback address) as the user named in a test header, as the access layer will
/// name them once it authenticates.
/// </summary>
public sealed class ConsoleTicketTests : IDisposable
{
    private const string CallerHeader = "X-Test-Caller";

    private readonly ApiFactory _factory = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly WebApplicationFactory<ServerProgram> _network;

    public ConsoleTicketTests()
    {
        _network = _factory.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            services.AddSingleton<IStartupFilter, NetworkCallerFilter>();
        }));
    }

    /// <summary>
    /// Makes a request with <see cref="CallerHeader"/> a network request by that user (<c>-</c>:
    /// anonymous); one without it stays as the Unix socket's (no address: root on the host).
    /// </summary>
    private sealed class NetworkCallerFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (http.Request.Headers.TryGetValue(CallerHeader, out var caller))
                {
                    // As it arrives on the HTTPS listener: from an address, over TLS.
                    http.Connection.RemoteIpAddress = IPAddress.Loopback;
                    http.Request.Scheme = "https";
                    if (caller.ToString() != "-")
                    {
                        http.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, caller.ToString())], "test"));
                    }
                }

                return nextMiddleware(http);
            });
            next(app);
        };
    }

    private HttpClient As(string caller)
    {
        HttpClient http = _network.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        http.DefaultRequestHeaders.Add(CallerHeader, caller);
        return http;
    }

    private async Task CreateVmAsync(string name)
    {
        using HttpClient http = _network.CreateClient();
        OperationInfo done = await Http.WaitAsync(http, await http.PostAsJsonAsync("/api/v1/vms", new { name, kernel = TestFiles.Kernel, nics = Array.Empty<object>() }));
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
    private static async Task<(int Status, string Detail)> OpenAsync(HttpClient http, string vm, string? ticket)
    {
        HttpResponseMessage response = await http.GetAsync($"/api/v1/vms/{vm}/console" + (ticket is null ? "" : $"?ticket={Uri.EscapeDataString(ticket)}"));
        JsonObject problem = await Http.ProblemAsync(response, (int)response.StatusCode);
        return ((int)response.StatusCode, problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATicketOpensTheConsoleOnceForItsCaller()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = As("alice@vessel");
        ConsoleTicket ticket = await TicketAsync(alice, "vm1");
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(30), ticket.ExpiresAt, TimeSpan.FromMilliseconds(1));

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
        using HttpClient alice = As("alice@vessel");
        using HttpClient mallory = As("mallory@vessel");
        ConsoleTicket ticket = await TicketAsync(alice, "vm1");

        (int status, string detail) = await OpenAsync(mallory, "vm1", ticket.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("mallory@vessel", detail);
        using HttpClient anonymous = As("-");
        Assert.Equal(403, (await OpenAsync(anonymous, "vm1", ticket.Ticket)).Status);

        Assert.Equal(409, (await OpenAsync(alice, "vm1", ticket.Ticket)).Status);
    }

    [Fact]
    public async Task ATicketAfterItsTimeIsRefused()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = As("alice@vessel");
        ConsoleTicket late = await TicketAsync(alice, "vm1");
        ConsoleTicket inTime = await TicketAsync(alice, "vm1");

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(409, (await OpenAsync(alice, "vm1", inTime.Ticket)).Status);
        _time.Advance(TimeSpan.FromSeconds(1));
        (int status, string detail) = await OpenAsync(alice, "vm1", late.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("expired", detail);
    }

    [Fact]
    public async Task ATicketForAnotherVmOrAnotherKindIsRefused()
    {
        await CreateVmAsync("vm1");
        await CreateVmAsync("vm2");
        using HttpClient alice = As("alice@vessel");
        ConsoleTicket ticket = await TicketAsync(alice, "vm1");
        (int status, string detail) = await OpenAsync(alice, "vm2", ticket.Ticket);
        Assert.Equal(403, status);
        Assert.Contains("vm2", detail);

        // Only serial consoles are served today; a ticket for another kind does not open one.
        await Http.ProblemAsync(await alice.PostAsJsonAsync("/api/v1/vms/vm1/console/ticket", new { kind = "vnc" }), 400);
        var tickets = new ConsoleTickets(_network.Services.GetRequiredService<ServerOptions>(), _time);
        ConsoleTicket vnc = tickets.Issue("alice@vessel", "11111111-1111-1111-1111-111111111111", "vnc");
        Server.Api.ApiException refused = Assert.Throws<Server.Api.ApiException>(() => tickets.Redeem(vnc.Ticket, "alice@vessel", "11111111-1111-1111-1111-111111111111", "vm1", ConsoleKinds.Serial));
        Assert.Equal(403, refused.Status);
        tickets.Redeem(vnc.Ticket, "alice@vessel", "11111111-1111-1111-1111-111111111111", "vm1", "vnc");
    }

    [Fact]
    public async Task OverTheNetworkTheConsoleNeedsATicketAndOnTheUnixSocketItDoesNot()
    {
        await CreateVmAsync("vm1");
        using HttpClient alice = As("alice@vessel");
        (int status, string detail) = await OpenAsync(alice, "vm1", null);
        Assert.Equal(403, status);
        Assert.Contains("/console/ticket", detail);
        Assert.Equal(403, (await OpenAsync(alice, "vm1", "bm90LWEtdGlja2V0")).Status);
        Assert.Equal(403, (await OpenAsync(alice, "vm1", new string('A', 5000))).Status);

        using HttpClient root = _network.CreateClient();
        Assert.Equal(409, (await OpenAsync(root, "vm1", null)).Status);
    }

    public void Dispose()
    {
        _network.Dispose();
        _factory.Dispose();
    }
}
