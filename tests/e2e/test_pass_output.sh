#!/usr/bin/env bash
# -p2 prints the elaborated script (types, resolved points, bodies); -p3 the
# LLVM IR of both sides; neither loads anything.
source "$(dirname "$0")/lib.sh"

script="$WORK_DIR/typed.stp"
cat >"$script" <<'STP'
global n, names
function f:long (a, b:string) { x = a + 1; names[b] = x; return x }
probe kernel.trace("kfree_skb") { n++; y = f(n, "a") }
probe begin { printf("%d\n", n) }
STP

note "case -p2"
out="$WORK_DIR/p2.out"
"$NTAP" -p2 "$script" >"$out" 2>"$WORK_DIR/p2.err" || { show_file stderr "$WORK_DIR/p2.err"; fail "-p2 failed"; }
expected="# globals
n:long
names:long [string]
# functions
f:long (a:long, b:string)
  local x:long
  {
      x = a + 1;
      names[b] = x;
      return x;
  }
# probes
kernel.trace(\"skb:kfree_skb\") /* kernel side */
  local y:long
  {
      n++;
      y = f(n, \"a\");
  }
begin /* user side */
  {
      printf(\"%d\\n\", n);
  }"
[[ "$(cat "$out")" == "$expected" ]] || { show_file "-p2 output" "$out"; fail "-p2 output differs"; }

note "case -p3"
out="$WORK_DIR/p3.out"
"$NTAP" -p3 "$script" >"$out" 2>"$WORK_DIR/p3.err" || { show_file stderr "$WORK_DIR/p3.err"; fail "-p3 failed"; }
grep -q 'target triple = "bpfel"' "$out" || fail "-p3 has no BPF module"
grep -q '^define i32 @probe_0_0(ptr %ctx).*section "tp_btf/kfree_skb"' "$out" || fail "-p3 has no kernel probe function"
grep -q 'target triple = "x86_64' "$out" || fail "-p3 has no user-side module"
