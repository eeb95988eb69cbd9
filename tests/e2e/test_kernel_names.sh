#!/usr/bin/env bash
# Names and addresses the network examples print: enum_name() from the
# kernel's BTF in user and kernel probes (with its compile errors), IPv6
# addresses as kernel probes print them (compressed, as inet_ntop and the
# kernel's %pI6c write them), and timers that read kernel memory running in the kernel (also while
# nothing else happens).
source "$(dirname "$0")/lib.sh"

note "case enum_name in a user probe"
out="$("$NTAP" -e 'probe begin { println(enum_name("sk_rst_reason", 1)); println(enum_name("enum tcp_ca_state", 4))
                                 println(tcp_ca_state_str(99)); println(skb_drop_reason_str(3)); exit() }')"
expect_eq "enum_name, user side" "SK_RST_REASON_NO_SOCKET
TCP_CA_Loss
99
SKB_DROP_REASON_NO_SOCKET" "$out"

note "case enum_name errors"
script="$WORK_DIR/bad_enum.ntp"
printf 'probe begin {\n  println(enum_name("no_such_enum_x", 1))\n}\n' >"$script"
status=0
"$NTAP" -p2 "$script" >/dev/null 2>"$WORK_DIR/bad_enum.err" || status=$?
expect_eq "unknown enum: status" 1 "$status"
grep -q "the kernel's BTF has no enum 'no_such_enum_x'" "$WORK_DIR/bad_enum.err" || { show_file stderr "$WORK_DIR/bad_enum.err"; fail "unknown enum: message"; }
expect_diagnostic "$WORK_DIR/bad_enum.err" "$script" 2 21
printf 'probe begin {\n  e = "sk_rst_reason"; println(enum_name(e, 1))\n}\n' >"$script"
status=0
"$NTAP" -p2 "$script" >/dev/null 2>"$WORK_DIR/bad_enum.err" || status=$?
expect_eq "enum name not a literal: status" 1 "$status"
grep -q "enum_name needs the enum's name as a string literal" "$WORK_DIR/bad_enum.err" || { show_file stderr "$WORK_DIR/bad_enum.err"; fail "not a literal: message"; }

note "case enum_name and IPv6 addresses in a kernel probe"
netns_create
ip -n "$NETNS" addr add 2001:db8::1/64 dev lo nodad
out_file="$WORK_DIR/rst.out"
# Resets for packets without a socket have no flow: count this namespace's
# by the packet's device.
ntap_start "$out_file" -e 'probe begin { printf("ready\n") }
probe tcp.send_reset { if (!sk && @cast(skb, "sk_buff")->dev->nd_net->net->ns->inum == $1) printf("%s\n", sk_rst_reason_str(reason)) }
probe tcp.state_change { if (dport == 7756 && newstate == 2) printf("flow %s %s\n", saddr, daddr) }' "$(netns_inode)"
wait_for_line "$out_file" '^ready$'
ip netns exec "$NETNS" python3 -c '
import socket
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"), (socket.AF_INET6, "2001:db8::1"),
                     (socket.AF_INET6, "::ffff:127.0.0.1")):
    s = socket.socket(family)
    try:
        s.connect((host, 7756))
    except ConnectionRefusedError:
        pass
    s.close()'
sleep 0.5
ntap_stop INT
expect_eq "resets and v6 flows" "SK_RST_REASON_NO_SOCKET
SK_RST_REASON_NO_SOCKET
SK_RST_REASON_NO_SOCKET
SK_RST_REASON_NO_SOCKET
flow 127.0.0.1 127.0.0.1
flow ::1 ::1
flow 2001:db8::1 2001:db8::1
flow ::ffff:127.0.0.1 ::ffff:127.0.0.1" "$( (grep '^SK_' "$out_file"; grep "^flow" "$out_file") )"

note "case format_ipaddr writes every IPv6 form as inet_ntop does"
# One datagram to a closed port carries the addresses, 16 bytes each; the
# probe formats each of them inside a loop (a bpf_loop callback) and again
# in a map walk (in hash order), and a MAXSTRINGLEN of 16 cuts the text. Python's ipaddress
# gives the expected text (RFC 5952, as inet_ntop).
addresses=(::1 :: 2001:db8::1 2001:db8:0:1::1 2001:db8:0:0:1:0:0:1 1:: 1:0:0:0:0:0:0:2 1:2:3:4:5:6:7:8
  abcd:ef01:2345:6789:abcd:ef01:2345:6789 ::ffff:127.0.0.1 ::1.2.3.4 fe80::a:b0:c00:d 0:1:0:1:0:1:0:1 1:0:1:0:0:1:0:0)
v6_script='global texts
probe begin { println("ready") }
probe kernel.trace("kfree_skb") {
  if (@cast($skb->head + $skb->transport_header, "udphdr")->dest == htons(7757)) {
    data = $skb->head + $skb->transport_header + 8
    for (i = 0; i < ($skb->len - 8) / 16; i++) {
      println("loop ", format_ipaddr(data + 16 * i, 10))
      texts[i] = data + 16 * i
    }
    foreach (i in texts) printf("walk %d %s\n", i, format_ipaddr(texts[i], 10))
  }
}'
for limit in 128 16; do
  out_file="$WORK_DIR/v6.$limit.out"
  ntap_start "$out_file" -D MAXSTRINGLEN=$limit -e "$v6_script"
  wait_for_line "$out_file" '^ready$'
  ip netns exec "$NETNS" python3 -c '
import ipaddress, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"".join(ipaddress.IPv6Address(a).packed for a in sys.argv[1:]), ("127.0.0.1", 7757))' "${addresses[@]}"
  wait_for_line "$out_file" "^walk "
  sleep 0.3
  ntap_stop INT
  expected="$(python3 -c '
import ipaddress, sys
limit = int(sys.argv[1]) - 1
texts = []
for a in sys.argv[2:]:
    address = ipaddress.IPv6Address(a)
    texts.append(f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped else address.compressed)
for kind in ("loop", "walk"):
    for text in texts:
        print(kind, text[:limit])' "$limit" "${addresses[@]}")"
  # The walk's order is the map's: sorted by index here.
  expect_eq "format_ipaddr, MAXSTRINGLEN=$limit" "$expected" \
    "$(grep '^loop ' "$out_file"; grep '^walk ' "$out_file" | sort -n -k2 | cut -d' ' -f1,3)"
done

note "case a timer reading kernel memory runs in the kernel"
out_file="$WORK_DIR/ktimer.out"
"$NTAP" -p2 -e 'global sks
probe tcp.state_change { sks[sk] = 1 }
probe timer.ms(200) { foreach (s in sks) printf("%d\n", @cast(s, "sock")->__sk_common->skc_state) }
probe timer.s(1) { printf("user\n") }' >"$out_file"
grep -q '^timer.ms(200) /\* kernel side \*/$' "$out_file" || { show_file p2 "$out_file"; fail "timer.ms(200) is not on the kernel side"; }
grep -q '^timer.s(1) /\* user side \*/$' "$out_file" || { show_file p2 "$out_file"; fail "timer.s(1) is not on the user side"; }
# Ticks while the machine idles: 5 ticks of 200 ms in ~1 s, counted in the kernel.
ntap_start "$out_file" -e 'global ticks
probe timer.ms(200) { if (jiffies() > 0) ticks++ }
probe timer.ms(1100) { printf("%d\n", ticks); exit() }'
ntap_wait
expect_eq "kernel timer: exit status" 0 "$NTAP_STATUS"
ticks="$(cat "$out_file")"
((ticks >= 4 && ticks <= 6)) || { show_file stderr "$out_file.err"; fail "kernel timer.ms(200) ticked $ticks times in 1.1 s"; }

note "case a randomized timer cannot move to the kernel"
printf 'probe timer.ms(100).randomize(10) {\n  println(@cast(0, "sock")->__sk_common->skc_state)\n}\n' >"$script"
status=0
"$NTAP" -p2 "$script" >/dev/null 2>"$WORK_DIR/rand.err" || status=$?
expect_eq "randomized kernel timer: status" 1 "$status"
grep -q "drop the .randomize" "$WORK_DIR/rand.err" || { show_file stderr "$WORK_DIR/rand.err"; fail "randomized kernel timer: message"; }
