#!/usr/bin/env bash
# timer.profile fires on every online CPU: the script stops by itself once
# each CPU has reported (bounded by -T), and every CPU's count is positive.
source "$(dirname "$0")/lib.sh"

online=()
IFS=',' read -ra ranges </sys/devices/system/cpu/online
for range in "${ranges[@]}"; do
  low=${range%-*}
  high=${range#*-}
  for ((cpu = low; cpu <= high; cpu++)); do online+=("$cpu"); done
done
note "online CPUs: ${online[*]}"

out="$WORK_DIR/profile.out"
status=0
timeout 60 "$NTAP" -T 20 -e 'global ticks, named
probe timer.profile { ticks[cpu()] <<< 1; named[cpu()] = execname() }
probe timer.ms(20) {
  n = 0
  foreach (c in ticks) n++
  if (n == $1) exit()
}
probe end {
  foreach (c+ in ticks) printf("cpu %d %d %d\n", c, @count(ticks[c]) > 0, named[c] != "")
}' "${#online[@]}" >"$out" 2>"$out.err" || status=$?
expect_eq "timer.profile exit status" 0 "$status"
expected=""
for cpu in "${online[@]}"; do expected+="cpu $cpu 1 1"$'\n'; done
expect_eq "every online CPU ticked, with a process name" "${expected%$'\n'}" "$(cat "$out")"

note "case timer.profile.tick with -l"
expect_eq "-l timer.profile*" "timer.profile" "$("$NTAP" -l 'timer.profile*')"
expect_eq "-l timer.**" "timer.profile
timer.profile.tick" "$("$NTAP" -l 'timer.**')"
