#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The BPF object loads on the oldest kernel synfin targets (5.8): no atomic
# instruction that returns the old value (fetch-add, xchg, cmpxchg), which
# verifiers before 5.12 reject. A __sync_fetch_and_add whose result is
# used compiles to one; an unused result stays a plain add. And the
# benchmark's floor (bench/floor.bpf.c) sits on the hooks synfin uses, so
# it goes on saying what those hooks cost. Needs no root.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=bpf_object
OBJ=${BPF_OBJ:-$SF_ROOT/build/synfin.bpf.o}
FLOOR_OBJ=${FLOOR_OBJ:-$SF_ROOT/build/bench/floor.bpf.o}
OBJDUMP=$(command -v llvm-objdump)
if [ ! -r "$OBJ" ]; then
	sf_skip "$T" "$OBJ not built"
	sf_done
fi
if [ -z "$OBJDUMP" ]; then
	sf_skip "$T" "no llvm-objdump (make deps)"
	sf_done
fi
"$OBJDUMP" -d "$OBJ" >"$SF_TMP/dis" 2>"$SF_TMP/dis.err" ||
	{ sf_fail "$T" "llvm-objdump failed: $(head -c 300 "$SF_TMP/dis.err")"; sf_done; }
n=$(grep -c . "$SF_TMP/dis")
sf_check "$T/disassembled" "llvm-objdump gave $n lines" [ "$n" -gt 1000 ]
found=$(grep -E 'atomic_fetch|xchg' "$SF_TMP/dis" | head -n 3)
sf_check "$T/no-atomic-fetch" "instructions kernels before 5.12 reject: $found" [ -z "$found" ]

# hooks OBJ: the tp_btf and syscall tracepoints its programs attach to
# (the softirq pair only where the level cannot come from the stack, not
# on x86_64, which the floor stands for)
hooks()
{
	"$OBJDUMP" -h "$1" | awk '{print $2}' | grep -E '^(tp_btf|tracepoint/syscalls)/' |
		grep -v '/softirq_' | sort -u
}
if [ -r "$FLOOR_OBJ" ]; then
	want=$(hooks "$OBJ")
	have=$(hooks "$FLOOR_OBJ")
	sf_check "$T/floor-hooks" "bench floor vs synfin: $(diff <(echo "$have") <(echo "$want") | grep '^[<>]' | tr '\n' ' ')" \
		test -n "$want" -a "$want" = "$have"
else
	sf_skip "$T/floor-hooks" "$FLOOR_OBJ not built (make tools)"
fi
sf_done
