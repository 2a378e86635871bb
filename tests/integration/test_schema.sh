#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The JSON output against its contract, docs/schema.md ("Fields are only
# ever added, never renamed or removed"). The doc's tables are read
# mechanically (awk below): per record type, every documented key path
# (nested objects dotted, array elements as NAME[]) and its documented JSON
# type. A few fields the doc gives in prose only are listed here, each with
# the sentence it comes from. Then five synfin instances watch a broad set
# of scenarios in our namespace pair at once:
#   dflt    synfin -j (default mode, detectors with low thresholds)
#   events  synfin -j --events
#   lost    synfin -j --events --ringbuf-mb 1, stopped during a burst
#   classic synfin -j --classic (the fallback's hooks, the same writer)
#   top     synfin top -j
# scenarios: a connection open before synfin (seeded), client close (1200
# of them, 300/s: TIME_WAIT build-up), server close and a reuse of its tw
# sock, refused, SYN timeout, linger-0 reset, IPv6, data retransmits until
# TCP_USER_TIMEOUT, FIN_WAIT2 orphans whose tw socks expire, a CLOSE_WAIT
# leak, a SYN flood. Every key path of every record they print is then held
# against the doc:
#   schema/documented/TYPE  every key path in the output is documented for TYPE
#   schema/types/TYPE       its JSON type is the documented one
#   schema/complete/TYPE    every documented key of TYPE appeared at least once
#                           (for each TYPE that appeared)
#   schema/values/TYPE      every value of an enumerated key (ENUMS) is one the
#                           doc gives that key; an alert's fired thresholds
#                           are among its thresholds
#   schema/coverage/TYPE    every documented record type appeared
# A discrepancy is one FAIL line naming the type, the key and what was found.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=schema
DOC=$SF_ROOT/docs/schema.md
# the address space of this test: both ends, the timed-out client (.11,
# blackholed from the start) and the stalled one (.12, blackholed once
# connected); the SYN flood's spoofed sources are in 10.214.0.0/16
ADDR_TMO=10.213.0.11
ADDR_STALL=10.213.0.12
FILTER=(--laddr "10.213.0.0/24,fd00:213::/64")
# detectors quick to fire: CLOSE_WAIT older than 2 s in 5 sockets,
# 300 TIME_WAIT socks toward one destination
ALERTS=(--cw-age 2 --cw-count 5 --tw-count 300)

# ---- the documented schema ------------------------------------------------------

# schema_tables DOC: "SCOPE<TAB>PATH<TAB>DOCTYPE" for every field row of the
# doc's tables. SCOPE is a record type, "*" (the intro's "Every object
# has") or "@conn" ("Common fields of connection-scoped objects"); the types
# of a section are the record types its heading names in backticks. A cell
# "`a`, `b`" is two fields (with "t1, t2" in the type cell, one type each);
# "A `NAME` row:" tables are the elements of the array NAME ("NAME[].x");
# "(`retransmit` only)" keeps a field of a shared table to that type; the
# alert's figures/thresholds table gives figures.X and thresholds.X, numbers
# ("name → number", "threshold name → the limit"); an object field given by
# example ({"addr":"10.0.0.2","port":5100}, {"addr","port"}) gets the
# example's keys, of the type of the value an example gives each. A range
# "`x` … `y`" comes out as "RANGE x y", to be expanded by the caller. The
# last line is "#types" and the record types of the `type` row.
schema_tables()
{
	awk '
	function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
	# the `...` spans of S into OUT[1..n]; n returned
	function ticks(s, out,   n) {
		n = 0
		while (match(s, /`[^`]+`/)) {
			out[++n] = substr(s, RSTART + 1, RLENGTH - 2)
			s = substr(s, RSTART + RLENGTH)
		}
		return n
	}
	# S without its (...) asides, cut at its first ":"
	function main_clause(s) {
		while (match(s, /\([^()]*\)/))
			s = substr(s, 1, RSTART - 1) substr(s, RSTART + RLENGTH)
		sub(/:.*/, "", s)
		return s
	}
	function emit(path, ty, only,   i) {
		for (i = 1; i <= nscope; i++) {
			if (only != "" && scope[i] != only)
				continue
			out[++nout] = scope[i] "\t" prefix path "\t" ty
			if (ty == "array of strings")
				out[++nout] = scope[i] "\t" prefix path "[]\tstring"
		}
	}
	BEGIN { nscope = 1; scope[1] = "*" }
	/^## / {
		nscope = 0
		prefix = ""
		if ($0 ~ /Common fields of connection-scoped objects/) {
			scope[++nscope] = "@conn"
		} else {
			n = ticks($0, tk)
			for (i = 1; i <= n; i++)
				if (tk[i] in istype)
					scope[++nscope] = tk[i]
		}
		next
	}
	/^A `[a-z_]+` row:/ {
		ticks($0, tk)
		prefix = ""
		emit(tk[1] "[]", "object", "")
		prefix = tk[1] "[]."
		next
	}
	!/^\|/ { intable = 0; next }
	/^\|[-| ]+\|$/ { next }
	{
		nc = split($0, c, "|")
		if (!intable) {
			intable = 1
			head = trim(c[2]) "/" trim(c[3])
			next
		}
		if (nscope == 0)
			next
		if (head == "kind/figures") {
			n = ticks(main_clause(c[3]), tk)
			for (i = 1; i <= n; i++)
				emit("figures." tk[i], "number", "")
			n = ticks(main_clause(c[4]), tk)
			for (i = 1; i <= n; i++)
				emit("thresholds." tk[i], "number", "")
			next
		}
		if (head !~ /^field\//)
			next
		meaning = c[4]
		for (i = 5; i <= nc; i++)
			meaning = meaning "|" c[i]
		n = ticks(c[2], nm)
		ty = trim(c[3])
		if (nm[1] == "type" && scope[1] == "*") {
			m = ticks(meaning, tk)
			for (i = 1; i <= m; i++) {
				istype[tk[i]] = 1
				types = types " " tk[i]
			}
		}
		if (c[2] ~ /…/) {
			for (i = 1; i <= nscope; i++)
				out[++nout] = scope[i] "\tRANGE " nm[1] " " nm[n] "\t" ty
			next
		}
		only = ""
		if (match(meaning, /\(`[a-z_]+` only\)/)) {
			o = substr(meaning, RSTART + 2, RLENGTH - 9)
			for (i = 1; i <= nscope; i++)
				if (scope[i] == o)
					only = o
		}
		nt = split(ty, tys, ",")
		for (i = 1; i <= n; i++)
			emit(nm[i], nt == n ? trim(tys[i]) : ty, only)
		if (n == 1 && ty ~ /object/ && match(meaning, /`\{"[^`]*\}`/)) {
			obj = substr(meaning, RSTART + 1, RLENGTH - 2)
			while (match(obj, /[{,]"[a-z_]+"(:("[^"]*"|[0-9]+))?/)) {
				kv = substr(obj, RSTART + 1, RLENGTH - 1)
				obj = substr(obj, RSTART + RLENGTH)
				match(kv, /^"[a-z_]+"/)
				k = substr(kv, 2, RLENGTH - 2)
				v = substr(kv, RLENGTH + 1)
				if (v ~ /^:"/)
					ex[k] = "string"
				else if (v ~ /^:[0-9]/)
					ex[k] = "number"
				emit(nm[1] "." k, "=" k, only)
			}
		}
	}
	END {
		for (i = 1; i <= nout; i++) {
			split(out[i], f, "\t")
			if (f[3] ~ /^=/)
				f[3] = (substr(f[3], 2) in ex) ? ex[substr(f[3], 2)] : "unknown"
			print f[1] "\t" f[2] "\t" f[3]
		}
		print "#types\t" substr(types, 2)
	}' "$1"
}

# The doc names no list of "connection-scoped objects": these are the
# records about one socket (or one segment's tuple), which its prose gives
# the common fields (a reset's `id`, `pid` and `comm`; the tw_* records'
# `pid`, `comm`, `uid` and `cgroup_id`). lost, alert and stats have their
# own tables (an alert its own `netns`, `pid`, `comm`).
CONN_SCOPED="conn time_wait state retransmit synack_retransmit reset tw_start tw_end tw_fin"

# The doc's one range, `wave.fin_wait1_ms` … `wave.last_ack_ms`, spelt out
# from its prose ("time spent in FIN-WAIT-1, FIN-WAIT-2, CLOSING,
# CLOSE-WAIT ... and LAST-ACK"): it is only expanded while its ends are
# these, the first and the last.
WAVE_RANGE="wave.fin_wait1_ms wave.fin_wait2_ms wave.closing_ms wave.close_wait_ms wave.last_ack_ms"

# Fields the doc gives in prose only, "TYPE PATH DOCTYPE", each with its
# sentence. The last word of PATH must still appear in backticks in the doc.
PROSE_FIELDS=$(cat <<'EOF'
# "`state` is the tw sock's substate (`TIME-WAIT` or `FIN-WAIT-2`)"
tw_start	state	string
tw_end	state	string
# "`tw_start` has `expires_ms`, the time left on the timer (null when the kernel's HZ is unknown)"
tw_start	expires_ms	number or null
# "`tw_end` has `reason`: `"expired"`, or `"cancelled"` ..."
tw_end	reason	string
# "`tw_fin` ...: `seq` is its sequence number, and `state` the substate it found"
tw_fin	seq	number
tw_fin	state	string
# stats `handshake_ms.client`, `handshake_ms.server`: "`samples` (a count),
# `p50`, `p90`, `p99`, `max`, 3 decimals; the four times are null when `samples` is 0"
stats	handshake_ms.client.samples	number
stats	handshake_ms.client.p50	number or null
stats	handshake_ms.client.p90	number or null
stats	handshake_ms.client.p99	number or null
stats	handshake_ms.client.max	number or null
stats	handshake_ms.server.samples	number
stats	handshake_ms.server.p50	number or null
stats	handshake_ms.server.p90	number or null
stats	handshake_ms.server.p99	number or null
stats	handshake_ms.server.max	number or null
# stats `states`: "ss state name → sockets ...: `ESTAB`, `SYN-SENT`, `SYN-RECV` ...,
# `FIN-WAIT-1`, `FIN-WAIT-2`, `TIME-WAIT`, `CLOSE`, `CLOSE-WAIT`, `LAST-ACK`,
# `LISTEN`, `CLOSING`; always all eleven keys"
stats	states.ESTAB	number
stats	states.SYN-SENT	number
stats	states.SYN-RECV	number
stats	states.FIN-WAIT-1	number
stats	states.FIN-WAIT-2	number
stats	states.TIME-WAIT	number
stats	states.CLOSE	number
stats	states.CLOSE-WAIT	number
stats	states.LAST-ACK	number
stats	states.LISTEN	number
stats	states.CLOSING	number
EOF
)
# and stats `alerts`: "each an object with the fields of an `alert` record
# (without `type`...)": alerts[] and alerts[].X for every alert field X but
# type, made below from the alert's. Which of those keys an element has
# depends on the kinds active while top ran (and `duration_s` never, its
# `state` being "start"): schema/complete does not ask for them; the
# alert records themselves are.

# Documented keys schema/complete does not ask for, "TYPE PATH", each
# with why: what makes them is not something a test can bring about.
RARE_FIELDS=(
	# only when a ->CLOSE's own event did not reach the ring (a recursion miss)
	"state destroy"
)

# The closed enumerations, "TYPE<TAB>PATH<TAB>SOURCE...": the string
# values a key may take, read from the doc. A SOURCE is
#   q:SECTION:KEY  the `"value"` spans of KEY's table row in SECTION (a
#                  record type, whose "## `TYPE`" heading starts its
#                  section, or @conn for the common fields); a span right
#                  after another key's name (with `how` `"timeout"`) is
#                  that key's value, not this one's
#   u:SECTION:KEY  that row's upper-case spans (ss state names: `ESTAB`)
#   pq:TEXT, pu:TEXT  the same of the paragraph that holds TEXT
#   zeek           the conn_state table's names, less its "never" row
#   letters:TEXT   the single-letter spans of the paragraph that holds TEXT;
#                  the value is then checked letter by letter
# Sources (tab-separated) add up. The doc's open sets are left out: `reason` of a reset
# (the kernel's names), `tcp_flags`, `comm`, addresses, and figures.
ENUMS=$(cat <<'EOF'
@conn	family	q:@conn:family
conn	role	q:conn:role
conn	handshake.result	q:conn:handshake.result
conn	handshake.ms_source	q:conn:handshake.ms_source
conn	time_wait.state	q:conn:time_wait.state
conn	time_wait.source	q:conn:time_wait.source
conn	close.initiator	q:conn:close.initiator
conn	close.how	q:conn:close.how
conn	close.rst_cause	q:conn:close.rst_cause
conn	conn_state	zeek
conn	history	letters:History letters used:
conn	last_state	u:state:old_state
time_wait	role	q:conn:role
time_wait	state	q:time_wait:state
time_wait	exit	q:time_wait:exit
time_wait	killed_by	q:time_wait:killed_by
state	old_state	u:state:old_state
state	new_state	u:state:new_state
retransmit	state	u:state:old_state
synack_retransmit	state	u:state:old_state
reset	direction	q:reset:direction
reset	state	q:reset:state	u:state:old_state
tw_start	state	pu:is the tw sock's substate
tw_end	state	pu:is the tw sock's substate
tw_fin	state	pu:is the tw sock's substate
tw_end	reason	pq:`tw_end` has `reason`
lost	reason	q:lost:reason
alert	kind	q:alert:kind
alert	state	q:alert:state
alert	side	q:alert:side
stats	alerts[].kind	q:alert:kind
stats	alerts[].state	q:alert:state
stats	alerts[].side	q:alert:side
stats	time_wait[].side	q:stats:side
EOF
)

# doc_values DOC SOURCE: the values SOURCE (see ENUMS) gives, one a line
doc_values()
{
	awk -v src="$2" '
	function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
	# the values in S: "q" the `"v"` spans, "u" the upper-case ones, "l"
	# the single letters
	function spans(s, kind,   t) {
		if (kind == "q")
			while (match(s, /`[a-z_.]+` `"[^"`]*"`/))
				s = substr(s, 1, RSTART - 1) substr(s, RSTART + RLENGTH)
		while (match(s, /`[^`]+`/)) {
			t = substr(s, RSTART + 1, RLENGTH - 2)
			s = substr(s, RSTART + RLENGTH)
			if (kind == "q" && t ~ /^"[^"]*"$/)
				val[substr(t, 2, length(t) - 2)] = 1
			else if (kind == "u" && t ~ /^[A-Z][A-Z0-9-]*$/)
				val[t] = 1
			else if (kind == "l" && t ~ /^[A-Za-z]$/)
				val[t] = 1
		}
	}
	BEGIN {
		split(src, a, ":")
		mode = a[1]
		if (mode == "q" || mode == "u") {
			sect = a[2]
			key = a[3]
		} else if (mode != "zeek") {
			text = substr(src, length(mode) + 2)
		}
	}
	/^## / {
		insect = (sect == "@conn") ? ($0 ~ /Common fields of connection-scoped/) : \
			(index($0, "## `" sect "`") == 1)
	}
	(mode == "q" || mode == "u") && insect && /^\|/ {
		split($0, c, "|")
		cell = c[2]
		while (match(cell, /`[^`]+`/)) {
			if (substr(cell, RSTART + 1, RLENGTH - 2) == key) {
				spans(substr($0, length(c[2]) + 3), mode)
				break
			}
			cell = substr(cell, RSTART + RLENGTH)
		}
	}
	mode == "zeek" && /^\|/ {
		split($0, c, "|")
		if (trim(c[2]) == "conn_state") { zt = 1; next }
		if (zt && trim(c[3]) !~ /^never/)
			spans(c[2], "u")
	}
	mode == "zeek" && !/^\|/ { zt = 0 }
	mode ~ /^(pq|pu|letters)$/ {
		if ($0 == "") {
			if (index(para, text))
				spans(para, mode == "pq" ? "q" : mode == "pu" ? "u" : "l")
			para = ""
		} else {
			para = para " " $0
		}
	}
	END {
		if (para != "" && index(para, text))
			spans(para, mode == "pq" ? "q" : mode == "pu" ? "u" : "l")
		for (v in val)
			print v
	}' "$1"
}

# enum_allowed DOC: "TYPE<TAB>PATH<TAB>MODE<TAB>VALUES" for every entry of
# ENUMS (@conn spelt out; MODE "letters" or "set"; VALUES space-separated,
# "" when the doc gave none)
enum_allowed()
{
	local doc=$1 t p srcs s mode vals
	while IFS=$'\t' read -r t p srcs; do
		mode="set"
		vals=""
		IFS=$'\t' read -r -a srcs <<<"$srcs"
		for s in "${srcs[@]}"; do
			[[ $s == letters:* ]] && mode=letters
			vals+=" $(doc_values "$doc" "$s" | sort | tr '\n' ' ')"
		done
		vals=$(tr -s ' ' <<<"$vals" | sed 's/^ //; s/ $//')
		if [ "$t" = @conn ]; then
			for t in $CONN_SCOPED; do printf '%s\t%s\t%s\t%s\n' "$t" "$p" "$mode" "$vals"; done
		else
			printf '%s\t%s\t%s\t%s\n' "$t" "$p" "$mode" "$vals"
		fi
	done < <(grep -v '^#' <<<"$ENUMS")
}

# enums_documented DOC SCHEMA OUT: enum_allowed's lines in OUT. Fails (with
# its complaints on stdout) if an entry of ENUMS is no documented string key
# in SCHEMA (schema_documented's) or the doc gave it no values.
enums_documented()
{
	local doc=$1 schema=$2 out=$3 bad=() t p mode vals
	enum_allowed "$doc" >"$out"
	while IFS=$'\t' read -r t p mode vals; do
		[ -n "$vals" ] || bad+=("enumeration $t $p: docs/schema.md gives it no values")
		awk -F '\t' -v t="$t" -v p="$p" '$1 == t && $2 == p && $3 ~ /string/ { f = 1 }
			END { exit !f }' "$schema" || bad+=("enumeration $t $p is no documented string key")
	done <"$out"
	[ "${#bad[@]}" = 0 ] && return 0
	printf '%s\n' "${bad[@]}"
	return 1
}

# schema_documented DOC OUT: the documented "TYPE<TAB>PATH<TAB>DOCTYPE",
# sorted and unique, in OUT; the record types in SCHEMA_TYPES. Fails (with
# its complaints on stdout) if the doc could not be read as expected.
schema_documented()
{
	local doc=$1 out=$2 raw=$SF_TMP/schema.raw bad=() t p ty
	schema_tables "$doc" >"$raw"
	SCHEMA_TYPES=$(awk -F '\t' '$1 == "#types" { print $2 }' "$raw")
	[ -n "$SCHEMA_TYPES" ] || bad+=("no record types in the \`type\` row")
	for t in $CONN_SCOPED; do
		[[ " $SCHEMA_TYPES " == *" $t "* ]] || bad+=("connection-scoped $t is no record type")
	done
	# the range, while its ends are the ones spelt out above
	while IFS=$'\t' read -r t p ty; do
		# shellcheck disable=SC2086
		set -- $WAVE_RANGE
		if [ "$p" = "RANGE $1 ${*: -1}" ]; then
			for p in $WAVE_RANGE; do printf '%s\t%s\t%s\n' "$t" "$p" "$ty"; done
		else
			bad+=("cannot expand $t's \"$p\"")
		fi
	done < <(awk -F '\t' '$2 ~ /^RANGE /' "$raw") >"$SF_TMP/schema.range"
	# prose fields still named in the doc
	while IFS=$'\t' read -r t p ty; do
		grep -qF "\`${p##*.}\`" "$doc" || bad+=("prose field $t $p is no longer in the doc")
	done < <(grep -v '^#' <<<"$PROSE_FIELDS")
	{
		awk -F '\t' '$1 != "#types" && $2 !~ /^RANGE /' "$raw"
		cat "$SF_TMP/schema.range"
		grep -v '^#' <<<"$PROSE_FIELDS"
	} | awk -F '\t' -v types="$SCHEMA_TYPES" -v conn="$CONN_SCOPED" '
		BEGIN { split(types, all, " "); split(conn, cs, " ") }
		$1 == "*" { for (i in all) print all[i] "\t" $2 "\t" $3; next }
		$1 == "@conn" { for (i in cs) print cs[i] "\t" $2 "\t" $3; next }
		{ print }
		# stats alerts[]: the fields of an alert record, without type
		$1 == "alert" { print "stats\talerts[]." $2 "\t" $3 }
		END { print "stats\talerts[]\tobject" }' | sort -u >"$SF_TMP/schema.fields"
	# a dotted name documents its parents as objects (handshake.ms: handshake)
	awk -F '\t' '
		{ doc[$1 "\t" $2] = 1; key[NR] = $1 "\t" $2; print }
		END {
			for (i = 1; i <= NR; i++) {
				split(key[i], f, "\t")
				p = f[2]
				while (sub(/\.[^.]*$/, "", p))
					if (!((f[1] "\t" p) in doc)) {
						doc[f[1] "\t" p] = 1
						print f[1] "\t" p "\tobject"
					}
			}
		}' "$SF_TMP/schema.fields" | sort -u >"$out"
	# one documented type per key
	while IFS= read -r p; do
		bad+=("$p is documented with two types: $(awk -F '\t' -v k="$p" \
			'$1 "\t" $2 == k { printf "\"%s\" ", $3 }' "$out")")
	done < <(cut -f 1,2 "$out" | uniq -d)
	# every documented type word is a JSON type
	while IFS=$'\t' read -r t p ty; do
		bad+=("$t $p: documented type \"$ty\" is not a JSON type")
	done < <(awk -F '\t' '{
		n = split($3, w, / or /)
		for (i = 1; i <= n; i++)
			if (w[i] !~ /^(string|number|boolean|null|object|array|array of strings)$/) {
				print
				break
			}
	}' "$out")
	[ "${#bad[@]}" = 0 ] && return 0
	printf '%s\n' "${bad[@]}"
	return 1
}

# ---- what synfin printed ----------------------------------------------------------

# observed FILE...: "TYPE<TAB>PATH<TAB>JSONTYPE<TAB>COUNT<TAB>FILE<TAB>EXAMPLE"
# for every key path of every record (PATH "" counts the records of TYPE);
# objects are walked, an array's elements are PATH[]; EXAMPLE is the first
# value seen (its JSON cut to 60 bytes), in FILE. The files are read at once.
observed()
{
	local f pids=() pid
	for f in "$@"; do
		jq -n -r '
		def leaves($p): [$p, type, .],
			(if type == "object" then
				to_entries[] | .key as $k | .value |
				leaves(if $p == "" then $k else $p + "." + $k end)
			elif type == "array" then .[] | leaves($p + "[]")
			else empty end);
		inputs | (input_filename | sub(".*/"; "")) as $f |
		(if type == "object" and (.type | type) == "string" then .type else "(no type)" end) as $t |
		leaves("") |
		"\($t)\t\(.[0])\t\(.[1])\t1\t\($f)\t\(if .[0] == "" then "" else .[2] | tojson | .[0:60] end)"' \
			"$f" | observed_merge >"$f.paths" &
		pids+=("$!")
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	for f in "$@"; do cat "$f.paths"; done | observed_merge
}

# observed_merge: observed's lines, one per TYPE, PATH and JSONTYPE: the
# counts added up, the first FILE and EXAMPLE kept
observed_merge()
{
	awk -F '\t' '{
		k = $1 "\t" $2 "\t" $3
		if (!(k in n)) {
			first[k] = $5 "\t" $6
			order[++m] = k
		}
		n[k] += $4
	}
	END { for (i = 1; i <= m; i++) print order[i] "\t" n[order[i]] "\t" first[order[i]] }'
}

# observed_values ALLOWED FILE...: "TYPE<TAB>PATH<TAB>VALUE<TAB>COUNT<TAB>FILE<TAB>"
# for every string value at a key ALLOWED (enum_allowed's) lists, in the
# files; FILE is the first it was seen in (merged as observed's lines are,
# the value in the JSONTYPE column, no example)
observed_values()
{
	local allowed=$1 paths
	shift
	paths=$(cut -f 1,2 "$allowed" | jq -R -s 'split("\n") | map(select(. != "") | split("\t")) |
		group_by(.[0]) | map({key: .[0][0], value: map(.[1])}) | from_entries')
	jq -n -r --argjson paths "$paths" '
		def at($keys):
			if ($keys | length) == 0 then .
			elif ($keys[0] | endswith("[]")) then
				(.[$keys[0][:-2]]? // [] | .[]? | at($keys[1:]))
			else (.[$keys[0]]? | at($keys[1:])) end;
		inputs | (input_filename | sub(".*/"; "")) as $f | select(type == "object") |
		(.type | strings) as $t | ($paths[$t] // [])[] as $p |
		at($p | split(".")) | strings | gsub("\t"; " ") as $v |
		"\($t)\t\($p)\t\($v)\t1\t\($f)\t"' "$@" | observed_merge
}

# ---- scenarios --------------------------------------------------------------------

sf_setup_ns "$T"
sf_require_tool "$T" "$SYNFLOOD"
SCHEMA=$SF_TMP/schema.tsv
if ! schema_documented "$DOC" "$SCHEMA" >"$SF_TMP/schema.bad"; then
	while IFS= read -r l; do sf_fail "$T/doc" "$l"; done <"$SF_TMP/schema.bad"
	sf_done
fi
ENUMS_TSV=$SF_TMP/enums.tsv
if ! enums_documented "$DOC" "$SCHEMA" "$ENUMS_TSV" >"$SF_TMP/enums.bad"; then
	while IFS= read -r l; do sf_fail "$T/doc" "$l"; done <"$SF_TMP/enums.bad"
	sf_done
fi
sf_pass "$T/doc"
echo "  docs/schema.md: $(grep -c . "$SCHEMA") key paths of $(wc -w <<<"$SCHEMA_TYPES") record types," \
	"$(grep -c . "$ENUMS_TSV") enumerations"

# the namespaces' own settings, gone with them: SYNs given up after ~3 s
# (client), FIN_WAIT2 orphans' tw socks gone after 1 s (client), SYN-ACKs
# retried once (server, so the flood's half-open entries go in ~3 s); the
# flood's sources routed back to the client namespace (where its SYN-ACKs
# die: nothing forwards them); the timed-out client's address blackholed
if ! sf_in "$SF_NS_C" sysctl -qw net.ipv4.tcp_syn_retries=1 net.ipv4.tcp_fin_timeout=1 ||
	! sf_in "$SF_NS_S" sysctl -qw net.ipv4.tcp_synack_retries=1 ||
	! ip -n "$SF_NS_C" addr add "$ADDR_TMO/24" dev vc ||
	! ip -n "$SF_NS_C" addr add "$ADDR_STALL/24" dev vc ||
	! ip -n "$SF_NS_S" route add blackhole "$ADDR_TMO/32" ||
	! ip -n "$SF_NS_S" route add 10.214.0.0/16 via "$SF_C4" dev vs; then
	sf_fail "$T" "cannot set up the namespaces"
	sf_done
fi

declare -A SRV=() CLI=() SYNFINS=()

# srv NAME PORT [ARGS...]: a tcpdrive server on $SF_S4:PORT (--bind ADDR
# in ARGS overrides it), output in $SF_TMP/NAME.srv; bounded wait until it
# listens; its pid in SRV[NAME]
srv()
{
	local name=$1 port=$2
	shift 2
	sf_bg "$SF_TMP/$name.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--ready-file "$SF_TMP/$name.ready" --timeout-ms 40000 "$@"
	SRV[$name]=$SF_LAST_PID
	sf_wait_file "$SF_TMP/$name.ready" || { sf_fail "$T/$name" "server did not listen"; sf_done; }
}

# cli NAME ADDR PORT [ARGS...]: a tcpdrive client in the background, output in
# $SF_TMP/NAME.cli, its pid in CLI[NAME]
cli()
{
	local name=$1 addr=$2 port=$3
	shift 3
	sf_bg "$SF_TMP/$name.cli" "$SF_NS_C" "$TCPDRIVE" client --connect "$addr" --port "$port" \
		--timeout-ms 30000 "$@"
	CLI[$name]=$SF_LAST_PID
}

# seeded: a connection open before synfin starts, closed after
srv seeded 5010 --accept 1 --wait-eof --send 100
cli seeded "$SF_S4" 5010 --recv 100 --close-first --ready-file "$SF_TMP/seeded.cready" \
	--hold-until-file "$SF_TMP/seeded.release"
sf_wait_file "$SF_TMP/seeded.cready" || { sf_fail "$T/seeded" "client did not connect"; sf_done; }

# the five instances, at once
for inst in dflt events lost classic; do
	case $inst in
	dflt) args=("${ALERTS[@]}") ;;
	events) args=(--events "${ALERTS[@]}") ;;
	lost) args=(--events --ringbuf-mb 1 --no-alerts) ;;
	classic) args=(--classic "${ALERTS[@]}") ;;
	esac
	"$SYNFIN" -j "${FILTER[@]}" "${args[@]}" >"$SF_TMP/$inst.out" 2>"$SF_TMP/$inst.err" &
	SF_PIDS+=("$!")
	SYNFINS[$inst]=$!
done
"$SYNFIN" top -j "${FILTER[@]}" "${ALERTS[@]}" >"$SF_TMP/top.out" 2>"$SF_TMP/top.err" </dev/null &
SF_PIDS+=("$!")
SYNFINS[top]=$!
for inst in dflt events lost classic top; do
	sf_wait_ready "${SYNFINS[$inst]}" "$SF_TMP/$inst.err" "synfin $inst" ||
		{ sf_fail "$T/start" "synfin $inst did not start"; sf_done; }
done
T0=$(date +%s)

touch "$SF_TMP/seeded.release"

# leak: 8 connections whose server never closes (CLOSE_WAIT: the
# close_wait_leak alert, top's close_wait rows); their clients' orphans
# wait in FIN_WAIT2 tw socks that expire after 1 s (time_wait records,
# tw_end expired). The server forks after its accepts, and its child
# holds the sockets too (the alert's also_held_by). Both are killed once
# the alert started: the sockets' FINs then meet no socket (resets both
# ways).
srv leak 5400 --accept 8 --no-close --close-first --comm sfleak --share-comm sfleakkid \
	--hold-listener-file "$SF_TMP/never"
cli leak "$SF_S4" 5400 --repeat 8 --close-first

# flood: 1500 spoofed SYNs at 500/s to a listener that never accepts (the
# syn_flood alert, synack_retransmit records, top's listeners row)
srv flood 5100 --no-accept --backlog 8 --comm sfflood --hold-listener-file "$SF_TMP/flood.stop"
sf_bg "$SF_TMP/flood.out" "$SF_NS_C" "$SYNFLOOD" --dst "$SF_S4" --port 5100 --count 1500 --rate 500 \
	--src-net 10.214.0.0/16 --timeout-s 10
FLOOD=$SF_LAST_PID

# timeout: SYNs to a server whose answers cannot route back (retransmit
# records of SYNs, handshake timeout)
cli timeout "$SF_S4" 5005 --bind "$ADDR_TMO"

# burst: 1200 connections at 300/s, the client closing first: 1200
# TIME_WAIT socks toward one destination (the timewait_buildup alert, top's
# client-side time_wait row, tw_start and tw_fin records). Instance lost,
# stopped meanwhile with 1 MiB of ring, loses some of their events.
kill -STOP "${SYNFINS[lost]}"
srv burst 5300 --accept 1200 --backlog 128 --wait-eof
cli burst "$SF_S4" 5300 --repeat 1200 --rate 300 --close-first

# stall: data sent, then the server's ACKs blackholed: retransmitted until
# TCP_USER_TIMEOUT (1.5 s) ends it (retransmit records of data)
srv stall 5007 --accept 1 --wait-eof --timeout-ms 8000
cli stall "$SF_S4" 5007 --bind "$ADDR_STALL" --send 50000 --user-timeout-ms 1500 --close-first \
	--send-after-file "$SF_TMP/stall.go"
sf_wait_accepted "$SF_TMP/stall.srv" 1
ip -n "$SF_NS_S" route add blackhole "$ADDR_STALL/32" || sf_fail "$T/stall" "cannot blackhole $ADDR_STALL"
touch "$SF_TMP/stall.go"

# srvtw: 20 connections whose server closes first: 20 TIME_WAIT socks
# on its listener, for the minute this test lasts (top's server-side
# time_wait rows)
srv srvtw 5008 --accept 20 --close-first --send 100
cli srvtw "$SF_S4" 5008 --repeat 20 --recv 100 --wait-eof

# one at a time, quick ones: refused (reset records), linger-0 (rst_sent),
# IPv6, tw_fin, a server that closes first and whose tw sock a new connection from
# the same port reuses (time_wait record killed, tw_end cancelled). That port
# is outside the ephemeral range, where the burst's TIME_WAIT socks would
# keep it from being bound again.
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5999 --timeout-ms 5000 \
	>"$SF_TMP/refused.cli" 2>&1
srv linger 5003 --accept 1 --wait-eof --send 100
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5003 --send 100 --close-first \
	--linger0 --timeout-ms 5000 >"$SF_TMP/linger.cli" 2>&1
srv v6 5006 --bind "$SF_S6" --accept 1 --wait-eof --send 100
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S6" --port 5006 --recv 100 --close-first \
	--timeout-ms 5000 >"$SF_TMP/v6.cli" 2>&1
# twfin: the server closes 300 ms after the client: its FIN finds the
# client's orphan as a FIN_WAIT2 tw sock (tw_fin)
srv twfin 5004 --accept 1 --wait-eof --delay-close-ms 300
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5004 --close-first \
	--timeout-ms 5000 >"$SF_TMP/twfin.cli" 2>&1
srv reuse 5002 --accept 2 --close-first --send 100
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5002 --recv 100 --wait-eof \
	--lport 20002 --timeout-ms 5000 >"$SF_TMP/reuse.cli" 2>&1
sf_reconnect_same_port "$T/reuse" 5002 20002 "${SRV[reuse]}"
for f in refused linger v6 twfin; do
	echo "  $f: $(tail -n 1 "$SF_TMP/$f.cli")"
done

# bounded waits for what the detectors and the slow scenarios give
# (all in dflt's output)
wait_alert() { sf_wait_alert "$1" "$SF_TMP/dflt.out" "$2"; }
wait_alert 10 '.kind == "close_wait_leak" and .state == "start"'
LEAK_KID=$(sed -n 's/^result=shared pid=\([0-9]*\)$/\1/p' "$SF_TMP/leak.srv")
kill -KILL "${SRV[leak]}" ${LEAK_KID:+"$LEAK_KID"}
{ sf_wait_pid "${SRV[leak]}" 5; } 2>/dev/null
sf_wait_pid "${CLI[burst]}" 10
kill -CONT "${SYNFINS[lost]}"
echo "  burst: $(tail -n 1 "$SF_TMP/burst.cli")"
wait_alert 5 '.kind == "timewait_buildup" and .state == "start"'
sf_wait_pid "$FLOOD" 10
echo "  flood: $(cat "$SF_TMP/flood.out")"
wait_alert 10 '.kind == "close_wait_leak" and .state == "end"'
wait_alert 12 '.kind == "syn_flood" and .state == "end"'
for c in timeout stall srvtw; do
	sf_wait_pid "${CLI[$c]}" 10
	echo "  $c: $(tail -n 1 "$SF_TMP/$c.cli")"
done
touch "$SF_TMP/flood.stop"
sleep 1.5	# a last in-band loss report and a last stats record
for inst in dflt events lost classic; do
	kill -INT "${SYNFINS[$inst]}"
done
kill -INT "${SYNFINS[top]}"
for inst in dflt events lost classic top; do
	sf_wait_pid "${SYNFINS[$inst]}" 10
	rc=$?
	sf_check "$T/exit/$inst" "synfin $inst exited $rc: $(tail -c 300 "$SF_TMP/$inst.err")" [ "$rc" = 0 ]
	sf_check "$T/json-lines/$inst" "$inst: a line is not one JSON object" \
		sf_json_lines "$SF_TMP/$inst.out"
done
echo "  traffic and synfin: $(( $(date +%s) - T0 )) s; records: $(for inst in dflt events lost classic top; do
	printf '%s %s ' "$inst" "$(grep -c . "$SF_TMP/$inst.out")"; done)"

# ---- the checks -------------------------------------------------------------------

OBS=$SF_TMP/observed.tsv
observed "$SF_TMP"/{dflt,events,lost,classic,top}.out >"$OBS"
# what came, per type
awk -F '\t' '$2 == "" { n[$1] += $4 } END { for (t in n) printf "%s=%d ", t, n[t]; print "" }' \
	"$OBS" | sed 's/^/  records by type: /'

# one line per finding: "CHECK<TAB>TYPE<TAB>message"; "seen<TAB>TYPE<TAB>N"
# for every record type that came (N records)
awk -F '\t' -v rare="$(printf '%s\n' "${RARE_FIELDS[@]}")" '
	BEGIN {
		n = split(rare, r, "\n")
		for (i = 1; i <= n; i++) {
			sub(/ /, "\t", r[i])
			skip[r[i]] = 1
		}
	}
	FNR == NR {
		doc[$1 "\t" $2] = $3
		order[++nd] = $1 "\t" $2
		next
	}
	$2 == "" {
		seen[$1] = $4
		next
	}
	{
		k = $1 "\t" $2
		found[k] = 1
		what = $3 " (" $4 " time" ($4 == 1 ? "" : "s") ", e.g. " $6 " in " $5 ")"
		if (!(k in doc)) {
			print "documented\t" $1 "\tkey " $2 ": found " what ", not in docs/schema.md"
			next
		}
		n = split(doc[k], w, / or /)
		ok = 0
		for (i = 1; i <= n; i++)
			if (w[i] == $3 || (w[i] == "array of strings" && $3 == "array"))
				ok = 1
		if (!ok)
			print "types\t" $1 "\tkey " $2 ": found " what ", docs/schema.md says " doc[k]
	}
	END {
		for (t in seen)
			print "seen\t" t "\t" seen[t]
		for (i = 1; i <= nd; i++) {
			split(order[i], f, "\t")
			# stats alerts[]: see PROSE_FIELDS
			if (f[1] == "stats" && index(f[2], "alerts[].") == 1)
				continue
			if (order[i] in skip)
				continue
			if ((f[1] in seen) && !(order[i] in found))
				print "complete\t" f[1] "\tkey " f[2] " (" doc[order[i]] ") never appeared in " \
					seen[f[1]] " " f[1] " record" (seen[f[1]] == 1 ? "" : "s")
		}
	}' "$SCHEMA" "$OBS" >"$SF_TMP/findings"

# values: a string at an enumerated key that the doc does not give it (a
# history letter by letter); and an alert's fired threshold that is none
# of its record's thresholds
observed_values "$ENUMS_TSV" "$SF_TMP"/{dflt,events,lost,classic,top}.out >"$SF_TMP/values.tsv"
awk -F '\t' '
	FNR == NR {
		k = $1 "\t" $2
		mode[k] = $3
		list[k] = $4
		n = split($4, v, " ")
		for (i = 1; i <= n; i++)
			ok[k "\t" v[i]] = 1
		next
	}
	{
		k = $1 "\t" $2
		bad = 0
		if (mode[k] == "letters") {
			for (i = 1; i <= length($3); i++)
				if (!((k "\t" substr($3, i, 1)) in ok))
					bad = 1
		} else if (!((k "\t" $3) in ok)) {
			bad = 1
		}
		if (bad)
			print "values\t" $1 "\tkey " $2 ": found \"" $3 "\" (" $4 " time" ($4 == 1 ? "" : "s") \
				" in " $5 "), docs/schema.md gives " (mode[k] == "letters" ? "the letters " : "") list[k]
	}' "$ENUMS_TSV" "$SF_TMP/values.tsv" >>"$SF_TMP/findings"
jq -r '
	def unfired($t; $key): . as $a | .fired[]? | select(. as $f | $a.thresholds | has($f) | not) |
		"values\t\($t)\tkey \($key): \"\(.)\" is none of its record'"'"'s thresholds (\($a.thresholds | keys | join(", ")))";
	if .type == "alert" then unfired("alert"; "fired[]")
	elif .type == "stats" then (.alerts[]? | unfired("stats"; "alerts[].fired[]"))
	else empty end' "$SF_TMP"/{dflt,top}.out | sort | uniq -c |
	awk '{ n = $1; sub(/^ *[0-9]+ /, ""); print $0 " (" n " time" (n == 1 ? "" : "s") ")" }' \
	>>"$SF_TMP/findings"
awk -F '\t' '{ n[$1] += $4 } END { for (t in n) printf "%s %d, ", t, n[t]; print "" }' \
	"$SF_TMP/values.tsv" | sed 's/^/  enumerated values seen, by type: /; s/, $//'

# both sides of top's TIME_WAIT rows came, the server's of srvtw's
# listener, which closed before a walk could see it; and the last stats
# record has no row that makes srvtw's peers destinations of client-side
# groups (a walk in the few ms between a server's tw sock's birth and its
# record's read groups it as a client's for that interval: documented)
# shellcheck disable=SC2317 # called through sf_check
tw_row() { jq -n -e --arg side "$1" --argjson port "$2" 'any(inputs; .type == "stats" and
	any(.time_wait[]?; .side == $side and .count > 0 and ($port == 0 or .port == $port)))' \
	"$SF_TMP/top.out" >/dev/null; }
# shellcheck disable=SC2317 # called through sf_check
no_client_row_to() { jq -n -e --arg a "$1" '[inputs | select(.type == "stats")] |
	length > 0 and (last | all(.time_wait[]?; .side != "client" or .addr != $a))' \
	"$SF_TMP/top.out" >/dev/null; }
sf_check "$T/stats_time_wait/client" "no stats record had a client-side time_wait row" tw_row client 0
sf_check "$T/stats_time_wait/server" "no stats record had a server-side time_wait row of port 5008" \
	tw_row server 5008
peer_rows=$(jq -c -n --arg a "$SF_C4" '[inputs | select(.type == "stats")] | last | .time_wait[]? |
	select(.side == "client" and .addr == $a)' "$SF_TMP/top.out" | head -n 3 | tr '\n' ' ')
sf_check "$T/stats_time_wait/no_peers" "srvtw's peers were taken for destinations: $peer_rows" \
	no_client_row_to "$SF_C4"

# finding CHECK TYPE: the findings' messages of CHECK for TYPE, one a line
finding() { awk -F '\t' -v c="$1" -v t="$2" '$1 == c && $2 == t { print $3 }' "$SF_TMP/findings"; }

for t in $SCHEMA_TYPES; do
	[ -n "$(finding seen "$t")" ] || sf_fail "$T/coverage/$t" "no $t record came"
done
mapfile -t SEEN < <(awk -F '\t' '$1 == "seen" { print $2 }' "$SF_TMP/findings" | sort)
for t in "${SEEN[@]}"; do
	[[ " $SCHEMA_TYPES " == *" $t "* ]] ||
		sf_fail "$T/coverage/$t" "record type \"$t\" is not in docs/schema.md"
	for check in documented types complete values; do
		msgs=$(finding "$check" "$t")
		if [ -z "$msgs" ]; then
			sf_pass "$T/$check/$t"
			continue
		fi
		while IFS= read -r msg; do
			sf_fail "$T/$check/$t" "$msg"
		done <<<"$msgs"
	done
done
sf_done
