#!/usr/bin/env bash
# Files ntap writes (-o for output, -o with -p4 for the BPF object) are never
# reached through a link someone else planted: a symbolic link is not
# followed, a file with another hard link is refused, and in a directory
# others may write to a file owned by another user is refused. The file a
# link points to is left as it was.
source "$(dirname "$0")/lib.sh"

script="$WORK_DIR/hello.stp"
printf '%s\n' 'probe begin { printf("hello\n"); exit() }' >"$script"

# refused NAME PATH MESSAGE [ARGS...]: ntap -o PATH exits 1 naming MESSAGE.
refused() {
  local name="$1" path="$2" message="$3"
  shift 3
  note "case $name"
  set +e
  "$NTAP" "$@" -o "$path" "$script" >"$WORK_DIR/$name.out" 2>"$WORK_DIR/$name.err"
  local status=$?
  set -e
  expect_eq "$name: exit status" 1 "$status"
  grep -qF "cannot open $path: $message" "$WORK_DIR/$name.err" ||
    { show_file stderr "$WORK_DIR/$name.err"; fail "$name: expected 'cannot open $path: $message'"; }
}

victim="$WORK_DIR/victim"
echo "precious" >"$victim"
ln -s "$victim" "$WORK_DIR/symlink"
ln "$victim" "$WORK_DIR/hardlink"
refused output_symlink "$WORK_DIR/symlink" "it is a symbolic link"
refused object_symlink "$WORK_DIR/symlink" "it is a symbolic link" -p4
refused output_hardlink "$WORK_DIR/hardlink" "it has other hard links"
refused object_hardlink "$WORK_DIR/hardlink" "it has other hard links" -p4
expect_eq "the linked file" precious "$(cat "$victim")"

# A sticky, world-writable directory (as /tmp) holding another user's file.
shared="$WORK_DIR/shared"
mkdir -m 1777 "$shared"
echo "theirs" >"$shared/planted"
chown nobody "$shared/planted"
refused output_not_owned "$shared/planted" "it belongs to another user in a directory others can write to"
expect_eq "the other user's file" theirs "$(cat "$shared/planted")"

# Our own files are truncated and rewritten as before, in any directory.
echo "old content that is longer" >"$shared/mine"
"$NTAP" -o "$shared/mine" "$script"
expect_eq "own file rewritten" hello "$(cat "$shared/mine")"
printf '%s\n' 'probe kernel.trace("kfree_skb") { printf("drop\n") }' >"$WORK_DIR/kernel.stp"
"$NTAP" -p4 -o "$WORK_DIR/object.o" "$WORK_DIR/kernel.stp" >/dev/null
file_head="$(head -c 4 "$WORK_DIR/object.o" | od -An -c | tr -d ' ')"
expect_eq "-p4 object written" '177ELF' "$file_head"

echo "PASS"
