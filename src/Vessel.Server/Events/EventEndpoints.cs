using System.Net.WebSockets;
using System.Text.Json;
using Vessel.Client.Contracts;
using Vessel.Server.Access;

namespace Vessel.Server.Events;

/// <summary><c>/api/v1/events</c>: a WebSocket on which every event is one JSON text message.</summary>
public static class EventEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        Api.HttpConventions.MapWebSocket(api, "/events", StreamAsync).RequireAuthenticatedCaller().WithTags("Events").WithSummary("A WebSocket of operation and lifecycle events, one JSON message each (those whose target the caller may see)");
    }

    private static async Task StreamAsync(HttpContext http, EventHub hub, Inventory.InventoryContext db)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            throw Api.ApiException.BadRequest("This is a WebSocket endpoint; connect with a WebSocket client.");
        }

        using WebSocket socket = await http.WebSockets.AcceptWebSocketAsync();
        using EventHub.Subscription subscription = hub.Subscribe();
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        // Reading is needed to notice the client's close.
        _ = Task.Run(async () =>
        {
            byte[] buffer = new byte[1024];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, closed.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }

            await closed.CancelAsync();
        });
        try
        {
            CallerAccess access = http.Access();
            await foreach (ServerEvent serverEvent in subscription.Reader.ReadAllAsync(closed.Token))
            {
                if (!await access.MaySeeAsync(db, serverEvent.TargetKind, serverEvent.Target))
                {
                    continue;
                }

                byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(serverEvent, options);
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, closed.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
    }
}
