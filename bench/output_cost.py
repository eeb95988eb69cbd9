#!/usr/bin/env python3
"""What --format and --metrics cost, and what a run that uses neither pays.

  bench/output_cost.py NTAP [--base BASE_NTAP] [--commit C] [--base-commit C]
                       [--runs N] [--records M] [--write]

Configurations, run alternately so machine load hits all alike: NTAP with
neither option, with `-f json`, with `--metrics 127.0.0.1:PORT`, and (with
--base) a binary built before the options existed, with neither. Per
configuration:
  - startup: launch to the begin line of examples/dropwatch.ntp (the begin
    probe runs once every kernel probe is attached), median;
  - host side per event: CPU time (user + sys, from wait4) of ntap while it
    formats M printf records sent by a kernel probe (one per getppid() call of
    this process), per record, median;
  - what the process holds once attached: threads, and whether ntap-http.so
    (cpp-httplib, OpenSSL, zlib, brotli) is mapped.
And per binary the instructions of the BPF programs generated for
examples/dropwatch.ntp and the printf-per-event script (ntap -p4): the kernel
side's cost per event. With --write, the table replaces what lies between
this script's markers in docs/performance.md. Run as root; a benchmark, not
a test.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DROPWATCH = os.path.join(REPO, "examples", "dropwatch.ntp")
PER_EVENT = """
probe begin { printf("ready\\n") }
probe kernel.trace("raw_syscalls:sys_enter") { if (pid() == $1 && $id == 110) printf("%d %s\\n", $1, "event") }
"""  # 110: getppid on x86_64


def attached(ntap: str, extra: list, script: str, args: list, ready: bytes):
    """Starts ntap, waits for the begin line; returns (process, ms to attached)."""
    started = time.monotonic()
    p = subprocess.Popen([ntap, *extra, script, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    elapsed = (time.monotonic() - started) * 1000
    if ready not in line:
        p.kill()
        raise RuntimeError(f"{ntap} {extra}: no begin line ({line!r})")
    return p, elapsed


def holds(pid: int) -> tuple:
    threads = len(os.listdir(f"/proc/{pid}/task"))
    http = "ntap-http.so" in open(f"/proc/{pid}/maps").read()
    return threads, http


def startup(ntap: str, extra: list) -> tuple:
    p, ms = attached(ntap, extra, DROPWATCH, [], b"Monitoring")
    time.sleep(0.2)
    held = holds(p.pid)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    return ms, held


def bpf_instructions(ntap: str, script: str, *args: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "x.o")
        subprocess.run([ntap, "-p4", "-o", obj, script, *args], check=True, stdout=subprocess.DEVNULL)
        sections = subprocess.run(["readelf", "-SW", obj], check=True, capture_output=True, text=True).stdout
    total = 0
    # [Nr] Name Type Address Off Size ES Flg ...: executable sections hold the programs.
    for m in re.finditer(r"\]\s+(\S+)\s+PROGBITS\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(\S*X\S*)\s", sections):
        total += int(m.group(2), 16) // 8
    return total


def per_event_us(ntap: str, extra: list, script: str, records: int) -> float:
    p, _ = attached(ntap, extra, script, [str(os.getpid())], b"ready")
    before = cpu_seconds(p.pid)  # startup's CPU time is not the events'
    seen = 0
    done = threading.Event()

    def reader():
        nonlocal seen
        for _ in p.stdout:
            seen += 1
            if seen == records:
                done.set()
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    for i in range(records):
        os.getppid()
        if i % 500 == 499:
            time.sleep(0.001)  # paced: the ring buffer must not overflow
    if not done.wait(120) or seen < records:
        p.kill()
        raise RuntimeError(f"{ntap} {extra}: {seen} of {records} records (ring buffer full?)")
    p.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return (usage.ru_utime + usage.ru_stime - before) * 1e6 / records


def same_objects(ntap: str, script: str, option_sets: list) -> bool:
    """Whether `ntap -p4` writes the same BPF object with each set of options."""
    with tempfile.TemporaryDirectory() as tmp:
        blobs = []
        for i, extra in enumerate(option_sets):
            obj = os.path.join(tmp, f"{i}.o")
            subprocess.run([ntap, *extra, "-p4", "-o", obj, script], check=True, stdout=subprocess.DEVNULL)
            blobs.append(open(obj, "rb").read())
    return all(b == blobs[0] for b in blobs)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (/proc/PID/stat fields 14 and 15)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def commit_of(ntap: str) -> str:
    out = subprocess.run(["git", "-C", os.path.dirname(os.path.dirname(os.path.realpath(ntap))), "rev-parse",
                          "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return out or "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ntap")
    ap.add_argument("--base")
    ap.add_argument("--commit", help="NTAP's commit, when it lies outside its tree")
    ap.add_argument("--base-commit", help="BASE_NTAP's commit, when it lies outside its tree")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    configs = {"neither option": (args.ntap, []), "-f json": (args.ntap, ["-f", "json"]),
               "--metrics": (args.ntap, ["--metrics", None])}
    if args.base:
        configs = {f"before the options ({args.base_commit or commit_of(args.base)})": (args.base, []), **configs}
    with tempfile.NamedTemporaryFile("w", suffix=".stp", delete=False) as f:
        f.write(PER_EVENT)
        script = f.name
    try:
        start = {k: [] for k in configs}
        event = {k: [] for k in configs}
        held = {}
        for _ in range(args.runs):
            for label, (ntap, extra) in configs.items():
                extra = [str(free_port()) if e is None else e for e in extra]
                ms, held[label] = startup(ntap, extra)
                start[label].append(ms)
                event[label].append(per_event_us(ntap, extra, script, args.records))
        binaries = {args.ntap: args.commit or commit_of(args.ntap)}
        if args.base:
            binaries[args.base] = args.base_commit or commit_of(args.base)
        insns = {c: (bpf_instructions(b, DROPWATCH), bpf_instructions(b, script, "1")) for b, c in binaries.items()}
        same = same_objects(args.ntap, DROPWATCH, [[], ["-f", "json"], ["--metrics", "9100"]])
    finally:
        os.unlink(script)

    rows = []
    for label in configs:
        threads, http = held[label]
        rows.append(f"| {label} | {statistics.median(start[label]):.1f} | {statistics.median(event[label]):.2f} | "
                    f"{threads} | {'yes' if http else 'no'} | {', '.join(f'{v:.1f}' for v in start[label])} |")
    insn_rows = "\n".join(f"| {c} | {d} | {e} |" for c, (d, e) in insns.items())
    loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
    text = f"""## Cost of --format and --metrics, and of neither

A run that asks for neither option must not pay for them: ntap-http.so
(cpp-httplib, and OpenSSL, zlib and brotli with it) is loaded only with
--metrics, which alone adds threads (cpp-httplib's listener and its worker
pool); the kernel side sends the same records in every mode (the probe point
a JSON record names is a field of the record's format, known on the host,
not part of the record): the BPF object `-p4` writes for dropwatch.ntp is
{"byte for byte the same" if same else "NOT the same"} with neither option, `-f json` and `--metrics`. Measured by
`bench/output_cost.py`: the configurations run alternately, {args.runs} runs each,
medians; per event, ntap's own CPU time (user + sys, from its begin line to
its exit) while it formats {args.records} printf records a kernel probe sends
(one per getppid() call), divided by their number.

| run | launch to attached, dropwatch (ms) | host CPU per printf record (µs) | threads once attached | ntap-http.so mapped | attached, every run (ms) |
|---|---|---|---|---|---|
{chr(10).join(rows)}

BPF instructions generated (the kernel side's work per event; the options
change nothing there):

| commit | examples/dropwatch.ntp | printf per event |
|---|---|---|
{insn_rows}

Machine: Linux {os.uname().release}, {os.cpu_count()} CPUs, load average {loadavg} at the end
(other work on the machine: compare the rows with each other, not with other tables).
{"" if args.base else chr(10) + "`--base BINARY` adds a row for a binary built before the options existed; this" + chr(10) + "table was measured without one, so `neither option` is compared with the" + chr(10) + "options themselves and with the startup table above, not with a build before them." + chr(10)}"""
    print(text)
    if args.write:
        path = os.path.join(REPO, "docs", "performance.md")
        doc = open(path).read()
        begin, end = "<!-- bench/output_cost.py: begin -->", "<!-- bench/output_cost.py: end -->"
        if begin in doc:
            doc = doc[:doc.index(begin)] + begin + "\n" + text + doc[doc.index(end):]
        else:
            doc = doc.rstrip("\n") + "\n\n" + begin + "\n" + text + end + "\n"
        open(path, "w").write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
