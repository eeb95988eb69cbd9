#!/usr/bin/env bash
# process(...).library("LIB") probes on a shared library the test builds
# (tests/e2e/uprobe/libcount*.c): .function, .return, .mark and .plt in the
# library fire for the named program only, while another program calls the
# same library; the target forms (-c, -x PID); a library without debug info;
# -L; and a library the program does not load.
source "$(dirname "$0")/lib.sh"

command -v gcc >/dev/null || fail "gcc is needed to build the traced programs"
src_dir="$E2E_DIR/uprobe"
lib_dir="$WORK_DIR/lib"            # libntapcount.so with -g
nodebug_dir="$WORK_DIR/nodebug"    # the same without -g
mkdir -p "$lib_dir" "$nodebug_dir"
gcc -g -O0 -shared -fPIC -o "$lib_dir/libntapcount.so" "$src_dir/libcount.c"
gcc -O0 -shared -fPIC -o "$nodebug_dir/libntapcount.so" "$src_dir/libcount.c"
main="$WORK_DIR/count_main"
main_nodebug="$WORK_DIR/count_main_nodebug"
other="$WORK_DIR/count_other"
gcc -g -O0 -o "$main" "$src_dir/libcount_main.c" -L"$lib_dir" -lntapcount -Wl,-rpath,"$lib_dir"
gcc -O0 -o "$main_nodebug" "$src_dir/libcount_main.c" -L"$nodebug_dir" -lntapcount -Wl,-rpath,"$nodebug_dir"
gcc -O0 -o "$other" "$src_dir/libcount_other.c" -L"$lib_dir" -lntapcount -Wl,-rpath,"$lib_dir"
lib="$lib_dir/libntapcount.so"

# run_ntap OUT ARGS...: ntap with a time bound; NTAP_STATUS is its exit status.
run_ntap() {
  local out="$1"
  shift
  NTAP_STATUS=0
  timeout 60 "$NTAP" "$@" >"$out" 2>"$out.err" || NTAP_STATUS=$?
}

# The other program calls count_add(100) every millisecond meanwhile: a
# probe on the library alone would see those calls.
start_other() {
  "$other" 4000 &
  OTHER_PID=$!
}
stop_other() {
  kill "$OTHER_PID" 2>/dev/null || true
  wait "$OTHER_PID" 2>/dev/null || true
}

note "case .function, .return, .mark and .plt in a library fire for the named program only"
start_other
out="$WORK_DIR/library.out"
at="process(\"$main\").library(\"libntapcount.so\")"
run_ntap "$out" -c "$main" -e "probe $at.function(\"count_add\") { printf(\"%s add %d\n\", pp(), \$n) }
probe $at.function(\"count_add\").return { printf(\"total %d\n\", \$return) }
probe $at.mark(\"added\") { printf(\"%s mark %d\n\", pp(), \$arg1) }
probe $at.plt(\"getppid\") { printf(\"%s\n\", pn()) }"
stop_other
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "library: status $NTAP_STATUS"; }
expected=""
for i in 1 2 3; do
  expected+="process(\"$lib\").function(\"count_add\") add $i
process(\"$main\").library(\"$lib\").mark(\"added\") mark $i
process(\"$main\").library(\"$lib\").plt(\"getppid\")
total $((i * (i + 1) / 2))
"
done
expect_eq "library probes output" "${expected%$'\n'}" "$(cat "$out")"

note "case the program's processes only, not the other program's: a probe that waits for none"
start_other
out="$WORK_DIR/filter.out"
run_ntap "$out" -e "global calls
probe process(\"$main\").library(\"libntapcount.so\").function(\"count_add\") { calls++ }
probe process(\"$other\").library(\"libntapcount.so\").function(\"count_add\") { others++ }
global others
probe timer.ms(500) { exit() }
probe end { printf(\"main %d other>0 %d\n\", calls, others > 0) }"
stop_other
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "filter: status $NTAP_STATUS"; }
expect_eq "filter output" "main 0 other>0 1" "$(cat "$out")"

note "case process.library with -c, a library without debug info, @entry in .return"
out="$WORK_DIR/target.out"
run_ntap "$out" -c "$main_nodebug 4" -e "global calls
probe process.library(\"libntapcount.so\").function(\"count_add\") { calls++ }
probe process.library(\"libntapcount.so\").function(\"count_add\").return { printf(\"%d after %d\n\", \$return, @entry(calls)) }
probe end { printf(\"calls %d\n\", calls) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "target: status $NTAP_STATUS"; }
# The companion entry probe may run before or after the counting one: the
# values @entry saw are checked as a set.
expect_eq "target totals" "1
3
6
10
calls 4" "$(sed 's/ after [0-9]*$//' "$out")"
expect_eq "target @entry values" "ok
ok
ok
ok" "$(sed -n 's/^.* after \([0-9]*\)$/\1/p' "$out" |
  awk '{ d = $1 - (NR - 1); print (d == 0 || d == 1) ? "ok" : "bad " $1 }')"

note "case process(PID).library with -x on a running process"
go="$WORK_DIR/go"
"$main" 2 0 "$go" &
waiting=$!
out="$WORK_DIR/pid.out"
( sleep 1; touch "$go" ) &
toucher=$!
run_ntap "$out" -x "$waiting" -e "probe process($waiting).library(\"libntapcount.so\").function(\"count_add\") { printf(\"add %d\n\", \$n) }
probe process.end { if (pid() == target()) exit() }"
wait "$toucher" || true
wait "$waiting" || true
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "-x: status $NTAP_STATUS"; }
expect_eq "-x output" "add 1
add 2" "$(cat "$out")"

note "case -L lists the library's functions with their parameters"
expect_eq "-L" "process(\"$lib\").function(\"count_add\") \$n:int" \
  "$("$NTAP" -L "process(\"$main\").library(\"*\").function(\"count*\")")"

note "case a library the program does not load: an error at the probe point, nothing loaded"
script="$WORK_DIR/nosuch.stp"
printf 'probe process("%s").library("libnosuch.so").function("f") { }\n' "$main" >"$script"
status=0
"$NTAP" "$script" >"$out" 2>"$out.err" || status=$?
expect_eq "no such library: status" 1 "$status"
grep -qF "library 'libnosuch.so' not found for $main" "$out.err" || fail "no such library: $(cat "$out.err")"
grep -qF "at $script:1:7" "$out.err" || fail "no such library position: $(cat "$out.err")"

