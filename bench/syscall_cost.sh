#!/usr/bin/env bash
# What probing every system call costs each call: the mean wall time of one
# getppid() in a loop of 2 million, alone, under ntap's `syscall.*` and
# `syscall.*.return` counting by name, and under bpftrace counting the raw
# events by number (bench/syscalls.bt). Prints a Markdown table (median of
# ROUNDS runs). Several ntap binaries give one row each (e.g. before and
# after a change).
#
#   bench/syscall_cost.sh [ROUNDS] [NTAP_BINARY...]
#
# Needs root, cc and bpftrace.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$bench_dir/loop_lib.sh"
loop_arguments "$@"
loop_setup syscall_loop.c 2000000

script='global n, r
probe syscall.* { n[name]++ }
probe syscall.*.return { r[name]++ }'
echo "| tool | ns per getppid() |"
echo "|---|---|"
runs=()
for ((i = 0; i < rounds; ++i)); do runs+=("$("$work/loop" "$calls")"); done
echo "| none | $(median "${runs[@]}") |"
for ntap in "${binaries[@]}"; do
  runs=()
  for ((i = 0; i < rounds; ++i)); do runs+=("$(under "Pass 5: attached" "$ntap" -v -e "$script")"); done
  echo "| ntap ($ntap) | $(median "${runs[@]}") |"
done
runs=()
for ((i = 0; i < rounds; ++i)); do runs+=("$(under "Attaching" bpftrace "$bench_dir/syscalls.bt")"); done
echo "| bpftrace | $(median "${runs[@]}") |"
