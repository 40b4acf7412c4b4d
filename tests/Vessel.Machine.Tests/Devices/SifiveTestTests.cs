using Vessel.Machine.Devices;

namespace Vessel.Machine.Tests.Devices;

public sealed class SifiveTestTests
{
    private readonly RecordingPowerControl _power = new();
    private readonly SifiveTest _test;

    public SifiveTestTests()
    {
        _test = new SifiveTest(_power);
    }

    [Fact]
    public void PassPowersOff()
    {
        _test.Write(0, 4, 0x5555);
        Assert.Equal(["poweroff"], _power.Calls);
    }

    [Fact]
    public void ResetRequestResets()
    {
        _test.Write(0, 4, 0x7777);
        Assert.Equal(["reset"], _power.Calls);
    }

    [Fact]
    public void FailCarriesTheExitCodeInTheHighHalf()
    {
        _test.Write(0, 4, (42u << 16) | 0x3333);
        _test.Write(0, 4, (0xffffu << 16) | 0x3333);
        Assert.Equal(["fail 42", "fail 65535"], _power.Calls);
    }

    [Fact]
    public void OtherValuesOffsetsAndSizesDoNothing()
    {
        _test.Write(0, 4, 0x1234);
        _test.Write(4, 4, 0x5555);
        _test.Write(0, 1, 0x55);
        Assert.Empty(_power.Calls);
        Assert.Equal(0UL, _test.Read(0, 4));
    }

    [Fact]
    public void SixteenBitWritesWorkAsInQemu()
    {
        _test.Write(0, 2, 0x5555);
        Assert.Equal(["poweroff"], _power.Calls);
    }

    private sealed class RecordingPowerControl : IPowerControl
    {
        public List<string> Calls { get; } = [];

        public void PowerOff() => Calls.Add("poweroff");

        public void Reset() => Calls.Add("reset");

        public void Fail(int code) => Calls.Add($"fail {code}");
    }
}
