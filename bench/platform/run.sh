#!/usr/bin/env bash
# The platform's figures (issue #12), in one table:
#   API latency p50/p99 of list and get with 1,000 VMs in vessel serve's inventory;
#   GET /api/v1/vms with 100 concurrent clients over HTTPS beside the Unix socket (as listener.sh);
#   20 VMs created and started;
#   200 snapshots of one VM through the API beside qemu-img snapshot -c (as snapshots.sh);
#   N instant clones of a running 256 MiB guest (request to running; Pss of each idle clone
#   from /proc/PID/smaps_rollup), beside N fresh VM starts and beside QEMU restoring the same
#   guest from a file N times (qemu-system-riscv64 ... -incoming "exec:cat FILE").
#
#   bench/platform/run.sh            # N = 50
#   BENCH_CLONES=10 bench/platform/run.sh
#   bench/platform/run.sh --api       # only the API's figures (no VM runs, no QEMU)
#   bench/platform/run.sh --clones    # only the instant clones, the fresh starts and QEMU
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
guest_dir="${GUEST_DIR:-$root/../shared/guest}"
count="${BENCH_CLONES:-50}"
command -v qemu-system-riscv64 >/dev/null || { echo "bench: qemu-system-riscv64 is needed (scripts/setup installs QEMU)" >&2; exit 1; }
[ -f "$guest_dir/Image" ] || { echo "bench: no reference guest in $guest_dir" >&2; exit 1; }

"$root/vessel" --version >/dev/null   # builds the CLI into artifacts/cli when needed
work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-platform.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet build "$root/bench/platform/PlatformBench/PlatformBench.csproj" -c Release -nologo -v q -o "$work/bench" >/dev/null
dotnet "$work/bench/PlatformBench.dll" "$@" "$root/artifacts/cli/vessel.dll" "$guest_dir" "$work" "$count"
