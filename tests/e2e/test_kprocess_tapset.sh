#!/usr/bin/env bash
# tapset/kprocess.ntp on a shell the test starts (-c): kprocess.create for
# each process it forks (new_pid a new process, new_pid == new_tid),
# kprocess.exec_complete in each new program, kprocess.exit with stap's raw
# exit code (3 << 8) and kprocess.release of the first child once reaped.
source "$(dirname "$0")/lib.sh"

out="$WORK_DIR/kprocess.out"
status=0
timeout 60 "$NTAP" -c "sh -c '/bin/true; sleep 0.3; exit 3'" -e 'global creates, new_ok, execs, exit_code, first, released
probe kprocess.create {
  if (pid() != target()) next
  creates++
  new_ok += new_pid != pid() && new_pid == new_tid && task != 0
  if (!first) first = new_pid
}
probe kprocess.exec_complete { if (ppid() == target()) execs[execname()] = success * 10 + errno }
probe kprocess.exit { if (pid() == target()) exit_code = code }
probe kprocess.release { if (first && released_pid == first) released = (task != 0) + (released_tid == first) }
probe end {
  printf("creates=%d new_ok=%d exit=%d released=%d\n", creates, new_ok, exit_code, released)
  foreach (name+ in execs) printf("exec %s %d\n", name, execs[name])
}' >"$out" 2>"$out.err" || status=$?
expect_eq "exit status (the command exits 3)" 1 "$status"
expect_eq "kprocess output" "creates=2 new_ok=2 exit=768 released=2
exec sleep 10
exec true 10" "$(cat "$out")"

note "case kprocess.start in each new process, kprocess.exec attempts, exec_complete failures"
# The shell forks three children: /bin/true and /bin/sleep exec, /nonexistent
# fails (ENOENT) in the child, which then exits 127.
out="$WORK_DIR/kprocess_exec.out"
timeout 60 "$NTAP" -c "sh -c '/bin/true; /nonexistent; /bin/sleep 0.2; exit 0'" -e 'global starts, execs, done
probe kprocess.start { if (ppid() == target()) starts[execname(), pid() == tid()]++ }
probe kprocess.exec { if (ppid() == target()) execs[name, filename]++ }
probe kprocess.exec_complete { if (ppid() == target()) done[execname(), errno, success]++ }
probe end {
  foreach ([n, p] in starts) printf("start %s %d %d\n", n, p, starts[n, p])
  foreach ([n, f+] in execs) printf("exec %s %s\n", n, f)
  foreach ([n+, e, s] in done) printf("complete %s %d %d\n", n, e, s)
}' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "kprocess exec run failed"; }
expect_eq "kprocess start/exec output" 'start sh 1 3
exec execve "/bin/sleep"
exec execve "/bin/true"
exec execve "/nonexistent"
complete sh -2 0
complete sleep 0 1
complete true 0 1' "$(cat "$out")"

note "case cmdline_str, cmdline_arg and cmdline_args read the process's arguments"
out="$WORK_DIR/cmdline.out"
timeout 60 "$NTAP" -e 'probe kprocess.exec_complete {
  if (ppid() == target())
    printf("[%s] [%s] [%s] [%s] [%s] [%s]\n", cmdline_str(), cmdline_arg(0), cmdline_arg(2), cmdline_arg(9),
           cmdline_args(1, -1, ","), cmdline_args(1, 2, ""))
}
probe begin { printf("user: [%s] [%s]\n", cmdline_args(0, 0, ""), cmdline_arg(1)) }' \
  -c 'sh -c "/bin/echo a bb ccc >/dev/null; true"' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "cmdline run failed"; }
# In a user probe they are ntap's own (it runs there).
expect_eq "cmdline functions" "user: [$NTAP] [-e]
[/bin/echo a bb ccc] [/bin/echo] [bb] [] [a,bb,ccc] [abb]" "$(cat "$out")"
# MAXSTRINGLEN cuts the joined text, as every string (here after the
# delimiter before "ccc").
timeout 60 "$NTAP" -D MAXSTRINGLEN=16 -e 'probe kprocess.exec_complete { if (ppid() == target()) printf("[%s]\n", cmdline_str()) }' \
  -c 'sh -c "/bin/echo a bb ccc >/dev/null; true"' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "cmdline run failed"; }
expect_eq "cmdline_str under MAXSTRINGLEN=16" "[/bin/echo a bb ]" "$(cat "$out")"

note "case kprocess.exec and syscall.execve show the argument and environment vectors as stap does"
timeout 60 "$NTAP" -e 'probe kprocess.exec { if (ppid() == target()) printf("%s\n", args) }
probe syscall.execve { if (ppid() == target()) printf("%s\n", argstr) }' \
  -c "sh -c 'env -i A=1 /bin/echo \"q\\\"x\" \"tab	there\" >/dev/null; true'" >"$out" 2>"$out.err" ||
  { show_file stderr "$out.err"; fail "argv run failed"; }
# env's own environment is the caller's (long): only its exec of echo is
# compared whole.
expect_eq "exec vectors" '"/bin/echo", ["/bin/echo", "q\"x", "tab\tthere"], ["A=1"]
["/bin/echo", "q\"x", "tab\tthere"]
["env", "-i", "A=1", "/bin/echo", "q\"x", "tab\tthere"]' "$(grep -v '^"/usr/bin/env", ' "$out" | LC_ALL=C sort -u)"
