#!/usr/bin/env bash
# tapset/tcpmib.ntp: the tcpmib.* aliases, summed over the op they set for
# this test's namespace only, equal the changes of the namespace's own TCP
# counters (/proc/net/snmp) over exact traffic: refused connects, complete
# sessions, one aborted connection (a RST both ways), a lossy transfer and a
# handshake whose last ACK is lost once (the server sends its SYN-ACK again,
# which RetransSegs counts too).
source "$(dirname "$0")/lib.sh"

port=7754
netns_create
inum="$(netns_inode)"
ip netns exec "$NETNS" nft -f - <<NFT
table inet lossy {
  chain input {
    type filter hook input priority 0;
    tcp dport $((port + 1)) meta length > 500 numgen random mod 20 == 0 drop
    tcp dport $((port + 2)) tcp flags & (syn | ack | fin | rst | psh) == ack numgen inc mod 1000000 == 0 drop
  }
}
NFT

snmp() {  # NAME: the namespace's Tcp counter NAME
  ip netns exec "$NETNS" awk -v name="$1" \
    '/^Tcp:/ { if (!n) { for (i = 1; i <= NF; i++) col[$i] = i; n = 1 } else print $col[name] }' /proc/net/snmp
}
counters=(ActiveOpens PassiveOpens AttemptFails CurrEstab EstabResets OutRsts RetransSegs)

script="$WORK_DIR/tcpmib.ntp"
{
  echo 'global n'
  echo 'function here:long (sk:long) { return sk && @cast(sk, "sock")->__sk_common->skc_net->net->ns->inum == $1 }'
  for c in "${counters[@]}"; do
    if [[ $c == OutRsts ]]; then  # a reset for a packet without a socket: the packet's namespace
      echo "probe tcpmib.$c { if (here(sk) || (!sk && @cast(skb, \"sk_buff\")->dev->nd_net->net->ns->inum == \$1)) n[\"$c\"] += op }"
    else
      echo "probe tcpmib.$c { if (here(sk)) n[\"$c\"] += op }"
    fi
  done
  echo 'probe begin { printf("counting\n") }'
  echo 'probe end { foreach (c in n) printf("%s %d\n", c, n[c]) }'
} >"$script"

declare -A before
for c in "${counters[@]}"; do before[$c]="$(snmp "$c")"; done
out="$WORK_DIR/tcpmib.out"
ntap_start "$out" "$script" "$inum"
wait_for_line "$out" '^counting$'
ip netns exec "$NETNS" python3 "$E2E_DIR/tcp_traffic.py" --port "$port" --refused 5 --sessions 3 --send 2048 --reply 1024
ip netns exec "$NETNS" python3 - "$port" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(1)
client = socket.create_connection(("127.0.0.1", port))
peer, _ = server.accept()
client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
client.close()  # an abort: a RST to the peer
time.sleep(0.2)
peer.close()
server.close()
PY
ip netns exec "$NETNS" python3 "$E2E_DIR/tcp_bulk.py" --port "$((port + 1))" --count 2000 --size 1000
ip netns exec "$NETNS" python3 - "$((port + 2))" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
server = socket.socket()
server.bind(("127.0.0.1", port))
server.listen(1)
client = socket.create_connection(("127.0.0.1", port))  # its ACK is dropped
time.sleep(1.5)  # the SYN-ACK timer (1 s) fires; the client ACKs the copy
peer, _ = server.accept()
peer.close(); client.close(); server.close()
PY
sleep 0.5
declare -A after
for c in "${counters[@]}"; do after[$c]="$(snmp "$c")"; done
ntap_stop INT
expect_eq "tcpmib script exit status" 0 "$NTAP_STATUS"
for c in "${counters[@]}"; do
  expected=$((after[$c] - before[$c]))
  seen="$(awk -v c="$c" '$1 == c { print $2 }' "$out")"
  [[ "$expected" == "${seen:-0}" ]] || sed 's/^/  ntap: /' "$out" >&2
  expect_eq "tcpmib.$c (the namespace's $c changed by $expected)" "$expected" "${seen:-0}"
done
((after[RetransSegs] > before[RetransSegs])) || fail "the lossy rule made no retransmissions"
