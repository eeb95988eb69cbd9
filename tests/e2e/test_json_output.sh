#!/usr/bin/env bash
# --format json: every line of a controlled script's run is strict JSON
# (jq and Python), with exact printf text, histogram buckets and globals.
source "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || fail "jq is not installed (scripts/setup.sh installs it)"
out="$WORK_DIR/json.out"
cat >"$WORK_DIR/j.stp" <<'STP'
global h, shown
probe begin { printf("hello \"json\"\n"); h <<< 1; h <<< 2; h <<< 3; h <<< 100; shown = 42; warn("careful\tnow") }
probe timer.ms(100) { print(@hist_log(h)); exit() }
STP
"$NTAP" -f json "$WORK_DIR/j.stp" >"$out" 2>"$out.err" || { show_file stderr "$out.err"; fail "ntap failed"; }
jq -e . "$out" >/dev/null || { show_file out "$out"; fail "jq rejects the output"; }
python3 - "$out" <<'PY' || { show_file out "$out"; fail "python json check"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert lines[0]["type"] == "printf" and lines[0]["probe"] == "begin" and lines[0]["text"] == 'hello "json"\n', lines[0]
hist = [l for l in lines if l["type"] == "histogram"][0]
assert hist["global"] == "h" and hist["histogram"] == "log", hist
assert hist["buckets"] == [{"value": 1, "count": 1}, {"value": 2, "count": 2}, {"value": 64, "count": 1}], hist
warnings = [l for l in lines if l["type"] == "warning"]
assert [(w["probe"], w["message"]) for w in warnings] == [("begin", "careful\tnow")], warnings
glob = [l for l in lines if l["type"] == "global"]
assert glob == [dict(glob[0], name="shown", value=42)], glob
PY
