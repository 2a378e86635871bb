#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# -c (and -p) against a pre-fork server: the master (sfmst) listens, a
# worker (sfwrk) accepts and serves. The connection is the worker's, as
# synfin names it without a filter. The accept() hook used to hand a new
# socket over only to a process the filters asked for: under -c sfmst the
# worker's accept was skipped, its socket kept the master's name from
# the listener and was reported as the master's. Each way, twice (the
# server closes first, then the client):
#  master/*   synfin -c sfmst shows no server record of the worker's;
#  worker/*   synfin -c sfwrk shows it, named sfwrk.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=owner_filter_worker
PORT=5754
sf_setup_ns "$T"
sf_start_as mst --no-alerts -c sfmst
sf_start "$T" --no-alerts -c sfwrk

# way NAME PORT SERVER-MODE CLIENT-MODE
way()
{
	local name=$1 port=$2 rec
	sf_pair "$T/$name" "$SF_S4" "$port" --comm sfmst --worker-comm sfwrk --recv 100 "$3" -- \
		--send 100 "$4"
	sf_wait_records 5 "$ST"
	sleep 0.3
	# shellcheck disable=SC2086
	sf_expect "$T/worker/$name" "$(sf_records $ST)" '.role == "server"' '.comm == "sfwrk"'
	# shellcheck disable=SC2086
	rec=$(SF_OUT=$SF_TMP/mst.out; sf_records $ST)
	sf_check "$T/master/$name" "synfin -c sfmst reported the worker's connection: $rec" [ -z "$rec" ]
}
way server_first "$PORT" --close-first --wait-eof
way client_first $((PORT + 1)) --wait-eof --close-first
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_synfin_stop_as mst || sf_fail "$T/stop" "synfin -c sfmst did not exit 0 on SIGINT"
sf_done
