using System.Text.Json;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Cli;

/// <summary>`vessel img` side by side with `qemu-img`: same outputs where qemu-img's are well defined, same exit codes.</summary>
public sealed class ImgCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Dir => _dir.Path;

    /// <summary>base.qcow2 &lt;- middle.qcow2 &lt;- top.qcow2, written by qemu-io.</summary>
    private void MakeChain()
    {
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("base.qcow2"), "4M");
        Qemu.Io(_dir.File("base.qcow2"), "qcow2", "write -P 1 1M 64k", "write -z 2M 64k", "write -c -P 7 3M 64k");
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", _dir.File("middle.qcow2"), "8M");
        Qemu.Io(_dir.File("middle.qcow2"), "qcow2", "write -P 2 0 64k", "write -P 3 5M 128k");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "middle.qcow2", "-F", "qcow2", _dir.File("top.qcow2"), "8M");
        Qemu.Io(_dir.File("top.qcow2"), "qcow2", "write -P 4 8k 4k", "write -z 5M 4k");
    }

    [Fact]
    public void MapOutputMatchesQemuImg()
    {
        MakeChain();
        Qemu.ImgOk("create", "-f", "raw", _dir.File("plain.raw"), "1M");
        Qemu.Io(_dir.File("plain.raw"), "raw", "write -P 9 64k 64k");
        foreach (string image in new[] { "top.qcow2", "middle.qcow2", "plain.raw" })
        {
            Assert.Equal(Qemu.ImgOkIn(Dir, "map", "--output=json", image).Replace("\r", ""), VesselCli.Ok(Dir, "img", "map", "--output", "json", image));
        }

        Assert.Equal(Qemu.ImgOkIn(Dir, "map", "plain.raw"), VesselCli.Ok(Dir, "img", "map", "plain.raw"));

        // The human layout cannot show compressed clusters (base.qcow2 has one): both tools refuse.
        Assert.NotEqual(0, ProcessRunner.Run("qemu-img", ["map", "top.qcow2"], Dir).ExitCode);
        Assert.NotEqual(0, VesselCli.Run(Dir, "img", "map", "top.qcow2").ExitCode);
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "plain.raw", "-F", "raw", _dir.File("over.qcow2"));
        Qemu.Io(_dir.File("over.qcow2"), "qcow2", "write -P 1 0 4k", "write -P 2 128k 64k");
        Assert.Equal(Qemu.ImgOkIn(Dir, "map", "over.qcow2"), VesselCli.Ok(Dir, "img", "map", "over.qcow2"));
    }

    [Fact]
    public void InfoJsonHasQemuImgFieldsAndValues()
    {
        MakeChain();
        Qemu.ImgOk("snapshot", "-c", "snap1", _dir.File("top.qcow2"));
        using JsonDocument qemu = JsonDocument.Parse(Qemu.ImgOkIn(Dir, "info", "--output=json", "--backing-chain", "top.qcow2"));
        using JsonDocument vessel = JsonDocument.Parse(VesselCli.Ok(Dir, "img", "info", "--output", "json", "--backing-chain", "top.qcow2"));
        Assert.Equal(qemu.RootElement.GetArrayLength(), vessel.RootElement.GetArrayLength());
        for (int i = 0; i < qemu.RootElement.GetArrayLength(); i++)
        {
            JsonElement q = qemu.RootElement[i];
            JsonElement v = vessel.RootElement[i];
            foreach (string field in new[] { "virtual-size", "filename", "cluster-size", "format", "backing-filename", "full-backing-filename", "backing-filename-format", "dirty-flag" })
            {
                Assert.Equal(q.TryGetProperty(field, out JsonElement qv) ? qv.ToString() : null, v.TryGetProperty(field, out JsonElement vv) ? vv.ToString() : null);
            }

            Assert.Equal(q.GetProperty("format-specific").ToString(), v.GetProperty("format-specific").ToString());
            if (q.TryGetProperty("snapshots", out JsonElement qs))
            {
                JsonElement vs = v.GetProperty("snapshots");
                Assert.Equal(qs[0].GetProperty("name").GetString(), vs[0].GetProperty("name").GetString());
                Assert.Equal(qs[0].GetProperty("id").GetString(), vs[0].GetProperty("id").GetString());
                Assert.Equal(qs[0].GetProperty("date-sec").GetInt64(), vs[0].GetProperty("date-sec").GetInt64());
            }
        }

        string human = VesselCli.Ok(Dir, "img", "info", "top.qcow2");
        Assert.Contains("file format: qcow2", human);
        Assert.Contains("virtual size: 8 MiB (8388608 bytes)", human);
        Assert.Contains("backing file: middle.qcow2", human);
        Assert.Contains("snap1", human);
    }

    [Fact]
    public void CreateOptionsAreWhatQemuImgSees()
    {
        VesselCli.Ok(Dir, "img", "create", "-f", "qcow2", "-o", "cluster_size=4k,refcount_bits=8,lazy_refcounts=on,compression_type=zstd", "new.qcow2", "1.5G");
        using JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", _dir.File("new.qcow2")));
        Assert.Equal(1610612736, info.RootElement.GetProperty("virtual-size").GetInt64());
        Assert.Equal(4096, info.RootElement.GetProperty("cluster-size").GetInt32());
        JsonElement data = info.RootElement.GetProperty("format-specific").GetProperty("data");
        Assert.Equal(8, data.GetProperty("refcount-bits").GetInt32());
        Assert.True(data.GetProperty("lazy-refcounts").GetBoolean());
        Assert.Equal("zstd", data.GetProperty("compression-type").GetString());
        ImageAssert.QemuCheckClean(_dir.File("new.qcow2"));

        VesselCli.Ok(Dir, "img", "create", "-f", "qcow2", "-o", "compat=0.10", "old.qcow2", "10M");
        Assert.Contains("compat: 0.10", Qemu.ImgOk("info", _dir.File("old.qcow2")));
        VesselCli.Ok(Dir, "img", "create", "-f", "raw", "disk.raw", "3M");
        Assert.Equal(3 * 1024 * 1024, new FileInfo(_dir.File("disk.raw")).Length);

        // A backing file named relative to the new image's directory, size taken from it.
        Directory.CreateDirectory(_dir.File("sub"));
        VesselCli.Ok(Dir, "img", "create", "-f", "qcow2", "-b", "../new.qcow2", "-F", "qcow2", "sub/overlay.qcow2");
        using JsonDocument overlay = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", _dir.File("sub/overlay.qcow2")));
        Assert.Equal(1610612736, overlay.RootElement.GetProperty("virtual-size").GetInt64());
        Assert.Equal("../new.qcow2", overlay.RootElement.GetProperty("backing-filename").GetString());

        ProcessResult bad = VesselCli.Run(Dir, "img", "create", "-f", "qcow2", "-o", "cluster_size=3000", "x.qcow2", "1M");
        Assert.Equal(2, bad.ExitCode); // a usage mistake, like any other bad option value
        Assert.StartsWith("vessel: ", bad.Stderr);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
        ProcessResult missing = VesselCli.Run(Dir, "img", "create", "-f", "qcow2", "-b", "nothere.qcow2", "-F", "qcow2", "y.qcow2", "1M");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("does not exist", missing.Stderr);
    }

    [Fact]
    public void CompareExitCodesAndMessagesMatchQemuImg()
    {
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("a.qcow2"), "2M");
        Qemu.Io(_dir.File("a.qcow2"), "qcow2", "write -P 5 0 1M");
        Qemu.ImgOk("convert", "-O", "raw", _dir.File("a.qcow2"), _dir.File("a.raw"));
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("b.qcow2"), "2M");
        Qemu.Io(_dir.File("b.qcow2"), "qcow2", "write -P 5 0 1M", "write -P 6 700000 1");
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("big.qcow2"), "3M");
        Qemu.Io(_dir.File("big.qcow2"), "qcow2", "write -P 5 0 1M");
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("bigdirty.qcow2"), "3M");
        Qemu.Io(_dir.File("bigdirty.qcow2"), "qcow2", "write -P 5 0 1M", "write -P 1 2500000 1");
        foreach ((string a, string b) in new[] { ("a.qcow2", "a.raw"), ("a.qcow2", "b.qcow2"), ("a.qcow2", "big.qcow2"), ("a.qcow2", "bigdirty.qcow2"), ("a.qcow2", "missing.qcow2") })
        {
            ProcessResult qemu = ProcessRunner.Run("qemu-img", ["compare", a, b], Dir);
            ProcessResult vessel = VesselCli.Run(Dir, "img", "compare", a, b);
            Assert.Equal(qemu.ExitCode, vessel.ExitCode);
            if (qemu.ExitCode != 2)
            {
                Assert.Equal(qemu.Stdout, vessel.Stdout);
            }
        }
    }

    [Fact]
    public void CheckFindsAndRepairsLeaksAndCorruptionsLikeQemuImg()
    {
        string leak = _dir.File("leak.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", leak, "1M");
        Qemu.Io(leak, "qcow2", "write 0 128k", "discard 0 64k");
        Qcow2Patch.SetRefcount(leak, 5, 1);
        Assert.Equal(3, Qemu.Check(leak).ExitCode);
        ProcessResult found = VesselCli.Run(Dir, "img", "check", "leak.qcow2");
        Assert.Equal(3, found.ExitCode);
        Assert.Contains("Leaked cluster 5 refcount=1 reference=0", found.Stderr);
        Assert.Contains("1 leaked clusters were found on the image.", found.Stdout);
        using (JsonDocument json = JsonDocument.Parse(VesselCli.Run(Dir, "img", "check", "--output", "json", "leak.qcow2").Stdout))
        {
            Assert.Equal(1, json.RootElement.GetProperty("leaks").GetInt32());
        }

        ProcessResult repaired = VesselCli.Run(Dir, "img", "check", "-r", "leaks", "leak.qcow2");
        Assert.Equal(0, repaired.ExitCode);
        Assert.Contains("1 leaked clusters", repaired.Stdout);
        Assert.Equal(0, Qemu.Check(leak).ExitCode);

        string corrupt = _dir.File("corrupt.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", corrupt, "1M");
        Qemu.Io(corrupt, "qcow2", "write -P 3 0 256k");
        byte[] before = Qemu.Content(corrupt, Dir);
        Qcow2Patch.SetRefcount(corrupt, 1, 0);
        Assert.Equal(2, Qemu.Check(corrupt).ExitCode);
        ProcessResult bad = VesselCli.Run(Dir, "img", "check", "corrupt.qcow2");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("ERROR cluster 1 refcount=0 reference=1", bad.Stderr);
        Assert.Equal(2, VesselCli.Run(Dir, "img", "check", "-r", "leaks", "corrupt.qcow2").ExitCode);
        ProcessResult fixedAll = VesselCli.Run(Dir, "img", "check", "-r", "all", "corrupt.qcow2");
        Assert.Equal(0, fixedAll.ExitCode);
        Assert.Equal(0, Qemu.Check(corrupt).ExitCode);
        ImageAssert.SameContent(before, Qemu.Content(corrupt, Dir), "after repair");

        Qemu.ImgOk("create", "-f", "raw", _dir.File("r.raw"), "1M");
        Assert.Equal(63, VesselCli.Run(Dir, "img", "check", "r.raw").ExitCode);
    }

    [Fact]
    public void SnapshotsMadeByOneToolAreListedAndAppliedByTheOther()
    {
        string image = _dir.File("s.qcow2");
        VesselCli.Ok(Dir, "img", "create", "-f", "qcow2", "s.qcow2", "1M");
        Qemu.Io(image, "qcow2", "write -P 1 0 256k");
        VesselCli.Ok(Dir, "img", "snapshot", "-c", "by-vessel", "s.qcow2");
        Qemu.Io(image, "qcow2", "write -P 2 0 128k");
        Qemu.ImgOk("snapshot", "-c", "by-qemu", image);
        Qemu.Io(image, "qcow2", "write -P 3 0 64k");

        Assert.Contains("by-vessel", Qemu.ImgOk("snapshot", "-l", image));
        string list = VesselCli.Ok(Dir, "img", "snapshot", "-l", "s.qcow2");
        Assert.Contains("by-vessel", list);
        Assert.Contains("by-qemu", list);

        Qemu.ImgOk("snapshot", "-a", "by-vessel", image);
        var expected = new byte[1024 * 1024];
        expected.AsSpan(0, 256 * 1024).Fill(1);
        ImageAssert.SameContent(expected, Qemu.Content(image, Dir), "qemu applied vessel's snapshot");

        VesselCli.Ok(Dir, "img", "snapshot", "-a", "by-qemu", "s.qcow2");
        expected.AsSpan(0, 128 * 1024).Fill(2);
        ImageAssert.SameContent(expected, Qemu.Content(image, Dir), "vessel applied qemu's snapshot");
        ImageAssert.QemuCheckClean(image);

        VesselCli.Ok(Dir, "img", "snapshot", "-d", "by-vessel", "s.qcow2");
        Qemu.ImgOk("snapshot", "-d", "by-qemu", image);
        Assert.Equal(string.Empty, VesselCli.Ok(Dir, "img", "snapshot", "-l", "s.qcow2"));
        ImageAssert.QemuCheckClean(image);
        Assert.NotEqual(0, VesselCli.Run(Dir, "img", "snapshot", "-a", "gone", "s.qcow2").ExitCode);
    }

    [Fact]
    public void ConvertCommitRebaseAndResizeKeepTheGuestView()
    {
        MakeChain();
        byte[] chainContent = Qemu.Content(_dir.File("top.qcow2"), Dir);

        VesselCli.Ok(Dir, "img", "convert", "-O", "raw", "top.qcow2", "flat.raw");
        ImageAssert.SameContent(chainContent, File.ReadAllBytes(_dir.File("flat.raw")), "convert to raw");
        foreach (string compression in new[] { "zlib", "zstd" })
        {
            VesselCli.Ok(Dir, "img", "convert", "-c", "-O", "qcow2", "-o", $"compression_type={compression}", "flat.raw", $"packed-{compression}.qcow2");
            ImageAssert.QemuCheckClean(_dir.File($"packed-{compression}.qcow2"));
            Assert.Equal(0, Qemu.Img("compare", _dir.File("flat.raw"), _dir.File($"packed-{compression}.qcow2")).ExitCode);
        }

        VesselCli.Ok(Dir, "img", "convert", "-f", "qcow2", "-O", "qcow2", "-o", "cluster_size=512", "top.qcow2", "small.qcow2");
        ImageAssert.QemuCheckClean(_dir.File("small.qcow2"));
        Assert.Equal(0, Qemu.Img("compare", _dir.File("top.qcow2"), _dir.File("small.qcow2")).ExitCode);

        // Rebase top onto a flat copy of its backing chain: content unchanged, new backing recorded.
        Qemu.ImgOk("convert", "-O", "qcow2", _dir.File("middle.qcow2"), _dir.File("middle-flat.qcow2"));
        Qemu.Io(_dir.File("middle-flat.qcow2"), "qcow2", "write -P 8 6M 64k");
        VesselCli.Ok(Dir, "img", "rebase", "-b", "middle-flat.qcow2", "-F", "qcow2", "top.qcow2");
        Assert.Contains("backing file: middle-flat.qcow2", Qemu.ImgOk("info", _dir.File("top.qcow2")));
        ImageAssert.SameContent(chainContent, Qemu.Content(_dir.File("top.qcow2"), Dir), "after safe rebase");
        ImageAssert.QemuCheckClean(_dir.File("top.qcow2"));

        // Unsafe rebase back: only the name changes (content equal here because middle-flat minus the 6M write equals middle).
        VesselCli.Ok(Dir, "img", "rebase", "-u", "-b", "middle.qcow2", "-F", "qcow2", "top.qcow2");
        Assert.Contains("backing file: middle.qcow2", Qemu.ImgOk("info", _dir.File("top.qcow2")));

        // Commit top into middle: middle now shows the whole chain's view, top is empty.
        VesselCli.Ok(Dir, "img", "commit", "top.qcow2");
        ImageAssert.SameContent(chainContent, Qemu.Content(_dir.File("middle.qcow2"), Dir), "middle after commit");
        ImageAssert.SameContent(chainContent, Qemu.Content(_dir.File("top.qcow2"), Dir), "top after commit");
        Assert.DoesNotContain("\"depth\": 0, \"present\": true", Qemu.ImgOk("map", "--output=json", _dir.File("top.qcow2")));
        ImageAssert.QemuCheckClean(_dir.File("middle.qcow2"));
        ImageAssert.QemuCheckClean(_dir.File("top.qcow2"));

        // Rebase onto nothing: standalone, same content.
        VesselCli.Ok(Dir, "img", "rebase", "-b", "", "top.qcow2");
        Assert.DoesNotContain("backing file", Qemu.ImgOk("info", _dir.File("top.qcow2")));
        ImageAssert.SameContent(chainContent, Qemu.Content(_dir.File("top.qcow2"), Dir), "standalone");

        // Resize: grow reads zeroes past the old end, shrink needs --shrink.
        VesselCli.Ok(Dir, "img", "resize", "top.qcow2", "+1M");
        byte[] grown = Qemu.Content(_dir.File("top.qcow2"), Dir);
        Assert.Equal(9 * 1024 * 1024, grown.Length);
        ImageAssert.SameContent(chainContent, grown.AsSpan(0, chainContent.Length), "grown");
        Assert.True(ChainZero(grown.AsSpan(chainContent.Length)));
        Assert.NotEqual(0, VesselCli.Run(Dir, "img", "resize", "top.qcow2", "4M").ExitCode);
        VesselCli.Ok(Dir, "img", "resize", "--shrink", "top.qcow2", "4M");
        ImageAssert.SameContent(chainContent.AsSpan(0, 4 * 1024 * 1024), Qemu.Content(_dir.File("top.qcow2"), Dir), "shrunk");
        ImageAssert.QemuCheckClean(_dir.File("top.qcow2"));
        VesselCli.Ok(Dir, "img", "resize", "flat.raw", "10M");
        Assert.Equal(10 * 1024 * 1024, new FileInfo(_dir.File("flat.raw")).Length);
    }

    private static bool ChainZero(ReadOnlySpan<byte> data) => data.IndexOfAnyExcept((byte)0) < 0;

    [Fact]
    public void BenchRunsTheQemuImgWorkload()
    {
        VesselCli.Ok(Dir, "img", "create", "-f", "qcow2", "b.qcow2", "64M");
        string write = VesselCli.Ok(Dir, "img", "bench", "-w", "-c", "2000", "-s", "4k", "-S", "1M", "--pattern", "170", "b.qcow2");
        Assert.Contains("Sending 2000 write requests, 4096 bytes each, 64 in parallel (starting at offset 0, step size 1048576)", write);
        Assert.Contains("Run completed in", write);
        string read = VesselCli.Ok(Dir, "img", "bench", "-t", "read", "-c", "500", "-s", "1M", "b.qcow2");
        Assert.Contains("500 read requests", read);
        ImageAssert.QemuCheckClean(_dir.File("b.qcow2"));

        // The writes landed where qemu-img bench would have put them: 4 KiB of 0xaa at every MiB.
        byte[] content = Qemu.Content(_dir.File("b.qcow2"), Dir);
        Assert.Equal(0xaa, content[3 * 1024 * 1024]);
        Assert.Equal(0, content[(3 * 1024 * 1024) + 4096]);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1)]
    [InlineData(512)]
    [InlineData(65537)]
    public void InfoOfARawFileReportsTheSizeQemuImgReports(int length)
    {
        byte[] data = System.Security.Cryptography.RandomNumberGenerator.GetBytes(length);
        File.WriteAllBytes(_dir.File("odd.raw"), data);
        using JsonDocument qemu = JsonDocument.Parse(Qemu.ImgOkIn(Dir, "info", "--output=json", "odd.raw"));
        using JsonDocument vessel = JsonDocument.Parse(VesselCli.Ok(Dir, "img", "info", "--output", "json", "odd.raw"));
        Assert.Equal(qemu.RootElement.GetProperty("virtual-size").GetInt64(), vessel.RootElement.GetProperty("virtual-size").GetInt64());
        string VirtualSizeLine(string info) => info.Split('\n').Single(l => l.StartsWith("virtual size:", StringComparison.Ordinal));
        Assert.Equal(VirtualSizeLine(Qemu.ImgOkIn(Dir, "info", "odd.raw")), VirtualSizeLine(VesselCli.Ok(Dir, "img", "info", "odd.raw")));

        // The partial last sector is part of the disk: a copy keeps every byte and pads with zeroes, as qemu-img's does.
        VesselCli.Ok(Dir, "img", "convert", "-O", "raw", "odd.raw", "copy.raw");
        Qemu.ImgOk("convert", "-O", "raw", _dir.File("odd.raw"), _dir.File("qemu-copy.raw"));
        Assert.Equal(File.ReadAllBytes(_dir.File("qemu-copy.raw")), File.ReadAllBytes(_dir.File("copy.raw")));
    }

    [Fact]
    public void CreatingOverAnExistingImageIsAsQemuImgDoesIt()
    {
        // Over an image nobody uses: both tools replace it with the new, empty image.
        foreach (bool byVessel in new[] { false, true })
        {
            string image = _dir.File("old.qcow2");
            Qemu.ImgOk("create", "-f", "qcow2", image, "4M");
            Qemu.Io(image, "qcow2", "write -P 7 0 1M");
            if (byVessel)
            {
                VesselCli.Ok(Dir, "img", "create", "-q", "-f", "qcow2", "old.qcow2", "1M");
            }
            else
            {
                Qemu.ImgOk("create", "-q", "-f", "qcow2", image, "1M");
            }

            using JsonDocument info = JsonDocument.Parse(Qemu.ImgOk("info", "--output=json", image));
            Assert.Equal(1024 * 1024, info.RootElement.GetProperty("virtual-size").GetInt64());
            Assert.True(ChainZero(Qemu.Content(image, Dir)), "the old data is gone");
            ImageAssert.QemuCheckClean(image);
        }

        // Over an image in use: both tools refuse and leave it as it was.
        string busy = _dir.File("busy.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", busy, "2M");
        Qemu.Io(busy, "qcow2", "write -P 9 0 64k");
        byte[] before = File.ReadAllBytes(busy);
        using (DiskImage user = ImageOpener.Open(busy))
        {
            Assert.NotEqual(0, Qemu.Img("create", "-f", "qcow2", busy, "1M").ExitCode);
            ProcessResult refused = VesselCli.Run(Dir, "img", "create", "-q", "-f", "qcow2", "busy.qcow2", "1M");
            Assert.Equal("vessel: disk image 'busy.qcow2' is in use by another process.\n", refused.Stderr);
            Assert.Equal(1, refused.ExitCode);
        }

        Assert.Equal(before, File.ReadAllBytes(busy));

        // Over its own backing file: both tools refuse and leave it as it was.
        Assert.NotEqual(0, Qemu.Img("create", "-f", "qcow2", "-b", busy, "-F", "qcow2", busy).ExitCode);
        ProcessResult own = VesselCli.Run(Dir, "img", "create", "-q", "-f", "qcow2", "-b", "busy.qcow2", "-F", "qcow2", "busy.qcow2");
        Assert.Equal("vessel: 'busy.qcow2' cannot be its own backing file.\n", own.Stderr);
        Assert.Equal(2, own.ExitCode);
        Assert.Equal(before, File.ReadAllBytes(busy));
    }

    [Fact]
    public void UserErrorsAreOneSentence()
    {
        foreach (string[] arguments in new[]
        {
            new[] { "img", "info", "nothere.qcow2" },
            new[] { "img", "create", "-f", "vmdk", "x.vmdk", "1M" },
            new[] { "img", "create", "-f", "qcow2", "x.qcow2", "12Q" },
            new[] { "img", "snapshot", "-l", "nothere.qcow2" },
            new[] { "img", "convert", "nothere.raw", "out.raw" },
            new[] { "img", "info", "--output", "xml", "nothere.qcow2" },
        })
        {
            ProcessResult result = VesselCli.Run(Dir, arguments);
            Assert.NotEqual(0, result.ExitCode);
            string stderr = result.Stderr.Trim();
            Assert.StartsWith("vessel: ", stderr);
            Assert.DoesNotContain("\n", stderr);
            Assert.DoesNotContain("   at ", stderr);
        }
    }
}
