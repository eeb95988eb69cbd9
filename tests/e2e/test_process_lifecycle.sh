#!/usr/bin/env bash
# process.begin / process.end and their process("PATH") forms: each run of
# the test's own program (built here, so no other process executes that
# file) is one begin and one end, however many threads it starts; pp() names
# the canonical path; processes running before the script starts begin once,
# at their next system call or preemption; an exec ends the old program; process(PID).
source "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "the process lifecycle test needs a C compiler (cc) for its test program"
prog="$WORK_DIR/ntaplife"
cc -O1 -pthread -o "$prog" "$E2E_DIR/programs/threads_then_exit.c"

out="$WORK_DIR/lifecycle.out"
ntap_start "$out" -e '
global begins, ends, any_begin, any_end, points
probe begin { printf("ready\n") }
probe process(@1).begin { begins++; points[pp()]++ }
probe process(@1).end { ends++; points[pp()]++ }
probe process.begin { if (execname() == "ntaplife") any_begin++ }
probe process.end { if (execname() == "ntaplife") any_end++ }
probe end {
  printf("begins %d ends %d any %d %d\n", begins, ends, any_begin, any_end)
  foreach (p in points+) printf("%s %d\n", p, points[p])
}' "$prog"
wait_for_line "$out" '^ready$'
for _ in 1 2 3 4 5; do "$prog" 3; done
sleep 0.3
ntap_stop INT
[[ "$NTAP_STATUS" == 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$NTAP_STATUS"
real="$(realpath "$prog")"
expect_eq "begins and ends" "begins 5 ends 5 any 5 5
process(\"$real\").begin 5
process(\"$real\").end 5" "$(grep -v '^ready$' "$out")"

note "case process(0) is refused"
status=0
"$NTAP" -p2 -e 'probe process(0).end { println(pid()) }' >/dev/null 2>"$WORK_DIR/pid.err" || status=$?
expect_eq "process(0): status" 1 "$status"
grep -q "process(PID) needs a positive process id" "$WORK_DIR/pid.err" ||
  { show_file stderr "$WORK_DIR/pid.err"; fail "process(0): message"; }

note "case a fork that execs nothing begins a process, in the child; a thread does not"
forker="$WORK_DIR/ntapfork"
cc -O1 -pthread -o "$forker" "$E2E_DIR/programs/forks_no_exec.c"
out="$WORK_DIR/forks.out"
ntap_start "$out" -e '
global begins, ends, pids, any
probe begin { printf("ready\n") }
probe process(@1).begin { begins++; pids[pid()] = pid() == tid() }
probe process(@1).end { ends++ }
probe process.begin { if (execname() == "ntapfork") any++ }
probe end {
  leaders = 0
  foreach (p in pids) leaders += pids[p]
  printf("begins %d ends %d in %d processes any %d\n", begins, ends, leaders, any)
}' "$forker"
wait_for_line "$out" '^ready$'
"$forker" 4
sleep 0.3
ntap_stop INT
[[ "$NTAP_STATUS" == 0 ]] || show_file stderr "$out.err"
# One exec and four children (one of them through vfork), each begin in
# its own process.
expect_eq "forks: begins and ends" "begins 5 ends 5 in 5 processes any 5" "$(grep -v '^ready$' "$out")"

note "case processes already running at start begin once, at their next system call"
sleeper="$WORK_DIR/ntapsleep"
cp "$(command -v sleep)" "$sleeper"
"$sleeper" 1 & first=$!
"$sleeper" 1 & second=$!
out="$WORK_DIR/running.out"
status=0
# Each copy waits in nanosleep: it begins when the call returns, ~1 s later.
# process.begin under -x sees the target begin the same way.
timeout 30 "$NTAP" -T 2 -x "$second" -e '
global pids, target_begins
probe process(@1).begin { pids[pid()]++ }
probe process.begin { if (pid() == target()) target_begins++ }
probe end {
  foreach (p in pids+) printf("%d %d\n", p, pids[p])
  printf("target %d\n", target_begins)
}' "$sleeper" >"$out" 2>"$out.err" || status=$?
wait "$first" "$second"
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "one begin per running copy" "$(printf '%d 1\n%d 1\n' $(printf '%s\n' "$first" "$second" | sort -n))
target 1" "$(cat "$out")"

note "case a running process that makes no system call begins when it is preempted"
spinner="$WORK_DIR/ntapspin"
cc -O1 -o "$spinner" "$E2E_DIR/programs/spin.c"
# Two copies on one CPU preempt each other every few milliseconds.
taskset -c 0 "$spinner" & spin1=$!
taskset -c 0 "$spinner" & spin2=$!
out="$WORK_DIR/spin.out"
status=0
timeout 30 "$NTAP" -T 1 -e '
global pids
probe process(@1).begin { pids[pid()]++ }
probe end { foreach (p in pids+) printf("%d %d\n", p, pids[p]) }' "$spinner" >"$out" 2>"$out.err" || status=$?
kill -KILL "$spin1" "$spin2"
wait "$spin1" "$spin2" 2>/dev/null || true
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "one begin per spinning copy" "$(printf '%d 1\n%d 1\n' $(printf '%s\n' "$spin1" "$spin2" | sort -n))" "$(cat "$out")"

note "case an exec ends the old program; process(PID).begin and .end"
shell="$WORK_DIR/ntapshell"
cp "$(command -v sh)" "$shell"
out="$WORK_DIR/exec_end.out"
status=0
# The copy of sh execs /bin/true: its process ends there, in its own
# context, and the same process id begins as true and ends at exit.
timeout 30 "$NTAP" -e '
probe process(@1).end { printf("%s ends, target %d\n", execname(), pid() == target()) }
probe process("/bin/true").begin { printf("true begins, target %d\n", pid() == target()) }
probe process("/bin/true").end { printf("true ends\n") }' "$shell" -c "$shell -c 'exec /bin/true'" \
  >"$out" 2>"$out.err" || status=$?
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "end at exec, begin of the new program" "ntapshell ends, target 1
true begins, target 1
true ends" "$(cat "$out")"

"$sleeper" 1 & running=$!
status=0
timeout 30 "$NTAP" -e "probe process($running).begin { printf(\"%s begins\n\", execname()) }
probe process($running).end { printf(\"%s ends\n\", execname()); exit() }" >"$out" 2>"$out.err" || status=$?
wait "$running"
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "process(PID) begins once and ends" "ntapsleep begins
ntapsleep ends" "$(cat "$out")"

note "case the programs that begin running processes are attached only when some are listed"
# process.begin's own programs: the exec and one dispatcher for the fork
# calls' returns; a listed process adds one program at system call entry,
# one at exit and one at preemption, which every system call and context
# switch on the machine would otherwise run.
attached() { grep -o 'Pass 5: attached [0-9]* probes' "$1"; }
status=0
timeout 30 "$NTAP" -v -T 1 -e 'probe process(@1).begin { println(pid()) }' "$sleeper" >/dev/null \
  2>"$WORK_DIR/none.err" || status=$?
expect_eq "none listed: status" 0 "$status"
expect_eq "none listed: attached" "Pass 5: attached 2 probes" "$(attached "$WORK_DIR/none.err")"
"$sleeper" 1 & running=$!
status=0
timeout 30 "$NTAP" -v -T 2 -e 'probe process(@1).begin { printf("begun\n") }' "$sleeper" >"$WORK_DIR/one.out" \
  2>"$WORK_DIR/one.err" || status=$?
wait "$running"
expect_eq "one listed: status" 0 "$status"
expect_eq "one listed: attached" "Pass 5: attached 5 probes" "$(attached "$WORK_DIR/one.err")"
expect_eq "one listed: begun" "begun" "$(cat "$WORK_DIR/one.out")"
