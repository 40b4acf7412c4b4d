#!/usr/bin/env bash
# Guest-visible TCP throughput (issue #5) through user-mode networking: Vessel's built-in NAT
# (`--net user`) against QEMU's slirp (`-netdev user`), same guest, same data, same run.
#   NAT:          the guest connects to a host listener on 127.0.0.1, which it reaches as
#                 10.0.2.2; host -> guest, then guest -> host.
#   port forward: the host connects to 127.0.0.1:PORT, forwarded to a guest `nc -l -p 5001`;
#                 host -> guest, then guest -> host.
# The host end (host-end.py) times each transfer with the host's clock, from the connection
# being up to the transfer being complete (for host -> guest: the guest has written the last
# byte to its RAM disk and closed; for guest -> host: the host has the last byte).
#
# The data is random and checked: what the guest receives is written to a tmpfs file, its
# size and a 1 MiB spot of it are checked in the guest (sha256 there and on the host; hashing
# all of it in the guest would take minutes on a slow CPU), and the guest then sends that very
# file back, whose sha256 the host compares with what it sent. A broken transfer cannot pass
# as fast.
#
#   bench/network/run.sh
#   VESSEL_ENGINE=jit bench/network/run.sh     # --cpu-engine for Vessel (default jit, as vessel run)
#   BENCH_NET_SIZE=16M bench/network/run.sh    # bytes per transfer (default 64M)
#   BENCH_MEMORY=512M                          # guest RAM (default: the size + 192M, at least 256M)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/bench/lib/guest-console.sh"
host_end="$root/bench/network/host-end.py"

engine="${VESSEL_ENGINE:-jit}"
size="${BENCH_NET_SIZE:-64M}"
guest_dir="${GUEST_DIR:-$root/../shared/guest}"
append="console=ttyS0 panic=-1 quiet"
guest_port=5001

bytes=$(numfmt --from=iec "$size")
(( bytes % 1048576 == 0 && bytes > 0 )) || die "BENCH_NET_SIZE must be a whole number of MiB"
mib=$(( bytes / 1048576 ))
memory="${BENCH_MEMORY:-$(( mib + 192 > 256 ? mib + 192 : 256 ))M}"
for tool in qemu-system-riscv64 python3 numfmt bc sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is needed (scripts/setup installs QEMU)"
done
[ -f "$guest_dir/Image" ] && [ -f "$guest_dir/initrd.gz" ] || die "no reference guest in $guest_dir"

vm_work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-network.XXXXXX")"
host_pid=""
cleanup() {
  vm_cleanup
  if [ -n "$host_pid" ]; then
    kill "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
  fi
  rm -rf "$vm_work"
}
trap cleanup EXIT
"$root/vessel" run --help >/dev/null   # builds the CLI once, outside the timings

# Two random payloads, so a transfer can never be satisfied by what the previous one left.
for name in nat forward; do
  head -c "$bytes" /dev/urandom >"$vm_work/$name.bin"
done
spot=$(( RANDOM % mib ))

# A free host port for the forward (bound and released: a small race, fine on one machine).
forward_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start_vessel() {
  vm_start "$vm_work/vessel.log" "$root/vessel" run --cpu-engine "$engine" -m "$memory" \
    --kernel "$guest_dir/Image" --initrd "$guest_dir/initrd.gz" --append "$append" \
    --net "user,hostfwd=tcp::$forward_port-:$guest_port"
}

start_qemu() {
  vm_start "$vm_work/qemu.log" qemu-system-riscv64 -M virt -m "$memory" -nographic \
    -kernel "$guest_dir/Image" -initrd "$guest_dir/initrd.gz" -append "$append" \
    -netdev "user,id=n0,hostfwd=tcp::$forward_port-:$guest_port" -device virtio-net-device,netdev=n0
}

# host_listen ACTION ARGUMENT: starts the host end listening in the background; sets port.
host_listen() {
  rm -f "$vm_work/port" "$vm_work/host.out"
  python3 "$host_end" listen "$vm_work/port" "$1" "$2" >"$vm_work/host.out" 2>"$vm_work/host.err" &
  host_pid=$!
  local tries=0
  until [ -s "$vm_work/port" ]; do
    kill -0 "$host_pid" 2>/dev/null || { cat "$vm_work/host.err" >&2; die "the host end did not start"; }
    (( ++tries < 200 )) || die "the host end did not listen within 10 s"
    sleep 0.05
  done
  port=$(cat "$vm_work/port")
}

# host_wait: waits for the background host end; sets host_result.
host_wait() {
  local code=0
  wait "$host_pid" || code=$?
  host_pid=""
  [ "$code" = 0 ] || { cat "$vm_work/host.err" >&2; die "the host end failed (exit code $code)"; }
  host_result=$(cat "$vm_work/host.out")
}

# host_connect ACTION ARGUMENT: connects to the port forward; sets host_result.
host_connect() {
  host_result=$(python3 "$host_end" connect "$forward_port" "$1" "$2") || die "the host end failed to $1 through the port forward"
}

# guest_listen COMMAND: starts a listening nc in the background of the guest shell and waits
# until the guest's TCP stack really listens (before that, a forwarded connection is refused).
guest_listen() {
  vm_cmd "$1"
  local tries=0
  until vm_cmd "netstat -ltn | grep -q :$guest_port" 60 may-fail && [ "$vm_status" = 0 ]; do
    (( ++tries < 100 )) || die "the guest's nc did not listen on $guest_port"
    sleep 0.1
  done
}

# record MACHINE TEST PAYLOAD: checks host_result (bytes, seconds, sha256) against the payload
# and stores the rate in MiB/s.
declare -A results
record() {
  local machine="$1" test="$2" payload="$3" got seconds sha
  read -r got seconds sha <<<"$host_result"
  [ "$got" = "$bytes" ] || die "$machine $test: $got bytes arrived, not $bytes"
  [ "$sha" = "$(sha256sum <"$payload" | cut -c1-64)" ] || die "$machine $test: the data arrived damaged (sha256 $sha)"
  results[$machine/$test]=$(echo "scale=1; $bytes / $seconds / 1048576" | bc -l)
}

# check_received PAYLOAD: the guest's /t/r has the payload's size and its MiB $spot hashes alike.
check_received() {
  local payload="$1" want
  vm_cmd 'stat -c %s /t/r'
  [ "$(tr -dc 0-9 <<<"$vm_output")" = "$bytes" ] || die "the guest received $(tr -dc 0-9 <<<"$vm_output") bytes, not $bytes"
  want=$(dd if="$payload" bs=1M skip="$spot" count=1 status=none | sha256sum | cut -c1-64)
  vm_cmd "dd if=/t/r bs=1M skip=$spot count=1 status=none|sha256sum" 300
  [ "$(grep -a -o -E '^[0-9a-f]{64}' <<<"$vm_output" | head -n 1 || true)" = "$want" ] \
    || die "MiB $spot of what the guest received hashes differently in the guest"
}

measure() {
  local machine="$1"
  "start_$machine"
  vm_wait '/ # ' 300
  vm_cmd 'udhcpc -i eth0 -n -q 2>&1 | tail -n 1' 120
  grep -q 'lease of 10.0.2.15 obtained' <<<"$vm_output" || die "$machine: no DHCP lease: $vm_output"
  vm_cmd "mkdir /t && mount -t tmpfs -o size=$(( mib + 8 ))m t /t"
  # What a receiving nc runs (-e): cat to the RAM disk. nc on its own would half-close the
  # connection as soon as its stdin ends, so the host could not tell when delivery is complete.
  vm_cmd "printf '#!/bin/sh\\ncat >/t/r\\n' >/t/s && chmod +x /t/s"

  host_listen send "$vm_work/nat.bin"
  vm_cmd "nc 10.0.2.2 $port -e /t/s" 900
  host_wait
  record "$machine" nat-in "$vm_work/nat.bin"
  check_received "$vm_work/nat.bin"

  host_listen receive "$bytes"
  vm_cmd "nc 10.0.2.2 $port </t/r" 900
  host_wait
  record "$machine" nat-out "$vm_work/nat.bin"

  guest_listen "nc -l -p $guest_port -e /t/s &"
  host_connect send "$vm_work/forward.bin"
  vm_cmd 'wait $!' 300
  record "$machine" forward-in "$vm_work/forward.bin"
  check_received "$vm_work/forward.bin"

  guest_listen "nc -l -p $guest_port </t/r &"
  host_connect receive "$bytes"
  vm_cmd 'wait $!' 300
  record "$machine" forward-out "$vm_work/forward.bin"

  vm_stop
}

vm_header "network: TCP through user-mode networking, Vessel --net user vs QEMU -netdev user (issue #5)"
echo "sizes:   $size per transfer (random, sha256-checked); MiB/s by the host's clock"
echo
for machine in vessel qemu; do
  measure "$machine"
done

printf "%-44s %12s %12s %12s\n" test "vessel MiB/s" "qemu MiB/s" vessel/qemu
row() { # test-key label
  local v="${results[vessel/$1]}" q="${results[qemu/$1]}"
  printf "%-44s %12.1f %12.1f %12.2f\n" "$2" "$v" "$q" "$(echo "$v / $q" | bc -l)"
}
row nat-in "NAT, host -> guest (guest connects)"
row nat-out "NAT, guest -> host (guest connects)"
row forward-in "port forward, host -> guest (host connects)"
row forward-out "port forward, guest -> host (host connects)"
