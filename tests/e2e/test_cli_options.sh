#!/usr/bin/env bash
# Command-line options: -e one-liners, -o FILE, -T SECONDS, -p, -w, -W, -G, `-`, -d, --version, --compatible.
source "$(dirname "$0")/lib.sh"

# -e with only user probes: prints and ends itself.
note "case -e"
out="$WORK_DIR/oneliner.out"
status=0
timeout 30 "$NTAP" -e 'probe begin { printf("hello %d\n", 6 * 7); exit() }' >"$out" 2>"$out.err" || status=$?
expect_eq "-e exit status" 0 "$status"
expect_eq "-e output" "hello 42" "$(cat "$out")"

# -e with a kernel probe and -o: the output goes to the file, not stdout.
note "case -e with a kernel probe, -o FILE"
netns_create
file="$WORK_DIR/drops.txt"
ntap_start "$WORK_DIR/stdout.txt" -o "$file" -e 'global at
probe begin { printf("ready\n") }
probe kernel.trace("kfree_skb") { at[$location] <<< 1 }
probe end { foreach (l in at) printf("%d packets dropped at %s\n", @count(at[l]), symname(l)) }'
wait_for_line "$file" '^ready$'
send_udp6 500
ntap_stop INT
expect_eq "-o exit status" 0 "$NTAP_STATUS"
expect_eq "drops at __udp6_lib_rcv in the -o file" 500 "$(sum_drops_at "$file" __udp6_lib_rcv '')"
[[ ! -s "$WORK_DIR/stdout.txt" ]] || { show_file stdout "$WORK_DIR/stdout.txt"; fail "-o still wrote to stdout"; }

# -T 1: stops by itself after about a second, running the end probe.
note "case -T 1"
out="$WORK_DIR/timed.out"
status=0
started=$(date +%s%N)
timeout 30 "$NTAP" -T 1 -e 'global n
probe kernel.trace("kfree_skb") { n <<< 1 }
probe end { printf("end\n") }' >"$out" 2>"$out.err" || status=$?
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
note "-T 1 ran for ${elapsed_ms} ms"
expect_eq "-T exit status" 0 "$status"
grep -q '^end$' "$out" || { show_file stdout "$out"; show_file stderr "$out.err"; fail "-T: the end probe did not run"; }
((elapsed_ms >= 900 && elapsed_ms < 5000)) || fail "-T 1 ran for ${elapsed_ms} ms"

# -l lists matching probe points without loading anything.
note "case -l"
status=0
timeout 30 "$NTAP" -l 'kernel.trace("skb:kfree*")' >"$WORK_DIR/list.out" 2>"$WORK_DIR/list.err" || status=$?
expect_eq "-l exit status" 0 "$status"
grep -q 'kfree_skb' "$WORK_DIR/list.out" || { show_file stdout "$WORK_DIR/list.out"; fail "-l does not list kfree_skb"; }

# -v: one timing line per pass on stderr, the script's output untouched.
note "case -v"
status=0
timeout 30 "$NTAP" -v -e 'global n
probe kernel.trace("kfree_skb") { n <<< 1 }
probe begin { printf("hello\n"); exit() }
probe end { if (@count(n) < 0) println("a count is never negative") }' >"$WORK_DIR/verbose.out" 2>"$WORK_DIR/verbose.err" || status=$?
expect_eq "-v exit status" 0 "$status"
expect_eq "-v output" "hello" "$(cat "$WORK_DIR/verbose.out")"
for pass in 1 2 5; do
  grep -q "^Pass $pass" "$WORK_DIR/verbose.err" || { show_file stderr "$WORK_DIR/verbose.err"; fail "-v: no 'Pass $pass' line"; }
done

# -p1 stops after parsing: nothing runs, nothing is printed by the script.
note "case -p1"
status=0
timeout 30 "$NTAP" -p1 -e 'probe begin { printf("ran\n") }' >"$WORK_DIR/p1.out" 2>&1 || status=$?
expect_eq "-p1 exit status" 0 "$status"
! grep -q '^ran$' "$WORK_DIR/p1.out" || fail "-p1 ran the script"

# -w silences warnings (an unused global is one).
note "case -w"
unused_global='global unused
probe begin { exit() }'
timeout 30 "$NTAP" -e "$unused_global" >/dev/null 2>"$WORK_DIR/warn.err" || fail "unused global: nonzero exit"
grep -qi 'warning' "$WORK_DIR/warn.err" || { show_file stderr "$WORK_DIR/warn.err"; fail "no warning for an unused global"; }
timeout 30 "$NTAP" -w -e "$unused_global" >/dev/null 2>"$WORK_DIR/nowarn.err" || fail "-w: nonzero exit"
! grep -qi 'warning' "$WORK_DIR/nowarn.err" || { show_file stderr "$WORK_DIR/nowarn.err"; fail "-w still warns"; }

# -W turns the first warning into an error at its location.
note "case -W"
status=0
timeout 30 "$NTAP" -W -e "$unused_global" >/dev/null 2>"$WORK_DIR/werror.err" || status=$?
expect_eq "-W exit status" 1 "$status"
grep -q "semantic error: eliding unused variable 'unused' (a warning, treated as an error by -W) at <input>:1:8" \
  "$WORK_DIR/werror.err" || { show_file stderr "$WORK_DIR/werror.err"; fail "-W: no error at the warning's location"; }

# -G NAME=VALUE sets a global's initial value (numbers and strings).
note "case -G"
out="$(timeout 30 "$NTAP" -G count=41 -G who=ntap \
  -e 'global count = 1, who = "nobody" probe begin { printf("%d %s\n", count + 1, who); exit() }')"
expect_eq "-G output" "42 ntap" "$out"
status=0
timeout 30 "$NTAP" -G nosuch=1 -e 'probe begin { exit() }' >/dev/null 2>"$WORK_DIR/g.err" || status=$?
expect_eq "-G unknown global: exit status" 1 "$status"
grep -q "the script declares no global 'nosuch'" "$WORK_DIR/g.err" || { show_file stderr "$WORK_DIR/g.err"; fail "-G unknown global"; }

# `-` reads the script from stdin; -d MODULE does not swallow the script name.
note "case script on stdin, -d MODULE SCRIPT"
out="$(echo 'probe begin { printf("from stdin\n"); exit() }' | timeout 30 "$NTAP" -)"
expect_eq "script on stdin" "from stdin" "$out"
printf '%s\n' 'probe begin { printf("%s\n", @1); exit() }' >"$WORK_DIR/arg.stp"
out="$(timeout 30 "$NTAP" -d kernel "$WORK_DIR/arg.stp" first)"
expect_eq "-d MODULE SCRIPT ARG" "first" "$out"

# --version, --compatible.
note "case --version, --compatible"
timeout 30 "$NTAP" --version | grep -q '^ntap [0-9]' || fail "--version prints no version"
out="$(timeout 30 "$NTAP" --compatible 4.9 -e 'probe begin { printf("ok\n"); exit() }')"
expect_eq "--compatible 4.9" ok "$out"
status=0
timeout 30 "$NTAP" --compatible banana -e 'probe begin { exit() }' >/dev/null 2>&1 || status=$?
expect_eq "--compatible banana: exit status" 1 "$status"

# -m takes stap's module names: lowercase letters, digits and '_'; a long
# one is cut to a kernel module name's length, saying so.
note "case -m NAME"
status=0
timeout 30 "$NTAP" -p1 -m 'x^y' -e 'probe begin { exit() }' >/dev/null 2>"$WORK_DIR/m.err" || status=$?
expect_eq "-m x^y: exit status" 1 "$status"
grep -qF "'x^y' is not a run name" "$WORK_DIR/m.err" || { show_file stderr "$WORK_DIR/m.err"; fail "-m x^y: message"; }
long=$(printf 'n%.0s' {1..60})
out="$(timeout 30 "$NTAP" -m "$long" -e 'probe begin { printf("ran\n"); exit() }' 2>"$WORK_DIR/m.err")"
expect_eq "-m with a long name runs" ran "$out"
grep -qF "Truncating module name to '${long:0:55}'" "$WORK_DIR/m.err" || { show_file stderr "$WORK_DIR/m.err"; fail "-m long: no note"; }

# A broken tapset file in an -I directory is reported even when the script
# needs nothing from it, as stap parses its whole tapset: a warning, which
# -W makes an error.
note "case -I with a broken tapset file"
mkdir -p "$WORK_DIR/badtapset"
printf 'probe broken = .bar {}\n' >"$WORK_DIR/badtapset/broken.stp"
status=0
out="$(timeout 30 "$NTAP" -I "$WORK_DIR/badtapset" -e 'probe begin { printf("ran\n"); exit() }' 2>"$WORK_DIR/bad.err")" ||
  status=$?
expect_eq "-I broken tapset: status" 0 "$status"
expect_eq "-I broken tapset: the script runs" ran "$out"
grep -qF "WARNING: tapset file '$WORK_DIR/badtapset/broken.stp' has errors, and will be skipped" "$WORK_DIR/bad.err" ||
  { show_file stderr "$WORK_DIR/bad.err"; fail "-I broken tapset: no warning"; }
status=0
timeout 30 "$NTAP" -W -p1 -I "$WORK_DIR/badtapset" -e 'probe begin { exit() }' >/dev/null 2>"$WORK_DIR/bad.err" || status=$?
expect_eq "-I broken tapset with -W: status" 1 "$status"
status=0
timeout 30 "$NTAP" -W -p1 -I "$WORK_DIR/badtapset/" -e 'probe begin { exit() }' >/dev/null 2>"$WORK_DIR/bad.err" || status=$?
expect_eq "-I DIR/ (a trailing slash) with a broken tapset and -W: status" 1 "$status"

# Scripts are bounded in size: /dev/zero is refused at once, not read into memory.
note "case /dev/zero"
status=0
timeout 30 "$NTAP" -p2 /dev/zero >/dev/null 2>"$WORK_DIR/zero.err" || status=$?
expect_eq "/dev/zero exit status" 1 "$status"
grep -q "script file '/dev/zero' is larger than 32 MiB" "$WORK_DIR/zero.err" ||
  { show_file stderr "$WORK_DIR/zero.err"; fail "/dev/zero: no size error"; }

# A script holding a control character: the error echoes it escaped.
note "case control bytes in an error"
printf 'probe begin { \033[31m; exit() }\n' >"$WORK_DIR/escape.stp"
status=0
timeout 30 "$NTAP" -p2 "$WORK_DIR/escape.stp" >/dev/null 2>"$WORK_DIR/escape.err" || status=$?
expect_eq "control byte: exit status" 1 "$status"
! grep -q $'\033' "$WORK_DIR/escape.err" || fail "the error output holds a raw ESC byte"
grep -qF 'junk character 0x1b' "$WORK_DIR/escape.err" || { show_file stderr "$WORK_DIR/escape.err"; fail "the ESC byte is not shown escaped"; }
