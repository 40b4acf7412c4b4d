#!/usr/bin/env bash
# Guest-visible disk throughput (issue #3): the reference Linux guest runs BusyBox dd with
# O_DIRECT (iflag=direct / oflag=direct, so the guest's page cache is out of the way) on
# second and third virtio disks, under Vessel and under QEMU on identical image files in the
# same run, once with raw images and once with qcow2 images:
#   /dev/vdb  random data (raw: a copy; qcow2: fully allocated by qemu-img convert):
#             sequential reads with 1 MiB and 4 KiB blocks;
#   /dev/vdc  a fresh image (raw: a sparse file; qcow2: `vessel img create -f qcow2`):
#             a sequential 1 MiB write over all of it (allocating, for qcow2), then a 4 KiB
#             rewrite of its start (over allocated clusters) with other data.
# The data written comes from a copy of vdb that the guest first reads into its RAM (tmpfs),
# so the host can check the result byte for byte: after each VM, vdc must equal what the
# guest was asked to write (and the qcow2 images must pass qemu-img check). A broken transfer
# cannot pass as fast.
#
# Before the measured passes each machine gets the same untimed warm-up (64 MiB of 1 MiB and
# 16 MiB of 4 KiB direct reads and writes on the scratch disk), so the figures are the
# steady state of both, not Vessel's translator or QEMU's TCG warming up on the I/O path.
#
# Throughput comes from the guest's own clock (dd's report); the table prints MiB/s side by
# side and the ratio vessel/qemu (above 1: Vessel is faster). Image files sit in the host's
# page cache for both machines (neither opens them with O_DIRECT; QEMU runs with its default
# cache=writeback), so this measures the virtual I/O path, not the host's disk.
#
#   bench/disk/run.sh
#   VESSEL_ENGINE=jit bench/disk/run.sh        # --cpu-engine for Vessel (default jit, as vessel run)
#   BENCH_DISK_SIZE=512M BENCH_DISK_4K_SIZE=32M BENCH_DISK_FORMATS=raw bench/disk/run.sh
#   BENCH_MEMORY=1G                             # guest RAM (default: the image size + 192M)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/bench/lib/guest-console.sh"

engine="${VESSEL_ENGINE:-jit}"
size="${BENCH_DISK_SIZE:-256M}"
size4k="${BENCH_DISK_4K_SIZE:-64M}"
formats="${BENCH_DISK_FORMATS:-raw qcow2}"
guest_dir="${GUEST_DIR:-$root/../shared/guest}"
append="console=ttyS0 panic=-1 quiet"

bytes=$(numfmt --from=iec "$size")
bytes4k=$(numfmt --from=iec "$size4k")
(( bytes % 1048576 == 0 && bytes >= 2097152 )) || die "BENCH_DISK_SIZE must be a whole number of MiB, at least 2M"
(( bytes4k % 4096 == 0 && bytes4k > 0 && bytes4k + 1048576 <= bytes )) || die "BENCH_DISK_4K_SIZE must be a multiple of 4 KiB, at least 1M below BENCH_DISK_SIZE"
mib=$(( bytes / 1048576 ))
blocks4k=$(( bytes4k / 4096 ))
# The guest holds a copy of the whole image in tmpfs while it writes, hence the RAM.
memory="${BENCH_MEMORY:-$(( mib + 192 > 256 ? mib + 192 : 256 ))M}"
for tool in qemu-system-riscv64 qemu-img numfmt bc cmp sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is needed (scripts/setup installs QEMU)"
done
[ -f "$guest_dir/Image" ] && [ -f "$guest_dir/initrd.gz" ] || die "no reference guest in $guest_dir"

vm_work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-disk.XXXXXX")"
trap 'vm_cleanup; rm -rf "$vm_work"' EXIT
"$root/vessel" img --help >/dev/null   # builds the CLI once, outside the timings

# The random data of vdb, what vdc must hold after the writes (all of vdb, then its MiB 1 to
# 1+size4k written again at the start by the 4k pass), and a 16 MiB scratch vda.
master="$vm_work/master.raw"
expected="$vm_work/expected.raw"
head -c "$bytes" /dev/urandom >"$master"
cp "$master" "$expected"
dd if="$master" of="$expected" bs=4k skip=256 count="$blocks4k" conv=notrunc status=none
truncate -s 16M "$vm_work/scratch.raw"
spot=$(( RANDOM % mib ))
spot_hash=$(dd if="$master" bs=1M skip="$spot" count=1 status=none | sha256sum | cut -c1-64)

# The images one machine gets for FORMAT: read.FORMAT (vdb) and write.FORMAT (vdc).
prepare_images() {
  local format="$1"
  rm -f "$vm_work"/read.* "$vm_work"/write.*
  if [ "$format" = raw ]; then
    cp "$master" "$vm_work/read.raw"
    truncate -s "$bytes" "$vm_work/write.raw"
  else
    qemu-img convert -f raw -O qcow2 "$master" "$vm_work/read.qcow2"
    "$root/vessel" img create -f qcow2 "$vm_work/write.qcow2" "$size" >/dev/null
  fi
}

start_vessel() {
  local format="$1"
  vm_start "$vm_work/vessel-$format.log" "$root/vessel" run --cpu-engine "$engine" -m "$memory" \
    --kernel "$guest_dir/Image" --initrd "$guest_dir/initrd.gz" --append "$append" \
    --drive "file=$vm_work/scratch.raw,format=raw" \
    --drive "file=$vm_work/read.$format,format=$format" \
    --drive "file=$vm_work/write.$format,format=$format"
}

start_qemu() {
  local format="$1"
  vm_start "$vm_work/qemu-$format.log" qemu-system-riscv64 -M virt -m "$memory" -nographic -nic none \
    -kernel "$guest_dir/Image" -initrd "$guest_dir/initrd.gz" -append "$append" \
    -drive "file=$vm_work/scratch.raw,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0 \
    -drive "file=$vm_work/read.$format,format=$format,if=none,id=d1" -device virtio-blk-device,drive=d1 \
    -drive "file=$vm_work/write.$format,format=$format,if=none,id=d2" -device virtio-blk-device,drive=d2
}

# dd_rate COMMAND EXPECTED_BYTES: runs a dd in the guest and sets rate to its MiB/s from
# the guest's own timing. (The vm_* functions keep state in globals, so they are never called
# in a $(...) subshell.)
dd_rate() {
  local command="$1" expected="$2" line copied seconds
  vm_cmd "$command" 900
  line=$(grep -a 'bytes .* copied' <<<"$vm_output" | tail -n 1 || true)
  copied=$(awk '{ print $1 }' <<<"$line")
  seconds=$(sed -n 's/.*copied, \([0-9.]*\) seconds.*/\1/p' <<<"$line")
  [ "$copied" = "$expected" ] || die "'$command' copied '$copied' bytes, not $expected: $vm_output"
  [ -n "$seconds" ] || die "no time in dd's report: $line"
  rate=$(echo "scale=1; $copied / $seconds / 1048576" | bc -l)
}

guest_uptime() { # sets uptime to the guest's /proc/uptime in seconds
  vm_cmd "cut -d' ' -f1 /proc/uptime"
  uptime=$(tr -dc '0-9.' <<<"$vm_output")
}

# The rates come from the guest's clock: say so when it drifts from the host's.
clock_check() {
  local label="$1" guest="$2" host="$3"
  # The host's span also holds two console round trips; allow those and 3 %.
  if [ "$(echo "$guest > $host * 1.03 + 0.1 || $guest < $host * 0.97 - 1" | bc -l)" = 1 ]; then
    echo "warning: $label: the guest clock measured ${guest} s over a host span of ${host} s; its rates may be off" >&2
  fi
}

# measure MACHINE FORMAT: boots MACHINE on fresh images, runs the passes, stores each rate in
# results[MACHINE/FORMAT/TEST] and checks the images afterwards.
declare -A results
measure() {
  local machine="$1" format="$2" host_start guest_start host_elapsed guest_elapsed hash
  prepare_images "$format"
  "start_$machine" "$format"
  vm_wait '/ # ' 300
  vm_cmd 'D=/dev/vdb; F=/dev/vdc'
  vm_cmd 'cat /sys/block/vdb/size /sys/block/vdc/size'
  [ "$(tr -s '\n' ' ' <<<"$vm_output" | xargs || true)" = "$(( bytes / 512 )) $(( bytes / 512 ))" ] \
    || die "$machine: vdb and vdc are not the two $size images: $vm_output (sectors)"
  vm_cmd "dd if=\$D of=/dev/null bs=1M count=64 iflag=direct" 300
  vm_cmd "dd if=\$D of=/dev/null bs=4k count=4096 iflag=direct" 300
  vm_cmd "dd if=/dev/zero of=/dev/vda bs=1M count=16 oflag=direct" 300
  vm_cmd "dd if=/dev/zero of=/dev/vda bs=4k count=4096 oflag=direct" 300
  host_start=$(date +%s.%N)
  guest_uptime
  guest_start=$uptime

  dd_rate "dd if=\$D of=/dev/null bs=1M count=$mib iflag=direct" "$bytes"
  results[$machine/$format/read1m]=$rate
  dd_rate "dd if=\$D of=/dev/null bs=4k count=$blocks4k iflag=direct" "$bytes4k"
  results[$machine/$format/read4k]=$rate
  vm_cmd "dd if=\$D bs=1M skip=$spot count=1 status=none|sha256sum"
  hash=$(grep -a -o -E '^[0-9a-f]{64}' <<<"$vm_output" | head -n 1 || true)
  [ "$hash" = "$spot_hash" ] || die "$machine/$format: the guest read MiB $spot of vdb as '$hash', the host has $spot_hash"

  # Untimed: the data to write, into the guest's RAM (a tmpfs of its own: the root one may
  # only fill half of RAM).
  vm_cmd "mkdir /t && mount -t tmpfs -o size=$(( mib + 8 ))m t /t"
  vm_cmd "dd if=\$D of=/t/p bs=1M count=$mib iflag=direct" 900
  dd_rate "dd if=/t/p of=\$F bs=1M oflag=direct" "$bytes"
  results[$machine/$format/write1m]=$rate
  dd_rate "dd if=/t/p of=\$F bs=4k skip=256 count=$blocks4k oflag=direct" "$bytes4k"
  results[$machine/$format/write4k]=$rate
  vm_cmd 'rm /t/p'
  # Untimed: a flush (fsync of the device sends VIRTIO_BLK_T_FLUSH). Needed before poweroff:
  # QEMU 7.2's test device exit()s at once, and qcow2 metadata still in its cache is lost.
  vm_cmd 'sync $F' 300

  guest_uptime
  guest_elapsed=$(echo "$uptime - $guest_start" | bc -l)
  host_elapsed=$(echo "$(date +%s.%N) - $host_start" | bc -l)
  clock_check "$machine/$format" "$guest_elapsed" "$host_elapsed"
  vm_stop
  check_images "$machine" "$format"
}

check_images() {
  local machine="$1" format="$2"
  if [ "$format" = raw ]; then
    cmp -s "$vm_work/write.raw" "$expected" || die "$machine: write.raw does not hold what the guest wrote"
  else
    qemu-img check -q "$vm_work/read.qcow2" || die "$machine: qemu-img check fails on read.qcow2"
    qemu-img check -q "$vm_work/write.qcow2" || die "$machine: qemu-img check fails on write.qcow2"
    qemu-img compare -q -f qcow2 -F raw "$vm_work/write.qcow2" "$expected" \
      || die "$machine: write.qcow2 does not hold what the guest wrote"
  fi
}

vm_header "disk: guest dd with O_DIRECT on virtio-blk /dev/vdb and /dev/vdc (issue #3)"
echo "sizes:   images $size (the 1M passes cover them), the 4k passes cover $size4k; MiB/s from the guest's dd"
echo
for format in $formats; do
  case "$format" in raw | qcow2) ;; *) die "unknown format '$format' in BENCH_DISK_FORMATS (raw, qcow2)" ;; esac
  for machine in vessel qemu; do
    measure "$machine" "$format"
  done
done

printf "%-7s %-34s %12s %12s %12s\n" format test "vessel MiB/s" "qemu MiB/s" vessel/qemu
row() { # format test-key label
  local v="${results[vessel/$1/$2]}" q="${results[qemu/$1/$2]}"
  printf "%-7s %-34s %12.1f %12.1f %12.2f\n" "$1" "$3" "$v" "$q" "$(echo "$v / $q" | bc -l)"
}
for format in $formats; do
  row "$format" read1m "seq read 1M ($size)"
  row "$format" read4k "seq read 4k ($size4k)"
  row "$format" write1m "seq write 1M, fresh image ($size)"
  row "$format" write4k "seq rewrite 4k ($size4k)"
done
