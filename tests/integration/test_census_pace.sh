#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The census's pace on a host of many namespaces, scaled down: the CPU
# budget is an option, so a budget a hundred times smaller does to the
# walks of a few namespaces what 5% does to those of a thousand.
#  default:  at the default budget a walk of this host's few namespaces
#            fits every interval: no notice, walks a second apart, and
#            each namespace's sysctls (ip_local_port_range,
#            tcp_max_tw_buckets) read every walk, so that a changed port
#            range counts at once (synfin -v counts the reads).
#  carried:  with 70 namespaces more (64 or more), a namespace's sysctls
#            are read at its first walk and carried over for 30 s and
#            more: opening them in every namespace every walk was
#            quadratic in the namespaces. A build that read them every
#            walk fails.
#  spaced:   at --census-budget 0.01 the walks are spaced out, and synfin
#            says so once on stderr, with the spacing; -v gives the
#            longest. A build that spaced them silently fails.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=census_pace
sf_setup_ns "$T"

# counts: WALKS, NETNS (namespaces walked, all walks), READS (their
# sysctls read) and SPACING (the longest, s) from synfin's -v line
counts()
{
	local line
	line=$(grep '^synfin: census:.* walks (' "$SF_ERR")
	WALKS=$(sed -n 's/^synfin: census: \([0-9]*\) walks.*/\1/p' <<<"$line")
	NETNS=$(sed -n 's/.*; \([0-9]*\) namespaces walked, .*/\1/p' <<<"$line")
	READS=$(sed -n 's/.* namespaces walked, \([0-9]*\) of their sysctls read.*/\1/p' <<<"$line")
	SPACING=$(sed -n 's/.*; walks up to \([0-9.]*\) s apart;.*$/\1/p' <<<"$line")
	echo "  $1: ${WALKS:-?} walks of ${NETNS:-?} namespaces in all, ${READS:-?} sysctl reads," \
		"walks up to ${SPACING:-?} s apart"
	if [ -z "$WALKS" ] || [ -z "$NETNS" ] || [ -z "$READS" ] || [ -z "$SPACING" ]; then
		sf_fail "$T/$1" "no census line from synfin -v: $(tail -c 300 "$SF_ERR")"
		sf_done
	fi
}

NOTICE='^synfin: census: a walk of [0-9]* namespaces\? takes [0-9]* ms of CPU, so walks are'

# --- default -------------------------------------------------------------------
sf_start "$T/default" -v
sleep 6
sf_synfin_stop || sf_fail "$T/default/stop" "synfin did not exit 0 on SIGINT"
counts default
sf_check "$T/default/walked" "$WALKS walks in 6 s at --interval 1 (want 4 or more)" [ "$WALKS" -ge 4 ]
if [ "$NETNS" -lt $((64 * WALKS)) ]; then
	sf_check "$T/default/read" "$READS sysctl reads in $WALKS walks of $NETNS namespaces (want every one)" \
		[ "$READS" = "$NETNS" ]
else
	sf_skip "$T/default/read" "this host has 64 namespaces or more"
fi
sf_check "$T/default/no-notice" "a notice at the default budget: $(grep "$NOTICE" "$SF_ERR")" \
	[ "$(grep -c "$NOTICE" "$SF_ERR")" = 0 ]
sf_check "$T/default/spacing" "walks up to $SPACING s apart (want 1.0)" [ "$SPACING" = 1.0 ]

# --- carried -------------------------------------------------------------------
for i in $(seq 1 70); do
	echo "netns add ${SF_PREFIX}m$i"
done >"$SF_TMP/mkns"
for i in $(seq 1 70); do
	SF_NSES+=("${SF_PREFIX}m$i")
done
ip -b "$SF_TMP/mkns" || { sf_fail "$T/carried" "could not create 70 namespaces"; sf_done; }
sf_start "$T/carried" -v
sleep 6
sf_synfin_stop || sf_fail "$T/carried/stop" "synfin did not exit 0 on SIGINT"
counts carried
# the namespaces of a walk, on average: the host's, this test's 72, and
# any that come and go meanwhile
per_walk=$(( (NETNS + WALKS - 1) / WALKS ))
sf_check "$T/carried/walked" "$WALKS walks in 6 s at --interval 1 (want 4 or more)" [ "$WALKS" -ge 4 ]
sf_check "$T/carried/read-once" \
	"$READS sysctl reads in $WALKS walks of $NETNS namespaces (want at most a walk's $per_walk and 3 more)" \
	[ "$READS" -le $((per_walk + 3)) ]
for i in $(seq 1 70); do
	echo "netns del ${SF_PREFIX}m$i"
done >"$SF_TMP/rmns"
ip -b "$SF_TMP/rmns" || sf_fail "$T/carried/cleanup" "could not delete the 70 namespaces"

# --- spaced -------------------------------------------------------------------
sf_start "$T/spaced" -v --census-budget 0.01
sleep 6
sf_synfin_stop || sf_fail "$T/spaced/stop" "synfin did not exit 0 on SIGINT"
counts spaced
notice=$(grep "$NOTICE" "$SF_ERR")
echo "  spaced: $notice"
told=$(sed -n 's/.* so walks are \([0-9.]*\) s apart, not 1 s, to keep within --census-budget 0.01% of a core: figures and alerts come that late$/\1/p' <<<"$notice" | head -n 1)
sf_check "$T/spaced/notice" "no notice of the spacing on stderr: $(tail -c 400 "$SF_ERR")" [ -n "$told" ]
sf_check "$T/spaced/once" "$(grep -c "$NOTICE" "$SF_ERR") notices (want 1: again only when the spacing doubles)" \
	[ "$(grep -c "$NOTICE" "$SF_ERR")" = 1 ]
sf_check "$T/spaced/told" "the notice says walks ${told:-?} s apart (want 2 or more)" \
	[ "${told%%.*}" -ge 2 ]
sf_check "$T/spaced/walks" "$WALKS walks in 6 s at a budget of 0.01% (want 3 at most)" [ "$WALKS" -le 3 ]
sf_check "$T/spaced/longest" "-v says walks up to $SPACING s apart, the notice ${told:-?} s (want it at least)" \
	awk -v a="$SPACING" -v b="${told:-0}" 'BEGIN { exit !(a + 0 >= b + 0 && a + 0 >= 2) }'
sf_done
