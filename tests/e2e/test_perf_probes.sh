#!/usr/bin/env bash
# perf.sw.* probes on a test program's own events: exactly one probe hit per
# minor page fault it makes between two markers with .sample(1), restricted
# to it by .process("PATH") while the rest of the machine faults too; no hit
# for a .process naming another program; cpu_clock samples at .sample(N)
# nanoseconds of its CPU time; -l lists the events; a hardware event the
# kernel refuses is an error naming it and the errno.
source "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "the perf probe tests need a C compiler (cc) for their test program"
prog="$WORK_DIR/pagetouch"
cc -O1 -o "$prog" "$E2E_DIR/programs/pagetouch.c"

# Between the two sched_yield() markers (raw_syscalls:sys_enter, $id 24 on
# x86_64) the program faults once per page it writes.
faults_script() {
  cat <<SCRIPT
global on, faults
probe kernel.trace("raw_syscalls:sys_enter") { if (pid() == target() && \$id == 24) on = !on }
probe perf.sw.page_faults_min.sample(1).process("$1") { if (on) faults++ }
probe end { printf("faults %d\n", faults) }
SCRIPT
}

note "case page_faults_min.sample(1).process(PATH): one hit per fault"
out="$WORK_DIR/faults.out"
status=0
timeout 60 "$NTAP" -e "$(faults_script "$prog")" -c "$prog 300" >"$out" 2>"$out.err" || status=$?
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "faults of the program between its markers" "faults 300" "$(cat "$out")"

note "case .process(PATH) of another program: none of these faults"
status=0
timeout 60 "$NTAP" -e "$(faults_script /bin/true)" -c "$prog 300" >"$out" 2>"$out.err" || status=$?
expect_eq "exit status" 0 "$status"
expect_eq "faults seen for /bin/true" "faults 0" "$(cat "$out")"

note "case cpu_clock.sample(1000000): one sample per ms of the program's CPU time"
status=0
# (execname() would not do: a sample in the middle of the exec may find the
# new executable with the old command name.)
timeout 60 "$NTAP" -e "global samples, others
probe perf.sw.cpu_clock.sample(1000000).process(\"$prog\") { samples++; if (pid() != target()) others++ }
probe end { printf(\"%s %d\n\", samples >= 150 && samples <= 260 ? \"about 200\" : sprint(samples), others) }" \
  -c "$prog 0 200" >"$out" 2>"$out.err" || status=$?
expect_eq "exit status" 0 "$status"
expect_eq "samples in 200 ms of CPU, all in the target" "about 200 0" "$(cat "$out")"

note "case pp() and addr() in a perf probe"
status=0
# (exit() ends the run after this hit; the guard keeps samples that come
# before it has stopped from printing.)
timeout 60 "$NTAP" -e "global done
probe perf.sw.cpu_clock.sample(1000000).process(\"$prog\") {
  if (!done++) { printf(\"%s %d\n\", pp(), addr() == 0 || addr() < 0); exit() }
}" \
  -c "$prog 0 100" >"$out" 2>"$out.err" || status=$?
expect_eq "exit status" 0 "$status"
expect_eq "pp() is the point the alias stands for" "perf.type(1).config(0).sample(1000000).process(\"$prog\") 1" "$(cat "$out")"

note "case -l"
expect_eq "-l perf.sw.page*" "perf.sw.page_faults
perf.sw.page_faults_maj
perf.sw.page_faults_min" "$("$NTAP" -l 'perf.sw.page*')"

note "case a hardware event"
status=0
"$NTAP" -e 'probe perf.hw.cpu_cycles { exit() }' -T 1 >"$out" 2>"$out.err" || status=$?
if [[ $status -ne 0 ]]; then
  expect_eq "exit status" 1 "$status"
  grep -Eq "the kernel refuses perf event perf\.hw\.cpu_cycles \(type 0, config 0\): perf_event_open: E[A-Z]+ \(.* at <input>:1:7$" "$out.err" ||
    { show_file stderr "$out.err"; fail "the error names the event and the errno"; }
  note "this machine has no cpu_cycles counter: $(head -1 "$out.err")"
else
  note "this machine counts cpu_cycles"
fi

note "case .counter(NAME) and @perf: each thread's own faults, across context switches"
counting="$WORK_DIR/perfcount"
cc -O1 -g -pthread -o "$counting" "$E2E_DIR/programs/perfcount.c"
status=0
# Both threads fault at once, on whatever CPUs, sleeping every 25 pages:
# each sees exactly its own pages. The first pair of calls counts nothing.
timeout 60 "$NTAP" -e "global begun
probe perf.sw.page_faults.process(\"$counting\").counter(\"faults\") { }
probe process(\"$counting\").function(\"counting_begins\") { begun[tid()] = @perf(\"faults\") }
probe process(\"$counting\").function(\"counting_ends\") {
  printf(\"%d pages, %d faults\n\", \$pages, @perf(\"faults\") - begun[tid()])
}" -c "$counting 300 120" >"$out" 2>"$out.err" || status=$?
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "faults counted per thread" "0 pages, 0 faults
120 pages, 120 faults
300 pages, 300 faults" "$(sort -n "$out")"

note "case a counter without .process counts the process of the probe reading it; @entry of @perf"
status=0
timeout 60 "$NTAP" -e "probe perf.sw.page_faults.counter(\"faults\") { }
probe process(\"$counting\").function(\"touch\").return {
  printf(\"%d\n\", @perf(\"faults\") - @entry(@perf(\"faults\")) >= @entry(\$pages))
}" -c "$counting 60 40" >"$out" 2>"$out.err" || status=$?
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "each touch() faulted at least its pages" "1
1" "$(cat "$out")"

note "case a counter of the -c command read by process.function probes without a path"
status=0
timeout 60 "$NTAP" -e "global begun
probe perf.sw.page_faults.process.counter(\"faults\") { }
probe process.function(\"counting_begins\") { begun[tid()] = @perf(\"faults\") }
probe process.function(\"counting_ends\") { printf(\"%d %d\n\", \$pages, @perf(\"faults\") - begun[tid()]) }" \
  -c "$counting 80 30" >"$out" 2>"$out.err" || status=$?
[[ $status -eq 0 ]] || show_file stderr "$out.err"
expect_eq "exit status" 0 "$status"
expect_eq "the target's threads' faults" "0 0
30 30
80 80" "$(sort -n "$out")"
