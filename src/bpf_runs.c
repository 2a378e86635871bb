// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bpf_runs.h"

bool bpf_runs_wait(void)
{
	return syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0;
}
