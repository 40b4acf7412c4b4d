using System.Net.Sockets;
using System.Net.WebSockets;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Api;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

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
        Stream console = await ConnectAsync(instance, "console", $"The console of VM '{record.Name}'", http.RequestAborted);
        await RelayAsync(http, console, supervisor, instance);
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
        Stream screen = await ConnectAsync(instance, "vnc", $"The screen of VM '{record.Name}'", http.RequestAborted);
        await RelayAsync(http, screen, supervisor, null);
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

    private static async Task<Stream> ConnectAsync(VmmSupervisor.VmmInstance instance, string socket, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await instance.OpenSocketAsync(socket, cancellationToken);
        }
        catch (Exception e) when (e is SocketException or OperationFailedException or IOException)
        {
            throw ApiException.Conflict(Sentences.Of($"{what} cannot be reached ({e.Message})"));
        }
    }

    /// <summary>
    /// Accepts the WebSocket and relays bytes both ways with <paramref name="target"/> until either
    /// side ends. A serial console (<paramref name="follow"/>) follows its VM to another host: when
    /// the VMM's side ends because the VM migrated, the relay goes on with the new VMM's console.
    /// </summary>
    private static async Task RelayAsync(HttpContext http, Stream target, VmmSupervisor supervisor, VmmSupervisor.VmmInstance? follow)
    {
        string? subProtocol = http.WebSockets.WebSocketRequestedProtocols.Contains(BinarySubProtocol) ? BinarySubProtocol : null;
        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync(subProtocol);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        Stream? current = target;

        // One reader of the WebSocket for its whole life (a cancelled receive would abort it):
        // what the client types goes to whichever VMM's console is current.
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

                    if (Volatile.Read(ref current) is { } vm)
                    {
                        try
                        {
                            await vm.WriteAsync(buffer.AsMemory(0, result.Count), done.Token);
                        }
                        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
                        {
                            // That VMM's console ended; the relay moves on or ends.
                        }
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        });
        while (true)
        {
            Task fromVm = PumpToClientAsync(current!, socket, done.Token);
            Task first = await Task.WhenAny(fromVm, toVm);
            Stream ended = current!;
            Volatile.Write(ref current, null);
            await ended.DisposeAsync();
            if (first == toVm || follow is null || await NextVmmAsync(supervisor, follow, done.Token) is not { } next)
            {
                break;
            }

            try
            {
                Volatile.Write(ref current, await next.OpenSocketAsync("console", done.Token));
                follow = next;
            }
            catch (Exception e) when (e is SocketException or OperationFailedException or IOException or OperationCanceledException)
            {
                break;
            }
        }

        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "detached", CancellationToken.None);
            }

            await toVm.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException)
        {
        }

        await done.CancelAsync();
    }

    private static async Task PumpToClientAsync(Stream vm, WebSocket socket, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[65536];
        try
        {
            int read;
            while ((read = await vm.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, cancellationToken);
            }
        }
        catch (Exception e) when (e is SocketException or WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>The VMM that took over from <paramref name="previous"/> (a migration's destination), waited for a while; null when the VM did not move.</summary>
    private static async Task<VmmSupervisor.VmmInstance?> NextVmmAsync(VmmSupervisor supervisor, VmmSupervisor.VmmInstance previous, CancellationToken cancellationToken)
    {
        for (int i = 0; i < 100 && !cancellationToken.IsCancellationRequested; i++)
        {
            if (supervisor.Find(previous.VmId) is { } current && current != previous)
            {
                return current;
            }

            if (!previous.MigratedAway && !previous.Emigrating)
            {
                return null;
            }

            await Task.Delay(100, CancellationToken.None);
        }

        return null;
    }
}
