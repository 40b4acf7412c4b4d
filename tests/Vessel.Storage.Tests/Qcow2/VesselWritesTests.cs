using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>Images written by Vessel pass qemu-img check and read back in qemu-img as Vessel wrote them.</summary>
public sealed class VesselWritesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Random writes, zeroes and discards on the image and on a byte array.</summary>
    private static byte[] Scribble(IBlockDevice disk, int seed, int ops)
    {
        var model = new byte[disk.Length];
        ImageAssert.ReadAll(disk).CopyTo(model, 0);
        var random = new Random(seed);
        for (int i = 0; i < ops; i++)
        {
            int length = random.Next(3) switch
            {
                0 => random.Next(1, 8) * 512,
                1 => random.Next(1, 40) * 4096,
                _ => random.Next(1, 600_000) & ~511,
            };
            length = Math.Max(512, Math.Min(length, (int)disk.Length));
            long offset = random.NextInt64(0, disk.Length - length + 1) & ~511L;
            int kind = random.Next(10);
            if (kind < 7)
            {
                var data = new byte[length];
                random.NextBytes(data);
                disk.Write(offset, data);
                data.CopyTo(model, offset);
            }
            else if (kind < 9)
            {
                disk.WriteZeroes(offset, length, mayUnmap: kind == 7);
                Array.Clear(model, (int)offset, length);
            }
            else
            {
                disk.Discard(offset, length);

                // A discard may leave data in place: take what the image reads back, then check it
                // only ever reads back as before or zeroes.
                var after = new byte[length];
                disk.Read(offset, after);
                for (int b = 0; b < length; b++)
                {
                    Assert.True(after[b] == 0 || after[b] == model[offset + b], $"discard at {offset} left byte {b} as {after[b]}");
                }

                after.CopyTo(model, offset);
            }
        }

        return model;
    }

    [Theory]
    [InlineData(65536, 3, 16, false, false)]
    [InlineData(512, 3, 16, false, false)]
    [InlineData(4096, 3, 1, false, false)]
    [InlineData(4096, 3, 64, false, false)]
    [InlineData(16384, 3, 32, false, false)]
    [InlineData(1024, 3, 2, false, false)]
    [InlineData(2 * 1024 * 1024, 3, 16, false, false)]
    [InlineData(65536, 2, 16, false, false)]
    [InlineData(65536, 3, 8, true, false)]
    [InlineData(32768, 3, 16, false, true)]
    public void ImagesCreatedAndWrittenByVesselPassQemuCheck(int clusterSize, int version, int refcountBits, bool lazy, bool extendedL2)
    {
        string image = _dir.File("v.qcow2");
        const long size = 12L * 1024 * 1024 + 4096;
        Qcow2Creator.Create(image, size, new Qcow2CreateOptions { ClusterSize = clusterSize, Version = version, RefcountBits = refcountBits, LazyRefcounts = lazy, ExtendedL2 = extendedL2 });
        byte[] model;
        using (DiskImage disk = ImageOpener.Open(image))
        {
            model = Scribble(disk, clusterSize + version, 120);
            ImageAssert.SameContent(model, ImageAssert.ReadAll(disk), "before reopening");
        }

        ImageAssert.QemuCheckClean(image);
        ImageAssert.SameContent(model, Qemu.Content(image, _dir.Path), "as qemu-img reads it");
        using (DiskImage disk = ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true }))
        {
            ImageAssert.SameContent(model, ImageAssert.ReadAll(disk), "after reopening");
            CheckResult check = Qcow2Check.Run((Qcow2Image)disk, CheckRepair.None);
            Assert.True(check.IsClean, string.Join('\n', check.Messages));
        }
    }

    [Theory]
    [InlineData("cluster_size=65536")]
    [InlineData("cluster_size=512,refcount_bits=4")]
    [InlineData("compat=0.10")]
    [InlineData("compression_type=zstd")]
    public void QemuMadeImagesWrittenByVesselStayConsistent(string options)
    {
        string image = _dir.File("q.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", options, image, "10M");
        Qemu.Io(image, "qcow2", "write -P 0x5a 0 3M", "write -c -P 0x6b 4M 64k", "write -z 5M 1M");
        byte[] model;
        using (DiskImage disk = ImageOpener.Open(image))
        {
            model = Scribble(disk, 99, 80);
        }

        ImageAssert.QemuCheckClean(image);
        ImageAssert.SameContent(model, Qemu.Content(image, _dir.Path), options);
    }

    [Fact]
    public void WritesToAnOverlayCopyOnWriteFromTheBackingFile()
    {
        string baseImage = _dir.File("base.qcow2");
        string overlay = _dir.File("overlay.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", baseImage, "4M");
        Qemu.Io(baseImage, "qcow2", "write -P 0x77 0 4M");
        byte[] baseBefore = File.ReadAllBytes(baseImage);
        Qcow2Creator.Create(overlay, 6L * 1024 * 1024, new Qcow2CreateOptions { BackingFile = "base.qcow2", BackingFormat = ImageFormat.Qcow2, ClusterSize = 65536 });
        byte[] model;
        using (DiskImage disk = ImageOpener.Open(overlay))
        {
            Assert.True(disk.Backing!.IsReadOnly);
            model = Scribble(disk, 5, 100);
        }

        Assert.Equal(baseBefore, File.ReadAllBytes(baseImage));
        ImageAssert.QemuCheckClean(overlay);
        ImageAssert.SameContent(model, Qemu.Content(overlay, _dir.Path), "overlay");
    }

    [Fact]
    public void CompressedWritesAreReadByQemu()
    {
        foreach (bool zstd in new[] { false, true })
        {
            string image = _dir.File(zstd ? "z.qcow2" : "d.qcow2");
            Qcow2Creator.Create(image, 2L * 1024 * 1024 + 512, new Qcow2CreateOptions { Zstd = zstd });
            var expected = new byte[2 * 1024 * 1024 + 512];
            using (var disk = (Qcow2Image)ImageOpener.Open(image))
            {
                var random = new Random(3);
                for (long offset = 0; offset < disk.Length; offset += disk.ClusterSize)
                {
                    int n = (int)Math.Min(disk.ClusterSize, disk.Length - offset);
                    var cluster = new byte[n];
                    if (offset / disk.ClusterSize % 2 == 0)
                    {
                        cluster.AsSpan().Fill((byte)(offset / disk.ClusterSize));
                        random.NextBytes(cluster.AsSpan(0, 100));
                    }
                    else
                    {
                        random.NextBytes(cluster);
                    }

                    disk.WriteCompressed(offset, cluster);
                    cluster.CopyTo(expected, offset);
                }

                ImageAssert.SameContent(expected, ImageAssert.ReadAll(disk), "vessel reads its compressed clusters");
            }

            ImageAssert.QemuCheckClean(image);
            ImageAssert.SameContent(expected, Qemu.Content(image, _dir.Path), zstd ? "zstd" : "deflate");
            string map = Qemu.ImgOk("map", "--output=json", image);
            Assert.Contains("\"data\": true", map);
        }
    }

    [Fact]
    public void GrowingPastTheRefcountTableMovesItAndQemuAgrees()
    {
        // 512-byte clusters with 64-bit refcounts: one refcount block covers 32 KiB, one table
        // cluster 2 MiB, so a 12 MiB write forces table growth more than once.
        string image = _dir.File("g.qcow2");
        Qcow2Creator.Create(image, 16L * 1024 * 1024, new Qcow2CreateOptions { ClusterSize = 512, RefcountBits = 64 });
        var data = new byte[12 * 1024 * 1024];
        new Random(1).NextBytes(data);
        using (DiskImage disk = ImageOpener.Open(image))
        {
            for (int offset = 0; offset < data.Length; offset += 1024 * 1024)
            {
                disk.Write(offset, data.AsSpan(offset, 1024 * 1024));
            }
        }

        ImageAssert.QemuCheckClean(image);
        ImageAssert.SameContent(data, Qemu.Content(image, _dir.Path).AsSpan(0, data.Length), "grown image");
    }
}
