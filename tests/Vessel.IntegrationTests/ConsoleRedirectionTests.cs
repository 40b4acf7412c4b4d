using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// <c>vessel run &gt;log 2&gt;&amp;1</c>, as scripts and benchmarks use it: the guest's console
/// output and the VMM's own messages share one file, each appended where the other left off.
/// </summary>
public sealed class ConsoleRedirectionTests
{
    [Fact]
    public void GuestOutputAndVmmMessagesShareARedirectedFile()
    {
        string log = Path.Combine(Path.GetTempPath(), $"vessel-redirect-{Guid.NewGuid():N}.log");
        try
        {
            // The shell keeps stdin on the test's pipe and sends both stdout and stderr to one file.
            using VesselProcess vm = VesselProcess.StartProgram("sh", "-c", "VESSEL_STATS=1 exec \"$@\" >\"$0\" 2>&1", log,
                "dotnet", TestPaths.CliAssembly, "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd,
                "--append", ReferenceGuest.QuietInitramfsCommandLine);
            WaitForFileToContain(log, ReferenceGuest.Prompt);
            vm.SendLine("echo redirected-$((6*7))");
            WaitForFileToContain(log, "redirected-42");
            vm.SendLine("poweroff -f");
            Assert.Equal(0, vm.WaitForExit());

            string text = File.ReadAllText(log);
            int guestUp = text.IndexOf("GUEST-UP", StringComparison.Ordinal);
            int answer = text.IndexOf("redirected-42", StringComparison.Ordinal);
            int statistics = text.IndexOf("instructions in", StringComparison.Ordinal);
            Assert.True(guestUp >= 0 && answer > guestUp && statistics > answer, $"the log lost or reordered output:\n{text}");
        }
        finally
        {
            File.Delete(log);
        }
    }

    private static void WaitForFileToContain(string path, string text)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (!(File.Exists(path) && File.ReadAllText(path).Contains(text, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' did not appear in {path}");
            Thread.Sleep(100);
        }
    }
}
