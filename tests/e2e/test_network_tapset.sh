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

note "case stap's socket readers: __ip_sock_*, __tcp_sock_*, tcp_get_info_*, HZ()"
# One IPv4 and one IPv6 connection to a listener in the namespace; each
# client socket is read as it becomes established.
port=7743
out="$WORK_DIR/readers.out"
ntap_start "$out" -e 'probe begin { println("readers: ready") }
probe kernel.trace("sock:inet_sock_set_state") {
  sk = $sk
  if ($newstate != 1 || __tcp_sock_dport(sk) != '"$port"') next
  family = __ip_sock_family(sk)
  # (IPv6 text is checked where the examples print it; here the last byte
  # of the address, read through the pointer __ip_sock_saddr gives.)
  src = family == 2 ? format_ipaddr(__ip_sock_saddr(sk), family) : sprint(kernel_char(__ip_sock_saddr(sk) + 15))
  dst = family == 2 ? format_ipaddr(__ip_sock_daddr(sk), family) : sprint(kernel_char(__ip_sock_daddr(sk) + 15))
  state = tcp_sockstate_str(tcp_ts_get_info_state(sk))
  printf("%d %s:%d -> %s:%d %s rto_ok %d cwnd_ok %d hz_ok %d\n", family, src, __tcp_sock_sport(sk) > 0,
         dst, __tcp_sock_dport(sk), state,
         tcp_get_info_rto(sk) > 0 && tcp_get_info_rto(sk) % (1000000 / HZ()) == 0,
         tcp_get_info_snd_cwnd(sk) > 0 && tcp_ts_get_info_snd_ssthresh(sk) > 0 && tcp_ts_get_info_rcv_mss(sk) > 0,
         HZ() >= 100)
}'
wait_for_line "$out" '^readers: ready$'
ip netns exec "$NETNS" python3 -c '
import socket, sys
port = int(sys.argv[1])
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    listener = socket.socket(family)
    listener.bind((host, port))
    listener.listen()
    client = socket.create_connection((host, port))
    server, _ = listener.accept()
    client.close(); server.close(); listener.close()
' "$port"
sleep 0.5
ntap_stop INT
[[ "$NTAP_STATUS" == 0 ]] || show_file stderr "$out.err"
# The tracepoint fires before the state changes: the client is still SYN_SENT.
expect_eq "socket readers" "2 127.0.0.1:1 -> 127.0.0.1:$port TCP_SYN_SENT rto_ok 1 cwnd_ok 1 hz_ok 1
10 1:1 -> 1:$port TCP_SYN_SENT rto_ok 1 cwnd_ok 1 hz_ok 1" "$(grep -v '^readers: ready$' "$out")"

note "case tcp.receive sees a refused connect's SYN and RST, IPv4 and IPv6"
out="$WORK_DIR/receive.out"
tport=7743
ntap_start "$out" -e 'global syn_seq
probe begin { println("receive: ready") }
probe tcp.receive {
  if (dport == $1 && syn) syn_seq[sport] = seq
  if (dport == $1 || sport == $1)
    printf("%s %d %s %s %s %d%d%d%d%d%d %d\n", name, family, saddr, daddr, dport == $1 ? "to" : "from",
           urg, ack, psh, rst, syn, fin, sport == $1 && ackseq == syn_seq[dport] + 1)
}' "$tport"
wait_for_line "$out" '^receive: ready$'
ip netns exec "$NETNS" python3 -c '
import socket, sys
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family)
    s.connect_ex((host, int(sys.argv[1])))
    s.close()' "$tport"
sleep 0.5
ntap_stop INT
expect_eq "tcp.receive lines" "tcp.ipv4.receive 2 127.0.0.1 127.0.0.1 to 000010 0
tcp.ipv4.receive 2 127.0.0.1 127.0.0.1 from 010100 1
tcp.ipv6.receive 10 ::1 ::1 to 000010 0
tcp.ipv6.receive 10 ::1 ::1 from 010100 1" "$(grep '^tcp\.' "$out")"
