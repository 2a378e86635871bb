#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A host whose kernel config cannot be read (a container without the
# host's /boot, a kernel without IKCONFIG_PROC). The BPF side reads
# CONFIG_HZ, and libbpf failed the whole load when it could open neither
# /boot/config-RELEASE nor /proc/config.gz: synfin did not start.
#  measured  synfin measures HZ from /proc/timer_list instead: --events
#            gives a tw sock's tw_start an expires_ms near the 60 s of
#            TIME_WAIT, and -v names the HZ, the config's where the test
#            can read one (the build before measured nothing: expires_ms
#            was null);
#  unknown   with /proc/timer_list hidden too (a container's runtime masks
#            it), it starts with HZ unknown, which it has a mode for: a tw
#            sock's timer is in jiffies, so expires_ms is null.
# synfin runs in a mount namespace of its own where the files are covered
# by a socket file, which no open() takes.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=no_kconfig
PORT=5743
sf_setup_ns "$T"
command -v unshare >/dev/null || { sf_fail "$T" "no unshare (util-linux)"; sf_done; }
SOCK=$SF_TMP/noconfig.sock
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK" ||
	{ sf_fail "$T" "cannot make the socket file"; sf_done; }
HZ=$( (zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null) |
	sed -n 's/^CONFIG_HZ=\([0-9]*\)$/\1/p')
# the wrapper execs all the way down: synfin keeps the pid sf_start knows
REAL=$SYNFIN
SYNFIN=$SF_TMP/synfin-noconfig
cat >"$SYNFIN" <<WRAP
#!/bin/sh
exec unshare -m --propagation private sh -c '
	for f in /proc/config.gz /boot/config-\$(uname -r) \$SF_HIDE; do
		[ -e "\$f" ] && { mount --bind "$SOCK" "\$f" || exit 9; }
	done
	exec "\$0" "\$@"' "$REAL" "\$@"
WRAP
chmod +x "$SYNFIN"

# the client's tw start: in TIME-WAIT, or in FIN-WAIT-2 where the client
# had closed its socket before the server's FIN came (an orphan's tw sock
# waits tcp_fin_timeout, 60 s by default, as TIME-WAIT does)
tw_start()
{
	jq -c --argjson lp "$CP" --argjson rp "$PORT" \
		'select(.type == "tw_start" and .lport == $lp and .rport == $rp)' "$SF_OUT" 2>/dev/null
}

# run NAME HIDE...: synfin with the config and HIDE covered, through one
# connection whose client closes first (its end goes to TIME_WAIT)
run()
{
	local name=$1
	shift
	SF_HIDE="$*" sf_start "$T/$name" --events --no-alerts -v --netns "$SF_NETNS_C"
	sf_pair "$T" "$SF_S4" "$PORT" --wait-eof -- --close-first
	sf_wait_output 5 tw_start
	sf_synfin_stop || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
}
export SF_HIDE

# where the host has a config the test names the HZ it says; without one
# (a container) any HZ Linux offers will do: expires_ms shows it right
if [ ! -r /proc/timer_list ]; then
	sf_skip "$T/measured" "no /proc/timer_list here to measure HZ from"
else
	run measured
	said=$(sed -n 's/^synfin: no kernel config to read CONFIG_HZ .*: HZ \([0-9]*\), measured from \/proc\/timer_list$/\1/p' "$SF_ERR")
	sf_check "$T/measured/said" "-v names HZ '$said' as measured (want ${HZ:-one of 100 200 250 300 500 1000}): $(grep -m 1 CONFIG_HZ "$SF_ERR")" \
		grep -qx "${HZ:-100\|200\|250\|300\|500\|1000}" <<<"$said"
	# the timer is armed for 60 s; the record may come some milliseconds on
	sf_expect "$T/measured/tw_start" "$(tw_start | head -n 1)" \
		'.state == "TIME-WAIT" or .state == "FIN-WAIT-2"' \
		'.expires_ms > 59000' '.expires_ms <= 60000'
fi

run unknown /proc/timer_list
sf_check "$T/unknown/said" "-v does not say HZ is unknown: $(grep -m 1 CONFIG_HZ "$SF_ERR")" \
	grep -q 'no kernel config to read CONFIG_HZ .*nor HZ from /proc/timer_list (.*): TIME_WAIT timers in jiffies' "$SF_ERR"
sf_expect "$T/unknown/tw_start" "$(tw_start | head -n 1)" \
	'.state == "TIME-WAIT" or .state == "FIN-WAIT-2"' '.expires_ms == null'
sf_done
