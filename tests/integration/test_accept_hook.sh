#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The accept() hook and --no-accept-hook. The hook is a syscall tracepoint,
# and any attached one sends every system call on the host down the
# tracing path; --no-accept-hook attaches none. Either way a server socket
# is named after the process that holds it: a pre-fork server's worker,
# not the master that listened (at accept(), or without the hook at the
# worker's close()). And a reset's cause tells a child its listener dropped
# unaccepted from one closed over unread data, with no hook to say which
# children were accepted. Classic mode too, where owners live in a map.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=accept_hook
sf_setup_ns "$T"

# syscall_tracepoints: those synfin's programs are attached to
syscall_tracepoints()
{
	bpftool perf show -j 2>/dev/null | jq -r --argjson p "$SF_SYNFIN_PID" \
		'[.[] | select(.pid == $p and ((.tracepoint // "") | startswith("sys_")))
		  | .tracepoint] | sort | join(" ")'
}

# server_record PORT: the server end's conn record on PORT
server_record()
{
	jq -c --argjson ns "$SF_NETNS_S" --argjson p "$1" \
		'select(.type == "conn" and .netns == $ns and .role == "server" and .lport == $p)' \
		"$SF_OUT" 2>/dev/null
}

# closes_unread NAME PORT: the server accepts, lets the client's 1000 bytes
# arrive, and closes without reading them (which resets the connection:
# sf_pair wants the client to see no reset).
closes_unread()
{
	local name=$1 port=$2 srv
	rm -f "$SF_TMP/cu.ready"
	sf_bg "$SF_TMP/cu.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--close-first --delay-close-ms 300 --comm sfunread \
		--ready-file "$SF_TMP/cu.ready" --timeout-ms 15000
	srv=$SF_LAST_PID
	sf_wait_file "$SF_TMP/cu.ready" || { sf_fail "$name" "server did not listen"; return 1; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" --send 1000 \
		--wait-eof --timeout-ms 15000 >"$SF_TMP/cu.cli" 2>&1
	sf_wait_pid "$srv" 10 >/dev/null
	sf_wait_output 5 server_record "$port"
}

# listener_drops NAME PORT: a client connects to a listener that never accepts,
# then the listener closes, which resets the child waiting in its queue.
listener_drops()
{
	local name=$1 port=$2 srv
	rm -f "$SF_TMP/ld.ready" "$SF_TMP/ld.close"
	sf_bg "$SF_TMP/ld.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--no-accept --hold-listener-file "$SF_TMP/ld.close" --comm sfldrop \
		--ready-file "$SF_TMP/ld.ready" --timeout-ms 15000
	srv=$SF_LAST_PID
	sf_wait_file "$SF_TMP/ld.ready" || { sf_fail "$name" "server did not listen"; return 1; }
	sf_bg "$SF_TMP/ld.cli" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" \
		--wait-eof --timeout-ms 15000
	# bounded wait for the child in the server's accept queue
	sf_wait_output 5 sf_in "$SF_NS_S" ss -Htn state established "( sport = :$port )"
	touch "$SF_TMP/ld.close"
	sf_wait_pid "$srv" 10 >/dev/null
	sf_wait_pid "$SF_LAST_PID" 10 >/dev/null
	sf_wait_output 5 server_record "$port"
}

# scenario NAME PORTBASE TRACEPOINTS [SYNFIN-ARGS...]
scenario()
{
	local name=$1 base=$2 want_tps=$3 tps owner='.comm == $comm'
	shift 3
	# Classic mode has no per-socket storage for a child to inherit its
	# listener's owner from: a child nobody accepted or closed has none.
	[[ " $* " == *" --classic "* ]] && owner='.comm == "" or .comm == $comm'
	sf_start "$name" "$@"

	tps=$(syscall_tracepoints)
	sf_check "$name/syscall_tracepoints" "attached to '$tps', want '$want_tps'" \
		test "$tps" = "$want_tps"

	# a pre-fork server: sfmaster listens, its child sfworker accepts,
	# serves and closes first
	sf_pair "$name" "$SF_S4" "$base" --close-first --recv 1000 --send 1000 \
		--comm sfmaster --worker-comm sfworker -- --send 1000 --wait-eof
	sf_wait_output 5 server_record "$base"
	SF_JQ_ARGS=(--argjson spid "$SPID")
	sf_expect "$name/worker" "$(server_record "$base")" \
		'.comm == "sfworker"' '.pid == $spid' \
		'.close.initiator == "local"' '.close.how == "fin"'

	# closed over 1000 bytes never read: a reset, and not the listener's
	closes_unread "$name/unread" $((base + 1))
	SF_JQ_ARGS=(--arg comm sfunread)
	sf_expect "$name/unread" "$(server_record $((base + 1)))" \
		"$owner" '.close.how == "rst_sent"' '.close.rst_cause == "unread_data"'

	if listener_drops "$name/listener" $((base + 2)); then
		SF_JQ_ARGS=(--arg comm sfldrop)
		sf_expect "$name/listener" "$(server_record $((base + 2)))" \
			"$owner" '.close.how == "rst_sent"' \
			'.close.rst_cause == "listener_closed"'
	fi
	SF_JQ_ARGS=()
	sf_synfin_stop || sf_fail "$name/stop" "synfin $* did not exit 0 on SIGINT"
}

scenario "$T/hooked" 5810 "sys_exit_accept sys_exit_accept4"
scenario "$T/unhooked" 5820 "" --no-accept-hook
# classic mode keeps owners in a map of its own, not in socket storage
scenario "$T/classic_unhooked" 5830 "" --no-accept-hook --classic

# The hook absent, not turned off: synfin in a mount namespace of its own
# whose tracefs is empty, so the syscall tracepoints cannot attach (tp_btf
# needs no tracefs). It must say so, attach neither, and carry on as
# --no-accept-hook does. The pid stays synfin's: unshare and sh exec.
cat >"$SF_TMP/no_tracefs" <<WRAPPER
#!/bin/sh
exec unshare -m --propagation private /bin/sh -c \
	'mount -t tmpfs none /sys/kernel/tracing && mkdir /sys/kernel/tracing/events &&
	 if [ -d /sys/kernel/debug ]; then mount -t tmpfs none /sys/kernel/debug; fi &&
	 exec "\$0" "\$@"' "$SYNFIN" "\$@"
WRAPPER
chmod +x "$SF_TMP/no_tracefs"
SYNFIN=$SF_TMP/no_tracefs scenario "$T/absent" 5840 ""
sf_check "$T/absent/says" "no warning on stderr: $(head -c 300 "$SF_ERR")" \
	grep -q "accept() tracepoints unavailable" "$SF_ERR"
sf_check "$T/absent/host_tracefs" "the host's tracefs lost its syscall events" \
	test -d /sys/kernel/tracing/events/syscalls
sf_done
