using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>Images made by qemu-img and qemu-io read back in Vessel exactly as qemu-img converts them to raw.</summary>
public sealed class QemuImagesReadTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void FillPatterns(string image, string format, long size, int clusterSize)
    {
        // Data in scattered places, a zeroed range, a discarded range, partial clusters.
        Qemu.Io(image, format,
            "write -P 0x11 0 4k",
            $"write -P 0x22 {clusterSize / 2} {clusterSize}",
            $"write -P 0x33 {size / 2} 100k",
            $"write -z {size / 2 + 8192} 16k",
            $"write -P 0x44 {size - 8192} 8k",
            $"discard {size / 2 + 65536} 32k");
    }

    [Theory]
    [InlineData(512, "compat=1.1")]
    [InlineData(4096, "compat=1.1")]
    [InlineData(65536, "compat=1.1")]
    [InlineData(2 * 1024 * 1024, "compat=1.1")]
    [InlineData(65536, "compat=0.10")]
    [InlineData(65536, "refcount_bits=1")]
    [InlineData(4096, "refcount_bits=64")]
    [InlineData(65536, "refcount_bits=2")]
    [InlineData(65536, "refcount_bits=4")]
    [InlineData(65536, "refcount_bits=8")]
    [InlineData(8192, "refcount_bits=32")]
    [InlineData(65536, "lazy_refcounts=on")]
    [InlineData(65536, "extended_l2=on")]
    [InlineData(32768, "extended_l2=on")]
    public void ReadsQemuWrittenImages(int clusterSize, string option)
    {
        string image = _dir.File("q.qcow2");
        const long size = 8L * 1024 * 1024;
        Qemu.ImgOk("create", "-f", "qcow2", "-o", $"cluster_size={clusterSize},{option}", image, size.ToString());
        FillPatterns(image, "qcow2", size, clusterSize);
        byte[] expected = Qemu.Content(image, _dir.Path);

        using DiskImage disk = ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true });
        Assert.Equal(ImageFormat.Qcow2, disk.Format);
        ImageAssert.SameContent(expected, ImageAssert.ReadAll(disk), $"{clusterSize} {option}");
    }

    [Theory]
    [InlineData("zlib", 65536)]
    [InlineData("zstd", 65536)]
    [InlineData("zlib", 4096)]
    [InlineData("zstd", 2 * 1024 * 1024)]
    public void ReadsCompressedImages(string compression, int clusterSize)
    {
        string source = _dir.File("src.raw");
        var data = new byte[3 * 1024 * 1024 + 4096];
        var random = new Random(7);
        for (int i = 0; i < data.Length; i += 4096)
        {
            // Compressible text-like runs mixed with random blocks.
            if (i / 4096 % 3 == 0)
            {
                random.NextBytes(data.AsSpan(i, 4096));
            }
            else
            {
                data.AsSpan(i, 4096).Fill((byte)('a' + (i / 4096 % 26)));
            }
        }

        File.WriteAllBytes(source, data);
        string image = _dir.File("c.qcow2");
        Qemu.ImgOk("convert", "-c", "-O", "qcow2", "-o", $"compression_type={compression},cluster_size={clusterSize}", source, image);
        using DiskImage disk = ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true });
        byte[] actual = ImageAssert.ReadAll(disk);
        ImageAssert.SameContent(data, actual.AsSpan(0, data.Length), compression);
    }

    [Fact]
    public void ReadsBackingChainsOfMixedFormats()
    {
        string baseRaw = _dir.File("base.raw");
        string middle = _dir.File("middle.qcow2");
        string top = _dir.File("top.qcow2");
        Qemu.ImgOk("create", "-f", "raw", baseRaw, "4M");
        Qemu.Io(baseRaw, "raw", "write -P 0xaa 0 4M");
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", middle, "6M");
        Qemu.Io(middle, "qcow2", "write -P 0xbb 1M 64k", "write -z 2M 128k", "write -P 0xbc 5M 4k");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "middle.qcow2", "-F", "qcow2", top, "8M");
        Qemu.Io(top, "qcow2", "write -P 0xcc 1M 4k", "write -P 0xcd 3M 512", "discard 0 64k");

        byte[] expected = Qemu.Content(top, _dir.Path);
        using DiskImage disk = ImageOpener.Open(top, new ImageOpenOptions { ReadOnly = true });
        Assert.NotNull(disk.Backing);
        Assert.NotNull(disk.Backing!.Backing);
        Assert.True(disk.Backing.IsReadOnly);
        ImageAssert.SameContent(expected, ImageAssert.ReadAll(disk), "chain");
    }

    [Fact]
    public void ReadsInternalSnapshotsMadeByQemu()
    {
        string image = _dir.File("s.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "2M");
        Qemu.Io(image, "qcow2", "write -P 1 0 1M");
        Qemu.ImgOk("snapshot", "-c", "first", image);
        Qemu.Io(image, "qcow2", "write -P 2 64k 64k");
        Qemu.ImgOk("snapshot", "-c", "second", image);
        Qemu.Io(image, "qcow2", "write -P 3 128k 4k");
        byte[] current = Qemu.Content(image, _dir.Path);

        using (var disk = (Vessel.Storage.Qcow2.Qcow2Image)ImageOpener.Open(image))
        {
            Assert.Equal(["first", "second"], disk.Snapshots.Select(s => s.Name));
            ImageAssert.SameContent(current, ImageAssert.ReadAll(disk), "current");
            disk.ApplySnapshot("first");
        }

        ImageAssert.QemuCheckClean(image);
        byte[] afterApply = Qemu.Content(image, _dir.Path);
        var expected = new byte[2 * 1024 * 1024];
        expected.AsSpan(0, 1024 * 1024).Fill(1);
        ImageAssert.SameContent(expected, afterApply, "after applying 'first'");
    }
}
