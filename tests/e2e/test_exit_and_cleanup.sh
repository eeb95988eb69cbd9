#!/usr/bin/env bash
# However a run ends — Ctrl-C, SIGTERM, SIGHUP, SIGQUIT, exit() in a user probe, exit() in a
# kernel probe, a run-time error — the exit status is right (0 for all but the error, 1),
# the end probe runs (except after an error), and no BPF program of ours
# stays loaded.
source "$(dirname "$0")/lib.sh"

netns_create

# run_case NAME EXPECTED_STATUS HOW SCRIPT_TEXT
#   HOW: INT or TERM (signal after the begin line), traffic (send datagrams
#   and let the script end itself) or self (let the script end itself).
run_case() {
  local name="$1" expected="$2" how="$3" text="$4"
  local script="$WORK_DIR/$name.stp" out="$WORK_DIR/$name.out" ids
  printf '%s\n' "$text" >"$script"
  note "case $name"
  ntap_start "$out" "$script"
  wait_for_line "$out" '^ready$'
  ids="$(prog_ids_of_pid "$NTAP_PID")"
  [[ -n "$ids" ]] || fail "$name: no probe_* BPF program is held by ntap while it runs"
  case "$how" in
    INT | TERM | HUP | QUIT) ntap_stop "$how" ;;
    traffic) send_udp 10 && ntap_wait ;;
    self) ntap_wait ;;
  esac
  if [[ "$NTAP_STATUS" != "$expected" ]]; then
    show_file stdout "$out"
    show_file stderr "$out.err"
  fi
  expect_eq "$name: exit status" "$expected" "$NTAP_STATUS"
  if [[ "$expected" == 0 ]]; then
    grep -q '^end$' "$out" || { show_file stdout "$out"; fail "$name: the end probe did not run"; }
  fi
  wait_progs_gone $ids
}

common='global hits
probe begin { printf("ready\n") }
probe end { printf("end\n") }
probe kernel.trace("kfree_skb") { hits <<< 1 }'

run_case sigint 0 INT "$common"
run_case sigterm 0 TERM "$common"
# stap treats SIGHUP like SIGINT; SIGQUIT ends the run as cleanly (end runs, nothing lost).
run_case sighup 0 HUP "$common"
run_case sigquit 0 QUIT "$common"
run_case exit_from_timer 0 self "$common
probe timer.ms(300) { exit() }"
# Reason 3 (NO_SOCKET) is what our datagrams get; the machine's background
# drops (nft_do_chain) must not end the run early.
run_case exit_from_kernel_probe 0 traffic 'probe begin { printf("ready\n") }
probe end { printf("end\n") }
probe kernel.trace("kfree_skb") { if ($reason == 3) exit() }'

# A division by zero at run time is an error: status 1, reported with the
# script location of the division.
run_case runtime_error 1 self "$common
global zero
probe timer.ms(300) { printf(\"%d\\n\", 100 / zero) }"
grep -q "runtime_error.stp:6:" "$WORK_DIR/runtime_error.out.err" ||
  { show_file stderr "$WORK_DIR/runtime_error.out.err"; fail "the run-time error does not name runtime_error.stp:6"; }
