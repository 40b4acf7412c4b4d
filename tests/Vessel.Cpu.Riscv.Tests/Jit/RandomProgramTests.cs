using Vessel.Cpu.Riscv.Jit;

namespace Vessel.Cpu.Riscv.Tests.Jit;

/// <summary>
/// Random programs (see <see cref="RandomProgram"/>) run on the interpreter and on the
/// translator must end in the same state: registers, pc, CSRs, memory and device accesses.
/// </summary>
public sealed class RandomProgramTests
{
    public static TheoryData<int> Seeds()
    {
        var seeds = new TheoryData<int>();
        for (int seed = 1; seed <= 24; seed++)
        {
            seeds.Add(seed);
        }

        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void TranslatedOnFirstExecution(int seed)
    {
        var program = new RandomProgram(seed, items: 400);
        Differential.Run(program.LoadInto, RandomProgram.EntryAddress, TranslatorOptions.Eager, translatorSlice: 500 + seed);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RunInTheFirstTierOnly(int seed)
    {
        var program = new RandomProgram(2000 + seed, items: 400);
        Differential.Run(program.LoadInto, RandomProgram.EntryAddress, TranslatorOptions.FirstTierOnly, translatorSlice: 300 + seed);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MixedWithTheInterpreter(int seed)
    {
        // Blocks go to the first tier after two runs and are optimised after two more: loops
        // start interpreted, go on in the first tier and finish optimised.
        var program = new RandomProgram(1000 + seed, items: 400);
        var options = new TranslatorOptions { HotThreshold = 2, Background = false };
        Differential.Run(program.LoadInto, RandomProgram.EntryAddress, options, translatorSlice: 97 + seed);
    }
}
