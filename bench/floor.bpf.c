// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The benchmark's floor: programs that return at once, on the hooks synfin's
 * default mode attaches (tp_btf, x86_64; bench/floor.c picks the set). What
 * the load loses to them is what running a program on those hooks costs
 * before any work is done: no design that uses them can do better.
 * Keep the list in step with the programs synfin attaches (bpftool prog
 * show while it runs; bench/run.sh prints them per variant).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* inet_sock_set_state alone: the hook every lifecycle tracer needs */
SEC("tp_btf/inet_sock_set_state")
int state(void *ctx) { return 0; }

/* the rest of synfin's hooks, its second copies included */
SEC("tp_btf/inet_sock_set_state")
int state_nested(void *ctx) { return 0; }

SEC("tp_btf/tcp_destroy_sock")
int destroy(void *ctx) { return 0; }

SEC("tp_btf/tcp_destroy_sock")
int destroy_nested(void *ctx) { return 0; }

SEC("tp_btf/tcp_retransmit_skb")
int retransmit(void *ctx) { return 0; }

SEC("tp_btf/tcp_retransmit_synack")
int retransmit_synack(void *ctx) { return 0; }

SEC("tp_btf/tcp_receive_reset")
int receive_reset(void *ctx) { return 0; }

SEC("tp_btf/tcp_send_reset")
int send_reset(void *ctx) { return 0; }

SEC("tp_btf/timer_start")
int timer_start(void *ctx) { return 0; }

SEC("tp_btf/timer_cancel")
int timer_cancel(void *ctx) { return 0; }

SEC("tp_btf/kfree_skb")
int kfree_skb(void *ctx) { return 0; }

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(void *ctx) { return 0; }

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "Dual BSD/GPL";
