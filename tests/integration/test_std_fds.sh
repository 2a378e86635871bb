#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# synfin started with a standard descriptor closed (a daemon manager's
# `2>&-`, a cron line's `<&-`): the number must not go to a BPF map or perf
# event, which would then receive the summary or the records. A closed
# stdin or stderr is held on /dev/null and the records still come on
# stdout; a closed stdout is refused at once, with a line that says so.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=std_fds
PORT=5520
sf_setup_ns "$T"

# closed stdout: refused before anything is loaded, one line on stderr
timeout -k 2 10 "$SYNFIN" -j -d 5 >&- 2>"$SF_TMP/closed_out.err" </dev/null
rc=$?
# (each condition judged: sf_check runs one command, and one after its && went unchecked)
[ "$rc" = 1 ] && [ "$(grep -c . "$SF_TMP/closed_out.err")" = 1 ] &&
	grep -q 'standard output is closed' "$SF_TMP/closed_out.err"
ok=$?
sf_check "$T/stdout/refused" "exit $rc, stderr: $(head -c 300 "$SF_TMP/closed_out.err")" [ "$ok" = 0 ]

# closed stdin and stderr: held on /dev/null, the records still come
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 1 \
	--wait-eof --ready-file "$SF_TMP/srv.ready" --timeout-ms 20000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
"$SYNFIN" -j -d 6 --netns "$SF_NETNS_C" >"$SF_TMP/out" <&- 2>&- &
SYN=$!
SF_PIDS+=("$SYN")
# no ready line to wait for (stderr is closed): wait for the hooks' links
n=100
while [ "$n" -gt 0 ] && ! find "/proc/$SYN/fd" -lname 'anon_inode:bpf_link' 2>/dev/null | grep -q .; do
	sleep 0.05
	n=$((n - 1))
done
sleep 1
fds=$(for fd in 0 1 2; do printf '%s=%s ' "$fd" "$(readlink "/proc/$SYN/fd/$fd")"; done)
[ "$(readlink "/proc/$SYN/fd/0")" = /dev/null ] && [ "$(readlink "/proc/$SYN/fd/2")" = /dev/null ]
ok=$?
sf_check "$T/held" "descriptors: $fds" [ "$ok" = 0 ]
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" --close-first \
	--timeout-ms 10000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
sf_wait_pid "$SRV" 10
wait "$SYN"
rc=$?
n=$(jq -c --argjson port "$PORT" 'select(.type == "conn" and .rport == $port)' "$SF_TMP/out" 2>/dev/null | grep -c .)
sf_check "$T/records" "exit $rc, $n client records (want 0 and 1): $(head -c 300 "$SF_TMP/out")" \
	[ "$rc:$n" = 0:1 ]
sf_done
