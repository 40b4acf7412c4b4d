using System.Buffers.Binary;
using System.Text;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio;
using Vessel.Machine.Virtio.Input;
using Vessel.Machine.Virtio.Mmio;
using static Vessel.Machine.Virtio.Input.InputEventCodes;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio.Input;

/// <summary>virtio-input as Linux's driver sees it: the configuration it queries, the events it reads, the LEDs it sets.</summary>
public sealed class VirtioInputDeviceTests
{
    [Fact]
    public void TheKeyboardDescribesItselfAsQemusDoes()
    {
        using var h = new VirtioHarness(new VirtioKeyboardDevice());
        Assert.Equal(18u, h.Driver.Read(VirtioMmioRegister.DeviceId));
        Assert.Equal("QEMU Virtio Keyboard", Encoding.ASCII.GetString(Query(h, VirtioInputDevice.SelectIdName, 0)));
        Assert.Empty(Query(h, VirtioInputDevice.SelectIdSerial, 0));
        byte[] ids = Query(h, VirtioInputDevice.SelectIdDevids, 0);
        Assert.Equal(new ushort[] { 6, 0x0627, 1, 1 }, Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(i * 2))));

        // The key bits as /sys/class/input/*/capabilities/key shows them under QEMU 7.2.
        Assert.Equal("400000000 3078f800dfff febeffff7bcfffff fffffffffffffffe", SysfsBitmap(Query(h, VirtioInputDevice.SelectEventBits, EvKey)));
        Assert.Equal([0], Query(h, VirtioInputDevice.SelectEventBits, EvRep)); // present, so the guest repeats keys
        Assert.Equal([7], Query(h, VirtioInputDevice.SelectEventBits, EvLed));
        Assert.Empty(Query(h, VirtioInputDevice.SelectEventBits, EvAbs));
        Assert.Empty(Query(h, VirtioInputDevice.SelectPropBits, 0));
        Assert.Empty(Query(h, 0x77, 0));
        Assert.Contains((ushort)30, VirtioKeyboardDevice.SupportedKeys); // KEY_A
        Assert.Contains((ushort)86, VirtioKeyboardDevice.SupportedKeys); // KEY_102ND, the German <> key
    }

    [Fact]
    public void TheTabletDescribesItselfAsQemusDoes()
    {
        using var h = new VirtioHarness(new VirtioTabletDevice());
        Assert.Equal("QEMU Virtio Tablet", Encoding.ASCII.GetString(Query(h, VirtioInputDevice.SelectIdName, 0)));
        byte[] ids = Query(h, VirtioInputDevice.SelectIdDevids, 0);
        Assert.Equal(new ushort[] { 6, 0x0627, 3, 2 }, Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(i * 2))));
        Assert.Equal("30000 1f0000 0 0 0 0", SysfsBitmap(Query(h, VirtioInputDevice.SelectEventBits, EvKey)));
        Assert.Equal("100", SysfsBitmap(Query(h, VirtioInputDevice.SelectEventBits, EvRel)));
        Assert.Equal("3", SysfsBitmap(Query(h, VirtioInputDevice.SelectEventBits, EvAbs)));
        foreach (ushort axis in new[] { AbsX, AbsY })
        {
            byte[] info = Query(h, VirtioInputDevice.SelectAbsInfo, (byte)axis);
            Assert.Equal(20, info.Length);
            Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(info));
            Assert.Equal(0x7fff, BinaryPrimitives.ReadInt32LittleEndian(info.AsSpan(4)));
        }

        Assert.Empty(Query(h, VirtioInputDevice.SelectAbsInfo, 2));
        Assert.Equal(0, VirtioTabletDevice.ScaleToAxis(0, 1280));
        Assert.Equal(0x7fff, VirtioTabletDevice.ScaleToAxis(1279, 1280));
        Assert.Equal(0x7fff, VirtioTabletDevice.ScaleToAxis(5000, 1280));
        Assert.Equal(0, VirtioTabletDevice.ScaleToAxis(-3, 1280));
    }

    [Fact]
    public void KeysArriveAsEvdevEventsInTheGuestsBuffers()
    {
        var keyboard = new VirtioKeyboardDevice();
        using var h = new VirtioHarness(keyboard);
        VirtqueueDriver events = h.Start()[VirtioInputDevice.EventQueue];
        Assert.True(keyboard.SendKey(30, down: true));
        Assert.True(keyboard.SendKey(30, down: false));
        Assert.Equal(4, keyboard.PendingEvents); // no buffers yet: the events wait

        List<(ushort Type, ushort Code, int Value)> received = Post(h, events, 4);
        Assert.Equal([(EvKey, 30, 1), (EvSyn, SynReport, 0), (EvKey, 30, 0), (EvSyn, SynReport, 0)], received);
        Assert.Equal(0, keyboard.PendingEvents);
        Assert.False(keyboard.SendKey(KeyMax + 1, down: true));
    }

    [Fact]
    public void AGroupThatDoesNotFitIsDroppedWhole()
    {
        var tablet = new VirtioTabletDevice();
        using var h = new VirtioHarness(tablet);
        h.Start();
        InputEvent[] move = [new(EvAbs, AbsX, 1), new(EvAbs, AbsY, 2), InputEvent.Sync];
        int sent = 0;
        while (tablet.Send(move))
        {
            sent++;
        }

        Assert.Equal(VirtioInputDevice.PendingCapacity / 3, sent);
        Assert.Equal(sent * 3, tablet.PendingEvents);
        Assert.Equal(1, tablet.DroppedEvents);
    }

    [Fact]
    public void NothingIsQueuedBeforeTheDriverIsReady()
    {
        var keyboard = new VirtioKeyboardDevice();
        using var h = new VirtioHarness(keyboard);
        Assert.False(keyboard.SendKey(30, down: true));
        Assert.Equal(0, keyboard.PendingEvents);
    }

    [Fact]
    public void TheGuestSetsTheLedsOnTheStatusQueue()
    {
        var keyboard = new VirtioKeyboardDevice();
        using var h = new VirtioHarness(keyboard);
        VirtqueueDriver status = h.Start()[VirtioInputDevice.StatusQueue];
        SendStatus(h, status, EvLed, LedCapsLock, 1);
        Assert.Equal(2u, keyboard.Leds);
        SendStatus(h, status, EvLed, LedNumLock, 1);
        SendStatus(h, status, EvLed, LedCapsLock, 0);
        Assert.Equal(1u, keyboard.Leds);
        SendStatus(h, status, EvSyn, 99, 1); // anything else is taken and ignored
        Assert.Equal(1u, keyboard.Leds);

        // A status buffer shorter than an event is returned untouched.
        ulong shortBuffer = h.Allocator.Place([1, 2, 3]);
        status.Add(Buffer.Readable(shortBuffer, 3));
        h.Driver.Notify(VirtioInputDevice.StatusQueue);
        status.WaitUsed();
        Assert.False(keyboard.IsBroken);
    }

    [Fact]
    public void PendingEventsAndLedsSurviveASaveAndRestore()
    {
        var keyboard = new VirtioKeyboardDevice();
        using var h = new VirtioHarness(keyboard);
        VirtqueueDriver[] queues = h.Start();
        SendStatus(h, queues[VirtioInputDevice.StatusQueue], EvLed, LedScrollLock, 1);
        keyboard.SendKey(44, down: true);
        h.Transport.Pause();
        VirtioMmioState saved = SaveRestoreTests.RoundTrip(h.Transport.SaveState());
        var state = Assert.IsType<VirtioInputState>(saved.Device);
        Assert.Equal(2, state.PendingEvents.Length);
        Assert.Equal(4u, state.Leds);
        h.Transport.Device.Dispose();

        var restoredKeyboard = new VirtioKeyboardDevice();
        using var restored = new VirtioMmioTransport(restoredKeyboard, h.Memory, new TestInterruptLine());
        restored.RestoreState(saved);
        Assert.Equal(4u, restoredKeyboard.Leds);
        var driver = new MmioDriver(restored, h.Memory, h.Allocator);
        VirtqueueDriver events = queues[VirtioInputDevice.EventQueue];
        List<(ushort, ushort, int)> received = Post(h, events, 2, driver);
        Assert.Equal([(EvKey, (ushort)44, 1), (EvSyn, SynReport, 0)], received);
    }

    /// <summary>Writes select and subsel as Linux does and reads size bytes of the union.</summary>
    private static byte[] Query(VirtioHarness h, byte select, int subsel)
    {
        h.Transport.Write(VirtioMmioRegister.Config + 0, 1, select);
        h.Transport.Write(VirtioMmioRegister.Config + 1, 1, (ulong)subsel);
        int size = h.Driver.ReadConfig8(2);
        return Enumerable.Range(0, size).Select(i => h.Driver.ReadConfig8(8 + i)).ToArray();
    }

    /// <summary>A bitmap as the kernel prints it in sysfs: 64-bit words in hex, highest first, leading zero words left out.</summary>
    private static string SysfsBitmap(byte[] bitmap)
    {
        int words = Math.Max(1, (bitmap.Length + 7) / 8);
        var values = new ulong[words];
        for (int i = 0; i < bitmap.Length; i++)
        {
            values[i / 8] |= (ulong)bitmap[i] << (8 * (i % 8));
        }

        int top = words - 1;
        while (top > 0 && values[top] == 0)
        {
            top--;
        }

        return string.Join(' ', Enumerable.Range(0, top + 1).Reverse().Select(i => values[i].ToString("x")));
    }

    private static List<(ushort Type, ushort Code, int Value)> Post(VirtioHarness h, VirtqueueDriver events, int count, MmioDriver? driver = null)
    {
        var buffers = new List<ulong>();
        for (int i = 0; i < count; i++)
        {
            ulong buffer = h.Allocator.Allocate(InputEvent.Size);
            buffers.Add(buffer);
            events.Add(Buffer.Writable(buffer, InputEvent.Size));
        }

        (driver ?? h.Driver).Notify(VirtioInputDevice.EventQueue);
        var received = new List<(ushort, ushort, int)>();
        for (int i = 0; i < count; i++)
        {
            (ushort id, uint length) = events.WaitUsed("an input event");
            Assert.Equal((uint)InputEvent.Size, length);
            ulong at = buffers[i];
            received.Add((h.Memory.Read<ushort>(at), h.Memory.Read<ushort>(at + 2), h.Memory.Read<int>(at + 4)));
        }

        return received;
    }

    private static void SendStatus(VirtioHarness h, VirtqueueDriver status, ushort type, ushort code, int value)
    {
        byte[] e = new byte[InputEvent.Size];
        BinaryPrimitives.WriteUInt16LittleEndian(e, type);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(2), code);
        BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(4), value);
        status.Add(Buffer.Readable(h.Allocator.Place(e), e.Length));
        h.Driver.Notify(VirtioInputDevice.StatusQueue);
        status.WaitUsed("the status event back");
    }
}
