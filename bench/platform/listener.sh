#!/usr/bin/env bash
# vessel serve's API over HTTPS beside the Unix socket, in one table: requests per second and
# p50/p99 latency of GET /api/v1/vms (a page of 100 VM definitions) with 100 concurrent clients,
# each on its own connection, at most BENCH_REQUESTS requests or BENCH_SECONDS seconds per
# transport, and the ratio. HTTPS requests carry a bearer token: VESSEL_TOKEN, else one the bench
# makes for admin@vessel over the socket. Then 2,000 failed logins to one user from 20 clients
# (bounded by BENCH_SECONDS too): whether the lockout holds, and the latency of authorised reads
# during the storm beside the same reads on a quiet daemon.
# (bench/platform/run.sh measures the same beside its other figures.)
#
#   bench/platform/listener.sh
#   BENCH_REQUESTS=5000 BENCH_SECONDS=20 bench/platform/listener.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
guest_dir="${GUEST_DIR:-$root/../shared/guest}"
[ -f "$guest_dir/Image" ] || { echo "bench: no reference guest in $guest_dir (its kernel makes the VM definitions)" >&2; exit 1; }

"$root/vessel" --version >/dev/null   # builds the CLI into artifacts/cli when needed
work="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-listener.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet build "$root/bench/platform/PlatformBench/PlatformBench.csproj" -c Release -nologo -v q -o "$work/bench" >/dev/null
dotnet "$work/bench/PlatformBench.dll" --listener "$root/artifacts/cli/vessel.dll" "$guest_dir" "$work" "${BENCH_REQUESTS:-20000}" "${BENCH_SECONDS:-60}"
