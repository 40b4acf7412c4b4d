using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>
/// Volumes after they are made: grown (never shrunk), copied and converted with their data
/// intact as <c>qemu-img</c> sees it; an import or a snapshot that meets a full disk fails in one
/// sentence and leaves nothing behind and no image damaged.
/// </summary>
public sealed class VolumeTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    [Fact]
    public async Task AVolumeGrowsAndRefusesToShrink()
    {
        using VesselClient client = _factory.Typed();
        await client.CreateVolumeAsync("default", new VolumeCreateRequest { Name = "grow", Format = "qcow2", SizeBytes = 16L << 20 });

        VolumeInfo grown = await client.ResizeVolumeAsync("default", "grow", 48L << 20);
        Assert.Equal(48L << 20, grown.VirtualBytes);
        string path = VolumePath("default", "grow.qcow2");
        Assert.Equal(48L << 20, QemuImgInfo(path)["virtual-size"]!.GetValue<long>());

        VesselApiException shrink = await Assert.ThrowsAsync<VesselApiException>(() => client.ResizeVolumeAsync("default", "grow", 8L << 20));
        Assert.Equal(400, shrink.Status);
        Assert.Contains("cannot shrink", shrink.Message);
        Http.AssertOneSentence(shrink.Message);
        Assert.Equal(48L << 20, QemuImgInfo(path)["virtual-size"]!.GetValue<long>());
        Assert.Equal(0, Run("qemu-img", "check", "-q", path).ExitCode);
    }

    [Fact]
    public async Task ACopyConvertsAndKeepsEveryByte()
    {
        using VesselClient client = _factory.Typed();
        await client.CreateVolumeAsync("default", new VolumeCreateRequest { Name = "source", Format = "raw", SizeBytes = 16L << 20 });
        string source = VolumePath("default", "source.raw");
        Assert.Equal(0, Run("qemu-io", "-f", "raw", "-c", "write -P 0xab 1M 64k", "-c", "write -P 0x5c 15M 4k", source).ExitCode);

        OperationInfo copy = await client.WaitForSuccessAsync(await client.CopyVolumeAsync("default", "source", new VolumeCopyRequest("converted", null, "qcow2")));
        Assert.Equal("volume.copy", copy.Kind);
        VolumeInfo converted = await client.GetVolumeAsync("default", "converted");
        Assert.Equal("qcow2", converted.Format);
        Assert.Equal(16L << 20, converted.VirtualBytes);
        string target = VolumePath("default", "converted.qcow2");
        Assert.Equal(0, Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", source, target).ExitCode);
        Assert.Equal(0, Run("qemu-io", "-f", "qcow2", "-c", "read -P 0xab 1M 64k", "-c", "read -P 0x5c 15M 4k", target).ExitCode);
        Assert.Equal(0, Run("qemu-img", "check", "-q", target).ExitCode);

        VesselApiException taken = await Assert.ThrowsAsync<VesselApiException>(() => client.CopyVolumeAsync("default", "source", new VolumeCopyRequest("converted", null, "raw")));
        Assert.Equal(409, taken.Status);
    }

    [SkippableFact]
    public async Task AnImportThatFillsTheDiskFailsAndLeavesNothing()
    {
        using var small = new TempDirectory();
        Skip.IfNot(Run("mount", "-t", "tmpfs", "-o", "size=1m", "vessel-test-full", small.Path).ExitCode == 0, "a full file system is made with a 1 MiB tmpfs, which needs the right to mount (root)");
        try
        {
            using VesselClient client = _factory.Typed();
            await client.CreatePoolAsync(new PoolCreateRequest("small", small.Path));
            JsonNode started = await client.CreateVolumeAsync("small", new VolumeCreateRequest { Name = "rootfs", Format = "raw", Import = TestFiles.RootFs });
            OperationInfo import = await client.WaitAsync(started.Deserialize<OperationInfo>(VesselClient.JsonOptions)!);
            Assert.Equal(OperationStatuses.Failed, import.Status);
            Assert.Contains("space", import.Error);
            Http.AssertOneSentence(import.Error!);
            Assert.Empty((await client.ListVolumesAsync("small")).Items);
            Assert.Empty(Directory.EnumerateFileSystemEntries(small.Path));

            // The pool still works once there is room: a small volume fits.
            await client.CreateVolumeAsync("small", new VolumeCreateRequest { Name = "fits", Format = "qcow2", SizeBytes = 16L << 20 });
            Assert.Single((await client.ListVolumesAsync("small")).Items);
        }
        finally
        {
            Run("umount", small.Path);
        }
    }

    [SkippableFact]
    public async Task ASnapshotThatMeetsAFullDiskFailsAndTheImageStaysSound()
    {
        using var small = new TempDirectory();
        Skip.IfNot(Run("mount", "-t", "tmpfs", "-o", "size=2m", "vessel-test-full", small.Path).ExitCode == 0, "a full file system is made with a 2 MiB tmpfs, which needs the right to mount (root)");
        try
        {
            using VesselClient client = _factory.Typed();
            await client.CreatePoolAsync(new PoolCreateRequest("small", small.Path));
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
            {
                Name = "tight",
                Kernel = TestFiles.Kernel,
                Nics = [],
                Disks = [new DiskRequest { SizeBytes = 16L << 20, Pool = "small" }],
            }));
            string disk = Directory.EnumerateFiles(small.Path).Single();
            Assert.Equal(0, Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x42 0 256k", disk).ExitCode);

            // Whatever room is left goes to a filler: the snapshot's tables find none.
            string filler = Path.Combine(small.Path, "filler");
            Run("dd", "if=/dev/zero", $"of={filler}", "bs=4k");
            OperationInfo snapshot = await client.WaitAsync(await client.CreateSnapshotAsync("tight", new SnapshotCreateRequest { Name = "nowhere" }));
            Assert.Equal(OperationStatuses.Failed, snapshot.Status);
            Assert.Contains("space", snapshot.Error);
            Http.AssertOneSentence(snapshot.Error!);
            Assert.Empty((await client.ListSnapshotsAsync("tight")).Snapshots);
            Assert.Equal(0, Run("qemu-img", "check", "-q", disk).ExitCode);
            Assert.DoesNotContain("nowhere", Run("qemu-img", "snapshot", "-l", disk).Output);
            Assert.Equal(0, Run("qemu-io", "-f", "qcow2", "-c", "read -P 0x42 0 256k", disk).ExitCode);

            // With room again, the same snapshot is taken.
            File.Delete(filler);
            await client.WaitForSuccessAsync(await client.CreateSnapshotAsync("tight", new SnapshotCreateRequest { Name = "roomy" }));
            Assert.Contains("roomy", Run("qemu-img", "snapshot", "-l", disk).Output);
            Assert.Equal(0, Run("qemu-img", "check", "-q", disk).ExitCode);
        }
        finally
        {
            Run("umount", small.Path);
        }
    }

    private string VolumePath(string pool, string file) => Path.Combine(_factory.DataDirectory, "pools", pool, file);

    private static JsonObject QemuImgInfo(string path)
    {
        (int exitCode, string output) = Run("qemu-img", "info", "--output", "json", path);
        Assert.Equal(0, exitCode);
        return JsonNode.Parse(output)!.AsObject();
    }

    private static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        _ = error.Result;
        return (process.ExitCode, output);
    }

    public void Dispose() => _factory.Dispose();
}
