#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The BPF object loads on the oldest kernel synfin targets (5.8): no atomic
# instruction that returns the old value (fetch-add, xchg, cmpxchg), which
# verifiers before 5.12 reject. A __sync_fetch_and_add whose result is
# used compiles to one; an unused result stays a plain add. Needs no root.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=bpf_object
OBJ=${BPF_OBJ:-$SF_ROOT/build/synfin.bpf.o}
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
sf_done
