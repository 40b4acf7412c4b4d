using System.Buffers.Binary;
using Vessel.Machine.Display;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Gpu;
using Vessel.Machine.Virtio.Mmio;
using static Vessel.Machine.Tests.Virtio.Gpu.GpuDriver;
using static Vessel.Machine.Virtio.Gpu.VirtioGpuProtocol;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio.Gpu;

/// <summary>Every virtio-gpu command, as a driver written from the specification uses it, and what the console shows.</summary>
[Collection(Vessel.Machine.Tests.Virtio.Support.AllocationMeasurements.Name)]
public sealed class VirtioGpuDeviceTests
{
    [Fact]
    public void ConfigurationDescribesOneScanoutWithoutThreeD()
    {
        using var gpu = new GpuDriver();
        Assert.Equal(16u, gpu.Harness.Driver.Read(VirtioMmioRegister.DeviceId));
        Assert.Equal(FeatureEdid | VirtioFeatures.CommonRingFeatures, gpu.Harness.Driver.ReadDeviceFeatures());
        Assert.Equal(0u, gpu.Harness.Driver.ReadConfig32(0)); // events_read
        Assert.Equal(1u, gpu.Harness.Driver.ReadConfig32(8)); // num_scanouts
        Assert.Equal(0u, gpu.Harness.Driver.ReadConfig32(12)); // num_capsets
        Assert.False(gpu.Console.IsActive);
        Assert.Equal((DisplayConsole.InactiveWidth, DisplayConsole.InactiveHeight), (gpu.Console.Width, gpu.Console.Height));
    }

    [Fact]
    public void DisplayInfoReportsThePreferredSize()
    {
        using var gpu = new GpuDriver(new VirtioGpuOptions { Width = 1024, Height = 768 });
        byte[] response = gpu.Send(Command(CmdGetDisplayInfo), DisplayInfoSize);
        Assert.Equal(DisplayInfoSize, response.Length);
        Assert.Equal(RespOkDisplayInfo, ResponseType(response));
        Span<byte> first = response.AsSpan(HeaderSize);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(first)); // x
        Assert.Equal(1024u, BinaryPrimitives.ReadUInt32LittleEndian(first[8..]));
        Assert.Equal(768u, BinaryPrimitives.ReadUInt32LittleEndian(first[12..]));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(first[16..])); // enabled
        Assert.All(response.AsSpan(HeaderSize + 24).ToArray(), b => Assert.Equal(0, b)); // scanouts 1..15 are off
    }

    [Fact]
    public void EdidDescribesTheDisplayAsItsPreferredMode()
    {
        using var gpu = new GpuDriver(new VirtioGpuOptions { Width = 1280, Height = 800 });
        byte[] response = gpu.Send(Command(CmdGetEdid, 0, 0), EdidResponseSize);
        Assert.Equal(RespOkEdid, ResponseType(response));
        Assert.Equal(128u, BinaryPrimitives.ReadUInt32LittleEndian(response.AsSpan(HeaderSize)));
        byte[] edid = response.AsSpan(HeaderSize + 8, 128).ToArray();
        Assert.Equal(new byte[] { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 }, edid[..8]);
        Assert.Equal(0, edid.Aggregate(0, (sum, b) => (sum + b) & 0xff)); // checksum
        Assert.Equal(1280, edid[56] | ((edid[58] >> 4) << 8)); // first detailed timing: active pixels
        Assert.Equal(800, edid[59] | ((edid[61] >> 4) << 8));

        Assert.Equal(RespErrInvalidParameter, gpu.Run(Command(CmdGetEdid, 1, 0)));
    }

    [Fact]
    public void EdidNeedsItsFeature()
    {
        using var gpu = new GpuDriver(features: VirtioFeatures.CommonRingFeatures);
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdGetEdid, 0, 0)));
    }

    [Fact]
    public void TransferredAndFlushedPixelsReachTheConsole()
    {
        using var gpu = new GpuDriver();
        ulong backing = gpu.SetUpScreen(64, 32);
        Assert.True(gpu.Console.IsActive);
        Assert.Equal((64, 32), (gpu.Console.Width, gpu.Console.Height));

        // B, G, R, X bytes: pixel i is red = i, green = 2i, blue = 3i.
        Span<byte> pixels = gpu.Harness.Memory.GetWriteSpan(backing, 64 * 32 * 4);
        for (int i = 0; i < 64 * 32; i++)
        {
            pixels[(i * 4) + 0] = (byte)(3 * i);
            pixels[(i * 4) + 1] = (byte)(2 * i);
            pixels[(i * 4) + 2] = (byte)i;
            pixels[(i * 4) + 3] = 0xff; // ignored
        }

        Assert.Equal(RespOkNoData, gpu.Transfer(1, 0, 0, 64, 32));
        Assert.Equal(0u, gpu.Console.Capture().Pixels[5]); // transferred, not yet flushed
        Assert.Equal(RespOkNoData, gpu.Flush(1, 0, 0, 64, 32));
        uint[] screen = gpu.Console.Capture().Pixels;
        for (int i = 0; i < screen.Length; i++)
        {
            Assert.Equal((uint)(((i & 0xff) << 16) | (((2 * i) & 0xff) << 8) | ((3 * i) & 0xff)), screen[i]);
        }
    }

    [Fact]
    public void OnlyTheFlushedRectangleIsShown()
    {
        using var gpu = new GpuDriver();
        ulong backing = gpu.SetUpScreen(64, 64);
        gpu.Harness.Memory.GetWriteSpan(backing, 64 * 64 * 4).Fill(0x40);
        Assert.Equal(RespOkNoData, gpu.Transfer(1, 0, 0, 64, 64));
        Assert.Equal(RespOkNoData, gpu.Flush(1, 16, 8, 10, 5));
        uint[] screen = gpu.Console.Capture().Pixels;
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                bool inside = x is >= 16 and < 26 && y is >= 8 and < 13;
                Assert.Equal(inside ? 0x404040u : 0u, screen[(y * 64) + x]);
            }
        }
    }

    [Fact]
    public void APartialTransferCopiesItsRowsFromTheOffset()
    {
        using var gpu = new GpuDriver();
        ulong backing = gpu.SetUpScreen(32, 32);
        Span<byte> memory = gpu.Harness.Memory.GetWriteSpan(backing, 32 * 32 * 4);
        for (int i = 0; i < 32 * 32; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(memory[(i * 4)..], (uint)i);
        }

        // The rectangle (4, 2) 3x2: Linux passes the offset of its first pixel in the backing.
        ulong offset = (ulong)(((2 * 32) + 4) * 4);
        Assert.Equal(RespOkNoData, gpu.Transfer(1, 4, 2, 3, 2, offset));
        Assert.Equal(RespOkNoData, gpu.Flush(1, 0, 0, 32, 32));
        uint[] screen = gpu.Console.Capture().Pixels;
        for (int y = 0; y < 32; y++)
        {
            for (int x = 0; x < 32; x++)
            {
                bool inside = x is >= 4 and < 7 && y is >= 2 and < 4;
                Assert.Equal(inside ? (uint)((y * 32) + x) : 0u, screen[(y * 32) + x]);
            }
        }
    }

    [Theory]
    [InlineData(FormatB8G8R8X8, new byte[] { 0x30, 0x20, 0x10, 0x99 })]
    [InlineData(FormatB8G8R8A8, new byte[] { 0x30, 0x20, 0x10, 0x99 })]
    [InlineData(FormatX8R8G8B8, new byte[] { 0x99, 0x10, 0x20, 0x30 })]
    [InlineData(FormatA8R8G8B8, new byte[] { 0x99, 0x10, 0x20, 0x30 })]
    [InlineData(FormatR8G8B8X8, new byte[] { 0x10, 0x20, 0x30, 0x99 })]
    [InlineData(FormatR8G8B8A8, new byte[] { 0x10, 0x20, 0x30, 0x99 })]
    [InlineData(FormatX8B8G8R8, new byte[] { 0x99, 0x30, 0x20, 0x10 })]
    [InlineData(FormatA8B8G8R8, new byte[] { 0x99, 0x30, 0x20, 0x10 })]
    public void EveryFormatShowsTheSameColour(uint format, byte[] pixel)
    {
        using var gpu = new GpuDriver();
        Assert.Equal(RespOkNoData, gpu.CreateResource(1, 16, 16, format));
        ulong backing = gpu.AttachBacking(1, 16 * 16 * 4);
        for (int i = 0; i < 256; i++)
        {
            gpu.Harness.Memory.WriteBytes(backing + (ulong)(i * 4), pixel);
        }

        Assert.Equal(RespOkNoData, gpu.SetScanout(0, 1, 0, 0, 16, 16));
        Assert.Equal(RespOkNoData, gpu.Transfer(1, 0, 0, 16, 16));
        Assert.Equal(RespOkNoData, gpu.Flush(1, 0, 0, 16, 16));
        Assert.All(gpu.Console.Capture().Pixels, p => Assert.Equal(0x102030u, p));
    }

    [Fact]
    public void AScanoutShowsAPartOfALargerResource()
    {
        using var gpu = new GpuDriver();
        Assert.Equal(RespOkNoData, gpu.CreateResource(1, 64, 64));
        ulong backing = gpu.AttachBacking(1, 64 * 64 * 4);
        Span<byte> memory = gpu.Harness.Memory.GetWriteSpan(backing, 64 * 64 * 4);
        for (int i = 0; i < 64 * 64; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(memory[(i * 4)..], (uint)i);
        }

        Assert.Equal(RespOkNoData, gpu.Transfer(1, 0, 0, 64, 64));
        Assert.Equal(RespOkNoData, gpu.SetScanout(0, 1, 8, 16, 32, 20));
        (int width, int height, uint[] screen) = gpu.Console.Capture();
        Assert.Equal((32, 20), (width, height));
        Assert.Equal((uint)((16 * 64) + 8), screen[0]); // shown at once, as QEMU switches its surface
        Assert.Equal((uint)((35 * 64) + 39), screen[(19 * 32) + 31]);
    }

    [Fact]
    public void ResourceErrorsAreAnsweredAsQemuAnswersThem()
    {
        using var gpu = new GpuDriver(new VirtioGpuOptions { MaxHostMemory = 8 << 20 });
        Assert.Equal(RespErrInvalidResourceId, gpu.CreateResource(0, 16, 16));
        Assert.Equal(RespOkNoData, gpu.CreateResource(1, 16, 16));
        Assert.Equal(RespErrInvalidResourceId, gpu.CreateResource(1, 16, 16));
        Assert.Equal(RespErrInvalidParameter, gpu.CreateResource(2, 16, 16, format: 99));
        Assert.Equal(RespErrInvalidParameter, gpu.CreateResource(2, 0, 16));

        // Larger than the memory budget, or than any memory: refused before anything is allocated.
        Assert.Equal(RespErrOutOfMemory, gpu.CreateResource(2, 2048, 2048));
        Assert.Equal(RespErrOutOfMemory, gpu.Run(Command(CmdResourceCreate2D, 2, FormatB8G8R8X8, uint.MaxValue, uint.MaxValue)));
        Assert.Equal(RespOkNoData, gpu.CreateResource(2, 1024, 1024));
        Assert.Equal(RespErrOutOfMemory, gpu.CreateResource(3, 1024, 1024)); // 2 x 4 MiB > 8 MiB
        Assert.Equal(RespOkNoData, gpu.Run(Command(CmdResourceUnref, 2, 0)));
        Assert.Equal(RespOkNoData, gpu.CreateResource(3, 1024, 1024)); // the budget came back

        Assert.Equal(RespErrInvalidResourceId, gpu.Run(Command(CmdResourceUnref, 77, 0)));
        Assert.Equal(RespErrInvalidResourceId, gpu.Run(Command(CmdResourceDetachBacking, 1, 0))); // no backing yet
        Assert.Equal(RespErrInvalidResourceId, gpu.Transfer(1, 0, 0, 16, 16)); // no backing
        Assert.Equal(RespErrInvalidResourceId, gpu.Transfer(9, 0, 0, 16, 16));
        Assert.Equal(RespErrInvalidResourceId, gpu.Flush(9, 0, 0, 16, 16));
    }

    [Fact]
    public void BackingOutsideGuestMemoryIsRefused()
    {
        using var gpu = new GpuDriver();
        Assert.Equal(RespOkNoData, gpu.CreateResource(1, 16, 16));
        ulong end = gpu.Harness.Memory.End;
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceAttachBacking, 1, 1, 0x1000, 0, 1024, 0))); // below RAM
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceAttachBacking, 1, 1, (uint)(end - 16), (uint)(end >> 32), 1024, 0))); // across its end
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceAttachBacking, 1, 1, 0xffff_fff0, 0xffff_ffff, 1024, 0))); // wrapping
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceAttachBacking, 1, 2, 0, 0, 0, 0))); // two entries promised, none there
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceAttachBacking, 1, MaxBackingEntries + 1)));
        Assert.Equal(RespErrInvalidResourceId, gpu.Run(Command(CmdResourceAttachBacking, 5, 0)));
        gpu.AttachBacking(1, 1024);
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceAttachBacking, 1, 0))); // already has backing
        Assert.Equal(RespOkNoData, gpu.Run(Command(CmdResourceDetachBacking, 1, 0)));
        Assert.Equal(RespErrInvalidResourceId, gpu.Transfer(1, 0, 0, 16, 16));
    }

    [Fact]
    public void RectanglesAndScanoutsOutOfRangeAreRefused()
    {
        using var gpu = new GpuDriver();
        Assert.Equal(RespOkNoData, gpu.CreateResource(1, 64, 64));
        gpu.AttachBacking(1, 64 * 64 * 4);
        Assert.Equal(RespErrInvalidScanoutId, gpu.SetScanout(1, 1, 0, 0, 64, 64));
        Assert.Equal(RespErrInvalidScanoutId, gpu.SetScanout(uint.MaxValue, 1, 0, 0, 64, 64));
        Assert.Equal(RespErrInvalidResourceId, gpu.SetScanout(0, 9, 0, 0, 64, 64));
        Assert.Equal(RespErrInvalidParameter, gpu.SetScanout(0, 1, 1, 0, 64, 64));
        Assert.Equal(RespErrInvalidParameter, gpu.SetScanout(0, 1, 0, 0, 8, 8)); // smaller than 16x16
        Assert.Equal(RespErrInvalidParameter, gpu.Transfer(1, 60, 0, 8, 8));
        Assert.Equal(RespErrInvalidParameter, gpu.Transfer(1, -1, -1, 8, 8)); // 0xffffffff: no wrap-around
        Assert.Equal(RespErrInvalidParameter, gpu.Flush(1, 0, 63, 1, 2));
        Assert.Equal(RespErrInvalidParameter, gpu.Flush(1, 1, 0, -1, 1));
        Assert.False(gpu.Console.IsActive);

        // A transfer whose offset runs past the backing copies what there is and goes on.
        Assert.Equal(RespOkNoData, gpu.Transfer(1, 0, 0, 8, 8, offset: ulong.MaxValue - 8));
    }

    [Fact]
    public void ShortUnknownAndThreeDCommandsGetAnError()
    {
        using var gpu = new GpuDriver();
        Assert.Equal(RespErrUnspecified, ResponseType(gpu.Send(new byte[10]))); // shorter than a header
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceCreate2D, 1, FormatB8G8R8X8))); // fields missing
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdSetScanout, 0, 0)));
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(0x0200, 1, 0))); // CTX_CREATE: no 3D
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdGetCapsetInfo, 0, 0)));
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(CmdResourceCreateBlob, 1, 1, 1, 0, 0, 0, 0, 0)));
        Assert.Equal(RespErrUnspecified, gpu.Run(Command(0xdead_beef)));

        // A response buffer too small takes what fits; the device goes on serving.
        byte[] cut = gpu.Send(Command(CmdGetDisplayInfo), responseSize: 10);
        Assert.Equal(10, cut.Length);
        Assert.Equal(RespOkNoData, gpu.CreateResource(1, 16, 16));
        Assert.False(gpu.Device.IsBroken);
    }

    [Fact]
    public void FencesAreEchoed()
    {
        using var gpu = new GpuDriver();
        byte[] response = gpu.Send(CommandWithFence(CmdResourceCreate2D, FlagFence, 0x1122_3344_5566, 1, FormatB8G8R8X8, 16, 16));
        Assert.Equal(RespOkNoData, ResponseType(response));
        Assert.Equal(FlagFence, BinaryPrimitives.ReadUInt32LittleEndian(response.AsSpan(4)));
        Assert.Equal(0x1122_3344_5566UL, BinaryPrimitives.ReadUInt64LittleEndian(response.AsSpan(8)));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(response.AsSpan(16)));

        byte[] plain = gpu.Send(Command(CmdResourceUnref, 1, 0));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(plain.AsSpan(4)));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(plain.AsSpan(8)));
    }

    [Fact]
    public void UnreferencingOrClearingTheScanoutTurnsTheDisplayOff()
    {
        using var gpu = new GpuDriver();
        gpu.SetUpScreen(32, 32);
        Assert.True(gpu.Console.IsActive);
        Assert.Equal(RespOkNoData, gpu.SetScanout(0, 0, 0, 0, 0, 0));
        Assert.False(gpu.Console.IsActive);
        Assert.Equal(RespOkNoData, gpu.SetScanout(0, 1, 0, 0, 32, 32));
        Assert.True(gpu.Console.IsActive);
        Assert.Equal(RespOkNoData, gpu.Run(Command(CmdResourceUnref, 1, 0)));
        Assert.False(gpu.Console.IsActive);
        Assert.Equal(0, gpu.Device.HostMemoryUsed);
    }

    [Fact]
    public void TheCursorComesFromA64x64Resource()
    {
        using var gpu = new GpuDriver();
        Assert.Equal(RespOkNoData, gpu.CreateResource(5, 64, 64, FormatB8G8R8A8));
        ulong backing = gpu.AttachBacking(5, 64 * 64 * 4);
        gpu.Harness.Memory.WriteBytes(backing, [0x30, 0x20, 0x10, 0x80]); // pixel 0: half-transparent 0x102030
        Assert.Equal(RespOkNoData, gpu.Transfer(5, 0, 0, 64, 64));

        DisplayViewer viewer = gpu.Console.AddViewer(() => { });
        viewer.AcceptsCursor = true;
        var update = new DisplayUpdate();
        viewer.Collect(update);

        gpu.SendCursor(CmdUpdateCursor, 0, 100, 50, 5, 3, 4);
        Assert.True(viewer.Collect(update));
        Assert.True(update.CursorChanged);
        CursorShape cursor = Assert.IsType<CursorShape>(update.Cursor);
        Assert.Equal((64, 64, 3, 4), (cursor.Width, cursor.Height, cursor.HotX, cursor.HotY));
        Assert.Equal(0x8010_2030u, cursor.Pixels.Span[0]);

        gpu.SendCursor(CmdMoveCursor, 0, 10, 10, 0, 0, 0); // a move changes no image
        Assert.False(viewer.Collect(update));

        gpu.SendCursor(CmdUpdateCursor, 0, 0, 0, 0, 0, 0);
        Assert.True(viewer.Collect(update));
        Assert.Null(update.Cursor);

        gpu.SendCursor(CmdUpdateCursor, 7, 0, 0, 5, 0, 0); // no such scanout: ignored
        Assert.False(viewer.Collect(update));
    }

    [Fact]
    public void AnotherResolutionIsOfferedWithADisplayEvent()
    {
        using var gpu = new GpuDriver();
        gpu.Harness.Driver.AcknowledgeInterrupts();
        Assert.True(gpu.Console.RequestResolution(1024, 768));
        Assert.Equal(EventDisplay, gpu.Harness.Driver.ReadConfig32(0));
        Assert.Equal(2u, gpu.Harness.Driver.InterruptStatus & 2); // configuration change
        byte[] info = gpu.Send(Command(CmdGetDisplayInfo), DisplayInfoSize);
        Assert.Equal(1024u, BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(HeaderSize + 8)));
        Assert.Equal(768u, BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(HeaderSize + 12)));
        byte[] edid = gpu.Send(Command(CmdGetEdid, 0, 0), EdidResponseSize);
        Assert.Equal(1024, edid[HeaderSize + 8 + 56] | ((edid[HeaderSize + 8 + 58] >> 4) << 8));

        gpu.Harness.Driver.WriteConfig32(4, EventDisplay); // events_clear
        Assert.Equal(0u, gpu.Harness.Driver.ReadConfig32(0));
        Assert.Equal(0u, gpu.Harness.Driver.ReadConfig32(4));
    }

    [Fact]
    public void ResetForgetsResources()
    {
        using var gpu = new GpuDriver();
        gpu.SetUpScreen(32, 32);
        gpu.Harness.Driver.Write(VirtioMmioRegister.Status, 0);
        Assert.False(gpu.Console.IsActive);
        Assert.Equal(0, gpu.Device.HostMemoryUsed);
    }

    [Fact]
    public void AStateCarriesResourcesPixelsAndTheScanout()
    {
        using var gpu = new GpuDriver();
        ulong backing = gpu.SetUpScreen(32, 32);
        gpu.Harness.Memory.GetWriteSpan(backing, 32 * 32 * 4).Fill(0x55);
        Assert.Equal(RespOkNoData, gpu.Transfer(1, 0, 0, 32, 32));
        Assert.Equal(RespOkNoData, gpu.Flush(1, 0, 0, 32, 32));
        gpu.Console.RequestResolution(800, 600);
        gpu.Harness.Transport.Pause();
        VirtioMmioState saved = SaveRestoreTests.RoundTrip(gpu.Harness.Transport.SaveState());
        var state = Assert.IsType<VirtioGpuState>(saved.Device);
        Assert.Equal(800, state.RequestedWidth);
        Assert.Single(state.Resources);

        var console = new DisplayConsole();
        using var device = new VirtioGpuDevice(console);
        using var transport = new VirtioMmioTransport(device, gpu.Harness.Memory, new Support.TestInterruptLine());
        transport.RestoreState(saved);
        Assert.True(console.IsActive);
        Assert.All(console.Capture().Pixels, p => Assert.Equal(0x555555u, p));
        Assert.Equal((800, 600), device.PreferredSize);

        // It goes on from there: the backing is still attached.
        gpu.Harness.Memory.GetWriteSpan(backing, 32 * 32 * 4).Fill(0x11);
        var driver = new Support.MmioDriver(transport, gpu.Harness.Memory, gpu.Harness.Allocator);
        ulong request = gpu.Harness.Allocator.Place(Command(CmdTransferToHost2D, 0, 0, 32, 32, 0, 0, 1, 0));
        ulong response = gpu.Harness.Allocator.Allocate(HeaderSize);
        gpu.Control.Add(Buffer.Readable(request, TransferToHost2DSize), Buffer.Writable(response, HeaderSize));
        driver.Notify(VirtioGpuDevice.ControlQueue);
        gpu.Control.WaitUsed();
        Assert.Equal(RespOkNoData, gpu.Harness.Memory.Read<uint>(response));
    }

    [Fact]
    public void TransfersAndFlushesAllocateNothing()
    {
        using var gpu = new GpuDriver(new VirtioGpuOptions { Width = 256, Height = 128 });
        ulong backing = gpu.SetUpScreen(256, 128);
        gpu.Device.ProcessQueuesInline = true; // measured on this thread
        byte[] transfer = Command(CmdTransferToHost2D, 0, 0, 256, 128, 0, 0, 1, 0);
        byte[] flush = Command(CmdResourceFlush, 0, 0, 256, 128, 1, 0);
        ulong transferAt = gpu.Harness.Allocator.Place(transfer), flushAt = gpu.Harness.Allocator.Place(flush);
        ulong response = gpu.Harness.Allocator.Allocate(HeaderSize);
        long quietest = AllocationRounds.Quietest(round =>
        {
            long allocated = 0;
            for (int i = 0; i < 50; i++)
            {
                gpu.Harness.Memory.Write(backing + (ulong)(i * 260), (uint)(i + (round * 100) + 1)); // something new to show
                gpu.Control.Add(Buffer.Readable(transferAt, transfer.Length), Buffer.Writable(response, HeaderSize));
                gpu.Control.Add(Buffer.Readable(flushAt, flush.Length), Buffer.Writable(response, HeaderSize));
                allocated += AllocationRounds.Measure(() => gpu.Harness.Driver.Notify(VirtioGpuDevice.ControlQueue));
                Assert.True(gpu.Control.TryTakeUsed(out _, out _));
                Assert.True(gpu.Control.TryTakeUsed(out _, out _));
            }

            return allocated;
        });

        Assert.Equal(0, quietest);
    }
}
