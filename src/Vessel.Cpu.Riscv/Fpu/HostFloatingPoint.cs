using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Vessel.Cpu.Riscv.Fpu;

/// <summary>What the host's floating point can be trusted to do for the fast paths.</summary>
internal static class HostFloatingPoint
{
    /// <summary>
    /// True when <see cref="Math.FusedMultiplyAdd(double, double, double)"/> is one fused
    /// instruction (x64 FMA3, Arm64 FMADD). Without it .NET calls the C library's fma, which
    /// may be slow or, on some C libraries, not correctly rounded; the fast paths that need a
    /// fused operation are then switched off and the exact integer path is used. The JIT folds
    /// this to a constant, so the unused branch costs nothing.
    /// </summary>
    internal static bool HasFusedMultiplyAdd => Fma.IsSupported || AdvSimd.Arm64.IsSupported;
}
