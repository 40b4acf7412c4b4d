using Vessel.Machine.Devices;

namespace Vessel.Machine.Tests.Devices;

public sealed class PlicTests
{
    private readonly RecordingHartPins[] _harts = RecordingHartPins.Create(2);
    private readonly Plic _plic;

    public PlicTests()
    {
        _plic = new Plic(_harts);
    }

    // Contexts on virt: 2h = hart h M-mode, 2h+1 = hart h S-mode.
    private static ulong Priority(int source) => (ulong)(4 * source);

    private static ulong Pending(int word) => 0x1000 + (ulong)(4 * word);

    private static ulong Enable(int context, int word) => 0x2000 + (ulong)(0x80 * context) + (ulong)(4 * word);

    private static ulong Threshold(int context) => 0x20_0000 + (ulong)(0x1000 * context);

    private static ulong ClaimComplete(int context) => Threshold(context) + 4;

    [Fact]
    public void AnEnabledSourceAboveThresholdRaisesOnlyItsContextsPin()
    {
        _plic.GetLine(10).Set(true);
        Assert.Equal(0u, _harts[0].Mip); // priority 0 never interrupts

        Write(Priority(10), 1);
        Assert.Equal(0u, _harts[0].Mip); // not enabled anywhere yet

        Write(Enable(1, 0), 1u << 10);
        Assert.True(_harts[0].Seip);
        Assert.False(_harts[0].Meip);
        Assert.Equal(0u, _harts[1].Mip);
        Assert.Equal(1u << 10, Read(Pending(0)));
    }

    [Fact]
    public void ClaimTakesTheSourceAndCompleteRearmsALineThatIsStillHigh()
    {
        Write(Priority(10), 1);
        Write(Enable(1, 0), 1u << 10);
        _plic.GetLine(10).Set(true);

        Assert.Equal(10u, Read(ClaimComplete(1)));
        Assert.False(_harts[0].Seip);
        Assert.Equal(0u, Read(Pending(0)));
        Assert.Equal(0u, Read(ClaimComplete(1))); // nothing else to claim

        // The device still holds its line high: completion makes it pending again.
        Write(ClaimComplete(1), 10);
        Assert.True(_harts[0].Seip);
        Assert.Equal(10u, Read(ClaimComplete(1)));

        // Lowered while in service: completion leaves nothing pending.
        _plic.GetLine(10).Set(false);
        Write(ClaimComplete(1), 10);
        Assert.False(_harts[0].Seip);
        Assert.Equal(0u, Read(Pending(0)));
    }

    [Fact]
    public void ALineThatDropsBeforeTheClaimIsNoLongerPending()
    {
        Write(Priority(3), 1);
        Write(Enable(0, 0), 1u << 3);
        _plic.GetLine(3).Set(true);
        Assert.True(_harts[0].Meip);
        _plic.GetLine(3).Set(false);
        Assert.False(_harts[0].Meip);
        Assert.Equal(0u, Read(ClaimComplete(0)));
    }

    [Fact]
    public void ClaimsComeInPriorityOrderWithTiesToTheLowestId()
    {
        Write(Priority(3), 2);
        Write(Priority(7), 5);
        Write(Priority(5), 5);
        Write(Priority(40), 6);
        Write(Enable(1, 0), (1u << 3) | (1u << 5) | (1u << 7));
        Write(Enable(1, 1), 1u << (40 - 32));
        foreach (int source in new[] { 3, 5, 7, 40 })
        {
            _plic.GetLine(source).Set(true);
        }

        Assert.Equal(40u, Read(ClaimComplete(1)));
        Assert.Equal(5u, Read(ClaimComplete(1)));
        Assert.Equal(7u, Read(ClaimComplete(1)));
        Assert.Equal(3u, Read(ClaimComplete(1)));
        Assert.Equal(0u, Read(ClaimComplete(1)));
        Assert.False(_harts[0].Seip);
    }

    [Fact]
    public void ThresholdMasksPrioritiesAtOrBelowIt()
    {
        Write(Priority(9), 3);
        Write(Enable(0, 0), 1u << 9);
        Write(Threshold(0), 3);
        _plic.GetLine(9).Set(true);
        Assert.False(_harts[0].Meip);
        Assert.Equal(0u, Read(ClaimComplete(0)));

        Write(Threshold(0), 2);
        Assert.Equal(2u, Read(Threshold(0)));
        Assert.True(_harts[0].Meip);
        Assert.Equal(9u, Read(ClaimComplete(0)));
    }

    [Fact]
    public void EachContextHasItsOwnEnablesAndASourceIsServedByOneContextAtATime()
    {
        Write(Priority(1), 1);
        Write(Enable(2, 0), 1u << 1); // hart 1, M-mode
        Write(Enable(3, 0), 1u << 1); // hart 1, S-mode
        _plic.GetLine(1).Set(true);
        Assert.Equal(0u, _harts[0].Mip);
        Assert.True(_harts[1].Meip);
        Assert.True(_harts[1].Seip);

        Assert.Equal(1u, Read(ClaimComplete(3)));
        Assert.False(_harts[1].Meip); // in service: not offered to the other context
        Assert.Equal(0u, Read(ClaimComplete(2)));

        Write(ClaimComplete(3), 1);
        Assert.True(_harts[1].Meip);
        Assert.True(_harts[1].Seip);
    }

    [Fact]
    public void RegistersKeepOnlyTheirImplementedBits()
    {
        Write(Priority(4), 0xff);
        Assert.Equal(7u, Read(Priority(4))); // 3 priority bits
        Write(Threshold(1), 0x1f);
        Assert.Equal(7u, Read(Threshold(1)));

        Write(Priority(0), 5); // source 0 does not exist
        Assert.Equal(0u, Read(Priority(0)));
        Write(Enable(0, 0), uint.MaxValue);
        Assert.Equal(uint.MaxValue - 1, Read(Enable(0, 0)));

        // Ids 1..96: the last word has one valid bit (id 96).
        Write(Enable(0, 3), uint.MaxValue);
        Assert.Equal(1u, Read(Enable(0, 3)));
        Assert.Equal(0u, Read(Enable(0, 4)));

        Write(Pending(0), uint.MaxValue); // read-only
        Assert.Equal(0u, Read(Pending(0)));

        Assert.Equal(0u, Read(Threshold(4))); // no such context with two harts
        Assert.Equal(0u, Read(0x1f_fff0));
    }

    [Fact]
    public void SixtyFourBitAccessesCoverTwoRegisters()
    {
        _plic.Write(Enable(1, 0), 8, 0x0000_0001_0000_0004UL);
        Assert.Equal(4u, Read(Enable(1, 0)));
        Assert.Equal(1u, Read(Enable(1, 1)));
        Assert.Equal(0x0000_0001_0000_0004UL, _plic.Read(Enable(1, 0), 8));
    }

    [Fact]
    public void SavedStateRestoresRegistersAndPins()
    {
        Write(Priority(10), 4);
        Write(Priority(11), 2);
        Write(Enable(1, 0), (1u << 10) | (1u << 11));
        Write(Threshold(1), 1);
        _plic.GetLine(10).Set(true);
        _plic.GetLine(11).Set(true);
        Assert.Equal(10u, Read(ClaimComplete(1)));

        PlicState saved = _plic.SaveState();
        RecordingHartPins[] pins = RecordingHartPins.Create(2);
        var copy = new Plic(pins);
        copy.RestoreState(saved);

        Assert.True(pins[0].Seip); // source 11 is still pending
        Assert.Equal(saved.Priorities, copy.SaveState().Priorities);
        Assert.Equal(saved.Enables, copy.SaveState().Enables);
        Assert.Equal(11u, (uint)copy.Read(ClaimComplete(1), 4));
        copy.Write(ClaimComplete(1), 4, 10); // source 10 was claimed before the save
        Assert.Equal(10u, (uint)copy.Read(ClaimComplete(1), 4));
    }

    [Fact]
    public void StateOfADifferentShapeIsRefused()
    {
        var bigger = new Plic(RecordingHartPins.Create(3));
        Assert.Throws<ArgumentException>(() => _plic.RestoreState(bigger.SaveState()));
    }

    [Fact]
    public void LinesAreNumberedFromOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _plic.GetLine(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _plic.GetLine(Plic.VirtSourceCount));
        Assert.NotNull(_plic.GetLine(Plic.VirtSourceCount - 1));
    }

    [Fact]
    public void LinesCanBeDrivenFromManyThreads()
    {
        Write(Priority(5), 1);
        Write(Enable(0, 0), 1u << 5);
        Parallel.For(0, 8, i =>
        {
            for (int n = 0; n < 2000; n++)
            {
                _plic.GetLine(5).Set((n & 1) == 0);
            }
        });

        _plic.GetLine(5).Set(false);
        Assert.False(_harts[0].Meip);
        _plic.GetLine(5).Set(true);
        Assert.True(_harts[0].Meip);
    }

    private uint Read(ulong offset) => (uint)_plic.Read(offset, 4);

    private void Write(ulong offset, uint value) => _plic.Write(offset, 4, value);
}
