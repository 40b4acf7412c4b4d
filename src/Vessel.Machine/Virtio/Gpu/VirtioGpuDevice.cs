using System.Buffers.Binary;
using Vessel.Machine.Display;
using Vessel.Machine.Virtio.Queues;
using static Vessel.Machine.Virtio.Gpu.VirtioGpuProtocol;

namespace Vessel.Machine.Virtio.Gpu;

/// <summary>
/// virtio-gpu (device type 16, virtio 1.2 section 5.7) in 2D mode, as QEMU's
/// <c>virtio-gpu-device</c>: resources in host memory filled from guest pages by transfers,
/// one scanout shown on a <see cref="DisplayConsole"/>, flushes that update only the flushed
/// rectangle, a cursor, EDID, and a display size the host may change (a VNC client resizing
/// its window), announced with a configuration-change event.
/// </summary>
/// <remarks>
/// Both queues are served on the device's worker, never on a vCPU. A malformed command (too
/// short, an unknown resource, a rectangle or scanout out of range, a resource larger than the
/// memory budget) gets the virtio-gpu error response QEMU gives; only a broken ring stops the
/// device. Commands allocate nothing except when they create resources or attach backing.
/// </remarks>
public sealed partial class VirtioGpuDevice : VirtioDevice
{
    public const int ControlQueue = 0;
    public const int CursorQueue = 1;
    public const int ConfigSpaceSize = 16;
    public const int ScanoutCount = 1;
    public const int CursorSize = 64;

    private const ushort QueueSize = 256;
    private const int RequestBufferSize = 64;

    private readonly VirtioGpuOptions _options;
    private readonly DisplayConsole _console;
    private readonly DescriptorChain _controlChain = new(QueueSize);
    private readonly DescriptorChain _cursorChain = new(QueueSize);
    private readonly byte[] _request = new byte[RequestBufferSize];
    private readonly byte[] _response = new byte[EdidResponseSize];
    private readonly Dictionary<uint, GpuResource> _resources = [];
    private long _hostMemory;
    private GpuScanoutState _scanout = new(0, 0, 0, 0, 0);
    private uint _cursorResource;
    private int _cursorHotX;
    private int _cursorHotY;
    private int _cursorX;
    private int _cursorY;
    private int _requestedWidth;
    private int _requestedHeight;
    private byte[] _edid;
    private uint _eventsRead;

    public VirtioGpuDevice(DisplayConsole console, VirtioGpuOptions? options = null)
        : this(console, options ?? new VirtioGpuOptions(), Validate(options ?? new VirtioGpuOptions()))
    {
    }

    private VirtioGpuDevice(DisplayConsole console, VirtioGpuOptions options, ulong features)
        : base(VirtioDeviceType.Gpu, features, [QueueSize, QueueSize], ConfigSpaceSize, "virtio-gpu")
    {
        ArgumentNullException.ThrowIfNull(console);
        _options = options;
        _console = console;
        _requestedWidth = options.Width;
        _requestedHeight = options.Height;
        _edid = Edid.Build(options.Width, options.Height);
        WriteConfigSpace();
        console.ResolutionRequested += OnResolutionRequested;
    }

    /// <summary>The console the scanout is shown on.</summary>
    public DisplayConsole Console => _console;

    /// <summary>The display size the guest is offered (GET_DISPLAY_INFO).</summary>
    public (int Width, int Height) PreferredSize
    {
        get
        {
            lock (ConfigLock)
            {
                return (_requestedWidth, _requestedHeight);
            }
        }
    }

    /// <summary>Host bytes the guest's resources use now.</summary>
    public long HostMemoryUsed => Interlocked.Read(ref _hostMemory);

    /// <summary>
    /// Offers the guest another display size (QEMU's UI resize): GET_DISPLAY_INFO and GET_EDID
    /// report it from now on and the guest is told with VIRTIO_GPU_EVENT_DISPLAY. The guest
    /// decides whether and how it follows.
    /// </summary>
    public void SetPreferredSize(int width, int height)
    {
        width = Math.Clamp(width, VirtioGpuOptions.MinDimension, VirtioGpuOptions.MaxDimension);
        height = Math.Clamp(height, VirtioGpuOptions.MinDimension, VirtioGpuOptions.MaxDimension);
        byte[] edid = Edid.Build(width, height);
        lock (ConfigLock)
        {
            if (width == _requestedWidth && height == _requestedHeight)
            {
                return;
            }

            _requestedWidth = width;
            _requestedHeight = height;
            _edid = edid;
            _eventsRead |= EventDisplay;
            WriteConfigSpace();
        }

        if (IsActive)
        {
            Interrupt.SignalConfigChange();
        }
    }

    public override VirtioDeviceState SaveState()
    {
        GpuResourceState[] resources = _resources.Values
            .OrderBy(resource => resource.Id)
            .Select(resource => new GpuResourceState(resource.Id, resource.Format, resource.Width, resource.Height, (byte[])resource.Pixels.Clone(), resource.Backing))
            .ToArray();
        lock (ConfigLock)
        {
            var cursor = new GpuCursorState(_cursorResource, _cursorHotX, _cursorHotY, _cursorX, _cursorY);
            return new VirtioGpuState(resources, _scanout, cursor, _eventsRead, _requestedWidth, _requestedHeight);
        }
    }

    public override void RestoreState(VirtioDeviceState state)
    {
        if (state is not VirtioGpuState gpu)
        {
            throw new ArgumentException($"Expected virtio-gpu state, got {state.GetType().Name}.", nameof(state));
        }

        DropResources();
        foreach (GpuResourceState saved in gpu.Resources)
        {
            if (ToPixelFormat(saved.Format) is not { } pixelFormat || saved.Width < 1 || saved.Height < 1
                || saved.Pixels.LongLength != (long)saved.Width * saved.Height * BytesPerPixel || !_resources.TryAdd(saved.Id, new GpuResource(saved.Id, saved.Format, pixelFormat, saved.Width, saved.Height)))
            {
                throw new ArgumentException($"The saved virtio-gpu resource {saved.Id} is not a valid 2D resource.", nameof(state));
            }

            GpuResource resource = _resources[saved.Id];
            saved.Pixels.CopyTo(resource.Pixels, 0);
            if (saved.Backing is not null)
            {
                resource.AttachBacking(saved.Backing);
            }

            _hostMemory += resource.HostBytes;
        }

        lock (ConfigLock)
        {
            _eventsRead = gpu.EventsRead;
            _requestedWidth = Math.Clamp(gpu.RequestedWidth, VirtioGpuOptions.MinDimension, VirtioGpuOptions.MaxDimension);
            _requestedHeight = Math.Clamp(gpu.RequestedHeight, VirtioGpuOptions.MinDimension, VirtioGpuOptions.MaxDimension);
            _edid = Edid.Build(_requestedWidth, _requestedHeight);
            WriteConfigSpace();
        }

        (_cursorResource, _cursorHotX, _cursorHotY, _cursorX, _cursorY) = (gpu.Cursor.ResourceId, gpu.Cursor.HotX, gpu.Cursor.HotY, gpu.Cursor.X, gpu.Cursor.Y);
        ShowScanout(gpu.Scanout);
        UpdateCursorImage(gpu.Cursor.ResourceId, gpu.Cursor.HotX, gpu.Cursor.HotY);
    }

    protected override void ProcessQueue(int queueIndex, Virtqueue queue)
    {
        DescriptorChain chain = queueIndex == ControlQueue ? _controlChain : _cursorChain;
        while (queue.TryPop(chain))
        {
            uint written = queueIndex == ControlQueue ? HandleControl(chain) : HandleCursor(chain);
            queue.Push(chain.Head, written);
            if (queue.ShouldSignalUsed())
            {
                Interrupt.SignalUsedBuffers(queueIndex);
            }
        }
    }

    protected override void OnReset()
    {
        DropResources();
        lock (ConfigLock)
        {
            _eventsRead = 0;
            WriteConfigSpace();
        }

        (_cursorResource, _cursorHotX, _cursorHotY, _cursorX, _cursorY) = (0, 0, 0, 0, 0);
        _console.DefineCursor(null);
    }

    /// <summary>events_clear (offset 4) clears bits of events_read; everything else is read-only.</summary>
    protected override void OnConfigWrite(int offset, ReadOnlySpan<byte> data)
    {
        if (offset == 4 && data.Length >= 4)
        {
            _eventsRead &= ~BinaryPrimitives.ReadUInt32LittleEndian(data);
            WriteConfigSpace();
        }
    }

    protected override void Dispose(bool disposing)
    {
        _console.ResolutionRequested -= OnResolutionRequested;
        base.Dispose(disposing);
    }

    private void OnResolutionRequested(int width, int height) => SetPreferredSize(width, height);

    private void DropResources()
    {
        _resources.Clear();
        _hostMemory = 0;
        _scanout = new GpuScanoutState(0, 0, 0, 0, 0);
        _console.Deactivate();
    }

    private void WriteConfigSpace()
    {
        lock (ConfigLock)
        {
            Span<byte> config = ConfigSpace;
            BinaryPrimitives.WriteUInt32LittleEndian(config, _eventsRead);
            BinaryPrimitives.WriteUInt32LittleEndian(config[4..], 0); // events_clear reads as 0
            BinaryPrimitives.WriteUInt32LittleEndian(config[8..], ScanoutCount);
            BinaryPrimitives.WriteUInt32LittleEndian(config[12..], 0); // num_capsets: no 3D
        }
    }

    private static SourcePixelFormat? ToPixelFormat(uint format) => format switch
    {
        FormatB8G8R8A8 or FormatB8G8R8X8 => SourcePixelFormat.Bgrx,
        FormatA8R8G8B8 or FormatX8R8G8B8 => SourcePixelFormat.Xrgb,
        FormatR8G8B8A8 or FormatR8G8B8X8 => SourcePixelFormat.Rgbx,
        FormatA8B8G8R8 or FormatX8B8G8R8 => SourcePixelFormat.Xbgr,
        _ => null,
    };

    private static ulong Validate(VirtioGpuOptions options)
    {
        if (options.Width is < VirtioGpuOptions.MinDimension or > VirtioGpuOptions.MaxDimension
            || options.Height is < VirtioGpuOptions.MinDimension or > VirtioGpuOptions.MaxDimension)
        {
            throw new ArgumentException(
                $"The display size {options.Width}x{options.Height} must be between {VirtioGpuOptions.MinDimension} and {VirtioGpuOptions.MaxDimension} in each direction.");
        }

        if (options.MaxHostMemory < GpuResource.HostBytesFor(options.Width, options.Height))
        {
            throw new ArgumentException($"The display's memory budget of {options.MaxHostMemory} bytes cannot hold one {options.Width}x{options.Height} screen.");
        }

        return options.Edid ? FeatureEdid : 0;
    }
}
