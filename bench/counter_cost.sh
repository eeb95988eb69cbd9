#!/usr/bin/env bash
# What a perf counter costs each context switch: the mean wall time of one
# switch between two processes ping-ponging a byte on one CPU, alone and
# under a script reading a perf.sw.page_faults counter in the benchmark's own
# process (so its threads are tracked: every switch updates their totals;
# frontend/perf_counters.h). Prints a Markdown table (median of ROUNDS runs).
#
#   bench/counter_cost.sh [ROUNDS] [NTAP_BINARY...]
#
# Needs root and cc.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$bench_dir/loop_lib.sh"
loop_arguments "$@"
loop_setup switch_loop.c 200000

script="probe begin { println(\"started\") }
probe perf.sw.page_faults.process(\"$work/loop\").counter(\"faults\") { }
probe process(\"$work/loop\").function(\"main\").return { printf(\"%d\\n\", @perf(\"faults\")) }"
events_only='probe begin { println("started") }
probe perf.sw.page_faults.sample(1000000000) { }'
echo "| tool | ns per context switch |"
echo "|---|---|"
runs=()
for ((i = 0; i < rounds; ++i)); do runs+=("$("$work/loop" "$calls")"); done
echo "| none | $(median "${runs[@]}") |"
for ntap in "${binaries[@]}"; do
  runs=()
  for ((i = 0; i < rounds; ++i)); do runs+=("$(under "started" "$ntap" -e "$script")"); done
  echo "| ntap, a counter ($ntap) | $(median "${runs[@]}") |"
  # The same perf events open, without the accounting: what the kernel's
  # perf context switching costs by itself.
  runs=()
  for ((i = 0; i < rounds; ++i)); do runs+=("$(under "started" "$ntap" -e "$events_only")"); done
  echo "| ntap, the perf events only ($ntap) | $(median "${runs[@]}") |"
done
