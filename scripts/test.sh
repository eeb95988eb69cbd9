#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite (unit + e2e),
# then a short fuzz run of the front end (docs/fuzzing.md).
#
#   scripts/test.sh            as root on Debian 12 (the e2e tests load BPF programs)
#   NTAP_FUZZ_SECONDS=0 scripts/test.sh     without the fuzz run
#
# A cold build takes about 5 minutes on 2 cores; the tests take under a minute.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${NTAP_BUILD_DIR:-$repo_root/build}"

"$repo_root/scripts/setup.sh"
ctest --test-dir "$build_dir" --output-on-failure "$@"
# The clang build of the front end target costs ~6 CPU-minutes cold (about
# 3-4 minutes on 2 idle cores), the run one more. The codegen target costs
# as much again to build, so CI leaves it to longer runs (docs/fuzzing.md);
# ctest above replays its seeds and kept crash inputs.
fuzz_seconds="${NTAP_FUZZ_SECONDS:-60}"
if (( fuzz_seconds > 0 )); then
  NTAP_FUZZ_TARGETS="${NTAP_FUZZ_TARGETS:-frontend}" "$repo_root/scripts/fuzz.sh" "$fuzz_seconds"
fi
