using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Lifecycle;

/// <summary>
/// What a VMM does with a state it cannot use: a truncated, corrupted, foreign or newer state
/// file, a state of another machine configuration, and a migration stream cut anywhere. The
/// destination ends with one sentence and exit code 1; the source of a cut migration runs on.
/// </summary>
public sealed class BadStateTests
{
    private static string SaveCounter(TempDirectory temp, out string program)
    {
        program = temp.File("counter.elf");
        File.WriteAllBytes(program, BareMetalImage.Build(StateCompatibilityTests.CounterProgram));
        string state = temp.File("counter.state");
        using VesselProcess vm = VesselProcess.Start("run", "--bios", "none", "--kernel", program, "--memory", "16M", "--net", "none",
            "--qmp", $"unix:{temp.File("q.sock")},server=on,wait=off");
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("q.sock"));
        vm.WaitFor("0123");
        qmp.Run("migrate", new JsonObject { ["uri"] = $"file:{state}" });
        DeterministicContinuationTests.WaitForMigration(qmp);
        qmp.Run("quit");
        vm.WaitForExit();
        return state;
    }

    private static (int ExitCode, string Error) Restore(string program, string state, params string[] extra)
    {
        string[] memory = extra.Contains("--memory") ? [] : ["--memory", "16M"];
        using VesselProcess vm = VesselProcess.Start(
            ["run", "--bios", "none", "--kernel", program, .. memory, "--net", "none", "--incoming", $"file:{state}", .. extra]);
        int exitCode = vm.WaitForExit();
        return (exitCode, vm.Error.Trim());
    }

    private static void AssertOneSentence(string error, string contains)
    {
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("vessel: cannot restore the state file", error, StringComparison.Ordinal);
        Assert.Contains(contains, error, StringComparison.Ordinal);
        Assert.EndsWith(".", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenStateFilesAreRefusedInOneSentence()
    {
        using var temp = new TempDirectory();
        string state = SaveCounter(temp, out string program);
        byte[] bytes = File.ReadAllBytes(state);

        string truncated = temp.File("truncated.state");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 100).ToArray());
        (int code, string error) = Restore(program, truncated);
        Assert.Equal(1, code);
        AssertOneSentence(error, "truncated");

        // A byte changed in the first section, in the device sections after the RAM region, in
        // the end record. (The RAM region itself is not checksummed: a restore maps it unread.)
        foreach (int offset in new[] { 20, bytes.Length - 1000, bytes.Length - 6 })
        {
            string corrupt = temp.File($"corrupt-{offset}.state");
            byte[] changed = (byte[])bytes.Clone();
            changed[offset] ^= 0x5a;
            File.WriteAllBytes(corrupt, changed);
            (code, error) = Restore(program, corrupt);
            Assert.Equal(1, code);
            Assert.StartsWith("vessel: cannot restore the state file", error, StringComparison.Ordinal);
        }

        (code, error) = Restore(program, "/etc/passwd");
        Assert.Equal(1, code);
        AssertOneSentence(error, "not a Vessel machine state");

        string newer = temp.File("newer.state");
        byte[] future = (byte[])bytes.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(8), 99);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(12), Vessel.Machine.Persistence.Crc32C.Compute(future.AsSpan(0, 12)));
        File.WriteAllBytes(newer, future);
        (code, error) = Restore(program, newer);
        Assert.Equal(1, code);
        AssertOneSentence(error, "newer Vessel");
    }

    [Fact]
    public void AStateOfAnotherConfigurationIsRefusedInOneSentence()
    {
        using var temp = new TempDirectory();
        string state = SaveCounter(temp, out string program);

        (int code, string error) = Restore(program, state, "--memory", "32M");
        Assert.Equal(1, code);
        AssertOneSentence(error, "--memory 16M");

        (code, error) = Restore(program, state, "--cpus", "2");
        Assert.Equal(1, code);
        AssertOneSentence(error, "--cpus 1");

        (code, error) = Restore(program, state, "--device", "virtio-rng");
        Assert.Equal(1, code);
        AssertOneSentence(error, "same --drive, --net, --device and --console");
    }

    [Fact]
    public void AMigrationStreamCutAnywhereLeavesTheSourceRunningAndTheDestinationSaysWhy()
    {
        using var temp = new TempDirectory();
        using VesselProcess source = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine, "--qmp", $"unix:{temp.File("src.sock")},server=on,wait=off");
        source.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("src.sock"));

        // Cut after the header, inside the first pages, and deep into RAM.
        foreach (long cutAfter in new long[] { 30, 300_000, 6_000_000 })
        {
            using var proxy = new CuttingProxy(cutAfter);
            int destinationPort = LocalPorts.Free();
            using VesselProcess destination = ReferenceGuest.StartInitramfsWith(
                ReferenceGuest.QuietInitramfsCommandLine, "--incoming", $"tcp:127.0.0.1:{destinationPort}");
            LocalPorts.WaitUntilListening(destinationPort);
            proxy.Start(destinationPort);

            qmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{proxy.Port}" });
            JsonNode info = WaitForEnd(qmp);
            Assert.Equal("failed", info["status"]!.GetValue<string>());

            // The source runs on as if nothing happened; the destination says why it stopped.
            Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
            Assert.Equal("still-here\n", source.RunCommand("echo still-here"));
            Assert.Equal(1, destination.WaitForExit());
            string error = destination.Error.Trim();
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("vessel: cannot restore the state from tcp:127.0.0.1:", error, StringComparison.Ordinal);
        }

        qmp.Run("quit");
        source.WaitForExit();
    }

    private static JsonNode WaitForEnd(QmpClient qmp)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            JsonNode info = qmp.Run("query-migrate");
            if (info["status"]?.GetValue<string>() is "completed" or "failed" or "cancelled")
            {
                return info;
            }

            Assert.True(DateTime.UtcNow < deadline, "the migration did not end");
            Thread.Sleep(20);
        }
    }

    /// <summary>Forwards one connection to the destination and cuts both sides after a number of bytes.</summary>
    /// <summary>
    /// The whole state reaches the destination but its receipt never comes back (the connection
    /// ends after the source's last byte): the source must not count that as done and stop for
    /// good; it fails the migration and runs on.
    /// </summary>
    [Fact]
    public void AMigrationWithoutTheDestinationsReceiptLeavesTheSourceRunning()
    {
        using var temp = new TempDirectory();
        using VesselProcess source = ReferenceGuest.StartInitramfsWith(ReferenceGuest.QuietInitramfsCommandLine, "--qmp", $"unix:{temp.File("src.sock")},server=on,wait=off");
        source.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(temp.File("src.sock"));
        using var proxy = new CuttingProxy(long.MaxValue);
        int destinationPort = LocalPorts.Free();
        using VesselProcess destination = ReferenceGuest.StartInitramfsWith(
            ReferenceGuest.QuietInitramfsCommandLine, "--incoming", $"tcp:127.0.0.1:{destinationPort}");
        LocalPorts.WaitUntilListening(destinationPort);
        proxy.Start(destinationPort);

        qmp.Run("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{proxy.Port}" });
        JsonNode info = WaitForEnd(qmp);
        Assert.Equal("failed", info["status"]!.GetValue<string>());
        Assert.Contains("confirm", info["error-desc"]!.GetValue<string>());
        Assert.Equal("running", qmp.Run("query-status")["status"]!.GetValue<string>());
        Assert.Equal("still-here\n", source.RunCommand("echo still-here"));
        qmp.Run("quit");
        source.WaitForExit();
    }

    private sealed class CuttingProxy(long cutAfter) : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private Thread? _thread;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Start(int destinationPort)
        {
            _listener.Start();
            _thread = new Thread(() => Forward(destinationPort)) { IsBackground = true };
            _thread.Start();
        }

        private void Forward(int destinationPort)
        {
            using TcpClient from = _listener.AcceptTcpClient();
            using var to = new TcpClient();
            to.Connect(IPAddress.Loopback, destinationPort);
            using NetworkStream input = from.GetStream();
            using NetworkStream output = to.GetStream();
            byte[] buffer = new byte[64 * 1024];
            long left = cutAfter;
            while (left > 0)
            {
                int read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    break;
                }

                output.Write(buffer, 0, read);
                left -= read;
            }

            // Both sides see the connection end mid-stream.
            from.Client.LingerState = new LingerOption(true, 0);
            to.Client.LingerState = new LingerOption(true, 0);
        }

        public void Dispose()
        {
            _listener.Stop();
            _thread?.Join(TimeSpan.FromSeconds(10));
        }
    }
}
