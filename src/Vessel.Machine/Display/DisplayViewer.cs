namespace Vessel.Machine.Display;

/// <summary>
/// One viewer's view of a <see cref="DisplayConsole"/>: which tiles it has seen at which
/// version, the copies it has still to replay, and whether it has seen the current size and
/// cursor. <see cref="Collect"/> hands over what changed since the previous call.
/// </summary>
/// <remarks>
/// A tile is up to date when the version the viewer took equals the console's version of it.
/// When the console moves rows (a scroll) a viewer that replays the move keeps a moved tile up
/// to date if the tiles it came from were; otherwise the tile is simply dirty and sent again.
/// All state is touched under the console's lock.
/// </remarks>
public sealed class DisplayViewer : IDisposable
{
    private const long NeverSent = -1;

    private readonly DisplayConsole _console;
    private readonly Action _changed;
    private readonly CopyOperation[] _copies = new CopyOperation[DisplayUpdate.MaxCopies];
    private long[] _sentVersions = [];
    private bool[] _cleanAfterCopy = [];
    private int _copyCount;
    private bool _copyQueued;
    private long _sizeGeneration = -1;
    private long _cursorVersion;
    private bool _pending = true;
    private bool _disposed;

    internal DisplayViewer(DisplayConsole console, Action changed)
    {
        _console = console;
        _changed = changed;
        OnResizedLocked();
    }

    /// <summary>Whether the viewer can replay copies (VNC's CopyRect); without it moved tiles are sent as pixels.</summary>
    public bool AcceptsCopies { get; set; }

    /// <summary>Whether the viewer wants cursor shapes (VNC's Cursor pseudo-encoding).</summary>
    public bool AcceptsCursor { get; set; }

    /// <summary>Whether something may have changed since the last <see cref="Collect"/> (cheap, may be a false alarm).</summary>
    public bool HasPendingChanges
    {
        get
        {
            lock (_console.SyncRoot)
            {
                return _pending;
            }
        }
    }

    /// <summary>Marks the region as unseen, so that the next collect sends it whole (VNC's non-incremental request).</summary>
    public void Invalidate(int x, int y, int width, int height)
    {
        lock (_console.SyncRoot)
        {
            int tilesX = _console.TilesX, tilesY = _console.TilesY;
            int firstColumn = Math.Clamp(x / DisplayConsole.TileSize, 0, tilesX);
            int lastColumn = Math.Clamp((x + width - 1) / DisplayConsole.TileSize, -1, tilesX - 1);
            int firstRow = Math.Clamp(y / DisplayConsole.TileSize, 0, tilesY);
            int lastRow = Math.Clamp((y + height - 1) / DisplayConsole.TileSize, -1, tilesY - 1);
            for (int row = firstRow; row <= lastRow; row++)
            {
                _sentVersions.AsSpan((row * tilesX) + firstColumn, Math.Max(0, lastColumn - firstColumn + 1)).Fill(NeverSent);
            }

            _cursorVersion = -1;
            _pending = true;
        }
    }

    /// <summary>
    /// Takes what changed since the previous call into <paramref name="update"/> (pixels of the
    /// changed tiles copied into its buffer) and returns false when nothing did.
    /// </summary>
    public bool Collect(DisplayUpdate update)
    {
        lock (_console.SyncRoot)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int width = _console.Width, height = _console.Height;
            int tilesX = _console.TilesX, tilesY = _console.TilesY;
            update.SizeChanged = _sizeGeneration != _console.SizeGeneration;
            _sizeGeneration = _console.SizeGeneration;
            if (update.Width != width || update.Height != height || update.Pixels.Length != width * height)
            {
                update.Width = width;
                update.Height = height;
                update.Pixels = new uint[width * height];
                update.TilesX = tilesX;
                update.TilesY = tilesY;
                update.DirtyTiles = new bool[tilesX * tilesY];
            }

            _copies.AsSpan(0, _copyCount).CopyTo(update.CopyStorage);
            update.CopyCount = update.SizeChanged ? 0 : _copyCount;
            _copyCount = 0;

            long[] versions = _console.TileVersions;
            uint[] pixels = _console.PixelsLocked;
            int dirty = 0;
            for (int tile = 0; tile < versions.Length; tile++)
            {
                bool isDirty = _sentVersions[tile] != versions[tile];
                update.DirtyTiles[tile] = isDirty;
                if (!isDirty)
                {
                    continue;
                }

                _sentVersions[tile] = versions[tile];
                dirty++;
                int left = (tile % tilesX) * DisplayConsole.TileSize, top = (tile / tilesX) * DisplayConsole.TileSize;
                int tileWidth = Math.Min(DisplayConsole.TileSize, width - left), bottom = Math.Min(top + DisplayConsole.TileSize, height);
                for (int row = top; row < bottom; row++)
                {
                    pixels.AsSpan((row * width) + left, tileWidth).CopyTo(update.Pixels.AsSpan((row * width) + left, tileWidth));
                }
            }

            update.DirtyTileCount = dirty;
            update.CursorChanged = AcceptsCursor && _cursorVersion != _console.CursorVersion;
            update.Cursor = _console.Cursor;
            _cursorVersion = _console.CursorVersion;
            _pending = false;
            return !update.IsEmpty;
        }
    }

    internal void NotifyChanged()
    {
        if (!_disposed)
        {
            _changed();
        }
    }

    internal void MarkPendingLocked() => _pending = true;

    internal void OnResizedLocked()
    {
        int tiles = _console.TilesX * _console.TilesY;
        _sentVersions = new long[tiles];
        _sentVersions.AsSpan().Fill(NeverSent);
        _cleanAfterCopy = new bool[tiles];
        _copyCount = 0;
        _pending = true;
    }

    /// <summary>Before the console moves rows: works out which moved tiles stay up to date for this viewer, and queues the copy.</summary>
    internal void OnCopyLocked(CopyOperation move)
    {
        _pending = true;
        _copyQueued = AcceptsCopies && _copyCount < _copies.Length;
        if (!_copyQueued)
        {
            return;
        }

        _copies[_copyCount++] = move;
        long[] versions = _console.TileVersions;
        int tilesX = _console.TilesX, height = _console.Height;
        const int Tile = DisplayConsole.TileSize;
        int shift = move.SourceY - move.Y;
        int firstColumn = move.X / Tile, lastColumn = (move.X + move.Width - 1) / Tile;
        for (int tileRow = move.Y / Tile; tileRow <= (move.Y + move.Height - 1) / Tile; tileRow++)
        {
            int top = Math.Max(tileRow * Tile, move.Y);
            int bottom = Math.Min(Math.Min((tileRow + 1) * Tile, height), move.Y + move.Height);
            bool fullyCovered = top == tileRow * Tile && bottom == Math.Min((tileRow + 1) * Tile, height);
            int firstSourceRow = (top + shift) / Tile, lastSourceRow = (bottom - 1 + shift) / Tile;
            for (int column = firstColumn; column <= lastColumn; column++)
            {
                int tile = (tileRow * tilesX) + column;
                bool clean = fullyCovered || _sentVersions[tile] == versions[tile];
                for (int sourceRow = firstSourceRow; clean && sourceRow <= lastSourceRow; sourceRow++)
                {
                    int source = (sourceRow * tilesX) + column;
                    clean = _sentVersions[source] == versions[source];
                }

                _cleanAfterCopy[tile] = clean;
            }
        }
    }

    /// <summary>After the console moved rows and gave the moved tiles <paramref name="version"/>.</summary>
    internal void AfterCopyLocked(CopyOperation move, long version)
    {
        if (!_copyQueued)
        {
            return;
        }

        int tilesX = _console.TilesX;
        const int Tile = DisplayConsole.TileSize;
        for (int tileRow = move.Y / Tile; tileRow <= (move.Y + move.Height - 1) / Tile; tileRow++)
        {
            for (int column = move.X / Tile; column <= (move.X + move.Width - 1) / Tile; column++)
            {
                int tile = (tileRow * tilesX) + column;
                if (_cleanAfterCopy[tile])
                {
                    _sentVersions[tile] = version;
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_console.SyncRoot)
        {
            _disposed = true;
        }

        _console.RemoveViewer(this);
    }
}
