namespace Vessel.Machine.Display;

/// <summary>
/// What a VM's screen shows, for whoever looks at it (VNC viewers, screendumps): the host's copy
/// of the scanout, in one fixed layout (<c>0x00RRGGBB</c>), kept up to date by the display
/// device from the rectangles the guest flushes. Each update is compared with what the screen
/// showed, and only the <see cref="TileSize"/>-pixel tiles whose pixels really changed are
/// handed on, so a viewer sends only what changed; a flush whose content is the old content
/// moved up or down (a text console scrolling) becomes a <see cref="CopyOperation"/> as well.
/// </summary>
/// <remarks>
/// One lock guards the pixels and every viewer's bookkeeping. The device updates on its own
/// thread; viewers collect on theirs, copying the changed tiles out under the lock and encoding
/// outside it. Nothing runs unless the guest flushes or a viewer asks: an idle screen costs
/// nothing. Updates allocate nothing; only a change of size does.
/// </remarks>
public sealed class DisplayConsole
{
    public const int TileSize = 16;

    /// <summary>The largest width or height a console takes (bounds its buffers).</summary>
    public const int MaxDimension = 8192;

    /// <summary>The size shown while no scanout is active (QEMU shows the same).</summary>
    public const int InactiveWidth = 640;

    public const int InactiveHeight = 480;

    // A flush smaller than this is never checked for a scroll: the rows it would save are few.
    private const int MinScrollRows = 3 * TileSize;

    private readonly Lock _lock = new();
    private uint[] _pixels = [];
    private long[] _tileVersions = [];
    private uint[] _incoming = [];
    private int[] _incomingHashes = [];
    private int[] _currentHashes = [];
    private bool[] _bandChanged = [];
    private DisplayViewer[] _viewers = [];
    private long _version;
    private long _sizeGeneration;
    private CursorShape? _cursor;
    private long _cursorVersion;

    public DisplayConsole()
    {
        ResizeLocked(InactiveWidth, InactiveHeight);
    }

    /// <summary>Raised (on the viewer's thread) when a viewer asks for another screen size; the display device decides.</summary>
    public event Action<int, int>? ResolutionRequested;

    public int Width { get; private set; }

    public int Height { get; private set; }

    /// <summary>Whether a scanout shows something (false: the guest has not set up its display, or turned it off).</summary>
    public bool IsActive { get; private set; }

    /// <summary>How many copies were found in flushes (scrolls), for tests and statistics.</summary>
    public long CopiesDetected { get; private set; }

    internal Lock SyncRoot => _lock;

    internal long[] TileVersions => _tileVersions;

    internal long SizeGeneration => _sizeGeneration;

    internal long CursorVersion => _cursorVersion;

    internal CursorShape? Cursor => _cursor;

    internal int TilesX => (Width + TileSize - 1) / TileSize;

    internal int TilesY => (Height + TileSize - 1) / TileSize;

    internal uint[] PixelsLocked => _pixels;

    /// <summary>Adds a viewer; <paramref name="changed"/> is called (on the updating thread, outside the lock) whenever it has something new.</summary>
    public DisplayViewer AddViewer(Action changed)
    {
        lock (_lock)
        {
            var viewer = new DisplayViewer(this, changed);
            _viewers = [.. _viewers, viewer];
            return viewer;
        }
    }

    internal void RemoveViewer(DisplayViewer viewer)
    {
        lock (_lock)
        {
            _viewers = Array.FindAll(_viewers, v => !ReferenceEquals(v, viewer));
        }
    }

    /// <summary>Asks the display device for another resolution (a viewer's wish); returns false when nobody can change it.</summary>
    public bool RequestResolution(int width, int height)
    {
        if (width < 1 || height < 1 || width > MaxDimension || height > MaxDimension)
        {
            return false;
        }

        Action<int, int>? handler = ResolutionRequested;
        handler?.Invoke(width, height);
        return handler is not null;
    }

    /// <summary>Sets the screen's size for an active scanout; the content is black until updated.</summary>
    public void Resize(int width, int height) => ChangeSize(width, height, active: true);

    /// <summary>No scanout shows anything: a black screen of <see cref="InactiveWidth"/> × <see cref="InactiveHeight"/>.</summary>
    public void Deactivate() => ChangeSize(InactiveWidth, InactiveHeight, active: false);

    private void ChangeSize(int width, int height, bool active)
    {
        if (width < 1 || height < 1 || width > MaxDimension || height > MaxDimension)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A screen of {width}x{height} is outside 1..{MaxDimension}.");
        }

        DisplayViewer[] viewers;
        lock (_lock)
        {
            bool wasActive = IsActive;
            IsActive = active;
            if (width == Width && height == Height && (active || !wasActive))
            {
                return;
            }

            ResizeLocked(width, height);
            viewers = _viewers;
        }

        Notify(viewers);
    }

    /// <summary>
    /// Copies the rectangle (<paramref name="x"/>, <paramref name="y"/>, <paramref name="width"/>,
    /// <paramref name="height"/>) of the screen from <paramref name="source"/>, whose first byte is
    /// that rectangle's top-left pixel and whose rows are <paramref name="sourceStride"/> bytes apart.
    /// </summary>
    public void Update(int x, int y, int width, int height, ReadOnlySpan<byte> source, int sourceStride, SourcePixelFormat format)
    {
        if (width <= 0 || height <= 0)
        {
            return;
        }

        DisplayViewer[] viewers;
        lock (_lock)
        {
            if (x < 0 || y < 0 || x > Width - width || y > Height - height)
            {
                throw new ArgumentOutOfRangeException(nameof(x), $"The rectangle {width}x{height}+{x}+{y} is outside the {Width}x{Height} screen.");
            }

            if (sourceStride < width * 4 || source.Length < ((long)(height - 1) * sourceStride) + (width * 4))
            {
                throw new ArgumentException("The source is smaller than the rectangle.", nameof(source));
            }

            for (int row = 0; row < height; row++)
            {
                PixelConversion.ConvertRow(source.Slice(row * sourceStride, width * 4), _incoming.AsSpan(row * width, width), format);
            }

            bool changed = TryMoveForScroll(x, y, width, height);
            changed |= CopyChangedTiles(x, y, width, height);
            if (!changed)
            {
                return;
            }

            viewers = _viewers;
            MarkPending(viewers);
        }

        Notify(viewers);
    }

    /// <summary>Shows <paramref name="cursor"/> as the pointer's image (null hides it).</summary>
    public void DefineCursor(CursorShape? cursor)
    {
        DisplayViewer[] viewers;
        lock (_lock)
        {
            _cursor = cursor;
            _cursorVersion++;
            viewers = _viewers;
            MarkPending(viewers);
        }

        Notify(viewers);
    }

    /// <summary>A copy of the whole screen (for screendumps): width, height and <c>0x00RRGGBB</c> pixels.</summary>
    public (int Width, int Height, uint[] Pixels) Capture()
    {
        lock (_lock)
        {
            return (Width, Height, _pixels.AsSpan(0, Width * Height).ToArray());
        }
    }

    private void ResizeLocked(int width, int height)
    {
        Width = width;
        Height = height;
        _pixels = new uint[width * height];
        _incoming = new uint[width * height];
        _incomingHashes = new int[height];
        _currentHashes = new int[height];
        _bandChanged = new bool[TilesX];
        _tileVersions = new long[TilesX * TilesY];
        _tileVersions.AsSpan().Fill(++_version);
        _sizeGeneration++;
        foreach (DisplayViewer viewer in _viewers)
        {
            viewer.OnResizedLocked();
        }
    }

    /// <summary>Copies the incoming rows over the screen, tile by tile where they differ; returns whether any did.</summary>
    private bool CopyChangedTiles(int x, int y, int width, int height)
    {
        int stride = Width;
        int firstColumn = x / TileSize, lastColumn = (x + width - 1) / TileSize;
        bool anyChanged = false;
        for (int bandTop = y; bandTop < y + height;)
        {
            int tileRow = bandTop / TileSize;
            int bandBottom = Math.Min(y + height, (tileRow + 1) * TileSize);
            bool bandChanged = false;
            for (int row = bandTop; row < bandBottom; row++)
            {
                Span<uint> incoming = _incoming.AsSpan((row - y) * width, width);
                Span<uint> current = _pixels.AsSpan((row * stride) + x, width);
                if (incoming.SequenceEqual(current))
                {
                    continue;
                }

                for (int column = firstColumn; column <= lastColumn; column++)
                {
                    int left = Math.Max(x, column * TileSize), right = Math.Min(x + width, (column + 1) * TileSize);
                    Span<uint> newPart = incoming.Slice(left - x, right - left);
                    Span<uint> oldPart = current.Slice(left - x, right - left);
                    if (!newPart.SequenceEqual(oldPart))
                    {
                        newPart.CopyTo(oldPart);
                        _bandChanged[column] = true;
                        bandChanged = true;
                    }
                }
            }

            if (bandChanged)
            {
                long version = ++_version;
                for (int column = firstColumn; column <= lastColumn; column++)
                {
                    if (_bandChanged[column])
                    {
                        _tileVersions[(tileRow * TilesX) + column] = version;
                        _bandChanged[column] = false;
                    }
                }

                anyChanged = true;
            }

            bandTop = bandBottom;
        }

        return anyChanged;
    }

    /// <summary>
    /// When most incoming rows are current rows some distance up or down (a scroll), moves the
    /// screen's rows by that distance first and records the move for viewers: the comparison
    /// that follows then finds only the rows that are really new. Returns whether it moved.
    /// </summary>
    private bool TryMoveForScroll(int x, int y, int width, int height)
    {
        // Moves are found for whole tile columns only, so that a viewer's tiles map onto tiles.
        if (height < MinScrollRows || width < 4 * TileSize || x % TileSize != 0 || ((x + width) % TileSize != 0 && x + width != Width))
        {
            return false;
        }

        for (int i = 0; i < height; i++)
        {
            _incomingHashes[i] = HashRow(_incoming.AsSpan(i * width, width));
            _currentHashes[i] = HashRow(_pixels.AsSpan(((y + i) * Width) + x, width));
        }

        // The first row that changed and has some detail (a blank row matches anywhere).
        int anchor = -1;
        for (int i = 0; i < height; i++)
        {
            if (_incomingHashes[i] != _currentHashes[i] && !IsUniform(_incoming.AsSpan(i * width, width)))
            {
                anchor = i;
                break;
            }
        }

        if (anchor < 0)
        {
            return false;
        }

        int bestShift = 0, bestRows = 0, tried = 0;
        for (int distance = 1; distance <= height / 2 && tried < 8; distance++)
        {
            foreach (int shift in (ReadOnlySpan<int>)[distance, -distance])
            {
                int source = anchor + shift;
                if (source < 0 || source >= height || _currentHashes[source] != _incomingHashes[anchor])
                {
                    continue;
                }

                tried++;
                int rows = CountMovedRows(height, shift);
                if (rows > bestRows)
                {
                    bestRows = rows;
                    bestShift = shift;
                }
            }
        }

        if (bestRows < Math.Max(TileSize, height / 4))
        {
            return false;
        }

        // shift > 0: row i of the new picture is row i + shift of the old (the content moved up).
        int rowsMoved = height - Math.Abs(bestShift);
        var move = bestShift > 0
            ? new CopyOperation(x, y + bestShift, x, y, width, rowsMoved)
            : new CopyOperation(x, y, x, y - bestShift, width, rowsMoved);
        MoveRows(move);
        CopiesDetected++;

        long version = ++_version;
        foreach (DisplayViewer viewer in _viewers)
        {
            viewer.OnCopyLocked(move);
        }

        int firstTileRow = move.Y / TileSize, lastTileRow = (move.Y + move.Height - 1) / TileSize;
        int firstColumn = move.X / TileSize, lastColumn = (move.X + move.Width - 1) / TileSize;
        for (int tileRow = firstTileRow; tileRow <= lastTileRow; tileRow++)
        {
            for (int column = firstColumn; column <= lastColumn; column++)
            {
                _tileVersions[(tileRow * TilesX) + column] = version;
            }
        }

        foreach (DisplayViewer viewer in _viewers)
        {
            viewer.AfterCopyLocked(move, version);
        }

        return true;
    }

    private int CountMovedRows(int height, int shift)
    {
        int rows = 0;
        for (int i = Math.Max(0, -shift); i < height && i + shift < height; i++)
        {
            if (_incomingHashes[i] == _currentHashes[i + shift] && _incomingHashes[i] != _currentHashes[i])
            {
                rows++;
            }
        }

        return rows;
    }

    private void MoveRows(CopyOperation move)
    {
        int stride = Width;
        bool upwards = move.SourceY > move.Y;
        for (int n = 0; n < move.Height; n++)
        {
            int i = upwards ? n : move.Height - 1 - n;
            _pixels.AsSpan(((move.SourceY + i) * stride) + move.SourceX, move.Width)
                .CopyTo(_pixels.AsSpan(((move.Y + i) * stride) + move.X, move.Width));
        }
    }

    private static int HashRow(ReadOnlySpan<uint> row)
    {
        var hash = new HashCode();
        hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row));
        return hash.ToHashCode();
    }

    private static bool IsUniform(ReadOnlySpan<uint> row)
    {
        uint first = row[0];
        return !row.ContainsAnyExcept(first);
    }

    private static void MarkPending(DisplayViewer[] viewers)
    {
        foreach (DisplayViewer viewer in viewers)
        {
            viewer.MarkPendingLocked();
        }
    }

    private static void Notify(DisplayViewer[] viewers)
    {
        foreach (DisplayViewer viewer in viewers)
        {
            viewer.NotifyChanged();
        }
    }
}
