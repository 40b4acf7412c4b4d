using System.Diagnostics;
using System.Text.Json.Nodes;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// The <c>vessel</c> client commands against a real daemon, as a script uses them: the fixed
/// spellings, <c>--output json</c>, the console on plain pipes, and mistakes in one sentence with
/// the exit code that tells usage (2) from failure (1).
/// </summary>
public sealed class CommandLineTests
{
    private sealed record Result(int ExitCode, string Output, string Error);

    private static Task<Result> VesselAsync(string dataDirectory, string? input, params string[] arguments) =>
        TypeIntoAsync(dataDirectory, input, null, arguments);

    /// <summary>Runs vessel; with <paramref name="input"/>, types it and ends the input once <paramref name="until"/> was printed.</summary>
    private static async Task<Result> TypeIntoAsync(string dataDirectory, string? input, string? until, string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(TestFiles.VesselAssembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The data directory comes from the environment, as scripts set it once.
        start.Environment["VESSEL_DATA_DIR"] = dataDirectory;
        using Process process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        Task reading = Task.Run(async () =>
        {
            char[] buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        });
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            await process.StandardInput.FlushAsync();
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (until is not null && !Snapshot(output).Contains(until, StringComparison.Ordinal) && DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        await reading;
        return new Result(process.ExitCode, Snapshot(output), await error);
    }

    private static string Snapshot(System.Text.StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    [Fact]
    public async Task ScriptsDriveVmsThroughTheFixedSpellings()
    {
        using var temp = new TempDirectory();
        string data = temp.File("data");
        using ServeProcess serve = await ServeProcess.StartAsync(data);
        try
        {
            Result created = await VesselAsync(data, null, "vm", "create", "cli1", "--kernel", TestFiles.Kernel, "--initrd", TestFiles.Initrd,
                "--append", TestFiles.CommandLine, "--memory", "128M", "--cpus", "1", "--tag", "demo", "--output", "json");
            Assert.True(created.ExitCode == 0, created.Error);
            JsonObject vm = JsonNode.Parse(created.Output)!.AsObject();
            Assert.Equal("stopped", vm["state"]!.GetValue<string>());
            Assert.Equal(128L << 20, vm["memoryBytes"]!.GetValue<long>());

            Result started = await VesselAsync(data, null, "vm", "start", "cli1");
            Assert.True(started.ExitCode == 0, started.Error);
            Result shown = await VesselAsync(temp.File("not-this-one"), null, "vm", "show", "cli1", "--data-dir", data, "--output", "json");
            Assert.Equal("running", JsonNode.Parse(shown.Output)!["state"]!.GetValue<string>());

            // The console on plain pipes: what is typed goes in, the end of input detaches.
            await using (ConsoleSession viewer = await ConsoleSession.AttachAsync(serve.Client, "cli1"))
            {
                viewer.WaitFor(TestFiles.Prompt);
            }

            Result console = await TypeIntoAsync(data, "echo piped-$((20+22))\n", "piped-42", ["vm", "console", "cli1"]);
            Assert.True(console.ExitCode == 0, console.Error);
            Assert.Contains("piped-42", console.Output);
            Assert.Equal("running", JsonNode.Parse((await VesselAsync(data, null, "vm", "show", "cli1", "-o", "json")).Output)!["state"]!.GetValue<string>());

            // vm edit changes what applies live (here the description and autostart) on a running VM.
            Result edited = await VesselAsync(data, null, "vm", "edit", "cli1", "--description", "edited live", "--autostart", "--start-order", "7", "-o", "json");
            Assert.True(edited.ExitCode == 0, edited.Error);
            JsonObject editedVm = JsonNode.Parse(edited.Output)!.AsObject();
            Assert.Equal("edited live", editedVm["description"]!.GetValue<string>());
            Assert.True(editedVm["autostart"]!["enabled"]!.GetValue<bool>());
            Assert.Equal(7, editedVm["autostart"]!["order"]!.GetValue<int>());
            Assert.Empty(editedVm["pendingChanges"]!.AsArray());
            Result notAgain = await VesselAsync(data, null, "vm", "edit", "cli1", "--autostart", "false", "-o", "json");
            Assert.False(JsonNode.Parse(notAgain.Output)!["autostart"]!["enabled"]!.GetValue<bool>());
            Assert.Equal(7, JsonNode.Parse(notAgain.Output)!["autostart"]!["order"]!.GetValue<int>());

            Result list = await VesselAsync(data, null, "vm", "list", "--tag", "demo");
            Assert.Contains("cli1", list.Output);
            Assert.StartsWith("NAME", list.Output);

            // Mistakes: one sentence each; a wrong request exits 2, a refused one 1.
            Result badName = await VesselAsync(data, null, "vm", "create", "a/b", "--kernel", TestFiles.Kernel);
            Assert.Equal(2, badName.ExitCode);
            Assert.Single(badName.Error.Trim().Split('\n'));
            Assert.StartsWith("vessel: A VM name cannot hold '/'", badName.Error);

            Result missing = await VesselAsync(data, null, "vm", "show", "ghost");
            Assert.Equal((1, "vessel: There is no VM named 'ghost'."), (missing.ExitCode, missing.Error.Trim()));

            Result busyDelete = await VesselAsync(data, null, "vm", "delete", "cli1");
            Assert.Equal(1, busyDelete.ExitCode);
            Assert.Equal("vessel: VM 'cli1' is running; stop it before deleting it.", busyDelete.Error.Trim());

            Result snapshot = await VesselAsync(data, null, "snapshot", "create", "cli1", "s1");
            Assert.Equal(1, snapshot.ExitCode);
            Assert.Contains("has no writable disk to hold snapshots", snapshot.Error);

            Result stopped = await VesselAsync(data, null, "vm", "stop", "cli1", "-o", "json");
            Assert.Equal("stopped", JsonNode.Parse(stopped.Output)!["state"]!.GetValue<string>());

            // Snapshots and clones by their fixed spellings, on a VM whose disk --drive file= imported.
            Result withDisk = await VesselAsync(data, null, "vm", "create", "cli2", "--kernel", TestFiles.Kernel, "--memory", "128M",
                "--drive", $"file={TestFiles.RootFs}", "-o", "json");
            Assert.True(withDisk.ExitCode == 0, withDisk.Error);
            Assert.Single(JsonNode.Parse(withDisk.Output)!["disks"]!.AsArray());
            foreach (string name in new[] { "s1", "s2" })
            {
                Result taken = await VesselAsync(data, null, "snapshot", "create", "cli2", name);
                Assert.True(taken.ExitCode == 0, taken.Error);
            }

            Result reverted = await VesselAsync(data, null, "snapshot", "revert", "cli2", "s1");
            Assert.True(reverted.ExitCode == 0, reverted.Error);
            JsonObject tree = JsonNode.Parse((await VesselAsync(data, null, "snapshot", "list", "cli2", "-o", "json")).Output)!.AsObject();
            Assert.Equal(["s1"], tree["snapshots"]!.AsArray().Where(s => s!["current"]!.GetValue<bool>()).Select(s => s!["name"]!.GetValue<string>()));
            Assert.Equal(2, tree["snapshots"]!.AsArray().Count);

            foreach ((string clone, string mode) in new[] { ("cli3", "linked"), ("cli4", "full") })
            {
                Result cloned = await VesselAsync(data, null, "vm", "clone", "cli2", clone, "--mode", mode, "--snapshot", "s1", "-o", "json");
                Assert.True(cloned.ExitCode == 0, cloned.Error);
                JsonObject copy = JsonNode.Parse(cloned.Output)!.AsObject();
                Assert.Equal(("stopped", "cli2"), (copy["state"]!.GetValue<string>(), copy["clonedFrom"]!.GetValue<string>()));
                Assert.NotEqual(JsonNode.Parse(withDisk.Output)!["id"]!.GetValue<string>(), copy["id"]!.GetValue<string>());
            }

            Result badMode = await VesselAsync(data, null, "vm", "clone", "cli2", "cli5", "--mode", "sideways");
            Assert.Equal(2, badMode.ExitCode);
            Assert.Single(badMode.Error.Trim().Split('\n'));

            Result noDaemon = await VesselAsync(temp.File("elsewhere"), null, "vm", "list");
            Assert.Equal(1, noDaemon.ExitCode);
            Assert.Contains("Cannot reach vessel serve at unix:", noDaemon.Error);

            Result network = await VesselAsync(data, null, "network", "create", "lab", "--kind", "isolated");
            Assert.True(network.ExitCode == 0, network.Error);
            Assert.Contains("lab", (await VesselAsync(data, null, "network", "list")).Output);
            Assert.Contains("default", (await VesselAsync(data, null, "pool", "list")).Output);
            Result operations = await VesselAsync(data, null, "operation", "list", "-o", "json");
            Assert.True(JsonNode.Parse(operations.Output)!["total"]!.GetValue<int>() >= 3);
        }
        finally
        {
            VmmProcesses.KillAll(data);
        }
    }

    [Fact]
    public async Task TheDisplayIsChosenAtCreationAndChangedByEdit()
    {
        using var temp = new TempDirectory();
        string data = temp.File("data");
        using ServeProcess serve = await ServeProcess.StartAsync(data);
        Result created = await VesselAsync(data, null, "vm", "create", "screen1", "--kernel", TestFiles.Kernel, "--net", "none", "--display", "vnc", "-o", "json");
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Equal("vnc", JsonNode.Parse(created.Output)!["display"]!.GetValue<string>());
        Assert.Contains("display", (await VesselAsync(data, null, "vm", "show", "screen1")).Output);

        Result edited = await VesselAsync(data, null, "vm", "edit", "screen1", "--display", "none", "-o", "json");
        Assert.True(edited.ExitCode == 0, edited.Error);
        Assert.Equal("none", JsonNode.Parse(edited.Output)!["display"]!.GetValue<string>());
        Assert.DoesNotContain("display", (await VesselAsync(data, null, "vm", "show", "screen1")).Output);

        Result bad = await VesselAsync(data, null, "vm", "create", "screen2", "--kernel", TestFiles.Kernel, "--net", "none", "--display", "sdl");
        Assert.Equal((2, "vessel: The display is none or vnc, not 'sdl'."), (bad.ExitCode, bad.Error.Trim()));
        bad = await VesselAsync(data, null, "vm", "edit", "screen1", "--display", "gtk");
        Assert.Equal((2, "vessel: The display is none or vnc, not 'gtk'."), (bad.ExitCode, bad.Error.Trim()));
    }
}
