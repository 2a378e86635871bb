#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/run.sh: the synfin benchmark driver (`make bench`). Alternates untraced
# and traced connection-churn trials, each in a fresh network namespace, then a
# scale series with idle connections held open; prints a table and writes
# build/bench/summary.json. Needs root, bash, jq, iproute2; no python.

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SYNFIN=${SYNFIN:-$BUILD/synfin}
CHURN=${CHURN:-$BUILD/bench/churn}
FLOOR=${FLOOR:-$BUILD/bench/floor}
FORMAT=${FORMAT:-$BUILD/bench/format}
SYSCOST=${SYSCOST:-$BUILD/bench/syscost}
TCPSTATES=${TCPSTATES:-/usr/sbin/tcpstates}
TCPLIFE=${TCPLIFE:-/usr/sbin/tcplife}
OUTDIR=$BUILD/bench
SUMMARY=$OUTDIR/summary.json

# transitions per connection, client-first close (checked with synfin --events
# and with ftrace at full rate: docs/performance.md):
# client CLOSE>SYN-SENT>ESTAB>FIN-WAIT-1>FIN-WAIT-2>CLOSE, server
# LISTEN>SYN-RECV>ESTAB>CLOSE-WAIT>LAST-ACK>CLOSE
PER_CONN_TRANSITIONS=10
PER_CONN_ENDS=2
# churn's server addresses: 127.77.0.1-16 inside the trial's namespace; the
# libbpf-tools trace every namespace, so their lines are counted by address
ADDR_PREFIX=127.77.
PORT=1000

usage()
{
	cat <<EOF
usage: bench/run.sh [--quick] [--rounds N] [--duration S] [--conns-parallel N]
                    [--scale-rounds N] [--holds "K1 K2 ..."] [--no-scale]
                    [--no-expiry] [--no-syscalls] [--variants "v1 v2 ..."]
                    [--rates "R1 R2 ..."] [--rate-rounds N] [--rate-variants "v1 ..."]
                    [--no-rates] [--keep]
       bench/run.sh --soak SECS [--conns-parallel N] [--keep]

Runs as root. Variants (the untraced baseline "none" runs between all others):
  synfin          synfin -j > /dev/null            (default settings)
  synfin_file     synfin -j > a file
  synfin_events   synfin --events -j > a file
  synfin_notw     synfin -j --no-timewait > /dev/null (no timer hooks)
  synfin_noaccept synfin -j --no-accept-hook > /dev/null (no syscall tracepoint)
  tcpstates       Debian libbpf-tools tcpstates > a file
  tcplife         Debian libbpf-tools tcplife > a file
  floor_state     a do-nothing program on inet_sock_set_state (bench/floor)
  floor_synfin    do-nothing programs on every hook synfin attaches
Defaults: 5 rounds of 8 s trials, 4 connectors, scale series with 1000, 10000
and 100000 held connections (synfin_file vs none, 3 rounds). Those trials run
with kernel.bpf_stats_enabled=0, as a production host does; one more round
of each (the profile round) runs with it on, for the kernel's ns per program
run, and is left out of the ratios.
Then the rate series: the churn held at a steady R connections a second
(--rates, default "5000 20000"), as on a host that is busy but not
saturated; none and synfin -j > a file (and tcplife and tcpstates when in
the variants; or --rate-variants) alternate, --rate-rounds rounds (default
3). What each tracer costs there is host CPU, not rate: the whole host's
busy time over the trial (wall time x CPUs less idle time), less the
untraced trials' beside it, as cores and as us per connection. --no-rates leaves it out.
Then the expiry trial: synfin -j to a file through one churn and the
minute after it, until every TIME_WAIT sock of the churn has ended. The
timer wheel ends those born within one 2-4 s step in one jiffy: a burst of
time_wait records. Their number is checked against the kernel's count of
tw socks born (TcpExtTW + TcpExtTWKilled), less those born where no BPF
program runs (an ftrace record of tw timer starts on PID 1's threads) and
those still followed when synfin stops. --no-expiry leaves it out.
Last the system call series: what each tracer costs processes it does not
trace. A syscall tracepoint with a program attached sends every system
call on the host down the kernel's tracing path; bench/syscost times five
million getppid() calls with nothing, synfin, synfin --no-accept-hook and
each peer attached, 3 alternating rounds. --no-syscalls leaves it out.
  --quick         a smoke test: 3 s trials, 2 rounds, holds "1000 10000", 1 round
  --soak SECS     only the soak (make soak): synfin -j > /dev/null through a
                  SECS s churn and until its TIME_WAIT socks end, its RSS read
                  every second, to show that a tracer left running stays flat
                  and loses nothing; writes build/bench/soak.json
  --keep          keep the per-trial files (in build/bench/trials.*)
EOF
}

DURATION=8
ROUNDS=5
CONNS_PARALLEL=4
SCALE_ROUNDS=3
HOLDS="1000 10000 100000"
VARIANTS="synfin synfin_file synfin_events synfin_notw synfin_noaccept tcpstates tcplife floor_state floor_synfin"
SCALE=1
EXPIRY=1
SYSCALLS=1
SYSCALL_ROUNDS=3
RATES="5000 20000"
RATE_ROUNDS=3
RATE_VARIANTS=
KEEP=0
QUICK=0
SETTLE_S=2
SOAK=0

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; DURATION=3; ROUNDS=2; SCALE_ROUNDS=1; HOLDS="1000 10000"; SYSCALL_ROUNDS=1
		RATES=5000; RATE_ROUNDS=1 ;;
	--rounds) ROUNDS=${2:-}; shift ;;
	--duration) DURATION=${2:-}; shift ;;
	--conns-parallel) CONNS_PARALLEL=${2:-}; shift ;;
	--scale-rounds) SCALE_ROUNDS=${2:-}; shift ;;
	--holds) HOLDS=${2:-}; shift ;;
	--variants) VARIANTS=${2:-}; shift ;;
	--rates) RATES=${2:-}; shift ;;
	--rate-rounds) RATE_ROUNDS=${2:-}; shift ;;
	--rate-variants) RATE_VARIANTS=${2:-}; shift ;;
	--no-rates) RATES= ;;
	--no-scale) SCALE=0 ;;
	--no-expiry) EXPIRY=0 ;;
	--no-syscalls) SYSCALLS=0 ;;
	--keep) KEEP=1 ;;
	--soak) SOAK=${2:-}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$ROUNDS" "$DURATION" "$CONNS_PARALLEL" "$SCALE_ROUNDS" $HOLDS "$RATE_ROUNDS" $RATES; do
	case $n in '' | *[!0-9]* | 0) echo "run.sh: bad number '$n'" >&2; exit 2 ;; esac
done
case $SOAK in '' | *[!0-9]*) echo "run.sh: bad number '$SOAK' for --soak" >&2; exit 2 ;; esac
# the soak runs synfin alone: no peers, floor, rate or system call series to check for
[ "$SOAK" -gt 0 ] && { VARIANTS=; SYSCALLS=0; RATES=; }
for v in $VARIANTS $RATE_VARIANTS; do
	case $v in synfin | synfin_file | synfin_events | synfin_notw | synfin_noaccept | tcpstates | tcplife | floor_state | floor_synfin) ;;
	*) echo "run.sh: unknown variant '$v'" >&2; exit 2 ;;
	esac
done

# ---- preconditions ----------------------------------------------------------

die() { echo "run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (BPF, network namespaces, kernel.bpf_stats_enabled): sudo make bench"
[ -r /sys/kernel/btf/vmlinux ] || die "no /sys/kernel/btf/vmlinux (kernel BTF)"
[ -x "$SYNFIN" ] || die "$SYNFIN not built (make all)"
[ -x "$CHURN" ] || die "$CHURN not built (make $BUILD/bench/churn)"
[ "$SYSCALLS" = 0 ] || [ -x "$SYSCOST" ] || die "$SYSCOST not built (make $BUILD/bench/syscost)"
if [[ " $VARIANTS $RATE_VARIANTS " == *" floor_"* ]] && [ ! -x "$FLOOR" ]; then
	die "$FLOOR not built (make $BUILD/bench/floor)"
fi
for t in jq ip sysctl stat timeout bpftool; do
	command -v "$t" >/dev/null || die "$t not installed"
done
for v in tcpstates tcplife; do
	bin=$TCPSTATES; [ $v = tcplife ] && bin=$TCPLIFE
	if [[ " $VARIANTS $RATE_VARIANTS " == *" $v "* ]] && [ ! -x "$bin" ]; then
		echo "run.sh: $bin missing (apt-get install libbpf-tools): $v skipped" >&2
		VARIANTS=$(echo " $VARIANTS " | sed "s/ $v / /; s/^ *//; s/ *$//")
		RATE_VARIANTS=$(echo " $RATE_VARIANTS " | sed "s/ $v / /; s/^ *//; s/ *$//")
	fi
done

# ---- state and cleanup ---------------------------------------------------------

PIDS=()		# every background process started here
NSES=()		# every namespace created here
OLD_STATS=
mkdir -p "$OUTDIR" || exit 1
TMP=$(mktemp -d "$OUTDIR/trials.XXXXXX") || exit 1
TRIALS=$TMP/trials.ndjson
: >"$TRIALS"
CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
TRIAL_N=0

cleanup()
{
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -INT "$pid" 2>/dev/null
	done
	sleep 0.2
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "${NSES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$OLD_STATS" ] && sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	witness_remove
	if [ "$KEEP" = 1 ]; then
		echo "run.sh: trial files kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kernel.bpf_stats_enabled is set per trial (trial's STATS): on, every
# program run pays two clock reads and a counter update, which cost synfin's
# 37 runs per connection about a tenth of the load's rate here against
# tcplife's 10. So the ratios come from trials with it off, as on a host in
# production, and the kernel's ns per run from a profile round with it on.
# The old value comes back at exit.
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled) || die "cannot read kernel.bpf_stats_enabled"
sysctl -qw kernel.bpf_stats_enabled=0 || die "cannot set kernel.bpf_stats_enabled"

# ---- helpers ---------------------------------------------------------------------

# forget_pid PID: once reaped, a pid may be reused by anyone: drop it
forget_pid()
{
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stop_pid PID: SIGINT, then a bounded wait, then SIGKILL
stop_pid()
{
	local pid=$1 n=200
	kill -INT "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run.sh: pid $pid did not stop on SIGINT, killed" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	forget_pid "$pid"
}

# cpu_s PID: user+system CPU seconds of a live process (all its threads)
cpu_s()
{
	local t
	t=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}')
	awk -v t="${t:-0}" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }'
}

# host_mark: "WALL IDLE", the wall clock and every CPU's idle time (idle
# and iowait of /proc/stat's cpu line), in seconds. The host's busy time
# between two marks is the wall time x CPUs less the idle time: the kernel
# clocks idle time exactly, while /proc/stat's user and system fields are
# samples at the tick, and a load that sleeps between connections escapes
# them (on this VM they read 0.01 to 1.2 cores for the same steady load).
host_mark()
{
	awk -v now="$EPOCHREALTIME" -v hz="$CLK_TCK" \
		'$1 == "cpu" { printf "%s %.2f\n", now, ($5 + $6) / hz; exit }' /proc/stat
}

# rss_kb PID: resident set now (VmRSS) in KiB
rss_kb()
{
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# hwm_kb PID: peak resident set (VmHWM) in KiB
hwm_kb()
{
	awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# prog_stats PID: a JSON array of the BPF programs PID holds, with the
# kernel's own counters (from fdinfo: this bpftool has no "pids" support)
prog_stats()
{
	local pid=$1 names
	names=$(bpftool prog show -j 2>/dev/null | jq -c 'map({key: (.id|tostring), value: .name}) | from_entries' 2>/dev/null)
	[ -n "$names" ] || names='{}'
	for f in /proc/"$pid"/fdinfo/*; do
		awk '/^prog_id:/ {id=$2} /^run_time_ns:/ {ns=$2} /^run_cnt:/ {cnt=$2}
		     /^recursion_misses:/ {miss=$2}
		     END { if (id != "" && cnt != "") printf "{\"id\":%s,\"run_time_ns\":%s,\"run_cnt\":%s,\"recursion_misses\":%s}\n", id, ns, cnt, miss + 0 }' "$f" 2>/dev/null
	done | jq -s -c --argjson names "$names" \
		'unique_by(.id) | map(. + {name: ($names[.id|tostring] // "?")})'
}

# map_memlock PID: bytes the BPF maps of PID charge (their static part)
map_memlock()
{
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^map_id:/ {if (!(id[$2]++)) s += m} /^memlock:/ {m=$2} END {print s + 0}'
}

# wait_ready VARIANT PID ERRFILE: bounded wait until the tracer is attached
wait_ready()
{
	local v=$1 pid=$2 err=$3 n=300
	while [ $n -gt 0 ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		case $v in
		synfin*) grep -q '^synfin: ready' "$err" 2>/dev/null && return 0 ;;
		floor*) grep -q '^floor: ready' "$err" 2>/dev/null && return 0 ;;
		*)	# libbpf-tools print no ready line to stderr: wait for
			# their programs, then give the attach a moment
			if grep -qs '^prog_id:' /proc/"$pid"/fdinfo/*; then
				sleep 1
				return 0
			fi ;;
		esac
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# tracer_ready VARIANT PID ERRFILE: the tracer just started in the
# background is ours to stop; bounded wait until it is attached, else say
# so and stop it
tracer_ready()
{
	local v=$1 pid=$2 err=$3
	PIDS+=("$pid")
	wait_ready "$v" "$pid" "$err" && return 0
	echo "run.sh: $v did not start: $(tail -n 3 "$err" | tr '\n' ' ')" >&2
	stop_pid "$pid"
	return 1
}

# ---- a witness of the ends no tracer sees ----------------------------------------
# (tests/integration/witness.sh) In the profile round, where the rates do not
# count, the transitions on the churn's ports that ran where no BPF program
# runs are recorded and counted.
# shellcheck source=tests/integration/witness.sh
. "$ROOT/tests/integration/witness.sh"

# bench_witness_stop: UNSEEN = how many transitions the witness recorded
# ("null" without a witness)
bench_witness_stop()
{
	UNSEEN=null
	[ -n "$WITNESS" ] || return 0
	witness_stop "$TMP/witness"
	UNSEEN=$(grep -c . "$TMP/witness")
}

# jq definitions both aggregations use: the median of an array, and
# rounding to 3 or 1 decimals (null stays null)
JQ_DEFS='
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def r3: if . == null then null else (. * 1000 | round) / 1000 end;
	def r1: if . == null then null else (. * 10 | round) / 10 end;'

# tw_left NS: the tw socks namespace NS holds now
tw_left() { ip netns exec "$1" ss -Htan state time-wait | grep -c .; }

# grep_count PATTERN FILE: lines with a fixed string (0 when none)
grep_count() { grep -cF -- "$1" "$2" 2>/dev/null || true; }

# bench_netns NAME: a fresh namespace for one trial; NS_INO = its inode
bench_netns()
{
	ip netns add "$1" || die "ip netns add $1 failed"
	NSES+=("$1")
	# namespaced sysctls: nothing to restore. TIME_WAIT is left by every
	# client-first close; reuse and a wide port range keep connect() fast.
	if ! ip -n "$1" link set lo up ||
		! ip netns exec "$1" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
			net.ipv4.ip_local_port_range="2048 65535"; then
		die "netns setup failed"
	fi
	NS_INO=$(stat -L -c %i "/run/netns/$1")
}

# trial SERIES VARIANT HOLD STATS [RATE]: one run in a fresh namespace, with
# kernel.bpf_stats_enabled=STATS (0 or 1), the churn as fast as it goes or
# at RATE connections a second; appends a JSON row
trial()
{
	local series=$1 v=$2 hold=$3 stats=$4 rate=${5:-0} ns ino out err churn_out pid='' cpid rc
	local rargs=() mark0 mark1
	local cpu=0 hwm=0 progs='[]' memlock=0 summary='' recv=null recv_kind='' extra=null unseen=null
	TRIAL_N=$((TRIAL_N + 1))
	ns=sfbench$$-$TRIAL_N
	out=$TMP/out.$TRIAL_N
	err=$TMP/err.$TRIAL_N
	churn_out=$TMP/churn.$TRIAL_N

	sysctl -qw kernel.bpf_stats_enabled="$stats" || die "cannot set kernel.bpf_stats_enabled"
	bench_netns "$ns"
	ino=$NS_INO

	case $v in
	none) ;;
	synfin) "$SYNFIN" -j --netns "$ino" >/dev/null 2>"$err" & pid=$! ;;
	synfin_file) "$SYNFIN" -j --netns "$ino" >"$out" 2>"$err" & pid=$! ;;
	synfin_events) "$SYNFIN" --events -j --netns "$ino" >"$out" 2>"$err" & pid=$! ;;
	synfin_notw) "$SYNFIN" -j --no-timewait --netns "$ino" >/dev/null 2>"$err" & pid=$! ;;
	synfin_noaccept) "$SYNFIN" -j --no-accept-hook --netns "$ino" >/dev/null 2>"$err" & pid=$! ;;
	tcpstates) "$TCPSTATES" >"$out" 2>"$err" & pid=$! ;;
	tcplife) "$TCPLIFE" >"$out" 2>"$err" & pid=$! ;;
	floor_state) "$FLOOR" state >/dev/null 2>"$err" & pid=$! ;;
	floor_synfin) "$FLOOR" synfin >/dev/null 2>"$err" & pid=$! ;;
	esac
	if [ -n "$pid" ] && ! tracer_ready "$v" "$pid" "$err"; then
		ip netns del "$ns"
		return 1
	fi

	# with held connections: the tracer's memory before and after they are
	# open (churn waits SETTLE_S seconds between the two phases)
	local ready=$TMP/ready.$TRIAL_N hargs=() rss0=0 rss1=0 n cpu0=0
	[ "$hold" -gt 0 ] && hargs=(--ready-file "$ready" --settle "$SETTLE_S")
	[ "$rate" -gt 0 ] && rargs=(--rate "$rate")
	[ -n "$pid" ] && rss0=$(rss_kb "$pid")
	# the tracer's start-up (loading and verifying its programs, reading
	# BTF) is not per-transition work: its CPU is taken off below
	[ -n "$pid" ] && cpu0=$(cpu_s "$pid")
	if [ "$stats" = 1 ]; then
		case $v in
		synfin_file | tcplife) witness_start "synfin-bench-$$" "$PORT" $((PORT + 99)) ;;
		synfin_events | tcpstates) witness_start "synfin-bench-$$" "$PORT" $((PORT + 99)) all ;;
		esac
	fi
	# in the background and waited for, so an interrupt reaches it too
	# (timeout puts itself in its own process group)
	mark0=$(host_mark)
	timeout -k 5 $((DURATION + 400)) ip netns exec "$ns" "$CHURN" --mode client-first \
		--conns-parallel "$CONNS_PARALLEL" --duration "$DURATION" --hold "$hold" \
		--port "$PORT" --addr 127.77.0.1 "${hargs[@]}" "${rargs[@]}" \
		>"$churn_out" 2>"$churn_out.err" &
	cpid=$!
	PIDS+=("$cpid")
	if [ "$hold" -gt 0 ] && [ -n "$pid" ]; then
		n=4000
		while [ ! -e "$ready" ] && [ $n -gt 0 ] && kill -0 "$cpid" 2>/dev/null; do
			sleep 0.05; n=$((n - 1))
		done
		sleep "$(awk -v s="$SETTLE_S" 'BEGIN { print s / 2 }')"
		rss1=$(rss_kb "$pid")
	fi
	wait "$cpid"
	rc=$?
	mark1=$(host_mark)
	forget_pid "$cpid"
	if [ $rc != 0 ] || ! jq -e . "$churn_out" >/dev/null 2>&1; then
		echo "run.sh: churn failed (exit $rc): $(tr '\n' ' ' <"$churn_out.err")" >&2
		[ -n "$pid" ] && stop_pid "$pid"
		ip netns del "$ns"
		return 1
	fi

	if [ -n "$pid" ]; then
		# let the tracer drain (synfin: every 10 ms; perf buffers: 100 ms polls)
		sleep 0.5
		cpu=$(awk -v a="$(cpu_s "$pid")" -v b="$cpu0" 'BEGIN { print a - b }')
		hwm=$(hwm_kb "$pid")
		progs=$(prog_stats "$pid")
		memlock=$(map_memlock "$pid")
		stop_pid "$pid"
	fi
	if [ -n "$WITNESS" ]; then
		bench_witness_stop
		unseen=$UNSEEN
	fi
	ip netns del "$ns"

	case $v in
	synfin | synfin_notw | synfin_noaccept)
		summary=$(grep '^synfin: .* events' "$err" | tail -n 1) ;;
	synfin_file)
		summary=$(grep '^synfin: .* events' "$err" | tail -n 1)
		recv=$(grep_count '"type":"conn"' "$out"); recv_kind=conn ;;
	synfin_events)
		summary=$(grep '^synfin: .* events' "$err" | tail -n 1)
		# real transitions: not the listeners' own (remote 0.0.0.0) and
		# not the stand-ins synfin writes for a missed ->CLOSE ("destroy")
		recv=$(grep -F '"type":"state"' "$out" | grep -cvF -e '"destroy":true' -e '"raddr":"0.0.0.0"')
		extra=$(grep_count '"destroy":true' "$out")
		recv_kind=state ;;
	tcpstates)
		recv=$(grep_count " $ADDR_PREFIX" "$out"); recv_kind=transition
		summary=$(grep -i 'lost' "$err" | awk '{s += $2} END {print "perf_lost=" s + 0}') ;;
	tcplife)
		recv=$(grep_count " $ADDR_PREFIX" "$out"); recv_kind=conn
		summary=$(grep -i 'lost' "$err" | awk '{s += $2} END {print "perf_lost=" s + 0}') ;;
	esac
	[ "$KEEP" = 1 ] || rm -f "$out"

	jq -c -n --arg series "$series" --arg variant "$v" --argjson seq "$TRIAL_N" \
		--argjson stats "$stats" \
		--argjson churn "$(cat "$churn_out")" --argjson cpu "$cpu" --argjson hwm "$hwm" \
		--argjson progs "$progs" --argjson memlock "$memlock" --arg summary "$summary" \
		--argjson recv "$recv" --arg recv_kind "$recv_kind" --argjson standins "$extra" \
		--argjson rss0 "$rss0" --argjson rss1 "$rss1" --argjson unseen "$unseen" \
		--argjson rate "$rate" \
		--argjson host_wall "$(awk -v a="$mark0" -v b="$mark1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.3f", y[1] - x[1] }')" \
		--argjson host_cpu "$(awk -v a="$mark0" -v b="$mark1" -v n="$NPROC" \
			'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.3f", (y[1] - x[1]) * n - (y[2] - x[2]) }')" \
		--argjson per_t $PER_CONN_TRANSITIONS --argjson per_e $PER_CONN_ENDS '
		def kv($k): (($summary | capture($k + "=(?<n>[0-9]+)") | .n) // "0") | tonumber;
		def stateprog: [.[] | select(.name | test("^(tpc?_state|handle_set_state|inet_sock_set_state|state)$"))];
		($churn.connected + $churn.hold_opened) as $conns
		| ($progs | stateprog) as $sp
		| ($sp | map(.recursion_misses) | add // 0) as $sp_miss
		| {series: $series, variant: $variant, seq: $seq, hold: $churn.hold,
		   bpf_stats: ($stats == 1),
		   conns_per_s: $churn.conns_per_s, churn: $churn,
		   conns_total: $conns,
		   expected_transitions: ($conns * $per_t), expected_ends: ($conns * $per_e),
		   rss_before_hold_kib: $rss0, rss_holding_kib: $rss1,
		   tracer_cpu_s: $cpu, peak_rss_kib: $hwm, bpf_map_memlock_bytes: $memlock,
		   rate: $rate,
		   # the whole host busy over the churn (and its start and drain;
		   # with held connections, their opening too), and the tracer
		   # alone, as cores: CPU seconds a second
		   host_cpu_s: $host_cpu, host_wall_s: $host_wall, host_cores: ($host_cpu / $host_wall),
		   tracer_cores: ($cpu / $churn.duration_s),
		   progs: $progs,
		   state_prog_ns_per_run: (if ($sp | map(.run_cnt) | add // 0) > 0
			then (($sp | map(.run_time_ns) | add) / ($sp | map(.run_cnt) | add)) else null end),
		   state_prog_runs: ($sp | map(.run_cnt) | add // 0),
		   kernel_ns_per_transition: (if ($progs | length) > 0 and $conns > 0
			then (($progs | map(.run_time_ns) | add) / ($conns * $per_t)) else null end),
		   recursion_misses_state: $sp_miss,
		   recursion_misses_all: ($progs | map(.recursion_misses) | add // 0),
		   cpu_s_per_m_transitions: (if $conns > 0 and $variant != "none"
			then ($cpu / ($conns * $per_t) * 1e6) else null end),
		   unseen_ends: $unseen,
		   summary: $summary}
		| if ($variant | startswith("synfin")) then
			.reported = {ringbuf_full: kv("ringbuf_full"), storage_full: kv("storage_full"),
				owner_map_full: kv("owner_map_full"), live_map_full: kv("live_map_full"),
				table_full: kv("table_full"),
				recursion_miss: kv("recursion_miss"),
				recursion_caught: kv("recursion_caught"),
				spilled: kv("spilled"),
				ringbuf_full_state: 0}
		  elif ($variant == "tcpstates" or $variant == "tcplife") then
			.reported = {perf_lost: kv("perf_lost"), recursion_miss: $sp_miss}
		  else . end
		| .received = $recv | .received_kind = $recv_kind | .destroy_standins = $standins' \
		>>"$TRIALS" || die "could not record trial $TRIAL_N"
	# synfin names the ring-buffer losses by kind on a second line
	if [[ $v == synfin* ]]; then
		local rbs
		rbs=$(grep '^synfin: ringbuf_full by kind:' "$err" | sed -n 's/.* state=\([0-9]*\).*/\1/p' | tail -n 1)
		if [ -n "$rbs" ]; then
			jq -c --argjson seq "$TRIAL_N" --argjson n "$rbs" \
				'if .seq == $seq then .reported.ringbuf_full_state = $n else . end' \
				"$TRIALS" >"$TRIALS.new" && mv "$TRIALS.new" "$TRIALS"
		fi
	fi
	rm -f "$churn_out" "$churn_out.err" "$err" "$ready"
	jq -r --argjson seq "$TRIAL_N" 'select(.seq == $seq) |
		"  #\(.seq) \(.series) \(.variant) hold=\(.hold)\(if .bpf_stats then " (bpf_stats)" else "" end): \(.conns_per_s|floor) conns/s" +
		(if .variant != "none" then ", cpu \(.tracer_cpu_s) s, rss \(.peak_rss_kib) KiB" else "" end) +
		(if .received != null then ", received \(.received) \(.received_kind)" else "" end)' "$TRIALS"
	return 0
}

# expiry_trial: synfin -j to a file through one churn and until its tw
# socks have all ended (at most 100 s), in a fresh namespace with the
# witness of births no BPF program saw on; writes $TMP/expiry.json
expiry_trial()
{
	local ns out=$TMP/expiry.out err=$TMP/expiry.err churn_out=$TMP/expiry.churn pid
	local n=100 left born recs summary spilled lost followed unseen=null t0
	ns=sfbench$$-expiry
	bench_netns "$ns"
	"$SYNFIN" -j --netns "$NS_INO" >"$out" 2>"$err" &
	pid=$!
	tracer_ready synfin "$pid" "$err" || { ip netns del "$ns"; return 1; }
	witness_start_tw "synfin-bench-$$"
	t0=$SECONDS
	if ! ip netns exec "$ns" "$CHURN" --mode client-first --conns-parallel "$CONNS_PARALLEL" \
		--duration "$DURATION" --port "$PORT" --addr 127.77.0.1 >"$churn_out" 2>"$churn_out.err"; then
		echo "run.sh: expiry: churn failed: $(tail -n 1 "$churn_out.err")" >&2
		witness_stop "$TMP/expiry.blind"
		stop_pid "$pid"
		ip netns del "$ns"
		return 1
	fi
	# tw socks born where no BPF program runs: synfin never follows them
	if [ -n "$WITNESS" ]; then
		witness_stop "$TMP/expiry.blind"
		unseen=$(grep -c . "$TMP/expiry.blind")
	fi
	while left=$(tw_left "$ns") && [ "$left" -gt 0 ] && [ $n -gt 0 ]; do
		sleep 1
		n=$((n - 1))
	done
	sleep 1	# the last records drained
	stop_pid "$pid"
	born=$(ip netns exec "$ns" cat /proc/net/netstat | awk '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "TcpExt:" { print $col["TW"] + $col["TWKilled"] }')
	ip netns del "$ns"
	recs=$(grep_count '"type":"time_wait"' "$out")
	summary=$(grep '^synfin: .* events' "$err" | tail -n 1)
	spilled=$(sed -n 's/.* spilled=\([0-9]*\).*/\1/p' <<<"$summary")
	lost=$(grep '^synfin: ringbuf_full by kind:' "$err" | sed -n 's/.* tw_end=\([0-9]*\).*/\1/p')
	# still followed at exit: a tw sock whose end ran unseen waits for
	# synfin's grace period to pass
	followed=$(sed -n 's/.* \([0-9]*\) TIME_WAIT socks followed.*/\1/p' <<<"$summary")
	jq -n -c --argjson churn "$(cat "$churn_out")" --argjson born "$born" --argjson recs "$recs" \
		--argjson spilled "${spilled:-0}" --argjson lost "${lost:-0}" --argjson left "$left" \
		--argjson followed "${followed:-0}" \
		--argjson unseen "$unseen" --argjson secs $((SECONDS - t0)) \
		--arg summary "$summary" \
		'{conns: $churn.connected, conns_per_s: $churn.conns_per_s, seconds: $secs,
		  tw_born: $born, tw_left: $left, time_wait_records: $recs, spilled: $spilled,
		  tw_end_lost: $lost, births_unseen: $unseen, followed_at_exit: $followed,
		  short: ($born - $recs),
		  adds_up: ($recs + $lost + $followed + ($unseen // 0) == $born),
		  summary: $summary}' >"$TMP/expiry.json"
	[ "$KEEP" = 1 ] || rm -f "$out"
	jq -r '"  expiry: \(.conns) conns, \(.tw_born) tw socks born, \(.time_wait_records) time_wait records in \(.seconds) s; spilled \(.spilled), tw_end lost \(.tw_end_lost), births unseen \(.births_unseen), followed at exit \(.followed_at_exit); adds up: \(.adds_up)"' "$TMP/expiry.json"
}

# soak_reading PID T AFTER FILE: one reading of PID's memory at T s into
# the soak, appended to FILE, with the peak so far (a transient between two
# readings still shows where it happened); AFTER is true once the churn is
# over
soak_reading()
{
	echo "{\"t\":$2,\"rss_kib\":$(rss_kb "$1"),\"hwm_kib\":$(hwm_kb "$1"),\"after\":$3}" >>"$4"
}

# soak_trial SECS: synfin -j >/dev/null through a SECS s churn in a fresh
# namespace and then until the churn's tw socks have all ended (at most
# 100 s more), its RSS read every second; writes $OUTDIR/soak.json. An 8 s
# trial cannot show a leak: the tables fill for the first 60 s (the
# TIME_WAIT lifetime) and are then meant to stay as they are.
soak_trial()
{
	local secs=$1 ns err=$TMP/soak.err churn_out=$TMP/soak.churn pid cpid n=100 left
	local rss_series=$TMP/soak.rss cpu0 cpu summary hwm t0 t=0
	ns=sfbench$$-soak
	bench_netns "$ns"
	"$SYNFIN" -j -v --netns "$NS_INO" >/dev/null 2>"$err" &
	pid=$!
	tracer_ready synfin "$pid" "$err" || { ip netns del "$ns"; return 1; }
	cpu0=$(cpu_s "$pid")
	timeout -k 5 $((secs + 60)) ip netns exec "$ns" "$CHURN" --mode client-first \
		--conns-parallel "$CONNS_PARALLEL" --duration "$secs" --port "$PORT" \
		--addr 127.77.0.1 >"$churn_out" 2>"$churn_out.err" &
	cpid=$!
	PIDS+=("$cpid")
	: >"$rss_series"
	t0=$SECONDS
	while kill -0 "$cpid" 2>/dev/null; do
		soak_reading "$pid" "$t" false "$rss_series"
		sleep 1
		t=$((SECONDS - t0))
	done
	wait "$cpid"
	forget_pid "$cpid"
	if ! jq -e . "$churn_out" >/dev/null 2>&1; then
		echo "run.sh: soak: churn failed: $(tail -n 1 "$churn_out.err")" >&2
		stop_pid "$pid"
		ip netns del "$ns"
		return 1
	fi
	cpu=$(awk -v a="$(cpu_s "$pid")" -v b="$cpu0" 'BEGIN { print a - b }')
	while left=$(tw_left "$ns") && [ "$left" -gt 0 ] && [ $n -gt 0 ]; do
		soak_reading "$pid" "$t" true "$rss_series"
		sleep 1
		t=$((SECONDS - t0))
		n=$((n - 1))
	done
	sleep 1	# the last records drained
	soak_reading "$pid" "$t" true "$rss_series"
	hwm=$(hwm_kb "$pid")
	stop_pid "$pid"
	ip netns del "$ns"
	summary=$(grep '^synfin: .* events' "$err" | tail -n 1)
	# the RSS the tables settle at (the churn's tw socks live 60 s) against
	# the churn's last reading: a leak shows as the difference. The peak is
	# the largest of every reading and VmHWM, which the kernel raises only
	# when it unmaps pages, so it can read below a VmRSS seen before it;
	# first seen null: it came between two readings.
	jq -n -c --argjson churn "$(cat "$churn_out")" --argjson rss "$(jq -s -c . "$rss_series")" \
		--argjson cpu "$cpu" --argjson hwm "$hwm" --argjson left "$left" \
		--argjson machine "$MACHINE" --arg summary "$summary" \
		--arg verbose "$(grep -E '^synfin: (recursion|tw |census)' "$err")" \
		'def lost(k): ($summary | capture(k + "=(?<n>[0-9]+)").n | tonumber);
		 ($rss | map(select(.after | not))) as $during
		 | ($during | map(select(.t >= 70))) as $settled
		 | ([$hwm] + ($rss | map(.rss_kib, .hwm_kib)) | max) as $peak
		 | {machine: $machine, conns: $churn.connected, seconds: $churn.duration_s,
		    conns_per_s: $churn.conns_per_s, errors: $churn.errors,
		    cpu_s: $cpu, cpu_us_per_conn: ($cpu * 1e6 / $churn.connected),
		    peak_rss_kib: $peak,
		    peak_first_seen_s: ($rss | map(select(.rss_kib >= $peak or .hwm_kib >= $peak)) | first | .t),
		    rss: $rss,
		    rss_settled_kib: ($settled | first | .rss_kib),
		    rss_last_kib: ($during | last | .rss_kib),
		    rss_growth_kib: (if ($settled | length) > 1
		      then ($settled | last | .rss_kib) - ($settled | first | .rss_kib) else null end),
		    tw_left: $left,
		    lost: {ringbuf_full: lost("ringbuf_full"), storage_full: lost("storage_full"),
		      owner_map_full: lost("owner_map_full"), table_full: lost("table_full"),
		      recursion_miss: lost("recursion_miss")},
		    still_open: ($summary | capture("(?<n>[0-9]+) connections still open").n | tonumber),
		    tw_followed_at_exit: ($summary | capture("(?<n>[0-9]+) TIME_WAIT socks followed").n | tonumber),
		    summary: $summary, verbose: ($verbose | split("\n"))}' >"$OUTDIR/soak.json"
}

# syscall_trial VARIANT: ns per getppid() while VARIANT is attached (no
# traffic); appends {variant, ns_per_call} to $TMP/syscalls.ndjson
syscall_trial()
{
	local v=$1 pid='' err=$TMP/syscall.err out
	case $v in
	none) ;;
	synfin) "$SYNFIN" -j >/dev/null 2>"$err" & pid=$! ;;
	synfin_noaccept) "$SYNFIN" -j --no-accept-hook >/dev/null 2>"$err" & pid=$! ;;
	tcpstates) "$TCPSTATES" >/dev/null 2>"$err" & pid=$! ;;
	tcplife) "$TCPLIFE" >/dev/null 2>"$err" & pid=$! ;;
	esac
	[ -z "$pid" ] || tracer_ready "$v" "$pid" "$err" || return 1
	out=$("$SYSCOST")
	[ -n "$pid" ] && stop_pid "$pid"
	jq -e -c --arg v "$v" '{variant: $v, ns_per_call: .ns_per_call}' <<<"$out" \
		>>"$TMP/syscalls.ndjson" || { echo "run.sh: syscost said '$out'" >&2; return 1; }
	echo "  syscalls $v: $(jq -r .ns_per_call <<<"$out") ns a getppid()"
}

# ---- the runs --------------------------------------------------------------------------

machine_json()
{
	local model mem virt
	model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
	virt=$( (systemd-detect-virt 2>/dev/null) || (grep -qw hypervisor /proc/cpuinfo && echo "vm (hypervisor flag)") || echo none)
	jq -n -c --arg host "$(hostname)" --arg kernel "$(uname -r)" --arg arch "$(uname -m)" \
		--argjson nproc "$(nproc)" --arg model "$model" --argjson mem "$mem" --arg virt "$virt" \
		--arg os "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")" \
		--arg synfin "$("$SYNFIN" --version 2>/dev/null | head -n 1)" \
		--arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')" \
		'{hostname: $host, kernel: $kernel, arch: $arch, nproc: $nproc, cpu_model: $model,
		  mem_total_kib: $mem, virtualization: $virt, os: $os, synfin_version: $synfin,
		  synfin_commit: $commit}'
}

MACHINE=$(machine_json)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "synfin benchmark, $START"
echo "machine: $(jq -r '"\(.hostname): \(.cpu_model), \(.nproc) CPUs, \(.mem_total_kib/1048576*10|floor/10) GiB, Linux \(.kernel), \(.virtualization)"' <<<"$MACHINE")"
T0=$SECONDS
if [ "$SOAK" -gt 0 ]; then
	echo "soak: synfin -j > /dev/null through a $SOAK s churn, $CONNS_PARALLEL connectors, and until its TIME_WAIT socks end"
	soak_trial "$SOAK" || exit 1
	jq -r '"  \(.conns) connections in \(.seconds) s (\(.conns_per_s)/s, \(.errors) errors); synfin \(.cpu_s) CPU s, \(.cpu_us_per_conn * 100 | round / 100) us a connection",
	       "  RSS: \(if .rss_settled_kib then "\(.rss_settled_kib) KiB at 70 s, " else "" end)\(.rss_last_kib) KiB at the end of the churn\(if .rss_growth_kib then " (growth after 70 s: \(.rss_growth_kib) KiB)" else "" end), \(.rss[-1].rss_kib) KiB once its TIME_WAIT ended; peak \(.peak_rss_kib) KiB\(if .peak_first_seen_s then ", first seen at \(.peak_first_seen_s) s" else " (between two readings)" end)",
	       "  lost: \(.lost | to_entries | map("\(.key)=\(.value)") | join(" ")); still open \(.still_open), TIME_WAIT followed at exit \(.tw_followed_at_exit), left in the kernel \(.tw_left)"' "$OUTDIR/soak.json"
	echo "soak summary: $OUTDIR/soak.json ($((SECONDS - T0)) s)"
	exit 0
fi

echo "churn: client-first, $CONNS_PARALLEL connectors, ${DURATION} s trials, fresh netns each"
echo "main series: $ROUNDS rounds of: none, then each of [$VARIANTS] with none between"
for _ in $(seq "$ROUNDS"); do
	for v in $VARIANTS; do
		trial main none 0 0
		trial main "$v" 0 0
	done
done
trial main none 0 0
echo "profile round: the same with kernel.bpf_stats_enabled=1 (ns per run; not in the ratios)"
for v in $VARIANTS; do
	trial main "$v" 0 1
	trial main none 0 1
done

if [ "$SCALE" = 1 ]; then
	echo "scale series: synfin -j to a file vs none, holds [$HOLDS], $SCALE_ROUNDS rounds and a profile round"
	for k in $HOLDS; do
		for _ in $(seq "$SCALE_ROUNDS"); do
			trial "scale$k" none "$k" 0
			trial "scale$k" synfin_file "$k" 0
		done
		trial "scale$k" none "$k" 0
		trial "scale$k" synfin_file "$k" 1
		trial "scale$k" none "$k" 0
	done
fi
if [ -n "$RATES" ]; then
	# the tracers that write what they see, as an operator would run them
	rv=$RATE_VARIANTS
	if [ -z "$rv" ]; then
		rv=synfin_file
		for v in tcplife tcpstates; do [[ " $VARIANTS " == *" $v "* ]] && rv="$rv $v"; done
	fi
	echo "rate series: the churn at [$RATES] connections/s; none, then each of [$rv] with none between, $RATE_ROUNDS rounds"
	for q in $RATES; do
		for _ in $(seq "$RATE_ROUNDS"); do
			for v in $rv; do
				trial "rate$q" none 0 0 "$q"
				trial "rate$q" "$v" 0 0 "$q"
			done
		done
		trial "rate$q" none 0 0 "$q"
	done
fi
EXPIRY_JSON=null
if [ "$EXPIRY" = 1 ]; then
	echo "expiry trial: synfin -j to a file through a ${DURATION} s churn and until its TIME_WAIT socks end"
	expiry_trial && EXPIRY_JSON=$(cat "$TMP/expiry.json")
fi
SYSCALLS_JSON=null
if [ "$SYSCALLS" = 1 ]; then
	sv="none synfin synfin_noaccept"
	for v in tcplife tcpstates; do [[ " $VARIANTS " == *" $v "* ]] && sv="$sv $v"; done
	echo "system call series: ns a getppid() with each of [$sv] attached, $SYSCALL_ROUNDS rounds"
	: >"$TMP/syscalls.ndjson"
	for _ in $(seq "$SYSCALL_ROUNDS"); do
		for v in $sv; do syscall_trial "$v"; done
	done
	# per variant: every round, the median, and the median over none's
	SYSCALLS_JSON=$(jq -s -c --argjson rounds "$SYSCALL_ROUNDS" "$JQ_DEFS"'
		(group_by(.variant) | map({key: .[0].variant,
			value: {rounds: map(.ns_per_call), median: (map(.ns_per_call) | median)}})
		 | from_entries) as $by
		| {rounds: $rounds, call: "getppid", calls_per_round: 5000000,
		   variants: ($by | with_entries(.value += {over_none_ns:
			(if $by.none.median and .value.median
			 then .value.median - $by.none.median | r1 else null end)}))}' \
		"$TMP/syscalls.ndjson") || SYSCALLS_JSON=null
fi
# what synfin's process pays to format one JSON record of each kind
FORMAT_JSON=null
if [ -x "$FORMAT" ]; then
	FORMAT_JSON=$("$FORMAT" 2>/dev/null | tail -n 1)
	jq -e . >/dev/null 2>&1 <<<"$FORMAT_JSON" || FORMAT_JSON=null
fi
ELAPSED=$((SECONDS - T0))

# ---- aggregation: ratios against the untraced neighbours, then per variant ----------

jq -s -c --argjson machine "$MACHINE" --arg start "$START" --argjson elapsed "$ELAPSED" \
	--argjson format "$FORMAT_JSON" --argjson expiry "$EXPIRY_JSON" \
	--argjson syscalls "$SYSCALLS_JSON" \
	--argjson settings "$(jq -n -c --argjson d "$DURATION" --argjson r "$ROUNDS" \
		--argjson n "$CONNS_PARALLEL" --argjson sr "$SCALE_ROUNDS" --arg holds "$HOLDS" \
		--argjson quick "$QUICK" --arg rates "$RATES" --argjson rr "$RATE_ROUNDS" \
		'{duration_s: $d, rounds: $r, conns_parallel: $n, mode: "client-first",
		  scale_rounds: $sr, holds: ($holds | split(" ") | map(select(. != "") | tonumber)),
		  rates: ($rates | split(" ") | map(select(. != "") | tonumber)), rate_rounds: $rr,
		  quick: ($quick == 1), bpf_stats_enabled: "profile round only"}')" "$JQ_DEFS"'
	. as $all
	# ratio: the traced rate over the mean of the untraced runs just before
	# and just after it in the same series (linear drift cancels)
	# (at a fixed rate: the host CPU over theirs, in cores)
	| [ $all[] | . as $t
	    | if .variant == "none" then . else
		([ $all[] | select(.series == $t.series and .variant == "none" and
			(.seq == $t.seq - 1 or .seq == $t.seq + 1)) ]) as $nbr
		| ($nbr | map(.conns_per_s)) as $nb
		| . + {ratio: (if ($nb | length) > 0 then $t.conns_per_s / ($nb | add / length) else null end)}
		| if $t.rate > 0 and ($nbr | length) > 0
		  then . + {host_added_cores: ($t.host_cores - ($nbr | map(.host_cores) | add / length))}
		  else . end
	      end
	    # losses, counted against the known number per connection
	    | if .received == null then . else
		(if .received_kind == "state" or .received_kind == "transition"
		 then .expected_transitions else .expected_ends end) as $exp
		| . + {expected: $exp, lost_counted: ($exp - .received)}
	      end
	    # synfin: misses of the first copies that the second copies handled are no loss;
	    # synfin reports the rest as recursion_miss
	    | if .variant == "synfin_events" then
		. + {reported_lost_transitions: (.reported.ringbuf_full_state + .reported.recursion_miss)}
		| . + {unaccounted: (.expected - .received - .reported_lost_transitions)}
		| . + {adds_up: (.received + .reported_lost_transitions == .expected)}
	      elif .variant == "tcpstates" then
		. + {reported_lost_transitions: (.reported.perf_lost + .reported.recursion_miss)}
		| . + {unaccounted: (.expected - .received - .reported_lost_transitions)}
		| . + {adds_up: (.received + .reported_lost_transitions == .expected)}
	      elif .variant == "synfin" or .variant == "synfin_file" or .variant == "synfin_notw" or
		   .variant == "synfin_noaccept" then
		. + {reported_lost_transitions: (.reported.ringbuf_full_state + .reported.recursion_miss),
		     reported_lost_any: (.reported.ringbuf_full + .reported.storage_full +
			.reported.owner_map_full + .reported.live_map_full + .reported.table_full +
			.reported.recursion_miss)}
		# a conn record missing with no loss reported is a silent loss
		| if .received != null then
			. + {adds_up: (.lost_counted == 0 or (.lost_counted > 0 and .reported_lost_any > 0))}
		  else . end
	      elif .variant == "tcplife" then
		. + {reported_lost_transitions: (.reported.perf_lost + .reported.recursion_miss)}
		| . + {adds_up: (.lost_counted == 0 or (.lost_counted > 0 and .reported_lost_transitions > 0))}
	      else . end
	  ] as $trials
	# rates from the trials with bpf_stats off ($t), the kernel figures
	# from the profile round ($k); losses and memory from all of them
	| def agg($rows):
		($rows | map(select(.bpf_stats | not))) as $t
		| ($rows | map(select(.bpf_stats))) as $k
		| {trials: ($t | length), profile_trials: ($k | length),
		 conns_per_s_median: ($t | map(.conns_per_s) | median | r1),
		 ratio_median: ($t | map(.ratio) | map(select(. != null)) | median | r3),
		 ratio_min: ($t | map(.ratio) | map(select(. != null)) | min | r3),
		 ratio_max: ($t | map(.ratio) | map(select(. != null)) | max | r3),
		 ratio_bpf_stats_on: ($k | map(.ratio) | map(select(. != null)) | median | r3),
		 cpu_s_per_m_transitions: ($t | map(.cpu_s_per_m_transitions) | map(select(. != null)) | median | r3),
		 host_cores_median: ($t | map(.host_cores) | median | r3),
		 host_added_cores_median: ($t | map(.host_added_cores) | map(select(. != null)) | median | r3),
		 host_added_cores_min: ($t | map(.host_added_cores) | map(select(. != null)) | min | r3),
		 host_added_cores_max: ($t | map(.host_added_cores) | map(select(. != null)) | max | r3),
		 tracer_cores_median: ($t | map(.tracer_cores) | median | r3),
		 peak_rss_kib: ($rows | map(.peak_rss_kib) | max),
		 state_prog_ns_per_run: ($k | map(.state_prog_ns_per_run) | map(select(. != null)) | median | r1),
		 kernel_ns_per_transition: ($k | map(.kernel_ns_per_transition) | map(select(. != null)) | median | r1),
		 conns_total: ($rows | map(.conns_total) | add),
		 expected_transitions: ($rows | map(.expected_transitions) | add),
		 received: (if ($rows | all(.received != null)) then ($rows | map(.received) | add) else null end),
		 received_kind: ($rows[0].received_kind),
		 lost_counted: (if ($rows | all(.lost_counted != null)) then ($rows | map(.lost_counted) | add) else null end),
		 lost_counted_max_trial: ($rows | map(.lost_counted // 0) | max),
		 reported_lost_transitions: ($rows | map(.reported_lost_transitions // 0) | add),
		 recursion_misses_state: ($rows | map(.recursion_misses_state) | add),
		 recursion_misses_all: ($rows | map(.recursion_misses_all) | add),
		 reported: (if $rows[0].reported then
			($rows | map(.reported) | reduce .[] as $x ({}; reduce ($x | keys[]) as $k (.; .[$k] += $x[$k])))
			else null end),
		 destroy_standins: (if ($rows | all(.destroy_standins != null)) then ($rows | map(.destroy_standins) | add) else null end),
		 churn_errors: ($rows | map(.churn.errors) | add),
		 # per BPF program: kernel ns per run, and runs per connection
		 progs: ([ $k[] | .conns_total as $c | .progs[] | . + {conns: $c} ] | group_by(.name)
			| map({name: .[0].name, run_cnt: (map(.run_cnt) | add),
				ns_per_run: (if (map(.run_cnt) | add) > 0 then ((map(.run_time_ns) | add) / (map(.run_cnt) | add) | r1) else null end),
				runs_per_conn: (if (map(.conns) | add) > 0 then ((map(.run_cnt) | add) / (map(.conns) | add) | r3) else null end),
				recursion_misses: (map(.recursion_misses) | add)})),
		 adds_up: (if ($rows | any(has("adds_up"))) then ($rows | all(if has("adds_up") then .adds_up else true end)) else null end),
		 unaccounted: (if ($rows | any(has("unaccounted"))) then ($rows | map(.unaccounted // 0) | add) else null end)};
	([ $trials[] | select(.series == "main") | .variant ] | unique) as $vs
	| ([ $trials[] | select(.series | startswith("scale")) | .series ] | unique) as $ss
	| (reduce $vs[] as $v ({}; .[$v] = agg([ $trials[] | select(.series == "main" and .variant == $v) ]))) as $main
	| [ $ss[] as $s
	    | { hold: ([ $trials[] | select(.series == $s) | .hold ][0]),
		none: agg([ $trials[] | select(.series == $s and .variant == "none") ]),
		synfin_file: agg([ $trials[] | select(.series == $s and .variant == "synfin_file") ]) } ]
	  | sort_by(.hold)
	# memory per held connection: the tracer VmRSS once they were open,
	# minus just before (both before the churn starts)
	| map(.hold as $k | . + {bytes_per_held_conn: ([ $trials[] | select(.series == "scale\($k)" and
		.variant == "synfin_file" and .rss_holding_kib > 0) |
		(.rss_holding_kib - .rss_before_hold_kib) * 1024 / $k ] | median | if . then round else . end)})
	  as $scale
	# the rate series: per rate and variant, and the host CPU each tracer
	# adds per connection at that rate
	| ([ $trials[] | select(.series | startswith("rate")) | .series ] | unique) as $rs
	| ([ $rs[] as $s | ([ $trials[] | select(.series == $s) ]) as $rows | ($rows[0].rate) as $rate
	     | {rate: $rate,
		variants: ([ $rows[] | .variant ] | unique | map(. as $v
		  | {key: $v, value: (agg([ $rows[] | select(.variant == $v) ])
		     # per connection made: a tracer that cannot keep the rate
		     # makes the load slower, and the per-connection figure shows it
		     | . + {held_rate: (.conns_per_s_median >= 0.99 * $rate),
			    added_us_per_conn: (if .host_added_cores_median != null
			then (.host_added_cores_median * 1e6 / .conns_per_s_median | r1) else null end)})})
		  | from_entries)} ] | sort_by(.rate)) as $rates
	# lost: what synfin reported lost in the default mode (to /dev/null
	# and to a file), and ends short that no witness named: the rated
	# trials run without one, so the profile round says whether the short
	# ends were all ones no BPF program could see
	| ([ $main.synfin, $main.synfin_file | select(. != null) | .reported
	     | .ringbuf_full + .storage_full + .owner_map_full + .live_map_full + .table_full
	       + .recursion_miss ] | add) as $reported_lost
	| ([ $trials[] | select(.variant == "synfin_file" and .bpf_stats and .unseen_ends != null and
		.lost_counted != null) | .lost_counted == .unseen_ends ]
	   | if length > 0 then all else null end) as $short_unseen
	| {machine: $machine, started: $start, elapsed_s: $elapsed, command: "sudo make bench",
	   settings: $settings,
	   main: $main, scale: $scale, rates: $rates, expiry: $expiry, json_format: $format,
	   syscalls: $syscalls,
	   targets: {
	     synfin_ratio_ge_0_97: (if $main.synfin then ($main.synfin.ratio_median >= 0.97) else null end),
	     synfin_ratio_median: ($main.synfin.ratio_median // null),
	     synfin_events_ratio_ge_0_90: (if $main.synfin_events then ($main.synfin_events.ratio_median >= 0.90) else null end),
	     synfin_events_ratio_median: ($main.synfin_events.ratio_median // null),
	     synfin_reported_lost: $reported_lost,
	     synfin_short_ends_unseen_in_profile: $short_unseen,
	     synfin_zero_conns_lost: (if $main.synfin_file then
		($reported_lost == 0
		 and ($main.synfin_file.lost_counted == 0 or $short_unseen == true)
		 and (if $expiry then $expiry.tw_end_lost == 0 else true end)) else null end),
	     synfin_conns_lost: ($main.synfin_file.lost_counted // null),
	     synfin_zero_tw_ends_lost: (if $expiry then ($expiry.tw_end_lost == 0) else null end),
	     synfin_rss_100k_under_64mib: ([ $scale[] | select(.hold == 100000) | .synfin_file.peak_rss_kib < 65536 ] | if length > 0 then .[0] else null end),
	     synfin_rss_100k_kib: ([ $scale[] | select(.hold == 100000) | .synfin_file.peak_rss_kib ][0] // null)},
	   trials: $trials}' "$TRIALS" >"$SUMMARY.new" || die "could not aggregate the trials"
mv "$SUMMARY.new" "$SUMMARY"

# ---- the table ----------------------------------------------------------------------------

# a variant's name as its tables print it: the command line it ran
JQ_VARIANT_NAME='def variant_name: if . == "none" then "untraced" elif . == "synfin" then "synfin -j >/dev/null"
	elif . == "synfin_notw" then "synfin -j --no-timewait >/dev/null"
	elif . == "synfin_noaccept" then "synfin -j --no-accept-hook >/dev/null"
	elif . == "synfin_file" then "synfin -j >file" elif . == "synfin_events" then "synfin --events -j >file"
	elif . == "floor_state" then "floor: no-op on the state tracepoint"
	elif . == "floor_synfin" then "floor: no-ops on synfin'"'"'s hooks"
	else . + " >file" end; '

echo
echo "Results ($(jq -r '.machine | "\(.hostname), \(.cpu_model) x\(.nproc), Linux \(.kernel)"' "$SUMMARY"); ${ELAPSED} s)"
{
	printf 'variant\tconns/s\tratio med [min-max]\tcpu s/M tr\tpeak RSS\tns/run\tns/tr\tlost (counted)\treported lost\tadds up\n'
	jq -r "$JQ_VARIANT_NAME"'.main | to_entries[] | .key as $k | .value |
		[ ($k | variant_name),
		  (.conns_per_s_median | floor | tostring),
		  (if .ratio_median then "\(.ratio_median) [\(.ratio_min)-\(.ratio_max)]" else "1" end),
		  (.cpu_s_per_m_transitions // "-" | tostring),
		  (if .peak_rss_kib > 0 then "\(.peak_rss_kib / 1024 * 10 | round / 10) MiB" else "-" end),
		  (.state_prog_ns_per_run // "-" | tostring),
		  (.kernel_ns_per_transition // "-" | tostring),
		  (if .lost_counted == null then (if $k == "none" or ($k | startswith("floor")) then "-" else "n/a (not counted)" end)
		   else "\(.lost_counted) of \(if .received_kind == "state" or .received_kind == "transition" then .expected_transitions else .conns_total * 2 end) \(if .received_kind == "state" or .received_kind == "transition" then "transitions" else "conn ends" end)" end),
		  (if $k == "none" or ($k | startswith("floor")) then "-"
		   elif $k == "synfin" or $k == "synfin_file" or $k == "synfin_notw" or $k == "synfin_noaccept" then "\(.reported.ringbuf_full) records (recursion \(.reported.recursion_miss), caught \(.reported.recursion_caught), spilled \(.reported.spilled // 0))"
		   elif $k == "synfin_events" then "\(.reported_lost_transitions) tr (recursion \(.reported.recursion_miss), caught \(.reported.recursion_caught))"
		   else "\(.reported_lost_transitions) tr (recursion \(.reported.recursion_miss))" end),
		  (if .adds_up == null then "-" elif .adds_up then "yes" elif .unaccounted != null then "NO (\(.unaccounted) unaccounted)" else "NO" end)
		] | @tsv' "$SUMMARY"
} | column -t -s $'\t'
if jq -e '.scale | length > 0' "$SUMMARY" >/dev/null; then
	echo
	printf 'held conns\tuntraced conns/s\tsynfin ratio med [min-max]\tcpu s/M tr\tpeak RSS\tbytes/held conn\tns/run\tconn ends lost\n' >"$TMP/scale.tsv"
	jq -r '.scale[] | [ (.hold | tostring), (.none.conns_per_s_median | floor | tostring),
		"\(.synfin_file.ratio_median) [\(.synfin_file.ratio_min)-\(.synfin_file.ratio_max)]",
		(.synfin_file.cpu_s_per_m_transitions | tostring),
		"\(.synfin_file.peak_rss_kib / 1024 * 10 | round / 10) MiB",
		(.bytes_per_held_conn // "-" | tostring),
		(.synfin_file.state_prog_ns_per_run | tostring),
		"\(.synfin_file.lost_counted) of \(.synfin_file.conns_total * 2)" ] | @tsv' "$SUMMARY" >>"$TMP/scale.tsv"
	column -t -s $'\t' "$TMP/scale.tsv"
fi
if jq -e '.rates | length > 0' "$SUMMARY" >/dev/null; then
	echo
	echo "Rate series: the host's busy CPU at a steady rate, in cores (CPU s a second), and what each tracer adds"
	printf 'rate/s\tvariant\tconns/s\thost CPU\tadded med [min-max]\tadded us/conn\ttracer process\tlost (counted)\n' >"$TMP/rates.tsv"
	jq -r "$JQ_VARIANT_NAME"'.rates[] | .rate as $q | .variants | to_entries[] | .key as $k | .value |
		[ ($q | tostring), ($k | variant_name),
		  "\(.conns_per_s_median | floor)\(if .held_rate then "" else " (short)" end)",
		  (.host_cores_median | tostring),
		  (if $k == "none" then "-" else "+\(.host_added_cores_median) [\(.host_added_cores_min)-\(.host_added_cores_max)]" end),
		  (.added_us_per_conn // "-" | tostring),
		  (if $k == "none" then "-" else (.tracer_cores_median | tostring) end),
		  (if .lost_counted == null then "-" else "\(.lost_counted) of \(if .received_kind == "transition" then .expected_transitions else .conns_total * 2 end) \(if .received_kind == "transition" then "transitions" else "conn ends" end)" end)
		] | @tsv' "$SUMMARY" >>"$TMP/rates.tsv"
	column -t -s $'\t' "$TMP/rates.tsv"
fi
echo
echo "Profile round (kernel.bpf_stats_enabled=1): the ratio then, and per BPF program ns per run x runs per connection"
jq -r '.main | to_entries[] | select(.key != "none") | "  \(.key): ratio \(.value.ratio_bpf_stats_on); " +
	([ .value.progs[] | select(.run_cnt > 0) | "\(.name) \(.ns_per_run)ns x\(.runs_per_conn)" ] | join(", "))' "$SUMMARY"
jq -r '[.trials[] | select(.unseen_ends != null and .expected != null)] | select(length > 0) |
	"  ends (transitions) run where no BPF program runs (ftrace, PID 1'"'"'s threads): " +
	(map("\(.variant) \(.unseen_ends) (of \(.expected - .received) short)") | join(", "))' "$SUMMARY"
jq -r 'if .expiry then "TIME_WAIT expiry: \(.expiry.tw_born) tw socks born (kernel), \(.expiry.time_wait_records) time_wait records, spilled \(.expiry.spilled), tw_end lost \(.expiry.tw_end_lost), births no BPF program saw \(.expiry.births_unseen), still followed at exit \(.expiry.followed_at_exit); adds up: \(.expiry.adds_up)" else empty end' "$SUMMARY"
jq -r 'if .syscalls then "System calls (getppid, ns, median of \(.syscalls.rounds) rounds; over untraced): " +
	([.syscalls.variants | to_entries[] | "\(.key) \(.value.median)\(if .key != "none" and .value.over_none_ns != null then " (\(if .value.over_none_ns >= 0 then "+" else "" end)\(.value.over_none_ns))" else "" end)"] | join(", "))
	else empty end' "$SUMMARY"
jq -r 'if .json_format then "JSON formatting (bench/format, one thread): ns per record: conn \(.json_format.ns_per_record.conn), time_wait \(.json_format.ns_per_record.time_wait), state \(.json_format.ns_per_record.state)" else empty end' "$SUMMARY"
echo
jq -r '.targets | "targets: synfin default ratio \(.synfin_ratio_median) (>= 0.97: \(.synfin_ratio_ge_0_97)); --events \(.synfin_events_ratio_median) (>= 0.90: \(.synfin_events_ratio_ge_0_90)); conn ends short (default, rated trials) \(.synfin_conns_lost), reported lost \(.synfin_reported_lost), short ends all run where no BPF program runs (profile round) \(.synfin_short_ends_unseen_in_profile) (zero lost: \(.synfin_zero_conns_lost)); RSS with 100k held \(if .synfin_rss_100k_kib then "\(.synfin_rss_100k_kib / 1024 | floor) MiB" else "not run" end) (< 64 MiB: \(.synfin_rss_100k_under_64mib))"' "$SUMMARY"
if jq -e '[.trials[] | select(.adds_up == false)] | length > 0' "$SUMMARY" >/dev/null; then
	echo "WARNING: received + reported lost != expected in these trials:"
	jq -r '.trials[] | select(.adds_up == false) | "  #\(.seq) \(.variant) hold=\(.hold): expected \(.expected), received \(.received), reported lost \(.reported_lost_transitions), unaccounted \(.unaccounted // "?")\(if .unseen_ends != null then ", run where no BPF program runs (ftrace) \(.unseen_ends)" else "" end) (\(.summary))"' "$SUMMARY"
fi
echo "summary: $SUMMARY"
