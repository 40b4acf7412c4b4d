#!/usr/bin/env bash
# Side-by-side CPU benchmark: boots the reference guest with the "bench" command line (it
# prints GUEST-UP <uptime>, hashes 16 MiB with sha256sum, prints
# "BENCH sha256 16MiB: <start> -> <end>" and powers off) under Vessel's interpreter, Vessel's
# dynamic translator and QEMU's TCG (qemu-system-riscv64 -M virt), on the same files, and
# prints the guest-measured boot and hash times with their ratios to QEMU, and the
# translator's own statistics (VESSEL_STATS=1).
#
# Usage: bench/cpu/compare.sh [--runs N] [--cpus N] [--guest DIR]
#   --runs N    runs per engine; the best (lowest) time of each is reported (default 3)
#   --cpus N    harts for both machines (default 1)
#   --guest DIR folder with Image and initrd.gz (default ../shared/guest beside the repository)
# Timing is wall-clock inside the guest, so a busy host shows in the figures: compare the
# columns of one run, not runs on different days.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs=3
cpus=1
guest="$root/../shared/guest"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --guest) guest="$2"; shift 2 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
kernel="$guest/Image"
initrd="$guest/initrd.gz"
append="console=ttyS0 panic=-1 quiet bench"
for f in "$kernel" "$initrd"; do
  [ -f "$f" ] || { echo "compare.sh: $f is missing" >&2; exit 1; }
done
command -v qemu-system-riscv64 >/dev/null || { echo "compare.sh: qemu-system-riscv64 is missing (scripts/setup installs it)" >&2; exit 1; }

# Build once, outside the timed runs.
"$root/vessel" --help >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# run_one NAME LOGFILE COMMAND...: runs one boot, keeps the console and stderr in LOGFILE.
run_one() {
  local log="$1"; shift
  if ! timeout 600 "$@" >"$log" 2>&1 </dev/null; then
    echo "compare.sh: run failed or timed out: $*" >&2
    tail -5 "$log" >&2
    return 1
  fi
  grep -q '080acf35a507ac9849cfcba47dc2ad83e01b75663a516279c8b9d243b719643e' "$log" ||
    { echo "compare.sh: wrong or missing SHA-256 in the output of: $*" >&2; tail -20 "$log" >&2; return 1; }
}

# figures LOGFILE: prints "<guest-up> <sha seconds>" from a console log.
figures() {
  awk '/GUEST-UP/ { up = $2 } /BENCH sha256 16MiB:/ { sha = $6 - $4 } END { printf "%.2f %.2f\n", up, sha }' "$1"
}

best() { sort -g | head -1; }

declare -A up sha
for engine in interpreter jit qemu; do
  : >"$work/$engine.up"; : >"$work/$engine.sha"
  for ((i = 1; i <= runs; i++)); do
    log="$work/$engine.$i.log"
    if [ "$engine" = qemu ]; then
      run_one "$log" qemu-system-riscv64 -M virt -m 256 -smp "$cpus" -nographic -kernel "$kernel" -initrd "$initrd" -append "$append"
    else
      run_one "$log" env VESSEL_STATS=1 "$root/vessel" run --cpu-engine "$engine" --cpus "$cpus" --kernel "$kernel" --initrd "$initrd" --append "$append"
    fi
    read -r u s < <(figures "$log")
    echo "$u" >>"$work/$engine.up"; echo "$s" >>"$work/$engine.sha"
    printf '  %-11s run %d: GUEST-UP %s s, sha256 %s s\n' "$engine" "$i" "$u" "$s" >&2
  done
  up[$engine]=$(best <"$work/$engine.up")
  sha[$engine]=$(best <"$work/$engine.sha")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo
echo "Reference guest, $cpus hart(s), best of $runs runs (guest-measured seconds; ratio = time / QEMU's time)"
printf '%-24s %10s %8s %14s %8s\n' "engine" "GUEST-UP" "ratio" "sha256 16MiB" "ratio"
for engine in interpreter jit qemu; do
  name="$engine"
  [ "$engine" = interpreter ] && name="vessel interpreter"
  [ "$engine" = jit ] && name="vessel jit"
  [ "$engine" = qemu ] && name="qemu-system-riscv64 TCG"
  printf '%-24s %10s %8s %14s %8s\n' "$name" "${up[$engine]}" "$(ratio "${up[$engine]}" "${up[qemu]}")" "${sha[$engine]}" "$(ratio "${sha[$engine]}" "${sha[qemu]}")"
done
echo
echo "Translator statistics (last jit run):"
grep '^vessel:' "$work/jit.$runs.log" || true
