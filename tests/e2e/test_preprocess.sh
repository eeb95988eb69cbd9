#!/usr/bin/env bash
# The preprocessor through the real binary: %( %? %: %) conditionals, @define
# macros, $1/@1/$# command-line arguments (from a script file and with -e),
# and errors located at FILE:LINE:COL.
source "$(dirname "$0")/lib.sh"

# run_ntap OUT ARGS...: runs ntap to completion; its status in RUN_STATUS.
run_ntap() {
  local out="$1"
  shift
  RUN_STATUS=0
  timeout 30 "$NTAP" "$@" >"$out" 2>"$out.err" || RUN_STATUS=$?
}

note "case script with conditionals, macros and arguments"
out="$WORK_DIR/script.out"
run_ntap "$out" "$E2E_DIR/scripts/preprocess.stp" 4 eth0
expect_eq "exit status" 0 "$RUN_STATUS"
expected='hello from bpf
square=25
arg=eth0 count=2
modern kernel
has hz
text %( stays: %( kept %)'
[[ "$(cat "$out")" == "$expected" ]] ||
  { show_file stdout "$out"; show_file stderr "$out.err"; fail "unexpected output from preprocess.stp"; }

note "case the other branch, chosen by the argument count"
run_ntap "$out" "$E2E_DIR/scripts/preprocess.stp"
expect_eq "exit status without arguments" 0 "$RUN_STATUS"
expect_eq "output without arguments" "usage: preprocess.stp N NAME" "$(cat "$out")"

note "case -e with arguments"
run_ntap "$out" -e 'probe begin { printf("%d|%s|%d|%s\n", $1 * 2, @2, $#, @#) exit() }' -- 21 'a "quoted" word'
expect_eq "-e exit status" 0 "$RUN_STATUS"
expect_eq "-e output" '42|a "quoted" word|2|2' "$(cat "$out")"

note "case an argument names a tracepoint and a timer period"
netns_create
ntap_start "$WORK_DIR/drops.txt" -e 'global at
probe begin { printf("ready\n") }
probe kernel.trace(@1) { at[$location] <<< 1 }
probe timer.ms($2) { }
probe end { foreach (l in at) printf("%d packets dropped at %s\n", @count(at[l]), symname(l)) }' kfree_skb 100
wait_for_line "$WORK_DIR/drops.txt" '^ready$'
send_udp6 300
ntap_stop INT
expect_eq "tracepoint from @1: exit status" 0 "$NTAP_STATUS"
expect_eq "drops at __udp6_lib_rcv" 300 "$(sum_drops_at "$WORK_DIR/drops.txt" __udp6_lib_rcv '')"

note "case argument index out of range"
run_ntap "$out" -e 'probe begin { x = $3 }' 1 2
expect_eq "out of range: exit status" 1 "$RUN_STATUS"
grep -q "parse error: command line argument index 3 out of range \[1-2\]" "$out.err" ||
  { show_file stderr "$out.err"; fail "no out-of-range message"; }
grep -q "<input>:1:19" "$out.err" || { show_file stderr "$out.err"; fail "out-of-range error not at <input>:1:19"; }

# reject NAME LINE COLUMN MESSAGE ARGS... < SCRIPT: exit 1, MESSAGE, and a
# diagnostic at LINE:COLUMN with the source line and a caret.
reject() {
  local name="$1" line="$2" column="$3" message="$4"
  shift 4
  local script="$WORK_DIR/$name.stp"
  cat >"$script"
  note "case $name"
  run_ntap "$WORK_DIR/$name.out" "$script" "$@"
  expect_eq "$name: exit status" 1 "$RUN_STATUS"
  grep -qF "$message" "$WORK_DIR/$name.out.err" || { show_file stderr "$WORK_DIR/$name.out.err"; fail "$name: no '$message'"; }
  expect_diagnostic "$WORK_DIR/$name.out.err" "$script" "$line" "$column"
}

reject missing_then 2 21 "parse error: missing '%?' in preprocessor conditional" <<'STP'
# the %? is missing
%( arch == "x86_64" probe begin { exit() } %)
STP

reject unterminated 3 1 "parse error: unterminated preprocessor conditional: missing '%)'" <<'STP'
probe begin { exit() }

%( kernel_v >= "5.0" %?
probe end { }
STP

# $N is its argument's tokens (as stap): here the name of a local never set.
reject argument_tokens 2 18 "semantic error: unresolved type: identifier 'eth0'" eth0 <<'STP'
probe begin {
  printf("%d\n", $1)
}
STP

reject error_in_macro 4 7 "expected expression (in expansion of macro '@BAD' defined at" <<'STP'
@define BAD %( 1 + * 2 %)

probe begin {
  x = @BAD
}
STP
