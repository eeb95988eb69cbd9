#!/usr/bin/env bash
# Scripts with errors are rejected before anything is loaded: status 1, a
# FILE:LINE:COL diagnostic with the source line and a caret, and no BPF
# program loaded (checked with strace: no BPF_PROG_LOAD call; without strace,
# no new probe_* program in bpftool's list).
source "$(dirname "$0")/lib.sh"

max_probe_prog_id() {
  all_probe_prog_ids | sort -n | tail -1
}

# reject SCRIPT_NAME LINE COLUMNS... < SCRIPT_TEXT
reject() {
  local name="$1" line="$2"
  shift 2
  local script="$WORK_DIR/$name.stp" err="$WORK_DIR/$name.err" status=0 before new_ids
  cat >"$script"
  note "case $name"
  before="$(max_probe_prog_id)"
  if command -v strace >/dev/null; then
    timeout 30 strace -f -qq -e trace=bpf -o "$WORK_DIR/$name.strace" \
      "$NTAP" "$script" >"$WORK_DIR/$name.out" 2>"$err" || status=$?
    if grep -q 'BPF_PROG_LOAD' "$WORK_DIR/$name.strace"; then
      fail "$name: a BPF program was loaded for a script with an error"
    fi
  else
    timeout 30 "$NTAP" "$script" >"$WORK_DIR/$name.out" 2>"$err" || status=$?
  fi
  expect_eq "$name: exit status" 1 "$status"
  expect_diagnostic "$err" "$script" "$line" "$@"
  # Without strace, the machine-wide list is all there is to look at (exact
  # only while nothing else loads probe_* programs).
  if ! command -v strace >/dev/null; then
    new_ids="$(all_probe_prog_ids | awk -v max="${before:-0}" '$1 > max')"
    [[ -z "$new_ids" ]] || fail "$name: new BPF programs listed: $new_ids"
  fi
}

# The call is never closed: the parser stops at the brace.
reject syntax_error 3 17 <<'STP'
# a call that is never closed
probe begin {
  printf("hi\n" }
STP

# No such tracepoint: reported at the probe point.
reject unknown_probe_point 2 7 <<'STP'
global n
probe kernel.trace("no_such_thing") { n <<< 1 }
STP

# A variable cannot be both a number and a string: reported at the second
# assignment (its target or its value).
reject type_conflict 3 3 7 <<'STP'
probe begin {
  x = 1
  x = "s"
  println(x)
}
STP

grep -Eq "parse error: expected .*'\)'" "$WORK_DIR/syntax_error.err" ||
  { show_file stderr "$WORK_DIR/syntax_error.err"; fail "the syntax error does not say what was expected"; }
