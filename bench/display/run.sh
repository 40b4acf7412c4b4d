#!/usr/bin/env bash
# What a display costs (issue #14), beside QEMU 7.2 on the same default guest, in one table:
# VNC bytes and frames per second received by one viewer while the guest scrolls text on its
# framebuffer console at full speed and while the screen is idle, and the idle VM's CPU with a
# display and a viewer beside the same VM without one. Each figure is measured over
# BENCH_SECONDS (default 10); the scrolling is bounded by the guest's `timeout`.
#
#   bench/display/run.sh
#   BENCH_SECONDS=20 bench/display/run.sh
#
# Needs the default guest built for this checkout (./vessel run builds it once) and
# qemu-system-riscv64 (scripts/setup installs it). VNC listens on 127.0.0.1 only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
command -v qemu-system-riscv64 >/dev/null || { echo "bench: qemu-system-riscv64 is needed (scripts/setup installs it)" >&2; exit 1; }
paths="$(bash "$root/tools/guest/build-guest" --check)" ||
  { echo "bench: the default guest is not built for this checkout; run ./vessel run once first" >&2; exit 1; }
kernel="$(sed -n 1p <<<"$paths")"
initrd="$(sed -n 2p <<<"$paths")"

"$root/vessel" --version >/dev/null   # builds the CLI into artifacts/cli when needed
work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-display.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet build "$root/bench/display/DisplayBench/DisplayBench.csproj" -c Release -nologo -v q -o "$work/bench" >/dev/null
dotnet "$work/bench/DisplayBench.dll" "$root/artifacts/cli/vessel.dll" "$kernel" "$initrd" "${BENCH_SECONDS:-10}"
