# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034,SC2016
# (SF_* variables are used by the scripts that source this; jq $vars are not bash)
# Shared helpers for the integration tests: a private client/server netns
# pair joined by a veth, synfin started and stopped around the traffic, and
# jq assertions on the record of one 4-tuple. Sourced, never run.
#
# Addresses are test-only (10.213.0.0/24, fd00:213::/64) inside namespaces
# this script creates; there is no default route, so nothing leaves the box.

SF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SYNFIN=${SYNFIN:-$SF_ROOT/build/synfin}
TCPDRIVE=${TCPDRIVE:-$SF_ROOT/build/tools/tcpdrive}

SF_PREFIX="sf$$"
SF_NS_C="${SF_PREFIX}c"
SF_NS_S="${SF_PREFIX}s"
SF_C4=10.213.0.1
SF_S4=10.213.0.2
SF_C6=fd00:213::1
SF_S6=fd00:213::2

SF_PIDS=()		# every background process this test started
SF_NSES=()		# every namespace this test created
SF_FAILED=0
SF_SYNFIN_PID=
SF_TMP=$(mktemp -d "/tmp/synfin-it.XXXXXX") || exit 1

sf_cleanup()
{
	local pid ns
	for pid in "${SF_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${SF_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${SF_NSES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	witness_remove
	if [ "${SF_KEEP:-0}" = 1 ] || { [ "$SF_FAILED" != 0 ] && [ -n "${SF_KEEP_ON_FAIL:-}" ]; }; then
		echo "  (artifacts kept in $SF_TMP)" >&2
	else
		rm -rf "$SF_TMP"
	fi
}
trap sf_cleanup EXIT
trap 'exit 130' INT TERM

# ---- reporting -------------------------------------------------------------

sf_pass() { echo "PASS $1"; }
sf_fail() { echo "FAIL $1: $2"; SF_FAILED=1; }
# A would-be SKIP is a FAIL when CI demands real BPF.
sf_skip()
{
	if [ "${SYNFIN_REQUIRE_BPF:-0}" = 1 ]; then
		sf_fail "$1" "$2 (SYNFIN_REQUIRE_BPF=1)"
	else
		echo "SKIP $1: $2"
	fi
}
# The script's exit status: 1 if anything failed.
sf_done() { exit "$SF_FAILED"; }

# sf_require NAME: SKIP (and exit) unless real BPF tests can run here.
sf_require()
{
	local why=
	if [ "$(id -u)" != 0 ]; then
		why="not root"
	elif [ ! -r /sys/kernel/btf/vmlinux ]; then
		why="no /sys/kernel/btf/vmlinux"
	elif [ ! -x "$SYNFIN" ]; then
		why="$SYNFIN not built"
	elif [ ! -x "$TCPDRIVE" ]; then
		why="$TCPDRIVE not built (make tools)"
	else
		local t
		for t in ip jq timeout; do
			command -v "$t" >/dev/null || { why="$t not installed"; break; }
		done
	fi
	if [ -n "$why" ]; then
		sf_skip "$1" "$why"
		sf_done
	fi
}

# ---- namespaces -------------------------------------------------------------

# sf_netns_pair: client ns $SF_NS_C (10.213.0.1, fd00:213::1) and server ns
# $SF_NS_S (10.213.0.2, fd00:213::2) joined by a veth created inside the
# namespaces (nothing appears in the host's namespace, even briefly).
sf_netns_pair()
{
	ip netns add "$SF_NS_C" || return 1
	SF_NSES+=("$SF_NS_C")
	ip netns add "$SF_NS_S" || return 1
	SF_NSES+=("$SF_NS_S")
	ip -n "$SF_NS_C" link add vc type veth peer name vs netns "$SF_NS_S" || return 1
	ip -n "$SF_NS_C" link set lo up && ip -n "$SF_NS_S" link set lo up || return 1
	ip -n "$SF_NS_C" addr add "$SF_C4/24" dev vc || return 1
	ip -n "$SF_NS_S" addr add "$SF_S4/24" dev vs || return 1
	# nodad: the addresses are usable at once, no 1-2 s tentative phase
	ip -n "$SF_NS_C" -6 addr add "$SF_C6/64" dev vc nodad || return 1
	ip -n "$SF_NS_S" -6 addr add "$SF_S6/64" dev vs nodad || return 1
	ip -n "$SF_NS_C" link set vc up && ip -n "$SF_NS_S" link set vs up || return 1
	SF_NETNS_C=$(stat -L -c %i "/run/netns/$SF_NS_C") || return 1
	SF_NETNS_S=$(stat -L -c %i "/run/netns/$SF_NS_S") || return 1
	sf_wait_carrier || { echo "veth carrier did not come up" >&2; return 1; }
}

# sf_wait_carrier: bounded wait (5 s) for the pair's veth carrier on both ends
sf_wait_carrier()
{
	local i
	for i in $(seq 50); do
		ip -n "$SF_NS_C" link show vc | grep -q LOWER_UP &&
			ip -n "$SF_NS_S" link show vs | grep -q LOWER_UP && return 0
		sleep 0.1
	done
	return 1
}

# sf_in NS CMD...: run in a namespace (ip netns exec execs, so $! is CMD's pid)
sf_in() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# sf_bg OUTFILE NS CMD...: start in the background; the pid lands in SF_LAST_PID
sf_bg()
{
	local out=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$out" 2>"$out.err" &
	SF_LAST_PID=$!
	SF_PIDS+=("$SF_LAST_PID")
}

# sf_touch_later FILE PORT: FILE appears once the server namespace's end
# of :PORT is in FIN-WAIT-2 (its close went first and was acked), 10 s at
# most; run it in the background: a tcpdrive --send-after-file client
# then sends after its peer has closed. (A fixed half second was not
# enough on a loaded host: the client could send before the server's
# close, which then closed over unread data.)
sf_touch_later()
{
	local _
	for _ in $(seq 100); do
		[ "$(sf_ss_count "$SF_NS_S" fin-wait-2 "( sport = :$2 )")" -gt 0 ] && break
		sleep 0.1
	done
	touch "$1"
}

# sf_wait_file FILE [SECONDS]: bounded wait for a file to appear
sf_wait_file()
{
	local f=$1 n=$(( ${2:-10} * 20 ))
	while [ ! -e "$f" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	[ -e "$f" ]
}

# sf_wait_accepted FILE N: bounded wait (5 s) until a tcpdrive server's
# output FILE has N "result=accepted" lines
sf_wait_accepted()
{
	local f=$1 want=$2 n=100
	while [ "$(grep -c '^result=accepted' "$f" 2>/dev/null)" -lt "$want" ] && [ "$n" -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
}

# sf_proc_state PID: the process's state letter in /proc/PID/stat (Z: it
# has exited and is not reaped), nothing once it is gone. The state follows
# the comm's closing parenthesis; a comm may hold one itself, hence the
# greedy match.
sf_proc_state()
{
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1
}

# sf_wait_pid PID [SECONDS]: bounded wait for one of our children; its exit
# status is returned (124 if it had to be killed).
sf_wait_pid()
{
	local pid=$1 n=$(( ${2:-15} * 20 ))
	while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

# sf_wait_output SECONDS CMD...: bounded wait until CMD prints something
sf_wait_output()
{
	local n=$(( $1 * 10 ))
	shift
	while [ -z "$("$@")" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
}

# sf_wait_count WANT CMD...: bounded wait (5 s) until CMD prints WANT lines or more
sf_wait_count()
{
	local want=$1 n=50
	shift
	while [ "$("$@" | grep -c .)" -lt "$want" ] && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
}

# sf_oneline TEXT: its lines joined by commas, for a FAIL line
sf_oneline() { tr '\n' ',' <<<"$1"; }

# sf_client_lport VAR FILE NAME [WHO [RESULTS]]: the local port of the
# tcpdrive client whose result line is in FILE, into VAR; unless its result
# is one of RESULTS (space-separated; "connected" unless given), FAIL NAME
# with WHO's output (WHO: "client" unless given) and exit. Called as is,
# not in $(...), where the FAIL line and the exit would stay.
sf_client_lport()
{
	local _sfc_file=$2 _sfc_name=$3 _sfc_who=${4:-client} _sfc_ok=" ${5:-connected} "
	[[ "$_sfc_ok" == *" $(sf_field "$_sfc_file" result) "* ]] || {
		sf_fail "$_sfc_name" "$_sfc_who: $(cat "$_sfc_file" "$_sfc_file.err" 2>/dev/null)"
		sf_done
	}
	printf -v "$1" '%s' "$(sf_field "$_sfc_file" lport)"
}

# sf_field FILE KEY: a value from tcpdrive's "key=value ..." result line
sf_field()
{
	tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ---- synfin ----------------------------------------------------------------

# sf_synfin_start [ARGS...]: start `synfin -j ARGS` in the host namespace,
# stdout to $SF_OUT, stderr to $SF_ERR, and wait (bounded) for "synfin: ready".
sf_synfin_start()
{
	SF_OUT=$SF_TMP/synfin.out
	SF_ERR=$SF_TMP/synfin.err
	# emptied here, not by the child's redirection: a second start would
	# otherwise race the child and may find the last run's ready line
	: >"$SF_ERR"
	"$SYNFIN" -j "$@" >"$SF_OUT" 2>"$SF_ERR" &
	SF_SYNFIN_PID=$!
	SF_PIDS+=("$SF_SYNFIN_PID")
	sf_wait_ready "$SF_SYNFIN_PID" "$SF_ERR" synfin
}

# sf_wait_ready PID ERRFILE LABEL: wait (30 s at most) for synfin's
# "synfin: ready" line; fails, saying why, if it exits first or times out.
sf_wait_ready()
{
	local pid=$1 err=$2 label=$3 n=600
	while [ "$n" -gt 0 ]; do
		grep -q '^synfin: ready' "$err" 2>/dev/null && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			echo "$label exited ($?) before ready: $(head -c 500 "$err")" >&2
			return 1
		fi
		sleep 0.05
		n=$((n - 1))
	done
	echo "$label not ready after 30 s: $(head -c 500 "$err")" >&2
	return 1
}

# sf_synfin_stop: SIGINT, bounded wait; fails unless synfin exits 0.
sf_synfin_stop()
{
	[ -n "$SF_SYNFIN_PID" ] || return 1
	kill -INT "$SF_SYNFIN_PID" 2>/dev/null
	sf_wait_pid "$SF_SYNFIN_PID" 10
	local rc=$?
	SF_SYNFIN_PID=
	if [ "$rc" != 0 ]; then
		echo "synfin exit status $rc after SIGINT: $(tail -c 500 "$SF_ERR")" >&2
		return 1
	fi
	# after a failure, what synfin counted as lost
	[ "$SF_FAILED" = 0 ] || grep -h 'lost:' "$SF_ERR" | sed 's/^/  /'
}

# jq filter selecting the conn record of one 4-tuple seen from one end,
# in one netns (the same tuple can exist in another test's namespaces).
SF_JQ_SEL='select(.type == "conn" and .netns == $ns and .laddr == $la and .lport == $lp
	and .raddr == $ra and .rport == $rp)'

# sf_records NETNS LADDR LPORT RADDR RPORT: the matching records, one per line
sf_records()
{
	jq -c --argjson ns "$1" --arg la "$2" --argjson lp "$3" --arg ra "$4" \
		--argjson rp "$5" "$SF_JQ_SEL" "$SF_OUT" 2>/dev/null
}

# sf_wait_records SECONDS TUPLE... (each TUPLE is "NETNS LADDR LPORT RADDR RPORT"):
# bounded wait until synfin has printed a record for every tuple.
sf_wait_records()
{
	local n=$(( $1 * 10 )) t missing; shift
	SF_WAITED=("$@")
	while :; do
		missing=0
		for t in "$@"; do
			# shellcheck disable=SC2086
			[ -n "$(sf_records $t)" ] || missing=1
		done
		[ "$missing" = 0 ] && return 0
		[ "$n" -le 0 ] && return 1
		sleep 0.1
		n=$((n - 1))
	done
}

# sf_expect NAME RECORD EXPR...: PASS if RECORD is exactly one object and
# every jq EXPR is true on it; otherwise FAIL listing what was false, and
# the record itself. $vars given as SF_JQ_ARGS (an array) are passed to jq.
sf_expect()
{
	local name=$1 rec=$2 count
	shift 2
	count=$(printf '%s' "$rec" | grep -c .)
	if [ "$count" = 0 ]; then
		sf_fail "$name" "no conn record for the tuple"
		sf_why_missing
		return 1
	fi
	if [ "$count" != 1 ]; then
		sf_fail "$name" "$count conn records for one tuple (want 1): $(printf '%s' "$rec" | tr '\n' ' ')"
		return 1
	fi
	sf_judge "$name" "$rec" "" "$@"
}
SF_JQ_ARGS=()
SF_WAITED=()

# What a missing record leaves to go on (printed under its FAIL): whether
# every line of the output parses (a line jq cannot read hides all after
# it), how many conn records came, the last three, and whether synfin
# still runs; whole, any record of the same netns and local port (one
# whose tuple the kernel wiped); and synfin's closing counters if it has
# stopped (a test that stops it before judging), else they follow at
# sf_synfin_stop.
sf_why_missing()
{
	local lines bad
	lines=$(grep -c . "$SF_OUT" 2>/dev/null)
	bad=$(jq -c . "$SF_OUT" 2>&1 >/dev/null | head -n 1)
	echo "  output: ${lines:-0} lines${bad:+, jq: $bad}; $(jq -c 'select(.type == "conn")' \
		"$SF_OUT" 2>/dev/null | grep -c .) conn records; synfin $(
		[ -n "$SF_SYNFIN_PID" ] && kill -0 "$SF_SYNFIN_PID" 2>/dev/null &&
		echo runs || echo "is gone")"
	jq -c 'select(.type == "conn") | [.netns, .laddr, .lport, .raddr, .rport, .role,
		.handshake.result, .last_state]' "$SF_OUT" 2>/dev/null | tail -n 3 | sed 's/^/  last: /'
	local t t0 ns lp
	for t in "${SF_WAITED[@]}"; do
		read -r ns _ lp _ <<<"$t"
		jq -c --argjson ns "$ns" --argjson lp "$lp" \
			'select(.type == "conn" and .netns == $ns and .lport == $lp)' \
			"$SF_OUT" 2>/dev/null | head -n 2 | sed 's/^/  same port: /'
	done
	[ -n "$SF_SYNFIN_PID" ] || grep -h ' events (' "$SF_ERR" 2>/dev/null | sed 's/^/  /'
	# late or never: the tuples last waited for, 10 s more
	for t in "${SF_WAITED[@]}"; do
		# shellcheck disable=SC2086
		[ -z "$(sf_records $t)" ] || continue
		t0=$(sf_now_s)
		if sf_wait_records 10 "$t"; then
			echo "  $t: its record came $(awk -v a="$t0" -v b="$(sf_now_s)" \
				'BEGIN { printf "%.1f", b - a }') s after the wait ended"
		else
			echo "  $t: no record 10 s after the wait ended either"
		fi
	done
}

# sf_judge NAME RECORD PREFIX EXPR...: PASS if every jq EXPR (after PREFIX,
# jq definitions) is true on RECORD, else FAIL listing the false ones and
# the record. SF_JQ_ARGS as in sf_expect.
sf_judge()
{
	local name=$1 rec=$2 prefix=$3 e bad=()
	shift 3
	for e in "$@"; do
		printf '%s\n' "$rec" | jq -e "${SF_JQ_ARGS[@]}" "$prefix$e" >/dev/null 2>&1 ||
			bad+=("$e")
	done
	if [ "${#bad[@]}" = 0 ]; then
		sf_pass "$name"
		return 0
	fi
	local joined
	joined=$(printf '%s; ' "${bad[@]}")
	sf_fail "$name" "false: ${joined%; } -- record: $rec"
	return 1
}

# sf_check NAME CONDITION-DESCRIPTION CMD...: PASS/FAIL on a command's status
sf_check()
{
	local name=$1 why=$2; shift 2
	if "$@"; then sf_pass "$name"; else sf_fail "$name" "$why"; fi
}

# sf_setup_ns NAME: root/BTF check and the namespace pair; SKIP or FAIL + exit.
sf_setup_ns()
{
	sf_require "$1"
	if ! sf_netns_pair; then
		sf_fail "$1" "could not create the namespace pair"
		sf_done
	fi
}

# sf_setup_churn NAME: sf_setup_ns, and the benchmark's churn generator
# ($CHURN) ready to run in the server namespace. A churn of tens of
# thousands of connections a second needs the whole port range, and
# TIME_WAIT ports back (that namespace's settings only).
sf_setup_churn()
{
	sf_setup_ns "$1"
	CHURN=${CHURN:-$SF_ROOT/build/bench/churn}
	[ -x "$CHURN" ] || { sf_fail "$1" "no churn generator at $CHURN (make tools)"; sf_done; }
	sf_in "$SF_NS_S" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="2048 65535"
}

# sf_start NAME [SYNFIN-ARGS...]: start synfin or FAIL + exit.
sf_start()
{
	local name=$1; shift
	if ! sf_synfin_start "$@"; then
		sf_fail "$name" "synfin did not start: $(head -n 3 "$SF_ERR" | tr '\n' ' ')"
		sf_done
	fi
}

# sf_setup NAME [SYNFIN-ARGS...]: the common start of a scenario.
sf_setup()
{
	sf_setup_ns "$1"
	sf_start "$@"
}

# sf_pair NAME ADDR PORT [SERVER-ARGS...] -- [CLIENT-ARGS...]: one tcpdrive
# server in the server namespace ($SF_S4 or $SF_S6) and one client
# connection to it from the client namespace. FAIL + exit unless the server
# listened, finished in time and the client's result is one of
# $SF_PAIR_RESULTS (default connected; a test whose client is reset on
# purpose sets it for the call). Sets CP (client port), CPID, SPID, and CT
# and ST, the client's and the server's tuples for sf_records; the drivers'
# result lines are in $SF_TMP/srv and $SF_TMP/cli.
sf_pair()
{
	local name=$1 addr=$2 port=$3 srv_args=() rc caddr=$SF_C4
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv_args+=("$1"); shift; done
	shift
	# a second pair in one test must not find the first one's ready file
	# and connect before its own server listens
	rm -f "$SF_TMP/srv.ready"
	sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$addr" --port "$port" --accept 1 \
		"${srv_args[@]}" --ready-file "$SF_TMP/srv.ready" --timeout-ms 15000
	local srv=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$name" "server did not listen"; sf_done; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$addr" --port "$port" "$@" \
		--timeout-ms 15000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
	sf_wait_pid "$srv" 15
	rc=$?
	[ "$rc" != 124 ] ||
		{ sf_fail "$name" "server: $(cat "$SF_TMP/srv" "$SF_TMP/srv.err")"; sf_done; }
	sf_client_lport CP "$SF_TMP/cli" "$name" client "${SF_PAIR_RESULTS:-connected}"
	CPID=$(sf_field "$SF_TMP/cli" pid)
	SPID=$(sf_field "$SF_TMP/srv" pid)
	[ "$addr" != "$SF_S6" ] || caddr=$SF_C6
	CT="$SF_NETNS_C $caddr $CP $addr $port"
	ST="$SF_NETNS_S $addr $port $caddr $CP"
}

# sf_repeat NAME PORT K: K connections one after another from the client
# namespace to a server on $SF_S4:PORT, each closed, then every server
# socket closed (none left but in TIME-WAIT). FAIL + exit unless all K
# connected.
sf_repeat()
{
	local name=$1 port=$2 k=$3 srv
	sf_bg "$SF_TMP/srv$port" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--accept "$k" --backlog 128 --ready-file "$SF_TMP/srv$port.ready" --timeout-ms 30000
	srv=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv$port.ready" || { sf_fail "$name" "server did not listen"; sf_done; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" --repeat "$k" \
		--timeout-ms 30000 >"$SF_TMP/cli$port" 2>"$SF_TMP/cli$port.err"
	sf_wait_pid "$srv" 30
	[ "$(sf_field "$SF_TMP/cli$port" connected)" = "$k" ] || {
		sf_fail "$name" "the client did not connect $k times: $(tail -n 1 "$SF_TMP/cli$port")"
		sf_done
	}
	sf_wait_closed "$SF_NS_S" 10
}

# sf_reconnect_same_port NAME PORT CPORT SRVPID: the TIME-WAIT sock the
# server ($SF_S4:PORT, pid SRVPID) holds for client port CPORT must be
# there (NAME/tw-present); a new client from CPORT then reuses it, its SYN
# killing the tw sock, and connects (NAME/second-connected). The server is
# waited for (bounded).
sf_reconnect_same_port()
{
	local name=$1 port=$2 cp=$3 srv=$4 out=$SF_TMP/cli_again
	sf_in "$SF_NS_S" ss -Htan state time-wait "( sport = :$port and dport = :$cp )" | grep -q . ||
		sf_fail "$name/tw-present" "no TIME-WAIT sock for :$port -> :$cp in the server namespace"
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" --lport "$cp" \
		--wait-eof --timeout-ms 15000 >"$out" 2>"$out.err"
	sf_wait_pid "$srv" 15
	sf_check "$name/second-connected" "client 2: $(cat "$out" "$out.err")" \
		[ "$(sf_field "$out" result) $(sf_field "$out" lport)" = "connected $cp" ]
}

# sf_now_ns: CLOCK_REALTIME in ns (for tcpdrive --close-at-ns)
sf_now_ns() { date +%s%N; }

# ---- several synfin instances, summaries, cgroups ----------------------------
# (for tests that run more than one synfin at once; the single-instance
# helpers above are unchanged)

declare -A SF_SYNFIN_PIDS=()

# sf_synfin_start_as NAME [ARGS...]: start `synfin -j ARGS` with stdout in
# $SF_TMP/NAME.out and stderr in $SF_TMP/NAME.err; bounded wait for ready.
sf_synfin_start_as()
{
	local name=$1 out=$SF_TMP/$1.out err=$SF_TMP/$1.err pid
	shift
	"$SYNFIN" -j "$@" >"$out" 2>"$err" &
	pid=$!
	SF_PIDS+=("$pid")
	SF_SYNFIN_PIDS[$name]=$pid
	sf_wait_ready "$pid" "$err" "synfin $name"
}

# sf_start_as NAME [ARGS...]: sf_synfin_start_as, or FAIL ($T/NAME) + exit
sf_start_as()
{
	sf_synfin_start_as "$@" ||
		{ sf_fail "$T/$1" "synfin did not start: $(head -n 3 "$SF_TMP/$1.err" | tr '\n' ' ')"; sf_done; }
}

# sf_fw2_held SIZE: how many orphans the fw2_waits map of the -F instance
# whose map has SIZE places (--max-conns, at most 65536) holds; one
# without -F, or classic, has room for 1 and holds none
sf_fw2_held()
{
	local id
	id=$(bpftool -j map show 2>/dev/null | jq --argjson size "$1" \
		'first(.[] | select(.name == "fw2_waits" and .max_entries == $size) | .id)' 2>/dev/null)
	[ -n "$id" ] && bpftool -j map dump id "$id" 2>/dev/null | jq 'length' 2>/dev/null
}

# sf_synfin_stop_as NAME: SIGINT, bounded wait; fails unless it exits 0.
sf_synfin_stop_as()
{
	local pid=${SF_SYNFIN_PIDS[$1]:-} rc
	[ -n "$pid" ] || return 1
	kill -INT "$pid" 2>/dev/null
	sf_wait_pid "$pid" 10
	rc=$?
	unset "SF_SYNFIN_PIDS[$1]"
	if [ "$rc" != 0 ]; then
		echo "synfin $1 exit status $rc after SIGINT: $(tail -c 500 "$SF_TMP/$1.err")" >&2
		return 1
	fi
}

# sf_summary ERRFILE KEY: a number from synfin's exit summary on stderr:
# "events", "filtered" (in the kernel), or a loss reason ("ringbuf_full", ...)
sf_summary()
{
	local line
	line=$(grep '^synfin: [0-9]* events (' "$1" | tail -n 1)
	case $2 in
	events) sed -n 's/^synfin: \([0-9]*\) events .*/\1/p' <<<"$line" ;;
	filtered) sed -n 's/.* events (\([0-9]*\) filtered in the kernel).*/\1/p' <<<"$line" ;;
	*) sed -n "s/.*[ :]$2=\\([0-9]*\\).*/\\1/p" <<<"$line" ;;
	esac
}

# sf_summary_kind ERRFILE KIND: KIND's count on the "ringbuf_full by kind:" line
sf_summary_kind()
{
	grep '^synfin: ringbuf_full by kind:' "$1" | tail -n 1 | tr ' ' '\n' |
		sed -n "s/^$2=\\([0-9]*\\)\$/\\1/p"
}

# sf_rate_sum FILE FIELD: FIELD of the rates in FILE's stats records
# (`top -j`), each times its record's interval, added up and rounded: how
# many the rates counted
sf_rate_sum()
{
	jq -s --arg f "$2" '[.[] | select(.type == "stats") | .rates[$f] * .interval_s] |
		add // 0 | round' "$1"
}

# sf_json_lines FILE: true if every line of FILE is one JSON object (and
# the file ends in a newline, so no record was cut short)
sf_json_lines()
{
	local lines ok
	[ ! -s "$1" ] || [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || return 1
	lines=$(wc -l <"$1")
	ok=$(jq -nR '[inputs | try (fromjson | type == "object") catch false] |
		map(select(.)) | length' "$1") || return 1
	[ "$ok" = "$lines" ]
}

SF_CGROUPS=()

# sf_cgroup_new: a fresh cgroup v2 directory (path in SF_CGROUP, its id, the
# directory inode, in SF_CGROUP_ID), removed at exit after our processes are
# gone. Fails if cgroup v2 is not mounted.
sf_cgroup_new()
{
	local root
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	[ -n "$root" ] && [ -w "$root" ] || return 1
	SF_CGROUP=$root/synfin-test-$$-${#SF_CGROUPS[@]}
	mkdir "$SF_CGROUP" || return 1
	SF_CGROUPS+=("$SF_CGROUP")
	SF_CGROUP_ID=$(stat -c %i "$SF_CGROUP") || return 1
	trap 'sf_cleanup; sf_cgroup_cleanup' EXIT
}

# sf_cgroup_child NAME: a cgroup NAME below SF_CGROUP (path in
# SF_CGROUP_CHILD, its id in SF_CGROUP_CHILD_ID), removed at exit before
# it. Fails if it cannot be made.
sf_cgroup_child()
{
	SF_CGROUP_CHILD=$SF_CGROUP/$1
	mkdir "$SF_CGROUP_CHILD" || return 1
	SF_CGROUPS+=("$SF_CGROUP_CHILD")
	SF_CGROUP_CHILD_ID=$(stat -c %i "$SF_CGROUP_CHILD")
}

# sf_cgroup_cleanup: rmdir our cgroups, the last made first (one made
# inside another goes before it; bounded retries: a just-reaped process
# can keep one busy for a moment)
sf_cgroup_cleanup()
{
	local cg n i
	for ((i = ${#SF_CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${SF_CGROUPS[$i]}
		n=40
		while [ -d "$cg" ] && ! rmdir "$cg" 2>/dev/null && [ "$n" -gt 0 ]; do
			sleep 0.05
			n=$((n - 1))
		done
		[ -d "$cg" ] && echo "could not remove $cg" >&2
	done
}

# sf_bg_cgroup OUTFILE NS CGROUP CMD...: sf_bg, with CMD in CGROUP from its
# first instruction, so every socket it creates belongs to CGROUP. The shell
# moves itself before `ip netns exec` (which remounts /sys, hiding the
# cgroup tree), then execs: the pid stays the same. An empty CGROUP (no
# cgroup v2 to make one in): sf_bg.
sf_bg_cgroup()
{
	local out=$1 ns=$2 cg=$3; shift 3
	if [ -z "$cg" ]; then
		sf_bg "$out" "$ns" "$@"
		return
	fi
	sh -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$ns" "$@" \
		>"$out" 2>"$out.err" &
	SF_LAST_PID=$!
	SF_PIDS+=("$SF_LAST_PID")
}

# ---- packet capture and time_wait records -----------------------------------
# (tshark in a test namespace, to hold synfin's sequence numbers against the
# wire; the helpers above are unchanged)

SF_CAPTURE_PID=

# sf_capture_start NS IFACE FILTER FILE SECONDS: tshark in NS on IFACE with
# the capture filter FILTER, writing FILE, stopping by itself after SECONDS
# at the latest. Bounded wait (15 s) until it is capturing; pid in
# SF_CAPTURE_PID (and SF_PIDS).
sf_capture_start()
{
	local ns=$1 ifc=$2 filter=$3 file=$4 secs=$5 n=300
	ip netns exec "$ns" tshark -n -q -i "$ifc" -f "$filter" -w "$file" \
		-a "duration:$secs" >"$file.out" 2>"$file.err" &
	SF_CAPTURE_PID=$!
	SF_PIDS+=("$SF_CAPTURE_PID")
	while [ "$n" -gt 0 ]; do
		grep -q "^Capturing on" "$file.err" 2>/dev/null && return 0
		kill -0 "$SF_CAPTURE_PID" 2>/dev/null || break
		sleep 0.05
		n=$((n - 1))
	done
	echo "tshark not capturing: $(head -c 500 "$file.err")" >&2
	return 1
}

# sf_capture_stop FILE: SIGINT (tshark stops its dumpcap), bounded wait.
# The kernel hands captured packets to dumpcap in blocks, on a timer, and
# whatever is still in an open block at SIGINT is lost: so first wait
# (bounded, 6 s) until FILE's packet count is the same in two reads at
# least half a second apart.
sf_capture_stop()
{
	local last=-1 cur n=10
	[ -n "$SF_CAPTURE_PID" ] || return 1
	while [ "$n" -gt 0 ]; do
		sleep 0.5
		cur=$(tshark -n -r "$1" 2>/dev/null | wc -l)
		[ "$cur" = "$last" ] && break
		last=$cur
		n=$((n - 1))
	done
	kill -INT "$SF_CAPTURE_PID" 2>/dev/null
	sf_wait_pid "$SF_CAPTURE_PID" 10
	local rc=$?
	SF_CAPTURE_PID=
	[ "$rc" = 0 ] || [ "$rc" = 130 ]
}

# sf_capture_segments FILE: the TCP segments in FILE, one per line:
# "SRC SPORT DST DPORT SYN ACK FIN RST SEQ ACKNO LEN" (flags 0/1,
# absolute sequence numbers as the wire carried them).
sf_capture_segments()
{
	tshark -n -r "$1" -o tcp.relative_sequence_numbers:FALSE -Y tcp -T fields \
		-E separator=' ' -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport \
		-e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset \
		-e tcp.seq -e tcp.ack -e tcp.len 2>/dev/null |
		sed -e 's/True/1/g; s/False/0/g'
}

# sf_tw_records ID: synfin's time_wait records for socket cookie ID
sf_tw_records()
{
	jq -c --argjson id "$1" 'select(.type == "time_wait" and .id == $id)' "$SF_OUT" 2>/dev/null
}

# sf_wait_tw_record SECONDS ID: bounded wait for a time_wait record of ID
sf_wait_tw_record()
{
	local n=$(( $1 * 10 ))
	while [ -z "$(sf_tw_records "$2")" ]; do
		[ "$n" -le 0 ] && return 1
		sleep 0.1
		n=$((n - 1))
	done
}

# ---- detectors and the live view (issue 5) ------------------------------------
# (alert and stats records, the SYN flood sender, per-namespace counters; the
# helpers above are unchanged)

SYNFLOOD=${SYNFLOOD:-$SF_ROOT/build/tools/synflood}
# nstat keeps its history in one file per user by default: shared with any
# other test on the host. Ours is private (and we only read absolute values).
export NSTAT_HISTORY=$SF_TMP/nstat.history

# jq definition: an RFC 3339 UTC timestamp ("...T19:07:03.917767810Z") in
# seconds since the epoch, fraction kept
SF_JQ_TS='def sf_ts: capture("^(?<s>[^.Z]+)(?<f>\\.[0-9]+)?Z$") |
	(.s + "Z" | fromdateiso8601) + ("0" + (.f // "") | tonumber);'

# sf_now_s: CLOCK_REALTIME in seconds, with the fraction (for sf_ts comparisons)
sf_now_s() { date +%s.%N; }

# sf_fast_open_on NAME: TCP Fast Open on (client and server,
# net.ipv4.tcp_fastopen=3) in the two namespaces only; FAIL and exit when
# it cannot be
sf_fast_open_on()
{
	local ns
	for ns in "$SF_NS_C" "$SF_NS_S"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_fastopen=3 ||
			{ sf_fail "$1" "cannot enable Fast Open in $ns"; sf_done; }
	done
}

# sf_require_tool NAME PATH: SKIP (FAIL under SYNFIN_REQUIRE_BPF=1) and exit
# unless PATH is an executable
sf_require_tool()
{
	if [ ! -x "$2" ]; then
		sf_skip "$1" "$2 not built (make tools)"
		sf_done
	fi
}

# sf_spoofed_syns_setup NAME RETRIES: the server namespace ready for SYNs
# spoofed from 198.18.0.0/15 ($SYNFLOOD --src-net): their SYN-ACKs are
# routed back over the veth, where the client namespace, which does not
# forward, drops them, so no handshake completes; each SYN-ACK is retried
# RETRIES times (tcp_synack_retries, the namespace's own). FAIL and exit
# when it cannot.
sf_spoofed_syns_setup()
{
	if ! sf_in "$SF_NS_S" ip route add 198.18.0.0/15 via "$SF_C4" dev vs ||
		! sf_in "$SF_NS_S" sysctl -qw "net.ipv4.tcp_synack_retries=$2"; then
		sf_fail "$1" "cannot set up the server namespace"
		sf_done
	fi
}

# sf_synfin_start_grep ERE [ARGS...]: sf_synfin_start, but $SF_OUT keeps only
# the lines that match the extended regex ERE (grep -E, line-buffered). On a
# busy host synfin -j prints every connection of every namespace (we saw
# 13,000 records/s, gigabytes in minutes); a detector test wants its alerts
# and perhaps its own namespaces' records. synfin's pid is SF_SYNFIN_PID as
# usual, so sf_synfin_stop stops it; the filter ends at its EOF.
sf_synfin_start_grep()
{
	local ere=$1
	shift
	SF_OUT=$SF_TMP/synfin.out
	SF_ERR=$SF_TMP/synfin.err
	: >"$SF_ERR"	# see sf_synfin_start
	"$SYNFIN" -j "$@" 2>"$SF_ERR" > >(grep -E --line-buffered -- "$ere" >"$SF_OUT") &
	SF_SYNFIN_PID=$!
	SF_PIDS+=("$SF_SYNFIN_PID")
	sf_wait_ready "$SF_SYNFIN_PID" "$SF_ERR" synfin
}

# sf_start_grep NAME ERE [SYNFIN-ARGS...]: sf_synfin_start_grep or FAIL + exit
sf_start_grep()
{
	local name=$1
	shift
	if ! sf_synfin_start_grep "$@"; then
		sf_fail "$name" "synfin did not start: $(head -n 3 "$SF_ERR" | tr '\n' ' ')"
		sf_done
	fi
}

# sf_alerts FILE JQ-CONDITION [JQ-ARGS...]: the alert records in FILE for
# which CONDITION holds, one per line (SF_JQ_TS's sf_ts is defined)
sf_alerts()
{
	local f=$1 cond=$2
	shift 2
	jq -c "$@" "$SF_JQ_TS select(.type == \"alert\") | select($cond)" "$f" 2>/dev/null
}

# sf_wait_alert SECONDS FILE JQ-CONDITION [JQ-ARGS...]: wait, SECONDS of
# wall-clock time at most, until FILE holds an alert record for which
# CONDITION holds
sf_wait_alert()
{
	local end=$(( $(date +%s%N) + $1 * 1000000000 )) f=$2 cond=$3
	shift 3
	while [ -z "$(sf_alerts "$f" "$cond" "$@" | head -n 1)" ]; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# sf_expect_first NAME WHAT RECORDS EXPR...: PASS if RECORDS holds at least one
# object and every jq EXPR is true on the first; otherwise FAIL listing what
# was false, and the record (WHAT names what was missing). SF_JQ_ARGS as in
# sf_expect; SF_JQ_TS's sf_ts is defined.
sf_expect_first()
{
	local name=$1 what=$2 rec
	rec=$(printf '%s\n' "$3" | grep -m 1 .)
	shift 3
	if [ -z "$rec" ]; then
		sf_fail "$name" "no $what"
		return 1
	fi
	sf_judge "$name" "$rec" "$SF_JQ_TS " "$@"
}

# sf_nstat NS COUNTER: a kernel counter of namespace NS (nstat's name, e.g.
# TcpExtSyncookiesSent), absolute: in a fresh namespace, everything so far
sf_nstat()
{
	local v
	v=$(ip netns exec "$1" nstat -asz "$2" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }')
	echo "${v:-0}"
}

# sf_wait_closed NS [SECONDS]: bounded wait (5 s) until NS has no TCP socket
# left but TIME-WAIT ones: every close there has happened
sf_wait_closed()
{
	local n=$(( ${2:-5} * 20 ))
	while ip netns exec "$1" ss -Htan | grep -qv '^TIME-WAIT' && [ "$n" -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
}

# ---- a witness of socket ends that no BPF program sees ---------------------
# (witness.sh) An exact count takes the transitions run where no BPF program
# runs from ftrace's record, one by one, and names them; any other missing
# still fails.
# shellcheck source=tests/integration/witness.sh
. "$SF_ROOT/tests/integration/witness.sh"

# sf_witness_start LO HI [all]: witness_start for this test
sf_witness_start() { witness_start "synfin-it-$$" "$1" "$2" "${3:-}"; }

# sf_witness_stop NAME: stop recording; $SF_TMP/NAME.blind gets one line
# "sport dport newstate" per transition run in a thread of PID 1, and
# SF_BLIND their number
sf_witness_stop()
{
	witness_stop "$SF_TMP/$1.blind"
	SF_BLIND=$(grep -c . "$SF_TMP/$1.blind")
}

# sf_timer_witness_start PORT: witness the ->CLOSE transitions and the
# retransmits of connections to PORT run where no BPF program runs. A
# timer's work (a retransmit of a SYN or of data, giving up on either)
# runs in its softirq, on whatever thread the CPU was on when it fired:
# now and then PID 1's.
sf_timer_witness_start()
{
	sf_witness_start "$1" "$1"
	witness_add_retransmits "$1" "$1"
}

# sf_timer_witness_stop NAME LPORT RPORT: stop it. SF_BLIND_CLOSE is 1 if
# the ->CLOSE of LPORT to RPORT ran unseen (its destroy record stands in:
# close.missed), else 0; SF_BLIND_RETRANS counts the retransmit attempts
# run unseen (some may have sent nothing). Each is said under NAME.
sf_timer_witness_stop()
{
	sf_witness_stop "$1"
	SF_BLIND_CLOSE=0
	SF_BLIND_RETRANS=$(grep -cx retransmit "$SF_TMP/$1.blind")
	if grep -qx "$2 $3 TCP_CLOSE" "$SF_TMP/$1.blind"; then
		SF_BLIND_CLOSE=1
		echo "  $1: its ->CLOSE ran on PID 1's threads, where no BPF program runs;" \
			"checking the destroy record that stands in for it"
	fi
	[ "$SF_BLIND_RETRANS" = 0 ] || echo "  $1: $SF_BLIND_RETRANS retransmit attempts ran on" \
		"PID 1's threads, where no BPF program runs"
}

# sf_syn_timeout_checks NAME LPORT RPORT: stop the witness and set
# SF_SYN_CHECKS to the checks of a timed-out client's record. Its ->CLOSE
# record says why it ended; a destroy record standing in for it cannot
# know the error or the ISN (tcp_disconnect() wiped the socket). A SYN
# retransmitted unseen leaves syn_retrans unchecked.
sf_syn_timeout_checks()
{
	sf_timer_witness_stop "$@"
	if [ "$SF_BLIND_CLOSE" = 1 ]; then
		SF_SYN_CHECKS=('.close.missed == true' '.handshake.result == "aborted"'
			'.close.err == 0' '.handshake.isn_local == null')
	else
		SF_SYN_CHECKS=('.close.missed == false' '.handshake.result == "timeout"'
			'.close.err == 110' '.handshake.isn_local != null')
	fi
	[ "$SF_BLIND_RETRANS" != 0 ] || SF_SYN_CHECKS+=('.handshake.syn_retrans >= 1')
}

# sf_conns NAME PORT N SERVER-MODE CLIENT-MODE COMM: N sequential
# connections from the client namespace to a tcpdrive server on $SF_S4:PORT
# in the server namespace (processes COMMsrv and COMMcli; the modes say who
# closes first, e.g. --close-first and --wait-eof). The server keeps
# listening and the client stays alive afterwards (as a real server and
# client would) until $SF_TMP/stop_NAME exists (sf_conns_release). FAIL +
# exit unless all N connected within 35 s. Sets SF_CONNS_SRV and
# SF_CONNS_CLI (their pids) and SF_CONNS_T1 (when the client was done, s).
sf_conns()
{
	local name=$1 port=$2 n=$3 smode=$4 cmode=$5 comm=$6 t0 t1 ms k=700
	sf_bg "$SF_TMP/srv_$name" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--accept "$n" --backlog 128 "$smode" --comm "${comm}srv" \
		--hold-listener-file "$SF_TMP/stop_$name" \
		--ready-file "$SF_TMP/srv_$name.ready" --timeout-ms 60000
	SF_CONNS_SRV=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv_$name.ready" || { sf_fail "$T/$name" "server did not listen"; sf_done; }
	t0=$(date +%s%N)
	sf_bg "$SF_TMP/cli_$name" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" \
		--repeat "$n" "$cmode" --comm "${comm}cli" --hold-exit-file "$SF_TMP/stop_$name" \
		--timeout-ms 60000
	SF_CONNS_CLI=$SF_LAST_PID
	# bounded (35 s) wait for the client's summary line
	while ! grep -qs '^result=done' "$SF_TMP/cli_$name" && [ "$k" -gt 0 ] &&
		kill -0 "$SF_CONNS_CLI" 2>/dev/null; do
		sleep 0.05
		k=$((k - 1))
	done
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	SF_CONNS_T1=$(awk -v n="$t1" 'BEGIN { printf "%.3f", n / 1e9 }')
	echo "  $name: $(tail -n 1 "$SF_TMP/cli_$name") in $ms ms = $(( n * 1000 / (ms > 0 ? ms : 1) ))/s"
	grep -q "^result=done count=$n connected=$n " "$SF_TMP/cli_$name" ||
		{ sf_fail "$T/$name" "client: $(tail -n 2 "$SF_TMP/cli_$name") $(cat "$SF_TMP/cli_$name.err")"; sf_done; }
}

# sf_conns_release NAME: let sf_conns NAME's server and client exit (the
# last sf_conns's: bounded waits for them)
sf_conns_release()
{
	touch "$SF_TMP/stop_$1"
	sf_wait_pid "$SF_CONNS_SRV" 5
	sf_wait_pid "$SF_CONNS_CLI" 5
}

# sf_ss_count NS STATE [FILTER]: how many TCP sockets ss shows in NS in STATE
sf_ss_count()
{
	local ns=$1 st=$2
	shift 2
	ip netns exec "$ns" ss -Htan state "$st" "$@" 2>/dev/null | grep -c .
}
