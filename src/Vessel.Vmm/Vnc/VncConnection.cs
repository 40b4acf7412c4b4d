using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Vessel.Machine.Display;
using Vessel.Machine.Virtio.Input;
using static Vessel.Machine.Virtio.Input.InputEventCodes;

namespace Vessel.Vmm.Vnc;

/// <summary>A client broke the protocol; only its connection ends.</summary>
public sealed class VncProtocolException(string message) : Exception(message);

/// <summary>
/// One VNC client: the RFB handshake (3.3, 3.7 and 3.8; security None or VNC authentication),
/// then its messages on this connection's reading thread and its screen updates on a sending
/// thread of its own. An update goes out when the client has asked for one and the screen
/// changed (or the client asked for a region afresh); an idle screen sends nothing. Anything
/// malformed or oversized ends this connection and nothing else.
/// </summary>
public sealed class VncConnection : IDisposable
{
    /// <summary>Clipboard text longer than this ends the connection (QEMU's limit is the same order).</summary>
    public const int MaxCutText = 1 << 20;

    private readonly Stream _stream;
    private readonly VncServer _server;
    private readonly DisplayConsole _console;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly byte[] _buffer = new byte[64];
    private readonly CancellationTokenSource _closed = new();

    /// <summary>
    /// The least time between two updates to one viewer (60 a second at most). A guest that
    /// redraws without pause (text scrolling at full speed) would otherwise get one update per
    /// request, each a little different; waiting out the rest of the interval folds the changes
    /// in between into the next update (bench/display: 4.7x QEMU's frames and 1.25x its bytes
    /// while scrolling, before). QEMU paces its VNC updates the same way (30 ms by default).
    /// </summary>
    private static readonly TimeSpan s_minimumUpdateInterval = TimeSpan.FromSeconds(1.0 / 60);
    private DisplayViewer? _viewer;
    private VncPixelFormat _format = VncPixelFormat.Native;
    private int _encoding = VncEncodings.Raw;
    private bool _desktopSize;
    private bool _copyRect;
    private bool _updateRequested;
    private int _clientWidth;
    private int _clientHeight;
    private int _buttons;

    public VncConnection(Stream stream, VncServer server, string peer)
    {
        _stream = stream;
        _server = server;
        _console = server.Console;
        Peer = peer;
    }

    /// <summary>Who is connected (an address, or "unix" for a Unix socket), for query-vnc.</summary>
    public string Peer { get; }

    /// <summary>The RFB version agreed, e.g. 3.8.</summary>
    public int Minor { get; private set; }

    /// <summary>Whether the client has passed the handshake and gets updates.</summary>
    public bool IsAuthenticated { get; private set; }

    /// <summary>Runs the connection to its end on the calling thread (the reading side).</summary>
    public void Run()
    {
        Thread? sender = null;
        try
        {
            Handshake();
            IsAuthenticated = true;
            sender = new Thread(SendLoop) { IsBackground = true, Name = "vnc-send" };
            sender.Start();
            while (true)
            {
                ReadMessage();
            }
        }
        catch (Exception e) when (e is IOException or VncProtocolException or ObjectDisposedException or EndOfStreamException or System.Net.Sockets.SocketException)
        {
            // The client left or broke the protocol: this connection ends, nothing else does.
        }
        finally
        {
            _closed.Cancel();
            _wake.Release();
            sender?.Join();
            _viewer?.Dispose();
            _stream.Dispose();
        }
    }

    // ------------------------------------------------------------------ handshake

    private void Handshake()
    {
        Write("RFB 003.008\n"u8);
        ReadExactly(12);
        ReadOnlySpan<byte> version = _buffer.AsSpan(0, 12);
        if (!version.StartsWith("RFB 003."u8) || version[11] != '\n' || !TryParseDigits(version[8..11], out int minor))
        {
            throw new VncProtocolException("not an RFB 3.x version string");
        }

        // RFB: versions the server does not know are treated as 3.3; 3.889 (Apple) speaks 3.8.
        Minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
        string? password = _server.Password;
        bool authenticate = _server.PasswordRequired;
        byte type = authenticate ? (byte)2 : (byte)1;
        if (Minor == 3)
        {
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(word, type);
            Write(word);
        }
        else
        {
            Write([1, type]);
            ReadExactly(1);
            if (_buffer[0] != type)
            {
                Fail("the security type the client chose was not offered");
            }
        }

        if (authenticate)
        {
            byte[] challenge = RandomNumberGenerator.GetBytes(VncAuthentication.ChallengeSize);
            Write(challenge);
            ReadExactly(VncAuthentication.ChallengeSize);
            if (password is null || !VncAuthentication.Verify(challenge, _buffer.AsSpan(0, VncAuthentication.ChallengeSize), password))
            {
                Fail(password is null ? "no password is set" : "authentication failed");
            }
        }

        if (authenticate || Minor == 8)
        {
            Write([0, 0, 0, 0]); // SecurityResult OK (3.3 and 3.7 send none after None)
        }

        ReadExactly(1); // ClientInit: the shared flag; every viewer shares the screen
        _viewer = _console.AddViewer(() => _wake.Release());
        byte[] name = Encoding.UTF8.GetBytes(_server.Name);
        byte[] init = new byte[4 + VncPixelFormat.Size + 4 + name.Length];
        lock (_gate)
        {
            _clientWidth = _console.Width;
            _clientHeight = _console.Height;
        }

        BinaryPrimitives.WriteUInt16BigEndian(init, (ushort)_clientWidth);
        BinaryPrimitives.WriteUInt16BigEndian(init.AsSpan(2), (ushort)_clientHeight);
        VncPixelFormat.Native.Write(init.AsSpan(4));
        BinaryPrimitives.WriteUInt32BigEndian(init.AsSpan(4 + VncPixelFormat.Size), (uint)name.Length);
        name.CopyTo(init.AsSpan(8 + VncPixelFormat.Size));
        Write(init);
    }

    /// <summary>Tells the client why (3.8 carries a reason) and ends the connection.</summary>
    private void Fail(string reason)
    {
        byte[] text = Encoding.UTF8.GetBytes(reason);
        byte[] message = new byte[4 + (Minor == 8 ? 4 + text.Length : 0)];
        BinaryPrimitives.WriteUInt32BigEndian(message, 1);
        if (Minor == 8)
        {
            BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), (uint)text.Length);
            text.CopyTo(message, 8);
        }

        Write(message);
        throw new VncProtocolException(reason);
    }

    private static bool TryParseDigits(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        foreach (byte digit in digits)
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (digit - '0');
        }

        return true;
    }

    // ------------------------------------------------------------------ client messages

    private void ReadMessage()
    {
        ReadExactly(1);
        switch (_buffer[0])
        {
            case 0: // SetPixelFormat
                ReadExactly(3 + VncPixelFormat.Size);
                VncPixelFormat format = VncPixelFormat.Parse(_buffer.AsSpan(3, VncPixelFormat.Size))
                    ?? throw new VncProtocolException("a pixel format this server does not serve (colour map, or not 8/16/32 bits)");
                lock (_gate)
                {
                    _format = format;
                }

                // Everything the client holds is in the old format: send it all again.
                _viewer!.Invalidate(0, 0, DisplayConsole.MaxDimension, DisplayConsole.MaxDimension);
                break;
            case 2: // SetEncodings
                ReadExactly(3);
                SetEncodings(BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(1)));
                break;
            case 3: // FramebufferUpdateRequest
                ReadExactly(9);
                RequestUpdate(_buffer[0] != 0, BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(1)), BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(3)),
                    BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(5)), BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(7)));
                break;
            case 4: // KeyEvent
                ReadExactly(7);
                Key(_buffer[0] != 0, BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(3)));
                break;
            case 5: // PointerEvent
                ReadExactly(5);
                Pointer(_buffer[0], BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(1)), BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(3)));
                break;
            case 6: // ClientCutText: the guest has no clipboard channel; the text is read and dropped
                ReadExactly(7);
                int length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(3));
                if (length is < 0 or > MaxCutText)
                {
                    throw new VncProtocolException($"clipboard text of {length} bytes");
                }

                Skip(length);
                break;
            default:
                throw new VncProtocolException($"unknown message type {_buffer[0]}");
        }
    }

    private void SetEncodings(int count)
    {
        int chosen = -1;
        bool desktopSize = false, copyRect = false;
        for (int i = 0; i < count; i++)
        {
            ReadExactly(4);
            int encoding = BinaryPrimitives.ReadInt32BigEndian(_buffer);
            switch (encoding)
            {
                case VncEncodings.Raw or VncEncodings.Zrle when chosen < 0:
                    chosen = encoding; // the client lists encodings in its order of preference
                    break;
                case VncEncodings.CopyRect:
                    copyRect = true;
                    break;
                case VncEncodings.DesktopSize:
                    desktopSize = true;
                    break;
            }
        }

        lock (_gate)
        {
            _encoding = chosen < 0 ? VncEncodings.Raw : chosen;
            _desktopSize = desktopSize;
            _copyRect = copyRect;
        }
    }

    private void RequestUpdate(bool incremental, int x, int y, int width, int height)
    {
        if (!incremental)
        {
            _viewer!.Invalidate(x, y, width, height);
        }

        lock (_gate)
        {
            _updateRequested = true;
        }

        _wake.Release();
    }

    private void Key(bool down, uint keysym)
    {
        if (KeysymMap.TryMap(keysym, _server.Keymap, out ushort code))
        {
            _server.Input.Key(code, down);
        }
    }

    private void Pointer(int mask, int x, int y)
    {
        Span<InputEvent> events = stackalloc InputEvent[10];
        int count = 0;
        events[count++] = new InputEvent(EvAbs, AbsX, VirtioTabletDevice.ScaleToAxis(x, _console.Width));
        events[count++] = new InputEvent(EvAbs, AbsY, VirtioTabletDevice.ScaleToAxis(y, _console.Height));
        int changed = mask ^ _buttons;
        ReadOnlySpan<ushort> buttons = [BtnLeft, BtnMiddle, BtnRight];
        for (int bit = 0; bit < 3; bit++)
        {
            if ((changed & (1 << bit)) != 0)
            {
                events[count++] = new InputEvent(EvKey, buttons[bit], (mask >> bit) & 1);
            }
        }

        // Bits 3 and 4 are the wheel turned up and down, one notch a press.
        if ((mask & ~_buttons & 0x08) != 0)
        {
            events[count++] = new InputEvent(EvRel, RelWheel, 1);
        }

        if ((mask & ~_buttons & 0x10) != 0)
        {
            events[count++] = new InputEvent(EvRel, RelWheel, -1);
        }

        events[count++] = InputEvent.Sync;
        _buttons = mask;
        _server.Input.Pointer(events[..count]);
    }

    // ------------------------------------------------------------------ updates

    private void SendLoop()
    {
        var update = new DisplayUpdate();
        using var encoder = new VncEncoder();
        long lastSent = 0;
        try
        {
            while (true)
            {
                _wake.Wait(_closed.Token);
                TimeSpan sinceLast = Stopwatch.GetElapsedTime(lastSent);
                if (lastSent != 0 && sinceLast < s_minimumUpdateInterval)
                {
                    _closed.Token.WaitHandle.WaitOne(s_minimumUpdateInterval - sinceLast);
                }

                VncPixelFormat format;
                int encoding, clientWidth, clientHeight;
                bool desktopSize;
                lock (_gate)
                {
                    if (!_updateRequested)
                    {
                        continue;
                    }

                    format = _format;
                    encoding = _encoding;
                    desktopSize = _desktopSize;
                    clientWidth = _clientWidth;
                    clientHeight = _clientHeight;

                    // A client that kept its old size cannot replay moves measured on the new one.
                    _viewer!.AcceptsCopies = _copyRect && (desktopSize || (clientWidth == _console.Width && clientHeight == _console.Height));
                }

                if (!_viewer.Collect(update))
                {
                    continue; // nothing new: the request stays open until the screen changes
                }

                bool sendSize = desktopSize && (update.Width != clientWidth || update.Height != clientHeight);
                if (sendSize)
                {
                    clientWidth = update.Width;
                    clientHeight = update.Height;
                }

                if (!encoder.Encode(update, format, encoding, sendSize, _viewer.AcceptsCopies, clientWidth, clientHeight))
                {
                    continue;
                }

                lock (_gate)
                {
                    _updateRequested = false;
                    _clientWidth = clientWidth;
                    _clientHeight = clientHeight;
                }

                _stream.Write(encoder.Message);
                lastSent = Stopwatch.GetTimestamp();
                _server.CountUpdate(encoder.Message.Length);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            _stream.Dispose(); // the reading side ends too
        }
    }

    // ------------------------------------------------------------------ I/O

    private void ReadExactly(int count) => _stream.ReadExactly(_buffer, 0, count);

    private void Skip(int count)
    {
        while (count > 0)
        {
            int chunk = Math.Min(count, _buffer.Length);
            ReadExactly(chunk);
            count -= chunk;
        }
    }

    private void Write(ReadOnlySpan<byte> data) => _stream.Write(data);

    /// <summary>Ends the connection from the server's side (a password change, the VM's end).</summary>
    public void Dispose()
    {
        _closed.Cancel();
        _stream.Dispose();
    }
}
