#!/usr/bin/env bash
# Script functions, probe aliases and probe-point forms on both sides: user
# probes print exact output; kernel probes count this test's own datagrams.
source "$(dirname "$0")/lib.sh"

# run_user NAME EXPECTED SCRIPT: a user-probe-only one-liner prints EXPECTED.
run_user() {
  local name="$1" expected="$2" script="$3" out status=0
  note "case $name"
  out="$(timeout 30 "$NTAP" -e "$script" 2>"$WORK_DIR/$name.err")" || status=$?
  [[ $status -eq 0 ]] || { show_file stderr "$WORK_DIR/$name.err"; fail "$name: exit status $status"; }
  expect_eq "$name output" "$expected" "$out"
}

run_user recursion "55 hello world 42 42" 'function fib(n) { if (n < 2) return n; return fib(n-1) + fib(n-2) }
function greet:string (who:string) { return "hello " . who }
function f(a) { return a * 2 } function f(a, b) { return a + b }
probe begin { printf("%d %s %d %d\n", fib(10), greet("world"), f(21), f(40, 2)); exit() }'

run_user next_in_function "in
last" 'function stop() { println("in"); next; println("never") }
probe begin { stop(); println("not reached") }
probe begin(1) { next; println("no") }
probe begin(2) { println("last"); exit() }'

run_user tapset_functions "5 3 4 33" 'probe begin { printf("%d %d %d %d\n", abs(-5), min(3, 4), max(3, 4), percent(1, 3)); exit() }'

run_user alias_and_braces "pro
body
tick
tick
epi" 'global ticks
probe go = begin { println("pro") }
probe go { println("body") }
probe timer.{ms,us}(100000) { println("tick"); if (++ticks == 2) exit() }
probe done += end { println("epi") }
probe done { }'

# -I DIR adds a tapset directory; -u keeps (and checks) unused functions.
note "case -I and -u"
mkdir -p "$WORK_DIR/lib"
cat >"$WORK_DIR/lib/extra.ntp" <<'STP'
function shout:string (s:string) { return s . "!" }
function broken() { return no_such_function() }
probe hello = begin { greeting = "hi" }
STP
expect_eq "-I output" "hi!" "$(timeout 30 "$NTAP" -I "$WORK_DIR/lib" -e 'probe hello { println(shout(greeting)); exit() }')"
status=0
# -u also checks the unused functions of the tapset files the script loads
# (this one, for its alias); a file the script needs nothing from is not read.
expect_eq "-I without -u" "" "$(timeout 30 "$NTAP" -I "$WORK_DIR/lib" -e 'probe hello { exit() }')"
expect_eq "-u, file not needed" "" "$(timeout 30 "$NTAP" -u -I "$WORK_DIR/lib" -e 'probe begin { exit() }')"
timeout 30 "$NTAP" -u -I "$WORK_DIR/lib" -e 'probe hello { exit() }' >/dev/null 2>"$WORK_DIR/u.err" || status=$?
expect_eq "-u exit status" 1 "$status"
expect_diagnostic "$WORK_DIR/u.err" "$WORK_DIR/lib/extra.ntp" 2 28

# Recursion cannot run in BPF: rejected before anything is loaded, naming the cycle.
note "case kernel recursion"
cat >"$WORK_DIR/recursive.stp" <<'STP'
function even(n) { return n == 0 ? 1 : odd(n - 1) }
function odd(n) { return n == 0 ? 0 : even(n - 1) }
probe kernel.trace("kfree_skb") { x = even($reason) }
STP
status=0
timeout 30 "$NTAP" "$WORK_DIR/recursive.stp" >/dev/null 2>"$WORK_DIR/recursive.err" || status=$?
expect_eq "recursion exit status" 1 "$status"
expect_diagnostic "$WORK_DIR/recursive.err" "$WORK_DIR/recursive.stp" 2 39
grep -q 'even -> odd -> even' "$WORK_DIR/recursive.err" || { show_file stderr "$WORK_DIR/recursive.err"; fail "the cycle is not named"; }

# Kernel-side functions on real traffic: exactly our drops, each weighing 1.
note "case kernel functions and the skb.drop alias"
netns_create
out="$WORK_DIR/kernel.out"
ntap_start "$out" "$E2E_DIR/scripts/functions_kernel.stp"
wait_for_line "$out" '^ready$'
send_udp6 300
sleep 0.5
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
grep -q '^300 300 at __udp6_lib_rcv$' "$out" || { show_file stdout "$out"; show_file stderr "$out.err"; fail "expected 300 drops of weight 1 at __udp4_lib_rcv"; }

# A false condition keeps a kernel probe's body from running at all.
note "case kernel probe condition"
out="$WORK_DIR/off.out"
ntap_start "$out" -e 'global enabled = 0, n
probe begin { println("ready") }
probe skb.drop if (enabled) { n++ }
probe end { printf("n=%d\n", n) }'
wait_for_line "$out" '^ready$'
send_udp 100
sleep 0.3
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
grep -q '^n=0$' "$out" || { show_file stdout "$out"; show_file stderr "$out.err"; fail "the disabled probe ran"; }
