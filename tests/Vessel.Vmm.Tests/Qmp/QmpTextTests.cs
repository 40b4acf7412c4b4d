using Vessel.Vmm.Qmp;
using Vessel.Vmm.Runtime;

namespace Vessel.Vmm.Tests.Qmp;

/// <summary>Text QMP and HMP produce as QEMU does: <c>info snapshots</c> rows and sizes, <c>info status</c>, and the <c>--qmp</c> address.</summary>
public sealed class QmpTextTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(512, "512 B")]
    [InlineData(1000, "0.977 KiB")]
    [InlineData(322560, "315 KiB")]
    [InlineData(6385827, "6.09 MiB")]
    [InlineData(1073741824, "1 GiB")]
    public void SizesHaveThreeSignificantDigitsAsQemusSizeToStr(long bytes, string expected) =>
        Assert.Equal(expected, QmpHumanMonitorCommands.SizeToString(bytes));

    [Fact]
    public void SnapshotRowsLineUpInQemusColumns()
    {
        var date = new DateTimeOffset(2026, 12, 7, 2, 1, 25, TimeSpan.Zero);
        var snapshot = new VmSnapshotInfo("1", "first", 322560, date, TimeSpan.FromMilliseconds(7815), ["drive0"]);
        string local = date.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        // The row QEMU 7.2 printed for a snapshot of the same size and clock.
        Assert.Equal($"--        first             315 KiB {local} 00:00:07.815           \n", QmpHumanMonitorCommands.SnapshotRow("--", snapshot));

        var longTag = snapshot with { Tag = "vm-20261207020128" };
        Assert.StartsWith("--        vm-20261207020128  315 KiB ", QmpHumanMonitorCommands.SnapshotRow("--", longTag));
    }

    [Theory]
    [InlineData(VmRunState.Running, "VM status: running\n")]
    [InlineData(VmRunState.Paused, "VM status: paused\n")]
    [InlineData(VmRunState.PostMigrate, "VM status: paused (postmigrate)\n")]
    [InlineData(VmRunState.InMigrate, "VM status: paused (inmigrate)\n")]
    public void InfoStatusSaysWhyAVmIsNotRunning(VmRunState state, string expected) =>
        Assert.Equal(expected, QmpHumanMonitorCommands.StatusLine(state));

    [Theory]
    [InlineData("unix:/run/a.sock", "/run/a.sock", true)]
    [InlineData("unix:/run/a.sock,server=on,wait=off", "/run/a.sock", false)]
    [InlineData("unix:/run/a.sock,server,nowait", "/run/a.sock", false)]
    [InlineData("unix:rel.sock,wait=on", "rel.sock", true)]
    public void QmpAddressesAreQemusSpellings(string text, string path, bool wait) =>
        Assert.Equal(new QmpAddress(path, wait), QmpAddress.Parse(text));

    [Theory]
    [InlineData("tcp:localhost:4444")]
    [InlineData("unix:")]
    [InlineData("unix:/a,server=off")]
    [InlineData("unix:/a,telnet=on")]
    public void OtherQmpAddressesAreRefusedInOneSentence(string text)
    {
        FormatException e = Assert.Throws<FormatException>(() => QmpAddress.Parse(text));
        Assert.EndsWith(".", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
