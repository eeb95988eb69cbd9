#!/usr/bin/env bash
# examples/tcpflow.ntp on exact traffic in a private namespace: one
# connection moves 100000 bytes one way and 5000 back, then idles. While it
# idles, the periodic snapshots (a kernel timer: nothing else fires) of both
# ends must equal `ss -tin` in that namespace field by field, then the close
# lines report the final counters, with every retransmission split into
# Loss-state or other retransmits. A second run makes a lossy loopback (an
# nft rule drops 5% of the data segments) and checks the same, with the
# retransmissions split into Loss-state and other retransmits adding up to
# tcp_info's total.
source "$(dirname "$0")/lib.sh"

port=7753
netns_create

run_flow() {  # run_flow NAME SEND WRITE: traffic, compare with ss, close
  local name="$1" send="$2" write="$3"
  local out="$WORK_DIR/tcpflow.$name.out" traffic="$WORK_DIR/traffic.$name.out"
  ntap_start "$out" "$REPO_ROOT/examples/tcpflow.ntp" "$port"
  wait_for_line "$out" '^Tracing TCP flows with port'
  ip netns exec "$NETNS" python3 "$E2E_DIR/tcp_hold.py" --port "$port" --send "$send" --write "$write" \
    --reply 5000 --hold 7 >"$traffic" &
  local traffic_pid=$!
  local deadline=$((SECONDS + 60))
  until grep -q '^ready ' "$traffic"; do
    ((SECONDS < deadline)) || fail "the traffic did not finish within 60 s"
    kill -0 "$traffic_pid" 2>/dev/null || fail "the traffic script failed"
    sleep 0.05
  done
  local client_port
  client_port="$(awk '/^ready/ {print $2}' "$traffic")"
  sleep 0.5  # a delayed ACK settles; then the connection is idle
  ip netns exec "$NETNS" ss -tin >"$WORK_DIR/ss.$name.out"
  local from
  from="$(wc -l <"$out")"
  # Two periodic snapshots of each end after ss ran (the timer fires every 2 s).
  local client="127.0.0.1:$client_port" server="127.0.0.1:$port"
  deadline=$((SECONDS + 10))
  until (($(tail -n +"$((from + 1))" "$out" | grep -c " periodic ") >= 2)); do
    ((SECONDS < deadline)) || { show_file tcpflow "$out"; fail "no periodic snapshots while the flow idled"; }
    sleep 0.1
  done
  python3 "$E2E_DIR/compare_ss.py" "$WORK_DIR/ss.$name.out" "$out" "$client" "$server" "$from" ||
    { show_file ss "$WORK_DIR/ss.$name.out"; show_file tcpflow "$out"; fail "$name: client end differs from ss"; }
  python3 "$E2E_DIR/compare_ss.py" "$WORK_DIR/ss.$name.out" "$out" "$server" "$client" "$from" ||
    { show_file ss "$WORK_DIR/ss.$name.out"; show_file tcpflow "$out"; fail "$name: server end differs from ss"; }
  wait "$traffic_pid"
  wait_for_line "$out" " close +$client $server "
  wait_for_line "$out" " close +$server $client "
  ntap_stop INT
  expect_eq "tcpflow ($name) exit status" 0 "$NTAP_STATUS"
  expect_eq "$name: established lines" 2 "$(grep -cE "^0 +established +($client $server|$server $client) " "$out")"
  # The server received exactly the client's bytes (and the FIN: +1).
  local received
  received="$(grep -E " close +$server $client " "$out" | grep -oE 'bytes_received=[0-9]+' | cut -d= -f2)"
  expect_eq "$name: bytes the server received, at close" "$((send + 1))" "$received"
  # Every retransmission the kernel counted is split into Loss-state or other
  # (a loaded machine retransmits on loopback too: tail loss probes).
  local line
  for line in "$(grep -E " close +$client $server " "$out")" "$(grep -E " close +$server $client " "$out")"; do
    python3 - "$line" <<'PY' || fail "$name: the retransmit split does not add up: $line"
import sys
fields = dict(word.split("=", 1) for word in sys.argv[1].split() if "=" in word)
sys.exit(int(fields["loss_retrans"]) + int(fields["other_retrans"]) != int(fields["retrans"]))
PY
  done
}

run_flow plain 100000 10000

ip netns exec "$NETNS" nft -f - <<NFT
table inet lossy {
  chain input {
    type filter hook input priority 0;
    tcp dport $port meta length > 500 numgen random mod 20 == 0 drop
  }
}
NFT
run_flow lossy 1000000 1000
rtx="$(grep -cE '^[0-9]+ +retrans(_loss)? ' "$WORK_DIR/tcpflow.lossy.out" || true)"
note "lossy: $rtx retransmission lines"
((rtx > 0)) || fail "the lossy rule made no retransmissions"
