#!/usr/bin/env bash
# Every example in examples/ with --format json: jq and Python's json parse
# every line of the output as one strict JSON object, the objects follow
# docs/output.md's schema, and each example's records carry the text its
# traffic makes. The examples run side by side; the traffic is bounded and
# made in a private namespace once all of them are attached: UDP to a closed
# port, TCP sessions and refused connects, and a bulk transfer through a
# lossy rule (retransmissions). Each run is bounded by -T; once every report
# interval after the traffic has passed, the test ends them all with SIGINT
# (what -T does), since on a loaded machine nine startups side by side can
# spread over longer than any fixed -T would leave for the traffic.
source "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || fail "jq is not installed (scripts/setup.sh installs it)"
port=7781
seconds=120 # -T: the bound of each run
netns_create
# Loopback packets of at most 1500 bytes (an MTU of 1500 caps the segment
# size even when the bulk writes queue up and TCP merges them), so the
# transfer is at least 200 packets, and the lossy rule drops every 20th of
# them (a counter, not chance): retransmissions in every run.
ip -n "$NETNS" link set lo mtu 1500 gso_max_size 1500
ip netns exec "$NETNS" nft -f - <<NFT
table inet lossy {
  chain input {
    type filter hook input priority 0;
    tcp dport $((port + 1)) meta length > 500 numgen inc mod 20 == 0 drop
  }
}
NFT

RUN_PIDS=()
kill_runs() {
  local pid
  for pid in "${RUN_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap 'kill_runs; cleanup' EXIT

# traffic_ready KIND: starts the traffic of KIND in the namespace, held
# (tests/e2e/run_on_go.py: an interpreter's startup on a loaded machine can
# take seconds) until traffic_go KIND: udp (20 datagrams to a closed port), tcp
# (2 refused connects, 2 sessions of 2 KiB out, 4 KiB back) or bulk (a
# transfer through the lossy rule: retransmissions).
declare -A TRAFFIC_PID
traffic_ready() {
  local args
  case "$1" in
    udp) args=(send_udp.py --count 20 --port "$port") ;;
    tcp) args=(tcp_traffic.py --port "$port" --refused 2 --sessions 2 --send 2048 --reply 4096) ;;
    bulk) args=(tcp_bulk.py --port "$((port + 1))" --count 300 --size 1000) ;;
  esac
  args[0]="$E2E_DIR/${args[0]}"
  mkfifo "$WORK_DIR/go.$1"
  ip netns exec "$NETNS" python3 "$E2E_DIR/run_on_go.py" "$WORK_DIR/go.$1" "${args[@]}" \
    >"$WORK_DIR/traffic.$1" 2>&1 &
  TRAFFIC_PID[$1]=$!
  RUN_PIDS+=($!)
}
traffic_wait_ready() {
  local deadline=$((SECONDS + 60))
  until grep -q '^ready$' "$WORK_DIR/traffic.$1" 2>/dev/null; do
    ((SECONDS < deadline)) && kill -0 "${TRAFFIC_PID[$1]}" 2>/dev/null || fail "the $1 traffic did not start"
    sleep 0.05
  done
}
traffic_go() {
  echo go >"$WORK_DIR/go.$1"
  wait "${TRAFFIC_PID[$1]}" || { show_file traffic "$WORK_DIR/traffic.$1"; fail "the $1 traffic failed"; }
}

# check_json FILE: jq parses every line of FILE as one object; Python's
# check (validate_all, one interpreter for every file) follows.
JSON_FILES=()
check_json() {
  local file="$1"
  [[ -s "$file" ]] || fail "$file is empty"
  jq -e 'type == "object"' "$file" >/dev/null || { show_file json "$file"; fail "jq rejects $file"; }
  [[ "$(jq -c . "$file" | wc -l)" == "$(wc -l <"$file")" ]] || fail "$file: jq sees another number of objects than lines"
  JSON_FILES+=("$file")
}

# expect_text FILE PROBE_REGEX TEXT_REGEX: a printf record from a probe whose
# name matches PROBE_REGEX has text matching TEXT_REGEX (multi-line); checked
# by validate_all.
expect_text() {
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$WORK_DIR/expect.tsv"
}

# validate_all: Python's json parses every line of every file as one object
# of docs/output.md's schema (strictly: no NaN/Infinity, no duplicate keys,
# valid UTF-8), and every expect_text holds.
validate_all() {
  python3 - "$WORK_DIR/expect.tsv" "${JSON_FILES[@]}" <<'PY' || fail "JSON output check"
import json, re, sys
def reject_constant(name):
    raise ValueError(f"not strict JSON: {name}")
def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)
fields = {"printf": {"text"}, "histogram": {"global", "histogram", "buckets"}, "global": {"name"},
          "warning": {"message"}, "lost": {"kind", "count", "message"}}
records, failed = {}, False
for path in sys.argv[2:]:
    raw = open(path, "rb").read()
    assert raw.endswith(b"\n"), f"{path}: the last line is not ended"
    records[path] = []
    for number, line in enumerate(raw.decode("utf-8").split("\n")[:-1], 1):
        where = f"{path}:{number}"
        record = json.loads(line, parse_constant=reject_constant, object_pairs_hook=no_duplicates)
        assert isinstance(record, dict), f"{where}: not an object"
        kind = record.get("type")
        assert kind in fields, f"{where}: type {kind!r}"
        assert isinstance(record.get("probe"), str), f"{where}: probe"
        assert isinstance(record.get("time_ns"), int) and record["time_ns"] > 0, f"{where}: time_ns"
        missing = fields[kind] - record.keys()
        assert not missing, f"{where}: {kind} without {missing}"
        records[path].append(record)
for spec in open(sys.argv[1], encoding="utf-8").read().splitlines():
    path, probe, text = spec.split("\t")
    if not any(r["type"] == "printf" and re.search(probe, r["probe"]) and re.search(text, r["text"], re.M)
               for r in records[path]):
        failed = True
        print(f"{path}: no printf record from a probe /{probe}/ with text /{text}/; records:", file=sys.stderr)
        for r in records[path][:20]:
            print(f"  {json.dumps(r)[:300]}", file=sys.stderr)
sys.exit(1 if failed else 0)
PY
}

# start_json NAME[:EXAMPLE] READY ARGS...: starts examples/EXAMPLE.ntp (or
# NAME.ntp) ARGS with -f json -T $seconds, its output in $WORK_DIR/NAME.json; READY is a regex its output
# shows once attached, or "" (no begin output) to wait for its BPF programs.
declare -A PID READY
start_json() {
  local name="${1%%:*}" example="${1#*:}"
  READY[$name]="$2"
  shift 2
  "$NTAP" -f json -T "$seconds" "$REPO_ROOT/examples/$example.ntp" "$@" >"$WORK_DIR/$name.json" \
    2>"$WORK_DIR/$name.json.err" &
  PID[$name]=$!
  RUN_PIDS+=($!)
}
wait_attached() {
  local name="$1" deadline=$((SECONDS + 90))
  while :; do
    if [[ -n "${READY[$name]}" ]]; then
      grep -Eq "${READY[$name]}" "$WORK_DIR/$name.json" && return 0
    elif [[ -n "$(prog_ids_of_pid "${PID[$name]}")" ]]; then
      sleep 1 # loaded; attached right after
      return 0
    fi
    kill -0 "${PID[$name]}" 2>/dev/null || { show_file stderr "$WORK_DIR/$name.json.err"; fail "$name exited"; }
    ((SECONDS < deadline)) || fail "$name not attached within 90s"
    sleep 0.1
  done
}
wait_ended() {
  local name="$1" deadline=$((SECONDS + 30)) status=0
  while kill -0 "${PID[$name]}" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$name did not end after SIGINT"
    sleep 0.1
  done
  wait "${PID[$name]}" || status=$?
  [[ "$status" == 0 ]] || { show_file stderr "$WORK_DIR/$name.json.err"; fail "$name: exit status $status"; }
  check_json "$WORK_DIR/$name.json"
  note "$name: $(wc -l <"$WORK_DIR/$name.json") JSON lines"
}

begin='"probe":"begin"'
for kind in udp tcp bulk; do traffic_ready "$kind"; done
start_json dropwatch "$begin"
start_json dropmon "$begin"
start_json nettop "" 1
start_json socktop "" 1
start_json tcpstates "$begin" "$port"
start_json tcplife "$begin" "$port"
start_json tcpreset "$begin"
start_json tcpretrans_count:tcpretrans "$begin" count
start_json tcpretrans "$begin"
start_json tcpflow "$begin" "$port"
for kind in udp tcp bulk; do traffic_wait_ready "$kind"; done
for name in "${!PID[@]}"; do wait_attached "$name"; done
note "all attached after ${SECONDS}s"
for kind in udp tcp bulk; do traffic_go "$kind"; done
note "traffic made after ${SECONDS}s"
for name in "${!PID[@]}"; do
  kill -0 "${PID[$name]}" 2>/dev/null || fail "$name ended (-T $seconds) before the traffic was made"
done
sleep 6 # dropwatch reports every 5 s, the others every second
for name in "${!PID[@]}"; do kill -INT "${PID[$name]}"; done
for name in "${!PID[@]}"; do wait_ended "$name"; done

out="$WORK_DIR/dropwatch.json"
expect_text "$out" '^begin$' '^Monitoring for dropped packets$'
expect_text "$out" '^timer' '^[0-9]+ packets dropped at __udp4_lib_rcv\+0x[0-9a-f]+/0x[0-9a-f]+ \[kernel\] \((SKB_DROP_REASON_)?NO_SOCKET\)$'
expect_text "$out" '^end$' '^Stopping dropped packet monitor$'

out="$WORK_DIR/dropmon.json"
expect_text "$out" '^begin$' '^dropmon: alerts every 1 s$'
expect_text "$out" '^timer' "^ALERT [0-9]+ dropped at __udp4_lib_rcv\+.* IPv4/UDP dev lo 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$port$"

expect_text "$WORK_DIR/nettop.json" '^timer' ' lo +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ python3'
expect_text "$WORK_DIR/socktop.json" '^timer' 'python3 +INET +UDP'

out="$WORK_DIR/tcpstates.json"
expect_text "$out" '^begin$' '^SKADDR'
expect_text "$out" 'state_change|inet_sock_set_state' ' SYN_SENT +-> ESTABLISHED '

expect_text "$WORK_DIR/tcplife.json" 'state_change|inet_sock_set_state' "127\.0\.0\.1 +$port +2 +4 "

out="$WORK_DIR/tcpreset.json"
expect_text "$out" 'send_reset|tcp_send_reset' "^TX +127\.0\.0\.1 +$port "
expect_text "$out" '^end$' "^sent 1 resets 127\.0\.0\.1:$port -> 127\.0\.0\.1:[0-9]+$"

expect_text "$WORK_DIR/tcpretrans_count.json" '^end$' "^127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:$((port + 1)) +[0-9]+$"
expect_text "$WORK_DIR/tcpretrans.json" 'retransmit' " R> +127\.0\.0\.1:$((port + 1)) "

expect_text "$WORK_DIR/tcpflow.json" 'state_change|inet_sock_set_state' " established +127\.0\.0\.1:[0-9]+ 127\.0\.0\.1:$port cwnd="

validate_all

# Every example was run: a new one needs its case here.
for example in "$REPO_ROOT"/examples/*.ntp; do
  name="$(basename "$example" .ntp)"
  [[ -n "${PID[$name]:-}" ]] || fail "examples/$name.ntp is not run in JSON mode by this test"
done
