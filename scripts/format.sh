#!/usr/bin/env bash
# Formats, with clang-format and the top-level .clang-format, only the C and
# C++ files changed against a base, so the rest of the tree (which other
# branches edit at the same time) is left alone.
#
#   scripts/format.sh               files changed against origin/main (or main), committed or not
#   scripts/format.sh BASE          ... against BASE (a branch, tag or commit)
#   scripts/format.sh --check BASE  only report the files that would change (exit 1 if any)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

check=0
if [[ "${1:-}" == "--check" ]]; then
  check=1
  shift
fi

base="${1:-}"
if [[ -z "$base" ]]; then
  if git rev-parse --verify -q origin/main >/dev/null; then base=origin/main; else base=main; fi
fi
clang_format="${CLANG_FORMAT:-clang-format}"

# Changed since the merge base with BASE, in commits and in the work tree;
# deleted files drop out.
merge_base="$(git merge-base "$base" HEAD)"
mapfile -t files < <(git diff --name-only --diff-filter=d "$merge_base" -- '*.cpp' '*.h' '*.c' |
                     grep -v '^tests/conformance/' || true)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "format: no C/C++ files changed against $base"
  exit 0
fi

if [[ $check -eq 1 ]]; then
  status=0
  for file in "${files[@]}"; do
    if ! "$clang_format" --dry-run --Werror "$file" >/dev/null 2>&1; then
      echo "format: would change $file"
      status=1
    fi
  done
  exit $status
fi

"$clang_format" -i "${files[@]}"
echo "format: formatted ${#files[@]} file(s) changed against $base"
