#!/usr/bin/env bash
# A flood of ~300 000 drops over ~3 s while a 200 ms timer reads and deletes
# the aggregate: nothing may be lost between a drain and its delete, nothing
# counted twice.
source "$(dirname "$0")/lib.sh"

count=300000
out="$WORK_DIR/flood.out"
netns_create
ntap_start "$out" "$E2E_DIR/scripts/flood.stp" "$(netns_inode)"
wait_for_line "$out" '^flood: ready$'
send_udp "$count" 100000
sleep 0.5
ntap_stop INT
expect_eq "exit status after SIGINT" 0 "$NTAP_STATUS"

reports="$(grep -c '__udp4_lib_rcv$' "$out" || true)"
note "__udp4_lib_rcv appeared in $reports reports"
((reports >= 5)) || fail "expected the drops to be spread over several reports, saw $reports"
total="$(sum_drops_at "$out" __udp4_lib_rcv '')"
if [[ "$total" != "$count" ]]; then
  show_file stderr "$out.err"
  grep '__udp4_lib_rcv$' "$out" >&2 || true
fi
expect_eq "drops at __udp4_lib_rcv summed over all reports" "$count" "$total"
