using Vessel.Machine.Devices;

namespace Vessel.Machine.Tests.Devices;

public sealed class Uart16550Tests : IDisposable
{
    // Register offsets and bits as a 16550 driver (Linux's 8250) knows them.
    private const ulong Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;
    private const byte IerRdi = 0x01, IerThri = 0x02, IerRlsi = 0x04, IerMsi = 0x08;
    private const byte IirNoInt = 0x01, IirThri = 0x02, IirRdi = 0x04, IirRlsi = 0x06, IirCti = 0x0c, IirFifo = 0xc0;
    private const byte LsrDr = 0x01, LsrOe = 0x02, LsrThre = 0x20, LsrTemt = 0x40;

    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingInterruptLine _irq = new();
    private readonly List<byte> _sent = [];
    private readonly Uart16550 _uart;

    public Uart16550Tests()
    {
        _uart = new Uart16550(_irq, _sent.Add, _time);
    }

    public void Dispose() => _uart.Dispose();

    [Fact]
    public void PowerOnRegistersAreThoseOfAnIdle16550()
    {
        Assert.Equal(LsrThre | LsrTemt, In(Lsr));
        Assert.Equal(IirNoInt, In(Iir));
        Assert.Equal(0x08, In(Mcr)); // OUT2
        Assert.Equal(0xb0, In(Msr)); // DCD, DSR, CTS: a modem that is always ready
        Assert.Equal(0, In(Ier));
        Assert.Equal(0, In(Lcr));
        Out(Lcr, 0x80);
        Assert.Equal(0x0c, In(Dll)); // 9600 baud
        Assert.Equal(0x00, In(Dlm));
        Assert.False(_irq.Level);
    }

    [Fact]
    public void DivisorLatchIsReachedOnlyWithDlab()
    {
        Out(Lcr, 0x83);
        Out(Dll, 0x02);
        Out(Dlm, 0x01);
        Assert.Equal(0x02, In(Dll));
        Assert.Equal(0x01, In(Dlm));
        Assert.Empty(_sent);

        Out(Lcr, 0x03);
        Assert.Equal(0x03, In(Lcr));
        Assert.Equal(0, In(Ier));
        Out(Thr, (byte)'A');
        Assert.Equal("A"u8.ToArray(), _sent);
        Out(Lcr, 0x83);
        Assert.Equal(0x02, In(Dll));
    }

    [Fact]
    public void TransmittedBytesLeaveInOrderAndTheTransmitterIsEmptyAgain()
    {
        Out(Fcr, 0x07);
        foreach (byte b in "hello\n"u8)
        {
            Assert.True((In(Lsr) & LsrThre) != 0);
            Out(Thr, b);
        }

        Assert.Equal("hello\n"u8.ToArray(), _sent);
        Assert.Equal(LsrThre | LsrTemt, In(Lsr) & (LsrThre | LsrTemt));
    }

    [Fact]
    public void ThreInterruptFollowsThe8250Semantics()
    {
        Out(Fcr, 0x01);
        Out(Lcr, 0x03);

        // Enabling THRI with THR empty raises the interrupt at once.
        Out(Ier, IerThri);
        Assert.True(_irq.Level);
        Assert.Equal(IirFifo | IirThri, In(Iir));

        // Reading IIR while it reports THRE acknowledges it.
        Assert.False(_irq.Level);
        Assert.Equal(IirFifo | IirNoInt, In(Iir));

        // Linux's start-up test: IER=0, then THRI again must re-raise it (no UART_BUG_THRE).
        Out(Ier, 0);
        Out(Ier, IerThri);
        byte iir = In(Iir);
        Assert.Equal(0, iir & IirNoInt);
        Assert.Equal(IirThri, iir & 0x0f);

        // A THR write acknowledges it, the byte leaves at once and THRE is signalled again.
        Assert.False(_irq.Level);
        Out(Thr, (byte)'x');
        Assert.True(_irq.Level);
        Assert.Equal(IirFifo | IirThri, In(Iir));
        Assert.False(_irq.Level);

        // Writing IER with THRI unchanged does not re-raise it; clearing THRI drops it.
        Out(Ier, IerThri);
        Assert.False(_irq.Level);
        Out(Thr, (byte)'y');
        Assert.True(_irq.Level);
        Out(Ier, 0);
        Assert.False(_irq.Level);
        Assert.Equal("xy"u8.ToArray(), _sent);
    }

    [Theory]
    [InlineData(0x01, 1)]
    [InlineData(0x41, 4)]
    [InlineData(0x81, 8)]
    [InlineData(0xc1, 14)]
    public void ReceivedDataInterruptWaitsForTheTriggerLevel(byte fcr, int level)
    {
        Out(Fcr, (byte)(fcr | 0x06));
        Out(Ier, IerRdi);

        Assert.Equal(level - 1, _uart.EnqueueInput(new byte[level - 1]));
        if (level > 1)
        {
            Assert.True((In(Lsr) & LsrDr) != 0);
            Assert.False(_irq.Level);
            Assert.Equal(IirFifo | IirNoInt, In(Iir));
        }

        _uart.EnqueueInput([0x42]);
        Assert.True(_irq.Level);
        Assert.Equal(IirFifo | IirRdi, In(Iir));

        // Reading below the trigger level drops the interrupt.
        In(Rbr);
        Assert.False(_irq.Level);
    }

    [Fact]
    public void FewerBytesThanTheTriggerLevelRaiseTheCharacterTimeout()
    {
        Out(Lcr, 0x03);
        Out(Fcr, 0x87); // FIFO on, trigger 8, both cleared
        Out(Ier, IerRdi);
        _uart.EnqueueInput("ab"u8);
        Assert.False(_irq.Level);

        // Four character times later (9600 baud: about 4 ms) the timeout fires.
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(_irq.Level);
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.True(_irq.Level);
        Assert.Equal(IirFifo | IirCti, In(Iir));

        // Reading a byte clears the timeout indication and re-arms it for the rest.
        Assert.Equal((byte)'a', In(Rbr));
        Assert.False(_irq.Level);
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.True(_irq.Level);
        Assert.Equal((byte)'b', In(Rbr));
        Assert.False(_irq.Level);
        Assert.Equal(0, In(Lsr) & LsrDr);

        // An empty FIFO does not time out.
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.False(_irq.Level);
    }

    [Fact]
    public void CharacterTimeoutFiresOnTheHostClock()
    {
        // The production path: the system clock and a real timer, at 115200 baud (a timeout
        // shorter than a timer tick).
        var line = new RecordingInterruptLine();
        using var uart = new Uart16550(line, _ => { });
        uart.Write(Lcr, 1, 0x83);
        uart.Write(Dll, 1, 2);
        uart.Write(Lcr, 1, 0x03);
        uart.Write(Fcr, 1, 0x87);
        uart.Write(Ier, 1, IerRdi);
        uart.EnqueueInput("k"u8);

        Assert.True(SpinWait.SpinUntil(() => line.Level, TimeSpan.FromSeconds(30)), "The character timeout never fired.");
        Assert.Equal(IirFifo | IirCti, (byte)uart.Read(Iir, 1));
        Assert.Equal((byte)'k', (byte)uart.Read(Rbr, 1));
        Assert.False(line.Level);
    }

    [Fact]
    public void TimeoutIsMaskedByIerRdiAsOnRealHardware()
    {
        Out(Fcr, 0x81);
        _uart.EnqueueInput("z"u8);
        _time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.False(_irq.Level);
        Out(Ier, IerRdi);
        Assert.True(_irq.Level);
        Assert.Equal(IirFifo | IirCti, In(Iir));
    }

    [Fact]
    public void HostInputFeedsTheFifoAsTheGuestDrainsIt()
    {
        Out(Fcr, 0x87);
        Out(Ier, IerRdi);
        byte[] input = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        Assert.Equal(100, _uart.EnqueueInput(input));

        // The FIFO is filled up to the trigger level; the rest waits on the host side.
        Assert.Equal(92, _uart.PendingHostInput);
        Assert.True(_irq.Level);

        var received = new List<byte>();
        while ((In(Lsr) & LsrDr) != 0)
        {
            received.Add(In(Rbr));
        }

        Assert.Equal(input, received);
        Assert.Equal(0, _uart.PendingHostInput);
        Assert.False(_irq.Level);
    }

    [Fact]
    public void AFullHostQueueRefusesInputAndSaysWhenThereIsRoomAgain()
    {
        Out(Fcr, 0x87);
        int notifications = 0;
        _uart.InputSpaceAvailable += () => notifications++;

        byte[] input = new byte[Uart16550.HostInputCapacity + 100];
        int accepted = _uart.EnqueueInput(input);
        Assert.Equal(Uart16550.HostInputCapacity + 8, accepted); // queue + FIFO up to the trigger level
        Assert.Equal(0, notifications);

        In(Rbr);
        Assert.Equal(1, notifications);
        Assert.Equal(1, _uart.EnqueueInput(input.AsSpan(accepted)));
        Assert.Equal(0, _uart.EnqueueInput(input.AsSpan(accepted + 1)));
    }

    [Fact]
    public async Task AConsoleThreadAndAGuestThreadMoveEveryByteInOrder()
    {
        Out(Fcr, 0x87);
        byte[] input = new byte[64 * 1024];
        new Random(1234).NextBytes(input);
        using var room = new SemaphoreSlim(0);
        _uart.InputSpaceAvailable += () => room.Release();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);

        var console = Task.Run(() =>
        {
            int sent = 0;
            while (sent < input.Length)
            {
                int accepted = _uart.EnqueueInput(input.AsSpan(sent, Math.Min(1000, input.Length - sent)));
                sent += accepted;
                if (accepted == 0 && !room.Wait(TimeSpan.FromMinutes(1)))
                {
                    throw new TimeoutException("The guest never made room.");
                }
            }
        });

        var received = new List<byte>(input.Length);
        while (received.Count < input.Length && DateTime.UtcNow < deadline)
        {
            if ((In(Lsr) & LsrDr) != 0)
            {
                received.Add(In(Rbr));
            }
            else
            {
                Thread.Yield();
            }
        }

        await console.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(input, received);
    }

    [Fact]
    public void WithoutFifoEachByteWaitsInRbr()
    {
        Out(Ier, IerRdi);
        _uart.EnqueueInput("ab"u8);
        Assert.True(_irq.Level);
        Assert.Equal(IirRdi, In(Iir)); // no FIFO bits in IIR
        Assert.Equal((byte)'a', In(Rbr));
        Assert.True(_irq.Level); // 'b' moved in as soon as RBR was free
        Assert.Equal((byte)'b', In(Rbr));
        Assert.False(_irq.Level);
        Assert.Equal(0, In(Lsr) & LsrDr);
    }

    [Fact]
    public void LoopbackWiresTheTransmitterAndModemLinesBackIn()
    {
        Out(Fcr, 0x07);
        // Linux's autoconfig loopback test: RTS and OUT2 must come back as CTS and DCD.
        Out(Mcr, 0x10 | 0x0a);
        Assert.Equal(0x90, In(Msr) & 0xf0);
        Out(Mcr, 0x1f);
        Assert.Equal(0xf0, In(Msr) & 0xf0);

        Out(Thr, 0x55);
        Out(Thr, 0xaa);
        Assert.Empty(_sent);
        Assert.Equal(0x55, In(Rbr));
        Assert.Equal(0xaa, In(Rbr));

        // Host input is held back while the line is looped.
        _uart.EnqueueInput("h"u8);
        Assert.Equal(0, In(Lsr) & LsrDr);
        Out(Mcr, 0x08);
        Assert.True((In(Lsr) & LsrDr) != 0);
        Assert.Equal((byte)'h', In(Rbr));
        Assert.Equal(0xb0, In(Msr));
    }

    [Fact]
    public void OverrunIsALineStatusInterruptClearedByReadingLsr()
    {
        Out(Fcr, 0x07);
        Out(Mcr, 0x10);
        Out(Ier, IerRlsi);
        for (int i = 0; i < 17; i++)
        {
            Out(Thr, (byte)i);
        }

        Assert.True(_irq.Level);
        Assert.Equal(IirFifo | IirRlsi, In(Iir));
        byte lsr = In(Lsr);
        Assert.Equal(LsrOe | LsrDr, lsr & (LsrOe | LsrDr));
        Assert.False(_irq.Level);
        Assert.Equal(0, In(Lsr) & LsrOe);

        // The FIFO kept the first 16 bytes; the 17th was lost.
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(i, In(Rbr));
        }

        Assert.Equal(0, In(Lsr) & LsrDr);
    }

    [Fact]
    public void FifoControlClearsAndReportsTheFifos()
    {
        Out(Fcr, 0x01);
        Assert.Equal(IirFifo, In(Iir) & IirFifo);
        _uart.EnqueueInput("q"u8);
        Assert.True((In(Lsr) & LsrDr) != 0);
        Out(Fcr, 0x03); // clear the receive FIFO
        Assert.Equal(0, In(Lsr) & LsrDr);
        Out(Fcr, 0x00);
        Assert.Equal(0, In(Iir) & IirFifo);
    }

    [Fact]
    public void ModemStatusAndScratchBehaveAsWithoutAModem()
    {
        Out(Ier, IerMsi);
        Assert.False(_irq.Level);
        Assert.Equal(0xb0, In(Msr));
        Out(Scr, 0x5a);
        Assert.Equal(0x5a, In(Scr));
        Assert.Equal(0UL, _uart.Read(0x10, 1));
    }

    [Fact]
    public void SavedStateRestoresRegistersFifoAndInterrupt()
    {
        Out(Lcr, 0x83);
        Out(Dll, 0x01);
        Out(Lcr, 0x1b);
        Out(Fcr, 0x41);
        Out(Scr, 0x77);
        Out(Ier, IerRdi | IerThri);
        In(Iir); // acknowledge THRE
        _uart.EnqueueInput("abcd"u8);
        Assert.True(_irq.Level);

        Uart16550State saved = _uart.SaveState();
        Assert.Equal("abcd"u8.ToArray(), saved.ReceiveFifo);

        var line = new RecordingInterruptLine();
        using var copy = new Uart16550(line, _ => { }, _time);
        copy.RestoreState(saved);
        Uart16550State again = copy.SaveState();
        Assert.Equal(saved with { ReceiveFifo = Array.Empty<byte>() }, again with { ReceiveFifo = Array.Empty<byte>() });
        Assert.Equal(saved.ReceiveFifo, again.ReceiveFifo);
        Assert.True(line.Level);

        Assert.Equal(0x1b, (byte)copy.Read(Lcr, 1));
        Assert.Equal(0x77, (byte)copy.Read(Scr, 1));
        Assert.Equal("abcd"u8.ToArray(), Enumerable.Range(0, 4).Select(_ => (byte)copy.Read(Rbr, 1)).ToArray());
        Assert.False(line.Level);
        copy.Write(Lcr, 1, 0x9b);
        Assert.Equal(0x01, (byte)copy.Read(Dll, 1));
    }

    [Fact]
    public void ResetReturnsToPowerOnState()
    {
        Out(Fcr, 0x07);
        Out(Ier, IerThri);
        _uart.EnqueueInput("x"u8);
        _uart.Reset();
        Assert.False(_irq.Level);
        Assert.Equal(LsrThre | LsrTemt, In(Lsr));
        Assert.Equal(IirNoInt, In(Iir));
    }

    private byte In(ulong register) => (byte)_uart.Read(register, 1);

    private void Out(ulong register, byte value) => _uart.Write(register, 1, value);
}
