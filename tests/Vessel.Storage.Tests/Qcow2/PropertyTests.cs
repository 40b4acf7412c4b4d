using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>
/// Seeded random sequences of writes, discards, write-zeroes, snapshot create/apply/delete and
/// reopenings give the same content on a qcow2 image as on a plain byte array.
/// </summary>
public sealed class PropertyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, int, int, int, bool, bool> Configurations => new()
    {
        { "64k", 65536, 3, 16, false, false },
        { "4k-v2", 4096, 2, 16, false, false },
        { "512", 512, 3, 16, false, false },
        { "4k-refcount64", 4096, 3, 64, false, false },
        { "4k-refcount1-no-snapshots", 4096, 3, 1, false, false },
        { "32k-extended-l2", 32768, 3, 16, true, false },
        { "4k-backing", 4096, 3, 16, false, true },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void RandomOperationsMatchAByteArray(string name, int clusterSize, int version, int refcountBits, bool extendedL2, bool withBacking)
    {
        const long size = 3L * 1024 * 1024 + 1536;
        string image = _dir.File($"{name}.qcow2");
        var model = new byte[size];
        string? backingName = null;
        if (withBacking)
        {
            string backing = _dir.File("backing.raw");
            var backingData = new byte[2 * 1024 * 1024];
            new Random(42).NextBytes(backingData);
            File.WriteAllBytes(backing, backingData);
            backingData.CopyTo(model, 0);
            backingName = "backing.raw";
        }

        Qcow2Creator.Create(image, size, new Qcow2CreateOptions
        {
            ClusterSize = clusterSize,
            Version = version,
            RefcountBits = refcountBits,
            ExtendedL2 = extendedL2,
            BackingFile = backingName,
            BackingFormat = withBacking ? ImageFormat.Raw : null,
        });

        bool snapshots = refcountBits > 1;
        int seed = int.Parse(Environment.GetEnvironmentVariable("VESSEL_PROPERTY_SEED") ?? "1") + name.Sum(c => c);
        var random = new Random(seed);
        var saved = new Dictionary<string, byte[]>();

        // Debugging aids: VESSEL_PROPERTY_SEED=n picks another sequence; VESSEL_PROPERTY_CHECK_EACH=1
        // checks consistency after every step, with VESSEL_PROPERTY_DISK_EACH=1 also of the file
        // alone (a second, read-only instance) and VESSEL_PROPERTY_REOPEN_EACH=1 reopening each time.
        bool checkEachStep = Environment.GetEnvironmentVariable("VESSEL_PROPERTY_CHECK_EACH") == "1";
        var history = new List<string>();
        int snapshotCounter = 0;
        var disk = (Qcow2Image)ImageOpener.Open(image);
        try
        {
            for (int step = 0; step < 300; step++)
            {
                int roll = random.Next(100);
                int length = random.Next(3) switch
                {
                    0 => random.Next(1, 2000),
                    1 => random.Next(1, 20) * 4096,
                    _ => random.Next(1, 300_000),
                };
                length = (int)Math.Min(length, size);
                long offset = random.NextInt64(0, size - length + 1);
                string what = $"{name} step {step} (roll {roll}, offset {offset}, length {length})";
                history.Add(what);
                if (roll < 50)
                {
                    var data = new byte[length];
                    random.NextBytes(data);
                    disk.Write(offset, data);
                    data.CopyTo(model, offset);
                }
                else if (roll < 60)
                {
                    disk.WriteZeroes(offset, length, mayUnmap: random.Next(2) == 0);
                    Array.Clear(model, (int)offset, length);
                }
                else if (roll < 68)
                {
                    disk.Discard(offset, length);
                    var after = new byte[length];
                    disk.Read(offset, after);
                    for (int b = 0; b < length; b++)
                    {
                        Assert.True(after[b] == 0 || after[b] == model[offset + b], $"{what}: discard left byte {offset + b} as {after[b]}");
                    }

                    after.CopyTo(model, offset);
                }
                else if (roll < 74 && snapshots)
                {
                    string snapshotName = $"s{snapshotCounter++}";
                    disk.CreateSnapshot(snapshotName);
                    saved[snapshotName] = (byte[])model.Clone();
                }
                else if (roll < 78 && snapshots && saved.Count > 0)
                {
                    string snapshotName = saved.Keys.ElementAt(random.Next(saved.Count));
                    disk.ApplySnapshot(snapshotName);
                    model = (byte[])saved[snapshotName].Clone();
                    ImageAssert.SameContent(model, ImageAssert.ReadAll(disk), $"{what}: after applying {snapshotName}");
                }
                else if (roll < 81 && snapshots && saved.Count > 0)
                {
                    string snapshotName = saved.Keys.ElementAt(random.Next(saved.Count));
                    disk.DeleteSnapshot(snapshotName);
                    saved.Remove(snapshotName);
                }
                else if (roll < 86)
                {
                    disk.Dispose();
                    disk = (Qcow2Image)ImageOpener.Open(image);
                    CheckResult check = disk.Check(CheckRepair.None);
                    Assert.True(check.IsClean, $"{what}: {string.Join('\n', check.Messages.Take(10))}");
                }
                else if (roll < 90)
                {
                    disk.Flush();
                }
                else
                {
                    var read = new byte[length];
                    disk.Read(offset, read);
                    ImageAssert.SameContent(model.AsSpan((int)offset, length), read, $"{what}: read at {offset}");
                }

                if (checkEachStep)
                {
                    if (Environment.GetEnvironmentVariable("VESSEL_PROPERTY_REOPEN_EACH") == "1")
                    {
                        disk.Dispose();
                        disk = (Qcow2Image)ImageOpener.Open(image);
                    }

                    CheckResult check = disk.Check(CheckRepair.None);
                    if (Environment.GetEnvironmentVariable("VESSEL_PROPERTY_DISK_EACH") == "1")
                    {
                        // Check() flushed the metadata: the file alone must be consistent now.
                        using var onDisk = (Qcow2Image)ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true, ForceShare = true });
                        check = onDisk.Check(CheckRepair.None);
                    }

                    Assert.True(check.IsClean, $"{what}: {string.Join('\n', check.Messages.Take(10))}\nhistory:\n{string.Join('\n', history.TakeLast(20))}");
                }
            }

            ImageAssert.SameContent(model, ImageAssert.ReadAll(disk), $"{name}: final content");
            Assert.Equal(saved.Keys.Order(), disk.Snapshots.Select(s => s.Name).Order());
        }
        finally
        {
            disk.Dispose();
        }

        ImageAssert.QemuCheckClean(image);
        ImageAssert.SameContent(model, Qemu.Content(image, _dir.Path), $"{name}: as qemu-img reads it");
        foreach ((string snapshotName, byte[] content) in saved)
        {
            string copy = _dir.File($"{snapshotName}.raw");
            Qemu.ImgOk("convert", "-l", $"snapshot.name={snapshotName}", "-O", "raw", image, copy);
            ImageAssert.SameContent(content, File.ReadAllBytes(copy), $"{name}: snapshot {snapshotName} as qemu-img reads it");
        }
    }
}
