#!/usr/bin/env bash
# A tracepoint's format fields as target variables: $sport, $dport, $saddr,
# $daddr, $protocol of sock:inet_sock_set_state, which no TP_PROTO argument
# carries, on the test's own TCP session in a private namespace; -L lists
# them; mixing them with a TP_PROTO argument the record lacks is an error.
source "$(dirname "$0")/lib.sh"

port=7744
netns_create

note "case format fields of inet_sock_set_state"
out="$WORK_DIR/fields.out"
ntap_start "$out" -e 'probe begin { println("ready") }
probe kernel.trace("sock:inet_sock_set_state") {
  if ($sport != $1 && $dport != $1) next
  printf("%d %d->%d %s:%s %s:%s\n", $protocol, $oldstate, $newstate,
         ip_ntop(kernel_int($saddr)), $sport == $1 ? "P" : $sport == 0 ? "0" : "E",
         ip_ntop(kernel_int($daddr)), $dport == $1 ? "P" : $dport == 0 ? "0" : "E")
}' "$port"
wait_for_line "$out" '^ready$'
ip netns exec "$NETNS" python3 "$E2E_DIR/tcp_traffic.py" --port "$port" --sessions 1 --send 100 --reply 100
sleep 0.5
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
actual="$(grep -v '^ready$' "$out" | LC_ALL=C sort)"
# One session, sorted: the listener (CLOSE -> LISTEN -> CLOSE), the client
# (its port is still 0 when it enters SYN_SENT) and the accepted socket,
# cloned from the listener into SYN_RECV; the client closes first.
expected="6 1->4 127.0.0.1:E 127.0.0.1:P
6 1->8 127.0.0.1:P 127.0.0.1:E
6 10->3 127.0.0.1:P 127.0.0.1:E
6 10->7 127.0.0.1:P 0.0.0.0:0
6 2->1 127.0.0.1:E 127.0.0.1:P
6 3->1 127.0.0.1:P 127.0.0.1:E
6 4->5 127.0.0.1:E 127.0.0.1:P
6 5->7 127.0.0.1:E 127.0.0.1:P
6 7->10 127.0.0.1:P 0.0.0.0:0
6 7->2 127.0.0.1:0 127.0.0.1:P
6 8->9 127.0.0.1:P 127.0.0.1:E
6 9->7 127.0.0.1:P 127.0.0.1:E"
expect_eq "transitions" "$expected" "$actual"

note "case -L lists the format fields after the arguments"
listed="$("$NTAP" -L 'kernel.trace("sock:inet_sock_set_state")')"
[[ "$listed" == *'$newstate:const int $skaddr:const void * $sport:__u16 $dport:__u16 $family:__u16 $protocol:__u16 $saddr:__u8[4] $daddr:__u8[4] $saddr_v6:__u8[16] $daddr_v6:__u8[16]' ]] ||
  fail "-L: $listed"

note "case a TP_PROTO argument in a probe that reads the record"
status=0
"$NTAP" -p2 -e 'probe kernel.trace("sock:inet_sock_set_state") { println($sport, $sk) }' >/dev/null \
  2>"$WORK_DIR/mixed.err" || status=$?
expect_eq "mixed: status" 1 "$status"
grep -q "is a TP_PROTO argument of sock:inet_sock_set_state, but this probe reads the event's format fields" \
  "$WORK_DIR/mixed.err" || { show_file stderr "$WORK_DIR/mixed.err"; fail "mixed: message"; }

note "case one body over points whose contexts differ: elaborated once per context, as stap does"
status=0
# $$parms lists each event's own arguments; $p is the first argument of
# both events (and of the same task).
out="$("$NTAP" -e 'probe kernel.trace("sched:sched_process_exec"), kernel.trace("sched:sched_process_exit") {
  if (pid() == target())
    printf("%s %s %d\n", pp(), $$parms =~ "^p=0x[0-9a-f]+ (old_pid|group_dead)=" ? "parms" : $$parms,
           $p->pid == pid())
}' -c /bin/true 2>"$WORK_DIR/split.err")" || status=$?
expect_eq "split: status" 0 "$status"
expect_eq "split: each point with its own context" 'kernel.trace("sched:sched_process_exec") parms 1
kernel.trace("sched:sched_process_exit") parms 1' "$(sort -u <<<"$out")"
