#!/usr/bin/env bash
# Side-by-side lifecycle benchmark: Vessel and QEMU 7.2 (qemu-system-riscv64 -M virt) on the
# reference guest, driven through QMP the same way, in the same run:
#   - saving an idle 256 MiB guest (time, and bytes the state takes on disk),
#   - restoring into a process that already waits (--incoming defer / -incoming defer, then
#     migrate-incoming), to running (RESUME) and to the first answer on the console, for
#     256 MiB and 2 GiB guests, and from a cold start (vessel run --incoming file:),
#   - stop -> STOP event latency,
#   - live migration over loopback tcp, idle and with the guest copying memory continuously:
#     total time and downtime as each VMM reports them.
# Each row prints p50 and p99 over --runs runs (default 20) and the ratio Vessel/QEMU (< 1:
# Vessel is faster or smaller).
#
# Usage: bench/lifecycle/run.sh [--runs N] [--guest DIR] [--only ROWS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
command -v qemu-system-riscv64 >/dev/null || { echo "run.sh: qemu-system-riscv64 is missing (scripts/setup installs it)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 is missing" >&2; exit 1; }
"$root/vessel" --help >/dev/null   # build once, outside the timed runs
exec python3 "$root/bench/lifecycle/lifecycle.py" --vessel "$root/vessel" --guest "$root/../shared/guest" "$@"
