#!/usr/bin/env bash
# Per-event cost of each example: the kernel's own accounting of the time
# spent in the BPF programs of one tool (kernel.bpf_stats_enabled: run_cnt
# and run_time_ns per program) while a fixed workload runs in a private
# namespace, for ntap's example and for the bpftrace script in bench/ that
# does the same work (where there is one). Prints a Markdown table: program
# runs and nanoseconds per run for each.
#
#   bench/event_cost.sh [NTAP_BINARY] [ROUNDS]
#
# Needs root, bpftool, bpftrace and python3. bpf_stats is switched on for
# the run and restored after; the numbers include every run of the tool's
# programs in the window (the machine's own packets too), which is what an
# event costs.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/.." && pwd)"
ntap="$(realpath "${1:-$root/build/ntap}")"
rounds="${2:-3}"
e2e="$root/tests/e2e"
work="$(mktemp -d /tmp/ntap-bench.XXXXXX)"
netns="ntap_bench_$$"
stats_before="$(sysctl -n kernel.bpf_stats_enabled)"
tool_pid=""

cleanup() {
  [[ -n "$tool_pid" ]] && kill -KILL "$tool_pid" 2>/dev/null || true
  ip netns delete "$netns" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$stats_before"
  rm -rf "$work"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1
ip netns add "$netns"
ip -n "$netns" link set lo up
ip netns exec "$netns" nft -f - <<'NFT'
table inet lossy {
  chain input {
    type filter hook input priority 0;
    tcp dport 7790 meta length > 500 numgen random mod 20 == 0 drop
  }
}
NFT

# The workloads, all bounded and inside the namespace.
udp_work() { ip netns exec "$netns" python3 "$e2e/send_udp.py" --count 20000 --port 9; }
tcp_work() {
  ip netns exec "$netns" python3 "$e2e/tcp_traffic.py" --port 7789 --refused 20 --sessions 200 --send 4096 --reply 4096
}
lossy_work() { ip netns exec "$netns" python3 "$e2e/tcp_bulk.py" --port 7790 --count 3000 --size 1000; }

# held_progs PID: ids of the BPF programs PID holds through a program or
# link fd (/proc/PID/fdinfo; this bpftool cannot show holders itself).
held_progs() {
  cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u | tr '\n' ' '
}

# prog_stats PID: "RUNS NS" summed over the programs PID holds.
prog_stats() {
  bpftool prog show -j | python3 -c '
import json, sys
held = set(int(x) for x in sys.argv[1].split())
runs = ns = 0
for prog in json.load(sys.stdin):
    if prog["id"] in held:
        runs += prog.get("run_cnt", 0)
        ns += prog.get("run_time_ns", 0)
print(runs, ns)' "$(held_progs "$1")"
}

# measure WORKLOAD COMMAND...: starts the tool, waits until its programs are
# attached, runs the workload, prints "RUNS NS" of the tool's programs.
measure() {
  local work_fn="$1"
  shift
  "$@" >"$work/out" 2>"$work/err" &
  tool_pid=$!
  local deadline=$((SECONDS + 120)) count=0
  # Attached: the tool holds programs and their count stops growing.
  while :; do
    ((SECONDS < deadline)) || { echo "timeout attaching: $*" >&2; cat "$work/err" >&2; exit 1; }
    kill -0 "$tool_pid" 2>/dev/null || { echo "tool exited: $*" >&2; cat "$work/err" >&2; exit 1; }
    local now
    now="$(held_progs "$tool_pid" | wc -w)"
    if ((now > 0 && now == count)); then break; fi
    count="$now"
    sleep 1
  done
  sleep 1
  local before after
  before="$(prog_stats "$tool_pid")"
  "$work_fn" >/dev/null
  after="$(prog_stats "$tool_pid")"
  kill -INT "$tool_pid" 2>/dev/null || true
  wait "$tool_pid" 2>/dev/null || true
  tool_pid=""
  python3 -c 'import sys; b = sys.argv[1].split(); a = sys.argv[2].split(); print(int(a[0]) - int(b[0]), int(a[1]) - int(b[1]))' \
    "$before" "$after"
}

# row NAME WORKLOAD NTAP_ARGS BPFTRACE_SCRIPT: the median of ROUNDS runs of each.
row() {
  local name="$1" work_fn="$2" args="$3" bt="$4"
  local ntap_runs=() bt_runs=()
  for ((i = 0; i < rounds; ++i)); do
    # shellcheck disable=SC2086
    ntap_runs+=("$(measure "$work_fn" "$ntap" "$root/examples/$name.ntp" $args)")
    [[ -n "$bt" ]] && bt_runs+=("$(measure "$work_fn" bpftrace "$bench_dir/$bt")")
  done
  python3 - "$name" "$rounds" "${ntap_runs[@]}" "${bt_runs[@]}" <<'PY'
import statistics, sys
name, rounds = sys.argv[1], int(sys.argv[2])
pairs = [tuple(map(int, s.split())) for s in sys.argv[3:]]
def cell(runs):
    if not runs:
        return "—", "—"
    per = statistics.median(ns / n for n, ns in runs if n)
    return str(statistics.median(n for n, _ in runs)), f"{per:.0f}"
ntap = cell(pairs[:rounds]); bt = cell(pairs[rounds:])
print(f"| {name} | {ntap[0]} | {ntap[1]} | {bt[0]} | {bt[1]} |")
PY
}

echo "| example | ntap runs | ntap ns/run | bpftrace runs | bpftrace ns/run |"
echo "|---|---|---|---|---|"
row dropwatch udp_work "" dropwatch.bt
row dropmon udp_work "" ""
row nettop udp_work "" nettop.bt
row socktop udp_work "" socktop.bt
row tcpstates tcp_work "" tcpstates.bt
row tcplife tcp_work "" tcplife.bt
row tcpreset tcp_work "" ""
row tcpflow tcp_work "" tcpflow.bt
row tcpretrans lossy_work "" tcpretrans.bt
