#!/usr/bin/env bash
# SystemTap's current dropwatch.stp (location and reason, symdata, ctime)
# runs unchanged.
source "$(dirname "$0")/lib.sh"

script="$(with_short_timer "$E2E_DIR/scripts/dropwatch_upstream.stp")"
check_dropwatch "$script" '\+0x[0-9a-f]+/0x[0-9a-f]+ \[kernel\] \((SKB_DROP_REASON_)?NO_SOCKET\)' 2000
grep -Eq "$CTIME_REGEX" "$WORK_DIR/dropwatch.out" || fail "no ctime() header line in the reports"
