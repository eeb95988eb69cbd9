# Helpers shared by the end-to-end tests (sourced, not run).
#
# Every test runs as root against the real kernel. Traffic is generated inside
# a private network namespace so the drops a test counts are its own: the
# machine sees unrelated drops (bursts at nft_do_chain), so tests only ever
# assert counts for their own drop location, never machine-wide totals.
#
# Environment: NTAP is the binary under test (run.sh exports it).

set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
: "${NTAP:?NTAP must name the ntap binary under test}"

# Bounded waits, in seconds.
BEGIN_TIMEOUT=${BEGIN_TIMEOUT:-20}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

WORK_DIR="$(mktemp -d /tmp/ntap-e2e.XXXXXX)"
NETNS=""
NTAP_PID=""
NTAP_STATUS=""

cleanup() {
  if [[ -n "$NTAP_PID" ]] && kill -0 "$NTAP_PID" 2>/dev/null; then
    kill -KILL "$NTAP_PID" 2>/dev/null || true
    wait "$NTAP_PID" 2>/dev/null || true
  fi
  if [[ -n "$NETNS" ]]; then
    ip netns delete "$NETNS" 2>/dev/null || true
  fi
  rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- reporting ------------------------------------------------------------

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

note() {
  echo "  $*" >&2
}

# Shows a file's content in the log (for the reader of a failure).
show_file() {
  local label="$1" file="$2"
  echo "---- $label ($file) ----" >&2
  if [[ -s "$file" ]]; then head -c 4000 "$file" >&2; else echo "(empty)" >&2; fi
  echo "----" >&2
}

expect_eq() {
  local what="$1" expected="$2" actual="$3"
  [[ "$expected" == "$actual" ]] || fail "$what: expected $expected, got $actual"
}

# ---- network namespace and traffic ----------------------------------------

# Creates a private namespace with only loopback up; it is deleted on exit.
netns_create() {
  NETNS="ntap_e2e_$$_${RANDOM}"
  ip netns add "$NETNS"
  ip -n "$NETNS" link set lo up
}

# netns_inode: the namespace's inode number, which kernel probes can compare
# with $skb->dev->nd_net->net->ns->inum to count only this test's packets.
netns_inode() {
  stat -L -c %i "/run/netns/$NETNS"
}

# send_udp COUNT [RATE_PER_SECOND]: COUNT datagrams to a closed port on
# 127.0.0.1 inside the namespace; each one is dropped at __udp4_lib_rcv.
send_udp() {
  local count="$1" rate="${2:-0}"
  ip netns exec "$NETNS" python3 "$E2E_DIR/send_udp.py" --count "$count" --rate "$rate" --port 9
}

# send_udp6 COUNT: COUNT datagrams to a closed port on ::1 inside the
# namespace; each one is dropped at __udp6_lib_rcv (NO_SOCKET). Tests that run
# the shipped scripts unchanged (they count every drop on the machine) use
# this: no other test sends IPv6, and the machine's own traffic does not drop
# there, while the IPv4 conformance cases drop at __udp4_lib_rcv.
send_udp6() {
  ip netns exec "$NETNS" python3 "$E2E_DIR/send_udp.py" --count "$1" --host ::1 --port 9
}

# ---- running ntap -----------------------------------------------------------

# ntap_start OUT_FILE ARGS...: runs ntap in the background, stdout to OUT_FILE,
# stderr to OUT_FILE.err.
ntap_start() {
  local out="$1"
  shift
  "$NTAP" "$@" >"$out" 2>"$out.err" &
  NTAP_PID=$!
  NTAP_STATUS=""
}

# wait_for_line FILE REGEX [TIMEOUT]: waits until FILE has a line matching
# REGEX. Fails early when ntap exits first.
wait_for_line() {
  local file="$1" regex="$2" timeout="${3:-$BEGIN_TIMEOUT}"
  local deadline=$((SECONDS + timeout))
  while ! grep -Eq -- "$regex" "$file" 2>/dev/null; do
    if [[ -n "$NTAP_PID" ]] && ! kill -0 "$NTAP_PID" 2>/dev/null; then
      grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
      show_file stdout "$file"
      show_file stderr "$file.err"
      fail "ntap exited before printing /$regex/"
    fi
    if ((SECONDS >= deadline)); then
      show_file stdout "$file"
      show_file stderr "$file.err"
      fail "no line matching /$regex/ within ${timeout}s"
    fi
    sleep 0.05
  done
}

# ntap_wait: waits (bounded) for the background ntap to end by itself and sets
# NTAP_STATUS.
ntap_wait() {
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$NTAP_PID" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$NTAP_PID" 2>/dev/null || true
      wait "$NTAP_PID" 2>/dev/null || true
      NTAP_PID=""
      fail "ntap did not exit within ${STOP_TIMEOUT}s"
    fi
    sleep 0.05
  done
  NTAP_STATUS=0
  wait "$NTAP_PID" || NTAP_STATUS=$?
  NTAP_PID=""
}

# ntap_stop [SIGNAL]: sends SIGINT (or SIGNAL) and waits as ntap_wait does.
ntap_stop() {
  local signal="${1:-INT}"
  kill -"$signal" "$NTAP_PID" 2>/dev/null || true
  ntap_wait
}

# ---- reading reports --------------------------------------------------------

# sum_drops_at FILE FUNCTION [REST_REGEX]: adds up N over every line
# "N packets dropped at FUNCTION<rest>", where <rest> (what follows the name,
# e.g. "+0x1b2/0x9c0 [kernel] (NO_SOCKET)") must match REST_REGEX.
sum_drops_at() {
  local file="$1" function="$2" rest="${3-([+ ].*)?}"
  { grep -E -- "^[0-9]+ packets dropped at ${function}${rest}\$" "$file" || true; } |
    awk '{ total += $1 } END { print total + 0 }'
}

# wait_until_at_least EXPECTED TIMEOUT COMMAND...: polls COMMAND (which prints
# a number) until it reaches EXPECTED or TIMEOUT seconds pass.
wait_until_at_least() {
  local expected="$1" timeout="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  while (($("$@") < expected)) && ((SECONDS < deadline)); do
    sleep 0.1
  done
}

# ---- BPF programs -----------------------------------------------------------

# prog_ids_of_pid PID [NAME_PREFIX]: ids of the BPF programs (named
# NAME_PREFIX*, default probe_) that PID holds through a program or link fd.
# Read from /proc/PID/fdinfo: this bpftool cannot show the holders itself.
prog_ids_of_pid() {
  local pid="$1" prefix="${2:-probe_}"
  local held
  held="$(cat /proc/"$pid"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u)"
  [[ -n "$held" ]] || return 0
  bpftool -j prog list | python3 -c '
import json, sys
prefix, held = sys.argv[1], set(int(x) for x in sys.argv[2].split())
for prog in json.load(sys.stdin):
    if prog["id"] in held and prog.get("name", "").startswith(prefix):
        print(prog["id"])
' "$prefix" "$held"
}

# all_probe_prog_ids: ids of every loaded BPF program named probe_*.
all_probe_prog_ids() {
  bpftool -j prog list | python3 -c '
import json, sys
for prog in json.load(sys.stdin):
    if prog.get("name", "").startswith("probe_"):
        print(prog["id"])
'
}

# wait_progs_gone IDS...: the kernel frees programs up to ~1 s after their last
# reference is closed; poll for up to 3 s until none of IDS is listed.
wait_progs_gone() {
  local deadline=$((SECONDS + 3)) remaining id
  while :; do
    remaining=""
    local listed
    listed=" $(all_probe_prog_ids | tr '\n' ' ') "
    for id in "$@"; do
      [[ "$listed" == *" $id "* ]] && remaining+=" $id"
    done
    [[ -z "$remaining" ]] && return 0
    if ((SECONDS >= deadline)); then
      fail "BPF programs still loaded after exit:$remaining"
    fi
    sleep 0.2
  done
}

# ---- diagnostics -------------------------------------------------------------

# expect_diagnostic STDERR_FILE SCRIPT_PATH LINE COL...: the error names
# SCRIPT_PATH:LINE:COL for one of the given columns, quotes the source line and
# puts a caret under that column.
expect_diagnostic() {
  local err="$1" script="$2" line="$3"
  shift 3
  python3 - "$err" "$script" "$line" "$@" <<'PY' || { show_file stderr "$err"; fail "diagnostic for $script:$line"; }
import sys
err_path, script, line = sys.argv[1], sys.argv[2], int(sys.argv[3])
columns = [int(c) for c in sys.argv[4:]]
text = open(err_path, encoding="utf-8", errors="replace").read().splitlines()
source_line = open(script, encoding="utf-8").read().splitlines()[line - 1]
named = [c for c in columns if any(f"{script}:{line}:{c}" in t for t in text)]
if not named:
    sys.exit(f"none of {[f'{script}:{line}:{c}' for c in columns]} in the error output")
# The caret line follows the quoted source line; the quote may be indented or
# prefixed ("source: "), so measure the caret from where the quote starts.
stripped = source_line.strip()
indent = len(source_line) - len(source_line.lstrip())
for i, t in enumerate(text[:-1]):
    at = t.find(stripped)
    if at < 0:
        continue
    caret = text[i + 1].find("^") - (at - indent) + 1
    if caret in named:
        sys.exit(0)
    sys.exit(f"caret under column {caret}, expected {named}")
sys.exit("the source line is not quoted")
PY
}

# ---- scripts ------------------------------------------------------------------

# with_short_timer SCRIPT: a copy of SCRIPT (in the work dir) whose 5-second
# report timer fires every second, so a test sees reports quickly. Prints the
# copy's path.
with_short_timer() {
  local copy
  copy="$WORK_DIR/$(basename "$1")"
  sed 's/timer\.sec(5)/timer.sec(1)/' "$1" >"$copy"
  grep -q 'timer\.sec(1)' "$copy" || fail "$1 has no timer.sec(5) to shorten"
  echo "$copy"
}

# A line as ctime() prints it: "Wed Jun 30 21:49:08 1993".
CTIME_REGEX='^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$'

# check_dropwatch SCRIPT REST_REGEX COUNT: runs a dropwatch-style script
# (begin line "Monitoring for dropped packets", reports every second), sends
# COUNT IPv6 datagrams to a closed port in a private namespace and checks that the
# reports add up to exactly COUNT drops at __udp6_lib_rcv, that Ctrl-C ends the
# run with status 0 after the end probe, and that no program stays loaded.
check_dropwatch() {
  local script="$1" rest="$2" count="$3"
  local out="$WORK_DIR/dropwatch.out" ids total
  netns_create
  ntap_start "$out" "$script"
  wait_for_line "$out" '^Monitoring for dropped packets$'
  ids="$(prog_ids_of_pid "$NTAP_PID")"
  [[ -n "$ids" ]] || fail "no probe_* BPF program is held by ntap while it runs"

  send_udp6 "$count"
  wait_until_at_least "$count" 10 sum_drops_at "$out" __udp6_lib_rcv "$rest"
  sleep 1.5 # one more report: a late duplicate would show up in it
  ntap_stop INT

  total="$(sum_drops_at "$out" __udp6_lib_rcv "$rest")"
  if [[ "$total" != "$count" ]]; then
    show_file stdout "$out"
    show_file stderr "$out.err"
  fi
  expect_eq "drops reported at __udp6_lib_rcv" "$count" "$total"
  expect_eq "exit status after SIGINT" 0 "$NTAP_STATUS"
  grep -q '^Stopping dropped packet monitor$' "$out" || fail "the end probe did not run"
  wait_progs_gone $ids
}
