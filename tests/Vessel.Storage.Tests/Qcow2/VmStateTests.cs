using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>
/// Snapshots with VM state (savevm/loadvm's storage half), checked against qemu-img, qemu-io
/// (which reads a VM state as QEMU's loadvm does) and a real qemu-system-riscv64.
/// </summary>
public sealed class VmStateTests : IDisposable
{
    private const long DiskSize = 8L * 1024 * 1024;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(65536, false, "1.1")]
    [InlineData(512, false, "1.1")]
    [InlineData(16384, true, "1.1")]
    [InlineData(65536, false, "0.10")]
    public void StateRoundTripsThroughCreateApplyAndRead(int clusterSize, bool extendedL2, string compat)
    {
        string image = _dir.File("vm.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", $"cluster_size={clusterSize},extended_l2={(extendedL2 ? "on" : "off")},compat={compat}", image, DiskSize.ToString(CultureInfo.InvariantCulture));
        Qemu.Io(image, "qcow2", "write -P 5 0 1M", "write -P 6 7M 512k");
        byte[] diskAtSnapshot = Qemu.Content(image, _dir.Path);
        byte[] state = Random(1, (6 * 1024 * 1024) + 4321);
        const long Clock = 3_723_456_789_012;
        using (var q = OpenQcow2(image))
        {
            using VmStateWriter writer = q.BeginVmState();
            WriteInChunks(writer, state);

            // A second pass over a stretch already written goes to the same clusters.
            writer.WriteAt(70_000, state.AsSpan(70_000, 200_000));
            SnapshotInfo info = q.CreateSnapshot("with-state", new SnapshotOptions { VmState = writer, VmClockNanoseconds = Clock, Icount = 42 });
            Assert.Equal(state.Length, info.VmStateSize);
            Assert.True(writer.IsFinished);
            q.Write(0, Random(2, 300_000));
        }

        ImageAssert.QemuCheckClean(image);
        JsonElement listed = QemuSnapshot(image, "with-state");
        Assert.Equal(state.Length, listed.GetProperty("vm-state-size").GetInt64());
        Assert.Equal(Clock / 1_000_000_000, listed.GetProperty("vm-clock-sec").GetInt64());
        Assert.Equal(Clock % 1_000_000_000, listed.GetProperty("vm-clock-nsec").GetInt64());
        Assert.Equal(42, listed.GetProperty("icount").GetInt64());
        AssertQemuListsSize(image, "with-state", state.Length);
        AssertVesselListsAsQemuImg(image);

        using (var q = OpenQcow2(image))
        {
            q.ApplySnapshot("with-state");
            ImageAssert.SameContent(diskAtSnapshot, ImageAssert.ReadAll(q), "the disk after applying");
            using VmStateReader reader = q.OpenVmState("with-state");
            Assert.Equal(state.Length, reader.Length);
            ImageAssert.SameContent(state, ReadInChunks(reader), "the state read back");
        }

        ImageAssert.QemuCheckClean(image);

        // QEMU reads the same bytes once it applied the snapshot (loadvm reads from the active tree).
        string copy = _dir.File("qemu-view.qcow2");
        File.Copy(image, copy);
        Qemu.ImgOk("snapshot", "-a", "with-state", copy);
        foreach (long at in new long[] { 0, clusterSize * 3L, 1024 * 1024, state.Length & ~511L })
        {
            int length = (int)Math.Min(8192, ((state.Length - at) + 511) & ~511L);
            byte[] seen = Qemu.ReadVmState(copy, at, length);
            int real = (int)Math.Min(length, state.Length - at);
            ImageAssert.SameContent(state.AsSpan((int)at, real), seen.AsSpan(0, real), $"qemu-io read -b at {at}");
        }

        // Deleting the snapshot gives the state's space back to the host and leaks nothing.
        using (var q = OpenQcow2(image))
        {
            long before = q.AllocatedBytes;
            q.DeleteSnapshot("with-state");
            Assert.True(before - q.AllocatedBytes >= state.Length * 0.9, $"{before - q.AllocatedBytes} bytes given back after deleting a state of {state.Length}");
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);
    }

    [Fact]
    public void DiskOnlyStateSmallAndLargeSizesAreStoredAsQemuStoresThem()
    {
        string image = _dir.File("sizes.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, DiskSize.ToString(CultureInfo.InvariantCulture));
        const long Large = (5L << 30) + 100;
        byte[] head = Random(3, 4096);
        byte[] tail = Random(4, 200);
        using (var q = OpenQcow2(image))
        {
            q.CreateSnapshot("disk-only");
            using (VmStateWriter small = q.BeginVmState())
            {
                small.Write(head);
                q.CreateSnapshot("small", new SnapshotOptions { VmState = small });
            }

            // Past 4 GiB without writing 4 GiB: a few bytes at each end of a sparse state.
            using VmStateWriter large = q.BeginVmState();
            large.Write(head);
            large.WriteAt(Large - tail.Length, tail);
            Assert.Equal(Large, large.Length);
            q.CreateSnapshot("large", new SnapshotOptions { VmState = large });
            Assert.Equal([0L, head.Length, Large], q.Snapshots.Select(s => s.VmStateSize));
            Assert.Throws<StorageException>(() => q.OpenVmState("disk-only"));
        }

        ImageAssert.QemuCheckClean(image);
        foreach ((string name, long size) in new[] { ("disk-only", 0L), ("small", head.Length), ("large", Large) })
        {
            Assert.Equal(size, QemuSnapshot(image, name).GetProperty("vm-state-size").GetInt64());
            (uint narrow, ulong wide) = RawVmStateSizeFields(image, name);
            Assert.Equal(size, (long)wide);

            // The 32-bit field holds sizes that fit and is 0 for larger ones, as QEMU writes it.
            Assert.Equal(size <= uint.MaxValue ? (uint)size : 0u, narrow);
        }

        using (var q = OpenQcow2(image, readOnly: true))
        {
            using VmStateReader reader = q.OpenVmState("large");
            var buffer = new byte[65536];
            Assert.Equal(head.Length, reader.ReadAt(0, buffer.AsSpan(0, head.Length)));
            ImageAssert.SameContent(head, buffer.AsSpan(0, head.Length), "the large state's head");
            Assert.Equal(buffer.Length, reader.ReadAt(3L << 30, buffer));
            Assert.True(buffer.AsSpan().IndexOfAnyExcept((byte)0) < 0, "a hole in the state reads as zeroes");
            Assert.Equal(tail.Length, reader.ReadAt(Large - tail.Length, buffer));
            ImageAssert.SameContent(tail, buffer.AsSpan(0, tail.Length), "the large state's tail");
            Assert.Equal(0, reader.ReadAt(Large, buffer));
        }

        using (var q = OpenQcow2(image))
        {
            q.DeleteSnapshot("large");
        }

        Qemu.ImgOk("snapshot", "-d", "small", image);
        Assert.Equal(0, Qemu.Check(image).ExitCode);
    }

    [Fact]
    public void AnUnfinishedStateIsFreedAndBlocksWhatWouldLoseIt()
    {
        string image = _dir.File("unfinished.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", "cluster_size=4096", image, DiskSize.ToString(CultureInfo.InvariantCulture));
        using (var q = OpenQcow2(image))
        {
            q.CreateSnapshot("s1");
            VmStateWriter writer = q.BeginVmState();
            writer.Write(Random(5, 3 * 1024 * 1024));
            Assert.Throws<InvalidOperationException>(() => q.ApplySnapshot("s1"));
            Assert.Throws<InvalidOperationException>(() => q.DeleteSnapshot("s1"));
            Assert.Throws<InvalidOperationException>(() => q.CreateSnapshot("s2"));
            Assert.Throws<InvalidOperationException>(() => q.Resize(DiskSize * 2, allowShrink: false));
            Assert.Throws<InvalidOperationException>(() => q.BeginVmState());
            writer.Dispose();
            Assert.Throws<ObjectDisposedException>(() => writer.Write(new byte[1]));
            Assert.Throws<InvalidOperationException>(() => q.CreateSnapshot("s2", new SnapshotOptions { VmState = writer }));
            q.Flush();
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);

        // An image closed with a state still being written frees it too.
        using (var q = OpenQcow2(image))
        {
            q.BeginVmState().Write(Random(6, 1024 * 1024));
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);
        using (var q = OpenQcow2(image, readOnly: true))
        {
            Assert.Equal(["s1"], q.Snapshots.Select(s => s.Name));
        }
    }

    [Fact]
    public void QemuSavevmSnapshotsAreListedReadAppliedAndDeleted()
    {
        string image = _dir.File("qemu.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "64M");
        Qemu.Io(image, "qcow2", "write -P 1 0 1M");
        using (QemuMachine machine = QemuMachine.Start(_dir.Path, image))
        {
            machine.Execute("cont");
            machine.HmpOk("savevm s1");
            machine.HmpOk("savevm s2");
            machine.HmpOk("loadvm s1");
        }

        // What QEMU's loadvm reads, as qemu-io reads it after applying each snapshot.
        var qemuStates = new Dictionary<string, byte[]>();
        foreach (string name in new[] { "s1", "s2" })
        {
            long size = QemuSnapshot(image, name).GetProperty("vm-state-size").GetInt64();
            Assert.True(size > 0, $"{name} has no VM state");
            string applied = _dir.File($"applied-{name}.qcow2");
            File.Copy(image, applied);
            Qemu.ImgOk("snapshot", "-a", name, applied);
            qemuStates[name] = Qemu.ReadVmState(applied, 0, (int)((size + 511) & ~511L)).AsSpan(0, (int)size).ToArray();
        }

        AssertVesselListsAsQemuImg(image);
        using (var q = OpenQcow2(image))
        {
            foreach (SnapshotInfo s in q.Snapshots)
            {
                JsonElement listed = QemuSnapshot(image, s.Name);
                Assert.Equal(listed.GetProperty("vm-state-size").GetInt64(), s.VmStateSize);
                Assert.Equal((listed.GetProperty("vm-clock-sec").GetInt64() * 1_000_000_000) + listed.GetProperty("vm-clock-nsec").GetInt64(), s.VmClockNanoseconds);
                using VmStateReader reader = q.OpenVmState(s.Name);
                byte[] read = ReadInChunks(reader);
                Assert.True(read.AsSpan().StartsWith("QEVM"u8), $"{s.Name}'s state does not start with QEMU's migration stream magic");
                ImageAssert.SameContent(qemuStates[s.Name], read, $"{s.Name}'s state");
            }

            q.ApplySnapshot("s2");
            q.DeleteSnapshot("s1");
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);
        using (var q = OpenQcow2(image))
        {
            q.DeleteSnapshot("s2");
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);
        var expected = new byte[64 * 1024 * 1024];
        expected.AsSpan(0, 1024 * 1024).Fill(1);
        ImageAssert.SameContent(expected, Qemu.Content(image, _dir.Path), "the disk");
    }

    /// <summary>
    /// A state written by Vessel is one QEMU can load: QEMU's own state (read out of its
    /// snapshot by Vessel) written back by Vessel into a new snapshot, which loadvm then loads.
    /// </summary>
    [Fact]
    public void QemuLoadsAStateVesselWrote()
    {
        string image = _dir.File("loadable.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "64M");
        using (QemuMachine machine = QemuMachine.Start(_dir.Path, image))
        {
            machine.Execute("cont");
            machine.HmpOk("savevm by-qemu");
        }

        using (var q = OpenQcow2(image))
        {
            byte[] state = ReadInChunks(q.OpenVmState("by-qemu"));
            q.Write(4096, Random(7, 8192));
            q.DeleteSnapshot("by-qemu");
            using VmStateWriter writer = q.BeginVmState();
            WriteInChunks(writer, state);
            q.CreateSnapshot("by-vessel", new SnapshotOptions { VmState = writer, VmClockNanoseconds = 1_500_000_000 });
        }

        ImageAssert.QemuCheckClean(image);
        using (QemuMachine machine = QemuMachine.Start(_dir.Path, image))
        {
            machine.HmpOk("loadvm by-vessel");
            Assert.Contains("by-vessel", machine.Hmp("info snapshots"));
            machine.HmpOk("delvm by-vessel");
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);
    }

    /// <summary>
    /// QEMU's loadvm leaves the state in the active tree past the disk; growing the disk over it
    /// must not show it to the guest (qemu-img resize does).
    /// </summary>
    [Fact]
    public void GrowingAfterQemuLoadvmShowsZeroes()
    {
        string image = _dir.File("grow.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "64M");
        using (QemuMachine machine = QemuMachine.Start(_dir.Path, image))
        {
            machine.HmpOk("savevm s1");
            machine.HmpOk("loadvm s1");
        }

        using (DiskImage disk = ImageOpener.Open(image))
        {
            disk.Resize(1L << 30, allowShrink: false);
            var buffer = new byte[1024 * 1024];
            disk.Read(512L * 1024 * 1024, buffer);
            Assert.True(buffer.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the grown disk shows the VM state");
        }

        Assert.Equal(0, Qemu.Check(image).ExitCode);
        Qemu.ImgOk("snapshot", "-d", "s1", image);
        Assert.Equal(0, Qemu.Check(image).ExitCode);
    }

    // ---- helpers -------------------------------------------------------------------------

    private static Qcow2Image OpenQcow2(string image, bool readOnly = false) =>
        (Qcow2Image)ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = readOnly });

    private static byte[] Random(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Writes sequentially in chunks of uneven sizes (none cluster-aligned for long).</summary>
    private static void WriteInChunks(Stream writer, byte[] data)
    {
        int[] sizes = [1, 511, 4096, 65539, 1 << 20, 100_000, 7];
        int done = 0;
        for (int i = 0; done < data.Length; i++)
        {
            int n = Math.Min(sizes[i % sizes.Length], data.Length - done);
            writer.Write(data.AsSpan(done, n));
            done += n;
        }
    }

    private static byte[] ReadInChunks(Stream reader)
    {
        var data = new byte[reader.Length];
        int[] sizes = [3, 70_000, 1 << 20, 512];
        int done = 0;
        for (int i = 0; done < data.Length; i++)
        {
            int read = reader.Read(data.AsSpan(done, Math.Min(sizes[i % sizes.Length], data.Length - done)));
            Assert.True(read > 0, $"the state ended after {done} of {data.Length} bytes");
            done += read;
        }

        return data;
    }

    /// <summary>A snapshot as qemu-img info --output=json lists it.</summary>
    private static JsonElement QemuSnapshot(string image, string name)
    {
        using JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "-U", "--output=json", image));
        foreach (JsonElement s in info.RootElement.GetProperty("snapshots").EnumerateArray())
        {
            if (s.GetProperty("name").GetString() == name)
            {
                return s.Clone();
            }
        }

        throw new Xunit.Sdk.XunitException($"qemu-img does not list snapshot {name} of {image}");
    }

    /// <summary>vessel img snapshot -l and info (human and JSON) list the snapshots exactly as qemu-img does.</summary>
    private void AssertVesselListsAsQemuImg(string image)
    {
        Assert.Equal(Qemu.ImgOk("snapshot", "-l", image), VesselCli.Ok(_dir.Path, "img", "snapshot", "-l", image));
        static string SnapshotSection(string info) => info[info.IndexOf("Snapshot list:", StringComparison.Ordinal)..info.IndexOf("Format specific information:", StringComparison.Ordinal)];
        Assert.Equal(SnapshotSection(Qemu.ImgOk("info", image)), SnapshotSection(VesselCli.Ok(_dir.Path, "img", "info", image)));
        using JsonDocument qemu = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", image));
        using JsonDocument vessel = JsonDocument.Parse(VesselCli.Ok(_dir.Path, "img", "info", "--output", "json", image));
        Assert.Equal(qemu.RootElement.GetProperty("snapshots").GetRawText(), vessel.RootElement.GetProperty("snapshots").GetRawText());
    }

    /// <summary>
    /// The VM SIZE column of qemu-img snapshot -l (three significant digits and a unit) for
    /// <paramref name="name"/> must stand for <paramref name="size"/>.
    /// </summary>
    private static void AssertQemuListsSize(string image, string name, long size)
    {
        string row = Qemu.ImgOk("snapshot", "-l", image).Split('\n').Single(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var tag, ..] && tag == name);
        string[] fields = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double value = double.Parse(fields[2], CultureInfo.InvariantCulture);
        int power = Array.IndexOf(["B", "KiB", "MiB", "GiB", "TiB"], fields[3]);
        Assert.True(power >= 0, $"unexpected unit in '{row}'");
        double listed = value * Math.Pow(1024, power);
        Assert.True(Math.Abs(listed - size) <= size * 0.005, $"qemu-img lists {fields[2]} {fields[3]} for a state of {size} bytes");
    }

    /// <summary>The 32-bit VM-state size (bytes 32..35) and the 64-bit one (extra data) of a snapshot table entry.</summary>
    private static (uint Narrow, ulong Wide) RawVmStateSizeFields(string image, string name)
    {
        byte[] file = File.ReadAllBytes(image);
        int count = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(60));
        int position = (int)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(64));
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> entry = file.AsSpan(position);
            int idLength = BinaryPrimitives.ReadUInt16BigEndian(entry[12..]);
            int nameLength = BinaryPrimitives.ReadUInt16BigEndian(entry[14..]);
            int extra = (int)BinaryPrimitives.ReadUInt32BigEndian(entry[36..]);
            string entryName = System.Text.Encoding.UTF8.GetString(entry.Slice(40 + extra + idLength, nameLength));
            if (entryName == name)
            {
                Assert.True(extra >= 8, "the entry has no 64-bit VM-state size");
                return (BinaryPrimitives.ReadUInt32BigEndian(entry[32..]), BinaryPrimitives.ReadUInt64BigEndian(entry[40..]));
            }

            position += (40 + extra + idLength + nameLength + 7) & ~7;
        }

        throw new Xunit.Sdk.XunitException($"no snapshot table entry for {name}");
    }
}
