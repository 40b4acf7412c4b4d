#!/usr/bin/env bash
# Prints how fast Vessel's FPU (src/Vessel.Cpu.Riscv/Fpu) computes the common operations on
# ordinary normal operands, in ns per operation next to the bare host instruction (best of
# many short runs), and the latency of dependent chains. Figures only, nothing asserted: the
# results themselves are checked by tests/Vessel.Cpu.Riscv.Tests/Fpu. Compare lines of one run,
# not runs on a busy machine.
#
# Usage: bench/cpu/fpu-throughput.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec dotnet run -c Release --project "$root/bench/cpu/fpu-throughput" -nologo -v q
