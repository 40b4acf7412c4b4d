#!/usr/bin/env bash
# Start-up and idle memory of the VMM process, beside qemu-system-riscv64 on the same guest:
#   - exec to first guest instruction (Vessel: the hart scheduler's first-run stamp, which
#     VESSEL_STATS=1 prints at exit; QEMU has no such stamp, so "-" there), in wall-clock time
#     and in the process's CPU time by then (which a loaded host does not inflate),
#   - exec to GUEST-UP on the console (host clock: the whole start, VMM and kernel boot),
#   - idle memory once the guest sits at its shell: RSS and private memory (smaps_rollup)
#     minus what the guest RAM's mapping holds (the guest's own pages, which both VMMs have).
# Runs the VMM's dll as ./vessel does (dotnet artifacts/cli/vessel.dll), built beforehand.
#
# Usage: bench/cpu/startup.sh [--runs N] [--guest DIR] [--cli DIR] [--no-qemu] [-- more vessel run options]
#   --cli DIR   another build of the CLI to run (default artifacts/cli, as ./vessel builds it)
# Environment variables given to the script (DOTNET_*, VESSEL_*) reach the VMM: that is how a
# runtime setting is tried (e.g. DOTNET_TieredPGO=0, DOTNET_ReadyToRun=0).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs=3
guest="$root/../shared/guest"
qemu=1
cli="$root/artifacts/cli"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --guest) guest="$2"; shift 2 ;;
    --no-qemu) qemu=0; shift ;;
    --cli) cli="$(cd "$2" && pwd)"; shift 2 ;;
    --) shift; break ;;
    *) echo "startup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$cli" != "$root/artifacts/cli" ] || "$root/vessel" --help >/dev/null
ram_mib=256
append="console=ttyS0 panic=-1 quiet"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# memory PID: prints "<rss MiB> <private MiB>" beyond the guest RAM's mapping (the mapping of
# the guest RAM's size, or up to 8 MiB larger for alignment, holding the most private pages).
memory() {
  python3 - "$1" "$ram_mib" <<'EOF'
import re, sys
pid, ram = sys.argv[1], int(sys.argv[2]) * 1024
maps, cur = [], None
for line in open(f"/proc/{pid}/smaps"):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        cur = {}
        maps.append(cur)
    else:
        k, _, v = line.partition(":")
        if v.strip().endswith("kB"):
            cur[k] = int(v.split()[0])
private = lambda m: m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
guest = max((m for m in maps if ram <= m.get("Size", 0) <= ram + 8192), key=private, default={})
rollup = {}
for line in open(f"/proc/{pid}/smaps_rollup"):
    k, _, v = line.partition(":")
    if v.strip().endswith("kB"):
        rollup[k] = int(v.split()[0])
rss = rollup["Rss"] - guest.get("Rss", 0)
priv = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0) - private(guest)
print(f"{rss / 1024:.1f} {priv / 1024:.1f}")
EOF
}

# run_one NAME COMMAND...: starts the VMM, waits for GUEST-UP and 3 s of idle shell, reads its
# memory, stops it; appends "<first ms> <up ms> <rss> <private> <first CPU ms>" to $work/NAME.
run_one() {
  local name="$1"; shift
  local console="$work/$name.console" err="$work/$name.err"
  rm -f "$console"; : >"$console"
  local start=$EPOCHREALTIME
  "$@" >"$err" 2>&1 </dev/null &
  local pid=$!
  pids+=("$pid")
  local up_at=""
  for _ in $(seq 1 6000); do
    if grep -q GUEST-UP "$console" 2>/dev/null; then up_at=$EPOCHREALTIME; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  [ -n "$up_at" ] || { echo "startup.sh: $name did not reach GUEST-UP" >&2; tail -5 "$err" "$console" >&2; return 1; }
  sleep 3
  read -r rss priv < <(memory "$pid")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  local first="-" first_cpu="-"
  local first_unix
  first_unix=$(awk '/first instruction at monotonic/ { print $9; exit }' "$err")
  first_cpu=$(awk '/first instruction at monotonic/ { print $12; exit }' "$err")
  [ -n "$first_cpu" ] || first_cpu="-"
  [ -n "$first_unix" ] && first=$(awk -v a="$first_unix" -v b="$start" 'BEGIN { printf "%.0f", (a - b) * 1000 }')
  local up
  up=$(awk -v a="$up_at" -v b="$start" 'BEGIN { printf "%.0f", (a - b) * 1000 }')
  echo "$first $up $rss $priv $first_cpu" >>"$work/$name"
  printf '  %-7s run: first instruction %s ms (%s ms CPU), GUEST-UP seen %s ms, idle RSS %s MiB, private %s MiB beyond guest RAM (load %s)\n' \
    "$name" "$first" "$first_cpu" "$up" "$rss" "$priv" "$(cut -d' ' -f1 /proc/loadavg)" >&2
}

for ((i = 1; i <= runs; i++)); do
  run_one vessel env VESSEL_STATS=1 dotnet "$cli/vessel.dll" run --kernel "$guest/Image" --initrd "$guest/initrd.gz" \
    --append "$append" -m "$ram_mib" --serial "file:$work/vessel.console" "$@"
  if [ "$qemu" = 1 ]; then
    run_one qemu qemu-system-riscv64 -M virt -m "$ram_mib" -smp 1 -display none -monitor none \
      -serial "file:$work/qemu.console" -kernel "$guest/Image" -initrd "$guest/initrd.gz" -append "$append"
  fi
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "Start-up, 1 hart, $ram_mib MiB guest, median of $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %18s %16s %18s %16s %20s\n' "VMM" "first instr. (ms)" "(CPU by then)" "GUEST-UP seen (ms)" "idle RSS (MiB)" "idle private (MiB)"
for name in vessel qemu; do
  [ -f "$work/$name" ] || continue
  printf '%-10s %18s %16s %18s %16s %20s\n' "$name" \
    "$(awk '$1 != "-" { print $1 }' "$work/$name" | median)" "$(awk '$5 != "-" { print $5 }' "$work/$name" | median)" \
    "$(awk '{ print $2 }' "$work/$name" | median)" \
    "$(awk '{ print $3 }' "$work/$name" | median)" "$(awk '{ print $4 }' "$work/$name" | median)"
done
echo "(memory beyond the guest RAM's mapping, read 3 s after GUEST-UP at the idle shell)"
