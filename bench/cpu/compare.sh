#!/usr/bin/env bash
# Side-by-side CPU benchmark: boots the reference guest with the "bench" command line (it
# prints GUEST-UP <uptime>, hashes 16 MiB with sha256sum, prints
# "BENCH sha256 16MiB: <start> -> <end>" and powers off) under Vessel's interpreter, each
# configuration of Vessel's translator (both tiers: the default; the optimising tier alone; the
# first tier alone) and QEMU's TCG (qemu-system-riscv64 -M virt), on the same files, and prints
# the guest-measured boot and hash times (best and median) with their ratios to QEMU, and the
# translator's own statistics (VESSEL_STATS=1).
#
# Usage: bench/cpu/compare.sh [--runs N] [--cpus N] [--guest DIR] [--engines "LIST"]
#   --runs N    runs per engine, taken in turns (engine after engine, N rounds) so that load
#               changes on the host fall on all alike; best and median reported (default 3)
#   --engines   subset of: interpreter jit jit-opt jit-first qemu (default: all)
#   --cpus N    harts for both machines (default 1)
#   --guest DIR folder with Image and initrd.gz (default ../shared/guest beside the repository)
# Timing is wall-clock inside the guest, so a busy host shows in the figures: compare the
# columns of one run, not runs on different days.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs=3
cpus=1
engines="interpreter jit jit-opt jit-first qemu"
guest="$root/../shared/guest"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --guest) guest="$2"; shift 2 ;;
    --engines) engines="$2"; shift 2 ;;
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

declare -A up sha up_med sha_med
for engine in $engines; do : >"$work/$engine.up"; : >"$work/$engine.sha"; done
for ((i = 1; i <= runs; i++)); do
  for engine in $engines; do
    log="$work/$engine.$i.log"
    case "$engine" in
      qemu) run_one "$log" qemu-system-riscv64 -M virt -m 256 -smp "$cpus" -nographic -kernel "$kernel" -initrd "$initrd" -append "$append" ;;
      interpreter) run_one "$log" env VESSEL_STATS=1 "$root/vessel" run --cpu-engine interpreter --cpus "$cpus" --kernel "$kernel" --initrd "$initrd" --append "$append" ;;
      jit) run_one "$log" env VESSEL_STATS=1 "$root/vessel" run --cpu-engine jit --cpus "$cpus" --kernel "$kernel" --initrd "$initrd" --append "$append" ;;
      # The optimising tier alone (the first tier off): the translator before the first tier.
      jit-opt) run_one "$log" env VESSEL_STATS=1 VESSEL_JIT_FIRST_THRESHOLD=off "$root/vessel" run --cpu-engine jit --cpus "$cpus" --kernel "$kernel" --initrd "$initrd" --append "$append" ;;
      # The first tier alone (nothing ever optimised).
      jit-first) run_one "$log" env VESSEL_STATS=1 VESSEL_JIT_THRESHOLD=2147483647 "$root/vessel" run --cpu-engine jit --cpus "$cpus" --kernel "$kernel" --initrd "$initrd" --append "$append" ;;
      *) echo "compare.sh: unknown engine $engine" >&2; exit 2 ;;
    esac
    read -r u s < <(figures "$log")
    echo "$u" >>"$work/$engine.up"; echo "$s" >>"$work/$engine.sha"
    printf '  %-11s run %d: GUEST-UP %s s, sha256 %s s (load %s)\n' "$engine" "$i" "$u" "$s" "$(cut -d' ' -f1 /proc/loadavg)" >&2
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for engine in $engines; do
  up[$engine]=$(best <"$work/$engine.up"); up_med[$engine]=$(median <"$work/$engine.up")
  sha[$engine]=$(best <"$work/$engine.sha"); sha_med[$engine]=$(median <"$work/$engine.sha")
done

ratio() { awk -v a="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo
echo "Reference guest, $cpus hart(s), $runs runs each (guest-measured seconds, best / median; ratio = time / QEMU's time); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %16s %14s %16s %14s\n' "engine" "GUEST-UP" "ratio" "sha256 16MiB" "ratio"
for engine in $engines; do
  case "$engine" in
    interpreter) name="vessel interpreter" ;;
    jit) name="vessel jit (both tiers, default)" ;;
    jit-opt) name="vessel jit (optimising tier only)" ;;
    jit-first) name="vessel jit (first tier only)" ;;
    qemu) name="qemu-system-riscv64 TCG" ;;
  esac
  printf '%-34s %16s %14s %16s %14s\n' "$name" "${up[$engine]} / ${up_med[$engine]}" \
    "$(ratio "${up[$engine]}" "${up[qemu]:-}") / $(ratio "${up_med[$engine]}" "${up_med[qemu]:-}")" \
    "${sha[$engine]} / ${sha_med[$engine]}" \
    "$(ratio "${sha[$engine]}" "${sha[qemu]:-}") / $(ratio "${sha_med[$engine]}" "${sha_med[qemu]:-}")"
done
for engine in $engines; do
  [ "$engine" = qemu ] || [ "$engine" = interpreter ] && continue
  echo
  echo "Translator statistics ($engine, last run):"
  grep '^vessel:' "$work/$engine.$runs.log" | cut -c1-400 || true
done
