#!/usr/bin/env bash
# -x PID and -c CMD: target() on both sides; -c runs CMD once the probes are
# attached and ends the run when CMD exits; -x does not depend on PID's life.
source "$(dirname "$0")/lib.sh"

note "case -x PID in a kernel probe"
sleep 60 &
sleeper=$!
out="$WORK_DIR/x.out"
ntap_start "$out" -x "$sleeper" -e 'probe begin { printf("ready %d\n", target()) }
probe kernel.trace("sched:sched_process_exit") {
  if (pid() == target()) { printf("target %d exited\n", target()); exit() }
}'
wait_for_line "$out" '^ready '
expect_eq "-x target() on the user side" "ready $sleeper" "$(head -1 "$out")"
kill "$sleeper"
wait "$sleeper" 2>/dev/null || true
ntap_wait
expect_eq "-x exit status" 0 "$NTAP_STATUS"
expect_eq "-x target() in the kernel probe" "target $sleeper exited" "$(sed -n 2p "$out")"

note "case -x PID outlives the process"
sleep 0.1 &
short=$!
wait "$short"
status=0
out="$WORK_DIR/x2.out"
timeout 30 "$NTAP" -x "$short" -T 1 -e 'probe end { printf("end %d\n", target()) }' >"$out" 2>"$out.err" || status=$?
expect_eq "-x with an exited process: status" 0 "$status"
expect_eq "-x with an exited process: end probe" "end $short" "$(cat "$out")"

note "case -c with -x is refused"
status=0
"$NTAP" -c true -x 1 -e 'probe begin { exit() }' >/dev/null 2>"$WORK_DIR/both.err" || status=$?
expect_eq "-c with -x: status" 1 "$status"

note "case -c CMD killed by a signal"
status=0
out="$WORK_DIR/c.out"
timeout 30 "$NTAP" -c 'kill -TERM $$' -e 'probe end { println("end") }' >"$out" 2>"$out.err" || status=$?
expect_eq "-c killed: status" 1 "$status"
expect_eq "-c killed: end probe" "end" "$(cat "$out")"
grep -q 'WARNING: Child process exited with signal 15 (Terminated)' "$out.err" || {
  show_file stderr "$out.err"
  fail "-c killed: no warning"
}
