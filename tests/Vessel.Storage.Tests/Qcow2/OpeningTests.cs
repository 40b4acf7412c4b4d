using System.Buffers.Binary;
using System.Text;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>Opening qcow2 images: backing chains, unsupported features, corrupt and dirty images.</summary>
public sealed class OpeningTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MissingAndLoopingBackingFilesAreClearErrors()
    {
        string top = _dir.File("top.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("base.qcow2"), "1M");
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top, "1M");
        File.Delete(_dir.File("base.qcow2"));
        var missing = Assert.Throws<StorageException>(() => ImageOpener.Open(top, new ImageOpenOptions { ReadOnly = true }));
        Assert.Contains("backing file", missing.Message);
        Assert.Contains("does not exist", missing.Message);

        // a -> b -> a
        Qemu.ImgOk("create", "-f", "qcow2", _dir.File("a.qcow2"), "1M");
        Qemu.ImgOk("create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", _dir.File("b.qcow2"), "1M");
        Qemu.ImgOkIn(_dir.Path, "rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", "a.qcow2");
        var loop = Assert.Throws<StorageException>(() => ImageOpener.Open(_dir.File("a.qcow2"), new ImageOpenOptions { ReadOnly = true }));
        Assert.Contains("loops", loop.Message);
    }

    [Fact]
    public void BackingFilesResolveRelativeToTheOverlayNotTheCurrentDirectory()
    {
        Directory.CreateDirectory(_dir.File("images"));
        Qemu.ImgOk("create", "-f", "raw", _dir.File("images/base.raw"), "1M");
        Qemu.Io(_dir.File("images/base.raw"), "raw", "write -P 0x42 0 4k");
        Qemu.ImgOkIn(_dir.File("images"), "create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "top.qcow2");
        using DiskImage disk = ImageOpener.Open(_dir.File("images/top.qcow2"), new ImageOpenOptions { ReadOnly = true });
        var buffer = new byte[4096];
        disk.Read(0, buffer);
        Assert.All(buffer, b => Assert.Equal(0x42, b));
        Assert.Equal(_dir.File("images/base.raw"), disk.Backing!.Path);
    }

    [Fact]
    public void UnknownIncompatibleFeaturesAreNamedFromTheFeatureTable()
    {
        string image = _dir.File("future.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "1M");
        byte[] bytes = File.ReadAllBytes(image);
        ulong incompatible = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(72)) | (1UL << 9);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(72), incompatible);

        // Find qemu's feature name table extension and rename one entry to describe bit 9.
        int offset = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(100));
        while (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset)) is uint type && type != 0)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 4));
            if (type == 0x6803f857)
            {
                bytes[offset + 8] = 0;
                bytes[offset + 9] = 9;
                bytes.AsSpan(offset + 10, 46).Clear();
                Encoding.ASCII.GetBytes("time travel").CopyTo(bytes, offset + 10);
            }

            offset += 8 + ((length + 7) & ~7);
        }

        File.WriteAllBytes(image, bytes);
        var refused = Assert.Throws<StorageException>(() => ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true }));
        Assert.Contains("time travel", refused.Message);
        Assert.Contains("bit 9", refused.Message);
        Assert.NotEqual(0, Qemu.Img("info", image).ExitCode);
    }

    [Fact]
    public void ExternalDataFilesAndEncryptionAreRefusedClearly()
    {
        string external = _dir.File("external.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", $"data_file={_dir.File("data.raw")}", external, "1M");
        var data = Assert.Throws<StorageException>(() => ImageOpener.Open(external, new ImageOpenOptions { ReadOnly = true }));
        Assert.Contains("external data file", data.Message);

        string encrypted = _dir.File("secret.qcow2");
        Qemu.ImgOk("create", "--object", "secret,id=sec0,data=password", "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0", encrypted, "1M");
        var crypt = Assert.Throws<StorageException>(() => ImageOpener.Open(encrypted, new ImageOpenOptions { ReadOnly = true }));
        Assert.Contains("encrypted", crypt.Message);
    }

    [Fact]
    public void CorruptImagesOpenReadOnlyUntilRepaired()
    {
        string image = _dir.File("c.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "1M");
        Qemu.Io(image, "qcow2", "write -P 9 0 64k");

        // Point the data cluster's L2 entry at an unaligned offset: reading it marks the image corrupt.
        using (DiskImage disk = ImageOpener.Open(image))
        {
            _ = disk;
        }

        byte[] bytes = File.ReadAllBytes(image);
        long l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(40));
        long l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan((int)l1)) & 0x00ff_ffff_ffff_fe00UL);
        ulong entry = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan((int)l2));
        Qcow2Patch.WriteBigEndian64(image, l2, entry + 512);
        using (DiskImage disk = ImageOpener.Open(image))
        {
            var error = Assert.Throws<ImageCorruptException>(() => disk.Read(0, new byte[512]));
            Assert.Contains("marked corrupt", error.Message);
        }

        Assert.Contains("corrupt: true", Qemu.ImgOk("info", image));
        var refused = Assert.Throws<ImageCorruptException>(() => ImageOpener.Open(image));
        Assert.Contains("check -r all", refused.Message);
        using (DiskImage readOnly = ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true }))
        {
            Assert.True(((Qcow2Image)readOnly).IsCorrupt);
        }

        CheckResult repaired = Storage.Operations.ImageChecker.Check(image, null, CheckRepair.All);
        Assert.True(repaired.IsClean, string.Join('\n', repaired.Messages));
        Assert.True(repaired.CorruptionsFixed > 0);
        Assert.Contains("corrupt: false", Qemu.ImgOk("info", image));
        ImageAssert.QemuCheckClean(image, allowLeaks: false);
        using DiskImage writable = ImageOpener.Open(image);
        writable.Write(0, new byte[512]);
    }

    [Fact]
    public void DirtyLazyRefcountImagesAreRepairedOnOpen()
    {
        string image = _dir.File("lazy.qcow2");
        Qcow2Creator.Create(image, 4L * 1024 * 1024, new Qcow2CreateOptions { LazyRefcounts = true });
        var data = new byte[256 * 1024];
        new Random(3).NextBytes(data);
        using (DiskImage disk = ImageOpener.Open(image))
        {
            disk.Write(0, data);
            disk.Flush();
            Assert.True(((Qcow2Image)disk).IsDirty, "lazy refcounts keep the image dirty while it is open");
        }

        Assert.Contains("dirty-flag\": false", Qemu.ImgOk("info", "--output=json", image));

        // Simulate a crash with lazy refcounts: dirty bit set, refcounts of the data lost.
        byte[] bytes = File.ReadAllBytes(image);
        ulong incompatible = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(72)) | 1;
        Qcow2Patch.WriteBigEndian64(image, 72, incompatible);
        for (int cluster = 4; cluster < 10; cluster++)
        {
            Qcow2Patch.SetRefcount(image, cluster, 0);
        }

        Assert.Equal(2, Qemu.Check(image).ExitCode);
        using (DiskImage disk = ImageOpener.Open(image))
        {
            var back = new byte[data.Length];
            disk.Read(0, back);
            Assert.Equal(data, back);
        }

        ImageAssert.QemuCheckClean(image, allowLeaks: false);
    }

    [Fact]
    public void UnknownHeaderExtensionsSurviveAHeaderRewrite()
    {
        string image = _dir.File("ext.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", image, "1M");
        byte[] bytes = File.ReadAllBytes(image);
        int offset = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(100));
        while (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset)) != 0)
        {
            offset += 8 + (((int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 4)) + 7) & ~7);
        }

        // An extension nobody knows, then a new end marker.
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), 0x1badcafe);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset + 4), 5);
        Encoding.ASCII.GetBytes("hello").CopyTo(bytes, offset + 8);
        bytes.AsSpan(offset + 16, 8).Clear();
        File.WriteAllBytes(image, bytes);
        Qemu.ImgOk("create", "-f", "raw", _dir.File("base.raw"), "1M");

        using (var disk = (Qcow2Image)ImageOpener.Open(image))
        {
            disk.SetBackingFile("base.raw", ImageFormat.Raw);
        }

        byte[] rewritten = File.ReadAllBytes(image);
        int found = rewritten.AsSpan(0, 4096).IndexOf(new byte[] { 0x1b, 0xad, 0xca, 0xfe, 0, 0, 0, 5, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o' });
        Assert.True(found > 0, "the unknown extension was dropped");
        Assert.Contains("backing file: base.raw", Qemu.ImgOk("info", image));
        ImageAssert.QemuCheckClean(image);
    }
}
