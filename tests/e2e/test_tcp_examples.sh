#!/usr/bin/env bash
# The TCP examples on exact traffic in a private namespace: refused connects
# (each answered by a RST) and whole sessions with known byte counts. Each
# example is limited to the test's own port.
source "$(dirname "$0")/lib.sh"

port=7733
refused=3
sessions=2
netns_create

run_example() {  # NAME OUT: starts examples/NAME.ntp for the test's port
  ntap_start "$2" "$REPO_ROOT/examples/$1.ntp" "$port"
  wait_for_line "$2" "$3"
}

traffic() {
  ip netns exec "$NETNS" python3 "$E2E_DIR/tcp_traffic.py" --port "$port" --refused "$refused" \
    --sessions "$sessions" --send 20480 --reply 40960
  sleep 0.5
}

# tcpstates: per session, the client's and the server's transitions; per
# refused connect, CLOSE -> SYN_SENT -> CLOSE.
out="$WORK_DIR/tcpstates.out"
run_example tcpstates "$out" '^SKADDR'
traffic
ntap_stop INT
expect_eq "tcpstates exit status" 0 "$NTAP_STATUS"
transitions() { grep -cE " $1 +-> $2 " "$out" || true; }
expect_eq "SYN_SENT -> CLOSE (refused)" "$refused" "$(transitions SYN_SENT CLOSE)"
expect_eq "CLOSE -> SYN_SENT" "$((refused + sessions))" "$(transitions CLOSE SYN_SENT)"
expect_eq "SYN_SENT -> ESTABLISHED" "$sessions" "$(transitions SYN_SENT ESTABLISHED)"
expect_eq "SYN_RECV -> ESTABLISHED" "$sessions" "$(transitions SYN_RECV ESTABLISHED)"
expect_eq "ESTABLISHED -> FIN_WAIT1" "$sessions" "$(transitions ESTABLISHED FIN_WAIT1)"
expect_eq "ESTABLISHED -> CLOSE_WAIT" "$sessions" "$(transitions ESTABLISHED CLOSE_WAIT)"
expect_eq "LAST_ACK -> CLOSE" "$sessions" "$(transitions LAST_ACK CLOSE)"
expect_eq "CLOSE -> LISTEN" 1 "$(transitions CLOSE LISTEN)"
# The time in the state left is printed as milliseconds with 3 decimals.
grep -qE ' SYN_SENT +-> ESTABLISHED +[0-9]+\.[0-9]{3}$' "$out" || fail "no time in state: $(head -3 "$out")"

# tcplife: one line per side of each session, with its bytes in KiB.
out="$WORK_DIR/tcplife.out"
run_example tcplife "$out" '^PID'
traffic
ntap_stop INT
expect_eq "tcplife exit status" 0 "$NTAP_STATUS"
# The client sent 20 KiB and received 40 KiB; the server the other way round.
client="$(grep -cE "^[0-9]+ +python3 +127\.0\.0\.1 +[0-9]+ +127\.0\.0\.1 +$port +20 +40 " "$out" || true)"
server="$(grep -cE "127\.0\.0\.1 +$port +127\.0\.0\.1 +[0-9]+ +40 +20 " "$out" || true)"
[[ "$client" == "$sessions" ]] || show_file tcplife "$out"
expect_eq "tcplife client lines" "$sessions" "$client"
expect_eq "tcplife server lines" "$sessions" "$server"

# tcpreset: every refused connect is answered by a RST the kernel sends
# without a socket; its flow comes from the packet.
out="$WORK_DIR/tcpreset.out"
ntap_start "$out" "$REPO_ROOT/examples/tcpreset.ntp"
wait_for_line "$out" '^DIR'
traffic
ntap_stop INT
expect_eq "tcpreset exit status" 0 "$NTAP_STATUS"
sent="$(grep -E "^sent [0-9]+ resets 127\.0\.0\.1:$port -> 127\.0\.0\.1:" "$out" | awk '{s += $2} END {print s + 0}')"
expect_eq "resets sent from port $port" "$refused" "$sent"
