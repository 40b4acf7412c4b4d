#!/usr/bin/env bash
# Live migration between two hosts (network namespaces joined by veth pairs to a bridge), Vessel
# beside QEMU 7.2 (qemu-system-riscv64 -M virt) on the same reference guest and the same link:
# idle and busy (the guest copying memory continuously) 256 MiB and 1 GiB guests, total time,
# downtime and bytes sent as each VMM reports them in query-migrate, p50 over --runs runs
# (default 5) and the ratio Vessel/QEMU (< 1: Vessel is faster or sends less); plus a block
# migration row (a 256 MiB qcow2 copied along, QEMU's migrate with blk: true). Needs root.
#
# Usage: bench/migration/run.sh [--runs N] [--only idle-256,busy-256,idle-1g,busy-1g,block-256]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "run.sh: the hosts are network namespaces, which need root" >&2; exit 1; }
command -v qemu-system-riscv64 >/dev/null || { echo "run.sh: qemu-system-riscv64 is missing (scripts/setup installs it)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 is missing" >&2; exit 1; }
"$root/vessel" --help >/dev/null   # build once, outside the timed runs
exec python3 "$root/bench/migration/migration.py" --vessel "$root/vessel" --guest "$root/../shared/guest" "$@"
