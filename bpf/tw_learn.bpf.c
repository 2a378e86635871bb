// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tw_timer_handler's address where /proc/kallsyms hides it: the function
 * of the timer a TIME_WAIT socket of synfin's own arms (src/tw_learn.c),
 * for the programs that follow tw socks, which load after it is gone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set once the client socket exists; 0 until then */
__u64 learn_cookie = 0;
__u16 learn_lport = 0;		/* host order, as skc_num */
__u16 learn_rport = 0;		/* network order, as skc_dport */
/* the answer: written once */
__u64 learned_fn = 0;

SEC("tp_btf/timer_start")
int BPF_PROG(learn_tw_timer, struct timer_list *timer)
{
	const struct inet_timewait_sock *tw;

	if (learned_fn || !learn_cookie)
		return 0;
	/* any timer on the host comes here, most not in a tw sock: the reads
	 * through the would-be tw sock may fault (they read 0 then), and a
	 * cookie alone could be a counter's value: the tuple and state too */
	tw = (const void *)timer - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
	if ((__u64)BPF_CORE_READ(tw, __tw_common.skc_cookie.counter) != learn_cookie ||
	    BPF_CORE_READ(tw, __tw_common.skc_num) != learn_lport ||
	    BPF_CORE_READ(tw, __tw_common.skc_dport) != learn_rport ||
	    BPF_CORE_READ(tw, __tw_common.skc_state) != TCP_TIME_WAIT)
		return 0;
	learned_fn = (__u64)timer->function;
	return 0;
}
