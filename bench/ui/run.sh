#!/usr/bin/env bash
# The web interface's figures (issue 15), in one table:
#   time from navigation (logged in) until the VM table shows all 1,000 VMs and the resource
#   tree lists them, in Debian's Chromium, over several runs (p50/p99); beside the floor, the
#   API's own list of the same 1,000 VMs (curl over HTTPS, p50/p99), as a ratio;
#   the application's JavaScript and CSS (src/Vessel.Web/dist), raw and gzip.
# There is no QEMU equivalent of a web interface: the API's list time is the anchor.
#
#   bench/ui/run.sh
#   BENCH_RUNS=20 bench/ui/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
guest_dir="${GUEST_DIR:-$root/../shared/guest}"
runs="${BENCH_RUNS:-10}"
[ -f "$guest_dir/Image" ] || { echo "bench: no reference guest in $guest_dir (its kernel makes the VM definitions)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "bench: Debian's chromium is needed at /usr/bin/chromium (scripts/setup installs it)" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: curl is needed" >&2; exit 1; }

"$root/vessel" --version >/dev/null   # builds the CLI with the web interface into artifacts/cli when needed
work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-ui.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet build "$root/bench/ui/UiBench/UiBench.csproj" -c Release -nologo -v q -o "$work/bench" >/dev/null
dotnet "$work/bench/UiBench.dll" "$root/artifacts/cli/vessel.dll" "$guest_dir" "$work" "$runs" "$root/src/Vessel.Web/dist"
