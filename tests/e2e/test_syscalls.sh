#!/usr/bin/env bash
# System call probes on one process's exact calls: the tapset's syscall.openat
# (name, argstr) and syscall.openat.return (retstr), nd_syscall, the
# kernel.syscall provider's context variables, the user memory functions with
# their fault behaviours, and -l/-L of system calls.
source "$(dirname "$0")/lib.sh"

path="$WORK_DIR/ntap_sysc_file"
echo hello >"$path"
# Exactly four openat() calls on the test's files (Python's own startup opens
# others, which the scripts leave out by name).
cat >"$WORK_DIR/opens.py" <<'EOF'
import os, sys
p = sys.argv[1]
for _ in range(2):
    open(p).close()
os.close(os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640))
try:
    open(p + ".missing")
except FileNotFoundError:
    pass
EOF
opens="python3 $WORK_DIR/opens.py $path"

note "case syscall.openat and .return: name, argstr, retstr"
out="$WORK_DIR/openat.out"
# The descriptors the opens get (retstr "3") depend on what the command
# inherits: a test harness may leave its own descriptors open, so close them.
close_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd="${fd##*/}"
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  exec "$@"
}
timeout 60 bash -c "$(declare -f close_inherited_fds); close_inherited_fds \"\$@\"" _ "$NTAP" -c "$opens" -e 'global mine
probe syscall.openat {
  if (pid() == target() && isinstr(filename, "ntap_sysc_file")) { printf("%s %s\n", name, argstr); mine[tid()] = 1 }
}
probe syscall.openat.return {
  if ([tid()] in mine) { printf("%s = %s\n", name, retstr); delete mine[tid()] }
}' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "syscall.openat run failed"; }
expected="openat AT_FDCWD, \"$path\", O_RDONLY|O_CLOEXEC
openat = 3
openat AT_FDCWD, \"$path\", O_RDONLY|O_CLOEXEC
openat = 3
openat AT_FDCWD, \"$path.new\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0640
openat = 3
openat AT_FDCWD, \"$path.missing\", O_RDONLY|O_CLOEXEC
openat = -2 (ENOENT)"
expect_eq "syscall.openat output" "$expected" "$(cat "$out")"

note "case nd_syscall.openat is the same probe"
out="$WORK_DIR/nd.out"
timeout 60 bash -c "$(declare -f close_inherited_fds); close_inherited_fds \"\$@\"" _ "$NTAP" -c "$opens" -e 'probe nd_syscall.openat {
  if (pid() == target() && isinstr(filename, "ntap_sysc_file")) printf("%s %d %d\n", filename, dfd, flags & 3)
}' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "nd_syscall.openat run failed"; }
expected="\"$path\" -100 0
\"$path\" -100 0
\"$path.new\" -100 1
\"$path.missing\" -100 0"
expect_eq "nd_syscall.openat output" "$expected" "$(cat "$out")"

note "case kernel.syscall context variables and the user memory functions"
out="$WORK_DIR/raw.out"
timeout 60 bash -c "$(declare -f close_inherited_fds); close_inherited_fds \"\$@\"" _ "$NTAP" -c "$opens" -e 'global mine, done
probe kernel.syscall("openat") {
  if (pid() != target() || done) next
  f = user_string($arg2, "")  # a path in a page not yet faulted in reads as ""
  if (!isinstr(f, "ntap_sysc_file")) next
  done = 1
  mine[tid()] = 1
  printf("%d %d %d %d %s\n", $id, user_char($arg2), user_uint8($arg2 + 1), user_int8($arg2), user_string_n($arg2, 4))
  try { x = user_string(1) } catch (msg) { println(msg) }
  println(user_string(1, "dflt"))
  printf("[%s]\n", user_string_warn(1))
  println(user_string_quoted(0), " ", user_string_quoted(1))
  printf("%d %d\n", user_long(1), user_int_warn(1))
  try { y = user_int_error(1) } catch (msg) { println(msg) }
}
probe kernel.syscall("openat").return {
  if ([tid()] in mine) { printf("return %d of %d\n", $return, $id); delete mine[tid()]; exit() }
}' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "kernel.syscall run failed"; }
expected="257 47 116 47 /tmp
user string copy fault at 0x0000000000000001 [man error::fault] near identifier 'user_string'
dflt
[]
NULL 0x1
0 0
user read fault at 0x0000000000000001 [man error::fault] near identifier 'user_int_error'
return 3 of 257"
expect_eq "kernel.syscall output" "$expected" "$(cat "$out")"
expect_eq "user_string_warn and user_int_warn warnings" \
  "WARNING: user string copy fault at 0x0000000000000001 [man error::fault]
WARNING: user read fault at 0x0000000000000001 [man error::fault]" "$(grep '^WARNING' "$out.err")"

note "case user_string faults end the run with stap's error"
status=0
out="$WORK_DIR/fault.out"
timeout 60 bash -c "$(declare -f close_inherited_fds); close_inherited_fds \"\$@\"" _ "$NTAP" -c "$opens" -e 'probe kernel.syscall("openat") {
  if (pid() == target()) println(user_string($arg2 & 0))
}' >"$out" 2>"$out.err" || status=$?
expect_eq "user_string fault: status" 1 "$status"
grep -q "^ERROR: user string copy fault at 0x0000000000000000 \[man error::fault\] near identifier 'user_string' at .*:2:34" "$out.err" || {
  show_file stderr "$out.err"
  fail "user_string fault: no error"
}

note "case -l and -L list system calls"
expect_eq "-l syscall.open*" "syscall.open
syscall.openat" "$("$NTAP" -l 'syscall.open*')"
expect_eq "-l kernel.syscall(\"openat*\")" "kernel.syscall(\"openat\")
kernel.syscall(\"openat2\")" "$("$NTAP" -l 'kernel.syscall("openat*")')"
expect_eq "-L kernel.syscall(\"close\").return" "kernel.syscall(\"close\").return \$return:long \$id:long \$regs:struct pt_regs*" \
  "$("$NTAP" -L 'kernel.syscall("close").return')"
[[ "$("$NTAP" -l 'kernel.syscall("*")' | wc -l)" -gt 300 ]] || fail "-l kernel.syscall(\"*\"): too few calls"

note "case an unknown system call"
status=0
"$NTAP" -p2 -e 'probe kernel.syscall("nosuchcall") {}' >/dev/null 2>"$WORK_DIR/unknown.err" || status=$?
expect_eq "unknown system call: status" 1 "$status"
grep -q "no match for probe point" "$WORK_DIR/unknown.err" || { show_file stderr "$WORK_DIR/unknown.err"; fail "unknown system call: message"; }

note "case syscall.* runs each call's probes through one dispatcher per tracepoint"
prog="$WORK_DIR/idcalls"
cc -O1 -o "$prog" "$E2E_DIR/programs/idcalls.c"
out="$WORK_DIR/dispatch.out"
# Two probes on getppid and two on getsid's entry: programs with the same
# call number follow one another; entry and return are two dispatchers. The
# program's 32-bit call number 20 (getpid there) is not x86_64's writev.
timeout 60 "$NTAP" -v -c "$prog" -e 'global calls, returns, again, sid, pgid, writev
probe syscall.* { if (pid() == target() && execname() == "idcalls") calls[name]++ }
probe syscall.*.return { if (pid() == target() && execname() == "idcalls") returns[name]++ }
probe syscall.getppid { if (pid() == target() && execname() == "idcalls") again++ }
probe kernel.syscall("getsid"), kernel.syscall("getsid") { if (pid() == target()) sid++ }
probe kernel.syscall("getpgid").return { if (pid() == target()) pgid = $return }
probe kernel.syscall("writev") { if (pid() == target()) writev++ }
probe end {
  foreach (n+ in calls) if (n == "getppid" || n == "gettid" || n == "getuid") printf("%s %d %d\n", n, calls[n], returns[n])
  printf("again %d sid %d pgid %d writev %d\n", again, sid, pgid, writev)
}' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "dispatch run failed"; }
expect_eq "syscall.* counts through the dispatchers" "getppid 3 3
gettid 2 2
getuid 4 4
again 3 sid 2 pgid -3 writev 0" "$(cat "$out")"
# Without dispatchers each of the ~100 programs would be attached.
expect_eq "attached programs" "Pass 5: attached 2 probes" "$(grep -o 'Pass 5: attached [0-9]* probes' "$out.err")"

note "case process(PATH).syscall, process.syscall and .return: every call of one program"
# The program's own calls, whatever its loader made before main: count the
# ones idcalls makes itself, by number (getppid 110, getuid 102, getpgid 121).
out="$WORK_DIR/process_syscall.out"
cp "$prog" "$WORK_DIR/idcalls2"
( for _ in $(seq 20); do "$WORK_DIR/idcalls2"; done ) &
other=$!
timeout 60 "$NTAP" -c "$prog" -e 'global calls, results, any
probe process(@1).syscall { calls[$syscall]++ }
probe process.syscall.return { if ($syscall == 121) results[$return]++ }
probe process(@1).syscall.return { any++ }
probe end {
  printf("getppid %d getuid %d getpgid %d\n", calls[110], calls[102], calls[121])
  foreach (r in results) printf("getpgid returned %d %d times\n", r, results[r])
  printf("returns seen %d\n", any > 10)
}' "$prog" >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "process.syscall run failed"; }
kill "$other" 2>/dev/null || true
wait "$other" 2>/dev/null || true
expect_eq "process.syscall counts" "getppid 3 getuid 4 getpgid 1
getpgid returned -3 1 times
returns seen 1" "$(cat "$out")"

note "case syscall.connect/bind read the caller's sockaddr as stap's tapset does"
out="$WORK_DIR/sockaddr.out"
timeout 60 "$NTAP" -c "python3 -c '
import socket
for family, address in ((socket.AF_INET, (\"127.0.0.1\", 1)), (socket.AF_INET6, (\"::1\", 2, 5, 1))):
    s = socket.socket(family); s.connect_ex(address); s.close()
for path in (\"/nonexistent/sock\", \"\\0abstract\"):
    u = socket.socket(socket.AF_UNIX); u.connect_ex(path); u.close()
b = socket.socket(); b.bind((\"127.0.0.1\", 0)); b.close()'" -e 'probe syscall.connect, syscall.bind {
  if (pid() == target())
    printf("%s|%s|%s|%s|%s|%s|%s\n", name, argstr, uaddr_af, uaddr_ip, uaddr_ip_port, uaddr_ipv6_flowinfo, uaddr_ipv6_scope_id)
}' >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "sockaddr run failed"; }
# The descriptor number is the interpreter's; the flow information is shown
# as stored (network order: 5 is 0x05000000). Only the script's own
# addresses count: the interpreter may first ask a name service daemon
# (nscd, systemd-userdb) for the user's entry over a unix socket.
expect_eq "connect and bind sockaddrs" 'connect|FD, {AF_INET, 127.0.0.1, 1}, 16|AF_INET|127.0.0.1|1||
connect|FD, {AF_INET6, 0000:0000:0000:0000:0000:0000:0000:0001, 2}, 28|AF_INET6|0000:0000:0000:0000:0000:0000:0000:0001|2|83886080|1
connect|FD, {AF_UNIX, "/nonexistent/sock"}, 20|AF_UNIX||||
connect|FD, {AF_UNIX, "\000abstract"}, 11|AF_UNIX||||
bind|FD, {AF_INET, 127.0.0.1, 0}, 16|AF_INET|127.0.0.1|0||' "$(grep -E '127\.0\.0\.1|0000:0001|/nonexistent/sock|abstract' "$out" | sed -E 's/\|[0-9]+, /|FD, /')"
