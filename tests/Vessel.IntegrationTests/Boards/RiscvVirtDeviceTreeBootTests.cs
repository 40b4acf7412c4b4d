using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Vessel.Vmm.Boards.RiscvVirt;

using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Boards;

/// <summary>
/// The reference guest (OpenSBI, then Linux 6.1) boots on QEMU with Vessel's device tree in
/// place of QEMU's own (<c>-dtb</c>) and finds the same devices: the firmware and the kernel
/// report the same console, timer, interrupt controller, RTC and harts in both runs, and the
/// guest powers the machine off through the tree's poweroff node.
/// </summary>
public sealed partial class RiscvVirtDeviceTreeBootTests
{
    private const int Harts = 2;
    private const int RamMiB = 256;
    private const string CommandLine = "console=ttyS0 panic=-1 bench";
    private static readonly TimeSpan s_bootTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void GuestFindsTheSameDevicesAsWithQemusOwnTree()
    {
        string guest = GuestDirectory();
        using var temp = new TempDirectory();
        byte[] dtb = RiscvVirtDeviceTree.Build(new RiscvVirtDeviceTreeOptions
        {
            RamSize = RamMiB << 20,
            Harts = RiscvVirtHart.Uniform(Harts, "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc"),
            Bootargs = CommandLine,
            HpmCounterCount = 16,
        });
        File.WriteAllBytes(temp.File("vessel.dtb"), dtb);

        string withQemuTree = Boot(guest, dtbPath: null);
        string withVesselTree = Boot(guest, temp.File("vessel.dtb"));

        Assert.Contains("BENCH sha256", withVesselTree);
        List<string> expected = DeviceReport(withQemuTree);
        Assert.True(expected.Count >= 20, "The reference boot reported too few devices:\n" + withQemuTree);
        Assert.Equal(expected, DeviceReport(withVesselTree));
    }

    /// <summary>Lines in which OpenSBI and Linux name the hardware they found, without timestamps.</summary>
    private static List<string> DeviceReport(string console)
    {
        var lines = new List<string>();
        foreach (string raw in console.Split('\n'))
        {
            string line = KernelTimestamp().Replace(raw.TrimEnd('\r'), string.Empty).Trim();
            // "setting system clock to <date>": the date is the host's, not the tree's.
            int clock = line.IndexOf("setting system clock to", StringComparison.Ordinal);
            if (clock >= 0)
            {
                line = line[..(clock + "setting system clock to".Length)];
            }

            // Which hart boots first is a race in OpenSBI, whatever the tree.
            line = HartNumber().Replace(line, "hartid [*]");

            if (line.StartsWith("Platform ", StringComparison.Ordinal)
                || line.StartsWith("Boot HART ISA", StringComparison.Ordinal)
                || line.StartsWith("plic: ", StringComparison.Ordinal)
                || line.StartsWith("riscv-intc: ", StringComparison.Ordinal)
                || line.StartsWith("riscv: base ISA extensions", StringComparison.Ordinal)
                || (line.StartsWith("SBI ", StringComparison.Ordinal) && line.EndsWith(" detected", StringComparison.Ordinal))
                || line.Contains("riscv-timer", StringComparison.Ordinal)
                || line.Contains("clocksource: riscv_clocksource", StringComparison.Ordinal)
                || line.Contains("16550A", StringComparison.Ordinal)
                || line.Contains("goldfish_rtc", StringComparison.Ordinal)
                || line.Contains("rtc0", StringComparison.Ordinal)
                // How many harts the kernel found in the tree ("smp: Brought up N CPUs" would
                // also count a secondary hart that timed out coming online on a loaded host).
                || line.Contains("RCU restricting CPUs", StringComparison.Ordinal)
                || line.StartsWith("Machine model:", StringComparison.Ordinal)
                || line.StartsWith("printk: console [ttyS0]", StringComparison.Ordinal))
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    private static string Boot(string guest, string? dtbPath)
    {
        var start = new ProcessStartInfo("qemu-system-riscv64")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments =
        [
            "-M", "virt", "-smp", $"{Harts}", "-m", $"{RamMiB}M",
            "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", Path.Combine(guest, "Image"),
            "-initrd", Path.Combine(guest, "initrd.gz"),
            "-append", CommandLine,
        ];
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (dtbPath is not null)
        {
            start.ArgumentList.Add("-dtb");
            start.ArgumentList.Add(dtbPath);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("qemu-system-riscv64 did not start.");
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(s_bootTimeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"The guest did not power off within {s_bootTimeout.TotalMinutes} minutes:\n{output.Result}");
        }

        Assert.True(process.ExitCode == 0, $"QEMU exited with {process.ExitCode}: {error.Result}\n{output.Result}");
        return output.Result;
    }

    private static string GuestDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vessel.sln")))
            {
                string guest = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "guest"));
                Assert.True(File.Exists(Path.Combine(guest, "Image")), $"The reference guest is missing from {guest}.");
                return guest;
            }
        }

        throw new InvalidOperationException("Cannot find the project root (Vessel.sln) above the test binaries.");
    }

    [GeneratedRegex(@"^\[\s*\d+\.\d+\]\s*")]
    private static partial Regex KernelTimestamp();

    [GeneratedRegex(@"hartid \[\d+\]")]
    private static partial Regex HartNumber();
}
