using Vessel.IntegrationTests.Infrastructure;
using Vessel.Machine.Persistence;

namespace Vessel.IntegrationTests.Lifecycle;

/// <summary>
/// Every later Vessel reads every earlier state format: the saved states kept under
/// <c>States/</c> (one per released format version) restore and run on from where they stopped.
/// </summary>
public sealed class StateCompatibilityTests
{
    /// <summary>Where the counter keeps its count (the first word of its data page is unused).</summary>
    private const ulong CounterAddress = 0x8001_0004;

    // Hand-assembled RV64I: the program the saved states hold.
    //   lui   t0, 0x10000        ; UART0
    //   auipc t2, 0x10           ; t2 = 0x8001_0004 (this instruction is at 0x8000_0004)
    // loop:
    //   lw    t1, 0(t2) ; addi t1, t1, 1 ; sw t1, 0(t2)
    //   andi  t3, t1, 7 ; addi t3, t3, '0' ; sb t3, 0(t0)
    //   lui   t4, 0x40           ; spin 262,144 times
    // delay:
    //   addi  t4, t4, -1 ; bne t4, zero, delay
    //   jal   zero, loop
    public static readonly uint[] CounterProgram =
    [
        0x100002B7, 0x00010397,
        0x0003A303, 0x00130313, 0x0063A023,
        0x00737E13, 0x030E0E13, 0x01C28023,
        0x00040EB7,
        0xFFFE8E93, 0xFE0E9EE3,
        0xFDDFF06F,
    ];

    public static TheoryData<string> SavedStates() =>
        [.. Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "tests", "Vessel.IntegrationTests", "States"), "*.vmstate").Select(path => Path.GetFileName(path))];

    [Theory]
    [MemberData(nameof(SavedStates))]
    public void ASavedStateOfAnEarlierVersionRunsOnWhereItStopped(string name)
    {
        string state = Path.Combine(TestPaths.RepositoryRoot, "tests", "Vessel.IntegrationTests", "States", name);
        (uint count, ulong pc) = ReadCountAndPc(state);

        // Stopped after the store of a new count but before its digit went out, the program
        // prints that count first; anywhere else, the next one.
        uint next = pc > 0x8000_0010 && pc <= 0x8000_001C ? count : count + 1;

        using var temp = new TempDirectory();
        string program = temp.File("counter.elf");
        File.WriteAllBytes(program, BareMetalImage.Build(CounterProgram));
        using VesselProcess vm = VesselProcess.Start(
            "run", "--bios", "none", "--kernel", program, "--memory", "16M", "--net", "none", "--incoming", $"file:{state}");

        // The digits after the saved count, in order: the program resumed at its saved instruction.
        string expected = string.Concat(Enumerable.Range(0, 16).Select(i => (char)('0' + ((next + (uint)i) & 7))));
        vm.WaitFor(expected);
        Assert.StartsWith(expected, vm.Output, StringComparison.Ordinal);
    }

    /// <summary>The count as the saved RAM holds it and the hart's pc, read with the state reader.</summary>
    private static (uint Count, ulong Pc) ReadCountAndPc(string path)
    {
        using FileStream file = File.OpenRead(path);
        var reader = new StateReader(file);
        uint? count = null;
        ulong? pc = null;
        StateRecordKind kind;
        while ((kind = reader.Next()) != StateRecordKind.End)
        {
            if (kind == StateRecordKind.Section && reader.SectionName == "hart0")
            {
                pc = System.Text.Json.JsonDocument.Parse(reader.SectionPayload).RootElement.GetProperty("Pc").GetUInt64();
            }

            if (kind == StateRecordKind.Pages && !reader.PagesAreZero
                && CounterAddress >= reader.PagesAddress && CounterAddress < reader.PagesAddress + ((ulong)reader.PageCount * StateFormat.PageSize))
            {
                int offset = (int)(CounterAddress - reader.PagesAddress);
                count = BitConverter.ToUInt32(reader.PageData[offset..(offset + 4)]);
            }
            else if (kind == StateRecordKind.MappedRam)
            {
                Assert.False(reader.SkipMappedRegion(), "a kept state should be written as a stream");
            }
        }

        Assert.True(count is not null && pc is not null, $"{path} holds no page with the counter or no hart");
        return (count.Value, pc.Value);
    }
}
