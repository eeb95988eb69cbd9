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
source "$bench_dir/loop_lib.sh"
loop_setup bind_loop.c 1000000

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
