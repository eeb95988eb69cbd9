#!/usr/bin/env bash
# examples/dropmon.ntp as shipped: datagrams to a closed UDP port in a
# private namespace are dropped at __udp4_lib_rcv (NO_SOCKET); the alerts
# name the location, the reason, the protocol, the device and the flow, and
# add up to exactly the datagrams sent (summed over intervals: the flow's
# destination port is the test's own).
source "$(dirname "$0")/lib.sh"

port=7761
count=40
out="$WORK_DIR/dropmon.out"
netns_create
ntap_start "$out" "$REPO_ROOT/examples/dropmon.ntp"
wait_for_line "$out" '^dropmon: alerts every 1 s$'
ip netns exec "$NETNS" python3 "$E2E_DIR/send_udp.py" --count "$count" --port "$port"
sleep 2.5
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
pattern="^ALERT [0-9]+ dropped at __udp4_lib_rcv\+0x[0-9a-f]+/0x[0-9a-f]+ \[kernel\] \(NO_SOCKET\) IPv4/UDP dev lo 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$port$"
total="$(grep -E "$pattern" "$out" | awk '{s += $2} END {print s + 0}')"
[[ "$total" == "$count" ]] || show_file dropmon "$out"
expect_eq "drops in the alerts for the test's flow" "$count" "$total"
