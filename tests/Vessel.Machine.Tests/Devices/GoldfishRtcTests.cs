using Vessel.Machine.Devices;

namespace Vessel.Machine.Tests.Devices;

public sealed class GoldfishRtcTests : IDisposable
{
    private const ulong TimeLow = 0x00, TimeHigh = 0x04, AlarmLow = 0x08, AlarmHigh = 0x0c;
    private const ulong IrqEnabled = 0x10, ClearAlarm = 0x14, AlarmStatus = 0x18, ClearInterrupt = 0x1c;

    private static readonly DateTimeOffset s_start = new(2024, 5, 17, 12, 30, 45, TimeSpan.Zero);

    private readonly ManualTimeProvider _time = new(s_start);
    private readonly RecordingInterruptLine _irq = new();
    private readonly GoldfishRtc _rtc;

    public GoldfishRtcTests()
    {
        _rtc = new GoldfishRtc(_irq, _time);
    }

    public void Dispose() => _rtc.Dispose();

    private static ulong NanosecondsSinceEpoch(DateTimeOffset when) =>
        (ulong)(when - DateTimeOffset.UnixEpoch).Ticks * 100;

    [Fact]
    public void TimeIsNanosecondsSinceTheEpochFromTheHostClock()
    {
        Assert.Equal(NanosecondsSinceEpoch(s_start), ReadTime());
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(NanosecondsSinceEpoch(s_start.AddSeconds(3)), ReadTime());
    }

    [Fact]
    public void ReadingTimeLowLatchesTimeHigh()
    {
        uint low = Read(TimeLow);
        uint high = Read(TimeHigh);
        // More than 2^32 ns later the latched high half is still the old one.
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(high, Read(TimeHigh));
        Assert.Equal(NanosecondsSinceEpoch(s_start), ((ulong)high << 32) | low);
        Read(TimeLow);
        Assert.NotEqual(high, Read(TimeHigh));
    }

    [Fact]
    public void WritingTheTimeMovesTheGuestsClockOnly()
    {
        ulong wanted = NanosecondsSinceEpoch(new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero));
        // Linux's goldfish driver writes the high half, then the low half.
        Write(TimeHigh, (uint)(wanted >> 32));
        Write(TimeLow, (uint)wanted);
        Assert.Equal(wanted, ReadTime());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(wanted + 1_000_000_000, ReadTime());
    }

    [Fact]
    public void AlarmRaisesTheInterruptWhenItComesDue()
    {
        ulong due = NanosecondsSinceEpoch(s_start) + 1_000_000_000;
        Write(IrqEnabled, 1);
        Write(AlarmHigh, (uint)(due >> 32));
        Write(AlarmLow, (uint)due);
        Assert.Equal(1u, Read(AlarmStatus));
        Assert.Equal(due, ((ulong)Read(AlarmHigh) << 32) | Read(AlarmLow));

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(_irq.Level);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(_irq.Level);
        Assert.Equal(0u, Read(AlarmStatus));

        Write(ClearInterrupt, 1);
        Assert.False(_irq.Level);
    }

    [Fact]
    public void AlarmFiresOnTheHostClock()
    {
        var line = new RecordingInterruptLine();
        using var rtc = new GoldfishRtc(line);
        rtc.Write(TimeLow, 4, 0); // the guest's clock may be anything
        ulong low = rtc.Read(TimeLow, 4);
        ulong due = ((rtc.Read(TimeHigh, 4) << 32) | low) + 20_000_000;
        rtc.Write(IrqEnabled, 4, 1);
        rtc.Write(AlarmHigh, 4, due >> 32);
        rtc.Write(AlarmLow, 4, (uint)due);

        Assert.True(SpinWait.SpinUntil(() => line.Level, TimeSpan.FromSeconds(30)), "The alarm never fired.");
        Assert.Equal(0UL, rtc.Read(AlarmStatus, 4));
    }

    [Fact]
    public void AnAlarmInThePastFiresAtOnce()
    {
        Write(IrqEnabled, 1);
        Write(AlarmHigh, 0);
        Write(AlarmLow, 5);
        Assert.True(_irq.Level);
        Assert.Equal(0u, Read(AlarmStatus));
    }

    [Fact]
    public void ClearedAlarmNeverFiresAndDisabledInterruptStaysLow()
    {
        ulong due = NanosecondsSinceEpoch(s_start) + 1_000_000;
        Write(AlarmHigh, (uint)(due >> 32));
        Write(AlarmLow, (uint)due);
        Write(ClearAlarm, 1);
        Assert.Equal(0u, Read(AlarmStatus));
        Write(IrqEnabled, 1);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(_irq.Level);

        Write(IrqEnabled, 0);
        due = NanosecondsSinceEpoch(s_start) + 2_000_000_000;
        Write(AlarmHigh, (uint)(due >> 32));
        Write(AlarmLow, (uint)due);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(_irq.Level); // pending but masked
        Write(IrqEnabled, 1);
        Assert.True(_irq.Level);
        Assert.Equal(1u, Read(IrqEnabled));
    }

    [Fact]
    public void SavedStateKeepsTheOffsetAndARunningAlarm()
    {
        ulong wanted = 1_000_000_000_000_000_000;
        Write(TimeHigh, (uint)(wanted >> 32));
        Write(TimeLow, (uint)wanted);
        Write(IrqEnabled, 1);
        ulong due = wanted + 500_000_000;
        Write(AlarmHigh, (uint)(due >> 32));
        Write(AlarmLow, (uint)due);
        GoldfishRtcState saved = _rtc.SaveState();
        Assert.True(saved.AlarmRunning);

        var line = new RecordingInterruptLine();
        using var copy = new GoldfishRtc(line, _time);
        copy.RestoreState(saved);
        Assert.Equal(saved, copy.SaveState());
        Assert.Equal(wanted, copy.Now);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(line.Level);
    }

    [Fact]
    public void UnknownRegistersReadZero()
    {
        Assert.Equal(0UL, _rtc.Read(0x20, 4));
        Assert.Equal(0UL, _rtc.Read(0x800, 4));
        _rtc.Write(0x20, 4, 1);
    }

    private ulong ReadTime()
    {
        ulong low = Read(TimeLow);
        return ((ulong)Read(TimeHigh) << 32) | low;
    }

    private uint Read(ulong offset) => (uint)_rtc.Read(offset, 4);

    private void Write(ulong offset, uint value) => _rtc.Write(offset, 4, value);
}
