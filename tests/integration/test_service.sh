#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The installed service, as far as a host without systemd as PID 1 lets it
# run. The installed synfin, with the unit's options and under exactly its
# capability bounding set, records a connection, seeds one in a namespace
# that only a process's /proc entry reaches, and reports nothing it could
# not do; without any one of those capabilities it fails or loses
# something. The installed logrotate configuration rotates that synfin's
# file for real: its postrotate's HUP (through a stand-in for systemctl)
# moves synfin to the new file, and with the real systemctl, no
# synfin.service running, it does nothing and succeeds.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=service
DEST=$SF_TMP/dest
UNIT=$DEST/usr/lib/systemd/system/synfin.service
CONF=$DEST/etc/logrotate.d/synfin

if ! make -s -C "$SF_ROOT" install DESTDIR="$DEST" PREFIX=/usr >"$SF_TMP/make.out" 2>&1; then
	sf_fail "$T/make" "make install failed: $(tail -n 3 "$SF_TMP/make.out" | tr '\n' ' ')"
	sf_done
fi
SYNFIN=$DEST/usr/sbin/synfin
for tool in setpriv nsenter unshare logrotate gzip; do
	command -v "$tool" >/dev/null || { sf_skip "$T" "$tool not installed"; sf_done; }
done

# The unit as systemd would run it. Run as root, a service's capabilities
# are its bounding set, which setpriv imitates below; a User= would need
# AmbientCapabilities and a different imitation.
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
if [ -n "$(unit_value User)$(unit_value DynamicUser)$(unit_value AmbientCapabilities)" ]; then
	sf_fail "$T/unit" "the unit no longer runs as root: this test's imitation of it is wrong"
	sf_done
fi
sf_check "$T/no_new_privs" "the unit lost NoNewPrivileges=yes" \
	test "$(unit_value NoNewPrivileges)" = yes
read -r -a CAPS <<<"$(unit_value CapabilityBoundingSet)"
[ "${#CAPS[@]}" -gt 0 ] || { sf_fail "$T/unit" "no CapabilityBoundingSet= in the unit"; sf_done; }
read -r -a EXEC <<<"$(unit_value ExecStart)"
if [ "${EXEC[0]}" != /usr/sbin/synfin ]; then
	sf_fail "$T/unit" "ExecStart runs ${EXEC[0]}, not the installed /usr/sbin/synfin"
	sf_done
fi

sf_setup_ns "$T"

# setpriv's list for a bounding set of CAP_A CAP_B...: -all,+a,+b
cap_list()
{
	local c list=-all
	for c in "$@"; do
		c=${c,,}
		list+=",+${c#cap_}"
	done
	echo "$list"
}

# anon_start NAME PORT: a connection over the loopback of a namespace no
# name in /run/netns points at (only /proc/PID/ns/net of its processes,
# root's with every capability), open before synfin starts and closed by
# anon_close NAME: synfin learns of it only by entering that namespace.
# Sets ANON_NS (its inode).
anon_start()
{
	local d=$SF_TMP/$1 port=$2 srv cli
	unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
		"$TCPDRIVE" server --bind 127.0.0.1 --port "$port" --accept 1 --wait-eof \
		--hold-until-file "$d.go" --ready-file "$d.srv.ready" --timeout-ms 30000 \
		>"$d.srv" 2>&1 &
	srv=$!
	SF_PIDS+=("$srv")
	sf_wait_file "$d.srv.ready" || { sf_fail "$T/$1" "anonymous namespace: no listener"; sf_done; }
	nsenter --net="/proc/$srv/ns/net" "$TCPDRIVE" client --connect 127.0.0.1 --port "$port" \
		--close-first --hold-until-file "$d.go" --ready-file "$d.cli.ready" --timeout-ms 30000 \
		>"$d.cli" 2>&1 &
	cli=$!
	SF_PIDS+=("$cli")
	sf_wait_file "$d.cli.ready" || { sf_fail "$T/$1" "anonymous namespace: no connection"; sf_done; }
	ANON_NS=$(stat -L -c %i "/proc/$srv/ns/net")
	ANON_PIDS=("$srv" "$cli")
}

anon_close()
{
	local pid
	touch "$SF_TMP/$1.go"
	for pid in "${ANON_PIDS[@]}"; do sf_wait_pid "$pid" 10; done
}

# anon_records FILE... [SEEDED]: the conn records of the anonymous
# namespace's connection (only the seeded ones: synfin found them open
# when it started)
anon_records()
{
	jq -c --argjson ns "$ANON_NS" 'select(.type == "conn" and .netns == $ns)' "$@" 2>/dev/null
}
anon_seeded() { anon_records "$@" | jq -c 'select(.seeded == true)'; }

# restricted_start NAME CAPS...: the installed synfin with the unit's
# ExecStart arguments, its -o file $SF_TMP/NAME/synfin.json, plus -v (what
# it could not do), as root with no_new_privs and bounding set CAPS. SF_OUT
# and SF_ERR are its file and stderr; fails unless it is ready.
restricted_start()
{
	local name=$1 args=() a prev=
	shift
	mkdir -p "$SF_TMP/$name"
	SF_OUT=$SF_TMP/$name/synfin.json
	SF_ERR=$SF_TMP/$name.err
	for a in "${EXEC[@]:1}"; do
		[ "$prev" = -o ] && a=$SF_OUT
		args+=("$a")
		prev=$a
	done
	setpriv --bounding-set="$(cap_list "$@")" --inh-caps=-all --no-new-privs \
		"$SYNFIN" "${args[@]}" -v </dev/null >"$SF_TMP/$name.stdout" 2>"$SF_ERR" &
	SF_SYNFIN_PID=$!
	SF_PIDS+=("$SF_SYNFIN_PID")
	sf_wait_ready "$SF_SYNFIN_PID" "$SF_ERR" "synfin ($name)"
}

# what synfin says under -v when it runs without something it needs, or
# goes round it: without CAP_SYSLOG, tw_timer_handler's address, hidden
# in /proc/kallsyms, is learned from a connection of synfin's own on the
# loopback (ended by a reset), which CAP_SYSLOG spares
CANNOT='cannot|could not|not measured|fail|denied|not permitted|unavailable|warning'
CANNOT+="|learned from a TIME_WAIT socket of synfin's own"
# said_cannot FILE: those lines, but one of processes whose namespace even
# CAP_SYS_PTRACE does not open (a sandbox's init): no capability the unit
# could grant changes that
said_cannot() { grep -E "$CANNOT" "$1" | grep -v 'denied even with CAP_SYS_PTRACE'; }

# losses NAME STATUS SEEDED: what the run NAME lost, one line each, into
# $SF_TMP/NAME.lost (STATUS: 0 if it started and exited 0 on SIGINT;
# SEEDED: how many seeded records of the anonymous namespace it wrote)
losses()
{
	{
		[ "$2" = 0 ] || echo "did not start or stop cleanly: $(tail -n 1 "$SF_ERR")"
		said_cannot "$SF_ERR" | sed 's/^/said: /'
		[ "$3" = 2 ] ||
			echo "did not seed the connection open in a namespace reached through /proc"
	} >"$SF_TMP/$1.lost"
}

# ---- the unit's capabilities ---------------------------------------------------

# from /, as systemd starts a service
cd / || { sf_fail "$T/caps" "cannot cd /"; sf_done; }
anon_start full 5094
if ! restricted_start full "${CAPS[@]}"; then
	sf_fail "$T/caps" "synfin did not start under the unit's capabilities (${CAPS[*]})"
	sf_done
fi
anon_close full
sf_pair "$T/caps" "$SF_S4" 5095 --wait-eof --send 200 --comm sfsvcsrv -- \
	--send 100 --recv 200 --close-first --comm sfsvccli
CT_A=$CT
sf_wait_records 5 "$CT_A"
sf_wait_count 2 anon_seeded "$SF_OUT"
# shellcheck disable=SC2086
sf_expect "$T/caps/record" "$(sf_records $CT_A)" '.role == "client"' '.comm == "sfsvccli"' \
	'.bytes_sent == 100'
# (counted now: the rotations below take these records away from $SF_OUT)
FULL_SEEDED=$(anon_seeded "$SF_OUT" | grep -c .)
sf_check "$T/caps/census" "$FULL_SEEDED seeded records of the 2 ends open in a namespace reached through /proc (want 2)" \
	test "$FULL_SEEDED" = 2

# ---- logrotate, for real -------------------------------------------------------
# The installed configuration on synfin's file: a stand-in for systemctl
# does systemd's part of the postrotate (the unit is active; its main
# process gets SIGHUP), then the real systemctl, with no synfin.service
# running, must leave synfin alone.
LOG=$SF_OUT
sed "s|^/var/log/synfin/synfin.json |$LOG |" "$CONF" >"$SF_TMP/logrotate.conf"
grep -q "^$LOG {" "$SF_TMP/logrotate.conf" ||
	{ sf_fail "$T/logrotate" "the installed configuration does not name /var/log/synfin/synfin.json"; sf_done; }
mkdir -p "$SF_TMP/bin"
printf '#!/bin/sh\necho "$*" >>%s\ncase "$*" in\n%s) exit 0 ;;\n%s) exec kill -HUP %s ;;\nesac\nexit 1\n' \
	"$SF_TMP/systemctl.log" '"--quiet is-active synfin.service"' \
	'"kill --kill-whom=main --signal=HUP synfin.service"' "$SF_SYNFIN_PID" >"$SF_TMP/bin/systemctl"
chmod 755 "$SF_TMP/bin/systemctl"

# logrotate_run NAME [PATH]: a forced rotation; FAIL unless it exits 0
# without an error line (a failed postrotate is one)
logrotate_run()
{
	local name=$1 path=${2:-$PATH} rc
	PATH=$path logrotate -f -s "$SF_TMP/logrotate.state" "$SF_TMP/logrotate.conf" \
		>"$SF_TMP/$name.lr" 2>&1
	rc=$?
	sf_check "$T/$name" "logrotate exited $rc: $(head -c 300 "$SF_TMP/$name.lr" | tr '\n' ' ')" \
		sh -c "[ $rc = 0 ] && ! grep -q '^error' '$SF_TMP/$name.lr'"
}

logrotate_run rotate_hup "$SF_TMP/bin:$PATH"
sf_check "$T/rotate_hup/postrotate" "the postrotate asked systemctl: $(sf_oneline "$(cat "$SF_TMP/systemctl.log" 2>/dev/null)")" \
	test "$(cat "$SF_TMP/systemctl.log" 2>/dev/null)" = "--quiet is-active synfin.service
kill --kill-whom=main --signal=HUP synfin.service"
# shellcheck disable=SC2086
sf_check "$T/rotate_hup/old" "the record before the rotation is not in $LOG.1" \
	test -n "$(SF_OUT=$LOG.1 sf_records $CT_A)"
sf_pair "$T/rotate_hup" "$SF_S4" 5096 --wait-eof --comm sfsvcsrv -- --close-first --comm sfsvccli
CT_B=$CT
sf_wait_file "$LOG" 5
sf_wait_records 5 "$CT_B"
# shellcheck disable=SC2086
sf_check "$T/rotate_hup/new" "after the HUP, no record in a new $LOG" \
	test -n "$(sf_records $CT_B)"

logrotate_run rotate_idle
sleep 1
sf_check "$T/rotate_idle/untouched" "the postrotate reopened synfin's file with no synfin.service running" \
	test ! -e "$LOG"
sf_check "$T/rotate_idle/compressed" "$LOG.2.gz is not the first file, compressed" \
	sh -c "gzip -t '$LOG.2.gz' && zcat '$LOG.2.gz' | grep -q sfsvccli"

sf_synfin_stop || sf_fail "$T/caps/stop" "synfin did not exit 0 on SIGINT"
losses full 0 "$FULL_SEEDED"
sf_check "$T/caps/said" "under the unit's capabilities: $(said_cannot "$SF_ERR" | head -n 3 | tr '\n' ' ')" \
	test -z "$(said_cannot "$SF_ERR")"

# ---- and without each of them --------------------------------------------------
# Every capability the unit keeps must be missed: without it synfin fails,
# says under -v what it could not do, or leaves the namespace reached
# through /proc unvisited (its connection unseeded); a loss the run with
# all of them had too (a FAIL above) does not count.
for drop in "${CAPS[@]}"; do
	name=without_${drop,,}
	rest=()
	for c in "${CAPS[@]}"; do [ "$c" = "$drop" ] || rest+=("$c"); done
	anon_start "$name" 5094
	if restricted_start "$name" "${rest[@]}" 2>/dev/null; then
		anon_close "$name"
		# its two ends' records, seeded or not, before the stop
		sf_wait_count 2 anon_records "$SF_OUT"
		sf_synfin_stop 2>/dev/null
		losses "$name" $? "$(anon_seeded "$SF_OUT" | grep -c .)"
	else
		anon_close "$name"
		losses "$name" 1 0
	fi
	lost=$(grep -vxF -f "$SF_TMP/full.lost" "$SF_TMP/$name.lost")
	if [ -n "$lost" ]; then
		echo "  without $drop: $(head -n 1 <<<"$lost")"
		sf_pass "$T/$name"
	elif [ "$drop" = CAP_SYSLOG ] && [ "$(cat /proc/sys/kernel/kptr_restrict)" = 0 ] &&
		[ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 1 ]; then
		# kallsyms shows its addresses to everyone with these settings
		sf_skip "$T/$name" "kptr_restrict 0 and perf_event_paranoid <= 1: nothing needs $drop here"
	else
		sf_fail "$T/$name" "the unit grants $drop, but synfin lost nothing more without it"
	fi
done

# ---- what synfin says of the namespaces it could not read ------------------------
# Without CAP_SYS_PTRACE the anonymous namespace is missed (above), and
# synfin says so, with or without -v.
sf_check "$T/without_cap_sys_ptrace/said" "no line on the processes whose namespace could not be read: $(head -n 3 "$SF_TMP/without_cap_sys_ptrace.err" | tr '\n' ' ')" \
	grep -Eq '^synfin: the network namespace of [0-9]+ process(es)? could not be read \(that needs CAP_SYS_PTRACE\)' \
	"$SF_TMP/without_cap_sys_ptrace.err"
# Without CAP_SYS_ADMIN, but with CAP_BPF and CAP_PERFMON, which load the
# programs, synfin runs and every setns() fails: it says how many
# namespaces it could not enter, and top -j's stats records count them
# (this test's two named namespaces at least) beside the one it read.
nosa=(CAP_BPF CAP_PERFMON)
for c in "${CAPS[@]}"; do [ "$c" = CAP_SYS_ADMIN ] || nosa+=("$c"); done
setpriv --bounding-set="$(cap_list "${nosa[@]}")" --inh-caps=-all --no-new-privs \
	timeout -k 2 30 "$SYNFIN" top -j -d 3 </dev/null >"$SF_TMP/nosa.out" 2>"$SF_TMP/nosa.err"
rc=$?
echo "  without CAP_SYS_ADMIN: $(grep -m 1 'namespace' "$SF_TMP/nosa.err")"
sf_check "$T/without_cap_sys_admin/said" "exit $rc, and no line on the namespaces it could not enter: $(head -n 3 "$SF_TMP/nosa.err" | tr '\n' ' ')" \
	sh -c "[ $rc = 0 ] && grep -Eq '^synfin: [0-9]+ network namespaces? could not be read \(Operation not permitted; entering one needs CAP_SYS_ADMIN\)' '$SF_TMP/nosa.err'"
rec=$(jq -c 'select(.type == "stats")' "$SF_TMP/nosa.out" 2>/dev/null | tail -n 1)
sf_expect "$T/without_cap_sys_admin/stats" "$rec" '.netns_counted == 1' '.netns_failed >= 2'
sf_done
