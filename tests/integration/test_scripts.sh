#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Every shell script of the tree passes shellcheck (make deps installs it),
# sourced files followed (-x): in a clean tree a new finding does not hide
# among old ones. Needs no root. Each -x run reads lib.sh again (about
# 1.4 s a test script here): the files are checked on every CPU at once.
# timeout: 300
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=scripts
command -v shellcheck >/dev/null || { sf_skip "$T" "no shellcheck (make deps installs it)"; sf_done; }
cd "$SF_ROOT" || { sf_fail "$T" "cannot enter $SF_ROOT"; sf_done; }
mapfile -t files < <(git ls-files '*.sh' .ci/run 2>/dev/null)
[ "${#files[@]}" -gt 0 ] || mapfile -t files < <(find tests bench .ci -name '*.sh' -o -name run -path '.ci/*')
bad=()
# shellcheck disable=SC2016
printf '%s\0' "${files[@]}" |
	xargs -0 -r -P "$(nproc)" -n 1 sh -c 'shellcheck -x "$1" >/dev/null 2>&1 || echo "$1"' sh \
	>"$SF_TMP/sc.bad"
while read -r f; do
	shellcheck -x "$f" >"$SF_TMP/sc.out" 2>&1
	bad+=("$f: $(grep -m 1 -o 'SC[0-9]* ([a-z]*): .*' "$SF_TMP/sc.out")")
done <"$SF_TMP/sc.bad"
if [ "${#bad[@]}" = 0 ]; then
	echo "  ${#files[@]} scripts checked"
	sf_pass "$T/shellcheck"
else
	sf_fail "$T/shellcheck" "${#bad[@]} of ${#files[@]} scripts: $(printf '%s; ' "${bad[@]}")"
fi
sf_done
