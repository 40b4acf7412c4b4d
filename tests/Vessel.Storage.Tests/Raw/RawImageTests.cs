using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Raw;

public sealed class RawImageTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadsWritesDiscardsAndZeroes()
    {
        string path = _dir.File("disk.raw");
        Storage.Raw.RawImage.Create(path, 4 * 1024 * 1024);
        var data = new byte[1024 * 1024];
        new Random(1).NextBytes(data);
        using (DiskImage disk = ImageOpener.Open(path, new ImageOpenOptions { Format = ImageFormat.Raw }))
        {
            disk.Write(512, data);
            long allocated = disk.AllocatedBytes;
            disk.Discard(512 * 1024, 256 * 1024);
            Assert.True(disk.AllocatedBytes < allocated, "a discard punches a hole");
            disk.WriteZeroes(4096, 8192, mayUnmap: false);
            disk.Flush();
            var back = new byte[data.Length];
            disk.Read(512, back);
            Assert.Equal(data.AsSpan(0, 4096 - 512).ToArray(), back.AsSpan(0, 4096 - 512).ToArray());
            Assert.True(back.AsSpan(4096 - 512, 8192).IndexOfAnyExcept((byte)0) < 0);
            Assert.True(back.AsSpan((512 * 1024) - 512, 256 * 1024).IndexOfAnyExcept((byte)0) < 0);
            Assert.Equal(data.AsSpan(800 * 1024).ToArray(), back.AsSpan(800 * 1024).ToArray());
            Assert.Equal(ExtentKind.Data, disk.GetExtent(0, disk.Length).Kind);
            Assert.Equal(ExtentKind.Zero, disk.GetExtent(2 * 1024 * 1024, 1024).Kind);
            Assert.Throws<StorageException>(() => disk.Write(disk.Length - 10, new byte[20]));
        }

        using DiskImage readOnly = ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true });
        Assert.True(readOnly.IsReadOnly);
        Assert.Throws<StorageException>(() => readOnly.Write(0, new byte[512]));
    }

    [Fact]
    public void WritersAreExclusiveAndReadersShare()
    {
        string path = _dir.File("locked.raw");
        Storage.Raw.RawImage.Create(path, 1024 * 1024);
        using (DiskImage writer = ImageOpener.Open(path))
        {
            var second = Assert.Throws<ImageInUseException>(() => ImageOpener.Open(path));
            Assert.Contains("is in use by another process", second.Message);
            Assert.Throws<ImageInUseException>(() => ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true }));

            // QEMU sees Vessel's lock too (qemu-img info and map do no data I/O and take no lock; convert does).
            ProcessResult qemu = Qemu.Img("convert", "-O", "raw", path, _dir.File("copy.raw"));
            Assert.NotEqual(0, qemu.ExitCode);
            Assert.Contains("lock", qemu.Stderr);

            // Force-share reads anyway, like qemu-img -U.
            using DiskImage peek = ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true, ForceShare = true });
            Assert.Equal(1024 * 1024, peek.Length);
        }

        using DiskImage reader1 = ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true });
        using DiskImage reader2 = ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true });
        Assert.Equal(0, Qemu.Img("convert", "-O", "raw", path, _dir.File("copy.raw")).ExitCode);
        Assert.NotEqual(0, Qemu.Img("resize", path, "2M").ExitCode);
        Assert.Throws<ImageInUseException>(() => ImageOpener.Open(path));
    }

    [Fact]
    public void OpeningProblemsAreOneSentenceEach()
    {
        var missing = Assert.Throws<StorageException>(() => ImageOpener.Open(_dir.File("nothere.raw")));
        Assert.Contains("does not exist", missing.Message);
        var directory = Assert.Throws<StorageException>(() => ImageOpener.Open(_dir.Path));
        Assert.Contains("is a directory", directory.Message);
        Assert.Throws<ImageOptionsException>(() => ImageOpener.Open(_dir.File("x.raw"), new ImageOpenOptions { ForceShare = true }));

        if (!OperatingSystem.IsWindows() && Environment.UserName != "root")
        {
            string readOnlyFile = _dir.File("ro.raw");
            File.WriteAllBytes(readOnlyFile, new byte[4096]);
            File.SetUnixFileMode(readOnlyFile, UnixFileMode.UserRead);
            var denied = Assert.Throws<StorageException>(() => ImageOpener.Open(readOnlyFile));
            Assert.Contains("read-only", denied.Message);
            File.SetUnixFileMode(readOnlyFile, UnixFileMode.None);
            var noAccess = Assert.Throws<StorageException>(() => ImageOpener.Open(readOnlyFile, new ImageOpenOptions { ReadOnly = true }));
            Assert.Contains("permission denied", noAccess.Message);
        }
    }

    [Fact]
    public void ARawDiskThatLooksLikeQcow2IsNeverProbedAsRaw()
    {
        // A raw disk whose guest wrote a qcow2 header pointing at a host file.
        string qcow2 = _dir.File("real.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw", qcow2, "1M");
        byte[] header = File.ReadAllBytes(qcow2).AsSpan(0, 512).ToArray();
        string raw = _dir.File("disk.raw");
        var disk = new byte[1024 * 1024];
        header.AsSpan(0, 512).CopyTo(disk);
        disk[20 + 3] = 7;
        File.WriteAllBytes(raw, disk);

        var refused = Assert.ThrowsAny<StorageException>(() => ImageOpener.Open(raw));
        Assert.Contains("format=raw", refused.Message);
        using (DiskImage explicitRaw = ImageOpener.Open(raw, new ImageOpenOptions { Format = ImageFormat.Raw }))
        {
            Assert.Equal(ImageFormat.Raw, explicitRaw.Format);
            Assert.Equal(disk.Length, explicitRaw.Length);
        }

        // A probed raw image refuses a write that would make it look like qcow2.
        string plain = _dir.File("plain.raw");
        File.WriteAllBytes(plain, new byte[64 * 1024]);
        using (DiskImage probed = ImageOpener.Open(plain))
        {
            Assert.Equal(ImageFormat.Raw, probed.Format);
            Assert.Throws<StorageException>(() => probed.Write(0, header));
            probed.Write(4096, header);
        }

        using DiskImage explicitWriter = ImageOpener.Open(plain, new ImageOpenOptions { Format = ImageFormat.Raw });
        explicitWriter.Write(0, header);
    }
}
