using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vessel.Client.Contracts;

namespace Vessel.Client;

/// <summary>
/// A typed client of <c>vessel serve</c>'s API. It speaks HTTP over the daemon's Unix socket
/// (<see cref="ForDataDirectory"/>) or HTTPS to a server URL with a bearer token
/// (<see cref="ForServer"/>). Errors arrive as
/// <see cref="VesselApiException"/> carrying the problem details' one-sentence <c>detail</c>.
/// </summary>
public sealed partial class VesselClient : IDisposable
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;
    private readonly HttpMessageInvoker _invoker;
    private readonly string _where;

    /// <summary>Where WebSockets go: <c>ws://vessel/</c> on the Unix socket, <c>wss://</c> the server otherwise.</summary>
    private readonly Uri _webSocketBase;

    /// <summary>The bearer token sent with every request and WebSocket (remote clients).</summary>
    private readonly string? _token;

    /// <summary>How a remote client trusts the server's certificate; null on the Unix socket.</summary>
    private readonly ServerTrust? _trust;

    public VesselClient(HttpMessageHandler handler, Uri baseAddress, string where)
        : this(handler, baseAddress, where, null, null)
    {
    }

    private VesselClient(HttpMessageHandler handler, Uri baseAddress, string where, string? token, ServerTrust? trust)
    {
        _invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        _http = new HttpClient(handler, disposeHandler: true) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        _where = where;
        _token = string.IsNullOrEmpty(token) ? null : token;
        _trust = trust;
        _webSocketBase = new UriBuilder(baseAddress) { Scheme = baseAddress.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
        if (_token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        }
    }

    /// <summary>Whether the client talks to a server over the network (console WebSockets then need a ticket).</summary>
    public bool IsRemote => _trust is not null;

    /// <summary>A client of the daemon whose socket is in <paramref name="dataDirectory"/>.</summary>
    public static VesselClient ForDataDirectory(string dataDirectory)
    {
        string socketPath = DataDirectory.SocketPath(dataDirectory);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        return new VesselClient(handler, new Uri("http://vessel/"), $"unix:{socketPath}");
    }

    // ---- host -----------------------------------------------------------------------------

    public Task<ServerInfo> GetServerInfoAsync(CancellationToken cancellationToken = default) => GetAsync<ServerInfo>("api/v1/", cancellationToken);

    // ---- VMs ------------------------------------------------------------------------------

    public Task<Page<VmSummary>> ListVmsAsync(int page = 1, int pageSize = 100, string? sort = null, string? name = null, string? state = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string> { $"page={page}", $"pageSize={pageSize}" };
        AddQuery(query, "sort", sort);
        AddQuery(query, "name", name);
        AddQuery(query, "state", state);
        foreach (string tag in tags ?? [])
        {
            AddQuery(query, "tag", tag);
        }

        return GetAsync<Page<VmSummary>>("api/v1/vms?" + string.Join('&', query), cancellationToken);
    }

    public Task<Page<VmSummary>> ListTemplatesAsync(CancellationToken cancellationToken = default) => GetAsync<Page<VmSummary>>("api/v1/templates?pageSize=1000", cancellationToken);

    public async Task<(VmDetails Vm, string? ETag)> GetVmWithETagAsync(string vm, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, $"api/v1/vms/{Segment(vm)}", null, null, cancellationToken);
        return ((await response.Content.ReadFromJsonAsync<VmDetails>(JsonOptions, cancellationToken))!, response.Headers.ETag?.Tag);
    }

    public async Task<VmDetails> GetVmAsync(string vm, CancellationToken cancellationToken = default) => (await GetVmWithETagAsync(vm, cancellationToken)).Vm;

    public Task<OperationInfo> CreateVmAsync(VmCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<OperationInfo>("api/v1/vms", request, cancellationToken);

    public async Task<VmDetails> EditVmAsync(string vm, VmEditRequest request, string? ifMatch = null, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Patch, $"api/v1/vms/{Segment(vm)}", request, ifMatch, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<VmDetails>(JsonOptions, cancellationToken))!;
    }

    public Task<OperationInfo> DeleteVmAsync(string vm, bool deleteDisks, CancellationToken cancellationToken = default) =>
        SendForAsync<OperationInfo>(HttpMethod.Delete, $"api/v1/vms/{Segment(vm)}?deleteDisks={(deleteDisks ? "true" : "false")}", null, cancellationToken);

    /// <summary>start, stop, shutdown, reboot, reset, pause, resume or suspend.</summary>
    public Task<OperationInfo> VmActionAsync(string vm, string action, int? timeoutSeconds = null, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/vms/{Segment(vm)}/{action}", new ShutdownRequest(timeoutSeconds), cancellationToken);

    public Task<OperationInfo> CloneVmAsync(string vm, CloneRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/vms/{Segment(vm)}/clone", request, cancellationToken);

    public Task<OperationInfo> MigrateVmAsync(string vm, VmMigrateRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/vms/{Segment(vm)}/migrate", request, cancellationToken);

    public Task<VmDetails> MakeTemplateAsync(string vm, CancellationToken cancellationToken = default) =>
        PostAsync<VmDetails>($"api/v1/vms/{Segment(vm)}/template", new { }, cancellationToken);

    public Task<IReadOnlyList<MetricSample>> GetMetricsAsync(string vm, CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<MetricSample>>($"api/v1/vms/{Segment(vm)}/metrics", cancellationToken);

    // ---- snapshots ------------------------------------------------------------------------

    public Task<SnapshotTree> ListSnapshotsAsync(string vm, CancellationToken cancellationToken = default) => GetAsync<SnapshotTree>($"api/v1/vms/{Segment(vm)}/snapshots", cancellationToken);

    public Task<OperationInfo> CreateSnapshotAsync(string vm, SnapshotCreateRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/vms/{Segment(vm)}/snapshots", request, cancellationToken);

    public Task<OperationInfo> RevertSnapshotAsync(string vm, string snapshot, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/vms/{Segment(vm)}/snapshots/{Segment(snapshot)}/revert", new { }, cancellationToken);

    public Task<OperationInfo> DeleteSnapshotAsync(string vm, string snapshot, CancellationToken cancellationToken = default) =>
        SendForAsync<OperationInfo>(HttpMethod.Delete, $"api/v1/vms/{Segment(vm)}/snapshots/{Segment(snapshot)}", null, cancellationToken);

    // ---- storage --------------------------------------------------------------------------

    public Task<IReadOnlyList<PoolInfo>> ListPoolsAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<PoolInfo>>("api/v1/pools", cancellationToken);

    public Task<PoolInfo> CreatePoolAsync(PoolCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<PoolInfo>("api/v1/pools", request, cancellationToken);

    public Task DeletePoolAsync(string pool, CancellationToken cancellationToken = default) => SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/pools/{Segment(pool)}", null, cancellationToken);

    public Task<Page<VolumeInfo>> ListVolumesAsync(string pool, CancellationToken cancellationToken = default) => GetAsync<Page<VolumeInfo>>($"api/v1/pools/{Segment(pool)}/volumes?pageSize=1000", cancellationToken);

    public Task<VolumeInfo> GetVolumeAsync(string pool, string volume, CancellationToken cancellationToken = default) =>
        GetAsync<VolumeInfo>($"api/v1/pools/{Segment(pool)}/volumes/{Segment(volume)}", cancellationToken);

    /// <summary>Creates an empty volume (returns its info as JSON) or starts an import (returns an operation as JSON).</summary>
    public Task<JsonNode> CreateVolumeAsync(string pool, VolumeCreateRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<JsonNode>($"api/v1/pools/{Segment(pool)}/volumes", request, cancellationToken);

    /// <summary>Uploads <paramref name="content"/> as a new volume, streaming it (never whole in memory).</summary>
    public async Task<VolumeInfo> UploadVolumeAsync(string pool, string volume, string format, Stream content, long? length, CancellationToken cancellationToken = default)
    {
        using var body = new StreamContent(content, 1 << 20);
        if (length is { } l)
        {
            body.Headers.ContentLength = l;
        }

        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Put, $"api/v1/pools/{Segment(pool)}/volumes/{Segment(volume)}/content?format={Uri.EscapeDataString(format)}") { Content = body };
        using HttpResponseMessage response = await SendRawAsync(request, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<VolumeInfo>(JsonOptions, cancellationToken))!;
    }

    public Task<VolumeInfo> ResizeVolumeAsync(string pool, string volume, long size, CancellationToken cancellationToken = default) =>
        PostAsync<VolumeInfo>($"api/v1/pools/{Segment(pool)}/volumes/{Segment(volume)}/resize", new VolumeResizeRequest(size), cancellationToken);

    public Task<OperationInfo> CopyVolumeAsync(string pool, string volume, VolumeCopyRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/pools/{Segment(pool)}/volumes/{Segment(volume)}/copy", request, cancellationToken);

    public Task DeleteVolumeAsync(string pool, string volume, CancellationToken cancellationToken = default) =>
        SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/pools/{Segment(pool)}/volumes/{Segment(volume)}", null, cancellationToken);

    // ---- networks -------------------------------------------------------------------------

    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<NetworkInfo>>("api/v1/networks", cancellationToken);

    public Task<NetworkInfo> CreateNetworkAsync(NetworkCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<NetworkInfo>("api/v1/networks", request, cancellationToken);

    public Task DeleteNetworkAsync(string network, CancellationToken cancellationToken = default) => SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/networks/{Segment(network)}", null, cancellationToken);

    // ---- operations -----------------------------------------------------------------------

    public Task<Page<OperationInfo>> ListOperationsAsync(int pageSize = 50, string? status = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string> { $"pageSize={pageSize}" };
        AddQuery(query, "status", status);
        return GetAsync<Page<OperationInfo>>("api/v1/operations?" + string.Join('&', query), cancellationToken);
    }

    public Task<OperationInfo> GetOperationAsync(Guid id, double waitSeconds = 0, CancellationToken cancellationToken = default) =>
        GetAsync<OperationInfo>($"api/v1/operations/{id}{(waitSeconds > 0 ? $"?wait={waitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")}", cancellationToken);

    public Task<OperationInfo> CancelOperationAsync(Guid id, CancellationToken cancellationToken = default) =>
        SendForAsync<OperationInfo>(HttpMethod.Delete, $"api/v1/operations/{id}", null, cancellationToken);

    /// <summary>Waits until the operation ends, calling <paramref name="progress"/> as it moves.</summary>
    public async Task<OperationInfo> WaitAsync(OperationInfo operation, Action<OperationInfo>? progress = null, CancellationToken cancellationToken = default)
    {
        while (!operation.IsFinished)
        {
            progress?.Invoke(operation);
            operation = await GetOperationAsync(operation.Id, 1, cancellationToken);
        }

        progress?.Invoke(operation);
        return operation;
    }

    /// <summary>Waits for the operation and throws with its error when it did not succeed.</summary>
    public async Task<OperationInfo> WaitForSuccessAsync(OperationInfo operation, Action<OperationInfo>? progress = null, CancellationToken cancellationToken = default)
    {
        OperationInfo done = await WaitAsync(operation, progress, cancellationToken);
        if (done.Status != OperationStatuses.Succeeded)
        {
            throw new VesselApiException(0, done.Error ?? $"Operation {done.Id} {done.Status}.");
        }

        return done;
    }

    // ---- WebSockets -----------------------------------------------------------------------

    /// <summary>Opens a WebSocket to <paramref name="path"/> (the console, the events) through the same transport.</summary>
    public async Task<WebSocket> ConnectWebSocketAsync(string path, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        if (_token is not null)
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {_token}");
        }

        try
        {
            await socket.ConnectAsync(new Uri(_webSocketBase, path), _invoker, cancellationToken);
            return socket;
        }
        catch (WebSocketException e)
        {
            socket.Dispose();
            if (e.InnerException is HttpRequestException inner && DescribeFailure(inner) is { } sentence)
            {
                throw new VesselApiException(0, sentence);
            }

            throw new VesselApiException(0, $"Could not open {path.Split('?')[0]} on {_where}: {e.Message.TrimEnd('.')}.");
        }
    }

    /// <summary>Opens the VM's serial console; over the network with a console ticket asked for first.</summary>
    public Task<WebSocket> ConnectConsoleAsync(string vm, CancellationToken cancellationToken = default) =>
        ConnectTicketedAsync(vm, "console", ConsoleKinds.Serial, cancellationToken);

    /// <summary>Opens the screen of a VM with a display: RFB (VNC) over the WebSocket; over the network with a vnc ticket asked for first.</summary>
    public Task<WebSocket> ConnectVncAsync(string vm, CancellationToken cancellationToken = default) =>
        ConnectTicketedAsync(vm, "vnc", ConsoleKinds.Vnc, cancellationToken);

    private async Task<WebSocket> ConnectTicketedAsync(string vm, string endpoint, string kind, CancellationToken cancellationToken)
    {
        string path = $"api/v1/vms/{Segment(vm)}/{endpoint}";
        if (IsRemote)
        {
            ConsoleTicket ticket = await RequestConsoleTicketAsync(vm, kind, cancellationToken);
            path += $"?ticket={Uri.EscapeDataString(ticket.Ticket)}";
        }

        return await ConnectWebSocketAsync(path, cancellationToken);
    }

    public Task<WebSocket> ConnectEventsAsync(CancellationToken cancellationToken = default) => ConnectWebSocketAsync("api/v1/events", cancellationToken);

    // ---- plumbing -------------------------------------------------------------------------

    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, path, null, null, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(JsonOptions, cancellationToken))!;
    }

    public Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken = default) => SendForAsync<T>(HttpMethod.Post, path, body, cancellationToken);

    private async Task<T> SendForAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(method, path, body, null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return default!;
        }

        return (await response.Content.ReadFromJsonAsync<T>(JsonOptions, cancellationToken))!;
    }

    /// <summary>Sends a request; a response other than 2xx becomes a <see cref="VesselApiException"/> with its detail.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, string? ifMatch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: JsonOptions);
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await SendRawAsync(request, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e) when (DescribeFailure(e) is { } sentence)
        {
            throw new VesselApiException(0, sentence);
        }

        OnResponse(response);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            string detail = $"The server answered {(int)response.StatusCode} {response.ReasonPhrase}.";
            try
            {
                if (JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) is JsonObject problem && problem["detail"]?.GetValue<string>() is { Length: > 0 } text)
                {
                    detail = text;
                }
            }
            catch (JsonException)
            {
            }

            throw new VesselApiException((int)response.StatusCode, detail);
        }
    }

    /// <summary>The sentence for a request that found no server, or a server whose certificate is not trusted; null for other failures.</summary>
    private string? DescribeFailure(HttpRequestException e)
    {
        if (_trust?.Explain(e, _where) is { } untrusted)
        {
            return untrusted;
        }

        if (e.InnerException is SocketException or null)
        {
            string hint = IsRemote
                ? "check the URL given with --server and that the daemon listens there (vessel serve --listen)"
                : "start it with vessel serve, or name its data directory with --data-dir or VESSEL_DATA_DIR";
            return $"Cannot reach vessel serve at {_where} ({(e.InnerException ?? e).Message.TrimEnd('.')}); {hint}.";
        }

        return null;
    }

    /// <summary>Each area's look at every response (the licence's warning).</summary>
    partial void OnResponse(HttpResponseMessage response);

    private static string Segment(string text) => Uri.EscapeDataString(text);

    private static void AddQuery(List<string> query, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            query.Add($"{name}={Uri.EscapeDataString(value)}");
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _invoker.Dispose();
    }
}
