#!/usr/bin/env bash
# tapset/ipmib.ntp and linuxmib.ntp, counted as SystemTap's tcpipstat.stp
# counts: the script's own ipmib_filter_key / linuxmib_filter_key replace
# the tapset's defaults and key each event, the aliases add to the shared
# InReceives[key]... arrays, and the script prints those. Exact, bounded
# traffic from a peer namespace over a veth pair to this test's server
# namespace:
# - N UDP datagrams to a server that echoes each: InReceives and OutRequests
#   of that flow are exactly N;
# - datagrams to an unreachable route (forwarding off), to a destination
#   without a route (forwarding on) and of an unknown IP protocol:
#   InAddrErrors, InNoRoutes and InUnknownProtos;
# - a listener (backlog 1) whose first handshake loses its final ACK while
#   two more connections fill its accept queue; the SYN-ACK sent again a
#   second later is ACKed, and that ACK overflows: ListenOverflows and
#   ListenDrops;
# - bytes sent on a TCP connection, read by the server: tcp.recvmsg.return's
#   sizes for @entry($sk), as tcpipstat.stp sums them.
# Every counter, summed over the server namespace, must equal the change of
# that namespace's own counter (/proc/net/snmp, /proc/net/netstat: what
# nstat reads).
source "$(dirname "$0")/lib.sh"

udp_port=7761
tcp_port=7762
listen_port=7763
N=40

netns_create
inum="$(netns_inode)"
PEER="ntap_e2e_peer_$$_${RANDOM}"
trap 'ip netns delete "$PEER" 2>/dev/null || true; cleanup' EXIT
ip netns add "$PEER"
ip -n "$PEER" link set lo up
ip link add ntap_s$$ netns "$NETNS" type veth peer name ntap_c$$ netns "$PEER"
ip -n "$NETNS" addr add 10.77.0.2/24 dev ntap_s$$
ip -n "$NETNS" link set ntap_s$$ up
ip -n "$PEER" addr add 10.77.0.1/24 dev ntap_c$$
ip -n "$PEER" link set ntap_c$$ up
ip -n "$PEER" route add 10.77.8.0/24 via 10.77.0.2  # the server has an unreachable route for it
ip -n "$PEER" route add 10.77.9.0/24 via 10.77.0.2  # the server has no route for it
ip -n "$NETNS" route add unreachable 10.77.8.0/24
ip netns exec "$NETNS" sysctl -qw net.ipv4.ip_forward=0
# Drops the first handshake's final ACK (the first pure ACK) to the listener.
ip netns exec "$NETNS" nft -f - <<NFT
table inet overflow {
  chain input {
    type filter hook input priority 0;
    tcp dport $listen_port tcp flags & (syn | ack | fin | rst | psh) == ack numgen inc mod 1000000 == 0 drop
  }
}
NFT
# A datagram to a closed port and its ICMP answer: both ends know each other's
# link address before counting starts.
ip netns exec "$PEER" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("10.77.0.2", 9)); s.send(b"?"); s.settimeout(2)
try: s.recv(1)
except OSError: pass
'

counter() {  # FILE PREFIX NAME: the server namespace's counter NAME on FILE's PREFIX lines
  ip netns exec "$NETNS" awk -v prefix="$2:" -v name="$3" \
    '$1 == prefix { if (!seen[prefix]++) { for (i = 1; i <= NF; i++) col[$i] = i } else print $col[name] }' "$1"
}
ip_counters=(InReceives OutRequests InAddrErrors InUnknownProtos)  # /proc/net/snmp Ip:
ext_counters=(InNoRoutes ListenOverflows ListenDrops)              # /proc/net/netstat IpExt:, TcpExt:
snapshot() {  # ARRAY_NAME
  local -n into="$1"
  for c in "${ip_counters[@]}"; do into[$c]="$(counter /proc/net/snmp Ip "$c")"; done
  into[InNoRoutes]="$(counter /proc/net/netstat IpExt InNoRoutes)"
  for c in ListenOverflows ListenDrops; do into[$c]="$(counter /proc/net/netstat TcpExt "$c")"; done
}

script="$WORK_DIR/tcpipstat.ntp"
cat >"$script" <<'EOF'
global received
function here:long (net:long) { return net && @cast(net, "net")->ns->inum == $1 }
// As tcpipstat.stp: a key per flow, 0 for what is not counted. Key 2 is the
// echoed UDP flow, key 3 the listener; key 1 everything else in the namespace.
function ipmib_filter_key:long (skb:long, op:long, SourceIsLocal:long) {
  if (!skb || !here(@cast(skb, "sk_buff")->dev->nd_net->net)) return 0
  if (ipmib_get_proto(skb) == 17 && ipmib_tcp_local_port(skb, SourceIsLocal) == $2
      && ipmib_local_addr(skb, SourceIsLocal) == 0x0a4d0002 && ipmib_remote_addr(skb, SourceIsLocal) == 0x0a4d0001)
    return 2
  return 1
}
function linuxmib_filter_key:long (sk:long, op:long) {
  if (!sk || !here(@cast(sk, "sock")->__sk_common->skc_net->net)) return 0
  return tcpmib_local_port(sk) == $3 ? 3 : 1
}
probe ipmib.*, linuxmib.* { }
probe tcp.recvmsg.return {
  sk = @entry($sk)
  if (size > 0 && here(@cast(sk, "sock")->__sk_common->skc_net->net) && tcpmib_local_port(sk) == $4)
    received += size
}
probe begin { printf("counting\n") }
probe end {
  printf("InReceives %d\nOutRequests %d\n", InReceives[1] + InReceives[2], OutRequests[1] + OutRequests[2])
  printf("InAddrErrors %d\nInNoRoutes %d\n", InAddrErrors[1], InNoRoutes[1])
  printf("InUnknownProtos %d\n", InUnknownProtos[1])
  printf("ListenOverflows %d\nListenDrops %d\n", ListenOverflows[1] + ListenOverflows[3], ListenDrops[1] + ListenDrops[3])
  printf("flow %d %d\nlistener %d %d\nreceived %d\n", InReceives[2], OutRequests[2], ListenOverflows[3],
         ListenDrops[3], received)
}
EOF

declare -A before after
out="$WORK_DIR/tcpipstat.out"
ntap_start "$out" "$script" "$inum" "$udp_port" "$listen_port" "$tcp_port"
wait_for_line "$out" '^counting$'
snapshot before

ip netns exec "$NETNS" python3 - "$udp_port" "$N" <<'PY' &
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.2", port))
s.settimeout(5)
for _ in range(n):
    data, peer = s.recvfrom(100)
    s.sendto(data, peer)
PY
echo_pid=$!
sleep 0.3
ip netns exec "$PEER" python3 - "$udp_port" "$N" "$tcp_port" <<'PY'
import socket, sys
port, n, tcp_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(n):  # one at a time: each echoed before the next goes
    s.sendto(b"x" * 32, ("10.77.0.2", port))
    s.recvfrom(100)
for i in range(7):
    s.sendto(b"y", ("10.77.8.1", 9))  # InAddrErrors (forwarding is off)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
for i in range(4):
    raw.sendto(b"z" * 8, ("10.77.0.2", 0))  # InUnknownProtos
PY
wait "$echo_pid" || fail "the UDP echo server did not see its $N datagrams"
ip netns exec "$NETNS" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$PEER" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"w", ("10.77.9.1", 9))  # InNoRoutes (forwarding is on, no route)
'
sleep 0.2
ip netns exec "$NETNS" sysctl -qw net.ipv4.ip_forward=0

ip netns exec "$NETNS" python3 - "$listen_port" "$tcp_port" <<'PY' &
import socket, sys, time
listen_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
full = socket.socket()
full.bind(("10.77.0.2", listen_port))
full.listen(1)
data = socket.socket()
data.bind(("10.77.0.2", tcp_port))
data.listen(1)
peer, _ = data.accept()
got = 0
while got < 3000:
    chunk = peer.recv(1000)
    if not chunk:
        break
    got += len(chunk)
time.sleep(2.5)
PY
server_pid=$!
sleep 0.3
ip netns exec "$PEER" python3 - "$listen_port" "$tcp_port" <<'PY'
import socket, sys, time
listen_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
c = socket.create_connection(("10.77.0.2", tcp_port))
for _ in range(3):
    c.sendall(b"d" * 1000)
first = socket.create_connection(("10.77.0.2", listen_port))  # its final ACK is dropped
time.sleep(0.1)
others = [socket.create_connection(("10.77.0.2", listen_port)) for _ in range(2)]  # fill the queue
time.sleep(1.6)  # the SYN-ACK is sent again after 1 s; its ACK finds the queue full
c.close()
PY
wait "$server_pid" || true
sleep 0.3
snapshot after
ntap_stop INT
expect_eq "tcpipstat script exit status" 0 "$NTAP_STATUS"

seen() { awk -v c="$1" '$1 == c { print $2 }' "$out"; }
for c in "${ip_counters[@]}" "${ext_counters[@]}"; do
  expected=$((after[$c] - before[$c]))
  [[ "$expected" == "$(seen "$c")" ]] || { sed 's/^/  ntap: /' "$out" >&2; show_file stderr "$out.err"; }
  expect_eq "$c (the namespace's $c changed by $expected)" "$expected" "$(seen "$c")"
done
expect_eq "the echoed flow's InReceives and OutRequests" "$N $N" "$(awk '$1 == "flow" { print $2, $3 }' "$out")"
expect_eq "InAddrErrors" 7 "$(seen InAddrErrors)"
expect_eq "InNoRoutes" 5 "$(seen InNoRoutes)"
expect_eq "InUnknownProtos" 4 "$(seen InUnknownProtos)"
read -r overflows drops < <(awk '$1 == "listener" { print $2, $3 }' "$out")
((overflows > 0 && overflows == drops)) ||
  fail "the listener's overflows and drops: expected equal and > 0, got $overflows and $drops"
expect_eq "bytes tcp.recvmsg.return saw" 3000 "$(seen received)"
