#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A stop asked for while synfin is still loading its programs is kept, not
# lost. A shell starts a background command with SIGINT ignored, so a
# handler installed only after the load left a synfin that got SIGINT
# during its first seconds running for good (as a script's or a
# supervisor's early stop would). SIGINT and SIGTERM, each sent at once.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=signals
sf_require "$T"

for sig in INT TERM; do
	"$SYNFIN" -j --netns 1 >"$SF_TMP/out.$sig" 2>"$SF_TMP/err.$sig" &
	pid=$!
	SF_PIDS+=("$pid")
	# once synfin catches both (SigCgt bits 1 and 14: its handlers are
	# in), and before it is ready. Its comm alone was not enough: a
	# signal sent after the exec but before main() installs them takes
	# the default action (seen once: exit 143).
	n=200
	while [ "$n" -gt 0 ]; do
		cgt=$(awk '/^SigCgt:/ {print $2}' /proc/"$pid"/status 2>/dev/null)
		[ -n "$cgt" ] && (((16#$cgt & 0x4002) == 0x4002)) && break
		sleep 0.01
		n=$((n - 1))
	done
	if grep -q '^synfin: ready' "$SF_TMP/err.$sig"; then
		sf_fail "$T/$sig-at-start" "ready before the signal could be sent"
	fi
	kill -"$sig" "$pid"
	n=600
	while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		sf_fail "$T/$sig-at-start" "still running 30 s after SIG$sig: $(head -c 300 "$SF_TMP/err.$sig")"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		continue
	fi
	wait "$pid"
	rc=$?
	sf_check "$T/$sig-at-start" "exit $rc after SIG$sig at start: $(head -c 300 "$SF_TMP/err.$sig")" \
		[ "$rc" = 0 ]
done
sf_done
