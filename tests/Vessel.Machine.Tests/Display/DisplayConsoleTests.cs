using System.Runtime.InteropServices;
using Vessel.Machine.Display;

namespace Vessel.Machine.Tests.Display;

/// <summary>What viewers of the console are told: only tiles that changed, moves for scrolls, sizes.</summary>
public sealed class DisplayConsoleTests
{
    private const int Tile = DisplayConsole.TileSize;

    [Fact]
    public void AViewerFirstGetsEverythingThenOnlyWhatChanged()
    {
        var console = new DisplayConsole();
        console.Resize(64, 48);
        using DisplayViewer viewer = console.AddViewer(() => { });
        var update = new DisplayUpdate();
        Assert.True(viewer.Collect(update));
        Assert.True(update.SizeChanged);
        Assert.Equal(4 * 3, update.DirtyTileCount);
        Assert.False(viewer.Collect(update));

        // The same picture again changes nothing; one pixel in tile (2, 1) changes one tile.
        uint[] picture = new uint[64 * 48];
        Show(console, picture, 64, 48);
        Assert.False(viewer.Collect(update));
        picture[(20 * 64) + 40] = 0x123456;
        Show(console, picture, 64, 48);
        Assert.True(viewer.Collect(update));
        Assert.False(update.SizeChanged);
        Assert.Equal(1, update.DirtyTileCount);
        Assert.True(update.DirtyTiles[(1 * 4) + 2]);
        Assert.Equal(0x123456u, update.Pixels[(20 * 64) + 40]);
    }

    [Fact]
    public void ViewersAreToldOfChangesAndEachCollectsOnItsOwn()
    {
        var console = new DisplayConsole();
        console.Resize(32, 32);
        int calls = 0;
        using DisplayViewer first = console.AddViewer(() => Interlocked.Increment(ref calls));
        using DisplayViewer second = console.AddViewer(() => { });
        var update = new DisplayUpdate();
        first.Collect(update);
        second.Collect(update);

        uint[] picture = new uint[32 * 32];
        picture[0] = 1;
        Show(console, picture, 32, 32);
        Assert.Equal(1, calls);
        Assert.True(first.HasPendingChanges);
        Assert.True(first.Collect(update));
        Assert.False(first.Collect(update));
        Assert.True(second.Collect(update)); // the second has not taken it yet
        Assert.Equal(1, update.DirtyTileCount);
    }

    [Fact]
    public void AScrollBecomesAMoveAndOnlyTheNewLineIsSent()
    {
        const int Width = 128, Height = 96;
        var console = new DisplayConsole();
        console.Resize(Width, Height);
        using DisplayViewer viewer = console.AddViewer(() => { });
        viewer.AcceptsCopies = true;
        uint[] picture = TextLines(Width, Height, first: 0);
        Show(console, picture, Width, Height);
        var update = new DisplayUpdate();
        viewer.Collect(update);

        // Every line moves up by one text line (16 rows) and a new line appears at the bottom.
        Show(console, TextLines(Width, Height, first: 1), Width, Height);
        Assert.True(viewer.Collect(update));
        CopyOperation move = Assert.Single(update.Copies.ToArray());
        Assert.Equal(new CopyOperation(0, Tile, 0, 0, Width, Height - Tile), move);
        Assert.Equal(Width / Tile, update.DirtyTileCount); // the bottom tile row only
        for (int column = 0; column < Width / Tile; column++)
        {
            Assert.True(update.DirtyTiles[(((Height / Tile) - 1) * (Width / Tile)) + column]);
        }

        Assert.Equal(TextLines(Width, Height, first: 1), console.Capture().Pixels);
        Assert.Equal(1, console.CopiesDetected);
    }

    [Fact]
    public void MovesPileUpUntilCollectedAndAViewerWithoutCopiesGetsPixels()
    {
        const int Width = 128, Height = 96;
        var console = new DisplayConsole();
        console.Resize(Width, Height);
        using DisplayViewer copying = console.AddViewer(() => { });
        using DisplayViewer plain = console.AddViewer(() => { });
        copying.AcceptsCopies = true;
        Show(console, TextLines(Width, Height, first: 0), Width, Height);
        var update = new DisplayUpdate();
        copying.Collect(update);
        plain.Collect(update);

        Show(console, TextLines(Width, Height, first: 1), Width, Height);
        Show(console, TextLines(Width, Height, first: 2), Width, Height);
        Assert.True(copying.Collect(update));
        Assert.Equal(2, update.CopyCount);

        // After the second move the line the first one brought in (not yet sent) sits one line
        // higher, so two tile rows are sent: it, and the newest line.
        Assert.Equal(2 * (Width / Tile), update.DirtyTileCount);
        Assert.True(plain.Collect(update));
        Assert.Equal(0, update.CopyCount);
        Assert.Equal((Width / Tile) * (Height / Tile), update.DirtyTileCount);
    }

    [Fact]
    public void ReplayingTheMovesAndTheTilesGivesTheConsolesPicture()
    {
        const int Width = 96, Height = 80;
        var console = new DisplayConsole();
        console.Resize(Width, Height);
        using DisplayViewer viewer = console.AddViewer(() => { });
        viewer.AcceptsCopies = true;
        var update = new DisplayUpdate();
        uint[] client = new uint[Width * Height];
        var random = new Random(4);
        for (int step = 0; step < 40; step++)
        {
            Show(console, TextLines(Width, Height, first: step / 2, salt: random.Next(3) == 0 ? step : 0), Width, Height);
            if (random.Next(2) == 0 && viewer.Collect(update))
            {
                Replay(update, client);
                Assert.Equal(console.Capture().Pixels, client);
            }
        }
    }

    [Fact]
    public void AResizeIsReportedAndEverythingIsSentAgain()
    {
        var console = new DisplayConsole();
        using DisplayViewer viewer = console.AddViewer(() => { });
        var update = new DisplayUpdate();
        viewer.Collect(update);
        Assert.Equal((DisplayConsole.InactiveWidth, DisplayConsole.InactiveHeight), (update.Width, update.Height));
        console.Resize(100, 50);
        Assert.True(viewer.Collect(update));
        Assert.True(update.SizeChanged);
        Assert.Equal((100, 50, 7, 4), (update.Width, update.Height, update.TilesX, update.TilesY));
        Assert.Equal(28, update.DirtyTileCount);
        Assert.True(console.IsActive);
        console.Deactivate();
        Assert.False(console.IsActive);
    }

    [Fact]
    public void InvalidatingARegionSendsItAgain()
    {
        var console = new DisplayConsole();
        console.Resize(64, 64);
        using DisplayViewer viewer = console.AddViewer(() => { });
        var update = new DisplayUpdate();
        viewer.Collect(update);
        viewer.Invalidate(10, 10, 10, 10);
        Assert.True(viewer.Collect(update));
        Assert.Equal(4, update.DirtyTileCount); // (10..19) spans tiles 0 and 1 both ways
        viewer.Invalidate(-5, -5, 1000, 1000);
        Assert.True(viewer.Collect(update));
        Assert.Equal(16, update.DirtyTileCount);
    }

    [Fact]
    public void UpdatesOutsideTheScreenAreRefused()
    {
        var console = new DisplayConsole();
        console.Resize(32, 32);
        byte[] source = new byte[32 * 32 * 4];
        Assert.Throws<ArgumentOutOfRangeException>(() => console.Update(1, 0, 32, 32, source, 32 * 4, SourcePixelFormat.Bgrx));
        Assert.Throws<ArgumentException>(() => console.Update(0, 0, 32, 32, source.AsSpan(0, 100), 32 * 4, SourcePixelFormat.Bgrx));
        Assert.False(console.RequestResolution(0, 10));
        Assert.False(console.RequestResolution(100, 100)); // nobody listens
    }

    /// <summary>Lines of "text": each 16-row line has its own pattern, so a scroll is recognisable.</summary>
    private static uint[] TextLines(int width, int height, int first, int salt = 0)
    {
        uint[] picture = new uint[width * height];
        for (int y = 0; y < height; y++)
        {
            int line = first + (y / Tile);
            for (int x = 0; x < width; x++)
            {
                bool ink = ((x * 7) + (y % Tile * 3) + (line * 11)) % 5 == 0;
                picture[(y * width) + x] = ink ? (uint)(0x10_0000 * (line % 7) + 0xaaaa + salt) : 0;
            }
        }

        return picture;
    }

    private static void Show(DisplayConsole console, uint[] picture, int width, int height) =>
        console.Update(0, 0, width, height, MemoryMarshal.AsBytes(picture.AsSpan()), width * 4, SourcePixelFormat.Bgrx);

    /// <summary>What a VNC client does with an update: the moves in order, then the tiles.</summary>
    private static void Replay(DisplayUpdate update, uint[] client)
    {
        foreach (CopyOperation move in update.Copies)
        {
            var rows = new uint[move.Height][];
            for (int i = 0; i < move.Height; i++)
            {
                rows[i] = client.AsSpan(((move.SourceY + i) * update.Width) + move.SourceX, move.Width).ToArray();
            }

            for (int i = 0; i < move.Height; i++)
            {
                rows[i].CopyTo(client.AsSpan(((move.Y + i) * update.Width) + move.X));
            }
        }

        for (int tile = 0; tile < update.DirtyTiles.Length; tile++)
        {
            if (!update.DirtyTiles[tile])
            {
                continue;
            }

            int left = tile % update.TilesX * Tile, top = tile / update.TilesX * Tile;
            for (int y = top; y < Math.Min(top + Tile, update.Height); y++)
            {
                int width = Math.Min(Tile, update.Width - left);
                update.Pixels.AsSpan((y * update.Width) + left, width).CopyTo(client.AsSpan((y * update.Width) + left));
            }
        }
    }
}
