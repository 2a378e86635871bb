#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A host whose kernel config cannot be read (a container without the
# host's /boot, a kernel without IKCONFIG_PROC). The BPF side reads
# CONFIG_HZ, and libbpf failed the whole load when it could open neither
# /boot/config-RELEASE nor /proc/config.gz: synfin did not start. It now
# starts with HZ unknown, which it has a mode for: a tw sock's timer is
# in jiffies, so --events gives its tw_start expires_ms null.
# synfin runs in a mount namespace of its own where both are covered by
# a socket file, which no open() takes.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=no_kconfig
PORT=5743
sf_setup_ns "$T"
command -v unshare >/dev/null || { sf_fail "$T" "no unshare (util-linux)"; sf_done; }
SOCK=$SF_TMP/noconfig.sock
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK" ||
	{ sf_fail "$T" "cannot make the socket file"; sf_done; }
# the wrapper execs all the way down: synfin keeps the pid sf_start knows
REAL=$SYNFIN
SYNFIN=$SF_TMP/synfin-noconfig
cat >"$SYNFIN" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
	for f in /proc/config.gz /boot/config-\$(uname -r); do
		[ -e "\$f" ] && { mount --bind "$SOCK" "\$f" || exit 9; }
	done
	exec "\$0" "\$@"' "$REAL" "\$@"
EOF
chmod +x "$SYNFIN"

sf_start "$T" --events --no-alerts -v --netns "$SF_NETNS_C"
sf_check "$T/said" "-v does not say the config is missing: $(head -c 300 "$SF_ERR")" \
	grep -q 'no kernel config to read CONFIG_HZ' "$SF_ERR"
# the client closes first: its end goes to TIME_WAIT
sf_pair "$T" "$SF_S4" "$PORT" -- --close-first
tw_start()
{
	jq -c --argjson lp "$CP" --argjson rp "$PORT" \
		'select(.type == "tw_start" and .lport == $lp and .rport == $rp)' "$SF_OUT" 2>/dev/null
}
sf_wait_output 5 tw_start
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_expect "$T/tw_start" "$(tw_start | head -n 1)" \
	'.state == "TIME-WAIT"' '.expires_ms == null'
sf_done
