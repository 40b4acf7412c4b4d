using System.Net.Sockets;
using System.Net.WebSockets;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Api;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;

namespace Vessel.Server.Vmm;

/// <summary>
/// A VM's consoles as WebSockets of raw bytes both ways. <c>/api/v1/vms/{vm}/console</c> is the
/// serial console: the daemon relays to the VMM's console socket, which replays its last 1 MiB
/// of output to each new viewer. <c>/api/v1/vms/{vm}/vnc</c> is the screen of a VM with a
/// display: the daemon relays RFB to the VMM's VNC socket, so a browser's noVNC speaks to the
/// VM without a VNC port on the network. Closing the WebSocket detaches; the VM runs on. Over
/// the network a console opens only with a ticket of its kind (<see cref="ConsoleTickets"/>)
/// from <c>POST /api/v1/vms/{vm}/console/ticket</c>; the Unix socket's callers (root) need none.
/// </summary>
public static class ConsoleEndpoint
{
    /// <summary>The WebSocket subprotocol noVNC asks for (<c>Sec-WebSocket-Protocol: binary</c>): binary messages, which the relay sends anyway.</summary>
    private const string BinarySubProtocol = "binary";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapWebSocket("/vms/{vm}/console", RelaySerialAsync).WithTags("VMs").WithSummary("The serial console (WebSocket, binary messages both ways; ?ticket= over the network)")
            .RequirePrivilege(Privileges.VmConsole, "/vms/{vm}");
        api.MapWebSocket("/vms/{vm}/vnc", RelayVncAsync).WithTags("VMs").WithSummary("The screen of a VM with a display, as RFB (VNC) over a WebSocket of binary messages, for noVNC; ?ticket= of kind vnc over the network")
            .RequirePrivilege(Privileges.VmConsole, "/vms/{vm}");
        api.MapPost("/vms/{vm}/console/ticket", IssueTicketAsync).WithTags("VMs").WithSummary("A single-use ticket, valid for seconds, that opens the VM's serial (kind serial) or VNC (kind vnc) console for the caller")
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

        if (kind == ConsoleKinds.Vnc && record.Display != VmDisplays.Vnc && !VmDefinitions.HasVncDisplay(record.RunningDefinition))
        {
            throw NoDisplay(record);
        }

        return tickets.Issue(Caller.Name(http), record.Id.ToString(), kind);
    }

    private static ApiException NoDisplay(VmRecord record) =>
        ApiException.Conflict($"VM '{record.Name}' has no display; give it one (display: vnc) and start it again.");

    private static async Task RelaySerialAsync(string vm, HttpContext http, InventoryContext db, VmmSupervisor supervisor, ConsoleTickets tickets)
    {
        (VmRecord record, VmmSupervisor.VmmInstance instance) = await AdmitAsync(vm, ConsoleKinds.Serial, http, db, supervisor, tickets);
        RequireWebSocket(http, "The console is a WebSocket; connect with a WebSocket client (vessel vm console NAME).");
        using Socket console = await ConnectAsync(instance.Paths.Console, $"The console of VM '{record.Name}'", http.RequestAborted);
        await RelayAsync(http, console);
    }

    private static async Task RelayVncAsync(string vm, HttpContext http, InventoryContext db, VmmSupervisor supervisor, ConsoleTickets tickets)
    {
        (VmRecord record, VmmSupervisor.VmmInstance instance) = await AdmitAsync(vm, ConsoleKinds.Vnc, http, db, supervisor, tickets);
        if (!VmDefinitions.HasVncDisplay(record.RunningDefinition))
        {
            throw record.Display == VmDisplays.Vnc
                ? ApiException.Conflict($"VM '{record.Name}' was started without a display; it gets its screen at its next start.")
                : NoDisplay(record);
        }

        RequireWebSocket(http, "The VNC console is a WebSocket of RFB; connect with a WebSocket client such as noVNC.");
        using Socket screen = await ConnectAsync(instance.Paths.Vnc, $"The screen of VM '{record.Name}'", http.RequestAborted);
        await RelayAsync(http, screen);
    }

    /// <summary>
    /// The VM and its VMM, once the caller may open its <paramref name="kind"/> console: over the
    /// network a ticket of that kind is used up first (403 before anything about the VM shows),
    /// then the VM must run (409).
    /// </summary>
    private static async Task<(VmRecord Record, VmmSupervisor.VmmInstance Instance)> AdmitAsync(
        string vm, string kind, HttpContext http, InventoryContext db, VmmSupervisor supervisor, ConsoleTickets tickets)
    {
        VmRecord record = await VmDefinitions.FindAsync(db, vm, tracking: false);
        if (!Caller.IsUnixSocket(http))
        {
            tickets.Redeem(http.Request.Query["ticket"], Caller.Name(http), record.Id.ToString(), record.Name, kind);
        }

        VmmSupervisor.VmmInstance instance = supervisor.Find(record.Id)
            ?? throw ApiException.Conflict($"VM '{record.Name}' is {record.State}; its console is there while it runs.");
        return (record, instance);
    }

    private static void RequireWebSocket(HttpContext http, string sentence)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            throw ApiException.BadRequest(sentence);
        }
    }

    private static async Task<Socket> ConnectAsync(string path, string what, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw ApiException.Conflict(Sentences.Of($"{what} cannot be reached ({e.Message})"));
        }
    }

    /// <summary>Accepts the WebSocket and relays bytes both ways with <paramref name="target"/> until either side ends.</summary>
    private static async Task RelayAsync(HttpContext http, Socket target)
    {
        string? subProtocol = http.WebSockets.WebSocketRequestedProtocols.Contains(BinarySubProtocol) ? BinarySubProtocol : null;
        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync(subProtocol);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        Task fromVm = Task.Run(async () =>
        {
            byte[] buffer = new byte[65536];
            try
            {
                int read;
                while ((read = await target.ReceiveAsync(buffer, done.Token)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, done.Token);
                }
            }
            catch (Exception e) when (e is SocketException or WebSocketException or OperationCanceledException)
            {
            }
        });
        Task toVm = Task.Run(async () =>
        {
            byte[] buffer = new byte[16384];
            try
            {
                while (true)
                {
                    WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, done.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    await target.SendAsync(buffer.AsMemory(0, result.Count), SocketFlags.None, done.Token);
                }
            }
            catch (Exception e) when (e is SocketException or WebSocketException or OperationCanceledException)
            {
            }
        });
        await Task.WhenAny(fromVm, toVm);
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
