#!/usr/bin/env bash
# nettop.ntp and socktop.ntp as shipped, on exact traffic: one process in a
# private namespace sends COUNT 4-byte datagrams on a connected UDP socket
# over lo to a socket it reads them all from. Summed over the reports, that
# process transmitted COUNT packets on lo (nettop) and made COUNT sends and
# COUNT receives of 4 bytes each on INET/UDP sockets (socktop).
source "$(dirname "$0")/lib.sh"

count=30
netns_create
nettop_out="$WORK_DIR/nettop.out"
socktop_out="$WORK_DIR/socktop.out"
ntap_start "$nettop_out" "$REPO_ROOT/examples/nettop.ntp" 1
nettop_pid=$NTAP_PID
ntap_start "$socktop_out" "$REPO_ROOT/examples/socktop.ntp" 1
wait_for_line "$nettop_out" 'XMIT_PK' 30
wait_for_line "$socktop_out" '#SEND' 30

sender_pid="$(ip netns exec "$NETNS" python3 -c '
import os, socket, sys
count = int(sys.argv[1])
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(r.getsockname())
for _ in range(count):
    s.send(b"ntap")
    r.recv(64)
print(os.getpid())
' "$count")"
note "sender pid $sender_pid"
sleep 2
ntap_stop INT
expect_eq "socktop exit status" 0 "$NTAP_STATUS"
NTAP_PID=$nettop_pid
ntap_stop INT
expect_eq "nettop exit status" 0 "$NTAP_STATUS"

xmit="$(awk -v pid="$sender_pid" '$1 == pid && $3 == "lo" { s += $4 } END { print s + 0 }' "$nettop_out")"
[[ "$xmit" == "$count" ]] || show_file nettop "$nettop_out"
expect_eq "nettop: packets the sender transmitted on lo" "$count" "$xmit"

sums="$(awk -v pid="$sender_pid" '$1 == pid && $3 == "INET" && $4 == "UDP" { ns += $5; bs += $6; nr += $7; br += $8 }
        END { print ns + 0, bs + 0, nr + 0, br + 0 }' "$socktop_out")"
[[ "$sums" == "$count $((4 * count)) $count $((4 * count))" ]] || show_file socktop "$socktop_out"
expect_eq "socktop: sends, bytes, receives, bytes" "$count $((4 * count)) $count $((4 * count))" "$sums"
