namespace Vessel.Storage.Tests.Support;

/// <summary>Runs the real `vessel` CLI (built next to the tests) as a child process.</summary>
public static class VesselCli
{
    public static ProcessResult Run(string workingDirectory, params string[] arguments)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "vessel.dll");
        return ProcessRunner.Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [dll, .. arguments], workingDirectory);
    }

    public static string Ok(string workingDirectory, params string[] arguments)
    {
        ProcessResult result = Run(workingDirectory, arguments);
        Assert.True(result.ExitCode == 0, $"vessel {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }
}
