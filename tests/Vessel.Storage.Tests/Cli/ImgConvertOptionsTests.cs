using System.Text.Json;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Cli;

/// <summary>
/// `vessel img convert` options known from qemu-img (-B/-F, -S, -l, -n, --target-is-zero),
/// checked with qemu-img: compare, info, map, and qemu-img convert run with the same options.
/// </summary>
public sealed class ImgConvertOptionsTests : IDisposable
{
    private const int Cluster = 65536;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Dir => _dir.Path;

    [Fact]
    public void BackingFileKeepsOnlyTheClustersThatDiffer()
    {
        // base, and a flat image that differs from it in a few clusters: changed data, data
        // zeroed where base has some, data where base reads zeroes, one cluster only partly changed.
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("base.qcow2"), "4M");
        Qemu.Io(_dir.File("base.qcow2"), "qcow2", "write -P 1 0 1M", "write -P 2 2M 512k");
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", _dir.File("over.qcow2"));
        Qemu.Io(_dir.File("over.qcow2"), "qcow2", "write -P 5 128k 64k", "write -z 2M 128k", "write -P 6 3M 64k", "write -P 7 600k 512");
        Qemu.ImgOk("convert", "-O", "qcow2", _dir.File("over.qcow2"), _dir.File("full.qcow2"));

        VesselCli.Ok(Dir, "img", "convert", "-B", "base.qcow2", "-F", "qcow2", "-O", "qcow2", "full.qcow2", "out.qcow2");

        Assert.Equal(0, Qemu.Img("compare", _dir.File("full.qcow2"), _dir.File("out.qcow2")).ExitCode);
        ImageAssert.QemuCheckClean(_dir.File("out.qcow2"));
        using (JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", _dir.File("out.qcow2"))))
        {
            Assert.Equal("base.qcow2", info.RootElement.GetProperty("backing-filename").GetString());
            Assert.Equal("qcow2", info.RootElement.GetProperty("backing-filename-format").GetString());
        }

        // The clusters out.qcow2 holds itself are exactly those where full and base differ.
        byte[] full = Qemu.Content(_dir.File("full.qcow2"), Dir);
        byte[] base_ = Qemu.Content(_dir.File("base.qcow2"), Dir);
        var expected = new SortedSet<long>();
        for (int c = 0; c < full.Length; c += Cluster)
        {
            if (!full.AsSpan(c, Cluster).SequenceEqual(base_.AsSpan(c, Cluster)))
            {
                expected.Add(c);
            }
        }

        Assert.Equal(5, expected.Count);
        Assert.Equal(expected, TopLayerClusters(_dir.File("out.qcow2")));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("4k")]
    [InlineData("128k")]
    [InlineData("1M")]
    public void SparseSizeAllocatesAsQemuImgDoes(string sparse)
    {
        // Zeroes written as data (so that the source reports them as data, and -S decides):
        // 64 KiB between data, 256 KiB after data, then a hole.
        Qemu.ImgOk("create", "-f", "raw", _dir.File("src.raw"), "2M");
        Qemu.Io(_dir.File("src.raw"), "raw", "write -P 1 0 64k", "write -P 0 64k 64k", "write -P 2 128k 64k", "write -P 0 192k 256k", "write -P 3 448k 4k");
        foreach (string format in new[] { "qcow2", "raw" })
        {
            string ours = $"ours-{sparse}.{format}";
            string theirs = $"theirs-{sparse}.{format}";
            VesselCli.Ok(Dir, "img", "convert", "-S", sparse, "-O", format, "src.raw", ours);
            Qemu.ImgOkIn(Dir, "convert", "-S", sparse, "-O", format, "src.raw", theirs);
            Assert.Equal(0, Qemu.Img("compare", _dir.File("src.raw"), _dir.File(ours)).ExitCode);
            Assert.Equal(DataRanges(_dir.File(theirs)), DataRanges(_dir.File(ours)));
        }

        // The measure of -S 0: a fully allocated target.
        if (sparse == "0")
        {
            Assert.Equal([(0L, 2L * 1024 * 1024)], DataRanges(_dir.File("ours-0.qcow2")));
        }
    }

    [Fact]
    public void SnapshotIsConvertedInsteadOfTheActiveDisk()
    {
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("snap.qcow2"), "1M");
        Qemu.Io(_dir.File("snap.qcow2"), "qcow2", "write -P 1 0 256k");
        Qemu.ImgOk("snapshot", "-c", "before", _dir.File("snap.qcow2"));
        Qemu.Io(_dir.File("snap.qcow2"), "qcow2", "write -P 2 64k 64k", "write -z 192k 64k");
        Qemu.ImgOk("resize", _dir.File("snap.qcow2"), "2M");

        foreach (string spelling in new[] { "snapshot.name=before", "before", "snapshot.id=1" })
        {
            VesselCli.Ok(Dir, "img", "convert", "-l", spelling, "-O", "raw", "snap.qcow2", "ours.raw");
            Qemu.ImgOkIn(Dir, "convert", "-l", "snapshot.name=before", "-O", "raw", "snap.qcow2", "theirs.raw");
            ImageAssert.SameContent(File.ReadAllBytes(_dir.File("theirs.raw")), File.ReadAllBytes(_dir.File("ours.raw")), $"-l {spelling}");
        }

        // The snapshot's own content, not the active disk's.
        Assert.Equal(1, File.ReadAllBytes(_dir.File("ours.raw"))[64 * 1024]);
    }

    [Fact]
    public void ExistingTargetIsOverwrittenWholly()
    {
        Qemu.ImgOk("create", "-f", "raw", _dir.File("src.raw"), "1M");
        Qemu.Io(_dir.File("src.raw"), "raw", "write -P 1 64k 64k");

        // -n into an image full of other data: the source's zeroes must be written too.
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("dirty.qcow2"), "1M");
        Qemu.Io(_dir.File("dirty.qcow2"), "qcow2", "write -P 9 0 1M");
        VesselCli.Ok(Dir, "img", "convert", "-n", "-O", "qcow2", "src.raw", "dirty.qcow2");
        Assert.Equal(0, Qemu.Img("compare", _dir.File("src.raw"), _dir.File("dirty.qcow2")).ExitCode);
        ImageAssert.QemuCheckClean(_dir.File("dirty.qcow2"));

        // --target-is-zero into a fresh image: only the data is written.
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("fresh.qcow2"), "1M");
        VesselCli.Ok(Dir, "img", "convert", "-n", "--target-is-zero", "-W", "-O", "qcow2", "src.raw", "fresh.qcow2");
        Assert.Equal(0, Qemu.Img("compare", _dir.File("src.raw"), _dir.File("fresh.qcow2")).ExitCode);
        Assert.Equal([(65536L, 65536L)], DataRanges(_dir.File("fresh.qcow2")));
    }

    [Theory]
    [InlineData("-B", "nothere.qcow2", "-O", "qcow2", "src.qcow2", "out.qcow2")]
    [InlineData("-B", "src.qcow2", "-O", "raw", "src.qcow2", "out.raw")]
    [InlineData("-l", "snapshot.name=nothere", "-O", "raw", "src.qcow2", "out.raw")]
    [InlineData("-l", "snapshot.name=x", "-O", "raw", "src.raw", "out2.raw")]
    [InlineData("-n", "-O", "qcow2", "src.qcow2", "nothere.qcow2")]
    [InlineData("-n", "src.raw", "src.qcow2")]
    [InlineData("--target-is-zero", "-O", "qcow2", "src.qcow2", "out3.qcow2")]
    [InlineData("-S", "1000", "-O", "raw", "src.qcow2", "out4.raw")]
    public void BadOptionsAreOneSentence(params string[] arguments)
    {
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("src.qcow2"), "1M");
        Qemu.ImgOk("create", "-f", "raw", _dir.File("src.raw"), "1M");
        ProcessResult result = VesselCli.Run(Dir, ["img", "convert", .. arguments]);
        Assert.NotEqual(0, result.ExitCode);
        string stderr = result.Stderr.Trim();
        Assert.StartsWith("vessel: ", stderr);
        Assert.DoesNotContain("\n", stderr);
        Assert.DoesNotContain("   at ", stderr);

        // qemu-img refuses the same commands.
        Assert.NotEqual(0, ProcessRunner.Run("qemu-img", ["convert", .. arguments], Dir).ExitCode);
    }

    /// <summary>The cluster offsets qemu-img map shows as held by the image itself (depth 0), data or zero.</summary>
    private static SortedSet<long> TopLayerClusters(string image)
    {
        var clusters = new SortedSet<long>();
        using JsonDocument map = JsonDocument.Parse(Qemu.ImgOk("map", "--output=json", image));
        foreach (JsonElement entry in map.RootElement.EnumerateArray())
        {
            if (entry.GetProperty("depth").GetInt32() != 0 || !entry.GetProperty("present").GetBoolean())
            {
                continue;
            }

            long start = entry.GetProperty("start").GetInt64();
            long end = start + entry.GetProperty("length").GetInt64();
            for (long c = start; c < end; c += Cluster)
            {
                clusters.Add(c);
            }
        }

        return clusters;
    }

    /// <summary>The ranges qemu-img map reports as data, adjacent ones merged.</summary>
    private static List<(long Start, long Length)> DataRanges(string image)
    {
        var ranges = new List<(long Start, long Length)>();
        using JsonDocument map = JsonDocument.Parse(Qemu.ImgOk("map", "--output=json", image));
        foreach (JsonElement entry in map.RootElement.EnumerateArray())
        {
            if (!entry.GetProperty("data").GetBoolean())
            {
                continue;
            }

            long start = entry.GetProperty("start").GetInt64();
            long length = entry.GetProperty("length").GetInt64();
            if (ranges.Count > 0 && ranges[^1].Start + ranges[^1].Length == start)
            {
                ranges[^1] = (ranges[^1].Start, ranges[^1].Length + length);
            }
            else
            {
                ranges.Add((start, length));
            }
        }

        return ranges;
    }
}
