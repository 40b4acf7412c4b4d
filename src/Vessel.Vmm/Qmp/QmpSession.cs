using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// One QMP client: greets it, reads its commands as a JSON stream, enforces the capabilities
/// negotiation and sends replies and (once negotiated) events. Commands run one after another
/// on the session's reader thread, as QEMU runs one monitor's commands in order; output goes
/// through a queue drained by a writer thread, so an event never waits for a slow client.
/// </summary>
/// <remarks>
/// A client that stops reading while its output grows past <see cref="MaxPendingOutputBytes"/>
/// is disconnected rather than letting the VMM buffer without bound. A client that goes away
/// in the middle of a command leaves the command to finish; only its reply is lost.
/// </remarks>
internal sealed class QmpSession
{
    /// <summary>Replies and events waiting for a client that does not read (many thousands of events).</summary>
    public const int MaxPendingOutputBytes = 8 << 20;

    private static readonly JsonDocumentOptions s_parseOptions = new()
    {
        MaxDepth = QmpInputFramer.MaxDepth + 1,
        AllowDuplicateProperties = false,
    };

    private static readonly byte[] s_lineEnd = "\r\n"u8.ToArray();

    /// <summary>Plain UTF-8 with only what JSON requires escaped, as QEMU writes it (no "\u0027" for a quote).</summary>
    private static readonly JsonSerializerOptions s_writeOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Socket _socket;
    private readonly QmpServer _server;
    private readonly QmpInputFramer _framer = new();
    private readonly Queue<byte[]> _output = new();
    private readonly object _outputGate = new();
    private int _pendingBytes;
    private bool _closed;
    private volatile bool _negotiated;
    private bool _oobEnabled;

    public QmpSession(Socket socket, QmpServer server)
    {
        _socket = socket;
        _server = server;
    }

    /// <summary>Whether the client completed <c>qmp_capabilities</c> and so receives events.</summary>
    public bool Negotiated => _negotiated;

    /// <summary>Raised once when the session has ended, on whichever thread noticed.</summary>
    public event Action<QmpSession>? Closed;

    /// <summary>Starts the reader and writer threads.</summary>
    public void Start()
    {
        new Thread(ReadLoop) { IsBackground = true, Name = "qmp client" }.Start();
        new Thread(WriteLoop) { IsBackground = true, Name = "qmp client output" }.Start();
    }

    /// <summary>Queues one message (a reply or an event) for the client; drops the client when it has stopped reading.</summary>
    public void Send(JsonObject message) => Send(Serialize(message));

    /// <summary>Queues a message already serialised (events are serialised once for every client).</summary>
    public void Send(byte[] message)
    {
        lock (_outputGate)
        {
            if (_closed)
            {
                return;
            }

            if (_pendingBytes + message.Length > MaxPendingOutputBytes)
            {
                CloseLocked();
                return;
            }

            _output.Enqueue(message);
            _pendingBytes += message.Length;
            Monitor.PulseAll(_outputGate);
        }
    }

    public static byte[] Serialize(JsonObject message)
    {
        string text = message.ToJsonString(s_writeOptions);
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + s_lineEnd.Length];
        int length = Encoding.UTF8.GetBytes(text, bytes);
        s_lineEnd.CopyTo(bytes, length);
        return bytes;
    }

    /// <summary>Sends what is queued (waiting up to <paramref name="timeout"/>), then ends the session.</summary>
    public void FlushAndClose(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_outputGate)
        {
            while (!_closed && _output.Count > 0 && DateTime.UtcNow < deadline)
            {
                Monitor.Wait(_outputGate, TimeSpan.FromMilliseconds(50));
            }

            CloseLocked();
        }
    }

    /// <summary>Completes the capabilities negotiation (the <c>qmp_capabilities</c> command).</summary>
    public void Negotiate(bool enableOob)
    {
        _oobEnabled = enableOob;
        _negotiated = true;
    }

    private void ReadLoop()
    {
        Send(_server.Greeting());
        byte[] buffer = new byte[64 * 1024];
        var framed = new List<FramedInput>();
        try
        {
            while (true)
            {
                int read = _socket.Receive(buffer);
                if (read == 0)
                {
                    break;
                }

                _framer.Feed(buffer.AsSpan(0, read), framed);
                foreach (FramedInput input in framed)
                {
                    JsonObject? reply = Handle(input);
                    if (reply is not null)
                    {
                        Send(reply);
                    }
                }

                framed.Clear();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client went away, or the server is closing.
        }

        Close();
    }

    private void WriteLoop()
    {
        while (true)
        {
            byte[] message;
            lock (_outputGate)
            {
                while (_output.Count == 0 && !_closed)
                {
                    Monitor.Wait(_outputGate);
                }

                if (_closed)
                {
                    return;
                }

                message = _output.Peek();
            }

            try
            {
                _socket.Send(message);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Close();
                return;
            }

            lock (_outputGate)
            {
                if (_closed)
                {
                    return; // closed (and the queue cleared) while the message was being sent
                }

                _output.Dequeue();
                _pendingBytes -= message.Length;
                Monitor.PulseAll(_outputGate);
            }
        }
    }

    /// <summary>Turns one framed input into its reply (null for none).</summary>
    internal JsonObject? Handle(FramedInput input)
    {
        if (input.Error is not null)
        {
            return Error(null, QmpException.GenericError, input.Error);
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(input.Json!, documentOptions: s_parseOptions);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return Error(null, QmpException.GenericError, ParseErrorDescription(input.Json!, e));
        }

        if (node is not JsonObject request)
        {
            return Error(null, QmpException.GenericError, "QMP input must be a JSON object");
        }

        JsonNode? id = null;
        bool hasId = false;
        if (request.TryGetPropertyValue("id", out JsonNode? idNode))
        {
            hasId = true;
            id = idNode?.DeepClone();
        }

        try
        {
            JsonNode result = Dispatch(request);
            var reply = new JsonObject { ["return"] = result };
            if (hasId)
            {
                reply["id"] = id;
            }

            return reply;
        }
        catch (QmpException e)
        {
            return Error(hasId ? new JsonObject { ["id"] = id } : null, e.ErrorClass, e.Message);
        }
    }

    private JsonNode Dispatch(JsonObject request)
    {
        string? name = null;
        bool outOfBand = false;
        JsonObject? arguments = null;
        foreach ((string member, JsonNode? value) in request)
        {
            switch (member)
            {
                case "execute":
                case "exec-oob" when _oobEnabled:
                    if (value is not JsonValue text || text.GetValueKind() != JsonValueKind.String)
                    {
                        throw QmpException.Generic($"QMP input member '{member}' must be a string");
                    }

                    if (name is not null)
                    {
                        throw QmpException.Generic("QMP input member 'execute' clashes with 'exec-oob'");
                    }

                    name = text.GetValue<string>();
                    outOfBand = member == "exec-oob";
                    break;
                case "arguments":
                    arguments = value as JsonObject ?? throw QmpException.Generic("QMP input member 'arguments' must be an object");
                    break;
                case "id":
                    break;
                default:
                    throw QmpException.Generic($"QMP input member '{member}' is unexpected");
            }
        }

        if (name is null)
        {
            throw QmpException.Generic("QMP input lacks member 'execute'");
        }

        if (!_negotiated && name != "qmp_capabilities")
        {
            throw new QmpException(QmpException.CommandNotFound, "Expecting capabilities negotiation with 'qmp_capabilities'");
        }

        if (_negotiated && name == "qmp_capabilities")
        {
            throw new QmpException(QmpException.CommandNotFound, "Capabilities negotiation is already complete, command ignored");
        }

        if (_server.Standby is { WaitingForMachine: true } standby && name != "qmp_capabilities")
        {
            return QmpStandbyCommands.Execute(standby, name, arguments);
        }

        if (!_server.Commands.TryGet(name, out QmpCommand command))
        {
            throw new QmpException(QmpException.CommandNotFound, $"The command {name} has not been found");
        }

        if (outOfBand)
        {
            // Vessel has no command that may overtake the ones queued before it (QEMU has
            // migrate-recover and migrate-pause, for postcopy, which Vessel does not do).
            throw QmpException.Generic($"The command {name} does not support OOB");
        }

        QmpArguments bound = command.Bind(arguments);
        try
        {
            return command.Handler(new QmpCommandContext(_server, this), bound);
        }
        catch (VmmException e)
        {
            throw QmpException.Generic(e.Message.TrimEnd('.'));
        }
    }

    private static string ParseErrorDescription(byte[] json, Exception e)
    {
        if (json.Length > 0 && char.IsAsciiLetter((char)json[0]))
        {
            string word = Encoding.UTF8.GetString(json.AsSpan(0, Math.Min(json.Length, 64)));
            word += json.Length > 64 ? "..." : string.Empty;
            return $"JSON parse error, invalid keyword '{word}'";
        }

        if (e is ArgumentException or InvalidOperationException || e.Message.Contains("duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return "JSON parse error, duplicate key";
        }

        // System.Text.Json appends where it stopped ("... Path: $ | LineNumber: 0 | ..."): the reason is enough.
        string reason = e.Message;
        int cut = reason.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        if (cut > 0)
        {
            reason = reason[..cut];
        }

        return "JSON parse error, " + reason.TrimEnd('.', ' ');
    }

    private static JsonObject Error(JsonObject? prefix, string errorClass, string description)
    {
        JsonObject reply = prefix ?? [];
        reply["error"] = new JsonObject { ["class"] = errorClass, ["desc"] = description };
        return reply;
    }

    private void Close()
    {
        lock (_outputGate)
        {
            CloseLocked();
        }
    }

    private void CloseLocked()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _output.Clear();
        _pendingBytes = 0;
        Monitor.PulseAll(_outputGate);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        ThreadPool.QueueUserWorkItem(_ => Closed?.Invoke(this));
    }
}
