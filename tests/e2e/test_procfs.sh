#!/usr/bin/env bash
# procfs("NAME").read/.write: ntap serves the files in /run/ntap/MODULE (-m)
# while it runs. A read runs the .read probe once per open and returns its
# $value; each write runs the .write probe with the bytes written; the modes
# follow stap's (0444 read, 0200 write, .umask clears bits); a direction
# without a probe is refused; the files are gone when ntap ends.
source "$(dirname "$0")/lib.sh"

module="ntap_e2e_$$"
dir="/run/ntap/$module"
out="$WORK_DIR/procfs.out"
ntap_start "$out" -m "$module" -e 'global reads, last = "none", writes
probe procfs("status").read { reads++; $value = sprintf("reads=%d last=%s\n", reads, last) }
probe procfs("input").umask(2).write { writes++; last = $value }
probe procfs("both").read.maxsize(4) { $value = "abcdefgh" }
probe procfs("both").write { printf("both got %s", $value) }
probe procfs.umask(0222).read { $value = "command"; $value .= " file\n" }
probe begin { printf("serving\n") }
probe end { printf("reads=%d writes=%d\n", reads, writes) }'
wait_for_line "$out" '^serving$'
expect_eq "first read" "reads=1 last=none" "$(cat "$dir/status")"
printf 'hello' >"$dir/input"
expect_eq "read after a write" "reads=2 last=hello" "$(cat "$dir/status")"
printf 'again' >"$dir/input"
expect_eq "one probe run per open, small reads served from it" "reads=3 last=again" \
  "$(dd if="$dir/status" bs=1 2>/dev/null)"
expect_eq ".maxsize(4) keeps 4 bytes" "abcd" "$(cat "$dir/both")"
printf 'data\n' >"$dir/both"
expect_eq "procfs without a name is the file command" "command file" "$(cat "$dir/command")"
expect_eq "files" "both command input status" "$(ls "$dir" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "modes" "644 444 200 444" \
  "$(stat -c '%a' "$dir/both" "$dir/command" "$dir/input" "$dir/status" | tr '\n' ' ' | sed 's/ $//')"
# A direction without a probe is refused, even to root.
if cat "$dir/input" 2>/dev/null; then fail "input has no .read probe but could be read"; fi
if (printf x >"$dir/status") 2>/dev/null; then fail "status has no .write probe but could be written"; fi
ntap_stop INT
expect_eq "exit status" 0 "$NTAP_STATUS"
expect_eq "output" $'serving\nboth got data\nreads=3 writes=2' "$(cat "$out")"
if mountpoint -q "$dir" 2>/dev/null; then fail "$dir is still mounted after ntap ended"; fi
[[ ! -e "$dir" ]] || fail "$dir is left behind"

# A bad name is refused before anything runs.
status=0
"$NTAP" -e 'probe procfs("a/b").read { $value = "x" }' >"$out" 2>"$out.err" || status=$?
expect_eq "nested name exit status" 1 "$status"
grep -q "procfs(\"a/b\"): the file name must be one name" "$out.err" || fail "no clear error for procfs(\"a/b\"): $(cat "$out.err")"

# $value's rules are stap's: read-only in a .write probe, write-only (= or
# .=) in a .read probe, one .read probe per file.
for case in 'probe procfs.write { $value = "x" }|procfs $value variable is read-only in a procfs write probe' \
  'probe procfs.read { x = $value; $value = x }|procfs $value variable cannot be read in a procfs read probe' \
  'probe procfs.read { $value += 1 }|Only the following assign operators are implemented' \
  'probe procfs.read { $value = "a" } probe procfs.read { $value = "b" }|only one read procfs probe can exist for procfs path "command"'; do
  status=0
  "$NTAP" -p2 -e "${case%%|*}" >"$out" 2>"$out.err" || status=$?
  expect_eq "exit status of: ${case%%|*}" 1 "$status"
  grep -qF -- "${case#*|}" "$out.err" || fail "expected '${case#*|}' for ${case%%|*}: $(cat "$out.err")"
done
