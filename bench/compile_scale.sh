#!/usr/bin/env bash
# Compile-time scaling benchmark: generated scripts with N probes and N globals
# (bench/gen_scale_script.py) compiled through -p2 (frontend only) and -p4
# (frontend, layout, BPF object, user probes); medians over several runs. The
# table and the growth factor per doubling go into docs/performance.md,
# between this script's markers only.
#
#   bench/compile_scale.sh [NTAP_BINARY] [RUNS] [SIZES...]   (root: -l reads tracefs)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ntap="${1:-$repo_root/build/ntap}"
runs="${2:-3}"
shift $(($# > 2 ? 2 : $#))
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(125 250 500 1000 2000)
report="$repo_root/docs/performance.md"
work="$(mktemp -d /tmp/ntap-scale.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Real tracepoints of this kernel, cycled through by the generator.
"$ntap" -l 'kernel.trace("*")' >"$work/tracepoints.txt"

for size in "${sizes[@]}"; do
  python3 "$repo_root/bench/gen_scale_script.py" "$size" "$work/tracepoints.txt" >"$work/s$size.ntp"
  for pass in 2 4; do
    echo "measuring N=$size -p$pass ($runs runs)" >&2
    # Wall time and CPU time (user, sys) of each compile, in seconds, to the
    # microsecond (GNU time rounds to 10 ms, too coarse for -p2).
    python3 - "$runs" "$size" "$pass" "$ntap" "$work" >>"$work/samples.txt" <<'PY'
import os, subprocess, sys, time
runs, size, pass_, ntap, work = sys.argv[1:]
for _ in range(int(runs)):
    start = time.perf_counter()
    child = subprocess.Popen([ntap, f"-p{pass_}", "-o", f"{work}/x.o", f"{work}/s{size}.ntp"],
                             stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        sys.exit(f"ntap -p{pass_} failed on the N={size} script")
    print(size, pass_, time.perf_counter() - start, usage.ru_utime, usage.ru_stime)
PY
  done
  # One -v run per size: which pass the time goes to.
  "$ntap" -v -p4 -o "$work/x.o" "$work/s$size.ntp" 2>&1 >/dev/null | sed "s/^/N=$size: /" >>"$work/phases.txt" || true
done

python3 - "$work" "$report" "$runs" \
  "$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import collections, os, statistics, sys
work, report, runs, commit, kernel, cpus, loadavg = sys.argv[1:]
wall = collections.defaultdict(list)
cpu = collections.defaultdict(list)
for line in open(os.path.join(work, "samples.txt")):
    size, pass_, elapsed, user, system = line.split()
    wall[int(size), int(pass_)].append(float(elapsed))
    cpu[int(size), int(pass_)].append(float(user) + float(system))
sizes = sorted({size for size, _ in wall})
med = lambda samples: statistics.median(samples)
rows = []
for i, size in enumerate(sizes):
    cells = [str(size)]
    for pass_ in (2, 4):
        cells += [f"{med(wall[size, pass_]):.3f}", f"{med(cpu[size, pass_]):.3f}"]
    if i:
        previous = sizes[i - 1]
        ratio = lambda p: med(cpu[size, p]) / max(med(cpu[previous, p]), 0.005)
        cells.append(f"×{ratio(2):.2f} / ×{ratio(4):.2f} (N ×{size / previous:g})")
    else:
        cells.append("")
    rows.append("| " + " | ".join(cells) + " |")
table = "\n".join(rows)
phases = open(os.path.join(work, "phases.txt")).read().strip()
measured = f"""## Compile time as scripts grow

Generated scripts (bench/gen_scale_script.py) with N probes and N globals:
mostly `kernel.trace(...)` probes on this kernel's real tracepoints (one BPF
program each), some timer probes, a begin/end probe every 20; the globals are
counters, pid-keyed arrays, execname-keyed statistics and statistics, which
the probes update (`++`, `+=`, `<<<`) and the timer/begin/end probes print
(`printf`, `foreach`, `@count`, `@avg`). Each size is compiled {runs} times
with `ntap -p2` (frontend: parse and elaborate) and `ntap -p4 -o x.o`
(through the BPF object and the JIT-compiled user probes); medians. CPU time
is user+sys of the process: on this shared 2-CPU machine wall time also
counts waiting for a CPU. The growth column is the CPU-time ratio to the
previous size (linear growth: the same factor as N).

| N probes = N globals | -p2 wall (s) | -p2 CPU (s) | -p4 wall (s) | -p4 CPU (s) | growth -p2 / -p4 |
|---|---|---|---|---|---|
{table}

Where the time goes, one `ntap -v -p4` run per size:

```
{phases}
```

Machine: Linux {kernel}, {cpus} CPUs, load average {loadavg} at the end; ntap at commit {commit}.

Reproduce (as root): `bench/compile_scale.sh [NTAP_BINARY] [RUNS] [SIZES...]`.
"""
begin, end = "<!-- bench/compile_scale.sh: begin -->\n", "<!-- bench/compile_scale.sh: end -->\n"
old = open(report).read()
if begin in old and end in old:
    text = old[:old.index(begin) + len(begin)] + measured + old[old.index(end):]
else:
    text = old.rstrip("\n") + "\n\n" + begin + measured + end
open(report, "w").write(text)
print(table)
PY
echo "wrote $report" >&2
