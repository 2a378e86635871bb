#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The manual page (docs/synfin.8) against the binary: groff formats it
# without a warning, its version is the binary's, and its OPTIONS are
# those of `synfin --help`, each with the same default. Needs no root.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=manpage
PAGE=$SF_ROOT/docs/synfin.8
if [ ! -x "$SYNFIN" ]; then
	sf_skip "$T" "$SYNFIN not built"
	sf_done
fi
if ! command -v groff >/dev/null; then
	sf_skip "$T" "groff is not installed (groff-base)"
	sf_done
fi

# -ww: every warning; -z: no output but the warnings
groff -ww -man -z "$PAGE" >"$SF_TMP/warn" 2>&1
sf_check "$T/groff" "groff: $(head -c 300 "$SF_TMP/warn" | tr '\n' '|')" \
	test ! -s "$SF_TMP/warn"

version=$("$SYNFIN" --version | awk '{ print $2 }')
sf_check "$T/version" "the page says '$(grep -m1 '^\.TH' "$PAGE")', the binary $version" \
	grep -q "^\.TH SYNFIN 8 [0-9-]* \"synfin $version\"" "$PAGE"

# option_defaults TAG LONGTAG: lines "OPTION DEFAULT" from text where an
# option's entry starts on a line indented by TAG spaces with "-" (or by
# LONGTAG with "--") and goes on, indented deeper than TAG, until the next
# entry or a line indented less. OPTION is the
# entry's long name (its short one where it has none); DEFAULT is the first
# number after "default", or "-".
option_defaults()
{
	awk -v tag="$1" -v longtag="$2" '
	function flush() {
		if (key == "") return
		d = "-"
		gsub(/ +/, " ", text)
		if (match(text, /default [0-9.]+/))
			d = substr(text, RSTART + 8, RLENGTH - 8)
		print key, d
		key = ""
	}
	{
		match($0, /^ */)
		indent = RLENGTH
		if ((indent == tag && substr($0, indent + 1, 1) == "-") ||
		    (indent == longtag && substr($0, indent + 1, 2) == "--")) {
			flush()
			n = split(substr($0, indent + 1), w, /[ ,]+/)
			key = w[1]
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^--[a-z]/) { key = w[i]; break }
			text = $0
		} else if (key != "" && indent > tag && $0 !~ /^ *$/) {
			text = text " " $0
		} else if (key != "" && $0 !~ /^ *$/) {
			flush()
		}
	}
	END { flush() }' | sort
}

# --help's option lines are indented by 2, by 6 where only a long name
# starts them; a man page's .TP tags by 7 when formatted (wide lines, so
# that no hyphenation splits a word)
"$SYNFIN" --help | option_defaults 2 6 >"$SF_TMP/help"
groff -man -Tascii -P-cbou -rLL=250n "$PAGE" 2>/dev/null |
	sed -n '/^OPTIONS/,/^[A-Z]/p' | option_defaults 7 7 >"$SF_TMP/page"

sf_check "$T/help_parsed" "only $(wc -l <"$SF_TMP/help") options read from --help" \
	test "$(wc -l <"$SF_TMP/help")" -ge 40
missing=$(join -v 1 <(cut -d' ' -f1 "$SF_TMP/help") <(cut -d' ' -f1 "$SF_TMP/page") | tr '\n' ' ')
sf_check "$T/options_in_page" "in --help, not in the page: $missing" test -z "$missing"
extra=$(join -v 2 <(cut -d' ' -f1 "$SF_TMP/help") <(cut -d' ' -f1 "$SF_TMP/page") | tr '\n' ' ')
sf_check "$T/options_in_help" "in the page, not in --help: $extra" test -z "$extra"
differ=$(join "$SF_TMP/help" "$SF_TMP/page" | awk '$2 != $3 { printf "%s %s/%s ", $1, $2, $3 }')
sf_check "$T/defaults" "defaults that differ (--help/page): $differ" test -z "$differ"

# every example in the page is a command line synfin accepts: the options
# are parsed before anything else, so a bad one exits 2 at once; as a
# user that is not root, a good one stops at the privilege check (exit 1).
# The paths they name are the host's: a writable file and this process's
# namespace take their places.
mkdir -p "$SF_TMP/out"
chmod 711 "$SF_TMP"
chmod 777 "$SF_TMP/out"
refused=
while read -r line; do
	words=${line//\/var\/log\/synfin.json/$SF_TMP/out/ex.json}
	words=${words//\/run\/netns\/blue//proc/self/ns/net}
	# shellcheck disable=SC2086 # the example's words
	set -- $words
	shift
	rc=0
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$SYNFIN" "$@" >/dev/null 2>"$SF_TMP/ex.err" </dev/null || rc=$?
	else
		"$SYNFIN" "$@" >/dev/null 2>"$SF_TMP/ex.err" </dev/null || rc=$?
	fi
	[ "$rc" = 2 ] && refused="${refused}[$line: $(head -n 1 "$SF_TMP/ex.err")] "
done < <(sed -n '/^\.SH EXAMPLES/,/^\.SH/{/^\.B synfin/{s/^\.B //;s/\\-/-/g;p}}' "$PAGE")
n=$(sed -n '/^\.SH EXAMPLES/,/^\.SH/p' "$PAGE" | grep -c '^\.B synfin')
sf_check "$T/examples" "examples refused as bad input: $refused" test -z "$refused"
sf_check "$T/examples_read" "$n examples read from the page" test "$n" -ge 5
sf_done
