using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vessel.Vmm.Boards.RiscvVirt;
using Vessel.Vmm.Runtime;

namespace Vessel.Vmm.Control;

/// <summary>
/// The VM's control socket: a Unix socket that takes one JSON command per line, in the shape
/// of QEMU's QMP (<c>{"execute": "balloon", "arguments": {"value": 134217728}}</c>) and answers
/// each with <c>{"return": ...}</c> or <c>{"error": {"class": ..., "desc": ...}}</c>. A client is
/// greeted with <c>{"Vessel": {"version": ...}}</c>.
/// </summary>
/// <remarks>
/// Commands: <c>query-status</c>, <c>balloon</c> (value: the guest memory size wanted, in bytes),
/// <c>query-balloon</c> (actual: the guest memory size the balloon leaves), <c>quit</c>.
/// </remarks>
public sealed class ControlServer : IDisposable
{
    private const ulong PageSize = 4096;

    private readonly string _path;
    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private volatile RiscvVirtMachine? _machine;
    private volatile VirtualMachine? _vm;
    private volatile bool _disposed;

    private ControlServer(string path, Socket listener)
    {
        _path = path;
        _listener = listener;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "control socket" };
        _acceptThread.Start();
    }

    /// <summary>Creates the socket at <paramref name="path"/> (replacing a stale socket there).</summary>
    public static ControlServer Listen(string path)
    {
        if (File.Exists(path))
        {
            // A socket left by a VM that died is replaced; anything else is not ours to delete.
            if (!IsSocket(path))
            {
                throw new VmmException($"--control '{path}' exists and is not a socket.");
            }

            File.Delete(path);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(4);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new VmmException($"cannot listen on control socket '{path}': {e.Message.TrimEnd('.')}.");
        }

        return new ControlServer(path, listener);
    }

    private static bool IsSocket(string path)
    {
        try
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            probe.Connect(new UnixDomainSocketEndPoint(path));
            throw new VmmException($"--control '{path}' is in use by a running VM.");
        }
        catch (SocketException e)
        {
            // Refused: a socket nobody listens on (stale). Anything else: not a socket.
            return e.SocketErrorCode == SocketError.ConnectionRefused;
        }
    }

    /// <summary>The VM commands act on.</summary>
    public void Attach(VirtualMachine vm)
    {
        _vm = vm;
        _machine = vm.Machine;
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            new Thread(() => Serve(client)) { IsBackground = true, Name = "control client" }.Start();
        }
    }

    private void Serve(Socket client)
    {
        using var stream = new NetworkStream(client, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        try
        {
            writer.WriteLine("{\"Vessel\": {\"version\": \"" + typeof(ControlServer).Assembly.GetName().Version + "\"}}");
            string? line;
            while (!_disposed && (line = reader.ReadLine()) is not null)
            {
                if (line.Trim().Length == 0)
                {
                    continue;
                }

                writer.WriteLine(Execute(line).ToJsonString());
            }
        }
        catch (IOException)
        {
            // The client went away.
        }
    }

    /// <summary>Runs one command line and returns the reply.</summary>
    public JsonObject Execute(string line)
    {
        JsonObject? request;
        try
        {
            request = JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return Error("GenericError", "the command is not valid JSON");
        }

        string? command = request?["execute"]?.GetValue<string>();
        if (command is null)
        {
            return Error("GenericError", "the command has no \"execute\" member");
        }

        RiscvVirtMachine? machine = _machine;
        if (machine is null)
        {
            return Error("GenericError", "the machine is not running");
        }

        JsonObject arguments = request!["arguments"] as JsonObject ?? [];
        switch (command)
        {
            case "query-status":
            {
                VmRunState state = _vm!.RunState;
                return Return(new JsonObject { ["status"] = state.ToQmpName(), ["running"] = state == VmRunState.Running });
            }

            case "stop":
                _vm!.Stop();
                return Return(new JsonObject());

            case "cont":
                try
                {
                    _vm!.Continue();
                    return Return(new JsonObject());
                }
                catch (VmmException e)
                {
                    return Error("GenericError", e.Message);
                }

            case "savevm":
            case "loadvm":
            case "delvm":
                try
                {
                    string tag = arguments["name"]?.GetValue<string>() ?? string.Empty;
                    if (command == "savevm")
                    {
                        _vm!.SaveSnapshot(tag, overwrite: true);
                    }
                    else if (command == "loadvm")
                    {
                        _vm!.LoadSnapshot(tag);
                    }
                    else
                    {
                        _vm!.DeleteSnapshot(tag);
                    }

                    return Return(new JsonObject());
                }
                catch (VmmException e)
                {
                    return Error("GenericError", e.Message);
                }

            case "x-vessel-step":
                try
                {
                    long ran = _vm!.StepInstructions(arguments["instructions"]?.GetValue<long>() ?? 0);
                    return Return(new JsonObject { ["instructions"] = ran });
                }
                catch (VmmException e)
                {
                    return Error("GenericError", e.Message);
                }

            case "x-vessel-state-hash":
                try
                {
                    return Return(new JsonObject { ["sha256"] = _vm!.HashState() });
                }
                catch (VmmException e)
                {
                    return Error("GenericError", e.Message);
                }

            case "migrate":
                try
                {
                    _vm!.Migrate(MigrationAddress.Parse(arguments["uri"]?.GetValue<string>() ?? string.Empty, allowDefer: false), TimeSpan.FromMinutes(10));
                    return Return(new JsonObject());
                }
                catch (Exception e) when (e is VmmException or FormatException)
                {
                    return Error("GenericError", e.Message);
                }

            case "balloon":
            {
                if (machine.Balloon is null)
                {
                    return Error("DeviceNotActive", "no balloon device has been activated");
                }

                ulong? value = arguments["value"]?.GetValue<ulong>();
                if (value is null || value.Value == 0 || value.Value > machine.MemorySize)
                {
                    return Error("GenericError", $"balloon value must be between 1 and {machine.MemorySize} bytes");
                }

                machine.Balloon.SetTargetPages((uint)((machine.MemorySize - value.Value) / PageSize));
                return Return(new JsonObject());
            }

            case "query-balloon":
                if (machine.Balloon is null)
                {
                    return Error("DeviceNotActive", "no balloon device has been activated");
                }

                return Return(new JsonObject { ["actual"] = machine.MemorySize - ((ulong)machine.Balloon.ActualPages * PageSize) });

            case "quit":
                machine.RequestQuit();
                return Return(new JsonObject());

            default:
                return Error("CommandNotFound", $"the command {command} has not been found");
        }
    }

    private static JsonObject Return(JsonNode value) => new() { ["return"] = value };

    private static JsonObject Error(string errorClass, string description) =>
        new() { ["error"] = new JsonObject { ["class"] = errorClass, ["desc"] = description } };

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
