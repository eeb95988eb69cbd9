#!/usr/bin/env bash
# Build the libFuzzer targets with clang (AddressSanitizer, UBSan) into
# build-fuzz/ and run each for a while (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS]            each target for SECONDS (default 60)
#   NTAP_FUZZ_TARGETS=frontend scripts/fuzz.sh 600
#
# New inputs that reach new code go to build-fuzz/corpus/<target>/ (kept
# between runs, so a campaign resumes where it stopped); a crash, hang or
# out-of-memory input is written to build-fuzz/artifacts/<target>/ and fails
# the run (exit status 1). Nothing is written into the source tree.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${NTAP_FUZZ_BUILD_DIR:-$repo_root/build-fuzz}"
seconds="${1:-60}"
targets="${NTAP_FUZZ_TARGETS:-frontend codegen}"
fuzz_dir="$repo_root/tests/fuzz"
# libFuzzer reads -max_total_time=0 as "no limit".
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive number, not '$seconds'" >&2; exit 1; }

# clang 19: the LLVM the project links, and its libFuzzer (libclang-rt-19-dev).
for tool in clang-19 clang++-19; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool missing (apt-get install clang-19 libclang-rt-19-dev)" >&2; exit 1; }
done

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 "${launcher[@]}" \
  -DNTAP_FUZZ=ON -DNTAP_TESTS=OFF >/dev/null
ninja -C "$build_dir" ${NTAP_BUILD_JOBS:+-j "$NTAP_BUILD_JOBS"} $(for t in $targets; do echo "fuzz_$t"; done)

status=0
for target in $targets; do
  corpus="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $target for ${seconds}s"
  # The first corpus directory collects what the run finds; the seeds and
  # the kept crash inputs are read only. -max_len: room for deep nesting
  # and long macro chains (without it libFuzzer stops at 4 KB).
  # -timeout: one input taking longer is a hang; -rss_limit_mb: more
  # memory than that is a blow-up.
  if ! "$build_dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
       -dict="$fuzz_dir/ntap.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
       "$corpus" "$fuzz_dir/corpus/$target" "$fuzz_dir/crashes/$target" \
       2> "$build_dir/fuzz_$target.log"; then
    echo "fuzz: $target FAILED; the input is in $artifacts/, the report in $build_dir/fuzz_$target.log" >&2
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error)" "$build_dir/fuzz_$target.log" | head -5 >&2 || true
    status=1
  else
    grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)" \
      "$build_dir/fuzz_$target.log" | sed "s/^/fuzz: $target /"
  fi
done
exit "$status"
