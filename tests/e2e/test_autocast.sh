#!/usr/bin/env bash
# Autocast (stap's `x->member` on a value whose kernel type is not written):
# locals, parenthesized values and function results that carry the type of a
# target variable or @cast, counted on the test's own dropped datagrams
# (4-byte payloads to a closed port: skb->len 12 where they are dropped).
source "$(dirname "$0")/lib.sh"

netns_create
out="$WORK_DIR/autocast.out"
ntap_start "$out" -e '
global n, devs, lens, same
function dev_of(skb) { return @cast(skb, "sk_buff")->dev }
probe begin { printf("ready\n") }
probe kernel.trace("kfree_skb") {
  skb = $skb
  if (skb->len != 12 || (skb->dev)->nd_net->net->ns->inum != $1) next
  n++
  dev = skb->dev
  devs[kernel_string(dev->name)]++
  lens[(skb)->len]++
  same[dev_of(skb)->ifindex == dev->ifindex && &dev->name == &skb->dev->name]++
}
probe end {
  printf("drops %d\n", n)
  foreach (d in devs) printf("dev %s %d\n", d, devs[d])
  foreach (l in lens) printf("len %d %d\n", l, lens[l])
  foreach (s in same) printf("same %d %d\n", s, same[s])
}' "$(netns_inode)"
wait_for_line "$out" '^ready$'
send_udp 7
sleep 0.5
ntap_stop INT
[[ "$NTAP_STATUS" == 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$NTAP_STATUS"
expect_eq "autocast reads" "drops 7
dev lo 7
len 12 7
same 1 7" "$(grep -v '^ready$' "$out")"

note "case a value with no kernel type"
status=0
"$NTAP" -p2 -e 'probe kernel.trace("kfree_skb") { x = 5; println(x->len) }' >/dev/null 2>"$WORK_DIR/untyped.err" || status=$?
expect_eq "untyped: status" 1 "$status"
grep -q "semantic error: (...)->len: the value has no known kernel type" "$WORK_DIR/untyped.err" ||
  { show_file stderr "$WORK_DIR/untyped.err"; fail "untyped autocast: message"; }
grep -q '<input>:1:50' "$WORK_DIR/untyped.err" || { show_file stderr "$WORK_DIR/untyped.err"; fail "untyped autocast: location"; }

note "case a local given two types carries none"
status=0
"$NTAP" -p2 -e 'probe kernel.trace("kfree_skb") { x = $skb; if ($reason) x = $skb->dev; println(x->len) }' \
  >/dev/null 2>"$WORK_DIR/two.err" || status=$?
expect_eq "two types: status" 1 "$status"
grep -q "the value has no known kernel type" "$WORK_DIR/two.err" || { show_file stderr "$WORK_DIR/two.err"; fail "two types: message"; }
