#!/usr/bin/env bash
# Kernel stacks in a kernel.trace probe, on the test's own drops: each of
# two UDP datagrams to a closed port prints its stack in stap's format
# (" 0x<16 hex> : function+0xoff/0xsize [kernel]"), starting at the function
# that hit the tracepoint (probefunc()) and passing through __udp4_lib_rcv,
# which dropped it; backtrace() gives the same addresses in hex and
# sprint_stack(backtrace()) the same lines. -D MAXBACKTRACE=2 keeps two frames.
# callers(n), stack(n), print_syms() and sprint_syms() are views of that stack.
source "$(dirname "$0")/lib.sh"

out="$WORK_DIR/stacks.out"
netns_create
run_drops() {
  ntap_start "$out" "$@" "$E2E_DIR/scripts/stacks.stp" "$(netns_inode)"
  wait_for_line "$out" '^stacks: ready$'
  send_udp 2
  wait_for_line "$out" '^end$'
  sleep 0.3
  ntap_stop INT
  expect_eq "exit status after SIGINT" 0 "$NTAP_STATUS"
  [[ ! -s "$out.err" ]] || { show_file stderr "$out.err"; fail "no warning (no stack lost)"; }
}

check_blocks() {
  local frames_wanted="$1"
  python3 - "$out" "$frames_wanted" <<'PY'
import re, sys
text = open(sys.argv[1]).read().split("\n")
wanted = sys.argv[2]
line_re = re.compile(r"^ (0x[0-9a-f]{16}) : ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+ \[kernel\]$")
blocks, i = 0, 1
assert text[0] == "stacks: ready", text[0]
while i < len(text) and text[i]:
    head = re.match(r"^drop at __udp4_lib_rcv func=([A-Za-z0-9_.]+) mod=kernel ppfunc=skb:kfree_skb addr=0$", text[i])
    assert head, "header: %r" % text[i]
    i += 1
    stack = []
    while line_re.match(text[i]):
        stack.append(line_re.match(text[i]).groups())
        i += 1
    assert stack, "no stack lines at %r" % text[i]
    assert stack[0][1] == head.group(1), "probefunc %s is the first frame %s" % (head.group(1), stack[0][1])
    if wanted == "all":
        assert any(f == "__udp4_lib_rcv" for _, f in stack), "__udp4_lib_rcv in %r" % (stack,)
        assert not any(f.startswith(("bpf_", "__bpf_trace", "__traceiter")) for _, f in stack), stack
    else:
        assert len(stack) == int(wanted), "%d frames: %r" % (len(stack), stack)
    assert text[i] == "hex " + " ".join(a for a, _ in stack), "hex %r vs %r" % (text[i], stack)
    assert text[i + 1] == "again", text[i + 1]
    i += 2
    again = []
    while line_re.match(text[i]):
        again.append(line_re.match(text[i]).groups())
        i += 1
    assert again == stack, "sprint_stack %r vs %r" % (again, stack)
    assert text[i] == "end", text[i]
    i += 1
    blocks += 1
print(blocks)
PY
}

note "case print_backtrace, backtrace, sprint_stack, probefunc, probemod, ppfunc, addr"
run_drops
blocks="$(check_blocks all)" || { show_file stdout "$out"; fail "stack output"; }
expect_eq "one stack per drop" 2 "$blocks"

note "case -D MAXBACKTRACE=2"
run_drops -D MAXBACKTRACE=2
blocks="$(check_blocks 2)" || { show_file stdout "$out"; fail "stack output with MAXBACKTRACE=2"; }
expect_eq "one stack per drop" 2 "$blocks"

note "case errors"
status=0
"$NTAP" -p2 -e 'probe kernel.trace("kfree_skb") { a = stack(1); println(a) }' >/dev/null 2>"$out.err" || status=$?
expect_eq "exit status" 1 "$status"
grep -q "in kernel probes, stack() can only be used as a printf/print argument" "$out.err" ||
  { show_file stderr "$out.err"; fail "stack() outside print"; }
status=0
"$NTAP" -p2 -e 'probe kernel.trace("kfree_skb") { s = backtrace(); println(s) }' >/dev/null 2>"$out.err" || status=$?
expect_eq "exit status" 1 "$status"
grep -q "in kernel probes, backtrace() can only be used as a printf/print argument" "$out.err" ||
  { show_file stderr "$out.err"; fail "backtrace() outside print"; }

note "case callers(n), stack(n), print_syms and sprint_syms"
# Each is a view of the stack backtrace() takes: callers(1) its first two
# addresses, callers(-1) all of them, stack(n) the address at depth n (0
# beyond the stack), print_syms(backtrace()) print_backtrace()'s lines, and
# sprint_syms(callers(1)) the first two of them.
ntap_start "$out" -e 'probe begin { printf("stacks: ready\n") }
probe kernel.trace("kfree_skb") {
  if ($skb->dev->nd_net->net->ns->inum == $1 && $reason == 3) {
    printf("bt %s\n", backtrace())
    printf("callers1 %s\n", callers(1))
    printf("callers-1 %s\n", callers(-1))
    printf("stack %x %x %d %s %s\n", stack(0), stack(1), stack(1000), symname(stack(1)), probefunc())
    print_backtrace()
    printf("--\n")
    print_syms(backtrace())
    printf("--\n%s", sprint_syms(callers(1)))
    printf("end\n")
  }
}' "$(netns_inode)"
wait_for_line "$out" '^stacks: ready$'
send_udp 1
wait_for_line "$out" '^end$'
sleep 0.3
ntap_stop INT
expect_eq "exit status after SIGINT" 0 "$NTAP_STATUS"
python3 - "$out" <<'PY' || { show_file stdout "$out"; fail "callers/stack/print_syms output"; }
import re, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0] == "stacks: ready", lines[0]
bt = lines[1].split(" ")
assert bt[0] == "bt" and len(bt) > 3, lines[1]
bt = bt[1:]
trace_lines = lines[5:5 + len(bt)]
names = [re.match(r"^ 0x[0-9a-f]{16} : ([A-Za-z0-9_.]+)\+", l).group(1) for l in trace_lines]
expected = ["bt " + " ".join(bt),
            "callers1 " + " ".join(bt[:2]),
            "callers-1 " + " ".join(bt),
            "stack %s %s 0 %s %s" % (bt[0][2:], bt[1][2:], names[1], names[0])]
expected += trace_lines + ["--"] + trace_lines + ["--"] + trace_lines[:2] + ["end", ""]
assert lines[1:] == expected, "\n".join(["got:"] + lines[1:] + ["expected:"] + expected)
PY

note "case a stack the map refuses is counted and reported"
# With MAXSTACKS=1 the map holds the IPv4 drop's stack; the IPv6 drop's
# (through __udp6_lib_rcv) collides with it and is refused: it prints
# nothing, and the run reports one lost stack.
ntap_start "$out" -D MAXSTACKS=1 -e 'probe begin { printf("stacks: ready\n") }
probe kernel.trace("kfree_skb") {
  if ($skb->dev->nd_net->net->ns->inum == $1 && $reason == 3) {
    printf("drop at %s\n", symname($location))
    print_backtrace()
    printf("end\n")
  }
}' "$(netns_inode)"
wait_for_line "$out" '^stacks: ready$'
send_udp 1
wait_for_line "$out" '^end$'
send_udp6 1
wait_for_line "$out" '^drop at __udp6_lib_rcv$'
sleep 0.3
ntap_stop INT
expect_eq "exit status after SIGINT" 0 "$NTAP_STATUS"
expect_eq "the IPv6 drop's stack is empty" "drop at __udp6_lib_rcv
end" "$(sed -n '/^drop at __udp6_lib_rcv$/,$p' "$out")"
grep -q '^ 0x[0-9a-f]\{16\} : __udp4_lib_rcv+' "$out" || { show_file stdout "$out"; fail "the IPv4 stack"; }
grep -q "^WARNING: 1 kernel stacks lost: the stack map (MAXSTACKS=1) refused them" "$out.err" ||
  { show_file stderr "$out.err"; fail "the lost stack is reported"; }
