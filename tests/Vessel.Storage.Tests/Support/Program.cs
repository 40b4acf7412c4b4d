namespace Vessel.Storage.Tests.Support;

/// <summary>
/// Entry point used when the test assembly runs as a child process (dotnet Vessel.Storage.Tests.dll
/// crash-writer ...). The test host never calls it.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "crash-writer")
        {
            return CrashWriter.Run(args[1..]);
        }

        Console.Error.WriteLine("usage: Vessel.Storage.Tests crash-writer IMAGE SEED OPS");
        return 2;
    }
}
