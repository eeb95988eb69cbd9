#!/usr/bin/env python3
"""Send exactly COUNT UDP datagrams to HOST:PORT, optionally paced to RATE per second.

Used by the end-to-end tests inside a private network namespace: nothing listens
on the port, so every datagram is dropped by the kernel at __udp4_lib_rcv with
reason NO_SOCKET, which gives the tests an exact number of drops to look for.
"""
import argparse
import socket
import sys
import time

PACE_BATCH = 1000  # datagrams between two looks at the clock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="datagrams per second (0: as fast as possible)")
    args = parser.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    destination = (args.host, args.port)
    payload = b"ntap"
    start = time.monotonic()
    sent = 0
    while sent < args.count:
        batch = min(PACE_BATCH, args.count - sent)
        for _ in range(batch):
            sock.sendto(payload, destination)
        sent += batch
        if args.rate > 0:
            ahead = sent / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    sock.close()
    print(f"sent {sent} datagrams in {time.monotonic() - start:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
