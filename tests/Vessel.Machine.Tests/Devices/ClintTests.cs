using Vessel.Machine.Devices;
using Vessel.Machine.Timing;

namespace Vessel.Machine.Tests.Devices;

public sealed class ClintTests
{
    private const ulong Mtime = 0xbff8;

    private readonly VirtualClock _clock = new();
    private readonly RecordingHartPins[] _harts = RecordingHartPins.Create(2);
    private readonly Clint _clint;

    public ClintTests()
    {
        // A stopped clock only moves when the test sets it.
        _clock.Pause();
        _clock.Set(1_000);
        _clint = new Clint(_clock, _harts);
    }

    private static ulong Msip(int hart) => (ulong)(4 * hart);

    private static ulong Mtimecmp(int hart) => 0x4000 + (ulong)(8 * hart);

    [Fact]
    public void MtimeFollowsTheClockIn32And64BitReads()
    {
        _clock.Set(0x1_2345_6789);
        Assert.Equal(0x1_2345_6789UL, _clint.Read(Mtime, 8));
        Assert.Equal(0x2345_6789UL, _clint.Read(Mtime, 4));
        Assert.Equal(0x1UL, _clint.Read(Mtime + 4, 4));
        Assert.Equal(0x1_2345_6789UL, _clint.ReadTime());
    }

    [Fact]
    public void TimerInterruptIsLowUntilProgrammed()
    {
        Assert.False(_harts[0].Mtip);
        Assert.Equal(ulong.MaxValue, _clint.GetTimeCompare(0));
        Assert.Equal(ulong.MaxValue, _clint.UpdateTimer(0));
    }

    [Fact]
    public void TimerFiresWhenTheClockReachesMtimecmp()
    {
        _clint.Write(Mtimecmp(1), 8, 5_000);
        Assert.Equal(5_000UL, _clint.Read(Mtimecmp(1), 8));
        Assert.False(_harts[1].Mtip);
        Assert.Equal(5_000UL, _clint.UpdateTimer(1));

        _clock.Set(4_999);
        Assert.Equal(5_000UL, _clint.UpdateTimer(1));
        Assert.False(_harts[1].Mtip);

        _clock.Set(5_000);
        Assert.Equal(ulong.MaxValue, _clint.UpdateTimer(1));
        Assert.True(_harts[1].Mtip);
        Assert.False(_harts[0].Mtip);

        // A new deadline in the future clears the pin at once.
        _clint.Write(Mtimecmp(1), 8, 9_000);
        Assert.False(_harts[1].Mtip);
    }

    [Fact]
    public void ADeadlineInThePastRaisesTheTimerAtOnce()
    {
        _clint.SetTimeCompare(0, 10);
        Assert.True(_harts[0].Mtip);
        Assert.Equal(10UL, _clint.GetTimeCompare(0));
        _clint.SetTimeCompare(0, ulong.MaxValue);
        Assert.False(_harts[0].Mtip);
    }

    [Fact]
    public void ThirtyTwoBitHalvesOfMtimecmpAreWrittenSeparately()
    {
        // What an RV32 driver does: high half to all ones first, then low, then high.
        _clint.Write(Mtimecmp(0) + 4, 4, 0xffff_ffff);
        _clint.Write(Mtimecmp(0), 4, 0x0000_2000);
        _clint.Write(Mtimecmp(0) + 4, 4, 0x0000_0000);
        Assert.Equal(0x2000UL, _clint.GetTimeCompare(0));
        Assert.Equal(0x2000UL, _clint.Read(Mtimecmp(0), 4));
        Assert.Equal(0UL, _clint.Read(Mtimecmp(0) + 4, 4));
        Assert.False(_harts[0].Mtip);
        _clock.Set(0x2000);
        _clint.UpdateTimer(0);
        Assert.True(_harts[0].Mtip);
    }

    [Fact]
    public void WritingMtimeShiftsTimeForTheGuestAndReevaluatesTimers()
    {
        _clint.SetTimeCompare(0, 50_000);
        _clint.Write(Mtime, 8, 60_000);
        Assert.True(_harts[0].Mtip);
        Assert.Equal(60_000UL, _clint.Read(Mtime, 8));
        Assert.Equal(60_000UL, _clint.ReadTime());

        _clock.Set(1_500);
        Assert.Equal(60_500UL, _clint.ReadTime());

        _clint.Write(Mtime, 4, 10); // low half only
        Assert.Equal(10UL, _clint.ReadTime());
        Assert.False(_harts[0].Mtip);
        Assert.Equal(50_000UL, _clint.UpdateTimer(0));
    }

    [Fact]
    public void MsipDrivesTheSoftwareInterruptOfEachHart()
    {
        _clint.Write(Msip(1), 4, 1);
        Assert.True(_harts[1].Msip);
        Assert.False(_harts[0].Msip);
        Assert.Equal(1UL, _clint.Read(Msip(1), 4));
        Assert.Equal(0UL, _clint.Read(Msip(0), 4));

        _clint.Write(Msip(1), 4, 0xfffe); // only bit 0 is implemented
        Assert.False(_harts[1].Msip);
        Assert.Equal(0UL, _clint.Read(Msip(1), 4));

        _clint.Write(Msip(0), 8, 0x1_0000_0001);
        Assert.True(_harts[0].Msip);
        Assert.True(_harts[1].Msip);
        Assert.Equal(0UL, _clint.Read(Msip(2), 4)); // no third hart
    }

    [Fact]
    public void SavedStateRestoresDeadlinesSoftwareInterruptsAndTheTimeOffset()
    {
        _clint.Write(Msip(0), 4, 1);
        _clint.SetTimeCompare(1, 2_000);
        _clint.Write(Mtime, 8, 100_000);
        ClintState saved = _clint.SaveState();

        RecordingHartPins[] pins = RecordingHartPins.Create(2);
        var copy = new Clint(_clock, pins);
        copy.RestoreState(saved);
        Assert.True(pins[0].Msip);
        Assert.True(pins[1].Mtip);
        Assert.Equal(2_000UL, copy.GetTimeCompare(1));
        Assert.Equal(_clint.ReadTime(), copy.ReadTime());
        Assert.Equal(saved.TimeCompare, copy.SaveState().TimeCompare);
        Assert.Equal(saved.SoftwareInterrupt, copy.SaveState().SoftwareInterrupt);
    }

    [Fact]
    public void HartNumbersAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _clint.UpdateTimer(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => _clint.SetTimeCompare(-1, 0));
    }
}
