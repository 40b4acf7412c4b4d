using System.Runtime.InteropServices;
using System.Text;
using Vessel.Network.Io;
using Vessel.Network.Packets;

namespace Vessel.Network.Tap;

/// <summary>
/// A host TAP interface (<c>--net tap,ifname=NAME</c>): every guest frame is written to the
/// interface and every frame the host sends on it goes to the guest. Creating the interface
/// needs CAP_NET_ADMIN unless it exists already and belongs to this user.
/// </summary>
public sealed unsafe class TapBackend : INetworkBackend, IPollHandler
{
    private const string ClonePath = "/dev/net/tun";
    private const nuint TunSetIff = 0x400454CA; // _IOW('T', 202, int)
    private const short IffTap = 0x0002;
    private const short IffNoPi = 0x1000;
    private const int MaxFramesPerWakeup = 64;

    private readonly int _fd;
    private readonly EventLoop _loop;
    private readonly byte[] _buffer = new byte[EthernetFrame.MaxFrameLength];
    private IFrameReceiver? _receiver;
    private int _registration = -1;
    private int _heldLength; // a frame in _buffer the NIC refused, waiting for NotifyReceiveSpace
    private int _disposed;
    private long _droppedFrames;

    /// <summary>Opens (creating when needed) the TAP interface; throws <see cref="NetworkBackendException"/> with the reason when it cannot.</summary>
    public TapBackend(string interfaceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        byte[] nameBytes = Encoding.ASCII.GetBytes(interfaceName);
        if (nameBytes.Length > 15)
        {
            throw new NetworkOptionsException($"'{interfaceName}' is not a valid interface name (at most 15 characters)");
        }

        _fd = LibC.Open(ClonePath, LibC.ORdwr | LibC.ONonblock | LibC.OCloexec);
        if (_fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new NetworkBackendException(errno switch
            {
                LibC.ENoent or LibC.ENxio or LibC.ENodev => $"cannot use TAP interface {interfaceName}: {ClonePath} does not exist (is the tun kernel module loaded?)",
                LibC.EAccess or LibC.EPerm => $"cannot use TAP interface {interfaceName}: no permission to open {ClonePath} (TAP networking needs root or CAP_NET_ADMIN)",
                _ => $"cannot use TAP interface {interfaceName}: opening {ClonePath} failed: {LibC.Describe(errno)}",
            });
        }

        // struct ifreq: the name (16 bytes, NUL-terminated) then the flags; 40 bytes in all.
        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        nameBytes.CopyTo(new Span<byte>(ifreq, 16));
        *(short*)(ifreq + 16) = IffTap | IffNoPi;
        if (LibC.Ioctl(_fd, TunSetIff, ifreq) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(_fd);
            throw new NetworkBackendException(errno switch
            {
                LibC.EPerm or LibC.EAccess => $"no permission to create or attach TAP interface {interfaceName} (it needs CAP_NET_ADMIN, or an interface made beforehand with 'ip tuntap add {interfaceName} mode tap user $USER')",
                LibC.EBusy => $"TAP interface {interfaceName} is already in use",
                LibC.EInval => $"interface {interfaceName} exists and is not a TAP interface",
                _ => $"cannot attach TAP interface {interfaceName}: {LibC.Describe(errno)}",
            });
        }

        InterfaceName = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(ifreq, 16)).TrimEnd('\0');
        try
        {
            _loop = new EventLoop("vessel-net-tap");
        }
        catch
        {
            LibC.Close(_fd);
            throw;
        }

        _loop.Woken = DeliverHeldFrame;
    }

    /// <summary>The interface's name as the kernel gave it.</summary>
    public string InterfaceName { get; }

    /// <summary>Guest frames the host interface did not take (interface down, queue full).</summary>
    public long DroppedFrames => Interlocked.Read(ref _droppedFrames);

    public Action<Exception> UnhandledException
    {
        get => _loop.UnhandledException;
        set => _loop.UnhandledException = value;
    }

    public void Attach(IFrameReceiver receiver) => _receiver = receiver;

    public void Start()
    {
        if (_registration >= 0)
        {
            return;
        }

        _registration = _loop.Add(_fd, this, LibC.EpollIn);
        _loop.Start();
    }

    /// <summary>Writes the frame to the interface at once (a non-blocking write; dropped when the interface cannot take it).</summary>
    public void Send(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref _disposed) != 0 || frame.Length < EthernetFrame.HeaderLength)
        {
            return;
        }

        nint written;
        // The descriptor stays open until Dispose; the frame is pinned for the write.
        fixed (byte* p = frame)
        {
            written = LibC.Write(_fd, p, (nuint)frame.Length);
        }

        if (written != frame.Length)
        {
            Interlocked.Increment(ref _droppedFrames);
        }
    }

    public void NotifyReceiveSpace() => _loop.Wake();

    public void OnPollEvents(uint events)
    {
        for (int i = 0; i < MaxFramesPerWakeup; i++)
        {
            nint n;
            // _buffer is pinned for the read; the descriptor is open while the loop runs.
            fixed (byte* p = _buffer)
            {
                n = LibC.Read(_fd, p, (nuint)_buffer.Length);
            }

            if (n <= 0)
            {
                return;
            }

            if (!Deliver((int)n))
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _loop.Stop();
        if (_registration >= 0)
        {
            _loop.Remove(_registration);
        }

        _loop.Dispose();
        LibC.Close(_fd); // a non-persistent TAP interface disappears with its last descriptor
    }

    private bool Deliver(int length)
    {
        if (_receiver is null || _receiver.TryReceive(_buffer.AsSpan(0, length)))
        {
            return true;
        }

        // The guest has no receive buffers: keep this frame, stop reading until it has.
        _heldLength = length;
        _loop.Modify(_registration, 0);
        _loop.Wake(); // NotifyReceiveSpace may have come between the refusal and now
        return false;
    }

    private void DeliverHeldFrame()
    {
        if (_heldLength == 0 || _receiver is null)
        {
            return;
        }

        if (_receiver.TryReceive(_buffer.AsSpan(0, _heldLength)))
        {
            _heldLength = 0;
            _loop.Modify(_registration, LibC.EpollIn);
        }
    }
}
