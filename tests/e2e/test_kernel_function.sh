#!/usr/bin/env bash
# kernel.function / kprobe.function on the running kernel: listing from BTF,
# the object -p4 writes, and, where the kernel allows neither fentry nor
# kprobes (as this project's machines), the error naming both and why.
source "$(dirname "$0")/lib.sh"

note "case -l and -L list kernel functions with their parameter types"
listed="$("$NTAP" -l 'kernel.function("tcp_v4_rc*")')"
grep -qx 'kernel.function("tcp_v4_rcv")' <<<"$listed" || fail "-l tcp_v4_rc*: $listed"
expect_eq "-L ip_rcv" 'kernel.function("ip_rcv").return $skb:struct sk_buff* $dev:struct net_device* $pt:struct packet_type* $orig_dev:struct net_device* $return:int' \
  "$("$NTAP" -L 'kernel.function("ip_rcv").return')"

note "case -p4 writes fentry/fexit programs without a kernel that runs them"
script="$WORK_DIR/kfunc.ntp"
cat >"$script" <<'EOF'
global bytes, fails
probe kernel.function("tcp_v4_rcv") { bytes <<< $skb->len }
probe kernel.function("ip_rcv").return { if ($return) fails++ }
EOF
"$NTAP" -p4 -o "$WORK_DIR/kfunc.o" "$script" >/dev/null
sections="$(llvm-objdump-19 -h "$WORK_DIR/kfunc.o" | awk '{ print $2 }')"
for s in fentry/tcp_v4_rcv fexit/ip_rcv; do
  grep -qx "$s" <<<"$sections" || fail "-p4 object lacks section $s: $sections"
done

if grep -qx '# CONFIG_KPROBES is not set' <(gzip -dc /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)"); then
  note "case running says which mechanisms were tried and why each failed"
  status=0
  "$NTAP" "$script" >"$WORK_DIR/out" 2>"$WORK_DIR/err" || status=$?
  expect_eq "run without fentry or kprobes: status" 1 "$status"
  grep -q 'kernel.function("tcp_v4_rcv"): fentry: the kernel refused the program (' "$WORK_DIR/err" ||
    { show_file stderr "$WORK_DIR/err"; fail "no fentry reason"; }
  grep -q '; kprobe: CONFIG_KPROBES is not set' "$WORK_DIR/err" ||
    { show_file stderr "$WORK_DIR/err"; fail "no kprobe reason"; }
  expect_diagnostic "$WORK_DIR/err" "$script" 2 7

  status=0
  "$NTAP" -e 'global n; probe kprobe.function("ip_rcv") { n++ }' 2>"$WORK_DIR/err" || status=$?
  expect_eq "kprobe.function: status" 1 "$status"
  grep -q 'kprobe.function("ip_rcv"): kprobe: CONFIG_KPROBES is not set' "$WORK_DIR/err" ||
    { show_file stderr "$WORK_DIR/err"; fail "kprobe.function reason"; }

  note "case an unknown family lists the families and what this kernel lacks"
  status=0
  "$NTAP" -e 'probe kprobe.statement(0x1234) { }' 2>"$WORK_DIR/err" || status=$?
  expect_eq "kprobe.statement: status" 1 "$status"
  grep -q "unknown probe point family 'kprobe.statement': kprobe.statement is a SystemTap probe family ntap does not implement; ntap has begin, end, error, timer" "$WORK_DIR/err" ||
    { show_file stderr "$WORK_DIR/err"; fail "unknown family message"; }
  grep -q "kprobe.function and kretprobe.function are known but cannot attach on this kernel: fentry: " "$WORK_DIR/err" ||
    { show_file stderr "$WORK_DIR/err"; fail "unknown family: kernel support"; }
fi
