#!/usr/bin/env python3
"""Live migration between two hosts (network namespaces on a bridge), Vessel beside QEMU 7.2.

Two namespaces joined by veth pairs to a bridge in a third (the layout of scripts/hosts and of
the tests' NamespaceHosts), made for the run and deleted after it. Each row boots the reference
guest (initramfs) on one host and migrates it live over tcp to a process waiting with
--incoming / -incoming on the other, back and forth, --runs times; the guest is idle, or busy
copying 24 MiB in its tmpfs for ever (it dirties memory continuously). The figures are the
ones each VMM reports in query-migrate: total time, downtime and the RAM bytes it sent
(ram.transferred), and, for the block rows, the disk bytes (disk.transferred); besides, the
downtime as the two VMMs' events show it: the source's STOP to the destination's RESUME (their
timestamps, on the one host clock), the same measure for both (QEMU's own downtime ends when
the source has sent its last byte; Vessel's when the destination confirmed it has the whole
state). A destination that never answers after a migration is counted as a lost guest and the
next run starts from a fresh source. The block row
copies a 256 MiB qcow2 (64 MiB of it written) along with the memory to an empty image of the
same size on the other host (QEMU: migrate with blk: true).
"""

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lifecycle"))
import lifecycle  # noqa: E402  (the QMP driver and the VMM processes, shared with bench/lifecycle)
from lifecycle import LIVE, Machine, percentile  # noqa: E402

PROMPT = lifecycle.PROMPT


def ip(*arguments):
    subprocess.run(["ip", *arguments], check=True, stdout=subprocess.DEVNULL)


class Hosts:
    """Two hosts in namespaces of their own on a bridge in a third; nothing in the root namespace."""

    def __init__(self, count=2):
        run = secrets.token_hex(3)
        self.prefix = f"vessel-bench-{os.getpid()}-{run}"
        subnet = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
        self.bridge = f"{self.prefix}-br"
        self.namespaces = [self.bridge]
        ip("netns", "add", self.bridge)
        ip("-n", self.bridge, "link", "set", "lo", "up")
        ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        ip("-n", self.bridge, "link", "set", "br0", "up")
        self.hosts = []
        for i in range(1, count + 1):
            name = f"{self.prefix}-h{i}"
            self.namespaces.append(name)
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
            ip("link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", f"h{i}", "netns", self.bridge)
            ip("-n", self.bridge, "link", "set", f"h{i}", "master", "br0", "up")
            address = f"{subnet}.{10 + i}"
            ip("-n", name, "address", "add", f"{address}/24", "dev", "eth0")
            ip("-n", name, "link", "set", "eth0", "up")
            self.hosts.append((name, address))

    def close(self):
        for name in reversed(self.namespaces):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)


def wait_listening(namespace, port, timeout=120):
    deadline = time.monotonic() + timeout
    while not subprocess.run(["ip", "netns", "exec", namespace, "ss", "-Hltn", f"sport = :{port}"],
                             capture_output=True, text=True).stdout.strip():
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port} in {namespace}")
        time.sleep(0.05)


def drive_arguments(kind, path):
    if kind == "vessel":
        return ("--drive", f"file={path}")
    return ("-drive", f"file={path},if=none,id=disk0,format=qcow2", "-device", "virtio-blk-device,drive=disk0")


def make_disk(path, written_mib):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "256M"], check=True)
    if written_mib:
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P 0x5a 0 {written_mib}M", path], check=True, stdout=subprocess.DEVNULL)


def booted(kind, args, work, name, memory, prefix, extra=()):
    machine = Machine(kind, args, work, name, memory, extra, prefix)
    machine.read_until(PROMPT)
    machine.command("echo ready-$((6*7))", "ready-42")
    return machine


def make_busy(machine):
    machine.command("dd if=/dev/urandom of=/tmp/a bs=1M count=24 2>/dev/null; echo made-$((6*7))", "made-42")
    machine.command("(while true; do cp /tmp/a /tmp/b; done) & echo copying-$((6*7))", "copying-42")


def row(kind, args, work, hosts, memory, busy, block):
    label = f"{'block ' if block else ''}{'busy' if busy else 'idle'} {memory}"
    totals, downtimes, seen, ram, disk, lost = [], [], [], [], [], 0
    disks = [os.path.join(work, f"{kind}-disk-{i}.qcow2") for i in range(2)] if block else []
    if block:
        make_disk(disks[0], 64)
    prefix_of = lambda index: ("ip", "netns", "exec", hosts.hosts[index][0])
    source = booted(kind, args, work, f"{kind}-{label.replace(' ', '-')}-src", memory, prefix_of(0),
                    drive_arguments(kind, disks[0]) if block else ())
    if busy:
        make_busy(source)
    at = 0
    for i in range(args.runs):
        to = 1 - at
        namespace, address = hosts.hosts[to]
        port = 5000 + i
        extra = ("--incoming", f"tcp:{address}:{port}") if kind == "vessel" else ("-incoming", f"tcp:{address}:{port}")
        if block:
            target = disks[to]
            if os.path.exists(target):
                os.unlink(target)
            make_disk(target, 0)
            extra = (*extra, *drive_arguments(kind, target))
        destination = Machine(kind, args, work, f"{kind}-{label.replace(' ', '-')}-{i}", memory, extra, prefix_of(to))
        wait_listening(namespace, port)
        arguments = {"uri": f"tcp:{address}:{port}"}
        if block:
            arguments["blk"] = True
        since = len(source.qmp.events)
        source.qmp.run("migrate", **arguments)
        while True:
            info = source.qmp.run("query-migrate")
            if info.get("status") == "completed":
                break
            if info.get("status") in ("failed", "cancelled"):
                raise RuntimeError(f"{kind}: migration failed: {info}")
            time.sleep(0.005)
        totals.append(info["total-time"] / 1000)
        downtimes.append(info["downtime"] / 1000)
        ram.append(info["ram"]["transferred"] / 2**20)
        if block and "disk" in info:  # QEMU 7.2 shows no disk figures once completed
            disk.append(info["disk"]["transferred"] / 2**20)
        deadline = time.monotonic() + 120
        while destination.qmp.run("query-status")["status"] != "running":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind}: the destination did not start running")
            time.sleep(0.01)
        stop = source.qmp.wait_event("STOP", since, timeout=10)
        resume = destination.qmp.wait_event("RESUME", 0, timeout=10)
        seen.append(stamp(resume) - stamp(stop))
        source.quit()
        try:
            destination.command("echo arrived-$((6*7))", "arrived-42", timeout=120)
            source, at = destination, to
        except RuntimeError as error:
            print(f"migration: {label} on {kind}, run {i + 1}: {error}", file=sys.stderr, flush=True)
            lost += 1
            destination.kill()
            if block:
                make_disk(disks[at], 64)
            source = booted(kind, args, work, f"{kind}-{label.replace(' ', '-')}-src-{i}", memory, prefix_of(at),
                            drive_arguments(kind, disks[at]) if block else ())
            if busy:
                make_busy(source)
    source.quit()
    rows = {
        f"{label}: total (s)": totals,
        f"{label}: downtime, as the VMM reports it (s)": downtimes,
        f"{label}: downtime, source STOP to destination RESUME (s)": seen,
        f"{label}: RAM sent (MiB)": ram,
    }
    if block:
        rows[f"{label}: disk sent (MiB)"] = disk
    rows[f"{label}: guests lost (count)"] = [lost]
    return rows


def stamp(event):
    return event["timestamp"]["seconds"] + event["timestamp"]["microseconds"] / 1e6


ROWS = {
    "idle-256": dict(memory="256M", busy=False, block=False),
    "busy-256": dict(memory="256M", busy=True, block=False),
    "idle-1g": dict(memory="1G", busy=False, block=False),
    "busy-1g": dict(memory="1G", busy=True, block=False),
    "block-256": dict(memory="256M", busy=False, block=True),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vessel", required=True)
    parser.add_argument("--guest", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(ROWS), help="comma-separated rows: " + ", ".join(ROWS))
    args = parser.parse_args()
    args.guest = os.path.abspath(args.guest)
    work = tempfile.mkdtemp(prefix="vessel-migration-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    hosts = Hosts()
    results, failures = {}, []
    try:
        for name in args.only.split(","):
            for kind in ("vessel", "qemu"):
                print(f"migration: {name} on {kind} ({args.runs} runs)...", file=sys.stderr, flush=True)
                try:
                    for label, values in row(kind, args, work, hosts, **ROWS[name]).items():
                        results.setdefault(label, {})[kind] = values
                except (RuntimeError, AssertionError, OSError, subprocess.CalledProcessError) as error:
                    print(f"migration: {name} on {kind} failed: {error}", file=sys.stderr, flush=True)
                    failures.append(f"{name} on {kind}: {error}")
                finally:
                    for machine in list(LIVE):
                        machine.kill()
    finally:
        hosts.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"| row ({args.runs} runs, veth between namespaces) | vessel p50 | qemu p50 | vessel/qemu |")
    print("|---|---|---|---|")
    for label, by_kind in results.items():
        vessel, qemu = by_kind.get("vessel"), by_kind.get("qemu")
        cells = [f"{percentile(values, 50):.3f}" if values else "-" for values in (vessel, qemu)]
        ratio = f"{percentile(vessel, 50) / percentile(qemu, 50):.2f}" if vessel and qemu and percentile(qemu, 50) > 0 else "-"
        print(f"| {label} | {' | '.join(cells)} | {ratio} |")
    for failure in failures:
        print(f"failed: {failure}")


if __name__ == "__main__":
    main()
