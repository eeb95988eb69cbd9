#!/usr/bin/env bash
# The network tapset (tapset/*.ntp): every alias attaches with every variable
# it names, and udp.sendmsg counts exactly the test's own datagrams.
source "$(dirname "$0")/lib.sh"

port=7741
count=25
out="$WORK_DIR/tapset.out"
netns_create
ntap_start "$out" "$E2E_DIR/scripts/network_tapset.stp" "$port"
wait_for_line "$out" '^tapset: ready$'
# A connected socket (an unconnected one has no remote port of its own) to
# a bound one, so no ICMP error refuses the later sends.
ip netns exec "$NETNS" python3 -c '
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", int(sys.argv[1])))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
for _ in range(int(sys.argv[2])):
    s.send(b"ntap")
' "$port" "$count"
sleep 0.5
ntap_stop INT
[[ "$NTAP_STATUS" == 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$NTAP_STATUS"
expect_eq "udp.sendmsg to the port" "udp sends to the port: $count" "$(grep '^udp sends' "$out")"
