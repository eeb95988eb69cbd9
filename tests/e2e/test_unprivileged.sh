#!/usr/bin/env bash
# Run without root, ntap says which capability it lacks instead of reporting
# "no match for probe point" or dumping libbpf's log; scripts with only user
# probes (begin, end, timers) need no privilege at all.
source "$(dirname "$0")/lib.sh"

# The binary and the scripts must be reachable by the unprivileged user.
chmod 755 "$WORK_DIR"
cp "$NTAP" "$WORK_DIR/ntap"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }
as_nobody test -x "$WORK_DIR/ntap" || fail "the copied ntap is not executable by nobody"

# run_unprivileged NAME SCRIPT: runs as nobody; sets STATUS, output in NAME.out/.err.
run_unprivileged() {
  local name="$1" script="$2"
  note "case $name"
  STATUS=0
  as_nobody timeout 30 "$WORK_DIR/ntap" -e "$script" >"$WORK_DIR/$name.out" 2>"$WORK_DIR/$name.err" || STATUS=$?
}

run_unprivileged load 'probe kernel.trace("kfree_skb") { printf("drop\n") }'
expect_eq "load: exit status" 1 "$STATUS"
grep -q 'ERROR: loading the kernel probes needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); this process lacks CAP_BPF, CAP_PERFMON' \
  "$WORK_DIR/load.err" || { show_file stderr "$WORK_DIR/load.err"; fail "load: no message naming the capabilities"; }
! grep -q 'libbpf' "$WORK_DIR/load.err" || { show_file stderr "$WORK_DIR/load.err"; fail "load: libbpf's log shown"; }

run_unprivileged listing 'probe kernel.trace("sock:inet_sock_set_state") { printf("state\n") }'
expect_eq "listing: exit status" 1 "$STATUS"
grep -q 'no match for probe point (ntap is not running as root and lacks CAP_BPF, CAP_PERFMON' "$WORK_DIR/listing.err" ||
  { show_file stderr "$WORK_DIR/listing.err"; fail "listing: the error does not say root is missing"; }

run_unprivileged user_only 'probe begin { printf("ok\n"); exit() }'
expect_eq "user probes only: exit status" 0 "$STATUS"
expect_eq "user probes only: output" ok "$(cat "$WORK_DIR/user_only.out")"

echo "PASS"
