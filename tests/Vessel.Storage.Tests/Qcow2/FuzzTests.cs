using System.Buffers.Binary;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>
/// Mutated headers and tables: seeded random bit flips and corrupt table entries must be
/// refused or survived cleanly (a <see cref="StorageException"/> or nothing, never another
/// exception type, never a hang); header fields no valid image has must be refused at open.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A small image with every kind of structure: data, zero and compressed clusters, a snapshot, a backing file.</summary>
    private byte[] MakeSeedImage(string options)
    {
        string backing = _dir.File("base.raw");
        if (!File.Exists(backing))
        {
            File.WriteAllBytes(backing, Enumerable.Range(0, 512 * 1024).Select(i => (byte)i).ToArray());
        }

        string image = _dir.File("seed.qcow2");
        Qemu.ImgOk("create", "-f", "qcow2", "-o", options, "-b", "base.raw", "-F", "raw", image, "1M");
        Qemu.Io(image, "qcow2", "write -P 0x11 0 20k", "write -z 64k 8k", "write -P 0x22 200k 4k");
        Qemu.ImgOk("snapshot", "-c", "snap", image);
        Qemu.Io(image, "qcow2", "write -P 0x33 8k 4k", "write -c -P 0x44 512k 64k");
        return File.ReadAllBytes(image);
    }

    /// <summary>Everything a user or a guest could do with the image; only StorageException may come out.</summary>
    private void Exercise(byte[] bytes, string what)
    {
        string path = _dir.File("fuzz.qcow2");
        File.WriteAllBytes(path, bytes);
        Task task = Task.Run(() =>
        {
            foreach (bool readOnly in new[] { true, false })
            {
                try
                {
                    using DiskImage disk = ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = readOnly });
                    var buffer = new byte[256 * 1024];
                    long limit = Math.Min(disk.Length, 2L * 1024 * 1024);
                    for (long offset = 0; offset + buffer.Length <= limit; offset += buffer.Length)
                    {
                        disk.Read(offset, buffer);
                    }

                    if (disk.Length > buffer.Length)
                    {
                        disk.Read(disk.Length - buffer.Length, buffer);
                    }

                    BlockExtent extent = disk.GetExtent(0, disk.Length);
                    _ = extent;
                    if (disk is Qcow2Image qcow2)
                    {
                        _ = qcow2.Check(CheckRepair.None);
                        _ = qcow2.Snapshots;
                    }

                    if (!readOnly && disk.Length >= 128 * 1024)
                    {
                        disk.Write(4096, buffer.AsSpan(0, 70_000));
                        disk.WriteZeroes(65536, 65536, mayUnmap: true);
                        disk.Discard(0, 65536);
                        if (disk is Qcow2Image q)
                        {
                            q.CreateSnapshot("fuzz");
                            q.Write(0, buffer.AsSpan(0, 4096));
                            q.ApplySnapshot("fuzz");
                            q.DeleteSnapshot("fuzz");
                        }

                        disk.Flush();
                    }
                }
                catch (StorageException e)
                {
                    // A clear refusal is a correct outcome, as long as it is one sentence naming the problem.
                    Assert.False(string.IsNullOrWhiteSpace(e.Message), what);
                    Assert.DoesNotContain('\n', e.Message);
                }
            }
        });

        bool finished;
        try
        {
            finished = task.Wait(CaseTimeout);
        }
        catch (AggregateException e)
        {
            Exception inner = e.InnerException!;
            Assert.Fail($"{what}: {inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}");
            return;
        }

        Assert.True(finished, $"{what}: did not finish within {CaseTimeout.TotalSeconds} s");
    }

    [Theory]
    [InlineData("cluster_size=4096", 1)]
    [InlineData("cluster_size=512,refcount_bits=8", 2)]
    [InlineData("cluster_size=16384,extended_l2=on", 3)]
    [InlineData("cluster_size=65536,compat=0.10", 4)]
    public void RandomBitFlipsAreRefusedCleanly(string options, int seed)
    {
        byte[] original = MakeSeedImage(options);
        var random = new Random(seed);
        int metadataBytes = Math.Min(original.Length, 24 * 1024);
        for (int round = 0; round < 120; round++)
        {
            byte[] mutated = (byte[])original.Clone();
            int flips = random.Next(1, 6);
            var positions = new List<int>();
            for (int i = 0; i < flips; i++)
            {
                // Mostly metadata near the start, sometimes anywhere in the file.
                int position = random.Next(4) == 0 ? random.Next(original.Length) : random.Next(metadataBytes);
                mutated[position] ^= (byte)(1 << random.Next(8));
                positions.Add(position);
            }

            Exercise(mutated, $"{options} round {round} (flipped bytes {string.Join(",", positions)})");
        }
    }

    /// <summary>
    /// Header fields with values no valid image has. Each is refused when the image is opened;
    /// QEMU refuses each of them at open too, except offsets it only follows at the first access
    /// (L1 table, refcount table and snapshot table at 0 or past any file), which Vessel checks
    /// up front.
    /// </summary>
    public static TheoryData<string, int, ulong> CorruptHeaderFields => new()
    {
        { "version", 4, 1 },
        { "version", 4, 4 },
        { "backing offset", 8, 0xfff0 },
        { "backing offset", 8, ulong.MaxValue },
        { "backing size", 16, 5000 },
        { "cluster bits", 20, 8 },
        { "cluster bits", 20, 22 },
        { "cluster bits", 20, 63 },
        { "size", 24, ulong.MaxValue },
        { "size", 24, 1UL << 50 },
        { "crypt", 32, 1 },
        { "l1 size", 36, 0 },
        { "l1 size", 36, uint.MaxValue },
        { "l1 offset", 40, 0 },
        { "l1 offset", 40, 0x1234 },
        { "l1 offset", 40, 1UL << 55 },
        { "refcount table offset", 48, 0 },
        { "refcount table offset", 48, 0x200 },
        { "refcount table offset", 48, 1UL << 50 },
        { "refcount table clusters", 56, 0 },
        { "refcount table clusters", 56, uint.MaxValue },
        { "snapshot count", 60, uint.MaxValue },
        { "snapshot count", 60, 1000 },
        { "snapshots offset", 64, 0x1001 },
        { "snapshots offset", 64, 1UL << 60 },
        { "incompatible", 72, 1UL << 40 },
        { "incompatible", 72, 1 << 2 },
        { "incompatible", 72, 1 << 3 },
        { "incompatible", 72, 1 << 4 },
        { "autoclear", 88, ulong.MaxValue },
        { "refcount order", 96, 7 },
        { "refcount order", 96, uint.MaxValue },
        { "header length", 100, 3 },
        { "header length", 100, 0x10000 },
    };

    [Theory]
    [MemberData(nameof(CorruptHeaderFields))]
    public void CorruptHeaderFieldsAreRefusedCleanly(string field, int offset, ulong value)
    {
        string path = _dir.File("fuzz.qcow2");
        File.WriteAllBytes(path, WithHeaderField(MakeSeedImage("cluster_size=4096"), offset, value));
        foreach (bool readOnly in new[] { true, false })
        {
            StorageException refusal = Assert.ThrowsAny<StorageException>(() => ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = readOnly }).Dispose());
            Assert.False(string.IsNullOrWhiteSpace(refusal.Message), $"{field} = {value:x}");
            Assert.DoesNotContain('\n', refusal.Message);
        }
    }

    /// <summary>
    /// Header fields with unusual values a valid image may have: the dirty bit (the refcounts
    /// are rebuilt on open, as QEMU does) and a header that fills its cluster. The image opens,
    /// shows its data and survives everything <see cref="Exercise"/> does.
    /// </summary>
    [Theory]
    [InlineData("incompatible (dirty)", 72, 1)]
    [InlineData("header length", 100, 4096)]
    public void UnusualButValidHeaderFieldsAreAccepted(string field, int offset, ulong value)
    {
        byte[] mutated = WithHeaderField(MakeSeedImage("cluster_size=4096"), offset, value);
        string path = _dir.File("fuzz.qcow2");
        File.WriteAllBytes(path, mutated);
        using (DiskImage disk = ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true }))
        {
            var first = new byte[4096];
            disk.Read(0, first);
            Assert.True(first.All(b => b == 0x11), $"{field} = {value:x}: the image's data is not what was written");
        }

        Exercise(mutated, $"{field} = {value:x}");
    }

    [Fact]
    public void AnImageMarkedCorruptOpensOnlyReadOnly()
    {
        // As QEMU: a corrupt image can be read (to rescue data), never written before a repair.
        string path = _dir.File("fuzz.qcow2");
        File.WriteAllBytes(path, WithHeaderField(MakeSeedImage("cluster_size=4096"), 72, 1 << 1));
        ImageOpener.Open(path, new ImageOpenOptions { ReadOnly = true }).Dispose();
        StorageException refusal = Assert.ThrowsAny<StorageException>(() => ImageOpener.Open(path).Dispose());
        Assert.Contains("corrupt", refusal.Message);
    }

    private static byte[] WithHeaderField(byte[] original, int offset, ulong value)
    {
        byte[] mutated = (byte[])original.Clone();
        bool wide = offset is 8 or 24 or 40 or 48 or 64 or 72 or 80 or 88;
        if (wide)
        {
            BinaryPrimitives.WriteUInt64BigEndian(mutated.AsSpan(offset), value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(mutated.AsSpan(offset), (uint)value);
        }

        return mutated;
    }

    [Fact]
    public void CorruptTableEntriesAreRefusedCleanly()
    {
        byte[] original = MakeSeedImage("cluster_size=4096");
        int cs = 4096;
        long l1Offset = (long)BinaryPrimitives.ReadUInt64BigEndian(original.AsSpan(40));
        long refcountTable = (long)BinaryPrimitives.ReadUInt64BigEndian(original.AsSpan(48));
        long l2Offset = (long)(BinaryPrimitives.ReadUInt64BigEndian(original.AsSpan((int)l1Offset)) & 0x00ff_ffff_ffff_fe00UL);
        long snapshots = (long)BinaryPrimitives.ReadUInt64BigEndian(original.AsSpan(64));
        ulong[] nasty = [1, 0x200, 0x1000 | 1UL << 63, (ulong)original.Length + 0x10000, 1UL << 55, ulong.MaxValue, 0x4000_0000_0000_1000, 0x8000_0000_0000_0000, (ulong)l1Offset | 1UL << 63, (ulong)refcountTable];
        var random = new Random(11);
        foreach ((string table, long start, int entries) in new[] { ("L1", l1Offset, 2), ("refcount table", refcountTable, 2), ("L2", l2Offset, 48), ("snapshot table", snapshots, 6) })
        {
            foreach (ulong value in nasty)
            {
                byte[] mutated = (byte[])original.Clone();
                int index = random.Next(entries);
                BinaryPrimitives.WriteUInt64BigEndian(mutated.AsSpan((int)(start + (index * 8))), value);
                Exercise(mutated, $"{table} entry {index} = {value:x}");
            }
        }

        // The first refcount block zeroed: every refcount reads 0 while tables point everywhere.
        byte[] zeroedBlock = (byte[])original.Clone();
        long block = (long)BinaryPrimitives.ReadUInt64BigEndian(original.AsSpan((int)refcountTable));
        Array.Clear(zeroedBlock, (int)block, cs);
        Exercise(zeroedBlock, "refcount block zeroed");

        // Truncated files at several lengths.
        foreach (int length in new[] { 0, 10, 72, 104, 200, cs, cs + 100, original.Length / 2, original.Length - 1 })
        {
            Exercise(original[..length], $"truncated to {length} bytes");
        }
    }
}
