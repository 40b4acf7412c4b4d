using System.Diagnostics;

namespace Vessel.Machine.Tests.DeviceTree;

/// <summary>Runs the device tree compiler (Debian's device-tree-compiler, installed by scripts/setup).</summary>
internal static class Dtc
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(1);

    /// <summary>Decompiles a DTB into DTS text.</summary>
    public static string Decompile(string dtbPath) => Run("-q", "-I", "dtb", "-O", "dts", dtbPath);

    /// <summary>Compiles DTS source into a DTB file.</summary>
    public static void Compile(string dtsPath, string dtbPath, params string[] extra) =>
        Run([.. extra, "-q", "-I", "dts", "-O", "dtb", "-o", dtbPath, dtsPath]);

    private static string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dtc")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("dtc is not installed; run scripts/setup (package device-tree-compiler).", e);
        }

        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(s_timeout))
            {
                process.Kill();
                throw new TimeoutException("dtc did not finish within a minute.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"dtc {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Result}");
            }

            return output.Result;
        }
    }
}
