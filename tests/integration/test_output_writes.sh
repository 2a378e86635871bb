#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Records go to a file in a few large writes: the lines of a drain of the
# ring collect in a 1 MiB stream buffer and leave in one write() (one per
# 1 MiB of whole lines if the drain made more). A stream
# left with glibc's own buffer (st_blksize, 4 KiB here) made a write() per
# dozen records, split lines across writes, and on ext4 each unaligned
# 4 KiB write zeroed the rest of a new block: a third of --events' CPU at
# full churn, and ring buffer losses that followed from it.
# The reading thread (synfin's main thread) is the only one that writes:
# its write count and bytes from /proc over a churn with --events give the
# mean write, which must be well above 4 KiB.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=output_writes
sf_setup_churn "$T"
sf_start "$T" --events --netns "$SF_NETNS_S"

# write() calls and bytes of the reading thread
thread_io() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SF_SYNFIN_PID/task/$SF_SYNFIN_PID/io"; }

calls0=$(thread_io syscw)
bytes0=$(thread_io wchar)
if ! sf_in "$SF_NS_S" "$CHURN" --mode client-first --conns-parallel 4 --duration 2 \
	>"$SF_TMP/churn.json" 2>"$SF_TMP/churn.err"; then
	sf_synfin_stop
	sf_fail "$T/churn" "churn failed: $(head -c 300 "$SF_TMP/churn.err")"
	sf_done
fi
sleep 0.5
calls=$(( $(thread_io syscw) - calls0 ))
bytes=$(( $(thread_io wchar) - bytes0 ))
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

conns=$(jq .conns "$SF_TMP/churn.json")
echo "  $conns connections: $bytes bytes in $calls writes"
# less than 1 MiB would not tell 4 KiB writes from a drain's
if [ "$bytes" -lt 1048576 ] || [ "$calls" -lt 1 ]; then
	sf_fail "$T/large" "only $bytes bytes in $calls writes for $conns connections"
else
	sf_check "$T/large" "mean write $((bytes / calls)) bytes ($bytes in $calls; want at least 32768)" \
		[ $((bytes / calls)) -ge 32768 ]
fi
# every line whole and JSON
if jq_err=$(jq -c . "$SF_OUT" 2>&1 >/dev/null); then
	sf_pass "$T/lines"
else
	sf_fail "$T/lines" "the output is not all whole JSON lines: ${jq_err:0:200}"
fi
sf_done
