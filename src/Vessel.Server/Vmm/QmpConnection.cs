using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Vessel.Server.Vmm;

/// <summary>
/// The daemon's QMP client of one VMM: greeting, negotiation, one command at a time, and events
/// handed to <see cref="EventReceived"/> as they arrive. Each command carries an id that its
/// reply echoes, so that the late reply of a command given up on (cancelled) is dropped instead
/// of being taken for the next command's.
/// <see cref="Closed"/> completes when the VMM closes the socket (it exited or died).
/// </summary>
public sealed class QmpConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly SemaphoreSlim _commandGate = new(1, 1);
    private readonly object _gate = new();
    private TaskCompletionSource<JsonObject>? _pendingReply;
    private long _pendingId;
    private long _lastId;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private QmpConnection(Stream stream)
    {
        _stream = stream;
    }

    /// <summary>Called on the reading thread for every event.</summary>
    public event Action<JsonObject>? EventReceived;

    public Task Closed => _closed.Task;

    /// <summary>Connects to <paramref name="socketPath"/>, retrying until <paramref name="timeout"/>, and negotiates.</summary>
    public static async Task<QmpConnection> ConnectAsync(string socketPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return await OverAsync(new NetworkStream(socket, ownsSocket: true), cancellationToken);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>A QMP client on a stream that already reaches the VMM's QMP socket (a tunnel to an agent's host); negotiates.</summary>
    public static async Task<QmpConnection> OverAsync(Stream stream, CancellationToken cancellationToken)
    {
        var connection = new QmpConnection(stream);
        connection.StartReading();
        try
        {
            await connection.NegotiateAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return connection;
    }

    private async Task NegotiateAsync(CancellationToken cancellationToken)
    {
        await _commandGate.WaitAsync(cancellationToken);
        try
        {
            // The greeting is the first "reply".
            var greeting = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _pendingReply = greeting;
                if (_greeting is not null)
                {
                    greeting.TrySetResult(_greeting);
                }
            }

            await greeting.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _commandGate.Release();
        }

        await ExecuteAsync("qmp_capabilities", null, cancellationToken);
    }

    private JsonObject? _greeting;

    /// <summary>Runs a command; returns its <c>return</c> value or throws <see cref="QmpCommandException"/> with QEMU's description.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken cancellationToken)
    {
        long id = Interlocked.Increment(ref _lastId);
        var request = new JsonObject { ["execute"] = command, ["id"] = id };
        if (arguments is not null)
        {
            request["arguments"] = arguments;
        }

        byte[] bytes = Encoding.UTF8.GetBytes(request.ToJsonString() + "\n");
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _commandGate.WaitAsync(cancellationToken);
        try
        {
            lock (_gate)
            {
                _pendingReply = reply;
                _pendingId = id;
            }

            if (_closed.Task.IsCompleted)
            {
                throw new QmpCommandException($"the VMM closed its QMP socket before '{command}'");
            }

            await _stream.WriteAsync(bytes, cancellationToken);
            JsonObject message = await reply.Task.WaitAsync(cancellationToken);
            if (message["error"] is JsonObject error)
            {
                throw new QmpCommandException(error["desc"]?.GetValue<string>() ?? error.ToJsonString());
            }

            return message["return"];
        }
        catch (IOException e)
        {
            throw new QmpCommandException($"the VMM's QMP socket failed during '{command}' ({e.Message})");
        }
        finally
        {
            lock (_gate)
            {
                if (_pendingReply == reply)
                {
                    _pendingReply = null;
                }
            }

            _commandGate.Release();
        }
    }

    private void StartReading()
    {
        var thread = new Thread(ReadLoop) { IsBackground = true, Name = "qmp client" };
        thread.Start();
    }

    private void ReadLoop()
    {
        try
        {
            using var reader = new StreamReader(_stream, Encoding.UTF8, false, 65536, leaveOpen: true);
            while (reader.ReadLine() is { } line)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                if (JsonNode.Parse(line) is not JsonObject message)
                {
                    continue;
                }

                if (message.ContainsKey("event"))
                {
                    try
                    {
                        EventReceived?.Invoke(message);
                    }
                    catch (Exception)
                    {
                        // A handler's failure must not end the connection.
                    }

                    continue;
                }

                lock (_gate)
                {
                    if (message.ContainsKey("QMP"))
                    {
                        _greeting = message;
                    }

                    if (message["id"] is JsonValue echoed && echoed.TryGetValue(out long repliedTo) && repliedTo != _pendingId)
                    {
                        continue; // the reply of a command given up on
                    }

                    TaskCompletionSource<JsonObject>? pending = _pendingReply;
                    _pendingReply = null;
                    pending?.TrySetResult(message);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or System.Text.Json.JsonException)
        {
        }

        lock (_gate)
        {
            _pendingReply?.TrySetException(new IOException("the VMM closed its QMP socket"));
            _pendingReply = null;
        }

        _closed.TrySetResult();
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}

/// <summary>The VMM refused a QMP command; the message is its description.</summary>
public sealed class QmpCommandException(string message) : Exception(message);
