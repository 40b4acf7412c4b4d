using System.Buffers.Binary;
using System.Net.Sockets;

/// <summary>
/// A VNC viewer that counts what it receives: RFB 3.8 with no security, a shared session, the
/// encodings both servers offer (ZRLE, CopyRect, Raw, DesktopSize), and a new incremental update
/// request as soon as an update has arrived, as a viewer that keeps up does. Rectangles are read
/// and skipped, not decoded: the figures are the server's bytes and frames.
/// </summary>
internal sealed class RfbViewer : IDisposable
{
    private const int EncodingRaw = 0, EncodingCopyRect = 1, EncodingZrle = 16, EncodingDesktopSize = -223;
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private int _width, _height, _bytesPerPixel;
    private long _bytes, _updates;

    private RfbViewer(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        Handshake();
        _reader = Task.Run(ReadLoop);
    }

    /// <summary>Bytes received since the handshake.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Framebuffer updates received since the handshake.</summary>
    public long Updates => Interlocked.Read(ref _updates);

    public static RfbViewer Connect(int port, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var tcp = new TcpClient();
            try
            {
                tcp.Connect("127.0.0.1", port);
                return new RfbViewer(tcp);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                tcp.Dispose();
                Thread.Sleep(200);
            }
        }
    }

    private void Handshake()
    {
        ReadExactly(12); // "RFB 003.00x\n"
        _stream.Write("RFB 003.008\n"u8);
        byte[] types = ReadExactly(ReadExactly(1)[0]);
        if (!types.Contains((byte)1))
        {
            throw new InvalidOperationException("bench: the VNC server asks for authentication; run it without a password");
        }

        _stream.Write([1]);
        if (BinaryPrimitives.ReadUInt32BigEndian(ReadExactly(4)) != 0)
        {
            throw new InvalidOperationException("bench: the VNC server refused the connection");
        }

        _stream.Write([1]); // ClientInit: shared
        byte[] init = ReadExactly(24);
        _width = BinaryPrimitives.ReadUInt16BigEndian(init);
        _height = BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2));
        _bytesPerPixel = init[4] / 8;
        ReadExactly((int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20))); // the desktop's name

        int[] encodings = [EncodingZrle, EncodingCopyRect, EncodingRaw, EncodingDesktopSize];
        byte[] setEncodings = new byte[4 + (4 * encodings.Length)];
        setEncodings[0] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(setEncodings.AsSpan(2), (ushort)encodings.Length);
        for (int i = 0; i < encodings.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(setEncodings.AsSpan(4 + (4 * i)), encodings[i]);
        }

        _stream.Write(setEncodings);
        RequestUpdate(incremental: false);
    }

    private void RequestUpdate(bool incremental)
    {
        Span<byte> request = stackalloc byte[10];
        request[0] = 3;
        request[1] = incremental ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(request[6..], (ushort)_width);
        BinaryPrimitives.WriteUInt16BigEndian(request[8..], (ushort)_height);
        _stream.Write(request);
    }

    private void ReadLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                byte type = ReadExactly(1)[0];
                switch (type)
                {
                    case 0:
                        ReadUpdate();
                        Interlocked.Increment(ref _updates);
                        RequestUpdate(incremental: true);
                        break;
                    case 1:
                        byte[] header = ReadExactly(5);
                        ReadExactly(6 * BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3)));
                        break;
                    case 2:
                        break;
                    case 3:
                        ReadExactly((int)BinaryPrimitives.ReadUInt32BigEndian(ReadExactly(7).AsSpan(3)));
                        break;
                    default:
                        throw new InvalidOperationException($"bench: the VNC server sent message type {type}, which this viewer does not know");
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException && _stop.IsCancellationRequested)
        {
        }
    }

    private void ReadUpdate()
    {
        int rectangles = BinaryPrimitives.ReadUInt16BigEndian(ReadExactly(3).AsSpan(1));
        for (int i = 0; i < rectangles; i++)
        {
            byte[] header = ReadExactly(12);
            int width = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
            int height = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6));
            switch (BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(8)))
            {
                case EncodingRaw:
                    Skip((long)width * height * _bytesPerPixel);
                    break;
                case EncodingCopyRect:
                    ReadExactly(4);
                    break;
                case EncodingZrle:
                    Skip(BinaryPrimitives.ReadUInt32BigEndian(ReadExactly(4)));
                    break;
                case EncodingDesktopSize:
                    (_width, _height) = (width, height);
                    break;
                case int other:
                    throw new InvalidOperationException($"bench: the VNC server sent encoding {other}, which was not asked for");
            }
        }
    }

    private void Skip(long count)
    {
        byte[] buffer = new byte[64 * 1024];
        while (count > 0)
        {
            int read = _stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (read == 0)
            {
                throw new IOException("the VNC server closed the connection");
            }

            Interlocked.Add(ref _bytes, read);
            count -= read;
        }
    }

    private byte[] ReadExactly(int count)
    {
        byte[] buffer = new byte[count];
        _stream.ReadExactly(buffer);
        Interlocked.Add(ref _bytes, count);
        return buffer;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _tcp.Dispose();
        try
        {
            _reader.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }
}
