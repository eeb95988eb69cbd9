#!/usr/bin/env python3
"""A bounded TCP transfer on 127.0.0.1:PORT in small writes (TCP_NODELAY, so
each segment is its own packet): COUNT writes of SIZE bytes, read to the end
by a server thread. Run inside a private namespace whose nft rules drop some
packets, to make retransmissions."""
import argparse
import socket
import threading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(1)
    received = [0]

    def serve():
        peer, _ = server.accept()
        while True:
            data = peer.recv(65536)
            if not data:
                break
            received[0] += len(data)
        peer.close()

    thread = threading.Thread(target=serve)
    thread.start()
    client = socket.create_connection(("127.0.0.1", args.port), timeout=30)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(args.count):
        client.sendall(b"x" * args.size)
    client.shutdown(socket.SHUT_WR)
    thread.join(timeout=60)
    client.close()
    server.close()
    expected = args.count * args.size
    if received[0] != expected:
        raise SystemExit(f"received {received[0]} of {expected} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
