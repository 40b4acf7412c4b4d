using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Testing.Hosts;
using Vessel.Storage;
using Vessel.Storage.Operations;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// The platform as a user meets it: a real <c>vessel serve</c> and real VMM processes booting the
/// reference guest, driven through the API and the console WebSocket. One long story, because
/// each step needs the state the previous one left (as the issue tells it). Each story runs with
/// the inventory in SQLite and again in PostgreSQL (<c>--database</c>): the same body.
/// </summary>
public sealed class PlatformScenarioTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static async Task<OperationInfo> DoneAsync(VesselClient client, OperationInfo started) => await client.WaitForSuccessAsync(started);

    [Fact]
    public Task SnapshotsClonesAdoptionAndCrashesWithRealVms() => SnapshotsClonesAdoptionAndCrashesAsync([]);

    [SkippableFact]
    public Task SnapshotsClonesAdoptionAndCrashesWithRealVmsOnPostgres() => SnapshotsClonesAdoptionAndCrashesAsync(["--database", postgres.NewDatabase()]);

    private static async Task SnapshotsClonesAdoptionAndCrashesAsync(string[] database)
    {
        using var temp = new TempDirectory();
        string dataDirectory = temp.File("data");
        ServeProcess serve = await ServeProcess.StartAsync(dataDirectory, database);
        try
        {
            VesselClient client = serve.Client;

            // A VM from the reference kernel and a volume imported from rootfs.ext4.
            await DoneAsync(client, await client.CreateVmAsync(new VmCreateRequest
            {
                Name = "main",
                Kernel = TestFiles.Kernel,
                Initrd = TestFiles.Initrd,
                Append = TestFiles.CommandLine,
                MemoryBytes = 256L << 20,
                Disks = [new DiskRequest { Import = TestFiles.RootFs }],
            }));
            await DoneAsync(client, await client.VmActionAsync("main", "start"));
            Assert.Equal(VmStates.Running, (await client.GetVmAsync("main")).State);

            await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "main"))
            {
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("mkdir -p /mnt; mount /dev/vda /mnt && echo mounted-$((1+1))", "mounted-2");
                await console.RunAsync("echo one > /mnt/first; echo in-ram > /tmp/before; sync; echo wrote-$((2+1))", "wrote-3");

                await DoneAsync(client, await client.CreateSnapshotAsync("main", new SnapshotCreateRequest { Name = "s1", Memory = true, Description = "first file written" }));

                await console.RunAsync("echo two > /mnt/second; echo in-ram > /tmp/after; sync; (while true; do echo tick; sleep 1; done) & echo loop-$((3+1))", "loop-4");
                await DoneAsync(client, await client.RevertSnapshotAsync("main", "s1"));
                Assert.Equal(VmStates.Running, (await client.GetVmAsync("main")).State);

                // The guest is back at the snapshot's moment: the disk and the memory as they were.
                await console.RunAsync("test -e /mnt/first && echo first-there-$((5+5))", "first-there-10");
                await console.RunAsync("test -e /mnt/second || echo second-gone-$((6+6))", "second-gone-12");
                await console.RunAsync("test -e /tmp/before && echo ram-before-$((7+7))", "ram-before-14");
                await console.RunAsync("test -e /tmp/after || echo ram-after-gone-$((8+8))", "ram-after-gone-16");
                await console.RunAsync("echo loops-$(ps | grep -c '[s]leep 1')-end", "loops-0-end");
            }

            SnapshotTree tree = await client.ListSnapshotsAsync("main");
            Assert.Equal("s1", tree.Current);
            Assert.True(Assert.Single(tree.Snapshots).Memory);

            // Full and linked clones from the snapshot boot afresh from its disk; an instant clone
            // starts from main's running state (its /mnt still mounted, /tmp/before in its RAM).
            await DoneAsync(client, await client.CloneVmAsync("main", new CloneRequest { Name = "full1", Mode = "full", Snapshot = "s1", Start = true }));
            await DoneAsync(client, await client.CloneVmAsync("main", new CloneRequest { Name = "linked1", Mode = "linked", Snapshot = "s1", Start = true }));
            await DoneAsync(client, await client.CloneVmAsync("main", new CloneRequest { Name = "inst1", Mode = "instant" }));
            VmDetails instant = await client.GetVmAsync("inst1");
            Assert.Equal(VmStates.Running, instant.State);
            Assert.NotEqual((await client.GetVmAsync("main")).Id, instant.Id);

            foreach (string clone in new[] { "full1", "linked1" })
            {
                await using ConsoleSession console = await ConsoleSession.AttachAsync(client, clone);
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("mkdir -p /mnt; mount /dev/vda /mnt && echo mounted-$((1+1))", "mounted-2");
                await console.RunAsync("test -e /mnt/first && echo clone-first-$((4+7))", "clone-first-11");
                await console.RunAsync($"echo mine > /mnt/clone-{clone}; sync; echo clone-wrote-$((4+8))", "clone-wrote-12");
            }

            await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "inst1"))
            {
                console.SkipHistory();
                await console.RunAsync("test -e /tmp/before && echo instant-ram-$((10+12))", "instant-ram-22");
                await console.RunAsync("echo mine > /mnt/clone-inst1; sync; echo clone-wrote-$((4+8))", "clone-wrote-12");
            }

            // A write in a clone never shows in its parent or its siblings.
            foreach (string vm in new[] { "main", "full1", "linked1", "inst1" })
            {
                await using ConsoleSession console = await ConsoleSession.AttachAsync(client, vm);
                console.SkipHistory();
                string own = vm == "main" ? "none" : $"clone-{vm}";
                await console.RunAsync($"echo 3 > /proc/sys/vm/drop_caches; echo seen-$(ls /mnt | grep clone- | tr '\\n' ,)-by-{vm}", $"seen-{(vm == "main" ? "" : own + ",")}-by-{vm}");
            }

            // kill -9 of the daemon leaves every VM running; the restarted daemon adopts them.
            Dictionary<string, int?> processes = [];
            foreach (string vm in new[] { "main", "full1", "linked1", "inst1" })
            {
                processes[vm] = (await client.GetVmAsync(vm)).ProcessId;
            }

            serve.KillHard();
            serve.Dispose();
            serve = await ServeProcess.StartAsync(dataDirectory, database);
            client = serve.Client;
            foreach ((string vm, int? pid) in processes)
            {
                VmDetails adopted = await client.GetVmAsync(vm);
                Assert.Equal(VmStates.Running, adopted.State);
                Assert.Equal(pid, adopted.ProcessId);
            }

            await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "main"))
            {
                console.SkipHistory();
                await console.RunAsync("echo alive-$((9*9))", "alive-81");
            }

            // kill -9 of a VMM: its VM is crashed, an event says so, and its disk is intact.
            using WebSocket events = await client.ConnectEventsAsync();
            await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "linked1"))
            {
                console.SkipHistory();
                await console.RunAsync("sync; echo synced-$((6*7))", "synced-42");
            }

            int linkedPid = (await client.GetVmAsync("linked1")).ProcessId!.Value;
            using (Process vmm = Process.GetProcessById(linkedPid))
            {
                vmm.Kill();
                vmm.WaitForExit();
            }

            ServerEvent crashed = await WaitForEventAsync(events, e => e.Type == "vm.crashed" && e.Target == "linked1");
            Assert.Contains("ended unexpectedly", crashed.Message);
            Assert.Equal(VmStates.Crashed, (await client.GetVmAsync("linked1")).State);
            VmDisk disk = Assert.Single((await client.GetVmAsync("linked1")).Disks);
            Assert.Equal(0, FileSystemCheck(dataDirectory, disk.Volume, temp));

            // The crashed VM starts again.
            await DoneAsync(client, await client.VmActionAsync("linked1", "start"));
            Assert.Equal(VmStates.Running, (await client.GetVmAsync("linked1")).State);
        }
        finally
        {
            serve.Dispose();
            VmmProcesses.KillAll(dataDirectory);
        }
    }

    [Fact]
    public Task LifecycleOfARealVmWithOneChangingOperationAtATime() => LifecycleWithOneChangingOperationAtATimeAsync([]);

    [SkippableFact]
    public Task LifecycleOfARealVmWithOneChangingOperationAtATimeOnPostgres() => LifecycleWithOneChangingOperationAtATimeAsync(["--database", postgres.NewDatabase()]);

    private static async Task LifecycleWithOneChangingOperationAtATimeAsync(string[] database)
    {
        using var temp = new TempDirectory();
        string dataDirectory = temp.File("data");
        using ServeProcess serve = await ServeProcess.StartAsync(dataDirectory, database);
        try
        {
            VesselClient client = serve.Client;
            await DoneAsync(client, await client.CreateVmAsync(new VmCreateRequest { Name = "life", Kernel = TestFiles.Kernel, Initrd = TestFiles.Initrd, Append = TestFiles.CommandLine, Balloon = true }));

            // While the start runs, a second changing request is refused with 409 and one sentence.
            OperationInfo start = await client.VmActionAsync("life", "start");
            VesselApiException busy = await Assert.ThrowsAsync<VesselApiException>(() => client.VmActionAsync("life", "stop"));
            Assert.Equal(409, busy.Status);
            Assert.Contains("is busy with vm.start", busy.Message);
            await DoneAsync(client, start);

            await using ConsoleSession console = await ConsoleSession.AttachAsync(client, "life");
            console.WaitFor(TestFiles.Prompt);
            await console.RunAsync("echo remembered > /tmp/state; echo set-$((2*21))", "set-42");

            await DoneAsync(client, await client.VmActionAsync("life", "pause"));
            Assert.Equal(VmStates.Paused, (await client.GetVmAsync("life")).State);
            await DoneAsync(client, await client.VmActionAsync("life", "resume"));
            Assert.Equal(VmStates.Running, (await client.GetVmAsync("life")).State);

            // Suspend to disk and resume from it: the guest goes on where it was.
            await DoneAsync(client, await client.VmActionAsync("life", "suspend"));
            VmDetails suspended = await client.GetVmAsync("life");
            Assert.Equal(VmStates.Suspended, suspended.State);
            Assert.Null(suspended.ProcessId);
            await DoneAsync(client, await client.VmActionAsync("life", "resume"));
            await using (ConsoleSession resumed = await ConsoleSession.AttachAsync(client, "life"))
            {
                resumed.SkipHistory();
                await resumed.RunAsync("test \"$(cat /tmp/state)\" = remembered && echo back-$((3*3))", "back-9");
            }

            // Live edits: the balloon; pending changes for what needs a restart.
            VmDetails edited = await client.EditVmAsync("life", new VmEditRequest { BalloonBytes = 128L << 20, Cpus = 2 });
            Assert.Equal(["cpus"], edited.PendingChanges);

            // Shutdown asks the guest (BusyBox has no power button handler), then stops it.
            await DoneAsync(client, await client.VmActionAsync("life", "shutdown", timeoutSeconds: 2));
            Assert.Equal(VmStates.Stopped, (await client.GetVmAsync("life")).State);
            Assert.Empty((await client.GetVmAsync("life")).PendingChanges);

            VesselApiException notRunning = await Assert.ThrowsAsync<VesselApiException>(() => client.VmActionAsync("life", "pause"));
            Assert.Equal(409, notRunning.Status);
            Assert.Equal("VM 'life' is stopped, not running.", notRunning.Message);
        }
        finally
        {
            VmmProcesses.KillAll(dataDirectory);
        }
    }

    private static async Task<ServerEvent> WaitForEventAsync(WebSocket socket, Func<ServerEvent, bool> predicate)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        byte[] buffer = new byte[65536];
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, timeout.Token);
            ServerEvent serverEvent = JsonSerializer.Deserialize<ServerEvent>(Encoding.UTF8.GetString(buffer, 0, result.Count), VesselClient.JsonOptions)!;
            if (predicate(serverEvent))
            {
                return serverEvent;
            }
        }
    }

    /// <summary><c>e2fsck -fn</c> of a volume (copied to a raw file first); returns its exit code.</summary>
    private static int FileSystemCheck(string dataDirectory, string volume, TempDirectory temp)
    {
        string path = Path.Combine(dataDirectory, "pools", volume.Split('/')[0], volume.Split('/')[1] + ".qcow2");
        string raw = temp.File("check.raw");
        ImageConverter.Convert(path, raw, new ConvertOptions { TargetFormat = ImageFormat.Raw, ForceShare = true });
        using Process check = Process.Start(new ProcessStartInfo("e2fsck", ["-fn", raw]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = check.StandardOutput.ReadToEnd() + check.StandardError.ReadToEnd();
        check.WaitForExit();
        Assert.True(check.ExitCode == 0, output);
        return check.ExitCode;
    }
}
