#!/usr/bin/env python3
"""Writes a synthetic ntap script with N probes and N globals, for the
compile-time scaling benchmark (bench/compile_scale.sh).

The mix mimics real scripts: most probes are kernel tracepoints (each its own
BPF program), some are timers, a few begin/end; the globals are counters,
arrays keyed by pid/execname, and statistics, which the probes update and the
timer/end probes print.

    gen_scale_script.py N TRACEPOINT_LIST_FILE > script.ntp
"""
import sys


def global_kind(index):
    # counter, array keyed by pid, array keyed by execname, statistic
    return ("counter", "by_pid", "by_name", "stat")[index % 4]


def update(index):
    name = f"g{index}"
    kind = global_kind(index)
    if kind == "counter":
        return f"{name}++"
    if kind == "by_pid":
        return f"{name}[pid()] += 1"
    if kind == "by_name":
        return f"{name}[execname()] <<< cpu()"
    return f"{name} <<< tid()"


def report(index):
    name = f"g{index}"
    kind = global_kind(index)
    if kind == "counter":
        return f'printf("{name} %d\\n", {name})'
    if kind == "by_pid":
        return f'foreach (p in {name}) printf("{name} %d %d\\n", p, {name}[p])'
    if kind == "by_name":
        return (f'foreach (e in {name}-) printf("{name} %s %d\\n", e, @count({name}[e]))')
    return f'if (@count({name})) printf("{name} %d %d\\n", @count({name}), @avg({name}))'


def main():
    count = int(sys.argv[1])
    tracepoints = [line.strip() for line in open(sys.argv[2]) if line.strip()]
    out = [f"# generated: {count} probes, {count} globals"]
    out += [f"global g{i}" for i in range(count)]
    for i in range(count):
        # Each probe touches its own global and a neighbour's, so lookups of
        # globals spread over the whole table.
        touched = [i, (i * 7 + 3) % count]
        if i % 20 == 0:
            header = "probe begin" if i % 40 == 0 else "probe end"
            body = [report(g) for g in touched]
        elif i % 10 == 5:
            header = f"probe timer.ms({100 + i % 900})"
            body = [report(g) for g in touched]
        else:
            header = f"probe {tracepoints[i % len(tracepoints)]}"
            body = ["n = 1", f"if (pid() > n) {update(touched[0])}", update(touched[1])]
        out.append(header + " {\n  " + "\n  ".join(body) + "\n}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
