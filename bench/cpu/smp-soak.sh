#!/usr/bin/env bash
# SMP soak: boots the reference guest many times with several harts, each on its own host
# thread (--cpu-threads multi), under the dynamic translator, and checks every boot: the
# shell comes up, all harts are online, four processes hashing 4 MiB each at once all get the
# right SHA-256, and the machine powers off cleanly. Prints one line per boot and a summary;
# exits non-zero if any boot failed (its console log is kept and named).
#
# Usage: bench/cpu/smp-soak.sh [--boots N] [--cpus N] [--engine jit|interpreter] [--guest DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
boots=20
cpus=4
engine=jit
guest="$root/../shared/guest"
while [ $# -gt 0 ]; do
  case "$1" in
    --boots) boots="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    --guest) guest="$2"; shift 2 ;;
    *) echo "smp-soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
expected="bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8" # 4 MiB of zeros
"$root/vessel" --help >/dev/null # build once, outside the boots
work="$(mktemp -d)"
keep=()
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  if [ ${#keep[@]} -eq 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

# wait_for PATTERN SECONDS: waits until the console log has PATTERN after the last mark.
wait_for() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    if tail -c +"$mark" "$log" | grep -q -- "$1"; then
      mark=$(($(stat -c %s "$log") + 1))
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

send() { printf '%s\n' "$1" >&3; }

failed=0
for ((boot = 1; boot <= boots; boot++)); do
  log="$work/boot-$boot.log"
  fifo="$work/in-$boot"
  mkfifo "$fifo"
  start=$SECONDS
  "$root/vessel" run --cpu-engine "$engine" --cpu-threads multi --cpus "$cpus" \
    --kernel "$guest/Image" --initrd "$guest/initrd.gz" --append "console=ttyS0 panic=-1 quiet" \
    <"$fifo" >"$log" 2>&1 &
  pid=$!
  exec 3>"$fifo"
  mark=1
  result=ok
  if ! wait_for '/ # ' 120; then
    result="no shell"
  else
    send "grep -c processor /proc/cpuinfo"
    if ! wait_for "^$cpus" 30; then result="harts missing"; fi
  fi
  if [ "$result" = ok ]; then
    send 'h() { dd if=/dev/zero bs=64k count=64 2>/dev/null | sha256sum; }'
    send 'h >/tmp/1 & h >/tmp/2 & h >/tmp/3 & h >/tmp/4 & wait; cat /tmp/[1-4] | sort | uniq -c'
    if ! wait_for "4 $expected" 120; then result="wrong or missing hashes"; fi
  fi
  if [ "$result" = ok ]; then
    send "poweroff -f"
    if ! wait "$pid"; then result="bad exit"; fi
  else
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  exec 3>&-
  pid=""
  printf 'boot %2d: %-24s %3d s\n' "$boot" "$result" $((SECONDS - start))
  if [ "$result" != ok ]; then
    failed=$((failed + 1))
    keep+=("$log")
  fi
done

echo "$((boots - failed))/$boots boots passed ($cpus harts on threads, $engine)"
if [ $failed -ne 0 ]; then
  echo "console logs of the failed boots: ${keep[*]}"
  exit 1
fi
