#!/usr/bin/env python3
"""The host's end of one TCP transfer with a guest, for bench/network/run.sh.

    host-end.py listen PORT_FILE send FILE     accept one connection on 127.0.0.1 (port
                                               written to PORT_FILE), send FILE
    host-end.py listen PORT_FILE receive BYTES accept one connection, receive BYTES
    host-end.py connect PORT send FILE         connect to 127.0.0.1:PORT (a port forward)
    host-end.py connect PORT receive BYTES

Prints one line: `<bytes> <seconds> <sha256>` (what was sent or received), timed with the
host's monotonic clock from the moment the connection is up to the moment the transfer is
complete: for a receive, the last expected byte has arrived; for a send, all is sent, our
write side is shut down and the guest has closed its side, which BusyBox nc does only once it
has read everything (so the time covers delivery, not just the host's socket buffer).
"""

import hashlib
import socket
import sys
import time

CHUNK = 1 << 20
TIMEOUT_SECONDS = 600


def transfer(sock, action, argument):
    digest = hashlib.sha256()
    total = 0
    if action == "send":
        start = time.monotonic()
        with open(argument, "rb") as data:
            while chunk := data.read(CHUNK):
                sock.sendall(chunk)
                digest.update(chunk)
                total += len(chunk)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(CHUNK):  # the guest sends nothing back; wait for its close
            pass
        end = time.monotonic()
    else:
        expected = int(argument)
        start = time.monotonic()
        while total < expected:
            chunk = sock.recv(min(CHUNK, expected - total))
            if not chunk:
                break
            digest.update(chunk)
            total += len(chunk)
        end = time.monotonic()
    return total, end - start, digest.hexdigest()


def main(argv):
    if len(argv) != 5 or argv[1] not in ("listen", "connect") or argv[3] not in ("send", "receive"):
        sys.exit(__doc__)
    mode, where, action, argument = argv[1:]
    if mode == "listen":
        with socket.create_server(("127.0.0.1", 0)) as server:
            server.settimeout(TIMEOUT_SECONDS)
            with open(where, "w") as port_file:
                port_file.write(f"{server.getsockname()[1]}\n")
            sock, _ = server.accept()
    else:
        sock = socket.create_connection(("127.0.0.1", int(where)), timeout=TIMEOUT_SECONDS)
    with sock:
        sock.settimeout(TIMEOUT_SECONDS)
        total, seconds, sha = transfer(sock, action, argument)
    print(f"{total} {seconds:.6f} {sha}")


if __name__ == "__main__":
    main(sys.argv)
