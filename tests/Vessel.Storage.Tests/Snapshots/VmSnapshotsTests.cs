using System.Text.Json;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Snapshots;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Snapshots;

/// <summary>A VM's snapshots across its disks, by QEMU's savevm/loadvm rules, checked with qemu-img.</summary>
public sealed class VmSnapshotsTests : IDisposable
{
    private const long DiskSize = 4L * 1024 * 1024;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Disks: system (qcow2), cdrom (raw, read-only), data (qcow2).</summary>
    private List<VmDisk> OpenDisks()
    {
        foreach (string name in new[] { "system.qcow2", "data.qcow2" })
        {
            if (!File.Exists(_dir.File(name)))
            {
                Qemu.ImgOk("create", "-f", "qcow2", _dir.File(name), DiskSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (!File.Exists(_dir.File("cdrom.raw")))
        {
            File.WriteAllBytes(_dir.File("cdrom.raw"), new byte[1024 * 1024]);
        }

        return
        [
            new VmDisk("system", ImageOpener.Open(_dir.File("system.qcow2"))),
            new VmDisk("cdrom", ImageOpener.Open(_dir.File("cdrom.raw"), new ImageOpenOptions { ReadOnly = true })),
            new VmDisk("data", ImageOpener.Open(_dir.File("data.qcow2"))),
        ];
    }

    private static void Close(List<VmDisk> disks)
    {
        foreach (VmDisk disk in disks)
        {
            disk.Image.Dispose();
        }
    }

    private static byte[] Random(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void SaveWithMemoryPutsTheStateIntoTheFirstWritableDiskAndLoadBringsEverythingBack()
    {
        byte[] state = Random(1, 3 * 1024 * 1024 + 17);
        byte[] systemBefore = Random(2, 64 * 1024);
        byte[] dataBefore = Random(3, 64 * 1024);
        List<VmDisk> disks = OpenDisks();
        var vm = new VmSnapshots(disks);
        disks[0].Image.Write(0, systemBefore);
        disks[2].Image.Write(0, dataBefore);
        SnapshotInfo saved = vm.Save("checkpoint", s => s.Write(state), vmClockNanoseconds: 9_000_000_000);
        Assert.Equal(state.Length, saved.VmStateSize);
        Assert.Equal(["checkpoint"], vm.List().Select(s => s.Name));
        Assert.Equal("system", vm.FindVmStateDisk().Id);

        disks[0].Image.Write(0, Random(4, 64 * 1024));
        disks[2].Image.Write(0, Random(5, 64 * 1024));
        byte[]? loaded = null;
        vm.Load("checkpoint", s =>
        {
            loaded = new byte[s.Length];
            s.ReadExactly(loaded);
        });
        ImageAssert.SameContent(state, loaded, "the state loadvm read");
        var read = new byte[64 * 1024];
        disks[0].Image.Read(0, read);
        ImageAssert.SameContent(systemBefore, read, "the system disk after load");
        disks[2].Image.Read(0, read);
        ImageAssert.SameContent(dataBefore, read, "the data disk after load");
        Close(disks);

        // qemu-img sees one snapshot per writable disk, the state only in the first.
        Assert.Equal(state.Length, QemuVmStateSize("system.qcow2", "checkpoint"));
        Assert.Equal(0, QemuVmStateSize("data.qcow2", "checkpoint"));
        Assert.Equal(0, Qemu.Check(_dir.File("system.qcow2")).ExitCode);
        Assert.Equal(0, Qemu.Check(_dir.File("data.qcow2")).ExitCode);

        disks = OpenDisks();
        new VmSnapshots(disks).Delete("checkpoint");
        Close(disks);
        foreach (string image in new[] { "system.qcow2", "data.qcow2" })
        {
            Assert.Equal(string.Empty, Qemu.ImgOk("snapshot", "-l", _dir.File(image)));
            Assert.Equal(0, Qemu.Check(_dir.File(image)).ExitCode);
        }
    }

    [Fact]
    public void NamedStateDiskDiskOnlySnapshotsAndTheErrorsQemuGives()
    {
        List<VmDisk> disks = OpenDisks();
        try
        {
            var vm = new VmSnapshots(disks);
            vm.Save("on-data", s => s.Write(Random(6, 100_000)), vmClockNanoseconds: 1, vmStateDiskId: "data");
            Assert.Equal(0, ((Qcow2Image)disks[0].Image).Snapshots.Single().VmStateSize);
            Assert.Equal(100_000, ((Qcow2Image)disks[2].Image).Snapshots.Single().VmStateSize);

            // Listed as the state disk sees it: by default the first disk, whose copy holds no state.
            Assert.Equal(0, vm.List().Single().VmStateSize);
            Assert.Equal(100_000, vm.List("data").Single().VmStateSize);
            Assert.Throws<StorageException>(() => vm.FindVmStateDisk("cdrom"));
            Assert.Throws<StorageException>(() => vm.FindVmStateDisk("nonexistent"));

            // A name in use: an error, unless overwriting (HMP savevm does).
            Assert.Throws<StorageException>(() => vm.Save("on-data", null, 2));
            vm.Save("on-data", null, 2, overwrite: true);
            Assert.All(new[] { disks[0], disks[2] }, d => Assert.Equal(0, ((Qcow2Image)d.Image).Snapshots.Single().VmStateSize));

            // A disk-only snapshot cannot be loaded into a running VM, only reverted with it stopped.
            Assert.Throws<StorageException>(() => vm.Load("on-data", _ => { }));
            vm.RevertDisks("on-data");

            // A failure while the state is written leaves no snapshot anywhere.
            Assert.Throws<IOException>(() => vm.Save("broken", s =>
            {
                s.Write(Random(7, 200_000));
                throw new IOException("device state could not be saved");
            }, 3));
            Assert.DoesNotContain(vm.SnapshotDisks, d => ((Qcow2Image)d.Image).Snapshots.Any(s => s.Name == "broken"));

            // A snapshot missing on one disk cannot be loaded.
            ((Qcow2Image)disks[2].Image).CreateSnapshot("only-data");
            Assert.Throws<StorageException>(() => vm.Load("only-data", _ => { }));
            vm.Delete("only-data");
            Assert.Throws<StorageException>(() => vm.Delete("only-data"));
        }
        finally
        {
            Close(disks);
        }

        Assert.Equal(0, Qemu.Check(_dir.File("system.qcow2")).ExitCode);
        Assert.Equal(0, Qemu.Check(_dir.File("data.qcow2")).ExitCode);
    }

    [Fact]
    public void AWritableRawDiskMakesSnapshotsImpossible()
    {
        File.WriteAllBytes(_dir.File("scratch.raw"), new byte[1024 * 1024]);
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("system.qcow2"), "1M");
        using DiskImage system = ImageOpener.Open(_dir.File("system.qcow2"));
        using DiskImage scratch = ImageOpener.Open(_dir.File("scratch.raw"));
        var vm = new VmSnapshots([new VmDisk("system", system), new VmDisk("scratch", scratch)]);
        StorageException error = Assert.Throws<StorageException>(() => vm.Save("s", null, 0));
        Assert.Contains("scratch", error.Message);
        Assert.Empty(((Qcow2Image)system).Snapshots);
    }

    private long QemuVmStateSize(string image, string name)
    {
        using JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", _dir.File(image)));
        return info.RootElement.GetProperty("snapshots").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name).GetProperty("vm-state-size").GetInt64();
    }
}
