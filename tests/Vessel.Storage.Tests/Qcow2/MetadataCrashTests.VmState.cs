using System.Text.Json;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>
/// Crashes through snapshots with VM state: the state's own writes (staged clusters nothing on
/// disk points at yet), the switch that makes it part of a snapshot, and applying, deleting or
/// abandoning such a state. Besides what every metadata crash test checks, each snapshot left
/// must hold its whole state, read back by Vessel and sized alike by qemu-img.
/// </summary>
public sealed partial class MetadataCrashTests
{
    private const int StateLength = (40 * 1024) + 100;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SnapshotCreateWithVmState(bool powerLoss)
    {
        string image = _dir.File("vmstate-create.qcow2");
        (byte[] s1, byte[] active) = ImageWithOneSnapshot(image);
        byte[] state = Pattern(21, StateLength);
        int runs = CrashPoints.Explore([image], () => Snapshot(image, q =>
        {
            using VmStateWriter writer = q.BeginVmState();
            for (int done = 0; done < state.Length; done += 3000)
            {
                writer.Write(state.AsSpan(done, Math.Min(3000, state.Length - done)));
            }

            q.CreateSnapshot("s2", new SnapshotOptions { VmState = writer, VmClockNanoseconds = 1_000_000_007 });
        }), (n, _) =>
        {
            string what = $"snapshot create with VM state, crash at {n}";
            CheckConsistent(image, what);
            string[] names = SnapshotNames(image);
            Assert.True(names.SequenceEqual(["s1"]) || names.SequenceEqual(["s1", "s2"]), $"{what}: snapshots {string.Join(',', names)}");
            if (n == -1)
            {
                Assert.Equal(["s1", "s2"], names);
            }

            ImageAssert.SameContent(active, ActiveContent(image), what);
            var expected = new Dictionary<string, byte[]> { ["s1"] = s1, ["s2"] = active };
            var states = new Dictionary<string, byte[]> { ["s1"] = [], ["s2"] = state };
            CheckSnapshots(image, names, expected, what);
            CheckVmStates(image, names, states, what);
            StillUsable(image, names, expected, what);
            CheckVmStates(_dir.File("usable.qcow2"), names, states, what + ", then written all over");
        }, Mode(powerLoss), maxPoints: 150);
        Assert.True(runs > 50, $"only {runs} crash points");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SnapshotApplyAndDeleteWithVmState(bool powerLoss)
    {
        string image = _dir.File("vmstate-delete.qcow2");
        (byte[] s1, _) = ImageWithOneSnapshot(image);
        byte[] state = Pattern(22, StateLength);
        Snapshot(image, q =>
        {
            using VmStateWriter writer = q.BeginVmState();
            writer.Write(state);
            q.CreateSnapshot("s2", new SnapshotOptions { VmState = writer });
        });
        byte[] atS2 = ActiveContent(image);
        Write(image, 23, 10 * 1024, 30 * 1024);
        var expected = new Dictionary<string, byte[]> { ["s1"] = s1, ["s2"] = atS2 };
        var states = new Dictionary<string, byte[]> { ["s1"] = [], ["s2"] = state };

        int runs = CrashPoints.Explore([image], () => Snapshot(image, q => q.ApplySnapshot("s2")), (n, _) =>
        {
            string what = $"apply of a snapshot with VM state, crash at {n}";
            CheckConsistent(image, what);
            if (n == -1)
            {
                ImageAssert.SameContent(atS2, ActiveContent(image), what);
            }

            CheckSnapshots(image, ["s1", "s2"], expected, what);
            CheckVmStates(image, ["s1", "s2"], states, what);
        }, Mode(powerLoss), maxPoints: 60);
        Assert.True(runs > 5, $"only {runs} crash points");

        runs = CrashPoints.Explore([image], () => Snapshot(image, q => q.DeleteSnapshot("s2")), (n, _) =>
        {
            string what = $"delete of a snapshot with VM state, crash at {n}";
            CheckConsistent(image, what);
            string[] names = SnapshotNames(image);
            Assert.True(names.SequenceEqual(["s1", "s2"]) || names.SequenceEqual(["s1"]), $"{what}: snapshots {string.Join(',', names)}");
            CheckSnapshots(image, names, expected, what);
            CheckVmStates(image, names, states, what);
            if (n == -1)
            {
                // Nothing of the state stays behind once its snapshot is gone.
                Assert.Equal(0, Qemu.Check(image).ExitCode);
            }

            StillUsable(image, names, expected, what);
        }, Mode(powerLoss), maxPoints: 60);
        Assert.True(runs > 5, $"only {runs} crash points");
    }

    /// <summary>A state written and then abandoned (its writer disposed): its clusters are freed, the image stays as it was.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AbandonedVmState(bool powerLoss)
    {
        string image = _dir.File("vmstate-abandon.qcow2");
        (byte[] s1, byte[] active) = ImageWithOneSnapshot(image);
        byte[] state = Pattern(24, StateLength);
        int runs = CrashPoints.Explore([image], () =>
        {
            using var q = (Qcow2Image)ImageOpener.Open(image);
            using (VmStateWriter writer = q.BeginVmState())
            {
                writer.Write(state);
            }

            q.Flush();
        }, (n, _) =>
        {
            string what = $"abandoned VM state, crash at {n}";
            CheckConsistent(image, what);
            if (n == -1)
            {
                Assert.Equal(0, Qemu.Check(image).ExitCode);
            }

            Assert.Equal(["s1"], SnapshotNames(image));
            ImageAssert.SameContent(active, ActiveContent(image), what);
            var expected = new Dictionary<string, byte[]> { ["s1"] = s1 };
            CheckSnapshots(image, ["s1"], expected, what);
            StillUsable(image, ["s1"], expected, what);
        }, Mode(powerLoss), maxPoints: 80);
        Assert.True(runs > 5, $"only {runs} crash points");
    }

    /// <summary>Each snapshot's VM state reads back whole in Vessel, and qemu-img gives it the same size.</summary>
    private static void CheckVmStates(string image, string[] names, Dictionary<string, byte[]> states, string what)
    {
        using JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", image));
        Dictionary<string, long> qemuSizes = info.RootElement.TryGetProperty("snapshots", out JsonElement list)
            ? list.EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("vm-state-size").GetInt64())
            : [];
        using var q = (Qcow2Image)ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true, OpenBacking = false });
        foreach (string name in names)
        {
            byte[] state = states[name];
            Assert.True(qemuSizes[name] == state.Length, $"{what}: qemu-img gives {name} a VM state of {qemuSizes[name]} bytes, not {state.Length}");
            Assert.Equal(state.Length, q.Snapshots.Single(s => s.Name == name).VmStateSize);
            if (state.Length > 0)
            {
                using VmStateReader reader = q.OpenVmState(name);
                var read = new byte[state.Length];
                reader.ReadExactly(read);
                ImageAssert.SameContent(state, read, $"{what}: the VM state of {name}");
            }
        }
    }
}
