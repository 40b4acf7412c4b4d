using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>The request path allocates nothing per request once caches are warm (a device may issue millions).</summary>
public sealed class AllocationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadsAndWritesDoNotAllocate()
    {
        string image = _dir.File("a.qcow2");
        Qcow2Creator.Create(image, 64L * 1024 * 1024, new Qcow2CreateOptions());
        using DiskImage disk = ImageOpener.Open(image);
        var buffer = new byte[64 * 1024];
        new Random(1).NextBytes(buffer);

        // Warm up: allocate the first half, fill the caches, let the JIT settle.
        for (int round = 0; round < 3; round++)
        {
            for (long offset = 0; offset < 32L * 1024 * 1024; offset += buffer.Length)
            {
                disk.Write(offset, buffer);
                disk.Read(offset, buffer);
            }

            disk.Flush();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 2000; i++)
        {
            long offset = (i * 4096L * 7) % (32L * 1024 * 1024);
            disk.Write(offset, buffer.AsSpan(0, 4096));
            disk.Read(offset + 512, buffer.AsSpan(0, 8192));
        }

        // Allocating writes into the second half (new clusters, same L2 table).
        for (long offset = 32L * 1024 * 1024; offset < 48L * 1024 * 1024; offset += 65536)
        {
            disk.Write(offset + 4096, buffer.AsSpan(0, 4096));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated by 4000 reads and writes and 256 allocating writes");
    }
}
