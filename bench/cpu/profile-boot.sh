#!/usr/bin/env bash
# Where a boot's time goes: boots the reference guest to its shell once under `perf record`
# (software cpu-clock samples, every thread of the VMM), then sorts the samples into the
# components of a boot (interpreter, each translation tier, .NET's JIT and tiering, MMU,
# devices, host kernel, ...) for the VMM's start-up (exec to first guest instruction) and for
# the boot (first instruction to GUEST-UP). Needs `perf` (Debian's linux-perf).
#
# Usage: bench/cpu/profile-boot.sh [--cpu-engine ENGINE] [--guest DIR] [-- more vessel run options]
# Environment variables given to the script (VESSEL_*, DOTNET_*) reach the VMM.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
engine=jit
guest="$root/../shared/guest"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-engine) engine="$2"; shift 2 ;;
    --guest) guest="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "profile-boot.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v perf >/dev/null || { echo "profile-boot.sh: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
"$root/vessel" --help >/dev/null

work="${PROFILE_KEEP:-$(mktemp -d)}"
mkdir -p "$work"; rm -f "$work/console"
[ -n "${PROFILE_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
# The symbols of code the .NET JIT makes come from /tmp/perf-PID.map, which perf reads only for
# anonymous mappings: W^X's double mapping of code (a named memfd) hides them.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
VESSEL_STATS=1 perf record -q -k CLOCK_MONOTONIC -F 1000 -o "$work/perf.data" -- \
  dotnet "$root/artifacts/cli/vessel.dll" run --cpu-engine "$engine" --kernel "$guest/Image" --initrd "$guest/initrd.gz" \
  --append "console=ttyS0 panic=-1 quiet" --serial "file:$work/console" "$@" </dev/null >"$work/stderr" 2>&1 &
perf_pid=$!
# The boot ends when the console shows GUEST-UP (host clock: the guest's uptime starts only
# once its kernel has set up timekeeping).
for _ in $(seq 1 3000); do
  grep -q GUEST-UP "$work/console" 2>/dev/null && break
  sleep 0.02
done
up_at=$EPOCHREALTIME
sleep 0.5
vmm=$(pgrep -P "$perf_pid" -f vessel.dll | head -1)
kill -TERM "$vmm"
wait "$perf_pid" || true
up=$(awk '/GUEST-UP/ { print $2; exit }' "$work/console")
first=$(awk '/first instruction at monotonic/ { print $6; exit }' "$work/stderr")
first_unix=$(awk '/first instruction at monotonic/ { print $9; exit }' "$work/stderr")
[ -n "$up" ] && [ -n "$first" ] && [ -n "$first_unix" ] || { echo "profile-boot.sh: no GUEST-UP or no first-instruction stamp" >&2; cat "$work/stderr" >&2; exit 1; }
boot=$(awk -v a="$up_at" -v b="$first_unix" 'BEGIN { printf "%.3f", a - b }')
echo "engine $engine: GUEST-UP $up s (guest clock), $boot s from the first instruction (host clock); CPU time per component (all threads):"
python3 "$root/bench/cpu/profile-categories.py" "$work/perf.data" "$vmm" "$first" "$boot"
grep '^vessel:' "$work/stderr" | cut -c1-300
rm -f "/tmp/perf-$vmm.map" "/tmp/perfinfo-$vmm.map"
