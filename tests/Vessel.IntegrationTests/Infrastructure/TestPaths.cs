namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>Where the tests find the repository, the reference guest and the built CLI.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> s_repositoryRoot = new(FindRepositoryRoot);

    /// <summary>The repository root (the folder holding Vessel.sln).</summary>
    public static string RepositoryRoot => s_repositoryRoot.Value;

    /// <summary>The reference guest shipped beside the repository (<c>../shared/guest</c>).</summary>
    public static string GuestDirectory => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "guest"));

    public static string GuestKernel => Path.Combine(GuestDirectory, "Image");

    public static string GuestInitrd => Path.Combine(GuestDirectory, "initrd.gz");

    public static string GuestRootFsXz => Path.Combine(GuestDirectory, "rootfs.ext4.xz");

    /// <summary>The CLI assembly copied next to the tests (the project references Vessel.Cli).</summary>
    public static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "vessel.dll");

    /// <summary>Debian's OpenSBI build for the generic platform (package opensbi).</summary>
    public const string OpenSbiFwJump = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Vessel.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Vessel.sln above {AppContext.BaseDirectory}.");
    }
}
