#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A server-side TIME_WAIT group outlives its listener: a server closes
# first on 30 connections (--tw-count 10), then closes its listener, as a
# restart does; its tw socks stand for their 60 s. The census's walk
# (--no-timewait: synfin keeps no count of its own, the walk is all) still
# counts them the server's, so its timewait_buildup alert goes on: no end
# while they stand, and one start. The old build counted them the
# clients' once the listener was gone, ended the alert, and (where synfin
# keeps its own count, which still said the server's) started it again.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_listener_gone
P=5320
N=30
sf_setup_ns "$T"
sf_start_grep "$T" '"type":"alert"' --netns "$SF_NETNS_S" --no-timewait --tw-count 10

sf_conns g "$P" "$N" --close-first --wait-eof sftlg
tw=$(sf_ss_count "$SF_NS_S" time-wait "( sport = :$P )")
sf_check "$T/traffic" "only $tw TIME-WAIT socks for :$P in the server namespace (want $N)" \
	[ "$tw" -ge $((N - 2)) ]
cond='.kind == "timewait_buildup" and .side == "server" and .listener.port == '"$P"
sf_wait_alert 10 "$SF_OUT" "$cond and .state == \"start\""
sf_check "$T/start" "no timewait_buildup start for listener :$P" \
	[ -n "$(sf_alerts "$SF_OUT" "$cond and .state == \"start\"")" ]
sf_conns_release g
left=$(sf_ss_count "$SF_NS_S" listening "( sport = :$P )")
sf_check "$T/closed" "$left listeners left on :$P" [ "$left" = 0 ]
sleep 6	# more than the 3 clear intervals that end an alert
tw=$(sf_ss_count "$SF_NS_S" time-wait "( sport = :$P )")
recs=$(sf_alerts "$SF_OUT" "$cond" | jq -c '[.state, .ts, .figures.count]' | tr '\n' ' ')
sf_check "$T/goes-on" "alert records for :$P, its $tw tw socks standing: $recs (want one start, no end)" \
	[ "$(sf_alerts "$SF_OUT" "$cond" | jq -r .state | tr '\n' ' ')" = "start " ]
others=$(sf_alerts "$SF_OUT" '.kind == "timewait_buildup" and .side == "client"')
sf_check "$T/not-clients" "client-side groups of the server's tw socks: $(head -n 1 <<<"$others")" \
	[ -z "$others" ]
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
