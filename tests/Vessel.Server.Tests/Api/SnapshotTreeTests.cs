using System.Diagnostics;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Api;

/// <summary>
/// The snapshot tree of a stopped VM and templates, checked on the disk itself: qemu-io writes a
/// pattern between snapshots, qemu-io reads it back after a revert, and qemu-img check says the
/// image is clean (no leaked clusters) once an inner snapshot is deleted.
/// </summary>
public sealed class SnapshotTreeTests : IDisposable
{
    private readonly ApiFactory _factory = new();

    [Fact]
    public async Task RevertRestoresTheDiskAndDeletingAnInnerSnapshotReattachesItsChildren()
    {
        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
        {
            Name = "tree",
            Kernel = TestFiles.Kernel,
            Nics = [],
            Disks = [new DiskRequest { SizeBytes = 16L << 20 }],
        }));
        string disk = DiskPath(Assert.Single((await client.GetVmAsync("tree")).Disks).Volume);

        // a (pattern 0x11) <- b (0x22) <- c (0x33); then back to a and a sibling d (0x44).
        foreach ((string name, string pattern) in new[] { ("a", "0x11"), ("b", "0x22"), ("c", "0x33") })
        {
            Tool("qemu-io", "-c", $"write -P {pattern} 0 64k", disk);
            await client.WaitForSuccessAsync(await client.CreateSnapshotAsync("tree", new SnapshotCreateRequest { Name = name, Description = $"pattern {pattern}" }));
        }

        Tool("qemu-io", "-c", "write -P 0x99 0 64k", disk);
        await client.WaitForSuccessAsync(await client.RevertSnapshotAsync("tree", "a"));
        Tool("qemu-io", "-c", "read -P 0x11 0 64k", disk);
        Tool("qemu-io", "-c", "write -P 0x44 0 64k", disk);
        await client.WaitForSuccessAsync(await client.CreateSnapshotAsync("tree", new SnapshotCreateRequest { Name = "d" }));

        SnapshotTree tree = await client.ListSnapshotsAsync("tree");
        Assert.Equal("d", tree.Current);
        Assert.Equal([("a", null), ("b", "a"), ("c", "b"), ("d", "a")], tree.Snapshots.OrderBy(s => s.Name).Select(s => (s.Name, s.Parent)));

        // Deleting the inner b: c moves up to a and still holds its own data.
        await client.WaitForSuccessAsync(await client.DeleteSnapshotAsync("tree", "b"));
        tree = await client.ListSnapshotsAsync("tree");
        Assert.Equal([("a", null), ("c", "a"), ("d", "a")], tree.Snapshots.OrderBy(s => s.Name).Select(s => (s.Name, s.Parent)));
        Assert.DoesNotContain(" b ", Tool("qemu-img", "snapshot", "-l", disk));
        Tool("qemu-img", "check", disk);

        await client.WaitForSuccessAsync(await client.RevertSnapshotAsync("tree", "c"));
        Tool("qemu-io", "-c", "read -P 0x33 0 64k", disk);
        Assert.Equal("c", (await client.ListSnapshotsAsync("tree")).Current);

        VesselApiException missing = await Assert.ThrowsAsync<VesselApiException>(() => client.RevertSnapshotAsync("tree", "b"));
        Assert.Equal(404, missing.Status);
        Http.AssertOneSentence(missing.Message);
    }

    [Fact]
    public async Task ATemplateIsReadOnlyAndCannotStartButDeploysClones()
    {
        using VesselClient client = _factory.Typed();
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
        {
            Name = "base",
            Kernel = TestFiles.Kernel,
            Nics = [],
            Disks = [new DiskRequest { SizeBytes = 16L << 20 }],
        }));
        VmDetails template = await client.MakeTemplateAsync("base");
        Assert.True(template.IsTemplate);
        Assert.Contains("base", (await client.ListTemplatesAsync()).Items.Select(t => t.Name));

        VesselApiException start = await Assert.ThrowsAsync<VesselApiException>(() => client.VmActionAsync("base", "start"));
        Assert.Equal(409, start.Status);
        Http.AssertOneSentence(start.Message);
        VesselApiException edit = await Assert.ThrowsAsync<VesselApiException>(() => client.EditVmAsync("base", new VmEditRequest { Cpus = 2 }));
        Assert.Equal(409, edit.Status);

        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "child", Template = "base", CloneMode = "linked" }));
        VmDetails child = await client.GetVmAsync("child");
        Assert.Equal(("base", false), (child.ClonedFrom, child.IsTemplate));
        Assert.Contains("backing file:", Tool("qemu-img", "info", "-U", DiskPath(Assert.Single(child.Disks).Volume)));

        // The base cannot go while its linked clone depends on it.
        VesselApiException delete = await Assert.ThrowsAsync<VesselApiException>(() => client.DeleteVmAsync("base", deleteDisks: true));
        Assert.Equal(409, delete.Status);
        Http.AssertOneSentence(delete.Message);
    }

    private string DiskPath(string volume) => Path.Combine(_factory.DataDirectory, "pools", volume.Split('/')[0], volume.Split('/')[1] + ".qcow2");

    /// <summary>Runs a QEMU tool and returns its output; qemu-io reports a pattern mismatch in its output, not its exit code.</summary>
    private static string Tool(string program, params string[] arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)}: {output}");
        Assert.DoesNotContain("Pattern verification failed", output);
        return output;
    }

    public void Dispose() => _factory.Dispose();
}
