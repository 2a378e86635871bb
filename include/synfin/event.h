/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* synfin kernel <-> user ABI: the one record type the BPF programs put on the
 * ring buffer, the counters they keep, and the limits both sides agree on.
 * Fixed-width types only, explicit padding, size pinned below.
 */
#ifndef SYNFIN_EVENT_H
#define SYNFIN_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SYNFIN_COMM_LEN 16
#define SYNFIN_ADDR_LEN 16

/* Address families as the kernel numbers them (AF_INET, AF_INET6). */
#define SYNFIN_AF_INET  2
#define SYNFIN_AF_INET6 10

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
#define SYNFIN_TCP_ESTABLISHED    1
#define SYNFIN_TCP_SYN_SENT       2
#define SYNFIN_TCP_SYN_RECV       3
#define SYNFIN_TCP_FIN_WAIT1      4
#define SYNFIN_TCP_FIN_WAIT2      5
#define SYNFIN_TCP_TIME_WAIT      6
#define SYNFIN_TCP_CLOSE          7
#define SYNFIN_TCP_CLOSE_WAIT     8
#define SYNFIN_TCP_LAST_ACK       9
#define SYNFIN_TCP_LISTEN         10
#define SYNFIN_TCP_CLOSING        11
#define SYNFIN_TCP_NEW_SYN_RECV   12
#define SYNFIN_TCP_BOUND_INACTIVE 13
#define SYNFIN_TCP_MAX_STATES     14

/* Record kinds: every record starts with the same header and the consumer
 * switches on kind. */
#define SYNFIN_EV_STATE             1 /* sock:inet_sock_set_state */
#define SYNFIN_EV_RETRANSMIT        2 /* tcp:tcp_retransmit_skb (SYN, FIN, data) */
#define SYNFIN_EV_SYNACK_RETRANSMIT 3 /* tcp:tcp_retransmit_synack (request sock) */
#define SYNFIN_EV_RESET_SENT        4 /* tcp:tcp_send_reset */
#define SYNFIN_EV_RESET_RECEIVED    5 /* tcp:tcp_receive_reset */
#define SYNFIN_EV_DESTROY           6 /* tcp:tcp_destroy_sock, only when ->CLOSE was missed */
#define SYNFIN_EV_TW_START          7 /* a TIME_WAIT sock's timer armed (timer_start) */
#define SYNFIN_EV_TW_END            8 /* ... and disarmed (timer_cancel): expiry or early kill */
#define SYNFIN_EV_TW_FIN            9 /* the peer's FIN reached a tw sock (kfree_skb rx_sk) */
#define SYNFIN_EV_CONN              10 /* one socket's whole story, at ->CLOSE: a synfin_conn_event */
#define SYNFIN_EV_MAX               11

/* SYNFIN_EV_TW_END reasons (in `reason`). */
#define SYNFIN_TW_EXPIRED 1 /* the timer ran out: the tw sock died of old age */
#define SYNFIN_TW_KILLED  2 /* cancelled early: reused by a new SYN/connect(), or reset */
/* A reset from the peer has just killed the tw sock (kfree_skb rx_sk, after
 * its cancel's record): not an end of its own, the cause of that one. */
#define SYNFIN_TW_RST     3
/* ... or the tw sock is sending one, to the peer's data or SYN after this
 * end's close (TCP_TW_RST; tcp_send_reset, summary mode): its cancel
 * follows at once. */
#define SYNFIN_TW_RST_SENT 4

/* Event flags. */
#define SYNFIN_F_DONE        (1u << 0) /* SOCK_DONE: the peer's FIN (or a reset) arrived */
#define SYNFIN_F_DEAD        (1u << 1) /* SOCK_DEAD: the application closed the socket */
#define SYNFIN_F_ORPHAN      (1u << 2) /* no struct socket any more */
#define SYNFIN_F_OWNER_KNOWN (1u << 3) /* pid/comm name the process that owns the socket */
#define SYNFIN_F_OWNER_ACCEPT (1u << 4) /* ... learned at accept() */
#define SYNFIN_F_ACTIVE      (1u << 5) /* synfin saw this socket connect() (CLOSE->SYN_SENT) */
#define SYNFIN_F_PASSIVE     (1u << 6) /* synfin saw this socket born from a listener */
#define SYNFIN_F_PROC_CTX    (1u << 7) /* transition made by the owner in process context */
#define SYNFIN_F_NO_SK       (1u << 8) /* reset sent with no socket (e.g. SYN to a closed port) */
#define SYNFIN_F_TW_SK       (1u << 9) /* reset sent by a TIME_WAIT socket */
#define SYNFIN_F_REQ_SK      (1u << 10) /* event about a request (half-open) socket */
#define SYNFIN_F_LINGER0     (1u << 11) /* SO_LINGER on with a zero timeout: close() resets */
#define SYNFIN_F_HZ_UNKNOWN  (1u << 12) /* TW_START: seq holds jiffies, not ms (no CONFIG_HZ) */
#define SYNFIN_F_LISTENER_SK (1u << 13) /* reset sent by a listener for a segment of no
					  * connection: the tuple is the segment's */
#define SYNFIN_F_UID         (1u << 14) /* uid holds the socket's owner (a tw sock has none) */
#define SYNFIN_F_WAVE_KNOWN  (1u << 15) /* summary: whether the wave's second FIN carried the
					 * ACK of the first is known (SYNFIN_STORY_FIN_ACK) */

/* One record on the ring buffer. Addresses are in network byte order
 * (IPv4 in the first 4 bytes), ports in host byte order. Timestamps are
 * CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
struct synfin_event {
	__u64 ts_ns;
	__u64 cookie;         /* socket cookie: the connection id for the socket's life */
	__u64 start_ns;       /* when synfin first saw this socket open (0: unknown) */
	__u64 cgroup_id;      /* the socket's cgroup (sk_cgrp_data), not current's */
	__u64 bytes_acked;    /* tcp_sock counters; bytes_acked counts the SYN of an */
	__u64 bytes_received; /* active open and an acked FIN, bytes_received a FIN */
	__u32 netns;          /* network namespace inode */
	__u32 pid;            /* owner tgid when SYNFIN_F_OWNER_KNOWN, else 0 */
	__u32 snd_una;
	__u32 snd_nxt;
	__u32 rcv_nxt;
	__u32 srtt_us;        /* smoothed RTT in microseconds (already >> 3) */
	__u32 total_retrans;
	__u32 retransmits;    /* icsk_retransmits, or num_retrans of a request sock */
	__u32 segs_in;
	__u32 segs_out;
	__u32 seq;            /* RETRANSMIT: TCP_SKB_CB(skb)->seq and end_seq;
			       * SYNACK_RETRANSMIT: seq = the server's ISN (and
			       * rcv_nxt the SYN-ACK's ack); */
	__u32 end_seq;        /* TW_START: seq = ms until the timer expires;
			       * TW_FIN: seq = the FIN's sequence number */
	__u32 reason;         /* RESET_SENT: enum sk_rst_reason; TW_END: SYNFIN_TW_*;
			       * RETRANSMIT: segments the buffer carried; 0 elsewhere */
	__s32 err;            /* sk_err at the event (positive errno) */
	__u16 lport;
	__u16 rport;
	__u16 flags;          /* SYNFIN_F_* */
	__u8 kind;            /* SYNFIN_EV_* */
	__u8 family;          /* SYNFIN_AF_* */
	__u8 old_state;
	__u8 new_state;       /* non-state kinds: the socket's current state (TW: tw_substate) */
	__u8 tcp_flags;       /* RETRANSMIT: flags of the retransmitted segment */
	__u8 __pad0;
	__u8 laddr[SYNFIN_ADDR_LEN];
	__u8 raddr[SYNFIN_ADDR_LEN];
	char comm[SYNFIN_COMM_LEN];
	__u32 write_seq;      /* the next byte (or FIN) this end will queue */
	__u32 uid;            /* sk_uid (with SYNFIN_F_UID): the user that made the
			       * socket, or its listener; what ss -e shows */
	__u32 __pad1;
};

_Static_assert(sizeof(struct synfin_event) == 176, "synfin_event ABI size changed");

/* Summary mode (the default): the kernel keeps each socket's transitions
 * in its storage and ships them in one record when the socket reaches
 * CLOSE, instead of one record per transition. */
#define SYNFIN_STORY_STEPS 8

#define SYNFIN_STORY_RST_SENT     (1u << 0) /* this end sent a reset */
#define SYNFIN_STORY_RST_RECEIVED (1u << 1) /* ... received one */
#define SYNFIN_STORY_TRUNCATED    (1u << 2) /* more transitions than steps: the last ones
					     * before CLOSE are missing */
#define SYNFIN_STORY_DESTROY      (1u << 3) /* sent by tcp_destroy_sock: the ->CLOSE itself
					     * was missed (recursion, full ring) */
#define SYNFIN_STORY_TW           (1u << 4) /* the socket left a tw sock: tw_* hold its
					     * timer's start, as a TW_START record would */
#define SYNFIN_STORY_TW_HZ_UNKNOWN (1u << 5) /* tw_left is in jiffies (no CONFIG_HZ) */
#define SYNFIN_STORY_TW_APART     (1u << 6) /* the socket left a tw sock whose birth went
					     * out as a TW_START record of its own (another
					     * tw record ran on the CPU first): it may come
					     * after this one, from the spill map */
#define SYNFIN_STORY_FIN_ACK      (1u << 7) /* the wave's second FIN carried the ACK of the
					     * first, one segment (with SYNFIN_F_WAVE_KNOWN):
					     * the peer's FIN came with its ACK of ours, or
					     * ours left with the ACK of the peer's */

struct synfin_story {
	__u64 step_ns[SYNFIN_STORY_STEPS]; /* each transition before ->CLOSE, in order */
	__u8 step_old[SYNFIN_STORY_STEPS];
	__u8 step_new[SYNFIN_STORY_STEPS];
	__u32 est_snd_una;        /* at ->ESTABLISHED: both ISNs + 1 (synfin_est_isn1_*) */
	__u32 est_rcv_nxt;
	__u32 est_srtt_us;        /* ... the server's SYN-ACK RTT */
	__u32 est_total_retrans;  /* ... SYN or SYN-ACK retransmissions */
	__u32 fin_write_seq;      /* at ->FIN_WAIT1 / ->LAST_ACK: our FIN's sequence number */
	__u32 fin_rcv_nxt;        /* at ->CLOSE_WAIT / ->CLOSING: one past the peer's FIN */
	__u32 syn_retrans;        /* retransmits seen in SYN_SENT */
	__u32 fin_retrans;        /* retransmitted segments carrying our FIN */
	__u32 data_retrans;       /* other retransmits after the handshake */
	__u8 nsteps;
	__u8 flags;               /* SYNFIN_STORY_* */
	__u8 tw_state;            /* the tw sock's substate (TIME_WAIT or FIN_WAIT2) */
	__u8 after_close;         /* SYNFIN_AFTER_CLOSE_*: -F held this summary of an orphan
				   * at its ->CLOSE, and a reset ended its wave after it */
	/* Its timer starts just before the ->CLOSE, on the same CPU: folded
	 * here rather than sent as a record of its own. */
	__u64 tw_start_ns;
	__u32 tw_left;            /* ms until the timer runs out */
	__u32 after_close_us;     /* the reset that long after the ->CLOSE */
};

/* -F: how the wave of an orphan held in FIN_WAIT2 ended (story.after_close) */
#define SYNFIN_AFTER_CLOSE_NONE         0
#define SYNFIN_AFTER_CLOSE_RST_RECEIVED 1 /* the peer's reset killed its tw sock */
#define SYNFIN_AFTER_CLOSE_RST_SENT     2 /* its tw sock reset the peer's late data */

/* At ->ESTABLISHED snd_una and rcv_nxt are past what the SYNs carried:
 * the SYN itself, and TCP Fast Open data. Less that data they are this
 * end's and the peer's ISN + 1. An active end's bytes_acked then counts
 * its SYN and the data acked with it (a passive end's is 0: its snd_una
 * starts past its SYN-ACK), and bytes_received is the data that came with
 * the peer's SYN. One rule for the kernel's story and for user space. */
static inline __u32 synfin_est_isn1_local(__u32 snd_una, __u64 bytes_acked)
{
	return snd_una - (bytes_acked ? (__u32)bytes_acked - 1 : 0);
}

static inline __u32 synfin_est_isn1_remote(__u32 rcv_nxt, __u64 bytes_received)
{
	return rcv_nxt - (__u32)bytes_received;
}

/* A retransmitted buffer carries one segment or, under TSO/GSO, several;
 * the kernel's counters (total_retrans, TcpRetransSegs) count segments, so
 * synfin does. A FIN goes in the buffer's last segment: one FIN, the rest
 * data. One rule for the kernel's story and for user space. */
struct synfin_retrans_split {
	__u32 syn, fin, data;
};

/* A RETRANSMIT's segments (its reason field), or tcp_gso_segs: a buffer
 * not yet sized for TSO says 0 and is one segment. */
static inline __u32 synfin_retrans_segs(__u32 segs)
{
	return segs ? segs : 1;
}

static inline struct synfin_retrans_split synfin_split_retrans(__u8 tcp_flags, int state,
							       __u32 segs)
{
	struct synfin_retrans_split s = { 0, 0, 0 };

	segs = synfin_retrans_segs(segs);
	if (tcp_flags & 0x01) {          /* FIN */
		s.fin = 1;
		s.data = segs - 1;
	} else if (state == SYNFIN_TCP_SYN_SENT) {
		s.syn = 1;
	} else if (state != SYNFIN_TCP_SYN_RECV) {  /* there: the SYN-ACK */
		s.data = segs;
	}
	return s;
}

/* SYNFIN_EV_CONN: `close` is the ->CLOSE transition as a state record
 * (its kind says CONN), `story` what came before. */
struct synfin_conn_event {
	struct synfin_event close;
	struct synfin_story story;
};

_Static_assert(sizeof(struct synfin_story) == 136, "synfin_story ABI size changed");
_Static_assert(sizeof(struct synfin_conn_event) == 312, "synfin_conn_event ABI size changed");

/* The spill map's key (map "spill", values struct synfin_conn_event):
 * connection records the full ring could not take, for user space to
 * take out after it drains the ring. */
struct synfin_spill_key {
	__u64 ts_ns;
	__u32 cpu;
	__u32 __pad;
};

/* Counters the kernel keeps in a per-CPU array (map "counters"), indexed by
 * these values. User space sums the CPUs and reports every non-zero delta. */
#define SYNFIN_CNT_RB_FULL        0 /* bpf_ringbuf_reserve failed: event lost */
#define SYNFIN_CNT_STORAGE_FAIL   1 /* sk storage could not be created: owner/start lost */
#define SYNFIN_CNT_OWNER_MAP_FULL 2 /* accept() owner handoff map full: server pid lost */
#define SYNFIN_CNT_FILTERED       3 /* events dropped by the in-kernel filters (not a loss) */
#define SYNFIN_CNT_EMITTED        4 /* events submitted to the ring buffer */
/* Summary mode: what went into a story instead of onto the ring, for the
 * live rates (the records that would have said so are not sent). */
#define SYNFIN_CNT_RETRANS_FOLDED  5 /* retransmitted segments of a story the filters keep */
#define SYNFIN_CNT_RST_SENT_FOLDED 6 /* ... resets, and those of no connection */
#define SYNFIN_CNT_RST_RECV_FOLDED 7
#define SYNFIN_CNT_RB_FULL_KIND   8 /* + SYNFIN_EV_*: RB_FULL split by record kind */
/* Summary mode with the live figures on: handshakes completed. */
#define SYNFIN_CNT_OPENS_ACTIVE   (SYNFIN_CNT_RB_FULL_KIND + SYNFIN_EV_MAX)
#define SYNFIN_CNT_OPENS_PASSIVE  (SYNFIN_CNT_OPENS_ACTIVE + 1)
/* a listener or CLOSE_WAIT map was full: that figure is short (a loss) */
#define SYNFIN_CNT_LIVE_MAP_FULL  (SYNFIN_CNT_OPENS_ACTIVE + 2)
/* transitions the second copy of the state program handled because the
 * first was busy on that CPU (a recursion miss of the first, not a loss) */
#define SYNFIN_CNT_NESTED_CAUGHT  (SYNFIN_CNT_OPENS_ACTIVE + 3)
/* connection records the full ring could not take, kept in the spill
 * map for user space (not a loss) */
#define SYNFIN_CNT_SPILLED        (SYNFIN_CNT_OPENS_ACTIVE + 4)
/* tp_btf summary mode: sockets whose storage got the CLOSE_WAIT mark, and
 * those that lost it leaving CLOSE_WAIT, SYNFIN_CW_SLOTS of each: + the
 * slot of the generation (cw_gen) the mark was made under, its low bits.
 * Marked less unmarked is how many of that slot carry it now. User space
 * advances the generation once a second, only into a slot none carries,
 * so the oldest slot that some mark carries bounds how old a mark can be:
 * with none older than the tally's least age, the census need not dump
 * CLOSE_WAIT to find old ones. Eight, not two: with two, one socket that
 * sat in CLOSE_WAIT for two seconds held the generation back, and every
 * mark after it counted as that old. */
#define SYNFIN_CW_SLOTS           8  /* a power of 2 */
#define SYNFIN_CNT_CW_MARKED      (SYNFIN_CNT_OPENS_ACTIVE + 5) /* + slot */
#define SYNFIN_CNT_CW_UNMARKED    (SYNFIN_CNT_CW_MARKED + SYNFIN_CW_SLOTS) /* + slot */
/* Retransmit attempts that sent nothing (the tracepoint's err, newer
 * kernels): not retransmits, not a loss either; shown with -v. */
#define SYNFIN_CNT_RETRANS_UNSENT (SYNFIN_CNT_CW_UNMARKED + SYNFIN_CW_SLOTS)
/* -F: an orphan's summary the map "fw2_waits" had no room for: a reset
 * that ends its wave later goes unseen (a loss, reported as table_full) */
#define SYNFIN_CNT_FW2_FULL       (SYNFIN_CNT_RETRANS_UNSENT + 1)
/* -F: orphans not held because the kernel's tcp_max_tw_buckets was
 * reached, so they left no tw sock for a reset to reach (shown with -v) */
#define SYNFIN_CNT_FW2_NO_TW      (SYNFIN_CNT_FW2_FULL + 1)
#define SYNFIN_CNT_MAX            (SYNFIN_CNT_FW2_NO_TW + 1)

/* -F: the orphans in FIN_WAIT2 whose summaries the kernel holds (map
 * "fw2_waits", keyed by cookie) until their peer's FIN or a reset */
#define SYNFIN_FW2_WAITS_MAX 65536

/* The TIME_WAIT programs copy a tw sock's head (struct inet_timewait_sock
 * through tw_substate: 141 bytes on 6.18) into a buffer of this size; the
 * loader leaves them out on a kernel whose head is larger. */
#define SYNFIN_TW_HEAD_MAX 256

/* The live figures (summary mode, detectors or top on). Sending a record
 * at every handshake and every CLOSE_WAIT only for them cost as much as
 * the summaries themselves, so the kernel keeps them in maps that user
 * space reads once per interval. */

/* Handshake times: a log-linear histogram of nanoseconds per side (map
 * "handshakes", per CPU), 16 buckets per power of two, so a bucket is
 * within 1/32 of any value in it. Values past 2^40 ns share the last. */
#define SYNFIN_HS_CLIENT   0 /* SYN sent to ESTABLISHED */
#define SYNFIN_HS_SERVER   1 /* SYN-ACK to ACK: the first RTT sample */
#define SYNFIN_HS_SIDES    2
#define SYNFIN_HS_BUCKETS  592

struct synfin_hs_hist {
	__u64 n[SYNFIN_HS_BUCKETS];
};

/* Branches, not a loop or clz: the same code runs in BPF. */
static inline __u32 synfin_hs_bucket(__u64 v)
{
	__u64 x = v;
	__u32 e = 0;

	if (v < 32)
		return (__u32)v;
	if (v >> 40)
		return SYNFIN_HS_BUCKETS - 1;
	if (x >> 32) { e += 32; x >>= 32; }
	if (x >> 16) { e += 16; x >>= 16; }
	if (x >> 8) { e += 8; x >>= 8; }
	if (x >> 4) { e += 4; x >>= 4; }
	if (x >> 2) { e += 2; x >>= 2; }
	if (x >> 1) e += 1;
	/* e = floor(log2 v), 5..39: 16 buckets from 2^e on */
	return (e - 3) * 16 + (__u32)((v >> (e - 4)) & 15);
}

/* The smallest value in bucket i, and the bucket's width. */
static inline __u64 synfin_hs_bucket_low(__u32 i)
{
	return i < 32 ? i : (__u64)(16 + i % 16) << (i / 16 - 1);
}

static inline __u64 synfin_hs_bucket_width(__u32 i)
{
	return i < 32 ? 1 : 1ULL << (i / 16 - 1);
}

/* Passive handshakes completed per listening endpoint (map
 * "listener_opens", value a __u64 count): the child's local end, which
 * names the listener's concrete address even behind a wildcard bind. */
struct synfin_listener_key {
	__u32 netns;
	__u16 port;
	__u8 family;
	__u8 __pad;
	__u8 addr[SYNFIN_ADDR_LEN];
};

/* What synfin keeps per socket: its sk storage (map "sk_owners"), or in
 * classic mode the value of a hash keyed by socket pointer. User space reads
 * it back through sock_diag (INET_DIAG_REQ_SK_BPF_STORAGES) for the sockets
 * in CLOSE_WAIT, which is how a leak's age and owner are learned without a
 * map update per connection. */
struct synfin_sk_owner {
	__u64 classic_id;     /* classic mode only: stands in for the socket cookie */
	__u64 start_ns;
	__u64 cw_since_ns;    /* summary mode, tp_btf: ->CLOSE_WAIT, 0 if not seen */
	__u32 pid;            /* owner tgid when SYNFIN_F_OWNER_KNOWN */
	__u16 flags;          /* SYNFIN_F_OWNER_*, ACTIVE, PASSIVE; high bits kernel-only */
	__u8 close_seen;      /* ->CLOSE was emitted: destroy needs no record */
	__u8 cw_slot;         /* the slot its CLOSE_WAIT mark was counted under */
	char comm[SYNFIN_COMM_LEN];
	/* Summary mode, an active open: its tuple at ->SYN_SENT. After a
	 * failed connect() tcp_disconnect() wipes the socket's addresses and
	 * remote port, so a destroy record standing in for its missed ->CLOSE
	 * would name no connection without these. */
	__u8 connect_laddr[SYNFIN_ADDR_LEN];
	__u8 connect_raddr[SYNFIN_ADDR_LEN];
	__u16 connect_rport;  /* 0: none kept */
	__u16 __pad_connect;
	/* Summary mode: the segments in (->FIN_WAIT2) or out (->CLOSE_WAIT)
	 * so far, to tell whether the next FIN rides with the ACK */
	__u32 wave_segs;
	struct synfin_story story; /* summary mode: the transitions so far */
};

/* classic mode only: a socket in CLOSE_WAIT now (map "close_waits", keyed
 * by its id), added at ->CLOSE_WAIT, removed when it leaves or dies. */
struct synfin_close_wait {
	__u64 enter_ns;
	__u32 pid;            /* owner tgid when SYNFIN_F_OWNER_KNOWN */
	__u32 netns;
	__u16 flags;          /* SYNFIN_F_OWNER_KNOWN */
	__u16 rport;
	__u8 family;
	__u8 __pad;
	__u16 lport;          /* with the peer's, what finds the socket in a dump */
	__u8 raddr[SYNFIN_ADDR_LEN];
	char comm[SYNFIN_COMM_LEN];
};

_Static_assert(sizeof(struct synfin_listener_key) == 24, "synfin_listener_key ABI size changed");
_Static_assert(sizeof(struct synfin_close_wait) == 56, "synfin_close_wait ABI size changed");
_Static_assert(sizeof(struct synfin_sk_owner) == 88 + sizeof(struct synfin_story),
	       "synfin_sk_owner ABI size changed");

/* In-kernel filter limits. */
#define SYNFIN_PORT_BITMAP_BYTES (65536 / 8)
#define SYNFIN_ADDR_PREFIXES_MAX 8

/* One --laddr/--raddr prefix, as an IPv6 address in network order, words
 * pre-masked. An IPv4 prefix a.b.c.d/n is ::ffff:a.b.c.d/(96+n), and an
 * IPv4 socket's address is looked at in that form too, so one compare
 * serves both families and an IPv4 prefix also matches the IPv4-mapped
 * addresses of a dual-stack socket. */
struct synfin_addr_prefix {
	__u32 addr[4];
	__u32 mask[4];
};

/* Prefix p takes w, an address as four IPv6 words in that form. A macro,
 * so the programs' volatile .rodata copy and user space's share it. */
#define SYNFIN_PREFIX_TAKES(p, w)                                  \
	(((w)[0] & (p).mask[0]) == (p).addr[0] &&                  \
	 ((w)[1] & (p).mask[1]) == (p).addr[1] &&                  \
	 ((w)[2] & (p).mask[2]) == (p).addr[2] &&                  \
	 ((w)[3] & (p).mask[3]) == (p).addr[3])

#endif /* SYNFIN_EVENT_H */
