#!/usr/bin/env bash
# examples/dropwatch.ntp: drops keyed by location and reason, rendered with
# symdata() and drop_reason_name(); our datagrams are NO_SOCKET drops.
source "$(dirname "$0")/lib.sh"

script="$(with_short_timer "$REPO_ROOT/examples/dropwatch.ntp")"
check_dropwatch "$script" '\+0x[0-9a-f]+/0x[0-9a-f]+ \[kernel\] \((SKB_DROP_REASON_)?NO_SOCKET\)' 2000
grep -Eq "$CTIME_REGEX" "$WORK_DIR/dropwatch.out" || fail "no ctime() header line in the reports"
