#!/usr/bin/env bash
# Library functions and the printf family through `ntap -e`: each case is a
# begin probe printing results, compared byte for byte with what stap's
# tapset reference documents (stderr and exit status too for errors). The
# last cases run the byte-order and clock functions in a kernel probe.
source "$(dirname "$0")/lib.sh"

cases=0

# run_case NAME SCRIPT EXPECTED_STDOUT [EXPECTED_STATUS [EXPECTED_STDERR]]
run_case() {
  local name="$1" script="$2" expected="$3" status_expected="${4:-0}" err_expected="${5-}"
  local out="$WORK_DIR/$name.out" status=0
  cases=$((cases + 1))
  timeout 30 "$NTAP" -e "$script" >"$out" 2>"$out.err" || status=$?
  if [[ "$(cat "$out"; echo x)" != "$expected"x ]]; then
    show_file stdout "$out"
    show_file stderr "$out.err"
    fail "$name: expected stdout $(printf '%q' "$expected"), got $(printf '%q' "$(cat "$out")")"
  fi
  expect_eq "$name: exit status" "$status_expected" "$status"
  if [[ -n "$err_expected" ]]; then
    expect_eq "$name: stderr" "$err_expected" "$(cat "$out.err")"
  fi
}

# ok NAME BODY EXPECTED: `probe begin { BODY; exit() }` prints EXPECTED.
ok() {
  run_case "$1" "probe begin { $2; exit() }" "$3"
}

# ---- printf family
ok sprint 'print(sprint(1, "a", -2))' '1a-2'
ok sprintln 'print(sprintln("x", 2))' $'x2\n'
ok printd 'printd(",", 1, "two", 3)' '1,two,3'
ok printdln 'printdln(" | ", "a", 2)' $'a | 2\n'
ok printd_percent 'printdln("%d%%", 1, 2)' $'1%d%%2\n'
ok sprintd 'print(sprintd("--", "a", "b"))' 'a--b'
ok sprintdln 'print(sprintdln(":", 7, 8))' $'7:8\n'
ok sprint_in_concat 's = sprint(42) . "!"; print(s)' '42!'

# ---- strings
ok strlen 'println(strlen("hello"), " ", strlen(""))' $'5 0\n'
ok substr 'println(substr("hello", 1, 3))' $'ell\n'
ok substr_past_end 'println(substr("hello", 3, 100))' $'lo\n'
ok substr_start_out 'println("[", substr("hello", 5, 1), "]")' $'[]\n'
ok substr_negative 'println("[", substr("hello", -1, 2), substr("hello", 1, -2), "]")' $'[]\n'
ok stringat 'println(stringat("abc", 0), " ", stringat("abc", 2))' $'97 99\n'
ok isinstr 'println(isinstr("hello", "ll"), isinstr("hello", "lx"), isinstr("x", ""))' $'101\n'
ok strtol_hex 'println(strtol("0x1f", 16), " ", strtol("ff", 16))' $'31 255\n'
ok strtol_base0 'println(strtol("0x10", 0), " ", strtol("010", 0), " ", strtol("10", 0))' $'16 8 10\n'
ok strtol_negative 'println(strtol("-777", 8))' $'-511\n'
ok strtol_stops 'println(strtol("12abc", 10), " ", strtol("abc", 10))' $'12 0\n'
ok strtol_binary 'println(strtol("1011", 2))' $'11\n'
ok isdigit 'println(isdigit("5x"), isdigit("x5"), isdigit(""))' $'100\n'
ok str_replace 'println(str_replace("a-b-c", "-", "+"))' $'a+b+c\n'
ok str_replace_grow 'println(str_replace("aaa", "a", "bb"))' $'bbbbbb\n'
ok str_replace_empty 'println(str_replace("abc", "", "x"), str_replace("abc", "z", "x"))' $'abcabc\n'
ok tokenize 's = tokenize("a,b,,c", ","); while (s != "") { println(s); s = tokenize("", ",") }' $'a\nb\nc\n'
ok tokenize_sets 'println(tokenize("x y;z", " ;"), tokenize("", " ;"), tokenize("", " ;"), "[", tokenize("", " ;"), "]")' $'xyz[]\n'
ok tokenize_restart 'a = tokenize("1 2", " "); b = tokenize("3 4", " "); c = tokenize("", " "); println(a, b, c)' $'134\n'
ok text_str 'println(text_str("a\tb\"c\\d\n"))' $'a\\tb\\"c\\\\d\\n\n'
ok text_str_octal 'println(text_str("x\001y"))' $'x\\001y\n'
ok text_strn_cut 'println(text_strn("hello world", 5, 0))' $'hello\n'
ok text_strn_quoted 'println(text_strn("hello", 7, 1))' $'"hello"\n'
ok text_strn_quoted_cut 'println(text_strn("hello world", 8, 1))' $'"hel"...\n'
ok text_strn_zero 'println(text_strn("hello", 0, 1))' $'"hello"\n'

# ---- network byte order and addresses
ok ntohs 'println(ntohs(0x3412), " ", htons(0x3412))' $'4660 4660\n'
ok ntohl 'println(ntohl(0x78563412), " ", htonl(1))' $'305419896 16777216\n'
ok ntohll 'printf("%x %x\n", ntohll(1), htonll(0x0102030405060708))' $'100000000000000 807060504030201\n'
ok htons_truncates 'println(htons(0x12345678))' $'30806\n'
ok ip_ntop 'println(ip_ntop(0x0100007f))' $'127.0.0.1\n'
ok ip_ntop_htonl 'println(ip_ntop(htonl(0xc0a80101)))' $'192.168.1.1\n'
ok format_ipaddr 'println(format_ipaddr(htonl(0x0a000001), 2))' $'10.0.0.1\n'

# ---- time
TZ=UTC0 ok tz_ctime_utc 'println(tz_ctime(741476948))' $'Wed Jun 30 21:49:08 1993 UTC\n'
ok ctime 'println(ctime(741476948))' $'Wed Jun 30 21:49:08 1993\n'
ok local_clock 'a = local_clock_ns(); b = local_clock_us(); println(a > 0, b >= a / 1000, local_clock_s() <= local_clock_ms() / 1000 + 1)' $'111\n'
ok cpu_clock 'println(cpu_clock_ns(0) > 0, cpu_clock_s(cpu()) >= 0)' $'11\n'
TZ=PST8PDT,M3.2.0,M11.1.0 run_case tz_ctime_pacific \
  'probe begin { println(tz_ctime(741476948)); println(tz_ctime(0)); exit() }' \
  $'Wed Jun 30 14:49:08 1993 PDT\nWed Dec 31 16:00:00 1969 PST\n'
TZ=UTC0 run_case tz_gmtoff_utc 'probe begin { println(tz_gmtoff(), tz_name()); exit() }' $'0UTC\n'
TZ=JST-9 run_case tz_gmtoff_east 'probe begin { println(tz_gmtoff(), " ", tz_name()); exit() }' $'-32400 JST\n'

# ---- process
ok ids "println(uid() == $(id -u), euid() == $(id -u), gid() == $(id -g), egid() == $(id -g))" $'1111\n'
# Each case runs under timeout(1), which is then ntap's parent.
ok ppid 'println(ppid() > 1, " ", pexecname())' $'1 timeout\n'
ok target 'println(target())' $'0\n'

# ---- control
ok log 'log("one"); log("two")' $'one\ntwo\n'
run_case warn 'probe begin { warn("careful"); println("after"); exit() }' $'after\n' 0 'WARNING: careful'
run_case error 'probe begin { print("a"); error("boom"); print("b") } probe end { println("end") }' \
  $'aend\n' 1 'ERROR: boom at <input>:1:27'
run_case error_probe 'probe begin { error("boom") } probe error { println("error probe") } probe end { println("end") }' \
  $'error probe\nend\n' 1 'ERROR: boom at <input>:1:15'
run_case assert_ok 'probe begin { assert(1 < 2); assert(2 > 1, "not this"); println("fine"); exit() }' $'fine\n'
run_case assert_default 'probe begin { assert(0) } probe end { println("end") }' $'end\n' 1 \
  'ERROR: Assertion failed at <input>:1:15'
run_case assert_message 'probe begin { x = 3; assert(x == 4, "x is not 4") }' '' 1 'ERROR: x is not 4 at <input>:1:22'
run_case abort 'probe begin { print("a"); abort(); print("b") } probe end { println("end") }' $'aend\n' 0
run_case stringat_bounds 'probe begin { println(stringat("abc", 3)) }' '' 1 \
  "ERROR: Position out of bounds near identifier 'stringat' at <input>:1:23"
run_case format_ipaddr_inet6 'probe begin { println(format_ipaddr(0, 10)) }' '' 1 \
  "ERROR: format_ipaddr: user probes can only format AF_INET (2) addresses near identifier 'format_ipaddr' at <input>:1:23"

# ---- MAXSTRINGLEN truncation
# Literals are string values: "abcdefg" is what substr and text_str receive.
out="$WORK_DIR/maxstr.out"
cases=$((cases + 1))
"$NTAP" -D MAXSTRINGLEN=8 -e 'probe begin { println(substr("abcdefghij", 1, 20)); println(text_str("abcdefghij"));
  println(str_replace("abcabc", "b", "xyz")); exit() }' >"$out"
expect_eq "MAXSTRINGLEN=8 substr/text_str/str_replace" $'bcdefg\nabcdefg\naxyzcax' "$(cat "$out")"

# ---- compile-time checks
reject_case() {
  local name="$1" script="$2" message="$3" status=0
  cases=$((cases + 1))
  "$NTAP" -e "$script" >"$WORK_DIR/$name.out" 2>"$WORK_DIR/$name.err" || status=$?
  expect_eq "$name: exit status" 1 "$status"
  grep -qF -- "$message" "$WORK_DIR/$name.err" || { show_file stderr "$WORK_DIR/$name.err"; fail "$name: no '$message'"; }
}
reject_case printd_delimiter 'probe begin { d = ","; printd(d, 1, 2) }' 'printd needs a literal delimiter string'
reject_case strlen_type 'probe begin { println(strlen(5)) }' 'type mismatch'
reject_case substr_arity 'probe begin { println(substr("abc", 1)) }' 'wrong number of arguments to substr'
reject_case string_in_kernel 'probe kernel.trace("kfree_skb") { println(tokenize("1 2", " ")) }' 'not available in kernel probes'
reject_case jiffies_in_user 'probe end { println(jiffies()) }' 'only available in kernel probes'

# ---- kernel probes: byte order, clocks and ids computed in BPF; tz_ctime as
# a print argument, rendered in user space in ntap's zone
netns_create
out="$WORK_DIR/kernel.out"
TZ=PST8PDT,M3.2.0,M11.1.0 ntap_start "$out" -e 'global swapped, clocks, ids, printed
probe begin { println("ready") }
probe kernel.trace("kfree_skb") {
  if ($location != 0 && pid() > 0) {
    swapped = ntohs(0x3412) + htonl(0x78563412) + ntohll(1) + htonll(0)
    clocks = local_clock_ns() > 0 && cpu_clock_us(cpu()) > 0 && jiffies() > 0 && local_clock_s() >= 0
    ids = uid() >= 0 && gid() >= 0
    # Hits that come before exit() takes effect print nothing more.
    if (printed++ == 0) printf("%s\n", tz_ctime(741476948))
    exit()
  }
}
probe end { println(swapped, " ", clocks, " ", ids) }'
wait_for_line "$out" '^ready$'
send_udp 3
ntap_wait
cases=$((cases + 1))
expect_eq "kernel-side library functions" $'ready\nWed Jun 30 14:49:08 1993 PDT\n72057594343352492 1 1' "$(cat "$out")"
expect_eq "kernel run status" 0 "$NTAP_STATUS"

echo "$cases library-function cases passed"
