#!/usr/bin/env bash
# Where an idle VMM's own memory goes, for the two ways a VM starts:
#   (a) booted: 1 hart, 256 MiB, the reference guest booted to its shell and left idle;
#   (b) restored: the same guest saved with QMP migrate "file:STATE" and restored with
#       `vessel run ... --incoming file:STATE` (its RAM mapped copy-on-write from the file), idle;
#       --clones N restores N of them at once, as instant clones share one state file.
# For each: /proc/PID/smaps grouped by kind of mapping (guest RAM, GC heap and other anonymous
# memory, thread stacks, jitted code, glibc heap, files), in Rss, Pss and private MiB, and what
# the runtime and the translator say of themselves (QMP x-vessel-query-memory, read after smaps;
# the GC's figures are those of its last collection). --collect runs a full compacting
# collection first (which can commit more than it frees at once).
#
# Usage: bench/cpu/idle-memory.sh [--clones N] [--idle SECONDS] [--collect] [--cli DIR] [-- more vessel run options]
# Environment variables given to the script (DOTNET_*, VESSEL_*, MALLOC_*) reach the VMM.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
guest="$root/../shared/guest"
cli="$root/artifacts/cli"
clones=1
idle=3
collect=false
while [ $# -gt 0 ]; do
  case "$1" in
    --clones) clones="$2"; shift 2 ;;
    --idle) idle="$2"; shift 2 ;;
    --collect) collect=true; shift ;;
    --cli) cli="$(cd "$2" && pwd)"; shift 2 ;;
    --) shift; break ;;
    *) echo "idle-memory.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$cli" != "$root/artifacts/cli" ] || "$root/vessel" --help >/dev/null
ram_mib=256
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
machine=(--kernel "$guest/Image" --initrd "$guest/initrd.gz" --append "console=ttyS0 panic=-1 quiet" -m "$ram_mib" "$@")

# qmp SOCKET COMMAND [JSON-ARGUMENTS]: runs one QMP command, prints its "return" as JSON.
qmp() {
  python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def call(name, args=None):
    f.write(json.dumps({"execute": name, **({"arguments": args} if args else {})}) + "\n"); f.flush()
    while True:
        reply = json.loads(f.readline())
        if "return" in reply or "error" in reply: return reply
f.readline(); call("qmp_capabilities")
reply = call(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
print(json.dumps(reply.get("return", reply)))
PY
}

# breakdown PID LABEL SOCKET: the smaps table and the runtime's figures.
breakdown() {
  local pid="$1" label="$2" socket="$3"
  echo "== $label (pid $pid) =="
  if [ "$collect" = true ]; then
    qmp "$socket" x-vessel-query-memory '{"collect": true}' >/dev/null
    sleep 0.5
  fi
  cp "/proc/$pid/smaps" "$work/smaps"
  qmp "$socket" x-vessel-query-memory >"$work/runtime.json"
  python3 - "$work/smaps" "$ram_mib" "$work/runtime.json" <<'PY'
import json, re, sys, collections
smaps, ram = sys.argv[1], int(sys.argv[2]) * 1024
maps, cur = [], None
for line in open(smaps):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        cur = {"name": m.group(4).strip(), "perm": m.group(3), "start": int(m.group(1), 16)}
        maps.append(cur)
    else:
        k, _, v = line.partition(":")
        if v.strip().endswith("kB"): cur[k] = int(v.split()[0])
private = lambda m: m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
guest = max((m for m in maps if ram <= m.get("Size", 0) <= ram + 8192), key=lambda m: m.get("Rss", 0), default=None)
def kind(m):
    n, size = m["name"], m.get("Size", 0)
    if m is guest: return "guest RAM"
    if n == "[heap]": return "glibc heap (brk)"
    if "doublemapper" in n: return "jitted code and stubs (memfd)"
    if n.startswith("[stack"): return "main thread stack"
    if n.endswith(".dll"): return "assemblies (.dll files)"
    if ".so" in n or n.endswith("/dotnet"): return "native libraries (.so)"
    if n.startswith("/"): return "other files (" + n.rsplit("/", 1)[-1] + ")"
    if n: return n
    if size in (8192, 8188, 1536, 1532, 256, 252, 128, 124, 1024, 1020): return f"anonymous {size // 4 * 4} kB blocks (thread stacks, GC)"
    if m["start"] % (64 << 20) == 0 and size < 65536: return "anonymous at 64 MiB boundaries (glibc arenas)"
    return "anonymous, other (GC heap, runtime data)"
agg = collections.defaultdict(lambda: [0, 0, 0, 0])
for m in maps:
    a = agg[kind(m)]
    a[0] += m.get("Rss", 0); a[1] += m.get("Pss", 0); a[2] += private(m); a[3] += 1
print(f"  {'mapping kind':44s} {'Rss MiB':>8s} {'Pss MiB':>8s} {'private':>8s} {'maps':>5s}")
tot = [0, 0, 0]
for k, (r, p, pr, n) in sorted(agg.items(), key=lambda kv: -kv[1][2]):
    print(f"  {k[:44]:44s} {r/1024:8.1f} {p/1024:8.1f} {pr/1024:8.1f} {n:5d}")
    if k != "guest RAM": tot = [tot[0] + r, tot[1] + p, tot[2] + pr]
print(f"  {'all but guest RAM':44s} {tot[0]/1024:8.1f} {tot[1]/1024:8.1f} {tot[2]/1024:8.1f}")
rt = json.load(open(sys.argv[3]))
gc = rt["gc"]
print(f"  runtime: GC heap {gc['heap-size-mib']} MiB live, {gc['committed-mib']} MiB committed, "
      + ", ".join(f"{g['generation']} {g['size-mib']}" for g in gc["generations"])
      + f"; decode cache {rt['decode-cache']['pages']} pages, {rt['decode-cache'].get('chunks', '?')} chunks = {rt['decode-cache']['mib']} MiB; "
      + f"JIT {rt['jit']['methods-compiled']} methods; {rt['threads']} threads; {len(rt['assemblies'])} assemblies")
print(f"  translator: {rt['translator']}")
print(f"  assemblies: {' '.join(rt['assemblies'])}")
PY
}

wait_for() { # wait_for FILE PATTERN PID
  for _ in $(seq 1 3000); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "idle-memory.sh: the VMM exited" >&2; return 1; }
    sleep 0.02
  done
  echo "idle-memory.sh: timed out waiting for $2" >&2; return 1
}

# (a) boot
: >"$work/boot.console"
dotnet "$cli/vessel.dll" run "${machine[@]}" --serial "file:$work/boot.console" \
  --qmp "unix:$work/boot.qmp,server=on,wait=off" >"$work/boot.err" 2>&1 </dev/null &
boot=$!; pids+=("$boot")
wait_for "$work/boot.console" GUEST-UP "$boot"
sleep "$idle"
breakdown "$boot" "booted to the shell, idle $idle s" "$work/boot.qmp"

# (b) save, restore
qmp "$work/boot.qmp" migrate "{\"uri\": \"file:$work/state\"}" >/dev/null
for _ in $(seq 1 500); do
  status=$(qmp "$work/boot.qmp" query-migrate | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status", ""))')
  [ "$status" = completed ] && break
  [ "$status" = failed ] && { echo "idle-memory.sh: the save failed" >&2; exit 1; }
  sleep 0.1
done
qmp "$work/boot.qmp" quit >/dev/null || true
wait "$boot" 2>/dev/null || true
echo "(state file: $(du -m "$work/state" | cut -f1) MiB on disk)"
restored=()
for ((i = 1; i <= clones; i++)); do
  dotnet "$cli/vessel.dll" run "${machine[@]}" --incoming "file:$work/state" --serial "file:$work/r$i.console" \
    --qmp "unix:$work/r$i.qmp,server=on,wait=off" >"$work/r$i.err" 2>&1 </dev/null &
  restored+=($!); pids+=($!)
done
for ((i = 1; i <= clones; i++)); do
  for _ in $(seq 1 500); do
    [ -S "$work/r$i.qmp" ] && [ "$(qmp "$work/r$i.qmp" query-status | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status", ""))')" = running ] && break
    sleep 0.05
  done
done
sleep "$idle"
for ((i = 1; i <= clones; i++)); do
  breakdown "${restored[$((i - 1))]}" "restored from the saved state ($i of $clones), idle $idle s" "$work/r$i.qmp"
done
