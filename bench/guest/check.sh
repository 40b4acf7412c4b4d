#!/usr/bin/env bash
# The default guest's warm start (issue #10). `vessel run` without --kernel first asks
# `tools/guest/build-guest --check` whether the guest is built; this measures
#   1. that check on a cached build: BENCH_CHECK_RUNS runs (default 100), wall time p50, p90,
#      p99 and max, and CPU time (user + system) per run; beside it the full computation of
#      the cache key (`--print-inputs`: hashing the inputs, asking dpkg and apt), which is
#      what every check cost before the quick path and what it still costs after a change;
#   2. a warm `./vessel run` to the shell prompt, beside the same guest's files given with
#      --kernel/--initrd (no check at all) and beside the reference guest
#      (../shared/guest): BENCH_BOOT_RUNS boots each (default 5), taking turns, from starting
#      ./vessel to the first `/ # ` on the console, then `poweroff -f`; median and best.
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

# boot_to_prompt FILE ARGS...: one boot of ./vessel run ARGS to the prompt, its time added to FILE.
boot_to_prompt() {
  local file="$1" start
  shift
  start=$(now_us)
  vm_start "$vm_work/console.log" "$root/vessel" run "$@"
  vm_wait '/ # ' 120
  echo $(($(now_us) - start)) >>"$file"
  vm_stop
}

# "median 2.51 s   best 2.40 s" of the microsecond figures in FILE.
boot_summary() {
  sort -n "$1" | awk '{ v[NR] = $1 } END { printf "median %.2f s   best %.2f s", v[int((NR + 1) / 2)] / 1e6, v[1] / 1e6 }'
}

# The three kinds of boot take turns, so that a change in the machine's load while the
# benchmark runs falls on all of them alike.
echo "./vessel run to the prompt '/ # ' ($boot_runs boots each, taking turns):"
: >"$vm_work/default.txt"; : >"$vm_work/same.txt"; : >"$vm_work/reference.txt"
for ((run = 0; run < boot_runs; run++)); do
  boot_to_prompt "$vm_work/default.txt"
  boot_to_prompt "$vm_work/same.txt" --kernel "${guest[0]}" --initrd "${guest[1]}" --append "$cmdline"
  boot_to_prompt "$vm_work/reference.txt" --kernel "$reference/Image" --initrd "$reference/initrd.gz" --append "$cmdline"
done
printf '%-34s %s\n' "default guest (./vessel run)" "$(boot_summary "$vm_work/default.txt")"
printf '%-34s %s\n' "same files, --kernel/--initrd" "$(boot_summary "$vm_work/same.txt")"
printf '%-34s %s\n' "reference guest, --kernel" "$(boot_summary "$vm_work/reference.txt")"
