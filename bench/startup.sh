#!/usr/bin/env bash
# Startup benchmark: launch → probes attached, and peak RSS, for
#   ntap examples/dropwatch.ntp   versus   bpftrace bench/dropwatch.bt
# Median over several runs; the table is written to docs/performance.md.
#
#   bench/startup.sh [NTAP_BINARY] [RUNS]        (root; a benchmark, not a test)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ntap="${1:-$repo_root/build/ntap}"
runs="${2:-7}"
ready="Monitoring for dropped packets"
report="$repo_root/docs/performance.md"
results="$(mktemp -d /tmp/ntap-bench.XXXXXX)"
trap 'rm -rf "$results"' EXIT

measure() {
  local label="$1"
  shift
  echo "measuring $label ($runs runs)" >&2
  python3 "$repo_root/bench/measure_startup.py" --runs "$runs" --ready "$ready" -- "$@" >"$results/$label.json"
}

if [[ -x "$ntap" ]]; then
  measure ntap "$ntap" "$repo_root/examples/dropwatch.ntp"
else
  echo "no ntap binary at $ntap: skipping it" >&2
fi
if [[ -x "$ntap" ]]; then
  # One extra run with -v: where ntap's startup time goes, pass by pass.
  "$ntap" -v -T 0.5 "$repo_root/examples/dropwatch.ntp" >/dev/null 2>"$results/phases.txt" || true
fi
if command -v bpftrace >/dev/null; then
  measure bpftrace bpftrace "$repo_root/bench/dropwatch.bt"
else
  echo "bpftrace is not installed: skipping it" >&2
fi

python3 - "$results" "$report" "$runs" "$ready" \
  "$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(bpftrace --version 2>/dev/null || echo 'not installed')" <<'PY'
import json, os, sys
results, report, runs, ready, commit, kernel, cpus, loadavg, bpftrace_version = sys.argv[1:]
targets = {"ntap": "≤ 30 ms, ≤ 40 MiB", "bpftrace": "reference"}
rows = []
for label, target in targets.items():
    path = os.path.join(results, label + ".json")
    if not os.path.exists(path):
        rows.append(f"| {label} | not measured | | {target} | |")
        continue
    data = json.load(open(path))
    samples = ", ".join(f"{ms:g}" for ms in data["attach_ms"])
    rows.append(f"| {label} | {data['median_attach_ms']:g} | {data['median_rss_mib']:g} | {target} | {samples} |")
table = "\n".join(rows)
phases_path = os.path.join(results, "phases.txt")
phases = open(phases_path).read().strip() if os.path.exists(phases_path) else "(ntap not measured)"
measured = f"""## Startup: launch to probes attached, and peak memory

What is measured, per run: the time from starting the process to the begin
probe's line ("{ready}") on stdout — the
begin probe runs only once every kernel probe is attached — and the peak
resident set size (VmHWM from /proc/PID/status, read after a short idle
period once attached). Medians over {runs} runs.

- ntap: `ntap examples/dropwatch.ntp`
- bpftrace: `bpftrace bench/dropwatch.bt` (the same probes and begin line)

| tracer | attached (ms, median) | peak RSS (MiB, median) | target | attached, every run (ms) |
|---|---|---|---|---|
{table}

Where ntap's time goes, from one more run with `ntap -v` (pass by pass):

```
{phases}
```

Machine: Linux {kernel}, {cpus} CPUs, load average {loadavg} at the end (other work
on the machine slows both tracers); ntap at commit {commit}; {bpftrace_version}.

Reproduce (as root): `bench/startup.sh [NTAP_BINARY] [RUNS]`.
"""
# Only the measured part between the markers is rewritten; the analysis
# written around it by hand stays.
begin, end = "<!-- bench/startup.sh: begin -->\n", "<!-- bench/startup.sh: end -->\n"
old = open(report).read() if os.path.exists(report) else ""
if begin in old and end in old:
    text = old[:old.index(begin) + len(begin)] + measured + old[old.index(end):]
else:
    text = ("# Performance\n\nStartup is a feature (docs/architecture.md, decision 7).\n\n"
            + begin + measured + end)
open(report, "w").write(text)
print(table)
PY
echo "wrote $report" >&2
