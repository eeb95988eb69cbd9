#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite (unit + e2e).
#
#   scripts/test.sh            as root on Debian 12 (the e2e tests load BPF programs)
#
# A cold build takes about 5 minutes on 2 cores; the tests take under a minute.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${NTAP_BUILD_DIR:-$repo_root/build}"

"$repo_root/scripts/setup.sh"
ctest --test-dir "$build_dir" --output-on-failure "$@"
