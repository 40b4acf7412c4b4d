using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>A client of a VM's control socket (<c>vessel run --control PATH</c>).</summary>
public sealed class ControlClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private ControlClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        Greeting = JsonNode.Parse(_reader.ReadLine()!)!.AsObject();
    }

    public JsonObject Greeting { get; }

    /// <summary>Connects, retrying while the VM is still creating the socket.</summary>
    public static ControlClient Connect(string path, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                return new ControlClient(socket);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Sends one command and returns the reply.</summary>
    public JsonObject Execute(string command, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            request["arguments"] = arguments;
        }

        _writer.WriteLine(request.ToJsonString());
        return JsonNode.Parse(_reader.ReadLine()!)!.AsObject();
    }

    public void Dispose()
    {
        _socket.Dispose();
    }
}
