namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>The reference root file system (<c>../shared/guest/rootfs.ext4.xz</c>), unpacked for one test.</summary>
public static class ReferenceDisk
{
    public const string RootCommandLine = "console=ttyS0 root=/dev/vda rw init=/init panic=-1";

    /// <summary>Unpacks the reference ext4 image into <paramref name="directory"/> and returns its path.</summary>
    public static string Unpack(TempDirectory directory, string name = "rootfs.ext4")
    {
        string path = directory.File(name);
        using var input = File.OpenRead(TestPaths.GuestRootFsXz);
        // xz is installed by scripts/setup; .NET has no xz decoder of its own.
        var start = new System.Diagnostics.ProcessStartInfo("xz", ["-dc", TestPaths.GuestRootFsXz])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        using (FileStream output = File.Create(path))
        {
            process.StandardOutput.BaseStream.CopyTo(output);
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"xz failed to unpack {TestPaths.GuestRootFsXz}.");
        }

        return path;
    }
}
