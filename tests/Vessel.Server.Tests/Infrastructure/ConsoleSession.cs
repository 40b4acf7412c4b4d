using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>
/// A VM's serial console through the API's WebSocket, as a viewer sees it: waits for text in
/// what arrives (after the previous match) and types lines.
/// </summary>
public sealed class ConsoleSession : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    private readonly WebSocket _socket;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();
    private readonly Task _reader;
    private int _searchFrom;
    private bool _closed;

    private ConsoleSession(WebSocket socket)
    {
        _socket = socket;
        _reader = Task.Run(ReadAsync);
    }

    public static async Task<ConsoleSession> AttachAsync(Vessel.Client.VesselClient client, string vm) => new(await client.ConnectConsoleAsync(vm));

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    private async Task ReadAsync()
    {
        byte[] buffer = new byte[16384];
        try
        {
            while (true)
            {
                WebSocketReceiveResult result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                lock (_gate)
                {
                    _output.Append(Encoding.Latin1.GetString(buffer, 0, result.Count));
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (WebSocketException)
        {
        }

        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits for <paramref name="text"/> after the previous match; later waits search after it.</summary>
    public void WaitFor(string text, TimeSpan? timeout = null) => WaitFor(new Regex(Regex.Escape(text)), timeout);

    public Match WaitFor(Regex pattern, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        lock (_gate)
        {
            while (true)
            {
                Match match = pattern.Match(_output.ToString(), _searchFrom);
                if (match.Success)
                {
                    _searchFrom = match.Index + match.Length;
                    return match;
                }

                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || _closed)
                {
                    string all = _output.ToString();
                    throw new TimeoutException($"Did not see /{pattern}/ on the console (closed: {_closed}). Last output:\n{(all.Length > 3000 ? all[^3000..] : all)}");
                }

                Monitor.Wait(_gate, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Skips everything received so far (the replayed history): later waits see only what comes next.</summary>
    public void SkipHistory()
    {
        lock (_gate)
        {
            _searchFrom = _output.Length;
        }
    }

    public async Task SendLineAsync(string line) =>
        await _socket.SendAsync(Encoding.UTF8.GetBytes(line + "\n"), WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>Runs a shell command that ends by printing <paramref name="marker"/> (computed by the shell, so the echo of the command never matches) and waits for it.</summary>
    public async Task RunAsync(string command, string marker, TimeSpan? timeout = null)
    {
        await SendLineAsync(command);
        WaitFor(marker, timeout);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            await _reader.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException)
        {
        }

        _socket.Dispose();
    }
}
