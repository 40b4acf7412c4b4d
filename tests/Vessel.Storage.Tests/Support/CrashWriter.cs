namespace Vessel.Storage.Tests.Support;

/// <summary>
/// The child process of the crash tests: applies a workload to an image and prints
/// "FLUSHED n" after each flush returns (n = ops done), until it is killed.
/// </summary>
public static class CrashWriter
{
    public static int Run(string[] args)
    {
        string image = args[0];
        int seed = int.Parse(args[1]);
        int count = int.Parse(args[2]);
        using DiskImage disk = ImageOpener.Open(image, new ImageOpenOptions { Format = ImageFormat.Qcow2 });
        List<CrashOp> ops = CrashWorkload.Generate(seed, count, disk.Length);
        Console.Out.WriteLine("READY");
        Console.Out.Flush();
        for (int i = 0; i < ops.Count; i++)
        {
            CrashWorkload.Apply(disk, ops[i]);
            if (ops[i].Kind == CrashOpKind.Flush)
            {
                Console.Out.WriteLine($"FLUSHED {i + 1}");
                Console.Out.Flush();
            }
        }

        disk.Flush();
        Console.Out.WriteLine($"FLUSHED {ops.Count}");
        Console.Out.WriteLine("DONE");
        Console.Out.Flush();
        return 0;
    }
}
