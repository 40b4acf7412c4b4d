#!/usr/bin/env bash
# Times Vessel's block layer against QEMU's on the same files: `vessel img convert` vs
# `qemu-img convert` (raw->qcow2, qcow2->raw, compressed) and `vessel img bench` vs
# `qemu-img bench` (scattered 4k reads and writes, sequential 1M). Prints seconds side by side
# and the ratio vessel/qemu (below 1: Vessel is faster). Both tools go through the host page
# cache; qemu-img bench runs with one request in flight (-d 1) like Vessel, and once more with
# its default 64 for reference.
#
#   bench/storage/run.sh            # 1 GiB test image
#   BENCH_SIZE=256M bench/storage/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vessel="$root/vessel"
size="${BENCH_SIZE:-1G}"
work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-storage.XXXXXX")"
trap 'rm -rf "$work"' EXIT

command -v qemu-img >/dev/null || { echo "bench: qemu-img is needed (scripts/setup installs it)" >&2; exit 1; }
"$vessel" img --help >/dev/null   # builds the CLI once, outside the timings

seconds() { # runs a command, prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; "$@" >&2 || true; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

row() { # name vessel-seconds qemu-seconds
  printf "%-44s %9.3f %9.3f %8.2f\n" "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"
}

# A source disk of a third random data, a third compressible text, a third zeroes.
bytes=$(numfmt --from=iec "$size")
third=$(( bytes / 3 / 1048576 ))
src="$work/source.raw"
{
  head -c "$(( third * 1048576 ))" /dev/urandom
  yes "Vessel block layer benchmark: compressible text line $RANDOM" | head -c "$(( third * 1048576 ))" || true
} > "$src"
truncate -s "$bytes" "$src"

echo "image size $size; times in seconds"
printf "%-44s %9s %9s %8s\n" "operation" "vessel" "qemu" "ratio"

v=$(seconds "$vessel" img convert -O qcow2 "$src" "$work/v.qcow2")
q=$(seconds qemu-img convert -O qcow2 "$src" "$work/q.qcow2")
row "convert raw -> qcow2" "$v" "$q"

v=$(seconds "$vessel" img convert -O raw "$work/q.qcow2" "$work/v.raw")
q=$(seconds qemu-img convert -O raw "$work/q.qcow2" "$work/q.raw")
row "convert qcow2 -> raw" "$v" "$q"

v=$(seconds "$vessel" img convert -c -O qcow2 "$src" "$work/vc.qcow2")
q=$(seconds qemu-img convert -c -O qcow2 "$src" "$work/qc.qcow2")
row "convert -c raw -> qcow2 (zlib)" "$v" "$q"

v=$(seconds "$vessel" img convert -c -O qcow2 -o compression_type=zstd "$src" "$work/vz.qcow2")
q=$(seconds qemu-img convert -c -O qcow2 -o compression_type=zstd "$src" "$work/qz.qcow2")
row "convert -c raw -> qcow2 (zstd)" "$v" "$q"

v=$(seconds "$vessel" img convert -O raw "$work/qc.qcow2" "$work/vd.raw")
q=$(seconds qemu-img convert -O raw "$work/qc.qcow2" "$work/qd.raw")
row "convert compressed qcow2 -> raw" "$v" "$q"

# Request benchmarks on fully allocated qcow2 images (one per tool, same layout).
qemu-img convert -O qcow2 -o preallocation=metadata "$src" "$work/bench-v.qcow2"
cp "$work/bench-v.qcow2" "$work/bench-q.qcow2"
count4k=200000
step=$(( 7 * 1048576 + 4096 ))   # scattered: wraps around the disk in a pseudo-random order

bench_pair() { # name, then the shared bench arguments
  local name="$1"; shift
  local v q q64
  v=$(seconds "$vessel" img bench "$@" "$work/bench-v.qcow2")
  q=$(seconds qemu-img bench -d 1 "$@" "$work/bench-q.qcow2")
  row "$name" "$v" "$q"
  q64=$(seconds qemu-img bench "$@" "$work/bench-q.qcow2")
  printf "%-44s %9s %9.3f\n" "  (qemu-img bench with 64 in flight)" "" "$q64"
}

bench_pair "bench 4k read, scattered (${count4k})" -c "$count4k" -s 4k -S "$step"
bench_pair "bench 4k write, scattered, in place (${count4k})" -w -c "$count4k" -s 4k -S "$step"
bench_pair "bench 1M read, sequential (4096)" -c 4096 -s 1M
bench_pair "bench 1M write, sequential, in place (4096)" -w -c 4096 -s 1M

# Allocating writes into fresh images.
"$vessel" img create -q -f qcow2 "$work/fresh-v.qcow2" "$size"
qemu-img create -q -f qcow2 "$work/fresh-q.qcow2" "$size"
v=$(seconds "$vessel" img bench -w -c 50000 -s 4k -S "$step" "$work/fresh-v.qcow2")
q=$(seconds qemu-img bench -d 1 -w -c 50000 -s 4k -S "$step" "$work/fresh-q.qcow2")
row "bench 4k write, scattered, allocating (50000)" "$v" "$q"
"$vessel" img create -q -f qcow2 "$work/fresh2-v.qcow2" "$size"
qemu-img create -q -f qcow2 "$work/fresh2-q.qcow2" "$size"
v=$(seconds "$vessel" img bench -w -c 1024 -s 1M "$work/fresh2-v.qcow2")
q=$(seconds qemu-img bench -d 1 -w -c 1024 -s 1M "$work/fresh2-q.qcow2")
row "bench 1M write, sequential, allocating (1024)" "$v" "$q"

# Every image Vessel wrote must still be consistent.
for image in "$work/v.qcow2" "$work/vc.qcow2" "$work/vz.qcow2" "$work/bench-v.qcow2" "$work/fresh-v.qcow2" "$work/fresh2-v.qcow2"; do
  qemu-img check -q "$image" || { echo "bench: qemu-img check failed for $image" >&2; exit 1; }
done
cmp -s "$work/v.raw" "$work/q.raw" && cmp -s "$work/vd.raw" "$work/qd.raw" || { echo "bench: converted contents differ" >&2; exit 1; }
echo "all images written by Vessel pass qemu-img check; converted contents are identical"
