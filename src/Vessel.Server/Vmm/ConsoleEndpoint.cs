using System.Net.Sockets;
using System.Net.WebSockets;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Api;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;

namespace Vessel.Server.Vmm;

/// <summary>
/// <c>/api/v1/vms/{vm}/console</c>: the serial console as a WebSocket of raw bytes both ways. The
/// daemon relays to the VMM's console socket, which replays its last 1 MiB of output to each
/// new viewer. Closing the WebSocket detaches; the VM runs on. Over the network the WebSocket
/// opens only with a console ticket (<see cref="ConsoleTickets"/>) from
/// <c>POST /api/v1/vms/{vm}/console/ticket</c>; the Unix socket's callers (root) need none.
/// </summary>
public static class ConsoleEndpoint
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/vms/{vm}/console", RelayAsync).WithTags("VMs").WithSummary("The serial console (WebSocket, binary messages both ways; ?ticket= over the network)")
            .RequirePrivilege(Privileges.VmConsole, "/vms/{vm}");
        api.MapPost("/vms/{vm}/console/ticket", IssueTicketAsync).WithTags("VMs").WithSummary("A single-use ticket, valid for seconds, that opens the VM's console for the caller")
            .RequirePrivilege(Privileges.VmConsole, "/vms/{vm}");
    }

    private static async Task<ConsoleTicket> IssueTicketAsync(string vm, ConsoleTicketRequest? request, HttpContext http, InventoryContext db, ConsoleTickets tickets)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
        string kind = request?.Kind ?? ConsoleKinds.Serial;
        if (!ConsoleKinds.All.Contains(kind))
        {
            throw ApiException.BadRequest($"The console kind '{HttpConventions.Short(kind)}' is not one this server opens; ask for {string.Join(" or ", ConsoleKinds.All)}.");
        }

        return tickets.Issue(Caller.Name(http), record.Id.ToString(), kind);
    }

    private static async Task RelayAsync(string vm, HttpContext http, InventoryContext db, VmmSupervisor supervisor, ConsoleTickets tickets)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
        if (!Caller.IsUnixSocket(http))
        {
            tickets.Redeem(http.Request.Query["ticket"], Caller.Name(http), record.Id.ToString(), record.Name, ConsoleKinds.Serial);
        }

        VmmSupervisor.VmmInstance instance = supervisor.Find(record.Id)
            ?? throw ApiException.Conflict($"VM '{record.Name}' is {record.State}; its console is there while it runs.");
        if (!http.WebSockets.IsWebSocketRequest)
        {
            throw ApiException.BadRequest("The console is a WebSocket; connect with a WebSocket client (vessel vm console NAME).");
        }

        using var console = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await console.ConnectAsync(new UnixDomainSocketEndPoint(instance.Paths.Console), http.RequestAborted);
        }
        catch (SocketException e)
        {
            throw ApiException.Conflict(Sentences.Of($"The console of VM '{record.Name}' cannot be reached ({e.Message})"));
        }

        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        Task fromGuest = Task.Run(async () =>
        {
            byte[] buffer = new byte[16384];
            try
            {
                int read;
                while ((read = await console.ReceiveAsync(buffer, done.Token)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, done.Token);
                }
            }
            catch (Exception e) when (e is SocketException or WebSocketException or OperationCanceledException)
            {
            }
        });
        Task toGuest = Task.Run(async () =>
        {
            byte[] buffer = new byte[4096];
            try
            {
                while (true)
                {
                    WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, done.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    await console.SendAsync(buffer.AsMemory(0, result.Count), SocketFlags.None, done.Token);
                }
            }
            catch (Exception e) when (e is SocketException or WebSocketException or OperationCanceledException)
            {
            }
        });
        await Task.WhenAny(fromGuest, toGuest);
        await done.CancelAsync();
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "detached", CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
        }
    }
}
