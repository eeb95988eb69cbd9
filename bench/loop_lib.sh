# Shared by the benchmarks that time a system call loop under a tool
# (syscall_cost.sh, alias_cost.sh). The caller sets `work` (a scratch
# directory holding the compiled loop as $work/loop), `calls` (the loop's
# length) and `tool_pid=""`, and kills $tool_pid in its cleanup.

# under MARKER COMMAND...: starts the tool, waits for MARKER on its stderr
# or stdout (probes attached), runs the loop once, stops the tool; prints ns per call.
under() {
  local marker="$1"
  shift
  # Emptied here, not by the tool's redirections: those happen in the child,
  # after the first look for the marker could find the last run's.
  : >"$work/out"
  : >"$work/err"
  "$@" >>"$work/out" 2>>"$work/err" &
  tool_pid=$!
  local deadline=$((SECONDS + 120))
  until grep -q "$marker" "$work/err" "$work/out"; do
    ((SECONDS < deadline)) || { echo "timeout attaching: $*" >&2; cat "$work/err" >&2; exit 1; }
    kill -0 "$tool_pid" 2>/dev/null || { echo "tool exited: $*" >&2; cat "$work/err" >&2; exit 1; }
    sleep 0.2
  done
  sleep 1
  "$work/loop" "$calls"
  kill -INT "$tool_pid" 2>/dev/null || true
  wait "$tool_pid" 2>/dev/null || true
  tool_pid=""
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
