using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>
/// A QMP client for tests, usable against Vessel (<c>vessel run --qmp</c>) and QEMU (<c>-qmp</c>)
/// alike: reads the greeting, negotiates, runs commands and keeps the events that arrive
/// between replies for <see cref="WaitForEvent"/>. Replies are matched by order, as QMP sends
/// them (one command at a time).
/// </summary>
public sealed class QmpClient : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    private readonly Socket _socket;
    private readonly object _gate = new();
    private readonly Queue<JsonObject> _replies = new();
    private readonly List<JsonObject> _events = [];
    private readonly StringBuilder _transcript = new();
    private bool _endOfStream;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        new Thread(ReadLoop) { IsBackground = true, Name = "qmp test client" }.Start();
        Greeting = NextReply(DefaultTimeout);
    }

    /// <summary>The server's first message (<c>{"QMP": {...}}</c>).</summary>
    public JsonObject Greeting { get; }

    /// <summary>Every event received so far, oldest first.</summary>
    public IReadOnlyList<JsonObject> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Whether the server has closed the connection.</summary>
    public bool EndOfStream
    {
        get
        {
            lock (_gate)
            {
                return _endOfStream;
            }
        }
    }

    /// <summary>Connects to <paramref name="path"/>, retrying while the VMM is still creating its socket.</summary>
    public static QmpClient Connect(string path, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                return new QmpClient(socket);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Connects and completes <c>qmp_capabilities</c>.</summary>
    public static QmpClient ConnectAndNegotiate(string path, TimeSpan? timeout = null)
    {
        QmpClient client = Connect(path, timeout);
        JsonObject reply = client.Execute("qmp_capabilities");
        Assert.True(reply.ContainsKey("return"), reply.ToJsonString());
        return client;
    }

    /// <summary>Sends one command and returns the whole reply (<c>return</c> or <c>error</c>, with <c>id</c> when given).</summary>
    public JsonObject Execute(string command, JsonObject? arguments = null, JsonNode? id = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            request["arguments"] = arguments;
        }

        if (id is not null)
        {
            request["id"] = id;
        }

        return SendRaw(request.ToJsonString());
    }

    /// <summary>Runs a command that must succeed and returns its <c>return</c> value.</summary>
    public JsonNode Run(string command, JsonObject? arguments = null)
    {
        JsonObject reply = Execute(command, arguments);
        Assert.True(reply.ContainsKey("return"), $"{command}: {reply.ToJsonString()}");
        return reply["return"]!;
    }

    /// <summary>Runs a human monitor command and returns its output.</summary>
    public string Hmp(string commandLine) =>
        Run("human-monitor-command", new JsonObject { ["command-line"] = commandLine }).GetValue<string>();

    /// <summary>Sends <paramref name="text"/> as it is, with a newline, and returns the next reply.</summary>
    public JsonObject SendRaw(string text, TimeSpan? timeout = null)
    {
        Write(Encoding.UTF8.GetBytes(text + "\n"));
        return NextReply(timeout ?? DefaultTimeout);
    }

    /// <summary>Sends bytes without waiting for anything.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_transcript)
        {
            _transcript.Append(">> ").Append(Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, 300)])).Append('\n');
        }

        _socket.Send(bytes);
    }

    /// <summary>Waits for the next reply (not an event).</summary>
    public JsonObject NextReply(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (_replies.Count == 0)
            {
                if (_endOfStream)
                {
                    throw new IOException($"The QMP server closed the connection. Transcript:\n{Transcript}");
                }

                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"No QMP reply within {timeout.TotalSeconds} s. Transcript:\n{Transcript}");
                }

                Monitor.Wait(_gate, left);
            }

            return _replies.Dequeue();
        }
    }

    /// <summary>Waits for an event named <paramref name="name"/> (matching <paramref name="predicate"/>) received at or after index <paramref name="from"/> of <see cref="Events"/>.</summary>
    public JsonObject WaitForEvent(string name, Func<JsonObject, bool>? predicate = null, int from = 0, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        lock (_gate)
        {
            while (true)
            {
                for (int i = from; i < _events.Count; i++)
                {
                    if (_events[i]["event"]!.GetValue<string>() == name && (predicate is null || predicate(_events[i])))
                    {
                        return _events[i];
                    }
                }

                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || _endOfStream)
                {
                    throw new TimeoutException($"No {name} event (end of stream: {_endOfStream}). Transcript:\n{Transcript}");
                }

                Monitor.Wait(_gate, left);
            }
        }
    }

    /// <summary>Waits until the server closes the connection.</summary>
    public void WaitForEndOfStream(TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        lock (_gate)
        {
            while (!_endOfStream)
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"The QMP server did not close the connection. Transcript:\n{Transcript}");
                }

                Monitor.Wait(_gate, left);
            }
        }
    }

    /// <summary>What was sent and received, for failure messages.</summary>
    public string Transcript
    {
        get
        {
            lock (_transcript)
            {
                string text = _transcript.ToString();
                return text.Length <= 8000 ? text : text[^8000..];
            }
        }
    }

    private void ReadLoop()
    {
        using var stream = new NetworkStream(_socket, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        try
        {
            while (reader.ReadLine() is { } line)
            {
                if (line.Trim().Length == 0)
                {
                    continue;
                }

                lock (_transcript)
                {
                    _transcript.Append("<< ").Append(line.Length > 600 ? line[..600] + "..." : line).Append('\n');
                }

                JsonObject message = JsonNode.Parse(line)!.AsObject();
                lock (_gate)
                {
                    if (message.ContainsKey("event"))
                    {
                        _events.Add(message);
                    }
                    else
                    {
                        _replies.Enqueue(message);
                    }

                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }

        lock (_gate)
        {
            _endOfStream = true;
            Monitor.PulseAll(_gate);
        }
    }

    public void Dispose() => _socket.Dispose();
}
