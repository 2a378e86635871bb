#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Connections open at the start are seeded from sock_diag, at most
# --max-conns of them, which is all the engine's table holds. The list of
# candidates used to take every connected socket on the host first (about
# 124 bytes each, 250 MB for a moment on a proxy of 2 million
# connections), whatever --max-conns said. Now it stops at the cap, and
# says on stderr how many were passed over: here 100 held connections (200
# ends) in one namespace, and --max-conns 16.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=seed_cap
K=100
sf_setup_churn "$T"
# the held connections stay open for the settle, then the churn ends
sf_bg "$SF_TMP/churn" "$SF_NS_S" "$CHURN" --hold "$K" --duration 0.2 --conns-parallel 1 \
	--port 5750 --ready-file "$SF_TMP/held" --settle 20
CHURN_PID=$SF_LAST_PID
sf_wait_file "$SF_TMP/held" || { sf_fail "$T" "the churn did not hold its connections"; sf_done; }

sf_start "$T" --netns "$SF_NETNS_S" --max-conns 16 --no-alerts -v
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
seeded=$(sed -n 's/.* \([0-9]*\) open connections seeded from .*/\1/p' "$SF_ERR")
over=$(sed -n 's/^synfin: \([0-9]*\) open connections not seeded: --max-conns (16) reached.*/\1/p' "$SF_ERR")
echo "  seeded ${seeded:-?}, passed over ${over:-?} of $((2 * K)) ends"
if [ "$seeded" = 16 ] && [ "$over" = $((2 * K - 16)) ]; then
	sf_pass "$T/capped"
else
	sf_fail "$T/capped" "seeded '$seeded' (want 16), passed over '$over' (want $((2 * K - 16))): $(grep -m 2 'seeded' "$SF_ERR" | tr '\n' ' ')"
fi
kill "$CHURN_PID" 2>/dev/null
sf_done
