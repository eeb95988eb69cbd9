# Shared by the benchmarks that time a system call loop under a tool
# (syscall_cost.sh, alias_cost.sh): `loop_setup PROGRAM CALLS` makes a
# scratch directory (removed, with any tool still running, on exit) and
# compiles bench/programs/PROGRAM into it; `under` then runs the loop of
# CALLS calls under a tool, `median` takes the middle of the runs.

# loop_arguments [ROUNDS] [NTAP_BINARY...]: sets `rounds` (default 5) and
# `binaries` (default the tree's build/ntap), one table row per binary.
loop_arguments() {
  rounds="${1:-5}"
  shift || true
  binaries=("$@")
  ((${#binaries[@]})) || binaries=("$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/ntap")
}

loop_setup() {
  work="$(mktemp -d /tmp/ntap-bench.XXXXXX)"
  tool_pid=""
  trap '[[ -n "$tool_pid" ]] && kill -KILL "$tool_pid" 2>/dev/null; rm -rf "$work"' EXIT
  cc -O2 -o "$work/loop" "$(dirname "${BASH_SOURCE[0]}")/programs/$1"
  calls="$2"
}

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
