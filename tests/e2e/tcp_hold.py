#!/usr/bin/env python3
"""One TCP connection on HOST:PORT that moves exact traffic and then stays
open and idle: the client writes SEND bytes (in WRITE-byte writes, with
TCP_NODELAY), the server reads them all and answers REPLY bytes, the client
reads those; then the script prints "ready CLIENT_PORT" and holds the
connection for HOLD seconds before closing both ends. Run inside a private
namespace; tests read the connection's counters while it idles."""
import argparse
import socket
import sys
import threading
import time


def read_exactly(sock: socket.socket, count: int) -> None:
    got = 0
    while got < count:
        data = sock.recv(min(65536, count - got))
        if not data:
            raise SystemExit(f"connection closed after {got} of {count} bytes")
        got += len(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--send", type=int, default=100000)
    parser.add_argument("--write", type=int, default=10000)
    parser.add_argument("--reply", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=5.0)
    args = parser.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    server = socket.socket(family)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen(1)
    accepted = []

    def serve():
        peer, _ = server.accept()
        accepted.append(peer)
        read_exactly(peer, args.send)
        peer.sendall(b"r" * args.reply)

    thread = threading.Thread(target=serve)
    thread.start()
    client = socket.create_connection((args.host, args.port), timeout=60)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    left = args.send
    while left > 0:
        chunk = min(args.write, left)
        client.sendall(b"x" * chunk)
        left -= chunk
    read_exactly(client, args.reply)
    thread.join(timeout=60)
    print(f"ready {client.getsockname()[1]}", flush=True)
    time.sleep(args.hold)
    client.close()
    accepted[0].close()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
