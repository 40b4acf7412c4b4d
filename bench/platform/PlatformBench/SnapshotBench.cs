using System.Diagnostics;
using System.Globalization;
using Vessel.Client;
using Vessel.Client.Contracts;

/// <summary>
/// "Hundreds of snapshots per VM stay fast" (issue #12): a stopped VM's qcow2 disk gets N
/// snapshots one after another through the API, the first and the last twenty timed, with the
/// tree's listing, a revert and an inner delete at that depth; beside <c>qemu-img snapshot -c</c>
/// making as many on a qcow2 of the same size, in the same run.
/// </summary>
internal static class SnapshotBench
{
    public const int DefaultCount = 200;
    private const int Edge = 20;

    public static async Task<List<(string What, string Figure)>> MeasureAsync(VesselClient client, string kernel, string work, int count)
    {
        Console.Error.WriteLine($"bench: {count} snapshots of a stopped VM, beside qemu-img...");
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "snappy", Kernel = kernel, Nics = [], Disks = [new DiskRequest { SizeBytes = 64L << 20 }] }));
        var vessel = new List<double>(count);
        for (int i = 0; i < count; i++)
        {
            vessel.Add(await Timing.MillisecondsAsync(async () => await client.WaitForSuccessAsync(await client.CreateSnapshotAsync("snappy", new SnapshotCreateRequest { Name = $"s{i:0000}" }))));
        }

        var tree = new List<double>();
        for (int i = 0; i < 50; i++)
        {
            SnapshotTree? snapshots = null;
            tree.Add(await Timing.MillisecondsAsync(async () => snapshots = await client.ListSnapshotsAsync("snappy")));
            if (snapshots!.Snapshots.Count != count)
            {
                throw new InvalidOperationException($"bench: the tree holds {snapshots.Snapshots.Count} snapshots, not {count}");
            }
        }

        double revert = await Timing.MillisecondsAsync(async () => await client.WaitForSuccessAsync(await client.RevertSnapshotAsync("snappy", "s0000")));
        double delete = await Timing.MillisecondsAsync(async () => await client.WaitForSuccessAsync(await client.DeleteSnapshotAsync("snappy", $"s{count / 2:0000}")));

        string image = Path.Combine(work, "snapshots-reference.qcow2");
        Run("qemu-img", "create", "-q", "-f", "qcow2", image, "64M");
        var qemu = new List<double>(count);
        for (int i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            Run("qemu-img", "snapshot", "-c", $"s{i:0000}", image);
            qemu.Add(watch.Elapsed.TotalMilliseconds);
        }

        double vesselLast = Median(vessel[^Edge..]), qemuLast = Median(qemu[^Edge..]);
        return
        [
            ($"{count} snapshots through the API: create p50, first {Edge} / last {Edge}", $"{Median(vessel[..Edge]):0.0} / {vesselLast:0.0} ms"),
            ($"qemu-img snapshot -c, same count and size: p50, first {Edge} / last {Edge}", $"{Median(qemu[..Edge]):0.0} / {Median(qemu[^Edge..]):0.0} ms"),
            ($"snapshot at depth {count}: vessel / qemu-img", $"{vesselLast / qemuLast:0.00}x"),
            ($"snapshot tree of {count}: p50 / p99", $"{Percentiles.Of(tree, 50):0.0} / {Percentiles.Of(tree, 99):0.0} ms"),
            ($"revert to the first of {count}; delete an inner one", $"{revert:0} ms; {delete:0} ms"),
        ];
    }

    /// <summary>bench/platform/snapshots.sh: only this part, on a daemon of its own.</summary>
    public static async Task<int> RunAloneAsync(string[] args)
    {
        string vessel = args[0];
        string kernel = Path.Combine(args[1], "Image");
        string work = args[2];
        int count = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : DefaultCount;
        string data = Path.Combine(work, "data");
        (Process serve, Task<ListenerBench.Endpoint> listening) = ListenerBench.StartServe(vessel, data);
        using (serve)
        {
            try
            {
                await listening.WaitAsync(TimeSpan.FromMinutes(3)); // it serves once it says where
                using VesselClient client = VesselClient.ForDataDirectory(data);
                List<(string What, string Figure)> rows = await MeasureAsync(client, kernel, work, count);
                ResultTable.Print(rows);
            }
            finally
            {
                serve.Kill(entireProcessTree: false);
                serve.WaitForExit();
            }
        }

        return 0;
    }

    private static void Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"bench: {program} {string.Join(' ', arguments)} failed: {error.Trim()}");
        }
    }

    private static double Median(List<double> values) => Percentiles.Of(values, 50);
}
