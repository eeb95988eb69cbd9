#!/usr/bin/env bash
# --metrics: exact values of a script's globals at /metrics (curl), bound to
# 127.0.0.1 when only a port is given.
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
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
