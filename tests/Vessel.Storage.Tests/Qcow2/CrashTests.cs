using System.Diagnostics;
using Vessel.Storage.Qcow2;
using Vessel.Storage.Tests.Support;

namespace Vessel.Storage.Tests.Qcow2;

/// <summary>
/// A writer process (this test assembly run as a program, see <see cref="CrashWriter"/>) is
/// killed with SIGKILL at random moments. Afterwards the image must show no corruption (leaks are
/// allowed), and every byte must hold what it held at the last acknowledged flush unless a later
/// operation touched it, in which case it holds one of the values those operations wrote.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private const long DiskSize = 24L * 1024 * 1024;
    private const int Ops = 500;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(65536, false, false, 1)]
    [InlineData(4096, false, false, 2)]
    [InlineData(512, false, false, 3)]
    [InlineData(65536, true, false, 4)]
    [InlineData(16384, false, true, 5)]
    public void KilledWriterLeavesAConsistentImage(int clusterSize, bool lazyRefcounts, bool withBacking, int seed)
    {
        var random = new Random(seed);
        for (int round = 0; round < 3; round++)
        {
            int workloadSeed = (seed * 100) + round;
            string image = _dir.File($"crash-{round}.qcow2");
            var initial = new byte[DiskSize];
            string? backing = null;
            if (withBacking)
            {
                backing = _dir.File("backing.raw");
                var data = new byte[DiskSize / 2];
                new Random(seed).NextBytes(data);
                File.WriteAllBytes(backing, data);
                data.CopyTo(initial, 0);
            }

            Qcow2Creator.Create(image, DiskSize, new Qcow2CreateOptions
            {
                ClusterSize = clusterSize,
                LazyRefcounts = lazyRefcounts,
                BackingFile = backing is null ? null : "backing.raw",
                BackingFormat = backing is null ? null : ImageFormat.Raw,
            });

            int acknowledged = RunAndKill(image, workloadSeed, random.Next(1, 30), random.Next(0, 40));
            List<CrashOp> ops = CrashWorkload.Generate(workloadSeed, Ops, DiskSize);

            if (lazyRefcounts)
            {
                // Lazy refcounts may be stale after a crash; opening writable repairs them.
                using DiskImage repair = ImageOpener.Open(image);
            }

            ImageAssert.QemuCheckClean(image, allowLeaks: true);
            byte[] actual;
            using (var disk = (Qcow2Image)ImageOpener.Open(image, new ImageOpenOptions { ReadOnly = true }))
            {
                CheckResult check = disk.Check(CheckRepair.None);
                Assert.True(check.Corruptions == 0 && check.CheckErrors == 0, $"round {round}: {string.Join('\n', check.Messages.Take(10))}");
                actual = ImageAssert.ReadAll(disk);
            }

            VerifySurvivors(initial, ops, acknowledged, actual, clusterSize, $"cluster {clusterSize} round {round} (killed after {acknowledged} acknowledged ops)");
        }
    }

    /// <summary>Starts the writer, kills it after the given number of flushes (plus a delay); returns the last acknowledged op count.</summary>
    private static int RunAndKill(string image, int workloadSeed, int killAfterFlushes, int delayMilliseconds)
    {
        string assembly = typeof(CrashTests).Assembly.Location;
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { assembly, "crash-writer", image, workloadSeed.ToString(), Ops.ToString() })
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        int acknowledged = 0;
        int flushes = 0;
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("FLUSHED ", StringComparison.Ordinal))
            {
                acknowledged = int.Parse(line[8..]);
                if (++flushes == killAfterFlushes)
                {
                    Thread.Sleep(delayMilliseconds);
                    process.Kill();
                    break;
                }
            }
        }

        // Lines printed before death were printed after their flush returned: they count too.
        string rest = process.StandardOutput.ReadToEnd();
        foreach (string more in rest.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (more.StartsWith("FLUSHED ", StringComparison.Ordinal))
            {
                acknowledged = Math.Max(acknowledged, int.Parse(more[8..]));
            }
        }

        Assert.True(process.WaitForExit(120_000), "the crash writer did not die");
        Assert.True(process.ExitCode != 0 || rest.Contains("DONE") || acknowledged > 0, $"writer failed: {errors.Result}");
        string stderr = errors.Result;
        Assert.DoesNotContain("Exception", stderr);
        return acknowledged;
    }

    private static void VerifySurvivors(byte[] initial, List<CrashOp> ops, int acknowledged, byte[] actual, int clusterSize, string what)
    {
        byte[] model = (byte[])initial.Clone();
        for (int i = 0; i < acknowledged; i++)
        {
            CrashWorkload.Apply(model, ops[i], clusterSize);
        }

        var unexplained = new bool[actual.Length];
        int mismatches = 0;
        for (int b = 0; b < actual.Length; b++)
        {
            if (actual[b] != model[b])
            {
                unexplained[b] = true;
                mismatches++;
            }
        }

        for (int k = acknowledged; k < ops.Count && mismatches > 0; k++)
        {
            CrashOp op = ops[k];
            if (op.Kind == CrashOpKind.Flush)
            {
                continue;
            }

            byte[]? pattern = op.Kind == CrashOpKind.Write ? CrashWorkload.Pattern(op) : null;
            (long start, long end) = op.Kind == CrashOpKind.Discard ? CrashWorkload.DiscardedRange(op, clusterSize, actual.Length) : (op.Offset, op.Offset + op.Length);
            for (long b = start; b < end; b++)
            {
                int i = (int)(b - op.Offset);
                if (unexplained[b] && actual[b] == (pattern is null ? 0 : pattern[i]))
                {
                    unexplained[b] = false;
                    mismatches--;
                }
            }
        }

        int first = Array.IndexOf(unexplained, true);
        Assert.True(mismatches == 0, $"{what}: {mismatches} bytes hold values no operation wrote, first at {first} (0x{(first >= 0 ? actual[first] : 0):x2}, expected 0x{(first >= 0 ? model[first] : 0):x2})");
    }
}
