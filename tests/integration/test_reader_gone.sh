#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# synfin -j | a reader that exits while nothing is traced (a narrow filter,
# a quiet host): no write comes to tell synfin its reader has gone, yet it
# must stop at once, not hold its hooks until the next record or its -d.
# - SIGPIPE at its default: synfin ends by SIGPIPE, as its next write would
#   have ended it (status 141);
# - SIGPIPE ignored (as systemd runs services): it stops with exit 1 and the
#   write error line, and its summary.
# It used to run on to -d (20 s here) in both cases.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=reader_gone
sf_require "$T"
# a port no test uses, in this namespace only: nothing is ever traced
PORT=5719

# run_case NAME SIGPIPE-DISPOSITION: synfin's status, and the seconds from
# its reader's exit to its own, into STATUS and TOOK
run_case()
{
	local name=$1 ign=$2 err=$SF_TMP/$1.err gone=$SF_TMP/$1.gone
	: >"$err"
	(
		[ "$ign" = ignore ] && trap '' PIPE
		exec "$SYNFIN" -j -d 20 --no-alerts -L "$PORT" 2>"$err"
	) | {
		# the reader: wait for synfin to be ready, then go without reading
		n=600
		while ! grep -q '^synfin: ready' "$err" && [ "$n" -gt 0 ]; do
			sleep 0.05
			n=$((n - 1))
		done
		sleep 0.5
		date +%s.%N >"$gone"
	}
	STATUS=${PIPESTATUS[0]}
	TOOK=$(awk -v a="$(cat "$gone" 2>/dev/null || echo 0)" -v b="$(date +%s.%N)" \
		'BEGIN { printf "%.1f", b - a }')
}

run_case default default
if [ "$STATUS" = 141 ] && awk -v t="$TOOK" 'BEGIN { exit !(t < 5) }'; then
	sf_pass "$T/default"
else
	sf_fail "$T/default" "status $STATUS ${TOOK}s after its reader went, want 141 within 5 s; $(tail -c 300 "$SF_TMP/default.err")"
fi

run_case ignored ignore
ERR=$SF_TMP/ignored.err
if [ "$STATUS" = 1 ] && awk -v t="$TOOK" 'BEGIN { exit !(t < 5) }'; then
	sf_pass "$T/ignored"
else
	sf_fail "$T/ignored" "status $STATUS ${TOOK}s after its reader went, want 1 within 5 s; $(tail -c 300 "$ERR")"
fi
if grep -q '^synfin: writing the output failed: Broken pipe; stopped, 0 records not written$' "$ERR" &&
	grep -q '^synfin: [0-9]* events' "$ERR"; then
	sf_pass "$T/said"
else
	sf_fail "$T/said" "$(sf_oneline "$(tail -n 4 "$ERR")")"
fi
sf_done
