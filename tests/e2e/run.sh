#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/test_*.sh) against one ntap binary.
#
#   tests/e2e/run.sh build/ntap [NAME_FILTER]
#
# Each test runs in its own bash process with a time limit; its log is shown
# only when it fails. Ends with "N passed, N failed"; exits 1 on any failure.
# Needs root: the tests load BPF programs and create network namespaces.
set -uo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 NTAP_BINARY [NAME_FILTER]" >&2
  exit 2
fi
e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NTAP="$(realpath "$1")"
filter="${2:-}"
export NTAP
per_test_timeout=${E2E_TEST_TIMEOUT:-180}

if [[ $EUID -ne 0 ]]; then
  echo "e2e tests need root" >&2
  exit 1
fi
if [[ ! -x "$NTAP" ]]; then
  echo "not an executable: $NTAP" >&2
  exit 1
fi

passed=0
failed=0
failed_names=()
for test_file in "$e2e_dir"/test_*.sh; do
  name="$(basename "$test_file" .sh)"
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  log="$(mktemp /tmp/ntap-e2e-log.XXXXXX)"
  started=$SECONDS
  timeout --signal=TERM --kill-after=10 "$per_test_timeout" bash "$test_file" >"$log" 2>&1
  status=$?
  elapsed=$((SECONDS - started))
  if [[ $status -eq 0 ]]; then
    echo "PASS  $name (${elapsed}s)"
    passed=$((passed + 1))
  else
    [[ $status -eq 124 ]] && echo "      (timed out after ${per_test_timeout}s)" >>"$log"
    echo "FAIL  $name (${elapsed}s, status $status)"
    sed 's/^/      | /' "$log"
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
  rm -f "$log"
done

[[ $failed -gt 0 ]] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
