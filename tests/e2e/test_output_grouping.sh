#!/usr/bin/env bash
# One probe hit, one piece of output: a kernel probe that prints a line in
# several printf calls, hit on both CPUs at once by two senders, must print
# exactly one whole line per drop (the runtime holds a hit's records until the
# hit ends; without that, records of two CPUs interleave mid-line).
source "$(dirname "$0")/lib.sh"

per_sender=40000
out="$WORK_DIR/hits.out"
netns_create
ntap_start "$out" "$E2E_DIR/scripts/hit_lines.stp" "$(netns_inode)"
wait_for_line "$out" '^hits: ready$'
# One sender per CPU, so the two CPUs print at the same time.
ip netns exec "$NETNS" taskset -c 0 python3 "$E2E_DIR/send_udp.py" --count "$per_sender" --port 9 &
first=$!
ip netns exec "$NETNS" taskset -c 1 python3 "$E2E_DIR/send_udp.py" --count "$per_sender" --port 10 &
second=$!
wait "$first" "$second"
sleep 0.5
ntap_stop INT
expect_eq "exit status after SIGINT" 0 "$NTAP_STATUS"

whole="$(grep -cE '^hit cpu=[0-9]+ len=12 part0 part1 end$' "$out" || true)"
lines="$(grep -vc '^hits: ready$' "$out" || true)"
if [[ "$whole" != "$lines" ]]; then
  note "lines that are not one whole hit:"
  grep -vE '^hit cpu=[0-9]+ len=12 part0 part1 end$|^hits: ready$' "$out" | head -5 >&2 || true
fi
expect_eq "whole lines" "$((2 * per_sender))" "$whole"
expect_eq "lines" "$((2 * per_sender))" "$lines"
