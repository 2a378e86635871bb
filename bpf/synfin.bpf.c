// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* synfin kernel side: TCP state transitions, retransmits and resets as
 * synfin_event records on one ring buffer, filtered in the kernel, with the
 * owning process kept in per-socket storage so softirq events name the
 * socket's owner and not whichever task the softirq interrupted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "synfin/event.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Filters and knobs, set by user space before load. */
const volatile __u32 filter_pid = 0;
/* -c/--comm: the owner's name, NUL-padded, as two words for two compares */
const volatile __u8 filter_have_comm = 0;
const volatile __u64 filter_comm[SYNFIN_COMM_LEN / 8] = {};
const volatile __u64 filter_cgroup = 0;
const volatile __u8 filter_family = 0;
const volatile __u8 filter_have_lports = 0;
const volatile __u8 filter_have_rports = 0;
const volatile __u8 filter_lports[SYNFIN_PORT_BITMAP_BYTES] = {};
const volatile __u8 filter_rports[SYNFIN_PORT_BITMAP_BYTES] = {};
const volatile __u8 filter_nladdrs = 0;
const volatile __u8 filter_nraddrs = 0;
const volatile struct synfin_addr_prefix filter_laddrs[SYNFIN_ADDR_PREFIXES_MAX] = {};
const volatile struct synfin_addr_prefix filter_raddrs[SYNFIN_ADDR_PREFIXES_MAX] = {};
/* -u/--uid: only sockets whose sk_uid is filter_uid (0 is root: hence the flag) */
const volatile __u8 filter_have_uid = 0;
const volatile __u32 filter_uid = 0;
/* --failed (summary mode): no record of a connection that ended in an
 * orderly wave (conn_went_well) */
const volatile __u8 filter_failed = 0;
/* Wake the consumer only once this much data waits; it drains on a timer
 * otherwise. A wakeup per record is an IPI (a VM exit here) and costs more
 * than the rest of the program together. 0: let the kernel decide. */
const volatile __u64 wakeup_bytes = 0;
/* Summary mode: each socket's transitions stay in its storage and go out
 * as one SYNFIN_EV_CONN record at ->CLOSE. A record per transition is
 * most of a tracer's cost on a busy host, in the kernel and in user space
 * (docs/performance.md). 0: a record per transition (--events). */
const volatile __u8 summarize = 0;
/* ... plus the live figures, which cannot wait for a connection to end
 * (handshake rates and times, completions per listener, CLOSE_WAIT ages),
 * kept in maps for user space to read each interval: the detectors and
 * top need them. */
const volatile __u8 live_figures = 0;
/* tw_timer_handler's address (kallsyms), 0: the TIME_WAIT hooks are off */
const volatile __u64 tw_timer_fn = 0;
/* -F with kfree_skb's rx_sk: orphans' summaries wait in fw2_waits */
const volatile __u8 fw2_watch = 0;
extern unsigned int CONFIG_HZ __kconfig __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by user space */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYNFIN_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Connection records the ring had no room for wait here, in kernel
 * memory, until user space drains them: a burst of closes (a server
 * restart dropping 100k connections) outruns any ring that fits the RSS
 * budget. Sized by user space (--spill), and allocated as used where the
 * kernel lets tracing programs do that (6.1+). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized by user space */
	__type(key, struct synfin_spill_key);
	__type(value, struct synfin_conn_event);
} spill SEC(".maps");

/* -F: the summary of an orphan that reached ->CLOSE in FIN_WAIT2 before
 * the peer's FIN, by cookie, until its tw sock learns how the wave ends
 * (fw2_hold). Sized by user space, which also drops the ones whose tw
 * sock's time ran out with neither. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized by user space */
	__type(key, __u64);
	__type(value, struct synfin_conn_event);
} fw2_waits SEC(".maps");

/* 0: the spill map is off (--spill 0) */
const volatile __u8 spill_on = 0;
/* How many records went in: user space drains the map only while it has
 * taken fewer than this out. */
__u64 spill_stored = 0;

/* The generation CLOSE_WAIT marks are counted under, by its slot
 * (SYNFIN_CNT_CW_MARKED): user space advances it. */
__u32 cw_gen = 0;

/* No accept() hand-over (--no-accept-hook, or no syscall tracepoints):
 * a passive socket's owner is the listener's until its close() or
 * shutdown() names the process holding it. Set before attaching. */
__u8 owner_at_close = 0;

/* Where a record that may spill is built before it is copied to the ring
 * or the spill map, by slot: one for each kind of record and run level
 * (run_level: 0 task, 1 softirq). Runs on a CPU nest only across levels
 * (a softirq inside a task), and there any program may nest in any other,
 * itself included where the kernel does not skip that (tp_btf before
 * 6.1); at one level they follow each other. Connection records: the
 * state programs'. Records about tw socks: the timer, kfree_skb and
 * send_reset programs'. A tw record fills only the event part; the rest
 * of its slot stays zero. Classic programs never nest (the kernel skips
 * any tracing program inside another), and take level 0. */
#define CONN_SLOT     0
#define TW_SLOT_START 1
#define TW_SLOT_END   2
#define TW_SLOT_FIN   3
#define TW_SLOT_RESET 4
#define SLOT_KINDS    5
#define RUN_LEVELS    2

static __always_inline __u32 slot_at(__u32 kind, __u32 level)
{
	return kind + (level & 1) * SLOT_KINDS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_KINDS * RUN_LEVELS);
	__type(key, __u32);
	__type(value, struct synfin_conn_event);
} conn_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYNFIN_HS_SIDES);
	__type(key, __u32);
	__type(value, struct synfin_hs_hist);
} handshakes SEC(".maps");

/* Completed handshakes per listener, in two maps: the programs add to
 * the one listener_gen names. Each interval user space flips it, waits
 * out the runs that may still add to the other (an RCU grace period),
 * and takes that one's entries out. Taken from a map still added to, an
 * add between a run's lookup and its increment went to an entry already
 * taken, and was lost uncounted. Each sized for the listeners of one
 * interval; a full map is counted (live_map_full). Allocated as they fill
 * where tracing programs may (6.1 on: loader.c). */
struct listener_opens_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct synfin_listener_key);
	__type(value, __u64);
};
struct listener_opens_map listener_opens SEC(".maps");
struct listener_opens_map listener_opens1 SEC(".maps");
__u32 listener_gen = 0;

/* Classic mode only (no sk storage to mark the socket in): the sockets
 * in CLOSE_WAIT now. Sized to one entry otherwise; allocated as it fills
 * where tracing programs may (loader.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized by user space */
	__type(key, __u64);
	__type(value, struct synfin_close_wait);
} close_waits SEC(".maps");

/* Summary mode: a tw sock's birth (its timer's first start) waits here,
 * on its CPU and at its run level, for the ->CLOSE of its socket, which
 * follows at once at that level and carries it in its record. Anything
 * else that finds it here first sends it as a TW_START record of its own
 * (tw_birth_flush). A slot the size of a connection record, as the spill
 * map's values are, so that record can spill too; only its event part is
 * ever written, the rest stays zero.
 * apart: the cookie of the last birth sent so, whose ->CLOSE is still to
 * come and says so (SYNFIN_STORY_TW_APART): that birth may come to user
 * space after the summary, from the spill map, and is waited for. */
struct tw_birth_slot {
	struct synfin_conn_event held;
	__u64 apart;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUN_LEVELS);
	__type(key, __u32);
	__type(value, struct tw_birth_slot);
} tw_births SEC(".maps");

static __always_inline struct tw_birth_slot *tw_birth_at(__u32 level)
{
	__u32 key = level & 1;

	return bpf_map_lookup_elem(&tw_births, &key);
}

/* The cookie of the tw sock whose timer was last cancelled early on this
 * CPU: a re-arm is a cancel and a start of the same tw sock's timer, back
 * to back (in one mod_timer, interrupts off), and is no birth. The cookie,
 * not the timer's address: a tw sock killed early is freed, and the next
 * one born on this CPU mostly gets its memory, and its timer's address.
 * Taken for a re-arm, that birth went out as a record of its own, which
 * could come from the spill map after its connection's record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tw_cancelled SEC(".maps");

/* -p and -c: the cookies of tw socks whose connections the owner filters
 * dropped at their ->CLOSE. A tw sock keeps no owner, so the timer
 * programs could not tell its records from those of a connection synfin
 * follows, and sent them all for user space to drop. An LRU: an entry
 * goes at its tw sock's expiry, or, left by a kill (a reset's note may
 * follow the cancel), when newer ones push it out; a tw sock whose entry
 * was pushed out sends its records as before. Sized by user space (one
 * entry without an owner filter). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* resized by user space */
	__type(key, __u64);
	__type(value, __u8);
} tw_unfollowed SEC(".maps");

/* What synfin keeps per socket (struct synfin_sk_owner, event.h). Lives
 * and dies with the socket, so it cannot leak; BPF_F_CLONE copies a
 * listener's entry into each child, which is how a server socket knows its
 * owner before accept(). User space reads it back through sock_diag for
 * the sockets in CLOSE_WAIT. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct synfin_sk_owner);
} sk_owners SEC(".maps");

/* Classic tracepoints cannot use sk storage: the same record lives in a
 * hash keyed by socket pointer, removed at ->CLOSE or destroy. Bounded by
 * its size; a failed insert is counted as storage_full. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* --max-conns where it can grow (loader.c) */
	__type(key, __u64);
	__type(value, struct synfin_sk_owner);
} classic_owners SEC(".maps");

/* A classic id has bit 63 set so it never collides with a cookie (those
 * count up from 1), and is the socket's birth (ns, low 55 bits) and CPU
 * (low 8 bits): an atomic counter would need a fetch, which kernels before
 * 5.12 reject. Two births on one CPU are far more than a ns apart, and an
 * id comes round again only after 417 days. */
static __always_inline __u64 classic_new_id(void)
{
	return (1ULL << 63) | (bpf_ktime_get_ns() & ((1ULL << 55) - 1)) << 8 |
	       (bpf_get_smp_processor_id() & 0xff);
}

/* accept() hands the owner over by socket pointer: the syscall tracepoint
 * cannot use sk storage (KERNEL-NOTES §0), so the next tp_btf event for
 * that socket moves the entry into storage. tcp_destroy_sock removes what
 * was never moved, so entries cannot outlive their socket. */
struct accept_owner {
	__u64 ts_ns;      /* when accept() returned: older than the socket means stale */
	__u32 pid;
	__u32 __pad;
	char comm[SYNFIN_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* --max-conns where it can grow (loader.c) */
	__type(key, __u64);
	__type(value, struct accept_owner);
} accept_owners SEC(".maps");

/* Atomic even though the counters are per CPU: a softirq running another
 * synfin program on this CPU can land between a plain load and store. */
static __always_inline void count_n(__u32 idx, __u64 n)
{
	__u64 *val = bpf_map_lookup_elem(&counters, &idx);

	if (val)
		__sync_fetch_and_add(val, n);
}

static __always_inline void count(__u32 idx)
{
	count_n(idx, 1);
}

/* A record is a synfin_event or a synfin_conn_event behind an 8-byte
 * header, so the backlog (producer minus consumer position) moves in
 * steps of at most this. */
#define RECORD_SPAN ((sizeof(struct synfin_conn_event) + BPF_RINGBUF_HDR_SZ + 7) & ~7UL)
/* How many records past the mark still wake the consumer: another CPU can
 * reserve between our reserve and our query, so a one-record window could
 * be stepped over by both. Any that slip through wait for the timer. */
#define WAKEUP_WINDOW (8 * RECORD_SPAN)

/* Wake the consumer only as the backlog crosses wakeup_bytes, not for
 * every record above it: a consumer that is behind is awake already, and
 * each forced wakeup queues irq_work, a self-IPI (a VM exit here), which
 * cost more than the rest of the program together while the ring stayed
 * above the mark. The consumer drains on its timer regardless. */
static __always_inline __u64 submit_flags(void)
{
	__u64 avail;

	if (!wakeup_bytes)
		return 0;
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (avail >= wakeup_bytes && avail < wakeup_bytes + WAKEUP_WINDOW)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* A record the full ring cost: lost, counted by kind. */
static __always_inline void count_ring_full(__u8 kind)
{
	count(SYNFIN_CNT_RB_FULL);
	if (kind < SYNFIN_EV_MAX)
		count(SYNFIN_CNT_RB_FULL_KIND + kind);
}

static __always_inline void *reserve_record(__u8 kind, const __u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec) {
		count_ring_full(kind);
		return NULL;
	}
	/* the event part; a story is copied over whole */
	__builtin_memset(rec, 0, sizeof(struct synfin_event));
	return rec;
}

static __always_inline struct synfin_event *reserve_event(__u8 kind)
{
	return reserve_record(kind, sizeof(struct synfin_event));
}

static __always_inline void submit_event(void *e)
{
	bpf_ringbuf_submit(e, submit_flags());
	count(SYNFIN_CNT_EMITTED);
}

/* A record built off the ring (on the stack, in a map) copied onto it;
 * false if the ring is full, with nothing counted: the caller may have
 * somewhere else to put it. */
static __always_inline bool output_record(void *rec, const __u64 size)
{
	if (bpf_ringbuf_output(&events, rec, size, submit_flags()))
		return false;
	count(SYNFIN_CNT_EMITTED);
	return true;
}

/* A connection record is built in its slot's scratch, not in the ring: if
 * the ring is full, it can still go to the spill map. */
static __always_inline struct synfin_conn_event *conn_scratch_get(__u32 slot)
{
	struct synfin_conn_event *ce = bpf_map_lookup_elem(&conn_scratch, &slot);

	if (ce)
		__builtin_memset(&ce->close, 0, sizeof(ce->close));
	return ce;
}

/* To the ring (size bytes of it), or failing that to the spill map (all
 * of the slot); false if neither took it (counted as a ring loss of its
 * kind). Copying 312 bytes is a few ns of a state program's several
 * hundred. */
static __always_inline bool ship_record(struct synfin_conn_event *ce, const __u64 size)
{
	struct synfin_spill_key key = {};

	if (output_record(ce, size))
		return true;
	if (spill_on) {
		/* unique without an atomic fetch (5.12+): two runs on one CPU
		 * read the clock hundreds of ns apart */
		key.ts_ns = bpf_ktime_get_ns();
		key.cpu = bpf_get_smp_processor_id();
		if (!bpf_map_update_elem(&spill, &key, ce, BPF_NOEXIST)) {
			__sync_fetch_and_add(&spill_stored, 1);
			count(SYNFIN_CNT_SPILLED);
			return true;
		}
	}
	count_ring_full(ce->close.kind);
	return false;
}

static __always_inline bool ship_conn(struct synfin_conn_event *ce)
{
	return ship_record(ce, sizeof(*ce));
}

static __always_inline bool owner_filter_on(void)
{
	return filter_pid || filter_have_comm;
}

/* Whether a tw sock's birth waits for its socket's ->CLOSE (tw_birth_hold):
 * in summary mode, to ride in its record; under -p/-c also with --events,
 * where the filters judge the connection only there (a tw sock has no
 * owner), to go out before that ->CLOSE's record or not at all. */
static __always_inline bool holds_births(void)
{
	return summarize || owner_filter_on();
}

/* A tw birth left waiting (its ->CLOSE never took it: filtered out, or
 * missed) goes out as the TW_START record it stands for; to the spill map
 * when the ring is full (its slot is a connection record's size). */
static __always_inline void tw_birth_flush(struct tw_birth_slot *slot)
{
	struct synfin_event *b = &slot->held.close;

	if (!b->cookie)
		return;
	ship_record(&slot->held, sizeof(*b));
	slot->apart = b->cookie;
	b->cookie = 0;
}

/* A transition the filters drop. If it is a ->CLOSE, the birth held for
 * its tw sock (the timer programs judge a tw sock by its tuple alone: -u,
 * -p, -c and --cgroup have nothing to go by) has no record to ride in,
 * and sent apart it would only wait in user space for one that never
 * comes (with --events, be shown for a connection the filters dropped).
 * Only tp_btf has tw hooks. */
static __always_inline bool tw_birth_forget(struct sock *sk, int new, __u32 level,
					    const bool classic)
{
	struct tw_birth_slot *slot;

	if (!holds_births() || new != TCP_CLOSE || classic || !tw_timer_fn)
		return false;
	slot = tw_birth_at(level);
	if (slot && slot->held.close.cookie &&
	    slot->held.close.cookie == (__u64)sk->__sk_common.skc_cookie.counter) {
		slot->held.close.cookie = 0;
		return true;
	}
	return false;
}

/* --events under -p/-c (holds_births): a ->CLOSE the filters passed. The
 * birth its tw sock left waiting (or one whose ->CLOSE was missed) goes
 * out first, in the order the kernel made them. */
static __always_inline void tw_birth_release(int new, __u32 level, const bool classic)
{
	struct tw_birth_slot *slot;

	if (summarize || !owner_filter_on() || new != TCP_CLOSE || classic || !tw_timer_fn)
		return;
	slot = tw_birth_at(level);
	if (slot)
		tw_birth_flush(slot);
}

/* The owner filters dropped this ->CLOSE: its tw sock, if one was born,
 * is to be dropped by the timer programs too (tw_unfollowed). A birth held
 * for this ->CLOSE says there is one; else (--events, or a birth sent
 * apart) the state it closed from says there may be. */
static __always_inline void tw_unfollow(struct sock *sk, int old, int new, bool birth_held,
					const bool classic)
{
	__u64 cookie;
	__u8 one = 1;

	if (!owner_filter_on() || new != TCP_CLOSE || classic || !tw_timer_fn)
		return;
	if (!birth_held && old != TCP_FIN_WAIT1 && old != TCP_FIN_WAIT2 && old != TCP_CLOSING)
		return;
	cookie = sk->__sk_common.skc_cookie.counter;
	if (cookie)
		bpf_map_update_elem(&tw_unfollowed, &cookie, &one, BPF_ANY);
}

/* A tw sock's last record was judged: its tw_unfollowed entry, if any,
 * can go. */
static __always_inline void tw_unfollow_done(__u64 cookie)
{
	if (owner_filter_on() && cookie)
		bpf_map_delete_elem(&tw_unfollowed, &cookie);
}

/* Whether the owner filters dropped this tw sock's connection at its
 * ->CLOSE (tw_unfollow). */
static __always_inline bool tw_is_unfollowed(__u64 cookie)
{
	return owner_filter_on() && cookie && bpf_map_lookup_elem(&tw_unfollowed, &cookie);
}

/* The ->CLOSE of the socket whose tw sock was just born here: its timer
 * start rides in the summary, or the summary says it went apart. */
static __always_inline void tw_birth_take(struct synfin_conn_event *ce, __u32 level)
{
	struct tw_birth_slot *slot;
	struct synfin_event *b;

	if (!tw_timer_fn)
		return; /* no tw hooks, no births */
	slot = tw_birth_at(level);
	if (!slot)
		return;
	b = &slot->held.close;
	if (!b->cookie || b->cookie != ce->close.cookie) {
		if (slot->apart && slot->apart == ce->close.cookie) {
			ce->story.flags |= SYNFIN_STORY_TW_APART;
			slot->apart = 0;
		}
		tw_birth_flush(slot);
		return;
	}
	ce->story.flags |= SYNFIN_STORY_TW;
	if (b->flags & SYNFIN_F_HZ_UNKNOWN)
		ce->story.flags |= SYNFIN_STORY_TW_HZ_UNKNOWN;
	ce->story.tw_state = b->new_state;
	ce->story.tw_start_ns = b->ts_ns;
	ce->story.tw_left = (__u32)b->seq;
	b->cookie = 0;
}

/* Filters that need only the socket and that a tw sock keeps: family, netns. */
static __always_inline bool pass_family_netns(__u8 family, __u32 netns)
{
	if (filter_family && family != filter_family)
		return false;
	if (filter_netns && netns != filter_netns)
		return false;
	return true;
}

/* Before 6.2 a cgroup kept its ancestors' ids, not pointers to them. */
struct cgroup___ids {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/* Deeper cgroups are judged by their ancestors up to this level only. */
#define SYNFIN_CGROUP_LEVELS 32

/* --cgroup takes its cgroup and every cgroup below it, as iptables'
 * cgroup match does: a service's workers and a pod's containers sit
 * below the cgroup an operator names. The socket's cgroup is one of
 * them when one of its ancestors (itself included) is the filter's. */
static __always_inline bool sock_under_filter_cgroup(const struct sock *sk)
{
	struct cgroup *cg;
	bool known;
	int level;

	cg = sock_cgroup(sk, &known);
	if (!known)
		return false;
	if (!cg)  /* the root: under no cgroup but itself */
		return filter_cgroup == SYNFIN_ROOT_CGROUP_ID;
	level = BPF_CORE_READ(cg, level);
	for (int i = 0; i < SYNFIN_CGROUP_LEVELS && i <= level; i++) {
		__u64 id = 0;

		if (bpf_core_field_exists(struct cgroup, ancestors)) {
			struct cgroup *ancestor = NULL;

			bpf_core_read(&ancestor, sizeof(ancestor), &cg->ancestors[i]);
			id = BPF_CORE_READ(ancestor, kn, id);
		} else {
			struct cgroup___ids *old = (void *)cg;

			bpf_core_read(&id, sizeof(id), &old->ancestor_ids[i]);
		}
		if (id == filter_cgroup)
			return true;
	}
	return false;
}

/* ... and the cgroup, which a tw sock has not (sk NULL: no cgroup). */
static __always_inline bool pass_sock_filters(__u8 family, __u32 netns, const struct sock *sk)
{
	if (!pass_family_netns(family, netns))
		return false;
	if (filter_cgroup && (!sk || !sock_under_filter_cgroup(sk)))
		return false;
	return true;
}

/* -u: a record's uid, where it has one (a tw sock, a reset of no socket
 * have none: they pass only without -u) */
static __always_inline bool pass_uid_filter(bool known, __u32 uid)
{
	return !filter_have_uid || (known && uid == filter_uid);
}

/* -u on a full socket: its uid read only when asked for (in classic mode
 * a read is a helper call) */
static __always_inline bool pass_sock_uid(const struct sock *sk, const bool classic)
{
	return !filter_have_uid || SF_READ(!classic, sk, sk_uid.val) == filter_uid;
}

enum verdict { V_PASS, V_DROP, V_UNDECIDED };

/* A client has no local port before connect() picks one (CLOSE->SYN_SENT):
 * under -L that is undecided. Its owner and start are kept in storage and
 * the next event, with the real port, carries them. Under -D no remote
 * port is undecided alike: a listener's (it keeps its storage, so its
 * children inherit its owner, and emits nothing), and a server child's at
 * its birth on kernels before 6.15, which set its peer's port only after
 * LISTEN->SYN_RECV (inet_csk_clone_lock); dropped, the child lost its
 * birth, its role and its handshake. No connected socket has port 0. */
static __always_inline enum verdict port_verdict(__u16 lport, __u16 rport)
{
	bool undecided = false;

	if (filter_have_rports) {
		if (!rport)
			undecided = true;
		else if (!(filter_rports[rport >> 3] & (1 << (rport & 7))))
			return V_DROP;
	}
	if (filter_have_lports) {
		if (!lport)
			return V_UNDECIDED;
		if (!(filter_lports[lport >> 3] & (1 << (lport & 7))))
			return V_DROP;
	}
	return undecided ? V_UNDECIDED : V_PASS;
}

static __always_inline bool pass_port_filters(__u16 lport, __u16 rport)
{
	return port_verdict(lport, rport) == V_PASS;
}

/* addr (synfin_event layout: IPv4 in the first 4 bytes) in one of n
 * prefixes, compared as IPv6 words (struct synfin_addr_prefix) */
static __always_inline bool addr_in_prefixes(const volatile struct synfin_addr_prefix *p,
					     __u8 n, __u8 family, const __u8 *addr)
{
	__u32 w[4];

	if (family == AF_INET) {
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&w[3], addr, 4);
	} else {
		__builtin_memcpy(w, addr, 16);
	}
	for (int i = 0; i < SYNFIN_ADDR_PREFIXES_MAX; i++) {
		if (i >= n)
			break;
		if (SYNFIN_PREFIX_TAKES(p[i], w))
			return true;
	}
	return false;
}

static __always_inline bool addr_unspecified(__u8 family, const __u8 *addr)
{
	__u32 w[4];

	__builtin_memcpy(w, addr, 16);
	if (family == AF_INET)
		return !w[0];
	return !(w[0] | w[1] | w[2] | w[3]);
}

/* --laddr/--raddr. An unspecified address (a listener bound to any, whose
 * remote is none) is undecided, like a client's port before connect()
 * picks it: a listener keeps its storage, so its children inherit its
 * owner, and emits nothing. addr buffers are 16 bytes. */
static __always_inline enum verdict addr_verdict(__u8 family, const __u8 *laddr,
						 const __u8 *raddr)
{
	bool undecided = false;

	if (filter_nladdrs) {
		if (addr_unspecified(family, laddr))
			undecided = true;
		else if (!addr_in_prefixes(filter_laddrs, filter_nladdrs, family, laddr))
			return V_DROP;
	}
	if (filter_nraddrs) {
		if (addr_unspecified(family, raddr))
			undecided = true;
		else if (!addr_in_prefixes(filter_raddrs, filter_nraddrs, family, raddr))
			return V_DROP;
	}
	return undecided ? V_UNDECIDED : V_PASS;
}

/* The address filters on a socket's own addresses; no reads without them. */
static __always_inline enum verdict sock_addr_verdict(const struct sock_common *skc,
						      __u8 family, const bool direct)
{
	__u8 laddr[SYNFIN_ADDR_LEN] = {}, raddr[SYNFIN_ADDR_LEN] = {};

	if (!filter_nladdrs && !filter_nraddrs)
		return V_PASS;
	read_addr_pair(skc, family, laddr, raddr, direct);
	return addr_verdict(family, laddr, raddr);
}

/* Whether any filter sock_passes_tuple_filters reads is set: a caller
 * that needs the tcp_sock only for it (a helper call in tp_btf) skips
 * both without one. */
static __always_inline bool any_tuple_filter(void)
{
	return filter_family || filter_netns || filter_cgroup || filter_have_uid ||
	       filter_have_lports || filter_have_rports || filter_nladdrs || filter_nraddrs;
}

/* The tuple filters on a full socket: family, netns, cgroup, uid, ports,
 * addresses; an undecided one does not pass. Each is read only when its
 * filter is given, which matters most to the accept hook, whose reads are
 * all probe reads (a syscall tracepoint has no BTF-typed socket). tp is
 * sk as a tcp_sock, for the local port (skc_num is zeroed before the
 * ->CLOSE event). kept, unless NULL, is the socket's storage with the
 * tuple of its connect(): a socket tcp_disconnect() wiped (no remote port)
 * is judged by that, as its destroy record names it (restore_connect_tuple). */
static __always_inline bool sock_passes_tuple_filters(const struct sock *sk,
						      const struct tcp_sock *tp,
						      const struct synfin_sk_owner *kept,
						      const bool direct)
{
	const struct sock_common *skc = &sk->__sk_common;
	__u8 family = 0;
	__u16 rport = 0;

	if ((filter_family || filter_netns || filter_cgroup) &&
	    !pass_sock_filters(SF_READ(direct, skc, skc_family), sock_netns(skc, direct), sk))
		return false;
	if (!pass_sock_uid(sk, !direct))
		return false;
	if (filter_have_lports || filter_have_rports || filter_nladdrs || filter_nraddrs)
		rport = bpf_ntohs(SF_READ(direct, skc, skc_dport));
	if (kept && !rport && kept->connect_rport) {
		family = SF_READ(direct, skc, skc_family);
		return port_verdict(sock_local_port(tp, direct), kept->connect_rport) == V_PASS &&
		       addr_verdict(family, kept->connect_laddr, kept->connect_raddr) == V_PASS;
	}
	if ((filter_have_lports || filter_have_rports) &&
	    !pass_port_filters(sock_local_port(tp, direct), rport))
		return false;
	if (!filter_nladdrs && !filter_nraddrs)
		return true;
	family = SF_READ(direct, skc, skc_family);
	return sock_addr_verdict(skc, family, direct) == V_PASS;
}

/* Once a socket had an event on the ring, all its later events follow:
 * user space must see it through to CLOSE or its table entry would never
 * go (an owner learned after the fact fails -p late; user space applies
 * the filter again to the finished record). */
#define OWN_EMITTED (1u << 15)
/* The socket has an entry in close_waits. */
#define OWN_IN_CW (1u << 14)
/* Summary mode, the wave: wave_segs holds a count to compare, and
 * SYNFIN_STORY_FIN_ACK is settled (the close record says so with
 * SYNFIN_F_WAVE_KNOWN). */
#define OWN_WAVE_SNAP (1u << 13)
#define OWN_WAVE_KNOWN (1u << 12)

static __always_inline bool already_emitted(const struct synfin_sk_owner *own)
{
	return own && (own->flags & OWN_EMITTED);
}

/* comm (SYNFIN_COMM_LEN bytes, 8-aligned, NUL-padded as
 * bpf_get_current_comm leaves it) is the one -c asked for */
static __always_inline bool comm_is_filtered_one(const char *comm)
{
	const __u64 *w = (const __u64 *)comm;

	return w[0] == filter_comm[0] && w[1] == filter_comm[1];
}

/* -p and -c. An owner not yet known (a child before accept() whose
 * listener synfin never saw) passes; user space filters the finished
 * record again. */
static __always_inline bool pass_owner_filter(const struct synfin_sk_owner *own)
{
	if (!(own->flags & SYNFIN_F_OWNER_KNOWN))
		return true;
	if (filter_pid && own->pid != filter_pid)
		return false;
	return !filter_have_comm || comm_is_filtered_one(own->comm);
}

/* The socket cookie. Once the kernel has handed one out it sits in
 * skc_cookie, and bpf_get_socket_cookie() would only read it back (it
 * assigns one the first time): one load instead of a helper call. */
static __always_inline __u64 sock_cookie(struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter;

	return cookie ? cookie : bpf_get_socket_cookie(sk);
}

static __always_inline void fill_sock_identity(struct sock *sk, const struct tcp_sock *tp,
					      struct synfin_event *e,
					      const struct synfin_sk_owner *own, const bool classic)
{
	read_common_addrs(&sk->__sk_common, e, !classic);
	e->lport = sock_local_port(tp, !classic);
	e->netns = sock_netns(&sk->__sk_common, !classic);
	e->cgroup_id = sock_cgroup_id(sk, !classic);
	e->uid = SF_READ(!classic, sk, sk_uid.val);
	if (!classic)
		e->cookie = sock_cookie(sk);
	else if (own)
		e->cookie = own->classic_id;
}

/* The socket as a tcp_sock, or NULL when it is not a full TCP socket.
 * tp_btf: bpf_skc_to_tcp_sock checks that and types the pointer, so its
 * tcp_sock fields (past struct sock) can be read directly. Classic: the
 * pointer is a plain number; sk_protocol is read as before. */
static __always_inline struct tcp_sock *tcp_sock_of(struct sock *sk, const bool classic)
{
	if (!classic)
		return bpf_skc_to_tcp_sock(sk);
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return (struct tcp_sock *)sk;
}

/* The per-socket record: sk storage in tp_btf, the pointer-keyed hash in
 * classic mode. `classic` is a compile-time constant in every caller, so
 * the helper the other mode cannot use is compiled out. */
static __always_inline struct synfin_sk_owner *get_owner(struct sock *sk, bool create,
						  const bool classic)
{
	struct synfin_sk_owner *own, fresh = {};
	__u64 key = (__u64)sk;

	if (!classic)
		return bpf_sk_storage_get(&sk_owners, sk, NULL,
					  create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	own = bpf_map_lookup_elem(&classic_owners, &key);
	if (own || !create)
		return own;
	fresh.classic_id = classic_new_id();
	bpf_map_update_elem(&classic_owners, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&classic_owners, &key);
}

static __always_inline void put_owner(struct sock *sk, const bool classic)
{
	__u64 key = (__u64)sk;

	if (classic)
		bpf_map_delete_elem(&classic_owners, &key);
}

static __always_inline void set_owner_current(struct synfin_sk_owner *own, __u16 how)
{
	own->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(own->comm, sizeof(own->comm));
	own->flags = (own->flags & ~(SYNFIN_F_OWNER_ACCEPT)) | SYNFIN_F_OWNER_KNOWN | how;
}

/* Transitions the kernel makes only from a system call of the process that
 * holds the socket (connect, listen, close, shutdown), so current is the
 * owner. Everything else may run in softirq on behalf of anyone. */
static __always_inline bool owner_is_current(int old, int new)
{
	if (old == TCP_CLOSE && (new == TCP_SYN_SENT || new == TCP_LISTEN))
		return true;
	if (new == TCP_FIN_WAIT1 && (old == TCP_ESTABLISHED || old == TCP_SYN_RECV))
		return true;
	if (old == TCP_CLOSE_WAIT && new == TCP_LAST_ACK)
		return true;
	/* close() in FIN_WAIT2 shows up as a self-transition (KERNEL-NOTES §1g2) */
	return old == TCP_FIN_WAIT2 && new == TCP_FIN_WAIT2;
}

/* A mark is cleared under the slot it was counted under. */
static __always_inline void cw_unmark(struct synfin_sk_owner *own)
{
	own->cw_since_ns = 0;
	count(SYNFIN_CNT_CW_UNMARKED + (own->cw_slot & (SYNFIN_CW_SLOTS - 1)));
}

/* A birth starts a new story: a reused socket's old one went out at its
 * ->CLOSE, and a child's storage is a copy of its listener's. */
static __always_inline void story_begin(struct synfin_sk_owner *own)
{
	if (own->cw_since_ns) /* its exit from CLOSE_WAIT was missed */
		cw_unmark(own);
	if (summarize)
		__builtin_memset(&own->story, 0, sizeof(own->story));
	own->flags &= ~(OWN_WAVE_SNAP | OWN_WAVE_KNOWN);
}

/* Whether the wave's second FIN carries the ACK of the first, from the
 * segments the socket counted: none out between the peer's FIN and ours
 * (passive), or none in between the ACK of ours and the peer's FIN
 * (active, wave_fin_arrived). The kernel counts a segment in on arrival
 * (tcp_v4_rcv), not when it is processed: an ACK processed from the
 * socket's backlog, the application holding its lock, may have later
 * segments counted already, so no count is kept then. */
static __always_inline void wave_note(struct synfin_sk_owner *own, const struct tcp_sock *tp,
				      int old, int new, const bool classic)
{
	const struct sock *sk = (const struct sock *)tp;

	if (new == TCP_FIN_WAIT2 && old == TCP_FIN_WAIT1) {
		own->flags &= ~OWN_WAVE_SNAP;
		if (SF_READ(!classic, sk, sk_lock.owned))
			return;
		own->wave_segs = SF_READ(!classic, tp, segs_in);
		own->flags |= OWN_WAVE_SNAP;
	} else if (new == TCP_CLOSE_WAIT) {
		own->wave_segs = SF_READ(!classic, tp, segs_out);
		own->flags |= OWN_WAVE_SNAP;
	} else if (new == TCP_LAST_ACK && old == TCP_CLOSE_WAIT && (own->flags & OWN_WAVE_SNAP)) {
		/* before tcp_send_fin(): nothing out since the peer's FIN,
		 * so our FIN takes the ACK of it */
		if (SF_READ(!classic, tp, segs_out) == own->wave_segs)
			own->story.flags |= SYNFIN_STORY_FIN_ACK;
		own->flags |= OWN_WAVE_KNOWN;
	}
}

/* Active end, at ->CLOSE from FIN_WAIT2, from the close record: the
 * peer's FIN arrived (SOCK_DONE, and no reset) in the segment that acked
 * ours, or later. */
static __always_inline void wave_fin_arrived(struct synfin_sk_owner *own,
					     const struct synfin_event *e)
{
	if (!(e->flags & SYNFIN_F_DONE) || !(own->flags & OWN_WAVE_SNAP) ||
	    (own->story.flags & (SYNFIN_STORY_RST_SENT | SYNFIN_STORY_RST_RECEIVED)))
		return;
	/* read_tcp_figures() has read the count into the record */
	if (e->segs_in == own->wave_segs)
		own->story.flags |= SYNFIN_STORY_FIN_ACK;
	own->flags |= OWN_WAVE_KNOWN;
}

/* Keep one transition (not the ->CLOSE: that is the record itself) and
 * the figures the reconstruction reads at it (engine.c apply_state). */
static __always_inline void story_note(struct synfin_sk_owner *own, const struct tcp_sock *tp,
				       int old, int new, __u64 now, const bool classic)
{
	struct synfin_story *st = &own->story;
	__u8 n = st->nsteps;

	if (n < SYNFIN_STORY_STEPS) {
		st->step_ns[n & (SYNFIN_STORY_STEPS - 1)] = now;
		st->step_old[n & (SYNFIN_STORY_STEPS - 1)] = old;
		st->step_new[n & (SYNFIN_STORY_STEPS - 1)] = new;
		st->nsteps = n + 1;
	} else {
		st->flags |= SYNFIN_STORY_TRUNCATED;
	}
	switch (new) {
	case TCP_ESTABLISHED:
		st->est_snd_una = synfin_est_isn1_local(SF_READ(!classic, tp, snd_una),
							SF_READ(!classic, tp, bytes_acked));
		st->est_rcv_nxt = synfin_est_isn1_remote(SF_READ(!classic, tp, rcv_nxt),
							 SF_READ(!classic, tp, bytes_received));
		st->est_srtt_us = SF_READ(!classic, tp, srtt_us) >> 3;
		st->est_total_retrans = SF_READ(!classic, tp, total_retrans);
		break;
	case TCP_FIN_WAIT1:
	case TCP_LAST_ACK:
		/* tcp_close_state() runs before tcp_send_fin(): the FIN
		 * takes the sequence number write_seq has now */
		st->fin_write_seq = SF_READ(!classic, tp, write_seq);
		break;
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
		st->fin_rcv_nxt = SF_READ(!classic, tp, rcv_nxt);
		break;
	default:
		break;
	}
	wave_note(own, tp, old, new, classic);
}

/* Summary mode: an active open's tuple, kept for a destroy record that
 * may have to stand in for its ->CLOSE (struct synfin_sk_owner). The
 * local port is not picked yet; tcp_disconnect() leaves it. */
static __always_inline void keep_connect_tuple(struct sock *sk, struct synfin_sk_owner *own,
					       const bool classic)
{
	const struct sock_common *skc = &sk->__sk_common;

	read_addr_pair(skc, SF_READ(!classic, skc, skc_family), own->connect_laddr,
		       own->connect_raddr, !classic);
	own->connect_rport = bpf_ntohs(SF_READ(!classic, skc, skc_dport));
}

/* A destroy record of a socket tcp_disconnect() wiped (no remote port:
 * any connected socket has one) names the connection it kept. */
static __always_inline void restore_connect_tuple(struct synfin_event *e,
						  const struct synfin_sk_owner *own)
{
	if (e->rport || !own->connect_rport)
		return;
	__builtin_memcpy(e->laddr, own->connect_laddr, SYNFIN_ADDR_LEN);
	__builtin_memcpy(e->raddr, own->connect_raddr, SYNFIN_ADDR_LEN);
	e->rport = own->connect_rport;
}

/* The owner accept() handed over for sk (handle_accept_exit), if one
 * waits: into own. */
static __always_inline void take_accept_owner(struct sock *sk, struct synfin_sk_owner *own)
{
	__u64 key = (__u64)sk;
	struct accept_owner *acc = bpf_map_lookup_elem(&accept_owners, &key);

	if (!acc)
		return;
	/* Keyed by address, and a socket's address is reused: an entry whose
	 * socket died unseen (a recursion miss on its destroy) must not name
	 * the next socket there. */
	if (acc->ts_ns >= own->start_ns) {
		own->pid = acc->pid;
		__builtin_memcpy(own->comm, acc->comm, sizeof(own->comm));
		own->flags |= SYNFIN_F_OWNER_KNOWN | SYNFIN_F_OWNER_ACCEPT;
	}
	bpf_map_delete_elem(&accept_owners, &key);
}

/* Bring the per-socket owner record up to date for this transition. */
static __always_inline void update_owner(struct sock *sk, struct synfin_sk_owner *own,
					 int old, int new, __u64 now, const bool classic)
{
	if (old == TCP_CLOSE && new == TCP_SYN_SENT) {
		story_begin(own);
		if (summarize)
			keep_connect_tuple(sk, own, classic);
		own->start_ns = now;
		own->close_seen = 0;
		own->flags &= ~OWN_EMITTED;
		set_owner_current(own, SYNFIN_F_ACTIVE);
		own->flags &= ~SYNFIN_F_PASSIVE;
		return;
	}
	if (old == TCP_CLOSE && new == TCP_LISTEN) {
		story_begin(own);
		own->connect_rport = 0; /* its children's storage is a copy */
		own->flags &= ~OWN_EMITTED;
		set_owner_current(own, 0);
		own->flags &= ~(SYNFIN_F_ACTIVE | SYNFIN_F_PASSIVE);
		return;
	}
	if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		/* A fresh child: its entry is the listener's clone. Keep the
		 * listener's owner as the provisional owner, reset the rest. */
		story_begin(own);
		own->start_ns = now;
		own->close_seen = 0;
		own->flags = (own->flags & SYNFIN_F_OWNER_KNOWN) | SYNFIN_F_PASSIVE;
		return;
	}
	if ((own->flags & SYNFIN_F_PASSIVE) && !(own->flags & SYNFIN_F_OWNER_ACCEPT)) {
		if (!owner_at_close)
			take_accept_owner(sk, own);
		else if (owner_is_current(old, new))
			/* a pre-fork server's worker, not the master that listened */
			set_owner_current(own, 0);
	}
	if (!(own->flags & SYNFIN_F_OWNER_KNOWN) && owner_is_current(old, new))
		set_owner_current(own, 0);
}

static __always_inline void fill_owner(struct synfin_event *e, const struct synfin_sk_owner *own)
{
	if (!own)
		return;
	e->start_ns = own->start_ns;
	e->flags |= own->flags & (SYNFIN_F_OWNER_KNOWN | SYNFIN_F_OWNER_ACCEPT |
				  SYNFIN_F_ACTIVE | SYNFIN_F_PASSIVE);
	if (own->flags & SYNFIN_F_OWNER_KNOWN) {
		e->pid = own->pid;
		__builtin_memcpy(e->comm, own->comm, sizeof(e->comm));
	}
}

/* A filled-in close (or destroy) record becomes the socket's summary: its
 * story, flags added, and the tw sock's birth if one waits for it. */
static __always_inline void finish_conn_record(void *rec, const struct synfin_sk_owner *own,
					       __u8 flags, __u32 level)
{
	struct synfin_conn_event *ce = rec;

	ce->close.kind = SYNFIN_EV_CONN;
	if (own)
		__builtin_memcpy(&ce->story, &own->story, sizeof(ce->story));
	else
		__builtin_memset(&ce->story, 0, sizeof(ce->story));
	ce->story.flags |= flags;
	tw_birth_take(ce, level);
}

static __always_inline void hs_sample(__u32 side, __u64 ns)
{
	struct synfin_hs_hist *h = bpf_map_lookup_elem(&handshakes, &side);
	__u32 i = synfin_hs_bucket(ns);

	/* tp_state's second copy (a softirq transition inside the first's
	 * run on the CPU) writes it too: an add that cannot lose the other's */
	if (h && i < SYNFIN_HS_BUCKETS)
		__sync_fetch_and_add(&h->n[i], 1);
}

static __always_inline void listener_add(void *opens, const struct synfin_listener_key *key)
{
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(opens, key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (!bpf_map_update_elem(opens, key, &one, BPF_NOEXIST))
		return;
	/* another CPU may have added it meanwhile */
	n = bpf_map_lookup_elem(opens, key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count(SYNFIN_CNT_LIVE_MAP_FULL);
}

static __always_inline void listener_opened(struct sock *sk, const struct tcp_sock *tp,
					    const bool classic)
{
	struct synfin_listener_key key = {};

	key.netns = sock_netns(&sk->__sk_common, !classic);
	key.port = sock_local_port(tp, !classic);
	key.family = SF_READ(!classic, sk, __sk_common.skc_family);
	read_addr_pair(&sk->__sk_common, key.family, key.addr, NULL, !classic);
	/* one map for each call: the verifier knows which */
	if (listener_gen & 1)
		listener_add(&listener_opens1, &key);
	else
		listener_add(&listener_opens, &key);
}

/* Classic mode's CLOSE_WAIT map: the only mode with entries in it (tp_btf
 * marks the socket's storage instead), so the socket is read by probe
 * reads and known by its classic id. */
static __always_inline void close_wait_entered(struct sock *sk, struct synfin_sk_owner *own,
					       __u64 now)
{
	struct synfin_close_wait cw = {};
	__u64 id = own->classic_id;

	cw.enter_ns = now;
	cw.netns = sock_netns(&sk->__sk_common, false);
	cw.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	cw.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	cw.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	read_addr_pair(&sk->__sk_common, cw.family, NULL, cw.raddr, false);
	if (own->flags & SYNFIN_F_OWNER_KNOWN) {
		cw.flags = SYNFIN_F_OWNER_KNOWN;
		cw.pid = own->pid;
		__builtin_memcpy(cw.comm, own->comm, sizeof(cw.comm));
	}
	if (bpf_map_update_elem(&close_waits, &id, &cw, BPF_ANY)) {
		count(SYNFIN_CNT_LIVE_MAP_FULL);
		return;
	}
	own->flags |= OWN_IN_CW;
}

static __always_inline void close_wait_left(struct synfin_sk_owner *own, const bool classic)
{
	__u64 id;

	if (!own)
		return;
	/* tp_btf: the mark goes with the state, so the marks standing can
	 * be counted (SYNFIN_CNT_CW_MARKED) */
	if (!classic && own->cw_since_ns)
		cw_unmark(own);
	if (!classic || !(own->flags & OWN_IN_CW))
		return;
	id = own->classic_id;
	bpf_map_delete_elem(&close_waits, &id);
	own->flags &= ~OWN_IN_CW;
}

/* Summary mode: what the live figures need from a transition that sends
 * no record. */
static __always_inline void note_live(struct sock *sk, const struct tcp_sock *tp,
				      struct synfin_sk_owner *own, int old, int new, __u64 now,
				      const bool classic)
{
	if (old == TCP_CLOSE_WAIT)
		close_wait_left(own, classic);
	if (new == TCP_ESTABLISHED && old == TCP_SYN_SENT) {
		count(SYNFIN_CNT_OPENS_ACTIVE);
		if (own && own->start_ns && now > own->start_ns)
			hs_sample(SYNFIN_HS_CLIENT, now - own->start_ns);
	} else if (new == TCP_ESTABLISHED && old == TCP_SYN_RECV) {
		__u32 srtt_us = SF_READ(!classic, tp, srtt_us) >> 3;

		count(SYNFIN_CNT_OPENS_PASSIVE);
		if (srtt_us)
			hs_sample(SYNFIN_HS_SERVER, (__u64)srtt_us * 1000);
		listener_opened(sk, tp, classic);
	} else if (new == TCP_CLOSE_WAIT && own) {
		/* tp_btf: the mark in storage is all it takes, as user space
		 * finds the sockets in CLOSE_WAIT with sock_diag, which hands
		 * back their storage; a map insert and delete per server
		 * connection cost more than the rest of those two runs. */
		if (classic) {
			close_wait_entered(sk, own, now);
		} else {
			if (!own->cw_since_ns) {
				own->cw_slot = cw_gen & (SYNFIN_CW_SLOTS - 1);
				count(SYNFIN_CNT_CW_MARKED + own->cw_slot);
			}
			own->cw_since_ns = now;
		}
	}
}

/* --failed: a summary that, by what the kernel already knows, tells of an
 * orderly end: from FIN-WAIT-2, CLOSING or LAST-ACK (so established, in
 * the reconstruction's eyes too) with no reset either way, no error and
 * no SO_LINGER 0 (which resets from FIN-WAIT-2 after the ->CLOSE). A
 * narrower test than user space's conn_failed, which judges every
 * record that comes: the kernel only spares the ring the records that
 * would fail it for sure, the bulk of a busy host's. */
static __always_inline bool conn_went_well(const struct synfin_conn_event *ce)
{
	if (ce->close.err || (ce->close.flags & SYNFIN_F_LINGER0) ||
	    (ce->story.flags & (SYNFIN_STORY_RST_SENT | SYNFIN_STORY_RST_RECEIVED)))
		return false;
	return ce->close.old_state == TCP_FIN_WAIT2 || ce->close.old_state == TCP_CLOSING ||
	       ce->close.old_state == TCP_LAST_ACK;
}

/* tcp_fin_time(), in ms: the longest an orphan's FIN_WAIT2 tw sock
 * waits for the peer's FIN (it waits less when the orphan was kept as a
 * full socket first). HZ unknown: the smallest, for the longest wait. */
static __always_inline __u32 fin_time_ms(struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 rto = BPF_CORE_READ(tp, inet_conn.icsk_rto);
	__u64 hz = CONFIG_HZ ? CONFIG_HZ : 100;
	int fin = BPF_CORE_READ(tp, linger2);

	if (!fin)
		fin = BPF_CORE_READ(sk, __sk_common.skc_net.net, ipv4.sysctl_tcp_fin_timeout);
	if (fin < (int)((rto << 2) - (rto >> 1)))
		fin = (int)((rto << 2) - (rto >> 1));
	return fin > 0 ? (__u32)((__u64)fin * 1000 / hz) : 0;
}

/* -F: an orphan whose ->CLOSE came in FIN_WAIT2 before the peer's FIN
 * has not finished its wave. Its tw sock waits for that FIN, and a reset
 * may come instead: the peer closed with our data unread, or sent on
 * after our close. That is a failure the ->CLOSE could not see, so the
 * summary waits here until the tw sock's segments tell (tp_kfree_skb,
 * tcp_send_reset). One the map has no room for is counted: a reset that
 * ends its wave would go unseen. */
static __always_inline void fw2_hold(struct sock *sk, struct synfin_conn_event *ce)
{
	const struct net *net;
	int tws, max_tws;

	if (!fw2_watch || ce->close.old_state != TCP_FIN_WAIT2 || !ce->close.cookie ||
	    (ce->close.flags & (SYNFIN_F_DONE | SYNFIN_F_ORPHAN)) != SYNFIN_F_ORPHAN)
		return;
	/* At tcp_max_tw_buckets the orphan got no tw sock (the kernel counts
	 * TCPTimeWaitOverflow): nothing is left for a FIN or a reset to reach,
	 * and its wait would only fill the map until the sweep. A tw sock
	 * that took the last place looks the same, and is not held either. */
	net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	tws = BPF_CORE_READ(net, ipv4.tcp_death_row.tw_refcount.refs.counter);
	max_tws = BPF_CORE_READ(net, ipv4.tcp_death_row.sysctl_max_tw_buckets);
	if (tws - 1 >= max_tws) {
		count(SYNFIN_CNT_FW2_NO_TW);
		return;
	}
	/* when user space may drop it: its tw sock has gone by then */
	ce->story.tw_state = TCP_FIN_WAIT2;
	ce->story.tw_left = fin_time_ms(sk);
	if (bpf_map_update_elem(&fw2_waits, &ce->close.cookie, ce, BPF_ANY))
		count(SYNFIN_CNT_FW2_FULL);
}

/* -F: a reset ended the wave of an orphan held since its ->CLOSE (how:
 * SYNFIN_AFTER_CLOSE_*), so its summary goes out now, saying so. The
 * delete that succeeds ships it: one record however many CPUs see the
 * tw sock's last segments. */
static __always_inline void fw2_release(__u64 cookie, __u8 how, __u32 slot)
{
	struct synfin_conn_event *held, *ce;
	__u64 after_us;

	held = cookie ? bpf_map_lookup_elem(&fw2_waits, &cookie) : NULL;
	if (!held)
		return;
	ce = bpf_map_lookup_elem(&conn_scratch, &slot);
	if (!ce)
		return;
	__builtin_memcpy(ce, held, sizeof(*ce));
	if (bpf_map_delete_elem(&fw2_waits, &cookie))
		return;
	after_us = (bpf_ktime_get_ns() - ce->close.ts_ns) / 1000;
	ce->story.after_close = how;
	ce->story.after_close_us = after_us > 0xffffffffULL ? 0xffffffffU : (__u32)after_us;
	ship_conn(ce);
}

/* Tests only (SYNFIN_TEST_LOSE_CLOSE): every ->CLOSE record is lost as
 * to a full ring, and counted so, for the destroy record to stand in. */
const volatile bool test_lose_close = false;

static __always_inline int handle_state(struct sock *sk, int old, int new,
					const bool classic, const __u32 level)
{
	struct synfin_event *e;
	struct synfin_sk_owner *own;
	struct tcp_sock *tp;
	enum verdict verdict = V_PASS;
	/* summary mode's one record, in place of the ->CLOSE state record */
	bool conn_record = summarize && new == TCP_CLOSE;
	bool birth, sticky;
	__u64 now;

	tp = tcp_sock_of(sk, classic);
	if (!tp)
		return 0;
	/* A socket never changes namespace, so one outside --netns was never
	 * emitted (sticky) either: drop it before any storage call. With
	 * --netns, that is most runs on a busy host. */
	if (filter_netns && sock_netns(&sk->__sk_common, !classic) != filter_netns) {
		count(SYNFIN_CNT_FILTERED);
		return 0;
	}
	/* a birth starts a new story: a reused socket, or a child whose
	 * storage is its listener's clone, is judged afresh. So a birth needs
	 * no lookup before the filters: the one get-or-create call after
	 * them serves (one storage call instead of two for a new socket). */
	birth = old == TCP_CLOSE || old == TCP_LISTEN;
	own = birth ? NULL : get_owner(sk, false, classic);
	sticky = already_emitted(own);
	if (!sticky) {
		__u8 family = SF_READ(!classic, sk, __sk_common.skc_family);

		if (!pass_sock_filters(family, sock_netns(&sk->__sk_common, !classic), sk) ||
		    !pass_sock_uid(sk, classic))
			verdict = V_DROP;
		else
			verdict = port_verdict(sock_local_port(tp, !classic),
					       bpf_ntohs(SF_READ(!classic, sk,
								 __sk_common.skc_dport)));
		if (verdict != V_DROP) {
			enum verdict by_addr = sock_addr_verdict(&sk->__sk_common, family,
								 !classic);

			if (by_addr != V_PASS)
				verdict = by_addr;
		}
		if (verdict == V_DROP) {
			tw_birth_forget(sk, new, level, classic);
			count(SYNFIN_CNT_FILTERED);
			return 0;
		}
	}
	now = bpf_ktime_get_ns();
	if (!own)
		own = get_owner(sk, true, classic);
	/* A tw sock copies its socket's cookie when it is born, and the
	 * kernel hands out a cookie only when asked: a socket with no record
	 * on the ring before its ->CLOSE (summary mode) would leave a tw sock
	 * with cookie 0, whose timer records name no connection. */
	if (birth && (tw_timer_fn || fw2_watch) && !classic)
		sock_cookie(sk);
	if (own) {
		update_owner(sk, own, old, new, now, classic);
		if (summarize && new != TCP_CLOSE)
			story_note(own, tp, old, new, now, classic);
	} else {
		count(SYNFIN_CNT_STORAGE_FAIL);
	}
	if (verdict == V_UNDECIDED) {
		tw_birth_forget(sk, new, level, classic);
		count(SYNFIN_CNT_FILTERED);
		return 0;
	}
	if (own && !sticky && !pass_owner_filter(own)) {
		tw_unfollow(sk, old, new, tw_birth_forget(sk, new, level, classic), classic);
		count(SYNFIN_CNT_FILTERED);
		return 0;
	}
	if (summarize && live_figures)
		note_live(sk, tp, own, old, new, now, classic);
	/* summary mode: most transitions end here, in the story */
	if (summarize && new != TCP_CLOSE)
		return 0;
	/* A listener's close ends no connection: its summary would only be
	 * dropped in user space (which knows LISTEN->CLOSE for a listener's,
	 * one it never saw listen included), so it costs the ring nothing.
	 * Settled as if shipped: its destroy needs no record either. */
	if (conn_record && old == TCP_LISTEN) {
		if (own)
			own->close_seen = 1;
		put_owner(sk, classic);
		return 0;
	}
	tw_birth_release(new, level, classic);
	if (conn_record)
		e = (struct synfin_event *)conn_scratch_get(slot_at(CONN_SLOT, level));
	else
		e = reserve_event(SYNFIN_EV_STATE);
	if (!e)
		return 0;
	fill_sock_identity(sk, tp, e, own, classic);
	e->ts_ns = now;
	e->kind = SYNFIN_EV_STATE;
	e->old_state = old;
	e->new_state = new;
	e->err = SF_READ(!classic, sk, sk_err);
	e->flags = sock_flags_of(sk, !classic) | SYNFIN_F_UID; /* fill_sock_identity */
	if (owner_is_current(old, new))
		e->flags |= SYNFIN_F_PROC_CTX;
	fill_owner(e, own);
	read_tcp_figures(tp, e, !classic);
	if (conn_record) {
		if (own && old == TCP_FIN_WAIT2)
			wave_fin_arrived(own, e);
		if (own && (own->flags & OWN_WAVE_KNOWN))
			e->flags |= SYNFIN_F_WAVE_KNOWN;
		finish_conn_record(e, own, 0, level);
		/* kept from the ring, but the socket's end is settled as if
		 * shipped: its destroy needs no record */
		if (filter_failed && conn_went_well((struct synfin_conn_event *)e)) {
			count(SYNFIN_CNT_FILTERED);
			if (!classic)
				fw2_hold(sk, (struct synfin_conn_event *)e);
		} else if (test_lose_close) {
			count_ring_full(e->kind);
			return 0;
		} else if (!ship_conn((struct synfin_conn_event *)e)) {
			return 0;
		}
	} else if (test_lose_close && new == TCP_CLOSE) {
		bpf_ringbuf_discard(e, 0);
		count_ring_full(SYNFIN_EV_STATE);
		return 0;
	} else {
		submit_event(e);
	}
	if (own) {
		own->flags |= OWN_EMITTED;
		/* only a ->CLOSE that made it out spares the destroy record */
		if (new == TCP_CLOSE)
			own->close_seen = 1;
	}
	if (new == TCP_CLOSE)
		put_owner(sk, classic);
	return 0;
}

/* The kernel runs a program at most once per CPU at a time: a transition
 * in softirq (an ACK or FIN arriving) that lands while tp_state runs in
 * process context (connect(), close()) on that CPU is a recursion miss of
 * tp_state, and a socket destroyed in softirq likewise of tp_destroy. So
 * each has a second copy (tp_state_nested, tp_destroy_nested), attached
 * after it, that handles exactly the runs the first did not get.
 *
 * Runs on one CPU nest only two deep here (softirq inside process
 * context; softirqs do not nest), and at one depth they follow each other:
 * the first copy for an event, then the second for the same event, with
 * only the deeper level able to run in between. So at each level the first
 * copy leaves a claim (the socket and what happened to it) as it finishes,
 * and the second takes it: an event with no claim of its own at its level
 * is one the first copy was skipped for. A flag raised while the first
 * copy runs could not do this: the kernel counts a run as begun a little
 * before the program's first instruction and as ended a little after its
 * last, and an event landing there is skipped with the flag down (a tenth
 * of the misses under load). preempt_count cannot be read without data
 * symbols in kallsyms, so the level comes from the stack the tracepoint
 * runs on (run_level) where softirqs have one of their own, and from the
 * softirq tracepoints elsewhere.
 *
 * A miss of a second copy loses nothing: it is busy only after the first
 * copy finished at that level, so the first copy ran for the deeper one. */
struct run_claims {
	__u64 sk[2];	/* socket pointer, by level: 0 task, 1 softirq */
	__u32 what[2];	/* transition (old << 4 | new) or CLAIM_DESTROY */
	__u32 in_softirq;
	__u32 __pad;
};

/* The size of a task's kernel stack, where the kernel runs softirqs that
 * interrupt a task on a stack of their own (x86_64): then the level is
 * whether this run's tracepoint lies outside the current task's stack, and
 * the softirq tracepoints are not needed (run_level). 0: they give it. */
const volatile __u64 task_stack_size = 0;

#define CLAIM_DESTROY 0x100

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct run_claims);
} run_claims SEC(".maps");

static __always_inline struct run_claims *cpu_claims(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&run_claims, &zero);
}

static __always_inline __u32 transition_code(int old, int new)
{
	return ((__u32)old & 15) << 4 | ((__u32)new & 15);
}

/* 0 in task context, 1 in a softirq that interrupted a task. ctx, the
 * tracepoint's argument array, is a local of the kernel function that ran
 * the program, so it lies on the stack that function runs on: the task's,
 * or the IRQ stack a softirq runs on. (Not the program's own frame: from
 * 6.13 tracing programs may run on a private per-CPU stack.) A softirq run
 * on the task's stack is level 0 here: ksoftirqd, or one at the end of an
 * interrupt of user mode. Neither can have interrupted a first copy, as
 * user mode and ksoftirqd run none. The verifier compares a pointer only
 * as a number, and an atomic add into this run's own stack slot makes it
 * one (a pointer leak only root may make: synfin needs CAP_PERFMON
 * anyway). Not a store to the per-CPU map: a softirq could overwrite it
 * between the store and the load. */
static __always_inline __u32 run_level(struct run_claims *c, void *ctx)
{
	__u64 args = 0, stack;

	if (!task_stack_size ||
	    !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		return c->in_softirq & 1;
	__sync_fetch_and_add(&args, (__u64)ctx);
	stack = (__u64)bpf_get_current_task_btf()->stack;
	return args - stack >= task_stack_size;
}

/* A tp_btf program's run level on its CPU, for its claims and its scratch
 * slots; 0 where the claims map is not there to say. */
static __always_inline __u32 level_of(struct run_claims *c, void *ctx)
{
	return c ? run_level(c, ctx) & 1 : 0;
}

static __always_inline __u32 cpu_level(void *ctx)
{
	return level_of(cpu_claims(), ctx);
}

/* the first copy ran for this event */
static __always_inline void claim_run(struct run_claims *c, __u32 level, struct sock *sk,
				      __u32 what)
{
	if (!c)
		return;
	c->sk[level & 1] = (__u64)sk;
	c->what[level & 1] = what;
}

/* In the second copy: true if the first ran for this event (its claim is
 * taken), false if it was skipped (a recursion miss, counted as caught). */
static __always_inline bool first_copy_ran(struct run_claims *c, __u32 level, struct sock *sk,
					   __u32 what)
{
	if (!c)
		return true;
	level &= 1;
	if (c->sk[level] == (__u64)sk && c->what[level] == what) {
		c->sk[level] = 0;
		return true;
	}
	count(SYNFIN_CNT_NESTED_CAUGHT);
	return false;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(tp_softirq_entry, unsigned int vec)
{
	struct run_claims *c = cpu_claims();

	if (c)
		c->in_softirq = 1;
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(tp_softirq_exit, unsigned int vec)
{
	struct run_claims *c = cpu_claims();

	if (c)
		c->in_softirq = 0;
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_state, struct sock *sk, int old, int new)
{
	struct run_claims *c = cpu_claims();
	__u32 level = level_of(c, ctx);

	handle_state(sk, old, new, false, level);
	claim_run(c, level, sk, transition_code(old, new));
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_state_nested, struct sock *sk, int old, int new)
{
	struct run_claims *c = cpu_claims();
	__u32 level = level_of(c, ctx);

	if (first_copy_ran(c, level, sk, transition_code(old, new)))
		return 0;
	return handle_state(sk, old, new, false, level);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tpc_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return handle_state((struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate, true, 0);
}

/* Events about a full socket other than a state change: same filters,
 * owner read from storage without creating it. */
/* own is the socket's storage (or NULL), looked up by the caller. The
 * filters read the socket only for a socket not yet committed (sticky). */
static __always_inline struct synfin_event *owned_sock_record(struct sock *sk,
							      struct synfin_sk_owner *own, __u8 kind,
							      const __u64 size, const bool classic)
{
	struct synfin_event *e;
	struct tcp_sock *tp;

	/* destroy stands in for a ->CLOSE that did not reach the ring: of any
	 * socket synfin followed (a seeded one may have had no other record).
	 * Checked first: it is the common case and needs no helper call. */
	if (kind == SYNFIN_EV_DESTROY && (!own || own->close_seen))
		return NULL;
	tp = tcp_sock_of(sk, classic);
	if (!tp)
		return NULL;
	if (!already_emitted(own)) {
		if (!sock_passes_tuple_filters(sk, tp,
					       kind == SYNFIN_EV_DESTROY ? own : NULL, !classic) ||
		    (own && !pass_owner_filter(own))) {
			count(SYNFIN_CNT_FILTERED);
			return NULL;
		}
	}
	e = reserve_record(kind, size);
	if (!e)
		return NULL;
	fill_sock_identity(sk, tp, e, own, classic);
	if (kind == SYNFIN_EV_DESTROY && own)
		restore_connect_tuple(e, own);
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->new_state = SF_READ(!classic, sk, __sk_common.skc_state);
	e->old_state = e->new_state;
	e->err = SF_READ(!classic, sk, sk_err);
	e->flags = sock_flags_of(sk, !classic) | SYNFIN_F_UID; /* fill_sock_identity */
	fill_owner(e, own);
	read_tcp_figures(tp, e, !classic);
	return e;
}

static __always_inline struct synfin_event *owned_sock_event(struct sock *sk,
							     struct synfin_sk_owner *own, __u8 kind,
							     const bool classic)
{
	return owned_sock_record(sk, own, kind, sizeof(struct synfin_event), classic);
}

/* Summary mode folds a socket's retransmits and resets into its story
 * whether or not the filters keep the socket (its record is judged at its
 * close), but counts them for the live rates only where the filters keep
 * it so far, by the rule --events ships their records by
 * (owned_sock_record): `top -p PID` shows that process's rates, not the
 * host's. The socket is read only when a tuple filter is set. */
static __always_inline bool fold_is_kept(struct sock *sk, const struct synfin_sk_owner *own,
					 const bool classic)
{
	struct tcp_sock *tp;

	if (already_emitted(own))
		return true;
	if (!pass_owner_filter(own))
		return false;
	if (!any_tuple_filter())
		return true;
	tp = tcp_sock_of(sk, classic);
	return tp && sock_passes_tuple_filters(sk, tp, NULL, !classic);
}

static __always_inline int handle_retransmit(struct sock *sk, const struct sk_buff *skb,
					     const bool classic)
{
	struct tcp_skb_cb *tcb = (struct tcp_skb_cb *)&skb->cb[0];
	/* tcp_flags grew from u8 to u16; the flags live in the low byte. */
	__u8 tcp_flags = BPF_CORE_READ_BITFIELD_PROBED(tcb, tcp_flags);
	/* one call per buffer; under TSO/GSO a buffer is several segments */
	__u32 segs = synfin_retrans_segs(BPF_CORE_READ(tcb, tcp_gso_segs));
	struct synfin_sk_owner *own = get_owner(sk, false, classic);
	struct synfin_event *e;

	if (summarize && own) {
		struct synfin_story *st = &own->story;
		int state = SF_READ(!classic, sk, __sk_common.skc_state);
		/* the same split as the consumer makes from the records */
		struct synfin_retrans_split split = synfin_split_retrans(tcp_flags, state, segs);

		st->syn_retrans += split.syn;
		st->fin_retrans += split.fin;
		st->data_retrans += split.data;
		if (fold_is_kept(sk, own, classic))
			count_n(SYNFIN_CNT_RETRANS_FOLDED, segs);
		return 0;
	}
	e = owned_sock_event(sk, own, SYNFIN_EV_RETRANSMIT, classic);
	if (!e)
		return 0;
	e->seq = BPF_CORE_READ(tcb, seq);
	e->end_seq = BPF_CORE_READ(tcb, end_seq);
	e->tcp_flags = tcp_flags;
	e->reason = segs;
	submit_event(e);
	return 0;
}

/* Summary mode: a reset of a socket with a story is a flag in it. */
static __always_inline bool fold_reset(struct sock *sk, struct synfin_sk_owner *own,
				       __u8 story_flag, __u32 counter, const bool classic)
{
	if (!summarize || !own)
		return false;
	own->story.flags |= story_flag;
	if (fold_is_kept(sk, own, classic))
		count(counter);
	return true;
}

/* Newer kernels (6.18 here) fire the tracepoint for every attempt, with
 * the attempt's error; older ones only for a segment that went out. An
 * attempt that gave up before the segment was handed down sent nothing
 * (-EBUSY: the first copy still sits in this host's queue, waiting for a
 * neighbour, say; -EAGAIN: no window; -EHOSTUNREACH: no route; -ENOMEM,
 * -EINVAL), and the kernel's own counters (total_retrans, TcpRetransSegs)
 * leave it out too. Any other error came from below, after those counters
 * took the segments: a local queue that dropped them (NET_XMIT_DROP, a
 * positive 1), -ENOBUFS. Those count, as the kernel counts them. */
static __always_inline bool retrans_gave_up(int err)
{
	return err == -16 /* EBUSY */ || err == -11 /* EAGAIN */ || err == -22 /* EINVAL */ ||
	       err == -12 /* ENOMEM */ || err == -113 /* EHOSTUNREACH */;
}

/* The loader picks the program by the tracepoint's prototype: a tp_btf
 * program may not read an argument it does not have. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tp_retransmit, struct sock *sk, struct sk_buff *skb)
{
	return handle_retransmit(sk, skb, false);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tp_retransmit_err, struct sock *sk, struct sk_buff *skb, int err)
{
	if (retrans_gave_up(err)) {
		count(SYNFIN_CNT_RETRANS_UNSENT);
		return 0;
	}
	return handle_retransmit(sk, skb, false);
}

/* Before 6.17 (tcp_retransmit_skb) and 6.10 (tcp_send_reset) both
 * tracepoints were events of one class, tcp_event_sk_skb, and the
 * kernel's BTF names their context by the class, not by the event: a
 * read through the event's own type would find no such type there and
 * fail the whole load. CO-RE places the two fields read by name. */
struct trace_event_raw_tcp_event_sk_skb___old {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tpc_retransmit(void *ctx)
{
	struct trace_event_raw_tcp_retransmit_skb *now = ctx;
	struct trace_event_raw_tcp_event_sk_skb___old *old = ctx;

	if (!bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb))
		return handle_retransmit((struct sock *)old->skaddr,
					 (const struct sk_buff *)old->skbaddr, true);
	if (bpf_core_field_exists(now->err) && retrans_gave_up(now->err)) {
		count(SYNFIN_CNT_RETRANS_UNSENT);
		return 0;
	}
	return handle_retransmit((struct sock *)now->skaddr,
				 (const struct sk_buff *)now->skbaddr, true);
}

static __always_inline int handle_receive_reset(struct sock *sk, const bool classic)
{
	struct synfin_sk_owner *own = get_owner(sk, false, classic);
	struct synfin_event *e;

	if (fold_reset(sk, own, SYNFIN_STORY_RST_RECEIVED, SYNFIN_CNT_RST_RECV_FOLDED, classic))
		return 0;
	e = owned_sock_event(sk, own, SYNFIN_EV_RESET_RECEIVED, classic);
	if (e)
		submit_event(e);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tp_receive_reset, struct sock *sk)
{
	return handle_receive_reset(sk, false);
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tpc_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	return handle_receive_reset((struct sock *)ctx->skaddr, true);
}

/* Only emitted when the socket's ->CLOSE transition was not (a recursion
 * miss, a full ring buffer): it lets user space finish the connection. */
static __always_inline int handle_destroy(struct sock *sk, const bool classic, __u32 level)
{
	struct synfin_sk_owner *own = get_owner(sk, false, classic);
	struct synfin_event *e;

	/* an owner accept() handed over that no event took; none are
	 * handed over with owner_at_close, and a delete costs ~200 ns */
	if (!owner_at_close && (!own || ((own->flags & SYNFIN_F_PASSIVE) &&
					 !(own->flags & SYNFIN_F_OWNER_ACCEPT)))) {
		__u64 key = (__u64)sk;

		bpf_map_delete_elem(&accept_owners, &key);
	}
	/* its ->LAST_ACK or ->CLOSE was missed (a recursion miss) */
	close_wait_left(own, classic);
	if (summarize) {
		/* the story the missed ->CLOSE would have carried */
		e = owned_sock_record(sk, own, SYNFIN_EV_DESTROY,
				      sizeof(struct synfin_conn_event), classic);
		if (e)
			finish_conn_record(e, own, SYNFIN_STORY_DESTROY, level);
	} else {
		e = owned_sock_event(sk, own, SYNFIN_EV_DESTROY, classic);
	}
	if (e)
		submit_event(e);
	put_owner(sk, classic);
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tp_destroy, struct sock *sk)
{
	struct run_claims *c = cpu_claims();
	__u32 level = level_of(c, ctx);

	handle_destroy(sk, false, level);
	claim_run(c, level, sk, CLAIM_DESTROY);
	return 0;
}

/* see tp_state_nested */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tp_destroy_nested, struct sock *sk)
{
	struct run_claims *c = cpu_claims();
	__u32 level = level_of(c, ctx);

	if (first_copy_ran(c, level, sk, CLAIM_DESTROY))
		return 0;
	return handle_destroy(sk, false, level);
}

SEC("tracepoint/tcp/tcp_destroy_sock")
int tpc_destroy(struct trace_event_raw_tcp_event_sk *ctx)
{
	return handle_destroy((struct sock *)ctx->skaddr, true, 0);
}

static __always_inline int handle_synack(struct sock *sk, const struct request_sock *req,
					 const bool classic)
{
	const struct sock_common *rc = &req->__req_common;
	struct synfin_sk_owner *own = get_owner(sk, false, classic);
	struct synfin_event *e;
	__u8 family = SF_READ(!classic, rc, skc_family);
	__u32 netns = sock_netns(rc, !classic);
	__u16 lport = SF_READ(!classic, rc, skc_num);
	/* the listener's uid: the one the request's socket will take */
	__u32 uid = SF_READ(!classic, sk, sk_uid.val);

	if (!pass_sock_filters(family, netns, sk) || !pass_uid_filter(true, uid) ||
	    !pass_port_filters(lport, bpf_ntohs(SF_READ(!classic, rc, skc_dport))) ||
	    sock_addr_verdict(rc, family, !classic) != V_PASS ||
	    (own && !pass_owner_filter(own))) {
		count(SYNFIN_CNT_FILTERED);
		return 0;
	}
	e = reserve_event(SYNFIN_EV_SYNACK_RETRANSMIT);
	if (!e)
		return 0;
	read_common_addrs(rc, e, !classic);
	e->lport = lport;
	e->netns = netns;
	/* the listener's: the one the request's socket will take */
	e->cgroup_id = sock_cgroup_id(sk, !classic);
	if (!classic)
		e->cookie = sock_cookie(sk);
	else if (own)
		e->cookie = own->classic_id;
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = SYNFIN_EV_SYNACK_RETRANSMIT;
	e->old_state = e->new_state = TCP_SYN_RECV;
	e->retransmits = SF_READ(!classic, req, num_retrans);
	/* The SYN-ACK's seq and ack as a capture shows them: a handshake
	 * that never completes leaves no other trace of the server's ISN.
	 * Read, not loaded: the tracepoint types req as the smaller
	 * request_sock. rcv_nxt is past the data a Fast Open SYN carried. */
	e->seq = BPF_CORE_READ((const struct tcp_request_sock *)req, snt_isn);
	e->rcv_nxt = BPF_CORE_READ((const struct tcp_request_sock *)req, rcv_nxt);
	e->uid = uid;
	e->flags = SYNFIN_F_REQ_SK | SYNFIN_F_UID;
	fill_owner(e, own);
	e->start_ns = 0;
	submit_event(e);
	return 0;
}

/* A half-open request retransmitted its SYN-ACK. The tuple is the
 * request's; the id and owner are the listener's. */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tp_retransmit_synack, struct sock *sk, struct request_sock *req)
{
	return handle_synack(sk, req, false);
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tpc_retransmit_synack(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	return handle_synack((struct sock *)ctx->skaddr,
			     (const struct request_sock *)ctx->req, true);
}

/* The tuple of a reset sent with no socket, from the segment it answers:
 * our local end is that segment's destination. */
static __always_inline void fill_from_skb(const struct sk_buff *skb, struct synfin_event *e,
					  const bool direct)
{
	unsigned char *head = SF_READ(direct, skb, head);
	__u16 nh = SF_READ(direct, skb, network_header);
	__u16 th = SF_READ(direct, skb, transport_header);
	struct tcphdr tcph;
	__u8 version;

	if (bpf_probe_read_kernel(&version, 1, head + nh))
		return;
	version >>= 4;
	if (version == 4) {
		struct iphdr iph;

		if (bpf_probe_read_kernel(&iph, sizeof(iph), head + nh))
			return;
		e->family = AF_INET;
		__builtin_memcpy(e->laddr, &iph.daddr, 4);
		__builtin_memcpy(e->raddr, &iph.saddr, 4);
	} else if (version == 6) {
		struct ipv6hdr ip6h;

		if (bpf_probe_read_kernel(&ip6h, sizeof(ip6h), head + nh))
			return;
		e->family = AF_INET6;
		__builtin_memcpy(e->laddr, &ip6h.daddr, 16);
		__builtin_memcpy(e->raddr, &ip6h.saddr, 16);
	} else {
		return;
	}
	if (bpf_probe_read_kernel(&tcph, sizeof(tcph), head + th))
		return;
	e->lport = bpf_ntohs(tcph.dest);
	e->rport = bpf_ntohs(tcph.source);
}

/* An IPv4 tuple as a dual-stack (AF_INET6) socket keeps it: ::ffff:a.b.c.d. */
static __always_inline void map_v4_tuple(struct synfin_event *e)
{
	__u32 l, r;

	__builtin_memcpy(&l, e->laddr, 4);
	__builtin_memcpy(&r, e->raddr, 4);
	__builtin_memset(e->laddr, 0, 10);
	__builtin_memset(e->raddr, 0, 10);
	e->laddr[10] = e->laddr[11] = 0xff;
	e->raddr[10] = e->raddr[11] = 0xff;
	__builtin_memcpy(&e->laddr[12], &l, 4);
	__builtin_memcpy(&e->raddr[12], &r, 4);
	e->family = AF_INET6;
}

/* The namespace a segment arrived in, from its device: a reset sent with
 * no socket has nothing else to name it by, and --netns must still see
 * it. A rare path, so plain probe reads. */
static __always_inline __u32 skb_netns(const struct sk_buff *skb)
{
	return net_netns(BPF_CORE_READ(skb, dev, nd_net.net), false);
}

/* A tw sock's reset note spills like the tw sock's other records: its
 * connection's record may be waiting in the spill map, and without the
 * note the kill that follows would name no cause. The spill map takes a
 * whole slot, so the note is copied into this program's own. */
static __always_inline void ship_tw_note(const struct synfin_event *r, __u32 level)
{
	__u32 slot = slot_at(TW_SLOT_RESET, level);
	struct synfin_event *e = bpf_map_lookup_elem(&conn_scratch, &slot);

	if (!e) {
		count_ring_full(r->kind);
		return;
	}
	*e = *r;
	ship_record((struct synfin_conn_event *)e, sizeof(*e));	/* as ship_tw */
}

/* A reset of no connection of its own (sent by a listener, a TIME_WAIT
 * or request sock, or no socket), built and filtered on the stack. Summary
 * mode ships connections, not these: it counts one for the live rates, as
 * a reset folded into a story is counted, and a burst of them (a scan, a
 * mass close) takes no ring space from the connections' records. */
static __always_inline void ship_stray_reset(struct synfin_event *r, const struct sock *sk,
					     __u64 reason, __u32 level)
{
	/* a tw sock's has no user or cgroup to judge: user space keeps it
	 * for a tw sock it follows (no_full_sock_reset) */
	bool tw_sk = r->flags & SYNFIN_F_TW_SK;
	__u8 kind = SYNFIN_EV_RESET_SENT;

	if (!(tw_sk ? pass_family_netns(r->family, r->netns) && !tw_is_unfollowed(r->cookie) :
		      pass_sock_filters(r->family, r->netns, sk)) ||
	    (!tw_sk && !pass_uid_filter(r->flags & SYNFIN_F_UID, r->uid)) ||
	    !pass_port_filters(r->lport, r->rport) ||
	    addr_verdict(r->family, r->laddr, r->raddr) != V_PASS) {
		count(SYNFIN_CNT_FILTERED);
		return;
	}
	if (summarize) {
		count(SYNFIN_CNT_RST_SENT_FOLDED);
		/* A tw sock's reset kills it: the cause of the cancel that
		 * follows, for the tw sock synfin follows (by cookie, so not
		 * in classic mode). Other resets are only counted. */
		if (!(r->flags & SYNFIN_F_TW_SK) || !r->cookie || !tw_timer_fn)
			return;
		kind = SYNFIN_EV_TW_END;
		reason = SYNFIN_TW_RST_SENT;
	}
	r->ts_ns = bpf_ktime_get_ns();
	r->kind = kind;
	r->old_state = r->new_state;
	r->reason = reason;
	if (kind == SYNFIN_EV_TW_END) {
		ship_tw_note(r, level);
		return;
	}
	if (!output_record(r, sizeof(*r)))
		count_ring_full(kind);
}

/* A listener answers a segment of no connection (an ACK or FIN whose
 * socket is gone, say) with a reset. The reset is not the listener's own:
 * it does not go into the listener's story, and the tuple is the
 * segment's, so the record names the peer that was reset. The id and the
 * owner are the listener's, as a synack_retransmit names its listener. */
static __always_inline int listener_reset(struct sock *sk, const struct sk_buff *skb,
					  __u64 reason, const bool classic, __u32 level)
{
	struct synfin_sk_owner *own = get_owner(sk, false, classic);
	struct synfin_event r = {};

	if (own ? !pass_owner_filter(own) : filter_pid || filter_have_comm) {
		count(SYNFIN_CNT_FILTERED);
		return 0;
	}
	if (skb)
		fill_from_skb(skb, &r, !classic);
	/* a dual-stack listener's reset to an IPv4 peer is in the family of
	 * its connections, as -4/-6 and the address filters judge them */
	if (r.family == AF_INET && SF_READ(!classic, sk, __sk_common.skc_family) == AF_INET6)
		map_v4_tuple(&r);
	r.netns = sock_netns(&sk->__sk_common, !classic);
	r.cgroup_id = sock_cgroup_id(sk, !classic);
	r.uid = SF_READ(!classic, sk, sk_uid.val);
	if (!classic)
		r.cookie = sock_cookie(sk);
	else if (own)
		r.cookie = own->classic_id;
	fill_owner(&r, own);
	r.new_state = TCP_LISTEN;
	r.flags |= SYNFIN_F_LISTENER_SK | SYNFIN_F_UID;
	ship_stray_reset(&r, sk, reason, level);
	return 0;
}

/* A reset sent by a TIME_WAIT or request sock (state), or by no socket
 * at all (sk NULL). A pid, comm, cgroup or uid filter cannot be judged
 * without an owner. A tw sock's passes them (the other filters still
 * judge it): its reset kills it, and user space keeps it for the tw socks
 * it follows, by cookie, as it keeps their other records. */
static __always_inline int no_full_sock_reset(struct sock *sk, const struct sk_buff *skb, int state,
					  __u64 reason, const bool classic, __u32 level)
{
	struct synfin_event r = {};

	/* an orphan's tw sock in FIN_WAIT2 resets the peer's late data and
	 * dies: its held summary passed the filters at its ->CLOSE */
	if (fw2_watch && !classic && sk && state == TCP_TIME_WAIT)
		fw2_release(sk->__sk_common.skc_cookie.counter, SYNFIN_AFTER_CLOSE_RST_SENT,
			    slot_at(TW_SLOT_END, level));
	if ((filter_pid || filter_have_comm || filter_cgroup || filter_have_uid) &&
	    (classic || !sk || state != TCP_TIME_WAIT)) {
		count(SYNFIN_CNT_FILTERED);
		return 0;
	}
	if (sk) {
		read_common_addrs(&sk->__sk_common, &r, !classic);
		r.lport = SF_READ(!classic, sk, __sk_common.skc_num);
		r.netns = sock_netns(&sk->__sk_common, !classic);
		if (!classic)
			r.cookie = sock_cookie(sk);
		r.new_state = state;
		r.flags = state == TCP_TIME_WAIT ? SYNFIN_F_TW_SK : SYNFIN_F_REQ_SK;
	} else if (skb) {
		fill_from_skb(skb, &r, !classic);
		r.netns = skb_netns(skb);
		r.flags = SYNFIN_F_NO_SK;
	}
	ship_stray_reset(&r, NULL, reason, level);
	return 0;
}

static __always_inline int handle_send_reset(struct sock *sk, const struct sk_buff *skb,
					     __u64 reason, const bool classic, __u32 level)
{
	struct synfin_sk_owner *own;
	struct synfin_event *e;
	int state;

	if (!sk)
		return no_full_sock_reset(NULL, skb, 0, reason, classic, level);
	state = SF_READ(!classic, sk, __sk_common.skc_state);
	if (state == TCP_LISTEN)
		return listener_reset(sk, skb, reason, classic, level);
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return no_full_sock_reset(sk, skb, state, reason, classic, level);
	own = get_owner(sk, false, classic);
	if (fold_reset(sk, own, SYNFIN_STORY_RST_SENT, SYNFIN_CNT_RST_SENT_FOLDED, classic))
		return 0;
	e = owned_sock_event(sk, own, SYNFIN_EV_RESET_SENT, classic);
	if (!e)
		return 0;
	e->reason = reason;
	submit_event(e);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tp_send_reset, struct sock *sk, struct sk_buff *skb)
{
	__u64 reason = 0;

	/* The reason argument exists from 6.10 on; older kernels pass two. */
	if (bpf_core_type_exists(enum sk_rst_reason))
		reason = ctx[2];
	return handle_send_reset(sk, skb, reason, false, cpu_level(ctx));
}

SEC("tracepoint/tcp/tcp_send_reset")
int tpc_send_reset(void *ctx)
{
	struct trace_event_raw_tcp_send_reset *now = ctx;
	struct trace_event_raw_tcp_event_sk_skb___old *old = ctx;
	__u64 reason = 0;

	/* tcp_event_sk_skb's before 6.10 (tpc_retransmit) */
	if (!bpf_core_type_exists(struct trace_event_raw_tcp_send_reset))
		return handle_send_reset((struct sock *)old->skaddr,
					 (const struct sk_buff *)old->skbaddr, 0, true, 0);
	if (bpf_core_field_exists(now->reason))
		reason = BPF_CORE_READ(now, reason);
	return handle_send_reset((struct sock *)now->skaddr,
				 (const struct sk_buff *)now->skbaddr, reason, true, 0);
}

/* accept() and accept4() return the new fd: find its socket and hand the
 * caller's identity to the next tp_btf event of that socket. */
static __always_inline int handle_accept_exit(long ret)
{
	struct accept_owner acc = {};
	struct file **fds, *file;
	struct socket *sock;
	struct sock *sk;
	unsigned int max_fds;
	__u64 key;
	__u32 pid;

	if (ret < 0)
		return 0;
	/* Not judged by -p or -c here: an accept by a process they do not
	 * ask for must still hand the socket over, or it keeps its
	 * listener's owner (a pre-fork server's master) and passes as his.
	 * It is judged at its close, by the owner it really has. */
	pid = bpf_get_current_pid_tgid() >> 32;
	/* current as a BTF-typed pointer (5.11+): the walk to the fd table
	 * is direct loads, not six probe reads. fdt->fd points to pointers,
	 * which the verifier types no further: from there on, probe reads. */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;

		max_fds = fdt->max_fds;
		fds = fdt->fd;
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
		fds = BPF_CORE_READ(task, files, fdt, fd);
	}
	if ((unsigned long)ret >= max_fds)
		return 0;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[ret]) || !file)
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	/* An accepted socket's tuple is all it is judged by: one the tuple
	 * filters drop must not take a slot from one they keep
	 * (owner_map_full would count accepts nobody asked about). Without
	 * filters the verifier drops all of this. */
	if (!sock_passes_tuple_filters(sk, (const struct tcp_sock *)sk, NULL, false))
		return 0;
	acc.pid = pid;
	acc.ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(acc.comm, sizeof(acc.comm));
	key = (__u64)sk;
	if (bpf_map_update_elem(&accept_owners, &key, &acc, BPF_ANY))
		count(SYNFIN_CNT_OWNER_MAP_FULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return handle_accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return handle_accept_exit(ctx->ret);
}

/* TIME_WAIT socks never reach inet_sock_set_state. Their timer does:
 * timer_start when the tw sock is born (just before the full socket's
 * ->CLOSE) or re-armed, timer_cancel when it dies. The timer tracepoints
 * fire for every timer on the host, so the first test is the cheapest:
 * is this tw_timer_handler (address from kallsyms, 0: hooks off). */
/* The readers below take tw either BTF-typed (kfree_skb: btf) or as a
 * copy of its head on the stack (tw_head_read): both read its fields
 * with plain loads. Only the netns behind it needs to know which. */

/* A tw sock's head, sock_common through tw_substate: every field the tw
 * readers take. The timer programs compute tw from the timer's address,
 * a plain number to the verifier. Reading it field by field, a probe read
 * each (15 for a birth), took a birth about 525 ns; one probe read of the
 * head and plain loads from the copy take about 230. The loader attaches
 * no tw program where the head is larger than the room (loader.c). */
struct tw_head {
	__u8 raw[SYNFIN_TW_HEAD_MAX];
};

static __always_inline struct inet_timewait_sock *tw_head_read(const void *tw,
							       struct tw_head *h)
{
	__u32 len = bpf_core_field_offset(struct inet_timewait_sock, tw_substate) +
		    bpf_core_field_size(struct inet_timewait_sock, tw_substate);

	/* a constant after relocation: the verifier drops the dead branch;
	 * the loader checked it against the kernel's BTF */
	if (len > sizeof(h->raw) || bpf_probe_read_kernel(h->raw, len, tw))
		return NULL;
	return (struct inet_timewait_sock *)h->raw;
}

/* The tw sock whose timer this is, its head copied into h; NULL for any
 * other timer (or if the copy failed). */
static __always_inline struct inet_timewait_sock *tw_of_timer(struct timer_list *timer,
							      struct tw_head *h)
{
	/* a direct load: this runs for every timer armed on the host */
	if (!tw_timer_fn || (__u64)timer->function != tw_timer_fn)
		return NULL;
	return tw_head_read((void *)timer -
			    bpf_core_field_offset(struct inet_timewait_sock, tw_timer), h);
}

/* the tw sock keeps its full socket's cookie (KERNEL-NOTES §2) */
static __always_inline __u64 tw_cookie(const struct inet_timewait_sock *tw)
{
	return tw->__tw_common.skc_cookie.counter;
}

static __always_inline __u32 tw_netns(const struct inet_timewait_sock *tw, const bool btf)
{
	return net_netns(tw->__tw_common.skc_net.net, btf);
}

static __always_inline bool tw_passes(const struct inet_timewait_sock *tw, const bool btf)
{
	const struct sock_common *skc = &tw->__tw_common;

	/* A tw sock has no owner, cgroup or uid any more: with -p, -c,
	 * --cgroup or -u, user space keeps only the tw records of
	 * connections it reported. (Judged as cgroup 0, every tw sock failed --cgroup: its
	 * connection's TIME_WAIT went unmeasured and its end unreported.) */
	if (!pass_family_netns(skc->skc_family, tw_netns(tw, btf)) ||
	    !pass_port_filters(skc->skc_num, bpf_ntohs(skc->skc_dport)) ||
	    sock_addr_verdict(skc, skc->skc_family, true) != V_PASS) {
		count(SYNFIN_CNT_FILTERED);
		return false;
	}
	/* Summary mode claims a tw record by its cookie. A tw sock of cookie
	 * 0 is a connection's no cookie was asked for: one -u or --cgroup
	 * dropped at its birth, or one open before synfin started that was
	 * not seeded (if nothing else asked). No record claims it, and user
	 * space drops its records as they come: they cost the ring only. */
	if (summarize && !tw_cookie(tw)) {
		count(SYNFIN_CNT_FILTERED);
		return false;
	}
	if (tw_is_unfollowed(tw_cookie(tw))) {
		count(SYNFIN_CNT_FILTERED);
		return false;
	}
	return true;
}

/* e is zeroed (a fresh reserve, or the birth slot after memset) */
static __always_inline void fill_tw_event(const struct inet_timewait_sock *tw,
					  struct synfin_event *e, __u8 kind, const bool btf)
{
	const struct sock_common *skc = &tw->__tw_common;

	read_common_addrs(skc, e, true);
	e->lport = skc->skc_num;
	e->netns = tw_netns(tw, btf);
	e->cookie = tw_cookie(tw);
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->old_state = e->new_state = tw->tw_substate;
	e->flags = SYNFIN_F_TW_SK;
}

/* A record about a tw sock that passed the filters, built in the
 * program's scratch slot (ship it with ship_tw). Like connection records
 * they spill: a tw sock's timer is rounded to the timer wheel's step (for
 * 60 s, 512 jiffies: 2 s at HZ 250, 4 s at HZ 1000), so the tw socks born
 * within one step all expire in one jiffy, and their end records come in
 * one burst (up to about 60,000 after a churn here, where the 4 MiB ring
 * holds about 23,000). */
static __always_inline struct synfin_event *tw_record(const struct inet_timewait_sock *tw,
						      __u8 kind, __u32 slot, __u32 level,
						      const bool btf)
{
	struct synfin_event *e;

	/* a birth still waiting at this level goes first: it is older */
	if (holds_births()) {
		struct tw_birth_slot *birth = tw_birth_at(level);

		if (birth)
			tw_birth_flush(birth);
	}
	slot = slot_at(slot, level);
	e = bpf_map_lookup_elem(&conn_scratch, &slot);
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	fill_tw_event(tw, e, kind, btf);
	return e;
}

static __always_inline struct synfin_event *tw_event(const struct inet_timewait_sock *tw,
						     __u8 kind, __u32 slot, __u32 level,
						     const bool btf)
{
	return tw_passes(tw, btf) ? tw_record(tw, kind, slot, level, btf) : NULL;
}

static __always_inline void ship_tw(struct synfin_event *e)
{
	ship_record((struct synfin_conn_event *)e, sizeof(*e));
}

/* ms left on a tw timer just armed (jiffies when HZ is unknown). */
static __always_inline void tw_timer_left(struct timer_list *timer, struct synfin_event *e)
{
	__u64 left = timer->expires - bpf_jiffies64();

	if (CONFIG_HZ) {
		e->seq = left * 1000 / CONFIG_HZ;
	} else {
		e->seq = left;
		e->flags |= SYNFIN_F_HZ_UNKNOWN;
	}
}

/* A birth waits in its CPU's slot for its socket's ->CLOSE (holds_births).
 * false: not a birth (a re-arm), or no slot; send a record instead. */
static __always_inline bool tw_birth_hold(struct timer_list *timer,
					  const struct inet_timewait_sock *tw, __u32 level)
{
	__u32 zero = 0;
	__u64 *cancelled = bpf_map_lookup_elem(&tw_cancelled, &zero);
	struct tw_birth_slot *slot;
	struct synfin_event *b;
	bool rearm;

	if (!cancelled)
		return false;
	rearm = *cancelled == tw_cookie(tw);
	*cancelled = 0;
	if (rearm)
		return false;
	slot = tw_birth_at(level);
	if (!slot)
		return false;
	tw_birth_flush(slot);
	b = &slot->held.close;
	__builtin_memset(b, 0, sizeof(*b));
	fill_tw_event(tw, b, SYNFIN_EV_TW_START, false);
	tw_timer_left(timer, b);
	return true;
}

SEC("tp_btf/timer_start")
int BPF_PROG(tp_timer_start, struct timer_list *timer)
{
	struct tw_head head;
	struct inet_timewait_sock *tw = tw_of_timer(timer, &head);
	struct synfin_event *e;
	__u32 level;

	if (!tw || !tw_passes(tw, false))
		return 0;
	level = cpu_level(ctx);
	if (holds_births() && tw_birth_hold(timer, tw, level))
		return 0;
	e = tw_record(tw, SYNFIN_EV_TW_START, TW_SLOT_START, level, false);
	if (!e)
		return 0;
	tw_timer_left(timer, e);
	ship_tw(e);
	return 0;
}

/* Expiry detaches the timer (a cancel) right before running it, when
 * jiffies has reached expires; any earlier cancel is an early kill. */
SEC("tp_btf/timer_cancel")
int BPF_PROG(tp_timer_cancel, struct timer_list *timer)
{
	struct tw_head head;
	struct inet_timewait_sock *tw = tw_of_timer(timer, &head);
	struct synfin_event *e;
	bool expired;

	if (!tw)
		return 0;
	expired = (long)(bpf_jiffies64() - timer->expires) >= 0;
	if (holds_births() && !expired) {
		__u32 zero = 0;
		__u64 *cancelled = bpf_map_lookup_elem(&tw_cancelled, &zero);

		/* a start of this tw sock's timer next is a re-arm */
		if (cancelled)
			*cancelled = tw_cookie(tw);
	}
	e = tw_event(tw, SYNFIN_EV_TW_END, TW_SLOT_END, cpu_level(ctx), false);
	if (!e) {
		/* nothing follows an expiry: its entry, if any, is done */
		if (expired)
			tw_unfollow_done(tw_cookie(tw));
		return 0;
	}
	e->reason = expired ? SYNFIN_TW_EXPIRED : SYNFIN_TW_KILLED;
	ship_tw(e);
	return 0;
}

/* -F: a FIN or reset an orphan's tw sock handled (flags: the segment's).
 * A FIN that moved it to TIME_WAIT ended the wave well: its summary is
 * dropped. A reset that killed it (unhashed) ended the wave: its summary
 * goes out. */
/* Whether the FIN a tw sock was just handed moved it to TIME_WAIT: one it
 * refuses (out of window, or with data past it, which it answers with a
 * reset) leaves the substate FIN_WAIT2. */
static __always_inline bool tw_took_fin(struct sock *rx_sk)
{
	return BPF_CORE_READ((struct inet_timewait_sock *)rx_sk, tw_substate) == TCP_TIME_WAIT;
}

static __always_inline int fw2_segment(struct sock *rx_sk, __u8 flags, __u32 level)
{
	__u64 cookie = rx_sk->__sk_common.skc_cookie.counter;

	if (flags & 0x04) {
		if (!rx_sk->__sk_common.skc_nulls_node.pprev)
			fw2_release(cookie, SYNFIN_AFTER_CLOSE_RST_RECEIVED,
				    slot_at(TW_SLOT_FIN, level));
		return 0;
	}
	if (tw_took_fin(rx_sk))
		bpf_map_delete_elem(&fw2_waits, &cookie);
	return 0;
}

/* Every segment a tw sock handles ends in kfree_skb with rx_sk = the tw
 * sock (KERNEL-NOTES §2). A FIN there is the peer's FIN reaching an orphan
 * that closed in FIN_WAIT2: the wave completes after the full socket died,
 * with no state event. A reset there may have killed it (in FIN_WAIT2, or
 * TIME_WAIT assassination without tcp_rfc1337): then inet_twsk_kill() has
 * unhashed it (pprev NULL) before the segment is freed, and its cancel's
 * record is out; this one names the cause. rx_sk exists from 6.x on: user
 * space loads this only where the tracepoint has it, and only with the tw
 * timers or under -F (fw2_segment). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tp_kfree_skb, struct sk_buff *skb, void *location, int reason, struct sock *rx_sk)
{
	struct tcp_timewait_sock *tw;
	__u8 kind = SYNFIN_EV_TW_FIN;
	struct synfin_event *e;
	struct tw_head head;
	unsigned char *data;
	__u32 level;
	__u16 th;
	/* TCP header bytes 4..13: seq (4..7) .. flags (13: FIN 0x01 .. CWR) */
	struct {
		__be32 seq;
		__u8 skip[5];
		__u8 flags;
	} __attribute__((packed)) hdr;

	/* This runs for every skb freed on the host: direct loads, and no
	 * helper call at all until the socket is known to be a tw sock. */
	if (!rx_sk || rx_sk->__sk_common.skc_state != TCP_TIME_WAIT)
		return 0;
	data = skb->head;
	th = skb->transport_header;
	if (bpf_probe_read_kernel(&hdr, sizeof(hdr), data + th + 4) || !(hdr.flags & 0x05))
		return 0;
	level = cpu_level(ctx);
	if (fw2_watch)
		return fw2_segment(rx_sk, hdr.flags, level);
	if (hdr.flags & 0x04) {
		/* a reset it survived (out of order, tcp_rfc1337) ends nothing */
		if (rx_sk->__sk_common.skc_nulls_node.pprev)
			return 0;
		kind = SYNFIN_EV_TW_END;
	} else if (!tw_took_fin(rx_sk)) {
		/* a FIN it refused: a reset answering data kills it, and that
		 * reset's note and the cancel tell the end */
		return 0;
	}
	/* types the pointer as a tw sock, so tw_event reads it directly; it
	 * knows only the built-in TCP protos (not a modular IPv6's), so
	 * anything else is read from a copy, as in the timer programs. A
	 * reset's record takes this program's slot too: the cancel's may be
	 * in use in the task this softirq interrupted. */
	tw = bpf_skc_to_tcp_timewait_sock(rx_sk);
	if (tw) {
		e = tw_event(&tw->tw_sk, kind, TW_SLOT_FIN, level, true);
	} else {
		struct inet_timewait_sock *copy = tw_head_read(rx_sk, &head);

		e = copy ? tw_event(copy, kind, TW_SLOT_FIN, level, false) : NULL;
	}
	if (!e) {
		/* a reset's note comes after the cancel it caused: the last */
		if (kind == SYNFIN_EV_TW_END)
			tw_unfollow_done(rx_sk->__sk_common.skc_cookie.counter);
		return 0;
	}
	e->seq = bpf_ntohl(hdr.seq);
	e->tcp_flags = hdr.flags;
	if (kind == SYNFIN_EV_TW_END)
		e->reason = SYNFIN_TW_RST;
	ship_tw(e);
	return 0;
}
