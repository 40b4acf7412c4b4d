#!/usr/bin/env bash
# The default guest's warm start (issue #10). `vessel run` without --kernel first asks
# `tools/guest/build-guest --check` whether the guest is built; this measures
#   1. that check on a cached build: BENCH_CHECK_RUNS runs (default 100), wall time p50, p90,
#      p99 and max, and CPU time (user + system) per run; beside it the full computation of
#      the cache key (`--print-inputs`: hashing the inputs, asking dpkg and apt), which is
#      what every check cost before the quick path and what it still costs after a change;
#   2. a warm `./vessel run` to the shell prompt, beside the same guest's files given with
#      --kernel/--initrd (no check at all) and beside the reference guest
#      (../shared/guest): BENCH_BOOT_RUNS boots each (default 5), from starting ./vessel to
#      the first `/ # ` on the console, then `poweroff -f`; median and best.
# The figures depend on the machine's load, printed in the header: run it on a quiet machine
# for numbers to compare.
#
#   bench/guest/check.sh
#   BENCH_CHECK_RUNS=500 BENCH_BOOT_RUNS=9 bench/guest/check.sh
#
# Needs the default guest built for this checkout (./vessel run builds it once).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/bench/lib/guest-console.sh"

check_runs="${BENCH_CHECK_RUNS:-100}"
boot_runs="${BENCH_BOOT_RUNS:-5}"
builder="$root/tools/guest/build-guest"
reference="${GUEST_DIR:-$root/../shared/guest}"
cmdline="console=ttyS0 panic=-1"

paths="$(bash "$builder" --check)" ||
  die "the default guest is not built for this checkout; run ./vessel run (or $builder) once first"
mapfile -t guest <<<"$paths"
[ -f "$reference/Image" ] && [ -f "$reference/initrd.gz" ] || die "no reference guest in $reference"

vm_work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-guest.XXXXXX")"
trap 'vm_cleanup; rm -rf "$vm_work"' EXIT
"$root/vessel" --help >/dev/null   # builds the CLI once, outside the timings

# Microseconds since the epoch, without starting a program.
now_us() { local t="${EPOCHREALTIME/[.,]/}"; echo "$((10#$t))"; }

# The CPU time this shell's children have used so far, in milliseconds, into the variable
# named $1. `times` must run in this shell itself: a subshell starts its own count.
children_cpu_ms() {
  local user system
  times >"$vm_work/times.txt"
  { read -r _ _; read -r user system; } <"$vm_work/times.txt"
  printf -v "$1" '%s' "$(awk -v u="$user" -v s="$system" 'function ms(t, m) { split(t, m, /m|s/); return (m[1] * 60 + m[2]) * 1000 }
    BEGIN { printf "%d", ms(u) + ms(s) }')"
}

# "p50 12.3 ms  p90 ...": percentiles of the microsecond figures in the file $1.
percentiles() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    n = NR; split("50 90 99", ps, " ")
    for (i = 1; i <= 3; i++) { k = int((ps[i] * n + 99) / 100); if (k < 1) k = 1; printf "p%s %.1f ms   ", ps[i], v[k] / 1000 }
    printf "max %.1f ms", v[n] / 1000 }'
}

# times_of FILE RUNS COMMAND...: wall times of RUNS runs of COMMAND (its output dropped).
times_of() {
  local file="$1" runs="$2" i start
  shift 2
  : >"$file"
  for ((i = 0; i < runs; i++)); do
    start=$(now_us)
    "$@" >/dev/null 2>&1 || die "'$*' failed"
    echo $(($(now_us) - start)) >>"$file"
  done
}

echo "== the default guest's warm start =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:    $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "vessel:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "guest:   ${guest[0]%/*}"
echo

# Once untimed: the quick path's record is written by a first check after any change.
bash "$builder" --check >/dev/null
children_cpu_ms cpu_before
times_of "$vm_work/check.txt" "$check_runs" bash "$builder" --check
children_cpu_ms cpu_after
cpu_per_run=$(( (cpu_after - cpu_before) / check_runs ))
full_runs=$(( check_runs < 5 ? check_runs : 5 ))
times_of "$vm_work/full.txt" "$full_runs" bash "$builder" --print-inputs
printf '%-34s %s   (CPU %d ms a run, %d runs)\n' "build-guest --check (cached)" "$(percentiles "$vm_work/check.txt")" "$cpu_per_run" "$check_runs"
printf '%-34s %s   (%d runs)\n' "full key computation" "$(percentiles "$vm_work/full.txt")" "$full_runs"
echo

# boot_to_prompt LABEL ARGS...: BENCH_BOOT_RUNS boots of ./vessel run ARGS to the prompt.
boot_to_prompt() {
  local label="$1" i start
  shift
  : >"$vm_work/boot.txt"
  for ((i = 0; i < boot_runs; i++)); do
    start=$(now_us)
    vm_start "$vm_work/console.log" "$root/vessel" run "$@"
    vm_wait '/ # ' 120
    echo $(($(now_us) - start)) >>"$vm_work/boot.txt"
    vm_stop
  done
  sort -n "$vm_work/boot.txt" | awk -v label="$label" -v runs="$boot_runs" '{ v[NR] = $1 } END {
    printf "%-34s median %.2f s   best %.2f s   (%d boots)\n", label, v[int((NR + 1) / 2)] / 1e6, v[1] / 1e6, runs }'
}

echo "./vessel run to the prompt '/ # ':"
boot_to_prompt "default guest (./vessel run)"
boot_to_prompt "same files, --kernel/--initrd" --kernel "${guest[0]}" --initrd "${guest[1]}" --append "$cmdline"
boot_to_prompt "reference guest, --kernel" --kernel "$reference/Image" --initrd "$reference/initrd.gz" --append "$cmdline"
