#!/usr/bin/env python3
"""Make exactly COUNT SOCKET_FILTER drops at one place in the kernel.

A UDP socket bound to 127.0.0.1 gets a classic BPF filter that returns 0
(keep nothing); COUNT datagrams sent to it are each dropped by the UDP
receive path with SKB_DROP_REASON_SOCKET_FILTER, always from the same code
location. Run inside a private network namespace: the drops are the test's
own, and no other process on the machine has this socket.
"""
import argparse
import ctypes
import errno
import socket
import struct
import sys

SO_ATTACH_FILTER = 26
BPF_RET_K = 0x06  # BPF_RET | BPF_K: return the constant k (bytes to keep)


def attach_drop_all(sock: socket.socket) -> None:
    # struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }: one "ret #0".
    program = ctypes.create_string_buffer(struct.pack("HBBI", BPF_RET_K, 0, 0, 0))
    # struct sock_fprog { u16 len; struct sock_filter *filter; } (native layout).
    fprog = struct.pack("HL", 1, ctypes.addressof(program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--go", help="a FIFO: print 'ready' once set up, send when a line is written to it "
                        "(so the interpreter's startup is out of the timed window)")
    args = parser.parse_args()

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    attach_drop_all(receiver)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.go:
        print("ready", flush=True)
        with open(args.go) as go:
            go.readline()
    for _ in range(args.count):
        sender.sendto(b"ntap", receiver.getsockname())
    # Loopback delivers before sendto() returns to us (softirq on this CPU);
    # nothing may have reached the socket.
    try:
        data = receiver.recv(64, socket.MSG_DONTWAIT)
        print(f"the filter let a datagram through: {data!r}", file=sys.stderr)
        return 1
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise
    print(f"sent {args.count} datagrams to a drop-all filter", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
