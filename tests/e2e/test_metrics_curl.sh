#!/usr/bin/env bash
# --metrics: exact values of a script's globals at /metrics (curl), bound to
# 127.0.0.1 when only a port is given; a port already taken (by another ntap:
# both would set the same socket options) and two globals with one metric
# name are errors at startup, exit 1, nothing loaded.
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is not installed (scripts/setup.sh installs it)"
port=$((20000 + RANDOM % 10000))
out="$WORK_DIR/metrics.out"
cat >"$WORK_DIR/m.stp" <<'STP'
global count, arr, h
probe begin {
  count = 42; arr["a", 1] = 7
  h <<< 1; h <<< 2; h <<< 3; h <<< 100
  x = @hist_log(h)[0]
  printf("ready\n")
}
STP
ntap_start "$out" --metrics "$port" "$WORK_DIR/m.stp"
wait_for_line "$out" '^ready$'
curl -sf "http://127.0.0.1:$port/metrics" >"$WORK_DIR/scrape" || fail "no answer at /metrics"
ss -ltn | grep -q "127.0.0.1:$port " || fail "not bound to 127.0.0.1:$port"
for line in 'ntap_count 42' 'ntap_arr{key1="a",key2="1"} 7' 'ntap_h_bucket{le="1"} 1' 'ntap_h_bucket{le="3"} 3' \
  'ntap_h_bucket{le="127"} 4' 'ntap_h_bucket{le="+Inf"} 4' 'ntap_h_count 4' 'ntap_h_sum 106' 'ntap_h_min 1' \
  'ntap_h_max 100' 'ntap_lost_records_total 0'; do
  grep -qxF "$line" "$WORK_DIR/scrape" || { show_file scrape "$WORK_DIR/scrape"; fail "missing: $line"; }
done

# A second ntap on the same port fails before loading anything: its begin
# probe does not run, its kernel probe is never loaded.
cat >"$WORK_DIR/second.stp" <<'STP'
probe begin { printf("second ran\n") }
probe kernel.trace("kfree_skb") { next }
STP
status=0
timeout 60 "$NTAP" --metrics "$port" "$WORK_DIR/second.stp" >"$WORK_DIR/second.out" 2>"$WORK_DIR/second.err" ||
  status=$?
expect_eq "exit status with the port taken" 1 "$status"
grep -q "cannot listen on 127.0.0.1:$port: Address already in use" "$WORK_DIR/second.err" ||
  { show_file stderr "$WORK_DIR/second.err"; fail "no clear error for the taken port"; }
[[ ! -s "$WORK_DIR/second.out" ]] || { show_file stdout "$WORK_DIR/second.out"; fail "the second run printed"; }
# The port stays the first run's alone.
for _ in 1 2 3 4; do
  curl -sf "http://127.0.0.1:$port/metrics" | grep -qxF 'ntap_count 42' || fail "a scrape missed the first run"
done

ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"

# Two globals with one family name: an error naming both, before loading.
cat >"$WORK_DIR/clash.stp" <<'STP'
global x, x_max
probe begin { x <<< 1; x_max = 2; printf("clash ran\n") }
STP
status=0
"$NTAP" --metrics "$port" "$WORK_DIR/clash.stp" >"$WORK_DIR/clash.out" 2>"$WORK_DIR/clash.err" || status=$?
expect_eq "exit status with a name clash" 1 "$status"
grep -qF "global 'x' ($WORK_DIR/clash.stp:1:8) and global 'x_max' ($WORK_DIR/clash.stp:1:11) would both be served as ntap_x_max" \
  "$WORK_DIR/clash.err" || { show_file stderr "$WORK_DIR/clash.err"; fail "no clear error for the name clash"; }
[[ ! -s "$WORK_DIR/clash.out" ]] || fail "the clashing run printed"
