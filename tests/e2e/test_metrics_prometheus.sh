#!/usr/bin/env bash
# --metrics scraped by a real Prometheus: examples/dropwatch.ntp, unchanged,
# counts drops by (location, reason); we make exactly N SOCKET_FILTER drops
# in a private namespace (a UDP socket whose classic BPF filter keeps
# nothing: one fixed location in the UDP receive path), let Prometheus scrape
# every second and ask its HTTP API for the series of that reason: one
# location, value N, the same location and count the script's own report
# prints.
#
# dropwatch empties its counts every 5 s (after printing them), so the drops
# are made right after one report and read back, at the next report, as the
# largest value Prometheus saw in between.
source "$(dirname "$0")/lib.sh"

for tool in prometheus curl jq bpftool; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup.sh installs it)"
done
N=300

PROM_PID=""
stop_prometheus() {
  if [[ -n "$PROM_PID" ]]; then
    kill -TERM "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
    PROM_PID=""
  fi
}
trap 'stop_prometheus; cleanup' EXIT

# The kernel's number for SKB_DROP_REASON_SOCKET_FILTER (the label key2).
reason="$(bpftool btf dump file /sys/kernel/btf/vmlinux format raw |
  sed -n "s/^[[:space:]]*'SKB_DROP_REASON_SOCKET_FILTER' val=\([0-9]*\)$/\1/p" | head -1)"
[[ -n "$reason" ]] || fail "no SKB_DROP_REASON_SOCKET_FILTER in the kernel's BTF"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
prom_port="$(free_port)"
metrics_port="$(free_port)"
[[ "$prom_port" != "$metrics_port" ]] || metrics_port="$(free_port)"

cat >"$WORK_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ntap
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
EOF
prometheus --config.file="$WORK_DIR/prometheus.yml" --storage.tsdb.path="$WORK_DIR/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$WORK_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
api="http://127.0.0.1:$prom_port"

# query PROMQL [TIME]: the result vector of an instant query, as JSON.
query() {
  local args=(--data-urlencode "query=$1")
  [[ $# -gt 1 ]] && args+=(--data-urlencode "time=$2")
  curl -sfG "$api/api/v1/query" "${args[@]}" | jq -ce '.data.result' ||
    { show_file prometheus.log "$WORK_DIR/prometheus.log"; fail "query failed: $1"; }
}

deadline=$((SECONDS + 20))
until curl -sf "$api/-/ready" >/dev/null 2>&1; do
  kill -0 "$PROM_PID" 2>/dev/null || { show_file prometheus.log "$WORK_DIR/prometheus.log"; fail "prometheus exited"; }
  ((SECONDS < deadline)) || fail "prometheus not ready within 20s"
  sleep 0.2
done

netns_create
out="$WORK_DIR/dropwatch.out"
ntap_start "$out" --metrics "127.0.0.1:$metrics_port" "$REPO_ROOT/examples/dropwatch.ntp"
wait_for_line "$out" '^Monitoring for dropped packets$'

# Prometheus scrapes ntap successfully (up == 1).
deadline=$((SECONDS + 15))
until [[ "$(query 'up{job="ntap"}' | jq -r '.[0].value[1] // empty')" == 1 ]]; do
  ((SECONDS < deadline)) || { show_file prometheus.log "$WORK_DIR/prometheus.log"; fail "no successful scrape"; }
  sleep 0.2
done

reports() { grep -cE "$CTIME_REGEX" "$out" || true; }
# wait_report N: waits until the script has printed its Nth report header.
wait_report() {
  local deadline=$((SECONDS + 12))
  while (($(reports) < $1)); do
    ((SECONDS < deadline)) || fail "report $1 not printed within 12s"
    kill -0 "$NTAP_PID" 2>/dev/null || { show_file stderr "$out.err"; fail "ntap exited"; }
    sleep 0.02
  done
}

# Right after a report the counts start from zero: make the drops then, and
# again after the next report should they straddle one (a slow machine).
# The sender starts first and waits on a FIFO: an interpreter's startup on a
# loaded machine can take seconds, the sending itself takes milliseconds.
for attempt in 1 2 3; do
  rm -f "$WORK_DIR/go" "$WORK_DIR/sender.out"
  mkfifo "$WORK_DIR/go"
  ip netns exec "$NETNS" python3 "$E2E_DIR/filtered_udp.py" --count "$N" --go "$WORK_DIR/go" \
    >"$WORK_DIR/sender.out" &
  sender=$!
  deadline=$((SECONDS + 30))
  until grep -q '^ready$' "$WORK_DIR/sender.out" 2>/dev/null; do
    ((SECONDS < deadline)) && kill -0 "$sender" 2>/dev/null || fail "the sender did not start"
    sleep 0.05
  done
  first=$(($(reports) + 1))
  wait_report "$first"
  started=$(date +%s.%N)
  echo go >"$WORK_DIR/go"
  wait "$sender" || fail "the sender failed"
  (($(reports) == first)) && break
  note "the drops straddled a report (attempt $attempt); again"
  ((attempt < 3)) || fail "could not make the drops within one 5 s interval"
done
wait_report $((first + 1))
ended=$(date +%s.%N)
window="$(python3 -c "print(int(($ended - $started) * 1000))")ms"

# Scrapes happened in the interval (so the largest value is a real reading).
scrapes="$(query "count_over_time(up{job=\"ntap\"}[$window])" "$ended" | jq -r '.[0].value[1] // 0')"
((scrapes >= 2)) || fail "only $scrapes scrapes in the $window interval"

series="$(query "max_over_time(ntap_locations_count{job=\"ntap\",key2=\"$reason\"}[$window])" "$ended")"
echo "$series" >"$WORK_DIR/series.json"

sleep 0.3 # the report of the interval is printed with its header
python3 - "$WORK_DIR/series.json" "$out" $((first + 1)) "$N" <<'PY' ||
import bisect, json, re, sys
series = json.load(open(sys.argv[1]))
# The script's own report of the interval: the lines after header number `want`.
ctime = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$")
want, headers, block = int(sys.argv[3]), 0, []
for line in open(sys.argv[2]).read().splitlines():
    if ctime.match(line):
        headers += 1
    elif headers == want:
        block.append(line)
report = "\n".join(block)
n = int(sys.argv[4])
# Kernel text symbols, to name each series' location as symdata() does.
syms = []
for line in open("/proc/kallsyms"):
    addr, kind, name = line.split()[:3]
    if kind in "tT":
        syms.append((int(addr, 16), name))
syms.sort()
starts = [a for a, _ in syms]
def where(location):
    address = int(location) & (2**64 - 1)
    i = bisect.bisect_right(starts, address) - 1
    return syms[i][1], address - syms[i][0]
ours = []
for s in series:
    name, offset = where(s["metric"]["key1"])
    if "udp" in name:
        ours.append((name, offset, float(s["value"][1])))
    else:
        print(f"  (another SOCKET_FILTER drop on the machine, left alone: {name}+{offset:#x})", file=sys.stderr)
if len(ours) != 1:
    sys.exit(f"expected one SOCKET_FILTER location in the UDP receive path, got {ours} (series {series})")
name, offset, value = ours[0]
if value != n:
    sys.exit(f"Prometheus has {value} drops at {name}+{offset:#x}, expected {n}")
# The script's own report of that interval says the same.
expected = re.compile(rf"^{n} packets dropped at {re.escape(name)}\+{offset:#x}/0x[0-9a-f]+ \[kernel\] \((SKB_DROP_REASON_)?SOCKET_FILTER\)$", re.M)
if not expected.search(report):
    sys.exit(f"the report does not say {n} drops at {name}+{offset:#x} (SOCKET_FILTER):\n{report}")
print(f"  {n} drops at {name}+{offset:#x} (SOCKET_FILTER) in Prometheus and in the report", file=sys.stderr)
PY
  { show_file stdout "$out"; show_file series "$WORK_DIR/series.json"; fail "scraped series"; }

# ntap_lost_* are served too; nothing was lost.
lost="$(query 'ntap_lost_records_total{job="ntap"}' | jq -r '.[0].value[1] // empty')"
expect_eq "ntap_lost_records_total" 0 "$lost"

ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
