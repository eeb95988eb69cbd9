#!/usr/bin/env bash
# Statistics and histograms, exact output: @variance, @hist_log, @hist_linear
# (scalars and arrays, bucket indexing, foreach over extractor sorts), the
# report of written-but-never-read globals, and kernel-side histograms of
# real traffic (N datagrams of one size all land in one bucket).
source "$(dirname "$0")/lib.sh"

cases=0
# expect_output NAME SCRIPT EXPECTED: runs `ntap -e SCRIPT` (user probes only)
# and compares its whole stdout.
expect_output() {
  local name="$1" script="$2" expected="$3" actual status=0
  cases=$((cases + 1))
  note "case $name"
  actual="$(timeout 30 "$NTAP" -w -e "$script" 2>"$WORK_DIR/err")" || status=$?
  if [[ $status -ne 0 || "$actual" != "$expected" ]]; then
    echo "---- expected ----" >&2
    printf '%s\n' "$expected" >&2
    echo "---- actual (status $status) ----" >&2
    printf '%s\n' "$actual" >&2
    show_file stderr "$WORK_DIR/err"
    fail "$name"
  fi
}

# expect_error NAME SCRIPT REGEX: the script is rejected (status 1) with a
# diagnostic matching REGEX.
expect_error() {
  local name="$1" script="$2" regex="$3" status=0
  cases=$((cases + 1))
  note "case $name"
  timeout 30 "$NTAP" -e "$script" >/dev/null 2>"$WORK_DIR/err" || status=$?
  [[ $status -eq 1 ]] || fail "$name: expected status 1, got $status"
  grep -Eq -- "$regex" "$WORK_DIR/err" || { show_file stderr "$WORK_DIR/err"; fail "$name: no /$regex/"; }
}

header='value |-------------------------------------------------- count'

# ---- @variance -------------------------------------------------------------
expect_output "variance of 1..4 (stap's integer Welford)" \
  'global s probe begin { for (i = 1; i <= 4; i++) s <<< i; println(@variance(s)); exit() }' "5"
expect_output "variance with a bit shift" \
  'global s probe begin { for (i = 1; i <= 4; i++) s <<< i; println(@variance(s, 8)); exit() }' "1"
expect_output "variance of one value" \
  'global s probe begin { s <<< 42; println(@variance(s)); exit() }' "0"
expect_output "variance of 0 and 10" \
  'global s probe begin { s <<< 0; s <<< 10; println(@variance(s)); exit() }' "50"
expect_output "variance of array elements" \
  'global a probe begin { a["x"] <<< 0; a["x"] <<< 10; a["y"] <<< 3; printf("%d %d\n", @variance(a["x"]), @variance(a["y"])); exit() }' "50 0"
expect_error "variance of an empty aggregate" \
  'global s probe begin { if (0) s <<< 1; println(@variance(s)); exit() }' 'empty aggregate'
expect_error "variance shifts must agree" \
  'global s probe begin { s <<< 1; println(@variance(s, 1), @variance(s, 2)); exit() }' 'bit shift 2 differs from 1'

# ---- @hist_log ---------------------------------------------------------------
expect_output "hist_log of small values" \
  'global s probe begin { s <<< 1; s <<< 2; s <<< 2; s <<< 3; s <<< 8; print(@hist_log(s)); exit() }' \
  "$header
    0 |                                                   0
    1 |@                                                  1
    2 |@@@                                                3
    4 |                                                   0
    8 |@                                                  1
   16 |                                                   0
   32 |                                                   0"
expect_output "hist_log elides long empty runs" \
  'global s probe begin { s <<< 1; s <<< 1000; print(@hist_log(s)); exit() }' \
  "$header
    0 |                                                   0
    1 |@                                                  1
    2 |                                                   0
    4 |                                                   0
      ~
  128 |                                                   0
  256 |                                                   0
  512 |@                                                  1
 1024 |                                                   0
 2048 |                                                   0"
expect_output "hist_log of negative values" \
  'global s probe begin { s <<< -5; s <<< 0; s <<< 3; print(@hist_log(s)); exit() }' \
  "$header
  -16 |                                                   0
   -8 |                                                   0
   -4 |@                                                  1
   -2 |                                                   0
   -1 |                                                   0
    0 |@                                                  1
    1 |                                                   0
    2 |@                                                  1
    4 |                                                   0
    8 |                                                   0"
expect_output "hist_log scales bars to 50 columns" \
  'global s probe begin { for (i = 0; i < 120; i++) s <<< 7; s <<< 3; s <<< 40; print(@hist_log(s)); exit() }' \
  "$header
    0 |                                                     0
    1 |                                                     0
    2 |                                                     1
    4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           120
    8 |                                                     0
   16 |                                                     0
   32 |                                                     1
   64 |                                                     0
  128 |                                                     0"
expect_output "hist_log of an array element, println adds a newline" \
  'global a probe begin { a[1, "x"] <<< 16; println(@hist_log(a[1, "x"])); print("end\n"); exit() }' \
  "$header
    4 |                                                   0
    8 |                                                   0
   16 |@                                                  1
   32 |                                                   0
   64 |                                                   0


end"
expect_output "hist_log bucket indexing" \
  'global s probe begin { s <<< 0; s <<< 5; s <<< 6; s <<< 7; printf("%d %d %d\n", @hist_log(s)[64], @hist_log(s)[67], @hist_log(s)[68]); exit() }' \
  "1 3 0"
expect_error "hist_log bucket out of range" \
  'global s probe begin { s <<< 1; println(@hist_log(s)[128]); exit() }' 'histogram index out of range'
expect_output "empty hist_log prints its header" \
  'global s probe begin { if (0) s <<< 1; print(@hist_log(s)); exit() }' "$header"
expect_error "hist_log of a missing array element" \
  'global a probe begin { a[1] <<< 1; print(@hist_log(a[2])); exit() }' 'aggregate element not found'

# ---- @hist_linear --------------------------------------------------------------
expect_output "hist_linear 0..100 step 10" \
  'global s probe begin { for (i = 0; i < 100; i++) s <<< i; print(@hist_linear(s, 0, 100, 10)); exit() }' \
  "$header
    0 |@@@@@@@@@@                                         10
   10 |@@@@@@@@@@                                         10
   20 |@@@@@@@@@@                                         10
   30 |@@@@@@@@@@                                         10
   40 |@@@@@@@@@@                                         10
   50 |@@@@@@@@@@                                         10
   60 |@@@@@@@@@@                                         10
   70 |@@@@@@@@@@                                         10
   80 |@@@@@@@@@@                                         10
   90 |@@@@@@@@@@                                         10
  100 |                                                    0"
expect_output "hist_linear underflow and overflow rows" \
  'global s probe begin { s <<< -3; s <<< 5; s <<< 55; s <<< 500; s <<< 200; print(@hist_linear(s, 0, 50, 10)); exit() }' \
  "$header
   <0 |@                                                  1
    0 |@                                                  1
   10 |                                                   0
   20 |                                                   0
   30 |                                                   0
   40 |                                                   0
   50 |@                                                  1
  >50 |@@                                                 2"
expect_output "hist_linear of array elements in a foreach" \
  'global a probe begin { a["x"] <<< 42; a["x"] <<< 42; a["y"] <<< 12; foreach (k+ in a) { println(k); print(@hist_linear(a[k], 0, 100, 10)) } exit() }' \
  "x
$header
   20 |                                                   0
   30 |                                                   0
   40 |@@                                                 2
   50 |                                                   0
   60 |                                                   0

y
$header
    0 |                                                   0
   10 |@                                                  1
   20 |                                                   0
   30 |                                                   0"
expect_output "hist_linear bucket indexing" \
  'global s probe begin { s <<< -1; s <<< 25; s <<< 26; s <<< 99; printf("%d %d %d\n", @hist_linear(s, 0, 50, 10)[0], @hist_linear(s, 0, 50, 10)[3], @hist_linear(s, 0, 50, 10)[7]); exit() }' \
  "1 2 1"
expect_error "hist_linear with a zero interval" \
  'global s probe begin { s <<< 1; print(@hist_linear(s, 0, 10, 0)); exit() }' 'interval must be positive'
expect_error "hist_linear with too many buckets" \
  'global s probe begin { s <<< 1; print(@hist_linear(s, 0, 1000, 1)); exit() }' 'number of buckets must be between 1 and 126'
expect_error "histograms of one aggregate must agree" \
  'global s probe begin { s <<< 1; print(@hist_log(s)); print(@hist_linear(s, 0, 10, 1)); exit() }' 'inconsistent histogram'
expect_error "a histogram is not a value" \
  'global s probe begin { s <<< 1; x = @hist_log(s); exit() }' 'can only be printed'
expect_error "hist_linear needs literal parameters" \
  'global s probe begin { n = 10; s <<< 1; print(@hist_linear(s, 0, n, 1)); exit() }' 'parameters must be literal numbers'

expect_output "foreach over the buckets of a hist_log" \
  'global s probe begin { s <<< 1; s <<< 5; s <<< 6; foreach (b in @hist_log(s)) if (@hist_log(s)[b]) printf("%d:%d ", b, @hist_log(s)[b]); println(""); exit() }' \
  "65:1 67:2 "
expect_output "foreach over the buckets of a hist_linear, break" \
  'global t probe begin { t <<< 7; foreach (i in @hist_linear(t, 0, 10, 5)) { if (i == 4) break; printf("%d ", @hist_linear(t, 0, 10, 5)[i]) } println(""); exit() }' \
  "0 0 1 0 "
expect_error "the buckets of a histogram cannot be sorted" \
  'global s probe begin { s <<< 1; foreach (i in @hist_log(s)-) println(i) }' 'cannot be sorted'

# ---- foreach sorted by an extractor -----------------------------------------
sortdata='global a probe begin { a["p"] <<< 10; a["p"] <<< 10; a["q"] <<< 1; a["q"] <<< 1; a["q"] <<< 1; a["r"] <<< 50 '
expect_output "foreach by @count descending" "$sortdata"'; foreach (k in a-) printf("%s ", k); println(""); exit() }' "q p r "
expect_output "foreach by @sum descending" "$sortdata"'; foreach (k in @sum(a)-) printf("%s ", k); println(""); exit() }' "r p q "
expect_output "foreach by @min ascending" "$sortdata"'; foreach (k in @min(a)+) printf("%s ", k); println(""); exit() }' "q p r "
expect_output "foreach by @max descending, limit 2" "$sortdata"'; foreach (k in @max(a)- limit 2) printf("%s ", k); println(""); exit() }' "r p "
expect_output "foreach by @avg ascending" "$sortdata"'; foreach (k in @avg(a)+) printf("%s ", k); println(""); exit() }' "q p r "

# ---- globals written but never read -------------------------------------------
expect_output "unread scalars" \
  'global x, s, neg probe begin { x = 5; s = "str"; neg = -1; exit() }' \
  'x=5
s="str"
neg=-1'
expect_output "unread arrays, by decreasing value" \
  'global a probe begin { a[1, "k"] = 3; a[2, "j"] = 7; a[3, "i"] = 5; exit() }' \
  'a[2,"j"]=7
a[3,"i"]=5
a[1,"k"]=3'
expect_output "unread aggregates" \
  'global s, e, sa probe begin { s <<< 1; s <<< 3; sa["p"] <<< 4; sa["q"] <<< 1; sa["q"] <<< 2; if (0) e <<< 1; exit() }' \
  's @count=2 @min=1 @max=3 @sum=4 @avg=2
e @count=0x0
sa["q"] @count=2 @min=1 @max=2 @sum=3 @avg=1
sa["p"] @count=1 @min=4 @max=4 @sum=4 @avg=4'
expect_output "read globals are not reported; the report follows the end probes" \
  'global seen, unseen probe begin { seen = 1; unseen = 2; exit() } probe end { println("end: ", seen) }' \
  'end: 1
unseen=2'

# ---- kernel-side aggregates on real traffic -------------------------------------
# N datagrams with a 137-byte payload to a closed port in our namespace: each
# is dropped at __udp4_lib_rcv with skb->len 145 (UDP header + payload). The
# unusual size keeps other traffic on the machine out of the counts.
count=1500
netns_create
out="$WORK_DIR/kernel.out"
ntap_start "$out" -e '
global lens, by_reason
probe kernel.trace("kfree_skb") {
  if ($skb->len == 145) { lens[$location] <<< $skb->len; by_reason[$location, $reason] <<< $skb->len }
}
probe begin { println("ready") }
probe end {
  foreach (at in lens) {
    if (symname(at) != "__udp4_lib_rcv") continue
    printf("count %d min %d max %d variance %d\n", @count(lens[at]), @min(lens[at]), @max(lens[at]), @variance(lens[at]))
    print(@hist_log(lens[at]))
  }
  foreach ([at, r] in by_reason)
    if (symname(at) == "__udp4_lib_rcv") print(@hist_linear(by_reason[at, r], 0, 200, 10))
}'
wait_for_line "$out" '^ready$'
ip netns exec "$NETNS" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range($count): s.sendto(b'x' * 137, ('127.0.0.1', 9))"
sleep 0.5
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
cases=$((cases + 1))
expected="count $count min 145 max 145 variance 0
$header
   32 |                                                      0
   64 |                                                      0
  128 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ $count
  256 |                                                      0
  512 |                                                      0

$header
  120 |                                                      0
  130 |                                                      0
  140 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ $count
  150 |                                                      0
  160 |                                                      0"
actual="$(sed -n '2,$p' "$out")"
if [[ "$actual" != "$expected" ]]; then
  show_file stdout "$out"
  show_file stderr "$out.err"
  fail "kernel-side aggregates of $count datagrams"
fi
note "$cases cases passed"
