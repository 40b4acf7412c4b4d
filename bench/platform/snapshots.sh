#!/usr/bin/env bash
# "Hundreds of snapshots per VM stay fast" (issue #12), in one table: BENCH_SNAPSHOTS (200)
# snapshots of a stopped VM's qcow2 disk through vessel serve's API, the first and last twenty
# timed, the tree listed, a revert and an inner delete at that depth; beside qemu-img snapshot -c
# making as many on a qcow2 of the same size, in the same run, as a ratio.
# (bench/platform/run.sh measures the same beside its other figures.)
#
#   bench/platform/snapshots.sh
#   BENCH_SNAPSHOTS=500 bench/platform/snapshots.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
guest_dir="${GUEST_DIR:-$root/../shared/guest}"
[ -f "$guest_dir/Image" ] || { echo "bench: no reference guest in $guest_dir (its kernel makes the VM definition)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "bench: qemu-img is needed (scripts/setup installs it)" >&2; exit 1; }

"$root/vessel" --version >/dev/null   # builds the CLI into artifacts/cli when needed
work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-snapshots.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet build "$root/bench/platform/PlatformBench/PlatformBench.csproj" -c Release -nologo -v q -o "$work/bench" >/dev/null
dotnet "$work/bench/PlatformBench.dll" --snapshots "$root/artifacts/cli/vessel.dll" "$guest_dir" "$work" "${BENCH_SNAPSHOTS:-200}"
