#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An idle synfin stays idle: with nothing to read, its reading thread
# looks at the ring less and less often (every 10 ms at first, at most
# every 100 ms), rather than waking 100 times a second to find nothing.
# And the first records after the quiet spell still come within a second.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=idle
sf_setup_ns "$T"
sf_start "$T" --netns "$SF_NETNS_C"

# the reading thread is the main one; the census thread has its own count
wakeups() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$SF_SYNFIN_PID/task/$SF_SYNFIN_PID/status"; }
sleep 1
before=$(wakeups)
sleep 5
after=$(wakeups)
rate=$(( (after - before) / 5 ))
echo "  reading thread: $rate wake-ups a second with nothing to read"
sf_check "$T/quiet" "$rate wake-ups a second with nothing to read (want fewer than 25)" \
	[ "$rate" -lt 25 ]

sf_pair "$T" "$SF_S4" 5401 --wait-eof --comm sfidlesrv -- --close-first --comm sfidlecli
if sf_wait_records 1 "$SF_NETNS_C $SF_C4 $CP $SF_S4 5401"; then
	sf_pass "$T/prompt"
else
	sf_fail "$T/prompt" "no record of the client's connection within 1 s after 6 s of quiet"
fi
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
