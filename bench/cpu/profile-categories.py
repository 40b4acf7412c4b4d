#!/usr/bin/env python3
"""Sorts the samples of a `perf record` of one Vessel boot into the components of a boot.

Usage: profile-categories.py PERF_DATA PID FIRST_INSTRUCTION GUEST_UP
  PERF_DATA          recorded with `perf record -k CLOCK_MONOTONIC` and DOTNET_PerfMapEnabled=1
  PID                the VMM process (its hart thread is the main thread, tid = pid)
  FIRST_INSTRUCTION  CLOCK_MONOTONIC seconds of the first guest instruction (VESSEL_STATS=1 prints it)
  GUEST_UP           the guest's GUEST-UP uptime in seconds

Prints one line per component: the CPU time it took before the first instruction (the VMM's
start-up) and from then until the guest was up (the boot), all threads of the process counted.
"""
import re
import subprocess
import sys

# (component, test on (thread name, is hart thread, shared object, symbol)); the first match wins.
RULES = [
    ("optimising tier: IL + .NET JIT (background thread)", lambda c, h, d, s: c.startswith("Vessel JIT")),
    (".NET tiering of Vessel's own code (background thread)", lambda c, h, d, s: c.startswith(".NET Tiered")),
    ("other threads (console, devices' I/O, GC, finalizer)", lambda c, h, d, s: not h),
    ("translated code: optimising tier", lambda c, h, d, s: "dynamicClass::riscv_" in s),
    ("translated code: first tier", lambda c, h, d, s: re.search(r"Hart::(RunFirstTier|LeaveFirstTier|FirstTierFault|MultiplyOrDivide)", s)),
    (".NET JIT on the hart thread (Vessel's code: tier 0, OSR, start-up)", lambda c, h, d, s: "libclrjit" in d),
    ("Vessel's code still at .NET tier 0 / instrumented", lambda c, h, d, s: "[QuickJitted]" in s or "[InstrumentedTier" in s),
    ("first tier: building blocks", lambda c, h, d, s: re.search(r"FirstTierBlock::|Translator::BuildFirstTier|TranslatedBlock::PublishFirstTier", s)),
    ("interpreter (fetch, decode, execute)", lambda c, h, d, s: re.search(r"Hart::(Interpret|DecodeAt|SetFetchPage|TrapAt)|DecodeCache::|Decoder::|MExtension", s)),
    ("MMU: TLB misses, page walks, slow loads/stores", lambda c, h, d, s: re.search(r"Hart::(Translate|WalkPageTable|LoadSlow|StoreSlow|TryLoad|TryStore|Lookup|Flush|Drop|Load|Store|Read[A-Z]|Write[A-Z]|Mmu|Select|Refill)|GuestMemory::", s)),
    ("dispatcher, jump cache, chaining, region decoding", lambda c, h, d, s: re.search(r"Hart::RunTranslated|HartTranslation::|TranslationCache::|TranslatedBlock::|Translator::|RegionBuilder::|ExitLink", s)),
    ("CSRs, traps, interrupts, SBI, atomics, FP", lambda c, h, d, s: re.search(r"Hart::|BuiltinSbi::|Fpu|SoftFloat", s)),
    ("scheduler and timers", lambda c, h, d, s: re.search(r"HartScheduler::|VirtualClock::|Clint|Timer", s)),
    ("devices and bus (UART, PLIC, virtio, RTC)", lambda c, h, d, s: re.search(r"Vessel\.(Machine|Vmm|Network|Storage)", s)),
    ("host kernel (page faults of guest RAM, syscalls)", lambda c, h, d, s: "kernel.kallsyms" in d),
    ("runtime (coreclr: stubs, type loading, GC)", lambda c, h, d, s: "libcoreclr" in d),
    ("runtime start-up (loader, libc)", lambda c, h, d, s: "ld-linux" in d or "libc.so" in d or "libstdc++" in d),
    ("precompiled (ReadyToRun) code without symbols", lambda c, h, d, s: d.endswith(".dll")),
]


def classify(comm, hart, dso, sym):
    for name, test in RULES:
        if test(comm, hart, dso, sym):
            return name
    return "other"


def main():
    data, pid, first, up = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    out = subprocess.run(
        ["perf", "script", "-i", data, "-F", "comm,pid,tid,time,period,ip,sym,dso", "--pid", str(pid)],
        capture_output=True, text=True, check=True).stdout
    line_re = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\d+)\s+[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$")
    startup, boot = {}, {}
    samples = []
    for line in out.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        comm, spid, tid, t = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4))
        period, sym, dso = int(m.group(5)), m.group(6), m.group(7)
        samples.append((t, period, classify(comm, tid == spid, dso, sym)))
    if not samples:
        print("no samples")
        return
    # cpu-clock samples carry their period in nanoseconds of CPU time.
    for t, period, category in samples:
        if t < first:
            startup[category] = startup.get(category, 0) + period
        elif t <= first + up:
            boot[category] = boot.get(category, 0) + period
    outside = sum(period for t, period, _ in samples if t > first + up)
    print(f"samples {samples[0][0]:.3f} .. {samples[-1][0]:.3f} s; first instruction {first:.3f} s; "
          f"{outside / 1e6:.0f} ms of CPU after GUEST-UP (idle shell, exit)")
    total_startup, total_boot = sum(startup.values()), sum(boot.values())
    ms = 1e6
    print(f"{'component':<68} {'start-up':>9} {'boot':>9} {'share of boot':>14}")
    for category in sorted(set(startup) | set(boot), key=lambda c: -boot.get(c, 0) - startup.get(c, 0) / 1000):
        s, b = startup.get(category, 0), boot.get(category, 0)
        print(f"{category:<68} {s / ms:>7.0f}ms {b / ms:>7.0f}ms {100 * b / max(1, total_boot):>13.1f}%")
    print(f"{'all (CPU time of every thread)':<68} {total_startup / ms:>7.0f}ms {total_boot / ms:>7.0f}ms")


if __name__ == "__main__":
    main()
