#!/usr/bin/env bash
# tcpretrans.ntp on a lossy loopback: an nft rule in a private namespace
# drops 5% of the data segments to the test's port at random, the sender
# retransmits them, and the count mode's total for the flow equals the
# retransmitted segments the namespace's own TCP counters (RetransSegs in
# /proc/net/snmp) saw during the transfer. The line mode prints one line per
# retransmission of the same flow.
source "$(dirname "$0")/lib.sh"

port=7751
netns_create
ip netns exec "$NETNS" nft -f - <<NFT
table inet lossy {
  chain input {
    type filter hook input priority 0;
    tcp dport $port meta length > 500 numgen random mod 20 == 0 drop
  }
}
NFT

retrans_segs() {  # RetransSegs of the namespace's TCP counters
  ip netns exec "$NETNS" awk '/^Tcp:/ { if (!n) { for (i = 1; i <= NF; i++) col[$i] = i; n = 1 } else print $col["RetransSegs"] }' /proc/net/snmp
}

for mode in count lines; do
  out="$WORK_DIR/tcpretrans.$mode.out"
  if [[ $mode == count ]]; then
    ntap_start "$out" "$REPO_ROOT/examples/tcpretrans.ntp" count
    wait_for_line "$out" '^Tracing retransmits'
  else
    ntap_start "$out" "$REPO_ROOT/examples/tcpretrans.ntp"
    wait_for_line "$out" '^TIME'
  fi
  before="$(retrans_segs)"
  ip netns exec "$NETNS" python3 "$E2E_DIR/tcp_bulk.py" --port "$port" --count 2000 --size 1000
  after="$(retrans_segs)"
  sleep 0.5
  ntap_stop INT
  expect_eq "tcpretrans ($mode) exit status" 0 "$NTAP_STATUS"
  expected=$((after - before))
  note "$mode: the namespace retransmitted $expected segments"
  ((expected > 0)) || fail "the lossy rule made no retransmissions"
  # RetransSegs counts both ends' retransmits (under load the server may
  # resend its SYN-ACK or FIN too): the flow's segments either way.
  if [[ $mode == count ]]; then
    seen="$(grep -E "^127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:[0-9]+ +[0-9]+$" "$out" |
      awk -v port="$port" '$1 ~ ":" port "$" || $2 ~ ":" port "$" {s += $3} END {print s + 0}')"
  else
    seen="$(grep -cE "127\.0\.0\.1:$port +R> |R> +127\.0\.0\.1:$port " "$out" || true)"
  fi
  [[ "$seen" == "$expected" ]] || show_file "tcpretrans $mode" "$out"
  expect_eq "retransmits of the flow ($mode)" "$expected" "$seen"
done
