using System.Runtime.CompilerServices;

// The translator's differential tests drive it with deterministic options and inspect its cache.
[assembly: InternalsVisibleTo("Vessel.Cpu.Riscv.Tests")]
