#!/usr/bin/env bash
# -p4 writes the kernel side as one BPF object, also when a script has so many
# kernel probes that they are compiled as several objects: these are linked
# into one, which the kernel accepts as it is.
source "$(dirname "$0")/lib.sh"

script="$WORK_DIR/many.ntp"
{
  echo "global n, at"
  for i in $(seq 1 24); do
    echo "probe kernel.trace(\"kfree_skb\") { n++; at[$i] += \$skb->len }"
  done
  # Only the last program (in the last unit) prints: the ring buffer is
  # declared in that unit and, once, in the first, which creates the maps.
  echo 'probe kernel.trace("kfree_skb") { if ($skb->len == 1) printf("%d\n", n) }'

  echo 'probe end { printf("%d %d\n", n, at[1]) }'
} >"$script"

note "case -p4 with 25 kernel probes"
object="$WORK_DIR/many.o"
status=0
"$NTAP" -v -p4 -o "$object" "$script" >"$WORK_DIR/p4.out" 2>"$WORK_DIR/p4.err" || status=$?
expect_eq "-p4 exit status" 0 "$status"
grep -q 'in [2-9] units' "$WORK_DIR/p4.err" || { show_file stderr "$WORK_DIR/p4.err"; fail "the programs were not split"; }
expect_eq "-p4 prints the path" "$object" "$(cat "$WORK_DIR/p4.out")"

# One object: every program and each map once.
programs=$(bpftool -j btf dump file "$object" | python3 -c '
import json, sys
types = json.load(sys.stdin)["types"]
print(sum(1 for t in types if t["kind"] == "FUNC" and t["name"].startswith("probe_")))')
expect_eq "programs in the object" 25 "$programs"
maps=$(bpftool -j btf dump file "$object" | python3 -c '
import json, sys
types = json.load(sys.stdin)["types"]
sec = [t for t in types if t["kind"] == "DATASEC" and t["name"] == ".maps"]
names = {t["id"]: t["name"] for t in types}
print(" ".join(sorted(names[v["type_id"]] for v in sec[0]["vars"])) if sec else "")')
expect_eq "maps in the object, each once" "events g_at globals" "$maps"

# The kernel loads it as written.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
pins="/sys/fs/bpf/ntap-e2e-$$"
bpftool prog loadall "$object" "$pins" >"$WORK_DIR/load.err" 2>&1 || { show_file bpftool "$WORK_DIR/load.err"; rm -rf "$pins"; fail "bpftool could not load the object"; }
loaded=$(ls "$pins" | wc -l)
rm -rf "$pins"
expect_eq "programs loaded from the object" 25 "$loaded"
