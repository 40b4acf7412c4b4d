using System.Diagnostics;

namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>Finds host programs the oracle tests use, and runs them with a deadline.</summary>
internal static class HostTools
{
    public static readonly string? GnuAssembler = Find("riscv64-linux-gnu-as");
    public static readonly string? ObjCopy = Find("riscv64-linux-gnu-objcopy");
    public static readonly string? QemuSystem = Find("qemu-system-riscv64");

    public static string? Find(string name)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(directory, name);
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs <paramref name="file"/> and returns its exit code and output; kills it (and fails the
    /// test) when it outlives <paramref name="timeout"/>, so a stuck tool cannot hang the suite.
    /// </summary>
    public static (int ExitCode, string StandardOutput, string StandardError) Run(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{Path.GetFileName(file)} did not finish within {timeout.TotalSeconds:0} s; output so far:\n{stdout.Result}\n{stderr.Result}");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
