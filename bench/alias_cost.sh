#!/usr/bin/env bash
# What a probe alias's unread variables cost: the mean wall time of one
# failing bind() in a loop of a million, alone, under `probe syscall.bind
# { n++ }` (the alias sets the family, address, port and argstr from the
# caller's sockaddr; the probe reads none of them, so they are elided),
# under the same with -u (nothing elided: every variable is computed), and
# under bpftrace counting the raw event. Prints a Markdown table (median of
# ROUNDS runs).
#
#   bench/alias_cost.sh [ROUNDS] [NTAP_BINARY]
#
# Needs root, cc and bpftrace.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/.." && pwd)"
rounds="${1:-5}"
ntap="${2:-$root/build/ntap}"
work="$(mktemp -d /tmp/ntap-bench.XXXXXX)"
tool_pid=""
cleanup() {
  [[ -n "$tool_pid" ]] && kill -KILL "$tool_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/loop" "$bench_dir/programs/bind_loop.c"
calls=1000000

# under MARKER COMMAND...: starts the tool, waits for MARKER on its output
# (probes attached), runs the loop once, stops the tool; prints ns per call.
under() {
  local marker="$1"
  shift
  : >"$work/out"
  : >"$work/err"
  "$@" >>"$work/out" 2>>"$work/err" &
  tool_pid=$!
  local deadline=$((SECONDS + 120))
  until grep -q "$marker" "$work/err" "$work/out"; do
    ((SECONDS < deadline)) || { echo "timeout attaching: $*" >&2; cat "$work/err" >&2; exit 1; }
    kill -0 "$tool_pid" 2>/dev/null || { echo "tool exited: $*" >&2; cat "$work/err" >&2; exit 1; }
    sleep 0.2
  done
  sleep 1
  "$work/loop" "$calls"
  kill -INT "$tool_pid" 2>/dev/null || true
  wait "$tool_pid" 2>/dev/null || true
  tool_pid=""
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

script='global n
probe syscall.bind { n++ }'
echo "| tool | ns per bind() |"
echo "|---|---|"
runs=()
for ((i = 0; i < rounds; ++i)); do runs+=("$("$work/loop" "$calls")"); done
echo "| none | $(median "${runs[@]}") |"
runs=()
for ((i = 0; i < rounds; ++i)); do runs+=("$(under "Pass 5: attached" "$ntap" -v -e "$script")"); done
echo "| ntap, unread variables elided | $(median "${runs[@]}") |"
runs=()
for ((i = 0; i < rounds; ++i)); do runs+=("$(under "Pass 5: attached" "$ntap" -v -u -e "$script")"); done
echo "| ntap -u (every variable computed) | $(median "${runs[@]}") |"
runs=()
for ((i = 0; i < rounds; ++i)); do
  runs+=("$(under "Attaching" bpftrace -e 'tracepoint:raw_syscalls:sys_enter /args->id == 49/ { @n = count() }')")
done
echo "| bpftrace (count) | $(median "${runs[@]}") |"
