#!/usr/bin/env python3
"""Measure how fast a tracer gets its probes attached, and its peak memory.

For each run: start the command, read its stdout until the line printed by the
script's begin probe (which runs only once every kernel probe is attached),
note the elapsed time, let it idle briefly, read VmHWM (peak RSS) from
/proc/PID/status, then stop it with SIGINT. Prints one JSON object with the
per-run samples and their medians.
"""
import argparse
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import time


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/PID/status")


def one_run(command: list[str], ready_line: str, timeout: float, idle: float) -> tuple[float, int]:
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        pending = b""
        while True:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0 or not selector.select(remaining):
                raise RuntimeError(f"no {ready_line!r} within {timeout}s from {command[0]}")
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"{command[0]} exited before printing {ready_line!r}")
            pending += chunk
            if ready_line.encode() in pending:
                attached_ms = (time.monotonic() - started) * 1000.0
                break
        time.sleep(idle)
        rss = peak_rss_kib(process.pid)
        return attached_ms, rss
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--ready", required=True, help="text of the begin line")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--idle", type=float, default=0.3,
                        help="seconds to run after attaching before reading VmHWM")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    attach_ms, rss_kib = [], []
    for _ in range(args.runs):
        ms, kib = one_run(command, args.ready, args.timeout, args.idle)
        attach_ms.append(round(ms, 1))
        rss_kib.append(kib)
        time.sleep(0.2)  # let the kernel free the previous run's programs
    json.dump({
        "command": command,
        "attach_ms": attach_ms,
        "rss_kib": rss_kib,
        "median_attach_ms": statistics.median(attach_ms),
        "median_rss_mib": round(statistics.median(rss_kib) / 1024.0, 1),
    }, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
