using System.Text.Json;
using Vessel.Storage.Host;
using Vessel.Storage.Operations;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>
/// Crashes injected at every mutation of the metadata operations (snapshots, resize, refcount
/// table growth, commit, rebase, convert), in kill mode (every write made survives) and in
/// power-loss mode (only synced writes plus the last one survive). After each crash, qemu-img
/// check and Vessel's check must find at worst leaks, the disk must show the content from
/// before or after the operation, each listed snapshot must read back its own content, and the
/// image must stay usable (writing all over it must not disturb the snapshots).
/// </summary>
public sealed partial class MetadataCrashTests : IDisposable
{
    private const int Cluster = 512;
    private const long DiskSize = 192 * 1024;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CrashMode Mode(bool powerLoss) => powerLoss ? CrashMode.PowerLoss : CrashMode.Kill;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SnapshotCreate(bool powerLoss)
    {
        string image = _dir.File("create.qcow2");
        (byte[] s1, byte[] active) = ImageWithOneSnapshot(image);
        int runs = CrashPoints.Explore([image], () => Snapshot(image, q => q.CreateSnapshot("s2")), (n, _) =>
        {
            string what = $"snapshot create, crash at {n}";
            CheckConsistent(image, what);
            string[] names = SnapshotNames(image);
            Assert.True(names.SequenceEqual(["s1"]) || names.SequenceEqual(["s1", "s2"]), $"{what}: snapshots {string.Join(',', names)}");
            ImageAssert.SameContent(active, ActiveContent(image), what);
            var expected = new Dictionary<string, byte[]> { ["s1"] = s1, ["s2"] = active };
            CheckSnapshots(image, names, expected, what);
            StillUsable(image, names, expected, what);
        }, Mode(powerLoss));
        Assert.True(runs > 10, $"only {runs} crash points");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SnapshotApply(bool powerLoss)
    {
        string image = _dir.File("apply.qcow2");
        (byte[] s1, byte[] active) = ImageWithOneSnapshot(image);
        int runs = CrashPoints.Explore([image], () => Snapshot(image, q => q.ApplySnapshot("s1")), (n, _) =>
        {
            string what = $"snapshot apply, crash at {n}";
            CheckConsistent(image, what);
            string[] names = SnapshotNames(image);
            Assert.True(names.SequenceEqual(["s1"]), $"{what}: snapshots {string.Join(',', names)}");
            byte[] now = ActiveContent(image);
            Assert.True(now.AsSpan().SequenceEqual(active) || now.AsSpan().SequenceEqual(s1), $"{what}: the disk is neither the old content nor the snapshot's");
            if (n == -1)
            {
                ImageAssert.SameContent(s1, now, what);
            }

            var expected = new Dictionary<string, byte[]> { ["s1"] = s1 };
            CheckSnapshots(image, names, expected, what);
            StillUsable(image, names, expected, what);
        }, Mode(powerLoss));
        Assert.True(runs > 10, $"only {runs} crash points");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SnapshotDelete(bool powerLoss)
    {
        string image = _dir.File("delete.qcow2");
        (byte[] s1, byte[] active) = ImageWithOneSnapshot(image);
        Snapshot(image, q => q.CreateSnapshot("s2"));
        Write(image, 77, 100 * 1024, 20 * 1024);
        byte[] current = ActiveContent(image);
        int runs = CrashPoints.Explore([image], () => Snapshot(image, q => q.DeleteSnapshot("s1")), (n, _) =>
        {
            string what = $"snapshot delete, crash at {n}";
            CheckConsistent(image, what);
            string[] names = SnapshotNames(image);
            Assert.True(names.SequenceEqual(["s1", "s2"]) || names.SequenceEqual(["s2"]), $"{what}: snapshots {string.Join(',', names)}");
            ImageAssert.SameContent(current, ActiveContent(image), what);
            var expected = new Dictionary<string, byte[]> { ["s1"] = s1, ["s2"] = active };
            CheckSnapshots(image, names, expected, what);
            StillUsable(image, names, expected, what);
        }, Mode(powerLoss));
        Assert.True(runs > 5, $"only {runs} crash points");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ResizeGrowRelocatesL1(bool powerLoss, bool withBacking)
    {
        string image = _dir.File("grow.qcow2");
        byte[]? backingContent = null;
        if (withBacking)
        {
            // A backing file longer than the image: growing must hide what it holds past the old end.
            backingContent = new byte[DiskSize * 2];
            new Random(5).NextBytes(backingContent);
            File.WriteAllBytes(_dir.File("grow-base.raw"), backingContent);
        }

        // The header with a backing file name needs more than 512 bytes.
        int cluster = withBacking ? 1024 : Cluster;
        Qcow2Creator.Create(image, DiskSize - 1024, new Qcow2CreateOptions
        {
            ClusterSize = cluster,
            BackingFile = withBacking ? "grow-base.raw" : null,
            BackingFormat = withBacking ? ImageFormat.Raw : null,
        });
        Write(image, 3, 0, 40 * 1024);
        Write(image, 4, DiskSize - 4096, 2048);
        byte[] before = ActiveContent(image);

        // 192 KiB use 6 L1 entries (one cluster); 4 MiB in 512-byte clusters need 128 (two
        // clusters), 20 MiB in 1 KiB clusters need 160 (two clusters): the L1 moves.
        long NewSize = withBacking ? 20L * 1024 * 1024 : 4L * 1024 * 1024;
        int runs = CrashPoints.Explore([image], () => Resize(image, NewSize, shrink: false), (n, _) =>
        {
            string what = $"grow, crash at {n}";
            CheckConsistent(image, what);
            byte[] now = ActiveContent(image);
            if (now.Length == before.Length)
            {
                ImageAssert.SameContent(before, now, what);
            }
            else
            {
                Assert.Equal(NewSize, now.Length);
                var expected = new byte[NewSize];
                before.CopyTo(expected, 0);
                ImageAssert.SameContent(expected, now, what);
            }

            StillUsable(image, [], [], what);
        }, Mode(powerLoss));
        Assert.True(runs > 3, $"only {runs} crash points");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ResizeShrink(bool powerLoss)
    {
        string image = _dir.File("shrink.qcow2");
        Qcow2Creator.Create(image, DiskSize, new Qcow2CreateOptions { ClusterSize = Cluster });
        Write(image, 3, 0, (int)DiskSize);
        byte[] before = ActiveContent(image);
        const long NewSize = 50 * 1024 + 512;
        int runs = CrashPoints.Explore([image], () => Resize(image, NewSize, shrink: true), (n, _) =>
        {
            string what = $"shrink, crash at {n}";
            CheckConsistent(image, what);
            byte[] now = ActiveContent(image);
            Assert.True(now.Length == before.Length || now.Length == NewSize, $"{what}: size {now.Length}");
            ImageAssert.SameContent(before.AsSpan(0, now.Length), now, what);
            StillUsable(image, [], [], what);
        }, Mode(powerLoss));
        Assert.True(runs > 3, $"only {runs} crash points");
    }

    /// <summary>A write that needs more refcount blocks than the refcount table can point at: the table moves.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RefcountTableGrowth(bool powerLoss)
    {
        string image = _dir.File("reftable.qcow2");

        // 64-bit refcounts in 512-byte clusters: a block covers 64 clusters and the one-cluster
        // table 64 blocks, so 2 MiB of file fill it.
        const long Size = 4L * 1024 * 1024;
        Qcow2Creator.Create(image, Size, new Qcow2CreateOptions { ClusterSize = Cluster, RefcountBits = 64 });
        Write(image, 8, 0, (int)(1.9 * 1024 * 1024));
        byte[] before = ActiveContent(image);
        byte[] data = Pattern(9, 256 * 1024);
        const long At = 2L * 1024 * 1024;
        int runs = CrashPoints.Explore([image], () =>
        {
            using DiskImage disk = ImageOpener.Open(image);
            disk.Write(At, data);
            disk.Flush();
        }, (n, _) =>
        {
            string what = $"refcount table growth, crash at {n}";
            CheckConsistent(image, what);
            byte[] now = ActiveContent(image);
            ImageAssert.SameContent(before.AsSpan(0, (int)At), now.AsSpan(0, (int)At), what);
            for (int i = 0; i < data.Length; i++)
            {
                byte b = now[At + i];
                Assert.True(b == before[At + i] || b == data[i], $"{what}: byte {At + i} holds 0x{b:x2}, which nobody wrote");
            }

            if (n == -1)
            {
                ImageAssert.SameContent(data, now.AsSpan((int)At, data.Length), what);
            }
        }, Mode(powerLoss), maxPoints: 120);
        Assert.True(runs > 3, $"only {runs} crash points");
    }

    [Theory]
    [InlineData("Kill")]
    [InlineData("PowerLoss")]
    [InlineData("TornKeepsFirstSector")]
    [InlineData("TornLosesFirstSector")]
    public void Commit(string modeName)
    {
        var mode = Enum.Parse<CrashMode>(modeName);

        // The torn modes differ from power loss only at multi-sector writes: fewer points do.
        int maxPoints = mode is CrashMode.TornKeepsFirstSector or CrashMode.TornLosesFirstSector ? 40 : 150;
        string base_ = _dir.File("commit-base.qcow2");
        string top = _dir.File("commit-top.qcow2");
        Qcow2Creator.Create(base_, DiskSize, new Qcow2CreateOptions { ClusterSize = Cluster });
        Write(base_, 1, 0, (int)DiskSize);
        Qcow2Creator.Create(top, DiskSize, new Qcow2CreateOptions { ClusterSize = 1024, BackingFile = "commit-base.qcow2", BackingFormat = ImageFormat.Qcow2 });
        Write(top, 2, 10 * 1024, 50 * 1024);
        Write(top, 3, 120 * 1024, 30 * 1024 + 512);
        using (DiskImage t = ImageOpener.Open(top))
        {
            t.WriteZeroes(90 * 1024, 8192, mayUnmap: true);
        }

        byte[] view = ActiveContent(top);
        int runs = CrashPoints.Explore([base_, top], () => ImageCommitter.Commit(top, ImageFormat.Qcow2), (n, _) =>
        {
            string what = $"commit, crash at {n}";
            CheckConsistent(base_, what + " (base)");
            CheckConsistent(top, what + " (top)");
            ImageAssert.SameContent(view, ActiveContent(top), what + ": the top's view changed");
            if (n == -1)
            {
                ImageAssert.SameContent(view, ActiveContent(base_), what + ": the base");
            }
        }, mode, maxPoints);
        Assert.True(runs > 10, $"only {runs} crash points");
    }

    [Theory]
    [InlineData("Kill")]
    [InlineData("PowerLoss")]
    [InlineData("TornKeepsFirstSector")]
    [InlineData("TornLosesFirstSector")]
    public void SafeRebase(string modeName)
    {
        var mode = Enum.Parse<CrashMode>(modeName);

        // The torn modes differ from power loss only at multi-sector writes: fewer points do.
        int maxPoints = mode is CrashMode.TornKeepsFirstSector or CrashMode.TornLosesFirstSector ? 40 : 150;
        string oldBase = _dir.File("rebase-old.qcow2");
        string newBase = _dir.File("rebase-new.qcow2");
        string top = _dir.File("rebase-top.qcow2");
        Qcow2Creator.Create(oldBase, DiskSize, new Qcow2CreateOptions { ClusterSize = Cluster });
        Write(oldBase, 1, 0, (int)DiskSize);
        Qcow2Creator.Create(newBase, DiskSize, new Qcow2CreateOptions { ClusterSize = Cluster });
        Write(newBase, 1, 0, 64 * 1024);
        Write(newBase, 5, 64 * 1024, 16 * 1024);
        Qcow2Creator.Create(top, DiskSize, new Qcow2CreateOptions { ClusterSize = 1024, BackingFile = "rebase-old.qcow2", BackingFormat = ImageFormat.Qcow2 });
        Write(top, 2, 30 * 1024, 60 * 1024);
        byte[] view = ActiveContent(top);
        int runs = CrashPoints.Explore([top], () => ImageRebaser.Rebase(top, ImageFormat.Qcow2, "rebase-new.qcow2", ImageFormat.Qcow2, unsafeMode: false), (n, _) =>
        {
            string what = $"rebase, crash at {n}";
            CheckConsistent(top, what);
            ImageAssert.SameContent(view, ActiveContent(top), what + ": the top's view changed");
            if (n == -1)
            {
                using var q = (Qcow2Image)ImageOpener.Open(top, new ImageOpenOptions { ReadOnly = true, OpenBacking = false });
                Assert.Equal("rebase-new.qcow2", q.BackingFileName);
            }
        }, mode, maxPoints);
        Assert.True(runs > 10, $"only {runs} crash points");
    }

    /// <summary>
    /// rebase -u changes only the header: after a crash at any write, torn at a sector boundary
    /// or not, both qemu-img and Vessel must read the old backing file with its format or the
    /// new one with its format, and the disk must show the matching chain.
    /// </summary>
    [Theory]
    [InlineData("Kill", "swap-format", 1024)]
    [InlineData("PowerLoss", "swap-format", 1024)]
    [InlineData("TornKeepsFirstSector", "swap-format", 1024)]
    [InlineData("TornLosesFirstSector", "swap-format", 1024)]
    [InlineData("TornKeepsFirstSector", "add-format", 1024)]
    [InlineData("TornLosesFirstSector", "add-format", 1024)]
    [InlineData("TornKeepsFirstSector", "remove", 1024)]
    [InlineData("TornLosesFirstSector", "remove", 1024)]
    [InlineData("TornKeepsFirstSector", "add", 1024)]
    [InlineData("TornLosesFirstSector", "add", 1024)]
    [InlineData("TornKeepsFirstSector", "long-name", 1024)]
    [InlineData("TornLosesFirstSector", "long-name", 1024)]
    [InlineData("TornKeepsFirstSector", "swap-format", 65536)]
    [InlineData("TornLosesFirstSector", "swap-format", 65536)]
    [InlineData("TornKeepsFirstSector", "swap-format", 512)]
    [InlineData("TornLosesFirstSector", "swap-format", 512, 3, true)]
    [InlineData("TornKeepsFirstSector", "long-name", 1024, 2)]
    [InlineData("TornLosesFirstSector", "add-format", 1024, 2)]
    [InlineData("TornKeepsFirstSector", "swap-format", 1024, 3, true)]
    [InlineData("TornLosesFirstSector", "swap-format", 1024, 3, true)]
    [InlineData("TornKeepsFirstSector", "long-name", 1024, 3, true)]
    [InlineData("TornLosesFirstSector", "remove", 1024, 2, true)]
    public void UnsafeRebaseHeader(string modeName, string change, int clusterSize, int version = 3, bool qemuMade = false)
    {
        var mode = Enum.Parse<CrashMode>(modeName);
        string oldBase = _dir.File("hdr-old-base.raw");
        string newBase = _dir.File("hdr-new-base-with-a-name-long-enough-to-need-room.raw");
        if (change == "long-name")
        {
            // 600 bytes of name: with the feature name table it no longer fits in a 1 KiB header.
            string nested = _dir.File(string.Join('/', Enumerable.Range(0, 4).Select(i => new string((char)('a' + i), 140))));
            Directory.CreateDirectory(nested);
            newBase = Path.Combine(nested, "new.raw");
        }

        string top = _dir.File("hdr-top.qcow2");
        File.WriteAllBytes(oldBase, Pattern(11, (int)DiskSize));
        File.WriteAllBytes(newBase, Pattern(12, (int)DiskSize));
        (string? Name, string? Format) before = change switch
        {
            "add" => (null, null),
            "add-format" => (Path.GetFileName(oldBase), null),
            _ => (Path.GetFileName(oldBase), "raw"),
        };
        (string? Name, string? Format) after = change == "remove" ? (null, null) : (Path.GetRelativePath(_dir.Path, newBase), "raw");
        if (qemuMade)
        {
            // qemu-img's own header layout (its feature name table is longer than Vessel's).
            Qemu.ImgOkIn(_dir.Path, "create", "-f", "qcow2", "-o", $"cluster_size={clusterSize},compat={(version == 2 ? "0.10" : "1.1")}", "-b", before.Name!, "-F", before.Format!, top, DiskSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            Qcow2Creator.Create(top, DiskSize, new Qcow2CreateOptions
            {
                ClusterSize = clusterSize,
                Version = version,
                BackingFile = before.Name,
                BackingFormat = before.Format is null ? null : ImageFormat.Raw,
            });
        }

        Write(top, 2, 20 * 1024, 30 * 1024);
        byte[] oldView = Qemu.Content(top, _dir.Path);

        // What qemu-img itself makes of the same rebase is the expected new view.
        string reference = _dir.File("hdr-reference.qcow2");
        File.Copy(top, reference, overwrite: true);
        Qemu.ImgOk(["rebase", "-u", "-b", after.Name ?? string.Empty, .. after.Format is null ? Array.Empty<string>() : ["-F", after.Format], reference]);
        byte[] newView = Qemu.Content(reference, _dir.Path);

        int runs = CrashPoints.Explore([top], () => ImageRebaser.Rebase(top, ImageFormat.Qcow2, after.Name ?? string.Empty, after.Name is null ? null : ImageFormat.Raw, unsafeMode: true), (n, _) =>
        {
            string what = $"rebase -u ({change}, {clusterSize}-byte clusters, v{version}{(qemuMade ? ", made by qemu-img" : string.Empty)}), crash at {n}";
            CheckConsistent(top, what);
            (string? Name, string? Format) vessel;
            using (var q = (Qcow2Image)ImageOpener.Open(top, new ImageOpenOptions { ReadOnly = true, OpenBacking = false }))
            {
                vessel = (q.BackingFileName, q.BackingFormatName);
            }

            Assert.True(vessel == before || vessel == after, $"{what}: Vessel reads backing file '{vessel.Name}' format '{vessel.Format}'");
            if (n == -1)
            {
                Assert.Equal(after, vessel);
            }

            using JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", top));
            JsonElement root = info.RootElement;
            (string? Name, string? Format) qemu = (
                root.TryGetProperty("backing-filename", out JsonElement b) ? b.GetString() : null,
                root.TryGetProperty("backing-filename-format", out JsonElement f) ? f.GetString() : null);
            if (vessel.Format is null && qemu.Format is not null)
            {
                // Without a format in the header qemu-img reports the one it probed.
                qemu.Format = null;
            }

            Assert.True(qemu == vessel, $"{what}: qemu-img reads backing file '{qemu.Name}' format '{qemu.Format}', Vessel '{vessel.Name}' '{vessel.Format}'");
            ImageAssert.SameContent(vessel == after ? newView : oldView, Qemu.Content(top, _dir.Path), what);
        }, mode);
        Assert.True(runs >= 1, $"only {runs} crash points");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ConvertToQcow2(bool powerLoss, bool unsafeCache)
    {
        string source = _dir.File("convert-src.raw");
        string target = _dir.File("convert-dst.qcow2");
        var content = new byte[DiskSize];
        Pattern(4, 70 * 1024).CopyTo(content, 8192);
        Pattern(6, 40 * 1024).CopyTo(content, 130 * 1024);
        File.WriteAllBytes(source, content);
        int runs = CrashPoints.Explore([target], () => ImageConverter.Convert(source, target, new ConvertOptions
        {
            TargetFormat = ImageFormat.Qcow2,
            Qcow2 = new Qcow2CreateOptions { ClusterSize = Cluster },
            UnsafeCache = unsafeCache,
        }), (n, _) => VerifyConvertTarget(target, n, content, new byte[content.Length], $"convert, crash at {n}"), Mode(powerLoss), maxPoints: 150);
        Assert.True(runs > 5, $"only {runs} crash points");
    }

    /// <summary>
    /// convert -B: until a cluster is written the target shows the backing file there, so after
    /// any crash each cluster reads as the source's or the backing file's.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ConvertOntoBackingFile(bool powerLoss)
    {
        string backing = _dir.File("convert-base.qcow2");
        string source = _dir.File("convert-full.raw");
        string target = _dir.File("convert-delta.qcow2");
        Qcow2Creator.Create(backing, DiskSize, new Qcow2CreateOptions { ClusterSize = Cluster });
        Write(backing, 1, 0, (int)DiskSize);
        byte[] shown = ActiveContent(backing);
        byte[] content = (byte[])shown.Clone();
        Pattern(4, 20 * 1024).CopyTo(content, 8192);
        Array.Clear(content, 100 * 1024, 16 * 1024);
        Pattern(6, 4096).CopyTo(content, 150 * 1024);
        File.WriteAllBytes(source, content);
        int runs = CrashPoints.Explore([target], () => ImageConverter.Convert(source, target, new ConvertOptions
        {
            TargetFormat = ImageFormat.Qcow2,
            Qcow2 = new Qcow2CreateOptions { ClusterSize = Cluster },
            BackingFile = "convert-base.qcow2",
            BackingFormat = ImageFormat.Qcow2,
            UnsafeCache = false,
        }), (n, _) => VerifyConvertTarget(target, n, content, shown, $"convert -B, crash at {n}"), Mode(powerLoss), maxPoints: 60);
        Assert.True(runs > 5, $"only {runs} crash points");
    }

    // ---- helpers -------------------------------------------------------------------------

    /// <summary>An image with snapshot s1 and then more writes; returns (s1's content, the active content).</summary>
    private (byte[] S1, byte[] Active) ImageWithOneSnapshot(string image)
    {
        Qcow2Creator.Create(image, DiskSize, new Qcow2CreateOptions { ClusterSize = Cluster });
        Write(image, 1, 0, 96 * 1024);
        Write(image, 2, 150 * 1024, 10 * 1024 + 512);
        Snapshot(image, q => q.CreateSnapshot("s1"));
        byte[] s1 = ActiveContent(image);
        Write(image, 3, 32 * 1024, 100 * 1024);
        using (DiskImage disk = ImageOpener.Open(image))
        {
            disk.Discard(64 * 1024, 8192);
        }

        return (s1, ActiveContent(image));
    }

    private static byte[] Pattern(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void Write(string image, int seed, long offset, int length)
    {
        using DiskImage disk = ImageOpener.Open(image);
        disk.Write(offset, Pattern(seed, length));
    }

    private static void Snapshot(string image, Action<Qcow2Image> action)
    {
        using var q = (Qcow2Image)ImageOpener.Open(image);
        action(q);
    }

    private static void Resize(string image, long size, bool shrink)
    {
        using DiskImage disk = ImageOpener.Open(image);
        disk.Resize(size, shrink);
    }

    private static byte[] ActiveContent(string image)
    {
        using DiskImage disk = ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true });
        return ImageAssert.ReadAll(disk);
    }

    private static string[] SnapshotNames(string image)
    {
        using var q = (Qcow2Image)ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true, OpenBacking = false });
        return q.Snapshots.Select(s => s.Name).ToArray();
    }

    private static bool StartsWithQcow2Magic(string path)
    {
        using FileStream f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.Read(magic) == 4 && magic.SequenceEqual((ReadOnlySpan<byte>)[0x51, 0x46, 0x49, 0xfb]);
    }

    /// <summary>
    /// What a crashed convert may leave: no image yet (the header is written last), or an image
    /// that checks clean whose every cluster reads as the source's or as what the target showed
    /// before it was written (<paramref name="before"/>: zeroes, or the backing file's data).
    /// </summary>
    private static void VerifyConvertTarget(string target, int n, byte[] content, byte[] before, string what)
    {
        if (!File.Exists(target) || !StartsWithQcow2Magic(target))
        {
            // The creator died before the header: not an image yet, so not a corrupt one.
            Assert.True(n >= 0, $"{what}: no image after a complete conversion");
            return;
        }

        CheckConsistent(target, what);
        byte[] now = ActiveContent(target);
        Assert.Equal(content.Length, now.Length);
        for (int c = 0; c < now.Length; c += Cluster)
        {
            ReadOnlySpan<byte> got = now.AsSpan(c, Cluster);
            Assert.True(got.SequenceEqual(content.AsSpan(c, Cluster)) || got.SequenceEqual(before.AsSpan(c, Cluster)), $"{what}: cluster at {c} is neither the source's nor what was there before");
        }

        if (n == -1)
        {
            ImageAssert.SameContent(content, now, what);
        }
    }

    /// <summary>qemu-img check and Vessel's check: leaks allowed, nothing else.</summary>
    private static void CheckConsistent(string image, string what)
    {
        ProcessResult qemu = Qemu.Check(image);
        Assert.True(qemu.ExitCode is 0 or 3, $"{what}: qemu-img check: {qemu}");
        using var q = (Qcow2Image)ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true, OpenBacking = false });
        CheckResult check = q.Check(CheckRepair.None);
        Assert.True(check.Corruptions == 0 && check.CheckErrors == 0, $"{what}: vessel check: {string.Join('\n', check.Messages.Take(10))}");
    }

    private void CheckSnapshots(string image, string[] names, Dictionary<string, byte[]> expected, string what)
    {
        foreach (string name in names)
        {
            string raw = _dir.File("snapshot.raw");
            Qemu.ImgOk("convert", "-l", $"snapshot.name={name}", "-O", "raw", image, raw);
            ImageAssert.SameContent(expected[name], File.ReadAllBytes(raw), $"{what}: snapshot {name}");
        }
    }

    /// <summary>
    /// The crashed image takes new writes everywhere without harming its snapshots: a cluster
    /// whose refcount is too low or whose COPIED flag lies would be overwritten in place.
    /// </summary>
    private void StillUsable(string image, string[] names, Dictionary<string, byte[]> expected, string what)
    {
        string copy = _dir.File("usable.qcow2");
        File.Copy(image, copy, overwrite: true);
        using (DiskImage disk = ImageOpener.Open(copy))
        {
            disk.Write(0, Pattern(99, (int)disk.Length));
            disk.Flush();
        }

        CheckConsistent(copy, what + ", then written all over");
        CheckSnapshots(copy, names, expected, what + ", then written all over");
    }
}
