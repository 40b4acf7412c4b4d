namespace Vessel.Cpu.Riscv.Tests.Harness;

/// <summary>The architectural state of a <see cref="TestMachine"/> at one moment.</summary>
public sealed record MachineSnapshot(
    ulong Pc,
    ulong[] Registers,
    ulong[] FloatRegisters,
    IReadOnlyList<KeyValuePair<string, ulong>> Control,
    string RamHash,
    byte[] Ram,
    IReadOnlyList<string> DeviceLog)
{
    /// <summary>Fails with the first difference between <paramref name="expected"/> and <paramref name="actual"/>.</summary>
    public static void AssertSame(MachineSnapshot expected, MachineSnapshot actual, string context)
    {
        var differences = new List<string>();
        if (expected.Pc != actual.Pc)
        {
            differences.Add($"pc {expected.Pc:x} != {actual.Pc:x}");
        }

        for (int i = 0; i < 32; i++)
        {
            if (expected.Registers[i] != actual.Registers[i])
            {
                differences.Add($"x{i} {expected.Registers[i]:x} != {actual.Registers[i]:x}");
            }

            if (expected.FloatRegisters[i] != actual.FloatRegisters[i])
            {
                differences.Add($"f{i} {expected.FloatRegisters[i]:x} != {actual.FloatRegisters[i]:x}");
            }
        }

        for (int i = 0; i < expected.Control.Count; i++)
        {
            if (expected.Control[i].Value != actual.Control[i].Value)
            {
                differences.Add($"{expected.Control[i].Key} {expected.Control[i].Value:x} != {actual.Control[i].Value:x}");
            }
        }

        if (expected.RamHash != actual.RamHash)
        {
            int first = 0;
            while (expected.Ram[first] == actual.Ram[first])
            {
                first++;
            }

            differences.Add($"RAM differs first at {TestMachine.RamBase + (ulong)first:x}: {expected.Ram[first]:x2} != {actual.Ram[first]:x2}");
        }

        if (!expected.DeviceLog.SequenceEqual(actual.DeviceLog))
        {
            differences.Add($"device log [{string.Join(", ", expected.DeviceLog)}] != [{string.Join(", ", actual.DeviceLog)}]");
        }

        Assert.True(differences.Count == 0, $"{context}: interpreter != translator: {string.Join("; ", differences.Take(12))}");
    }
}
