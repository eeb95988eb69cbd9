#!/usr/bin/env python3
"""Exact TCP traffic on 127.0.0.1 for the TCP examples' tests (run inside a
private network namespace).

  --refused N     N connects to PORT with nothing listening: N SYNs answered
                  by a RST from the kernel
  --sessions N    then N connections to a listener on PORT: the client sends
                  SEND bytes, the server answers with REPLY bytes, the client
                  closes first
"""
import argparse
import socket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--refused", type=int, default=0)
    parser.add_argument("--sessions", type=int, default=0)
    parser.add_argument("--send", type=int, default=0)
    parser.add_argument("--reply", type=int, default=0)
    args = parser.parse_args()

    for _ in range(args.refused):
        try:
            socket.create_connection(("127.0.0.1", args.port), timeout=2).close()
            raise SystemExit("something listens on the port")
        except ConnectionRefusedError:
            pass

    if args.sessions:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", args.port))
        server.listen(args.sessions)
        for _ in range(args.sessions):
            client = socket.create_connection(("127.0.0.1", args.port), timeout=2)
            peer, _ = server.accept()
            client.sendall(b"c" * args.send)
            got = 0
            while got < args.send:
                got += len(peer.recv(65536))
            peer.sendall(b"s" * args.reply)
            got = 0
            while got < args.reply:
                got += len(client.recv(65536))
            client.close()
            peer.recv(1)  # the client's FIN
            peer.close()
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
