#!/usr/bin/env bash
# Every way a run ends leaves nothing behind and says what happened: a reader
# that stops reading the output does not hold ntap (and its attached probes)
# past Ctrl-C or -T; a reader that goes away (EPIPE) ends the run with status
# 1 and a message, not a silent death by SIGPIPE (141); the -c command does
# not outlive ntap; a closed stdout is refused rather than written into
# whatever file took descriptor 1.
source "$(dirname "$0")/lib.sh"

# A script that prints steadily (1 KiB every 10 ms: a pipe fills within a
# second) while a kernel probe is attached.
flood='probe begin { printf("ready\n") }
probe kernel.trace("kfree_skb") { }
probe timer.ms(10) { printf("%1000s\n", "x") }
probe end { printf("end\n") }'
printf '%s\n' "$flood" >"$WORK_DIR/flood.stp"

# blocked_case NAME HOW EXTRA_ARGS...: ntap writes into a FIFO that the test
# holds open but never reads. HOW is a signal name, or "self" (the run ends
# by -T on its own).
blocked_case() {
  local name="$1" how="$2"
  shift 2
  local fifo="$WORK_DIR/$name.fifo" err="$WORK_DIR/$name.err" ids waited
  note "case $name"
  mkfifo "$fifo"
  exec {reader}<>"$fifo"  # a reader that never reads
  "$NTAP" "$@" "$WORK_DIR/flood.stp" >"$fifo" 2>"$err" &
  NTAP_PID=$!
  # Attached and blocked: the probe program is held and output has stalled.
  local deadline=$((SECONDS + BEGIN_TIMEOUT))
  until [[ -n "$(prog_ids_of_pid "$NTAP_PID")" ]]; do
    ((SECONDS < deadline)) || fail "$name: ntap never attached"
    sleep 0.1
  done
  ids="$(prog_ids_of_pid "$NTAP_PID")"
  sleep 1.5  # 150 KiB of output against a 64 KiB pipe: blocked by now
  local start=$SECONDS
  if [[ "$how" == self ]]; then ntap_wait; else ntap_stop "$how"; fi
  waited=$((SECONDS - start))
  exec {reader}<&-
  ((waited <= 8)) || fail "$name: ntap took ${waited}s to end with its output blocked"
  expect_eq "$name: exit status" 1 "$NTAP_STATUS"
  grep -q 'ERROR: output to <stdout> stopped (nothing was reading it): [0-9]* bytes not written' "$err" ||
    { show_file stderr "$err"; fail "$name: no report of the unwritten output"; }
  wait_progs_gone $ids
}

blocked_case blocked_sigint INT
blocked_case blocked_sigterm TERM
blocked_case blocked_timeout self -T 3

# EPIPE: `ntap ... | head -n 1`.
note "case epipe"
set +e
"$NTAP" -e 'probe timer.ms(5) { printf("line\n") } probe end { printf("end\n") }' 2>"$WORK_DIR/epipe.err" |
  head -n 1 >"$WORK_DIR/epipe.out"
statuses=("${PIPESTATUS[@]}")
set -e
expect_eq "epipe: ntap's exit status" 1 "${statuses[0]}"
expect_eq "epipe: what head read" line "$(cat "$WORK_DIR/epipe.out")"
grep -q 'ERROR: output to <stdout> stopped (its reader closed it)' "$WORK_DIR/epipe.err" ||
  { show_file stderr "$WORK_DIR/epipe.err"; fail "epipe: no report of the closed output"; }

# The -c command is stopped when the run ends first (-T, Ctrl-C).
for how in timeout INT; do
  note "case target_stopped_$how"
  out="$WORK_DIR/target_$how.out"
  args=(-c 'sleep 60' -e 'probe begin { printf("target %d\n", target()) }')
  [[ "$how" == timeout ]] && args=(-T 1 "${args[@]}")
  ntap_start "$out" "${args[@]}"
  wait_for_line "$out" '^target [0-9]+$'
  child="$(awk '/^target/ { print $2 }' "$out")"
  kill -0 "$child" 2>/dev/null || fail "target_stopped_$how: the -c command is not running"
  if [[ "$how" == timeout ]]; then ntap_wait; else ntap_stop INT; fi
  expect_eq "target_stopped_$how: exit status" 0 "$NTAP_STATUS"
  ! kill -0 "$child" 2>/dev/null || fail "target_stopped_$how: the -c command (pid $child) outlived ntap"
done

# A closed stdout: refused (not silently written into the signalfd or a
# BPF map that took descriptor 1); with -o the run works.
note "case closed_stdout"
set +e
"$NTAP" -e 'probe begin { printf("hello\n"); exit() }' >&- 2>"$WORK_DIR/closed.err"
status=$?
set -e
expect_eq "closed_stdout: exit status" 1 "$status"
grep -q 'standard output is closed' "$WORK_DIR/closed.err" || { show_file stderr "$WORK_DIR/closed.err"; fail "closed_stdout: no message"; }
"$NTAP" -o "$WORK_DIR/closed.out" -e 'probe begin { printf("hello\n"); exit() }' >&-
expect_eq "closed_stdout with -o: output" hello "$(cat "$WORK_DIR/closed.out")"

echo "PASS"
