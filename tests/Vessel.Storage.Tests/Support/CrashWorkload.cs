namespace Vessel.Storage.Tests.Support;

/// <summary>What one step of a crash workload does.</summary>
public enum CrashOpKind
{
    Write,
    Discard,
    WriteZeroes,
    Flush,
}

public readonly record struct CrashOp(CrashOpKind Kind, long Offset, int Length, int PatternSeed);

/// <summary>
/// A deterministic sequence of writes, discards, write-zeroes and flushes, generated the same way
/// in the writer process and in the test that checks what survived its death.
/// </summary>
public static class CrashWorkload
{
    public static List<CrashOp> Generate(int seed, int count, long diskSize)
    {
        var random = new Random(seed);
        var ops = new List<CrashOp>(count);
        for (int i = 0; i < count; i++)
        {
            int roll = random.Next(100);
            int length = random.Next(4) switch
            {
                0 => 512 * random.Next(1, 9),
                1 => 4096 * random.Next(1, 17),
                2 => 65536 * random.Next(1, 5),
                _ => random.Next(1, 300_000) & ~511,
            };
            length = Math.Max(512, length);
            long offset = (long)(random.NextDouble() * (diskSize - length)) & ~511L;
            CrashOpKind kind = roll switch
            {
                < 70 => CrashOpKind.Write,
                < 78 => CrashOpKind.Discard,
                < 86 => CrashOpKind.WriteZeroes,
                _ => CrashOpKind.Flush,
            };
            ops.Add(new CrashOp(kind, offset, length, random.Next()));
        }

        return ops;
    }

    public static byte[] Pattern(CrashOp op)
    {
        var data = new byte[op.Length];
        new Random(op.PatternSeed).NextBytes(data);
        return data;
    }

    public static void Apply(IBlockDevice device, CrashOp op)
    {
        switch (op.Kind)
        {
            case CrashOpKind.Write:
                device.Write(op.Offset, Pattern(op));
                break;
            case CrashOpKind.Discard:
                device.Discard(op.Offset, op.Length);
                break;
            case CrashOpKind.WriteZeroes:
                device.WriteZeroes(op.Offset, op.Length, mayUnmap: (op.PatternSeed & 1) == 0);
                break;
            case CrashOpKind.Flush:
                device.Flush();
                break;
        }
    }

    /// <summary>
    /// Applies an op to the in-memory model. A discard zeroes the whole clusters inside its range
    /// and leaves partial ones alone, exactly as Vessel's qcow2 does.
    /// </summary>
    public static void Apply(byte[] model, CrashOp op, int clusterSize)
    {
        switch (op.Kind)
        {
            case CrashOpKind.Write:
                Pattern(op).CopyTo(model, op.Offset);
                break;
            case CrashOpKind.Discard:
                (long start, long end) = DiscardedRange(op, clusterSize, model.Length);
                if (end > start)
                {
                    Array.Clear(model, (int)start, (int)(end - start));
                }

                break;
            case CrashOpKind.WriteZeroes:
                Array.Clear(model, (int)op.Offset, op.Length);
                break;
        }
    }

    public static (long Start, long End) DiscardedRange(CrashOp op, int clusterSize, long diskSize)
    {
        long start = (op.Offset + clusterSize - 1) / clusterSize * clusterSize;
        long end = op.Offset + op.Length == diskSize ? diskSize : (op.Offset + op.Length) / clusterSize * clusterSize;
        return (start, end);
    }
}
