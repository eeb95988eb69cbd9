#!/usr/bin/env bash
# Operators and -p1: `>>>`, regex matching with matched(n) in user probes (exact
# output), a clear error for =~ in a kernel probe, and -p1 printing a script
# that parses back to the same output.
source "$(dirname "$0")/lib.sh"

# run_user NAME EXPECTED SCRIPT: a user-probe-only one-liner prints EXPECTED.
run_user() {
  local name="$1" expected="$2" script="$3" out status=0
  note "case $name"
  out="$(timeout 30 "$NTAP" -e "$script" 2>"$WORK_DIR/$name.err")" || status=$?
  [[ $status -eq 0 ]] || { show_file stderr "$WORK_DIR/$name.err"; fail "$name: exit status $status"; }
  expect_eq "$name output" "$expected" "$out"
}

run_user logical_shift "4611686018427387903 -1 1 8" 'probe begin {
  x = -1
  printf("%d %d %d %d\n", x >>> 2, x >> 2, x >>> 63, 64 >>> 3); exit() }'

run_user regex_match "1 0 0 1 [v4] [rcv] [tcp_v4_rcv]
no digits" 'probe begin {
  s = "tcp_v4_rcv"
  printf("%d %d %d %d ", s =~ "^tcp_(v[46])_(rcv|send)$", s =~ "udp", s !~ "tcp", s !~ "^udp")
  if (s =~ "^tcp_(v[46])_(rcv|send)$") printf("[%s] [%s] [%s]\n", matched(1), matched(2), matched(0))
  if ("abc" !~ "[0-9]") println("no digits")
  exit() }'

run_user try_catch "caught: division by 0 near operator '/'
after
error: boom
empty aggregate near operator '@avg' 3
in function: oops
done" 'global s
function fails() { error("oops"); return 1 }
probe begin {
  try { x = 1 / 0; println("not reached") } catch (msg) { println("caught: " . msg) }
  println("after")
  try { error("boom") } catch (m) { println("error: " . m) }
  try { a = @avg(s) } catch (m) { a = 3; printf("%s %d\n", m, a) }
  try { try { fails() } catch (inner) { error("rethrown") } println("not reached") } catch { }
  try { fails(); println("not reached") } catch (m) { println("in function: " . m) }
  try { } catch { println("not reached") }
  println("done"); exit() }
probe never { s <<< 1 }'

run_user uncaught_after_try "ok" 'probe begin { try { } catch { } println("ok"); exit() }'

note "case error outside try still ends the run"
status=0
timeout 30 "$NTAP" -e 'probe begin { try { x = 1 } catch { } y = 1 / 0; println("no") }' >"$WORK_DIR/uncaught.out" 2>"$WORK_DIR/uncaught.err" || status=$?
expect_eq "uncaught exit status" 1 "$status"
grep -q "division by 0" "$WORK_DIR/uncaught.err" || { show_file stderr "$WORK_DIR/uncaught.err"; fail "no division error reported"; }
! grep -q "^no$" "$WORK_DIR/uncaught.out" || fail "ran past the error"

note "case try in a kernel probe compiles (tests/conformance/kernel/try_catch*.stp run it)"
status=0
timeout 30 "$NTAP" -p3 -e 'probe kernel.trace("kfree_skb") { try { x = 1 / $reason } catch (m) { println(m) } }' >/dev/null 2>"$WORK_DIR/kernel_try.err" || status=$?
expect_eq "kernel try exit status" 0 "$status"

run_user delete_and_foreach "xy
[] 0
1 b 10
2 a 20
3 c 5
by t: a
by t: b
by t: c
top: 20
top: 10
0 1
0" 'global a, s, n
probe begin {
  n = 5; s = "x"; s .= "y"; println(s)
  delete s; delete n; printf("[%s] %d\n", s, n)
  a[1, "b"] = 10; a[2, "a"] = 20; a[3, "c"] = 5
  foreach (v = [k, t] in a) printf("%d %s %d\n", k, t, v)
  foreach ([k, t+] in a) printf("by t: %s\n", t)
  foreach ([k, t] in a- limit 2) printf("top: %d\n", a[k, t])
  delete a[2, "a"]; printf("%d %d\n", [2, "a"] in a, [1, "b"] in a)
  delete a; printf("%d\n", [1, "b"] in a); exit() }'

note "case regex in a kernel probe: a DFA, or an error naming what no DFA can do"
status=0
timeout 30 "$NTAP" -p3 -e 'probe kernel.trace("kfree_skb") { if (execname() =~ "^ping") next }' \
  >/dev/null 2>"$WORK_DIR/kernel_regex.err" || status=$?
expect_eq "kernel regex exit status" 0 "$status"
status=0
timeout 30 "$NTAP" -p3 -e 'probe kernel.trace("kfree_skb") { if (execname() =~ "\\<ping") next }' \
  >/dev/null 2>"$WORK_DIR/kernel_regex.err" || status=$?
expect_eq "kernel regex with a GNU escape: exit status" 1 "$status"
grep -q "cannot be matched in a kernel probe" "$WORK_DIR/kernel_regex.err" || { show_file stderr "$WORK_DIR/kernel_regex.err"; fail "the error does not say why"; }

note "case invalid regex"
cat >"$WORK_DIR/bad_regex.stp" <<'STP'
probe begin {
  if ("x" =~ "a(b") exit()
}
STP
status=0
timeout 30 "$NTAP" -p1 "$WORK_DIR/bad_regex.stp" >/dev/null 2>"$WORK_DIR/bad_regex.err" || status=$?
expect_eq "invalid regex exit status" 1 "$status"
grep -q "invalid regular expression" "$WORK_DIR/bad_regex.err" || fail "no 'invalid regular expression' message"
expect_diagnostic "$WORK_DIR/bad_regex.err" "$WORK_DIR/bad_regex.stp" 2 14

note "case -p1 round trip"
for script in "$REPO_ROOT/examples/dropwatch.ntp" "$E2E_DIR"/scripts/*.stp; do
  timeout 30 "$NTAP" -p1 "$script" 1 2 >"$WORK_DIR/once.stp" 2>"$WORK_DIR/p1.err" || { show_file stderr "$WORK_DIR/p1.err"; fail "-p1 $script"; }
  [[ -s "$WORK_DIR/once.stp" ]] || fail "-p1 printed nothing for $script"
  timeout 30 "$NTAP" -p1 "$WORK_DIR/once.stp" >"$WORK_DIR/twice.stp" 2>"$WORK_DIR/p1.err" || { show_file stderr "$WORK_DIR/p1.err"; fail "-p1 of the printed $script"; }
  cmp -s "$WORK_DIR/once.stp" "$WORK_DIR/twice.stp" || fail "-p1 of $script is not a fixed point"
done

note "case -p1 output"
expected='global n

probe begin
{
    n = (1 + 2) * 3 >>> 1;
    if (execname() =~ "x")
        exit();
}'
out="$(timeout 30 "$NTAP" -p1 -e 'global n probe begin { n = (1+2)*3>>>1; if (execname() =~ "x") exit() }')"
expect_eq "-p1 output" "$expected" "$out"

echo "all expr cases passed"
