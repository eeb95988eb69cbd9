#!/usr/bin/env bash
# -l/-L with wildcards in components: providers' points and tapset aliases
# are listed; nothing matching is exit status 1, as stap.
source "$(dirname "$0")/lib.sh"

note "case -l with component wildcards"
expect_eq "-l timer.m*(5)" "timer.ms(5)
timer.msec(5)" "$("$NTAP" -l 'timer.m*(5)')"
expect_eq "-l e*" "end
error" "$("$NTAP" -l 'e*')"

note "case -l lists tapset aliases"
expect_eq "-l skb.*" "skb.consume
skb.drop" "$("$NTAP" -l 'skb.*')"
expect_eq "-l skb.drop" "skb.drop" "$("$NTAP" -l 'skb.drop')"
expect_eq "-L sk**" "skb.consume location:long
skb.drop location:long reason:long" "$("$NTAP" -L 'sk**')"

note "case -L lists the variables an alias sets, with their types"
expect_eq "-L tcp.state_change" \
  "tcp.state_change sk:long oldstate:long newstate:long family:long saddr:string daddr:string sport:long dport:long" \
  "$("$NTAP" -L 'tcp.state_change')"
expect_eq "-L tcpmib.RetransSegs" "tcpmib.RetransSegs sk:long op:long key:long" "$("$NTAP" -L 'tcpmib.RetransSegs')"
expect_eq "-L tcp.* lists every tcp alias" 7 "$("$NTAP" -L 'tcp.*' | grep -c ' sk:long ')"

# stap's -L wraps the pattern in `probe ... {}`, so a pattern may define the
# alias it lists: its variables are listed too.
note "case -L of an alias the pattern defines"
out="$("$NTAP" -L 'my.tick = timer.ms(10) { ticks = 1; label = "x" } probe my.tick')"
expect_eq "-L of the pattern's own alias" "my.tick ticks:long label:string" "$out"

note "case -l with no match"
status=0
out="$("$NTAP" -l 'timer.minutes*(5)')" || status=$?
expect_eq "-l without a match: status" 1 "$status"
expect_eq "-l without a match: output" "" "$out"
