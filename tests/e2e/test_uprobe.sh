#!/usr/bin/env bash
# process(...) probes on a small C program the test builds (tests/e2e/uprobe/prog.c):
# .function call and .return with $params and $return from DWARF, .statement
# on a source line, .mark on SDT notes, target() filtering, the program
# without debug info, uaddr/usymname/usymdata, and -l/-L.
source "$(dirname "$0")/lib.sh"

command -v gcc >/dev/null || fail "gcc is needed to build the traced program"
src="$E2E_DIR/uprobe/prog.c"
prog="$WORK_DIR/prog_g"        # -g -O0, PIE
prog_o2="$WORK_DIR/prog_o2"    # -g -O2: registers and location lists
prog_nodebug="$WORK_DIR/prog_nodebug"  # no -g, not PIE: link-time addresses are run-time ones
gcc -g -O0 -o "$prog" "$src"
gcc -g -O2 -o "$prog_o2" "$src"
gcc -O0 -no-pie -o "$prog_nodebug" "$src"
return_line=$(grep -n 'LINE_RETURN' "$src" | cut -d: -f1)

# run_ntap OUT ARGS...: ntap with a time bound; NTAP_STATUS is its exit status.
run_ntap() {
  local out="$1"
  shift
  NTAP_STATUS=0
  timeout 60 "$NTAP" "$@" >"$out" 2>"$out.err" || NTAP_STATUS=$?
}

note "case .function and .return with \$param and \$return (-g)"
out="$WORK_DIR/call.out"
run_ntap "$out" -c "$prog" -e "probe process(\"$prog\").function(\"twice_plus_one\") { printf(\"call x=%d\n\", \$x) }
probe process(\"$prog\").function(\"twice_plus_one\").return { printf(\"return %d\n\", \$return) }
probe process(\"$prog\").function(\"negate_sum\") { printf(\"sum %d %d\n\", \$a, \$b) }
probe process(\"$prog\").function(\"negate_sum\").return { printf(\"negated %d\n\", \$return) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "call/return: status $NTAP_STATUS"; }
expect_eq "call/return output" "call x=7
return 15
sum 0 10
negated -10
call x=7
return 15
sum 1 10
negated -11
call x=7
return 15
sum 2 10
negated -12" "$(cat "$out")"

note "case \$p->member chains, [i] on pointers and array members, & (-g and -O2)"
for p in "$prog" "$prog_o2"; do
  out="$WORK_DIR/members.out"
  run_ntap "$out" -c "$p" -e "probe process(\"$p\").function(\"walk_points\") {
  printf(\"%d %d %d %d %d %d %d\n\", \$p->x, \$p->y, \$p->next->x, \$p->next->y, \$all[1]->tags[2],
         \$p->tags[3], &\$p->y - \$p)
  printf(\"%d %d\n\", \$p->next->next, \$all[1]->x) }"
  [[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "members: status $NTAP_STATUS"; }
  expect_eq "members output ($(basename "$p"))" "3 4 -5 600 -30 4 8
0 -5" "$(cat "$out")"
done
status=0
"$NTAP" -p2 -e "probe process(\"$prog\").function(\"walk_points\") { println(\$p->z) }" >"$out" 2>"$out.err" || status=$?
expect_eq "no such member: status" 1 "$status"
grep -qF "\$p has no member 'z' (struct point)" "$out.err" || fail "no such member: $(cat "$out.err")"

note "case .statement on a source line with a local variable"
out="$WORK_DIR/statement.out"
run_ntap "$out" -c "$prog" -e "probe process(\"$prog\").statement(\"twice_plus_one@prog.c:$return_line\") {
  printf(\"%s doubled=%d\n\", pp(), \$doubled) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "statement: status $NTAP_STATUS"; }
line="process(\"$prog\").statement(\"twice_plus_one@$src:$return_line\") doubled=14"
expect_eq "statement output" "$line
$line
$line" "$(cat "$out")"

note "case .mark with \$argN from the SDT note (-O0: stack slots; -O2: a constant and a register)"
for p in "$prog" "$prog_o2"; do
  out="$WORK_DIR/mark.out"
  run_ntap "$out" -c "$p" -e "probe process(\"$p\").mark(\"tick\") { printf(\"tick %d %d\n\", \$arg1, \$arg2) }"
  [[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "mark: status $NTAP_STATUS"; }
  expect_eq "mark output ($(basename "$p"))" "tick 7 0
tick 7 1
tick 7 2" "$(cat "$out")"
done

note "case -O2: parameters from location lists"
out="$WORK_DIR/o2.out"
run_ntap "$out" -c "$prog_o2" -e "probe process(\"$prog_o2\").function(\"negate_sum\") { printf(\"%d %d\n\", \$a, \$b) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "-O2: status $NTAP_STATUS"; }
expect_eq "-O2 parameters" "0 10
1 10
2 10" "$(cat "$out")"

note "case process.function without a path follows the -c target only"
# Another copy of the program runs meanwhile; its calls are not the target's.
( for _ in $(seq 200); do "$prog" 5; done ) &
other=$!
out="$WORK_DIR/target.out"
run_ntap "$out" -c "$prog 4" -e 'probe process.function("twice_plus_one") { printf("%d %d\n", pid() == target(), $x) }'
kill "$other" 2>/dev/null || true
wait "$other" 2>/dev/null || true
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "target: status $NTAP_STATUS"; }
expect_eq "target() filter" "1 7
1 7
1 7
1 7" "$(cat "$out")"

note "case process.function without a path or target is an error"
run_ntap "$WORK_DIR/notarget.out" -e 'probe process.function("main") { }'
expect_eq "no target: status" 1 "$NTAP_STATUS"
grep -q '<input>:1:7' "$WORK_DIR/notarget.out.err" && grep -q 'needs a target process (-c CMD or -x PID)' "$WORK_DIR/notarget.out.err" ||
  { show_file stderr "$WORK_DIR/notarget.out.err"; fail "no target: message"; }

note "case no debug info: \$param is an error naming the script position"
run_ntap "$WORK_DIR/nodebug.out" -c "$prog_nodebug" -e "probe process(\"$prog_nodebug\").function(\"twice_plus_one\") {
  printf(\"%d\n\", \$x) }"
expect_eq "no debug info: status" 1 "$NTAP_STATUS"
expect_eq "no debug info: output" "" "$(cat "$WORK_DIR/nodebug.out")"
grep -q '<input>:2:18' "$WORK_DIR/nodebug.out.err" && grep -q 'has no DWARF debug info' "$WORK_DIR/nodebug.out.err" ||
  { show_file stderr "$WORK_DIR/nodebug.out.err"; fail "no debug info: message"; }

note "case no debug info: \$return, uaddr(), usymname(), usymdata() still work"
address=$(nm "$prog_nodebug" | awk '$3 == "twice_plus_one" { print $1 }')
size=$(nm -S "$prog_nodebug" | awk '$4 == "twice_plus_one" { print $2 }')
out="$WORK_DIR/nodebug2.out"
run_ntap "$out" -c "$prog_nodebug 2" -e "probe process(\"$prog_nodebug\").function(\"twice_plus_one\") {
  printf(\"%x %s %s\n\", uaddr(), usymname(uaddr()), usymdata(uaddr())) }
probe process(\"$prog_nodebug\").function(\"twice_plus_one\").return { printf(\"%d\n\", \$return) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "no debug info 2: status $NTAP_STATUS"; }
first="$(printf '%x' "0x$address") twice_plus_one twice_plus_one+0x0/$(printf '0x%x' "0x$size") [$prog_nodebug]"
expect_eq "no debug info: \$return and symbols" "$first
15
$first
15" "$(cat "$out")"

note "case -l and -L list process probes"
expect_eq "-l functions" "process(\"$prog\").function(\"negate_sum\")
process(\"$prog\").function(\"twice_plus_one\")" "$("$NTAP" -l "process(\"$prog\").function(\"[nt]*\")")"
expect_eq "-l mark" "process(\"$prog\").mark(\"tick\")" "$("$NTAP" -l "process(\"$prog\").mark(\"*\")")"
expect_eq "-L function" "process(\"$prog\").function(\"twice_plus_one\") \$x:int \$doubled:int" \
  "$("$NTAP" -L "process(\"$prog\").function(\"twice_plus_one\")")"
expect_eq "-L return" "process(\"$prog\").function(\"negate_sum\").return \$return:long int" \
  "$("$NTAP" -L "process(\"$prog\").function(\"negate_sum\").return")"

note "case a program found on \$PATH"
expect_eq "-l through PATH" "process(\"$prog\").function(\"twice_plus_one\")" \
  "$(PATH="$WORK_DIR:$PATH" "$NTAP" -l 'process("prog_g").function("twice_plus_one")')"

note "case ubacktrace() and print_ubacktrace() (frame pointers of -O0 code)"
out="$WORK_DIR/stack.out"
run_ntap "$out" -c "$prog 1 300" -e "probe process(\"$prog\").function(\"twice_plus_one\") {
  print_ubacktrace(); printf(\"%s\n\", ubacktrace()) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "backtrace: status $NTAP_STATUS"; }
sed -n 1p "$out" | grep -Eq "^ 0x[0-9a-f]{16} : twice_plus_one\+0x[0-9a-f]+/0x[0-9a-f]+ \[$prog\]$" &&
  sed -n 2p "$out" | grep -Eq "^ 0x[0-9a-f]{16} : main\+0x[0-9a-f]+/0x[0-9a-f]+ \[$prog\]$" ||
  { show_file output "$out"; fail "print_ubacktrace: the first frames are not twice_plus_one and main"; }
# ubacktrace() is the same stack as hex addresses, innermost first.
frames=$(grep -c '^ 0x' "$out")
hex_line=$(tail -1 "$out")
expect_eq "ubacktrace() frames" "$frames" "$(wc -w <<<"$hex_line")"
expect_eq "ubacktrace() first frame" "$(sed -n 1p "$out" | awk '{ print $1 }' | sed 's/^0x0*/0x/')" "${hex_line%% *}"

note "case print_ustack(ubacktrace()) prints what print_ubacktrace() does"
out="$WORK_DIR/ustack.out"
run_ntap "$out" -c "$prog 1 300" -e "probe process(\"$prog\").function(\"twice_plus_one\") {
  print_ubacktrace(); printf(\"--\\n\"); print_ustack(ubacktrace()); printf(\"%s\", sprint_ustack(ubacktrace())) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "print_ustack: status $NTAP_STATUS"; }
first=$(sed -n '1,/^--$/p' "$out" | grep '^ 0x')
second=$(sed -n '/^--$/,$p' "$out" | grep '^ 0x')
[[ -n "$first" ]] || { show_file output "$out"; fail "print_ustack: no frames"; }
expect_eq "print_ustack and sprint_ustack" "$first
$first" "$second"
status=0
"$NTAP" -p4 -o "$WORK_DIR/x.o" -e "probe process(\"$prog\").function(\"twice_plus_one\") { print_ustack(\"0x1\") }" \
  >/dev/null 2>"$WORK_DIR/ustack.err" || status=$?
expect_eq "print_ustack of text: status" 1 "$status"
grep -q "must be ubacktrace() itself" "$WORK_DIR/ustack.err" || { show_file stderr "$WORK_DIR/ustack.err"; fail "print_ustack of text: message"; }

note "case ucallers(n), ustack(n), print_usyms and sprint_usyms"
# Views of the stack ubacktrace() takes: ucallers(0) its first address,
# ucallers(1) two, ustack(n) the address at depth n, print_usyms and
# sprint_usyms one line per address as written, with its usymdata().
out="$WORK_DIR/usyms.out"
run_ntap "$out" -c "$prog 1 300" -e "probe process(\"$prog\").function(\"twice_plus_one\") {
  printf(\"ubt %s\n\", ubacktrace()); printf(\"uc0 %s\n\", ucallers(0)); printf(\"uc1 %s\n\", ucallers(1))
  printf(\"us %x %x %s %s\n\", ustack(0), ustack(1), usymname(ustack(1)), usymdata(ustack(0)))
  print_usyms(ucallers(1)); printf(\"--\n%s\", sprint_usyms(ubacktrace())) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "usyms: status $NTAP_STATUS"; }
python3 - "$out" "$prog" <<'PY' || { show_file output "$out"; fail "ucallers/ustack/print_usyms output"; }
import re, sys
lines, prog = open(sys.argv[1]).read().split("\n"), sys.argv[2]
ubt = lines[0].split(" ")
assert ubt[0] == "ubt" and len(ubt) >= 3, lines[0]
ubt = ubt[1:]
sym = r"\+0x[0-9a-f]+/0x[0-9a-f]+ \[" + re.escape(prog) + r"\]$"
assert lines[1] == "uc0 " + ubt[0], lines[1]
assert lines[2] == "uc1 " + " ".join(ubt[:2]), lines[2]
us = re.match(r"^us ([0-9a-f]+) ([0-9a-f]+) main (twice_plus_one" + sym + ")", lines[3])
assert us and "0x" + us.group(1) == ubt[0] and "0x" + us.group(2) == ubt[1], lines[3]
usyms = lines[4:6]
assert re.match("^ " + ubt[0] + " : twice_plus_one" + sym, usyms[0]), usyms[0]
assert re.match("^ " + ubt[1] + " : main" + sym, usyms[1]), usyms[1]
assert lines[6] == "--", lines[6]
rest = lines[7:7 + len(ubt)]
assert rest[:2] == usyms, rest
assert [l.split(" ")[1] for l in rest] == ubt, rest
PY

note "case \$\$return"
out="$WORK_DIR/dump.out"
run_ntap "$out" -c "$prog 2" -e "probe process(\"$prog\").function(\"negate_sum\").return { println(\$\$return) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "\$\$return: status $NTAP_STATUS"; }
expect_eq "\$\$return" "return=0xfffffffffffffff6
return=0xfffffffffffffff5" "$(cat "$out")"

note "case @entry(\$param) in a .return probe"
out="$WORK_DIR/entry.out"
run_ntap "$out" -c "$prog" -e "probe process(\"$prog\").function(\"negate_sum\").return {
  printf(\"%d+%d -> %d\n\", @entry(\$a), @entry(\$b * 2), \$return) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "@entry: status $NTAP_STATUS"; }
expect_eq "@entry values" "0+20 -> -10
1+20 -> -11
2+20 -> -12" "$(cat "$out")"

note "case .plt and .plt.return count the calls through each PLT entry, with \$\$name"
# tests/e2e/uprobe/plt.c calls getppid N times through .plt (.plt.sec with
# IBT entries) and getuid twice through .plt.got, and once through a pointer,
# which no entry sees.
plt_src="$E2E_DIR/uprobe/plt.c"
plt="$WORK_DIR/plt"
gcc -O0 -o "$plt" "$plt_src"
plt_programs=("$plt")
if gcc -O0 -fcf-protection -Wl,-z,ibtplt -o "$WORK_DIR/plt_ibt" "$plt_src" 2>/dev/null &&
  objdump -h "$WORK_DIR/plt_ibt" | grep -q ' \.plt\.sec '; then
  plt_programs+=("$WORK_DIR/plt_ibt")
else
  note "this toolchain writes no .plt.sec (-z ibtplt): only the .plt layout is run"
fi
for p in "${plt_programs[@]}"; do
  out="$WORK_DIR/plt.out"
  run_ntap "$out" -c "$p 4" -e "global calls, returns
probe process(\"$p\").plt(\"get*\") { calls[\$\$name]++ }
probe process(\"$p\").plt(\"get*\").return { returns[\$\$name]++ }
probe end { foreach (f+ in calls) printf(\"%s %d %d\n\", f, calls[f], returns[f]) }"
  [[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "plt: status $NTAP_STATUS"; }
  expect_eq "plt calls and returns ($(basename "$p"))" "getppid 4 4
getuid 2 2" "$(cat "$out")"
done

note "case .plt: pp() names the entry by address, pn() by its function"
entry=$(objdump -d -j .plt "$plt" | sed -n 's/^0*\([0-9a-f][0-9a-f]*\) <getppid@plt>:$/\1/p')
[[ -n "$entry" ]] || fail "objdump shows no getppid@plt in $plt"
out="$WORK_DIR/plt_pp.out"
run_ntap "$out" -c "$plt 1" -e "probe process(\"$plt\").plt(\"getppid\") { printf(\"%s %s\n\", pp(), pn()) }
probe process(\"$plt\").plt(\"getppid\").return { printf(\"%s %s\n\", pp(), pn()) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "plt pp: status $NTAP_STATUS"; }
expect_eq "plt pp() and pn()" "process(\"$plt\").statement(0x$entry) process(\"$plt\").plt(\"getppid\")
process(\"$plt\").statement(0x$entry).return process(\"$plt\").plt(\"getppid\").return" "$(cat "$out")"

note "case process.plt without a path follows the -c target only"
( for _ in $(seq 100); do "$plt" 5; done ) &
other=$!
out="$WORK_DIR/plt_target.out"
run_ntap "$out" -c "$plt 2" -e 'probe process.plt("getppid") { printf("%d %s\n", pid() == target(), $$name) }'
kill "$other" 2>/dev/null || true
wait "$other" 2>/dev/null || true
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "plt target: status $NTAP_STATUS"; }
expect_eq "plt target() filter" "1 getppid
1 getppid" "$(cat "$out")"

note "case .plt errors name the script position, -l and -L list the entries"
run_ntap "$WORK_DIR/plt_nomatch.out" -p2 -e "probe process(\"$plt\").plt(\"no_such_import\") { }"
expect_eq "plt no match: status" 1 "$NTAP_STATUS"
grep -q '<input>:1:7' "$WORK_DIR/plt_nomatch.out.err" && grep -q 'no match for probe point' "$WORK_DIR/plt_nomatch.out.err" ||
  { show_file stderr "$WORK_DIR/plt_nomatch.out.err"; fail "plt no match: message"; }
run_ntap "$WORK_DIR/plt_missing.out" -p2 -e 'probe process("/nonexistent/plt").plt { }'
expect_eq "plt missing program: status" 1 "$NTAP_STATUS"
grep -q '<input>:1:7' "$WORK_DIR/plt_missing.out.err" &&
  grep -q "cannot find '/nonexistent/plt': No such file or directory" "$WORK_DIR/plt_missing.out.err" ||
  { show_file stderr "$WORK_DIR/plt_missing.out.err"; fail "plt missing program: message"; }
expect_eq "-l plt" "process(\"$plt\").plt(\"getppid\")
process(\"$plt\").plt(\"getuid\")" "$("$NTAP" -l "process(\"$plt\").plt(\"get*\")")"
expect_eq "-L plt" "process(\"$plt\").plt(\"getppid\").return \$\$name:string" \
  "$("$NTAP" -L "process(\"$plt\").plt(\"getppid\").return")"

note "case .function(PAT).inline: each inlined copy, with its parameters"
inline="$WORK_DIR/inline"
gcc -g -O2 -o "$inline" "$E2E_DIR/uprobe/inline.c"
out="$WORK_DIR/inline.out"
run_ntap "$out" -c "$inline" -e "probe process(\"$inline\").function(\"scaled\").inline { printf(\"%s %d\n\", pn(), \$v) }"
[[ "$NTAP_STATUS" == 0 ]] || { show_file stderr "$out.err"; fail "inline: status $NTAP_STATUS"; }
expect_eq "inlined copies and their parameters" "process(\"$inline\").function(\"scaled\").inline 1
process(\"$inline\").function(\"scaled\").inline 2
process(\"$inline\").function(\"scaled\").inline 3
process(\"$inline\").function(\"scaled\").inline 11
process(\"$inline\").function(\"scaled\").inline 12
process(\"$inline\").function(\"scaled\").inline 13" "$(sort -t' ' -k2 -n "$out")"
expect_eq "-l lists the copies" "process(\"$inline\").function(\"scaled\").inline" \
  "$("$NTAP" -l "process(\"$inline\").function(\"scal*\").inline" | sort -u)"
status=0
"$NTAP" -p2 -e "probe process(\"$prog_nodebug\").function(\"main\").inline { }" >/dev/null 2>"$WORK_DIR/inline.err" || status=$?
expect_eq "inline without debug info: status" 1 "$status"
grep -q ".inline probes need debug info" "$WORK_DIR/inline.err" || { show_file stderr "$WORK_DIR/inline.err"; fail "inline: message"; }
