#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Bad command lines: exit status 2 and exactly one line on stderr that names
# the offending value. Needs no root: synfin must reject these before it
# touches BPF.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=bad_input
if [ ! -x "$SYNFIN" ]; then
	sf_skip "$T" "$SYNFIN not built"
	sf_done
fi

# bad_case NAME TOKEN ARGS...: TOKEN must appear in the one stderr line
bad_case()
{
	local name=$1 token=$2 rc lines
	shift 2
	timeout -s KILL 10 "$SYNFIN" "$@" >"$SF_TMP/out" 2>"$SF_TMP/err" </dev/null
	rc=$?
	lines=$(wc -l <"$SF_TMP/err")
	# a final line without a newline still counts as a line
	[ -s "$SF_TMP/err" ] && [ "$(tail -c 1 "$SF_TMP/err" | od -An -c | tr -d ' ')" != '\n' ] &&
		lines=$((lines + 1))
	if [ "$rc" != 2 ]; then
		sf_fail "$T/$name" "synfin $* exited $rc (want 2); stderr: $(head -c 300 "$SF_TMP/err" | tr '\n' '|')"
	elif [ "$lines" != 1 ]; then
		sf_fail "$T/$name" "synfin $* wrote $lines lines on stderr (want 1): $(head -c 300 "$SF_TMP/err" | tr '\n' '|')"
	elif ! grep -qF -- "$token" "$SF_TMP/err"; then
		sf_fail "$T/$name" "stderr does not name '$token': $(cat "$SF_TMP/err")"
	elif [ -s "$SF_TMP/out" ]; then
		sf_fail "$T/$name" "synfin $* wrote to stdout: $(head -c 200 "$SF_TMP/out")"
	else
		sf_pass "$T/$name"
	fi
}

bad_case port_range 70000 -L 70000
bad_case port_text abc -L abc
bad_case pid_negative '-1 is out of range' -p -1
bad_case netns_missing /nonexistent --netns /nonexistent
bad_case unknown_flag --no-such-flag --no-such-flag
# the detectors' thresholds and the top subcommand
bad_case syn_ratio_above_1 syn-ratio --syn-ratio 2
bad_case tw_ports_zero tw-ports --tw-ports 0
bad_case interval_zero interval --interval 0
# a long argument is shown cut short, so the line still names the problem
# (a list of any length is taken: its one bad entry at the end is named)
bad_case port_list_long "...': 70000 is out of range 1-65535" -L "$(seq -s, 1 3000),70000"
bad_case netns_path_long 'File name too long' --netns "/$(printf 'a%.0s' {1..300})"
# a number of the wrong kind is named as such, not as text
bad_case interval_fraction "'0.5' is not a whole number" --interval 0.5
bad_case syn_ratio_negative '-1 is out of range' --syn-ratio -1
bad_case pid_huge '99999999999999999999 is out of range' -p 99999999999999999999
bad_case top_extra_arg extra top extra
bad_case priority_boost_range priority-boost --priority-boost 40
bad_case priority_boost_text priority-boost --priority-boost -1
bad_case spill_range spill --spill 20000000
bad_case spill_text spill --spill many
# the address filters: not an address, a length out of range, host bits
# set past the length, too many prefixes
bad_case laddr_text example.com --laddr example.com
bad_case raddr_length 'prefix length after 10.0.0.0: 33' --raddr 10.0.0.0/33
bad_case raddr_host_bits 10.1.2.3/8 --raddr 10.1.2.3/8
bad_case laddr_v6_host_bits 2001:db8::1/32 --laddr 2001:db8::1/32
bad_case raddr_too_many 'more than 8' --raddr 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9
bad_case raddr_empty_entry 'empty entry' --raddr 10.0.0.1,
bad_case comm_empty '-c/--comm' -c ''
# a newline or an escape in an argument must not break the one line
bad_case port_newline "'a?b'" -L $'a\nb'
bad_case uid_newline "'fo?o'" -u $'fo\no'
bad_case operand_escape "'x?[2J'" $'x\e[2J'
# -u: a user that does not exist, a uid out of range
bad_case uid_name "no user named 'no-such-user-synfin'" -u no-such-user-synfin
bad_case uid_range 4294967295 --uid 4294967295
# -F judges finished connections: not single transitions, not top's figures
bad_case failed_events '-F/--failed' -F -e
bad_case failed_top '-F/--failed' top --failed
# a flag that would change nothing is refused, not ignored
bad_case wide_json '-w/--wide shapes the text table' -w -j
bad_case timestamp_ladder '-T/--timestamp shapes the text table' -T --ladder
bad_case wide_top '-w/--wide' top -w
bad_case ascii_alone '--ascii only applies to --ladder' --ascii
bad_case ladder_json '--ladder draws pictures' --ladder -j
# a filter holds one value: a second is refused, not silently put first
bad_case comm_twice '-c/--comm: given twice' -c nginx -c curl
bad_case pid_twice '-p/--pid: given twice' -p 1 -p 1
bad_case uid_twice '-u/--uid: given twice' -u 0 --uid 0
bad_case netns_twice '--netns: given twice' --netns /proc/self/ns/net --netns /proc/self/ns/net
bad_case cgroup_twice '--cgroup: given twice' --cgroup 1 --cgroup 1
# --no-alerts turns the detectors off, and the census with them outside top
bad_case interval_no_alerts '--interval paces the census, which --no-alerts turns off' \
	--no-alerts --interval 2
bad_case budget_no_alerts '--census-budget paces the census' --census-budget 10 --no-alerts
bad_case threshold_no_alerts "--cw-age sets an alert's threshold" --no-alerts --cw-age 5 --cw-count 2
bad_case threshold_top_no_alerts "--tw-count sets an alert's threshold" top --no-alerts --tw-count 5
bad_case budget_zero '--census-budget: 0 is out of range [0.01, 100]' --census-budget 0
bad_case budget_text "--census-budget: 'x' is not a number" --census-budget x
# --netns names a network namespace: any other file would match nothing
bad_case netns_not_ns "'/etc/passwd' is not a network namespace" --netns /etc/passwd
bad_case netns_other_ns "is not a network namespace" --netns /proc/self/ns/mnt
# a number no namespace has is a warning, said only once the options are
# all good: beside a bad one, the one line is the error's
bad_case netns_number_then_bad "'--bogus'" --netns 1 --bogus
bad_case netns_number_twice '--netns: given twice' --netns 1 --netns 1
# -4 with a prefix no IPv4 socket's address is in (IPv4-mapped ones are)
bad_case v4_only_v6_laddr 'fd00::1/128 matches no IPv4 socket' -4 --laddr fd00::1
bad_case v4_only_v6_raddr 'fd00::/8 matches no IPv4 socket' -4 --raddr 10.0.0.0/8,fd00::/8
# getopt's errors name the option itself
bad_case flag_with_value "option '--json' takes no argument" --json=1
# an unknown flag in a group is named itself, not the word before it;
# a prefix of several long options is named ambiguous, with them
bad_case unknown_in_group "unknown option '-x'" -d 5 -jxj
bad_case unknown_in_group_after_value "unknown option '-x'" -o "$SF_TMP/x=y" -xj
bad_case ambiguous_prefix "option '--no' is ambiguous: --no-timewait, --no-accept-hook, --no-alerts" --no
# decimal numbers only; a sign where none is taken; a number past what a
# double holds is out of range, not text
bad_case ratio_hex "'0x0.8' is not a decimal number" --syn-ratio 0x0.8
bad_case unanswered_hex "'0x10' is not a decimal number" --syn-unanswered 0x10
bad_case spill_minus_zero "'-0' takes no sign" --spill -0
bad_case unanswered_overflow "1e309 is out of range" --syn-unanswered 1e309
bad_case ratio_underflow "1e-400 is out of range" --syn-ratio 1e-400
# a limit smaller than alerts show (6 decimals) would read as 0 in them
bad_case ratio_below_shown "0.0000001 is out of range [1e-06, 1]" --syn-ratio 0.0000001
bad_case tw_ports_below_shown "1e-7 is out of range [1e-06, 100]" --tw-ports 1e-7
bad_case unanswered_below_shown "5e-7 is out of range [1e-06, 1e+09]" --syn-unanswered 5e-7
# --cgroup: a file or a directory that is not a cgroup v2 one, given by a
# relative path too; an id of 64 bits past what one holds
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$CG2" ]; then
	bad_case cgroup_file "is not a cgroup v2 directory" --cgroup "$CG2/cgroup.procs"
else
	sf_skip "$T/cgroup_file" "no cgroup v2 mount"
fi
mkdir "$SF_TMP/rel"
cd "$SF_TMP" || sf_done
bad_case cgroup_relative_dir "'rel' is not a cgroup v2 directory" --cgroup rel
cd - >/dev/null || sf_done
bad_case cgroup_id_range "18446744073709551616 is out of range 1-18446744073709551615" \
	--cgroup 18446744073709551616
# a C1 control (CSI), a direction override and a byte of no character are
# masked like a newline; a name in UTF-8 is shown as it is
bad_case arg_csi "'??2J' is not a number" -d $'\xc2\x9b2J'
bad_case arg_bidi "'???1' is not a number" -d $'\xe2\x80\xae1'
bad_case arg_bad_byte "'?31m' is not a number" -d $'\x9b31m'
bad_case arg_utf8 $'no user named \'caf\xc3\xa9-synfin\'' -u $'caf\xc3\xa9-synfin'
# -u: digits a user is not named are a uid; other text a name
bad_case uid_digits_text "no user named '0abc'" -u 0abc
# flags another one already makes redundant, or that have nothing to act on
bad_case wide_timestamp "-w/--wide already shows" -w -T
bad_case spill_events "-e/--events sends transitions and has none" --spill 0 -e
bad_case no_timewait_failed "--no-timewait changes nothing" -F --no-timewait
bad_case bundled_missing_arg "option '-d' needs an argument" -jd
# -o: a file it can open for appending, not a pipe; given once; not for
# top's screen
bad_case output_empty "-o/--output: an empty path" -o ''
bad_case output_no_dir "'/nonexistent/synfin.json': No such file or directory" -j -o /nonexistent/synfin.json
bad_case output_dir "Is a directory" -j -o "$SF_TMP"
mkfifo "$SF_TMP/fifo"
bad_case output_fifo "a pipe or socket; pipe standard output instead" -j -o "$SF_TMP/fifo"
# the same with a reader on it (this shell, read-write: Linux opens that at
# once), so that synfin's open succeeds
exec 7<>"$SF_TMP/fifo"
bad_case output_fifo_read "a pipe or socket; pipe standard output instead" -j -o "$SF_TMP/fifo"
exec 7<&-
bad_case output_twice "-o/--output: given twice" -j -o "$SF_TMP/a" --output "$SF_TMP/b"
# --netns on a FIFO: refused at once, not opened (which would wait for a
# writer); bad_case's timeout kills a hang, and the exit is not 2
bad_case netns_fifo "'$SF_TMP/fifo' is not a network namespace" --netns "$SF_TMP/fifo"
# a relative path with a digit first is a path, not a bad number: from
# /proc, PID/ns/mnt is this shell's mount namespace, found and refused as one
(cd /proc && bad_case netns_relative_digit "'$$/ns/mnt' is not a network namespace" --netns "$$/ns/mnt")
bad_case output_top_screen "top draws its screen" top -o "$SF_TMP/a"
# -p names a process that exists, by its process id: pid_max itself is never
# handed out, and a thread's id is not what the kernel side compares
PID_NONE=$(cat /proc/sys/kernel/pid_max)
bad_case pid_none "no process $PID_NONE" -p "$PID_NONE"
if [ "$(id -u)" = 0 ]; then
	# synfin itself has a reader thread: a thread id that surely exists
	"$SYNFIN" -L 1 -d 30 >/dev/null 2>"$SF_TMP/threaded.err" &
	THREADED=$!
	SF_PIDS+=("$THREADED")
	if sf_wait_ready "$THREADED" "$SF_TMP/threaded.err" "synfin (threaded)"; then
		TID=
		for task in /proc/"$THREADED"/task/*; do
			[ "${task##*/}" = "$THREADED" ] || { TID=${task##*/}; break; }
		done
		if [ -n "$TID" ]; then
			bad_case pid_thread "$TID is a thread of process $THREADED" -p "$TID"
		else
			sf_fail "$T/pid_thread" "synfin has no second thread to name"
		fi
	else
		sf_fail "$T/pid_thread" "synfin did not start"
	fi
	kill -INT "$THREADED" 2>/dev/null
	wait "$THREADED"
else
	sf_skip "$T/pid_thread" "needs root to start a threaded synfin"
fi
sf_done
