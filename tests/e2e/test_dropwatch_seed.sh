#!/usr/bin/env bash
# The classic dropwatch.stp (keyed by $location, symname) runs unchanged and
# counts exactly the datagrams we drop.
source "$(dirname "$0")/lib.sh"

script="$(with_short_timer "$E2E_DIR/scripts/dropwatch_seed.stp")"
check_dropwatch "$script" '' 2000
