#!/usr/bin/env python3
"""Vessel and QEMU side by side through one QMP driver: save, restore, stop and live migration.

Both machines boot the same reference guest (initramfs, 'quiet') and are driven the same way:
QMP over a Unix socket, the serial console on stdin/stdout. Every timing is taken by this
script on the host's monotonic clock, except the migration's total time and downtime, which
each VMM reports in query-migrate. See run.sh for the rows.
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = b"/ # "


class Qmp:
    """A QMP client: negotiates, runs commands, collects events."""

    def __init__(self, path, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no QMP socket at {path}")
                time.sleep(0.01)
        self.buffer = b""
        self.events = []
        self._next()  # greeting
        self.run("qmp_capabilities")

    def _next(self, timeout=300):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("QMP timed out")
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                data = self.sock.recv(65536)
                if not data:
                    raise RuntimeError("QMP connection closed")
                self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            message = self._next()
            if "event" in message:
                message["_seen"] = time.monotonic()
                self.events.append(message)
                continue
            if "error" in message:
                raise RuntimeError(f"{command}: {message['error']}")
            return message["return"]

    def wait_event(self, name, since=0, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event["event"] == name:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no {name} event")
            message = self._next(left)
            if "event" in message:
                message["_seen"] = time.monotonic()
                self.events.append(message)

    def close(self):
        self.sock.close()


class Machine:
    """One VMM process (Vessel or QEMU) with its console on pipes and QMP on a socket."""

    def __init__(self, kind, args, work, name, memory="256M", extra=(), prefix=()):
        self.kind = kind
        self.qmp_path = os.path.join(work, f"{name}.qmp")
        if os.path.exists(self.qmp_path):
            os.unlink(self.qmp_path)
        kernel = os.path.join(args.guest, "Image")
        initrd = os.path.join(args.guest, "initrd.gz")
        append = "console=ttyS0 panic=-1 quiet"
        if kind == "vessel":
            command = [args.vessel, "run", "--kernel", kernel, "--initrd", initrd, "--append", append, "--memory", memory,
                       "--qmp", f"unix:{self.qmp_path},server=on,wait=off", *extra]
        else:
            command = ["qemu-system-riscv64", "-M", "virt", "-m", memory, "-nographic", "-monitor", "none",
                       "-kernel", kernel, "-initrd", initrd, "-append", append, "-nic", "user,model=virtio-net-device",
                       "-qmp", f"unix:{self.qmp_path},server=on,wait=off", *extra]
        self.started = time.monotonic()
        # prefix: a wrapper the VMM runs under (bench/migration runs each in a network namespace).
        self.process = subprocess.Popen([*prefix, *command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        LIVE.add(self)
        os.set_blocking(self.process.stdout.fileno(), False)
        self.output = b""
        self.qmp = Qmp(self.qmp_path)

    def _read_until(self, found, what, timeout):
        """Reads the console until found(output) holds; returns the time it did."""
        deadline = time.monotonic() + timeout
        while not found(self.output):
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise RuntimeError(f"{self.kind}: no {what!r} on the console; last output {self.output[-300:]!r}")
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                data = self.process.stdout.read()
                if data:
                    self.output += data
        return time.monotonic()

    def read_until(self, pattern, timeout=300):
        return self._read_until(lambda output: pattern in output, pattern, timeout)

    def command(self, text, answer, timeout=300):
        """Types a shell command and returns when its answer shows."""
        mark = len(self.output)
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()
        return self._read_until(lambda output: answer.encode() in output[mark:], answer, timeout)

    def kill(self):
        """Ends the process at once (a row that failed leaves no VM behind)."""
        LIVE.discard(self)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if hasattr(self, "qmp"):
            self.qmp.close()

    def quit(self):
        LIVE.discard(self)
        try:
            self.qmp.run("quit")
        except RuntimeError:
            pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.qmp.close()


# Every VMM process not yet ended, so that a row that fails half-way ends them.
LIVE = set()


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[index]


def allocated(path):
    return os.stat(path).st_blocks * 512


def save_state(machine, path):
    """migrate to a state file; returns (seconds, bytes on disk)."""
    uri = f"file:{path}" if machine.kind == "vessel" else f"exec:cat > {path}"
    start = time.monotonic()
    machine.qmp.run("migrate", uri=uri)
    while True:
        info = machine.qmp.run("query-migrate")
        if info.get("status") == "completed":
            break
        if info.get("status") in ("failed", "cancelled"):
            raise RuntimeError(f"{machine.kind}: migrate failed: {info}")
        time.sleep(0.001)
    return time.monotonic() - start, allocated(path)


def booted(kind, args, work, name, memory="256M", extra=()):
    machine = Machine(kind, args, work, name, memory, extra)
    machine.read_until(PROMPT)
    machine.command("echo ready-$((6*7))", "ready-42")
    return machine


def row_save(kind, args, work):
    machine = booted(kind, args, work, f"{kind}-save")
    times, sizes = [], []
    path = os.path.join(work, f"{kind}-save.state")
    for _ in range(args.runs):
        seconds, size = save_state(machine, path)
        times.append(seconds)
        sizes.append(size)
        machine.qmp.run("cont")
        os.unlink(path)
    machine.quit()
    return {"save: time (s)": times, "save: bytes on disk (MiB)": [s / 2**20 for s in sizes]}


def prepare_state(kind, args, work, memory):
    path = os.path.join(work, f"{kind}-{memory}.state")
    machine = booted(kind, args, work, f"{kind}-prepare-{memory}", memory)
    save_state(machine, path)
    machine.quit()
    return path


def row_restore(kind, args, work, memory):
    path = prepare_state(kind, args, work, memory)
    running, answer, cold = [], [], []
    incoming = f"file:{path}" if kind == "vessel" else f"exec:cat {path}"
    for i in range(args.runs):
        extra = ("--incoming", "defer") if kind == "vessel" else ("-incoming", "defer")
        machine = Machine(kind, args, work, f"{kind}-restore-{memory}-{i}", memory, extra)
        status = machine.qmp.run("query-status")["status"]
        assert status == "inmigrate", status
        time.sleep(0.2)  # the process is warm and waiting, as a management layer keeps it
        since = len(machine.qmp.events)
        start = time.monotonic()
        machine.qmp.run("migrate-incoming", uri=incoming)
        resumed = machine.qmp.wait_event("RESUME", since)
        running.append(resumed["_seen"] - start)
        answered = machine.command("echo back-$((6*7))", "back-42")
        answer.append(answered - start)
        machine.quit()
    if kind == "vessel":
        for i in range(args.runs):
            start = time.monotonic()
            machine = Machine(kind, args, work, f"{kind}-cold-{memory}-{i}", memory, ("--incoming", f"file:{path}"))
            answered = machine.command("echo back-$((6*7))", "back-42")
            cold.append(answered - start)
            machine.quit()
    rows = {
        f"restore {memory} warm: to running (s)": running,
        f"restore {memory} warm: to console answer (s)": answer,
    }
    if cold:
        rows[f"restore {memory} cold (vessel run --incoming): to console answer (s)"] = cold
    os.unlink(path)
    return rows


def row_stop(kind, args, work):
    machine = booted(kind, args, work, f"{kind}-stop")
    latencies = []
    for _ in range(args.runs):
        since = len(machine.qmp.events)
        start = time.monotonic()
        machine.qmp.run("stop")
        stopped = machine.qmp.wait_event("STOP", since)
        latencies.append(stopped["_seen"] - start)
        machine.qmp.run("cont")
        time.sleep(0.05)
    machine.quit()
    return {"stop -> STOP event (s)": latencies}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def row_migration(kind, args, work, busy):
    label = "busy" if busy else "idle"

    def fresh_source(name):
        machine = booted(kind, args, work, name)
        if busy:
            machine.command("dd if=/dev/urandom of=/tmp/a bs=1M count=24 2>/dev/null; echo made-$((6*7))", "made-42")
            machine.command("(while true; do cp /tmp/a /tmp/b; done) & echo copying-$((6*7))", "copying-42")
        return machine

    source = fresh_source(f"{kind}-mig-{label}-src")
    totals, downtimes, lost = [], [], 0
    for i in range(args.runs):
        port = free_port()
        extra = ("--incoming", f"tcp:127.0.0.1:{port}") if kind == "vessel" else ("-incoming", f"tcp:127.0.0.1:{port}")
        destination = Machine(kind, args, work, f"{kind}-mig-{label}-{i}", "256M", extra)
        time.sleep(0.3)
        source.qmp.run("migrate", uri=f"tcp:127.0.0.1:{port}")
        while True:
            info = source.qmp.run("query-migrate")
            if info.get("status") == "completed":
                break
            if info.get("status") in ("failed", "cancelled"):
                raise RuntimeError(f"{kind}: migration failed: {info}")
            time.sleep(0.005)
        totals.append(info["total-time"] / 1000)
        downtimes.append(info["downtime"] / 1000)
        # The destination runs a moment after the source says it is done (QEMU drops console
        # input that arrives before), so wait for it to run before typing.
        deadline = time.monotonic() + 120
        while destination.qmp.run("query-status")["status"] != "running":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind}: the destination did not start running")
            time.sleep(0.01)
        source.quit()
        try:
            destination.command("echo arrived-$((6*7))", "arrived-42", timeout=60)
            source = destination  # the next migration starts from here
        except RuntimeError as error:
            # A destination that never answers is a lost guest: counted, and the next run
            # starts from a freshly booted source.
            print(f"lifecycle: migrate-{label} on {kind}, run {i + 1}: {error}", file=sys.stderr, flush=True)
            lost += 1
            destination.kill()
            source = fresh_source(f"{kind}-mig-{label}-src-{i}")
    source.quit()
    return {
        f"live migration {label}: total (s)": totals,
        f"live migration {label}: downtime (s)": downtimes,
        f"live migration {label}: guests that never answered after it (count)": [lost],
    }


ROWS = {
    "save": row_save,
    "restore256": lambda kind, args, work: row_restore(kind, args, work, "256M"),
    "restore2g": lambda kind, args, work: row_restore(kind, args, work, "2G"),
    "stop": row_stop,
    "migrate-idle": lambda kind, args, work: row_migration(kind, args, work, busy=False),
    "migrate-busy": lambda kind, args, work: row_migration(kind, args, work, busy=True),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vessel", required=True)
    parser.add_argument("--guest", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default=",".join(ROWS), help="comma-separated rows: " + ", ".join(ROWS))
    args = parser.parse_args()
    args.guest = os.path.abspath(args.guest)
    work = tempfile.mkdtemp(prefix="vessel-lifecycle-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    results = {}
    failures = []
    try:
        for row in args.only.split(","):
            for kind in ("vessel", "qemu"):
                print(f"lifecycle: {row} on {kind} ({args.runs} runs)...", file=sys.stderr, flush=True)
                try:
                    for name, values in ROWS[row](kind, args, work).items():
                        results.setdefault(name, {})[kind] = values
                except (RuntimeError, AssertionError, OSError) as error:
                    # One machine failing a row is a result too; the other rows go on.
                    print(f"lifecycle: {row} on {kind} failed: {error}", file=sys.stderr, flush=True)
                    failures.append(f"{row} on {kind}: {error}")
                finally:
                    for machine in list(LIVE):
                        machine.kill()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"| row ({args.runs} runs) | vessel p50 | vessel p99 | qemu p50 | qemu p99 | ratio p50 |")
    print("|---|---|---|---|---|---|")
    for name, by_kind in results.items():
        vessel = by_kind.get("vessel")
        qemu = by_kind.get("qemu")
        cells = []
        for values in (vessel, qemu):
            cells += [f"{percentile(values, 50):.4f}", f"{percentile(values, 99):.4f}"] if values else ["-", "-"]
        ratio = f"{percentile(vessel, 50) / percentile(qemu, 50):.2f}" if vessel and qemu and percentile(qemu, 50) > 0 else "-"
        print(f"| {name} | {' | '.join(cells)} | {ratio} |")
    for failure in failures:
        print(f"failed: {failure}")


if __name__ == "__main__":
    main()
