namespace Vessel.Machine.Display;

/// <summary>A rectangle of the screen that moved, as a viewer replays it (VNC's CopyRect): the pixels at (SourceX, SourceY) go to (X, Y).</summary>
public readonly record struct CopyOperation(int SourceX, int SourceY, int X, int Y, int Width, int Height);

/// <summary>
/// A hardware cursor image: <see cref="Width"/> × <see cref="Height"/> pixels, <c>0xAARRGGBB</c>
/// (alpha 0 is transparent), with its hot spot. Immutable; a new shape replaces the old one.
/// </summary>
public sealed class CursorShape(int width, int height, int hotX, int hotY, uint[] pixels)
{
    public int Width { get; } = width;

    public int Height { get; } = height;

    public int HotX { get; } = hotX;

    public int HotY { get; } = hotY;

    public ReadOnlyMemory<uint> Pixels { get; } = pixels;
}

/// <summary>
/// What one viewer has to send, collected by <see cref="DisplayViewer.Collect"/>: the screen's
/// size, the copies to replay first, the tiles whose pixels changed (their pixels are in
/// <see cref="Pixels"/>) and the cursor when it changed. A viewer keeps one and reuses it, so
/// collecting allocates nothing unless the screen's size changed.
/// </summary>
public sealed class DisplayUpdate
{
    public const int MaxCopies = 16;

    private readonly CopyOperation[] _copies = new CopyOperation[MaxCopies];

    public int Width { get; internal set; }

    public int Height { get; internal set; }

    /// <summary>The screen's size changed since the previous update (every tile is then dirty).</summary>
    public bool SizeChanged { get; internal set; }

    /// <summary>Screen-sized, row-major <c>0x00RRGGBB</c>; only the dirty tiles hold this update's pixels.</summary>
    public uint[] Pixels { get; internal set; } = [];

    public int TilesX { get; internal set; }

    public int TilesY { get; internal set; }

    /// <summary>One flag per <see cref="DisplayConsole.TileSize"/>-pixel tile, row-major.</summary>
    public bool[] DirtyTiles { get; internal set; } = [];

    public int DirtyTileCount { get; internal set; }

    public int CopyCount { get; internal set; }

    /// <summary>The copies to replay, in order, before the dirty tiles.</summary>
    public ReadOnlySpan<CopyOperation> Copies => _copies.AsSpan(0, CopyCount);

    public bool CursorChanged { get; internal set; }

    /// <summary>The cursor when <see cref="CursorChanged"/>; null when the guest hid it.</summary>
    public CursorShape? Cursor { get; internal set; }

    /// <summary>Whether there is anything to send.</summary>
    public bool IsEmpty => !SizeChanged && DirtyTileCount == 0 && CopyCount == 0 && !CursorChanged;

    internal CopyOperation[] CopyStorage => _copies;
}
