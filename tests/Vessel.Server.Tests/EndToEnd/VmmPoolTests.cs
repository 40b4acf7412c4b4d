using System.Globalization;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// The pool of VMMs started ahead of need (<c>vessel serve --vmm-pool N</c>, each a
/// <c>vessel run --standby</c> in <c>DATA/run/standby-ID/</c>): a VM starts in one of them, the
/// pool refills, a pooled VMM is adopted like any other after the daemon was killed, and the
/// standbys of a killed daemon end by themselves.
/// </summary>
public sealed class VmmPoolTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AVmStartsInAPooledVmmThePoolRefillsAndAKilledDaemonLeavesNoStandbyBehind()
    {
        using var temp = new TempDirectory();
        string data = temp.File("data");
        ServeProcess serve = await ServeProcess.StartAsync(data, "--vmm-pool", "2");
        try
        {
            await WaitForReadyAsync(serve.Client, 2);
            int[] standbys = StandbyProcesses(data);
            Assert.Equal(2, standbys.Length);

            await serve.Client.WaitForSuccessAsync(await serve.Client.CreateVmAsync(new VmCreateRequest
            {
                Name = "pooled",
                Kernel = TestFiles.Kernel,
                Initrd = TestFiles.Initrd,
                Append = TestFiles.CommandLine,
                MemoryBytes = 128L << 20,
                Nics = [],
            }));
            await serve.Client.WaitForSuccessAsync(await serve.Client.VmActionAsync("pooled", "start"));
            VmDetails vm = await serve.Client.GetVmAsync("pooled");
            int vmm = vm.ProcessId ?? throw new InvalidOperationException("a running VM without a VMM process");
            Assert.Contains(vmm, standbys);
            // The standby's directory became the VM's: its sockets are where the daemon looks.
            Assert.True(File.Exists(Path.Combine(data, "run", vm.Id.ToString("N"), "qmp.sock")));
            await using (ConsoleSession console = await ConsoleSession.AttachAsync(serve.Client, "pooled"))
            {
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("echo pooled-$((6*7))", "pooled-42");
            }

            // The pool refills with new processes.
            await WaitForReadyAsync(serve.Client, 2);
            int[] refilled = StandbyProcesses(data);
            Assert.Equal(2, refilled.Length);
            Assert.DoesNotContain(vmm, refilled);

            // kill -9 of the daemon: its standbys end by themselves, the VM runs on and is adopted.
            serve.KillHard();
            await WaitUntilAsync(() => refilled.All(pid => !Directory.Exists($"/proc/{pid}")), "the killed daemon's standby VMMs did not end");
            Assert.True(Directory.Exists($"/proc/{vmm}"), "the pooled VM's VMM ended with the daemon");
            serve.Dispose();
            serve = await ServeProcess.StartAsync(data, "--vmm-pool", "1");
            VmDetails adopted = await serve.Client.GetVmAsync("pooled");
            Assert.Equal(VmStates.Running, adopted.State);
            Assert.Equal(vmm, adopted.ProcessId);
            await WaitForReadyAsync(serve.Client, 1);
            Assert.Single(StandbyProcesses(data));
            await serve.Client.WaitForSuccessAsync(await serve.Client.VmActionAsync("pooled", "stop"));
        }
        finally
        {
            serve.Dispose();
            VmmProcesses.KillAll(data);
        }
    }

    [Fact]
    public async Task AMachineThatCannotStartFailsWithTheSameSentenceInAPooledVmmAsInAStartedOne()
    {
        var sentences = new List<string>();
        foreach (int poolSize in new[] { 0, 1 })
        {
            using var temp = new TempDirectory();
            string data = temp.File("data");
            // A kernel that is gone by the time the VM starts.
            string kernel = temp.File("Image");
            File.Copy(TestFiles.Kernel, kernel);
            using ServeProcess serve = await ServeProcess.StartAsync(data, "--vmm-pool", poolSize.ToString(CultureInfo.InvariantCulture));
            try
            {
                await WaitForReadyAsync(serve.Client, poolSize);
                await serve.Client.WaitForSuccessAsync(await serve.Client.CreateVmAsync(new VmCreateRequest
                {
                    Name = "doomed",
                    Kernel = kernel,
                    Initrd = TestFiles.Initrd,
                    MemoryBytes = 128L << 20,
                    Nics = [],
                }));
                File.Delete(kernel);
                OperationInfo start = await serve.Client.WaitAsync(await serve.Client.VmActionAsync("doomed", "start"));
                Assert.Equal(OperationStatuses.Failed, start.Status);
                // The same sentence, but for the test's own directory.
                sentences.Add((start.Error ?? "").Replace(temp.Path, "TEMP", StringComparison.Ordinal));
                Assert.Equal(VmStates.Stopped, (await serve.Client.GetVmAsync("doomed")).State);
            }
            finally
            {
                VmmProcesses.KillAll(data);
            }
        }

        Assert.StartsWith("The VMM did not start: ", sentences[0], StringComparison.Ordinal);
        Assert.Contains("Image", sentences[0], StringComparison.Ordinal);
        Assert.Equal(sentences[0], sentences[1]);
    }

    /// <summary>The processes of the standbys in the data directory (by their pidfiles).</summary>
    private static int[] StandbyProcesses(string data) =>
        Directory.EnumerateDirectories(Path.Combine(data, "run"), "standby-*")
            .Select(d => Path.Combine(d, "vmm.pid"))
            .Where(File.Exists)
            .Select(f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture))
            .ToArray();

    private static async Task WaitForReadyAsync(VesselClient client, int count)
    {
        await WaitUntilAsync(async () =>
        {
            using HttpResponseMessage response = await client.SendAsync(HttpMethod.Get, "metrics", null, null, CancellationToken.None);
            string text = await response.Content.ReadAsStringAsync();
            return text.Contains($"\nvessel_vmm_pool_ready {count}\n", StringComparison.Ordinal);
        }, $"the VMM pool did not reach {count} ready processes");
    }

    private static Task WaitUntilAsync(Func<bool> condition, string failure) => WaitUntilAsync(() => Task.FromResult(condition()), failure);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(200);
        }
    }
}
