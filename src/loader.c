// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Open, configure, load and attach the BPF skeleton. tp_btf programs are
 * preferred (sk storage, socket cookies, typed arguments); where they do
 * not load, the classic tracepoint programs take over with less detail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "bpf_runs.h"
#include "clock.h"
#include "kernel_hz.h"
#include "loader.h"
#include "synfin.skel.h"
#include "tw_learn.h"

#define MAX_LINKS 32

struct loader {
	struct synfin_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	bool classic;
	bool timewait;       /* TIME_WAIT timer hooks attached */
	bool tw_fin;         /* a FIN reaching a tw sock is seen (kfree_skb) */
	bool fw2_watch;      /* -F: orphans held until their wave ends (fw2_waits) */
	int ncpus;
	uint64_t spill_taken;  /* records drained from the spill map so far */
	struct synfin_spill_key *spill_keys;  /* batch buffers for the drain */
	struct synfin_conn_event *spill_vals;
	uint64_t *fw2_keys;  /* batch buffer for the sweep of fw2_waits */
};

/* Spilled records taken per system call */
#define SPILL_BATCH 1024

/* Programs that need BTF-typed tracepoints (tp_btf). */
static bool is_btf_prog(const struct bpf_program *prog)
{
	return bpf_program__type(prog) == BPF_PROG_TYPE_TRACING;
}

/* Classic fallbacks are named tpc_*; syscall tracepoints serve both modes. */
static bool is_classic_prog(const struct bpf_program *prog)
{
	return strncmp(bpf_program__name(prog), "tpc_", 4) == 0;
}

/* Whether /proc/kallsyms lists a kernel symbol, and its address there:
 * 0 when hidden (kernel.kptr_restrict, or no CAP_SYSLOG), which says
 * nothing of whether the symbol exists. */
static bool kallsyms_find(const char *name, uint64_t *addr)
{
	char line[256], sym[128];
	unsigned long long a;
	char type;
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	*addr = 0;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s", &a, &type, sym) != 3)
			continue;
		if (strcmp(sym, name) == 0) {
			*addr = a;
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool kallsyms_has(const char *name)
{
	uint64_t addr;

	return kallsyms_find(name, &addr);
}

static bool is_tw_prog(const struct bpf_program *prog)
{
	return strncmp(bpf_program__name(prog), "tp_timer_", 9) == 0;
}

static bool is_tw_fin_prog(const struct bpf_program *prog)
{
	return strcmp(bpf_program__name(prog), "tp_kfree_skb") == 0;
}

/* The kernel probes below read vmlinux BTF (NULL: none, and each says no);
 * open_and_load loads it once for all of them. */

/* How many parameters a tracepoint passes a tp_btf program, by its BTF
 * prototype (btf_trace_NAME: the context first, then the tracepoint's
 * own); -1 if the kernel has no such tracepoint. */
static int tracepoint_params(const struct btf *btf, const char *typedef_name)
{
	const struct btf_type *t;
	int id;

	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, typedef_name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) ? (int)btf_vlen(t) - 1 : -1;
}

/* skb:kfree_skb passes rx_sk (the socket that handled the segment) from
 * 6.x on: skb, location, reason, rx_sk. */
static bool kfree_skb_has_rx_sk(const struct btf *btf)
{
	return tracepoint_params(btf, "btf_trace_kfree_skb") == 4;
}

/* tcp:tcp_retransmit_skb passes the attempt's error (sk, skb, err) on newer
 * kernels, and fires for a failed attempt too. Exactly one of the two
 * programs loads. */
static bool is_retransmit_prog(const struct bpf_program *prog, bool with_err)
{
	return !strcmp(bpf_program__name(prog), with_err ? "tp_retransmit_err" : "tp_retransmit");
}

static bool retransmit_has_err(const struct btf *btf)
{
	return tracepoint_params(btf, "btf_trace_tcp_retransmit_skb") >= 3;
}

/* The TIME_WAIT programs copy a tw sock's head, through tw_substate, into
 * SYNFIN_TW_HEAD_MAX bytes (synfin.bpf.c, tw_head_read). Where it is
 * larger they would read nothing, and every tw record would be lost
 * unseen: such a kernel gets no tw hooks, as one without the handler. */
static bool tw_head_fits(const struct btf *btf)
{
	const char *limit = getenv("SYNFIN_TW_HEAD_LIMIT");
	long room = SYNFIN_TW_HEAD_MAX;
	const struct btf_member *m;
	const struct btf_type *t;
	int id;

	/* the tests' way to take the path of a kernel whose head is larger */
	if (limit && atol(limit) < room)
		room = atol(limit);
	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "inet_timewait_sock", BTF_KIND_STRUCT);
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (uint32_t i = 0; i < btf_vlen(t); i++, m++) {
		long size;

		if (strcmp(btf__name_by_offset(btf, m->name_off), "tw_substate"))
			continue;
		size = btf__resolve_size(btf, m->type);
		return size > 0 && btf_member_bit_offset(t, i) / 8 + size <= room;
	}
	return false;
}

/* Tracing programs may use hash maps that allocate as they fill from 6.1
 * on, when the BPF memory allocator (struct bpf_mem_alloc) came in; before
 * that the verifier wants them preallocated. */
static bool tracing_maps_may_grow(const struct btf *btf)
{
	return btf && btf__find_by_name_kind(btf, "bpf_mem_alloc", BTF_KIND_STRUCT) > 0;
}

/* The size of a task's kernel stack where softirqs that interrupt a task
 * run on a stack of their own, so the second copies can tell the level by
 * where they run (synfin.bpf.c, run_level); 0 elsewhere, and the softirq
 * tracepoints tell it. x86_64 (without PREEMPT_RT, whose softirqs run in
 * threads) has THREAD_SIZE 16 KiB, doubled under KASAN; the BPF side also
 * needs bpf_get_current_task_btf (5.11). */
static uint64_t task_stack_size(const struct btf *btf)
{
#if defined(__x86_64__)
	bool ok = false;
	int id;

	/* the tests' way to run the portable method here too */
	if (getenv("SYNFIN_LEVEL_FROM_SOFTIRQ") || !btf)
		return 0;
	id = btf__find_by_name_kind(btf, "bpf_func_id", BTF_KIND_ENUM);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e = btf_enum(t);

		for (uint32_t i = 0; i < btf_vlen(t) && !ok; i++)
			ok = strcmp(btf__name_by_offset(btf, e[i].name_off),
				    "BPF_FUNC_get_current_task_btf") == 0;
	}
	/* only PREEMPT_RT has rt_spin_lock */
	if (!ok || kallsyms_has("rt_spin_lock"))
		return 0;
	return kallsyms_has("kasan_report") ? 32768 : 16384;
#else
	(void)btf;
	return 0;
#endif
}

/* Hooks synfin can run without: accept() only refines a server socket's
 * owner from the listener's to the accepting process's, which close()
 * then does instead (owner_at_close). */
static bool is_optional_prog(const struct bpf_program *prog)
{
	return strncmp(bpf_program__name(prog), "tp_exit_accept", 14) == 0;
}

/* libbpf resolves classic tracepoints through tracefs, which a fresh host
 * may not have mounted; mount it where the kernel expects it. */
static void ensure_tracefs(int verbose)
{
	struct stat st;

	if (!stat("/sys/kernel/tracing/events", &st) ||
	    !stat("/sys/kernel/debug/tracing/events", &st))
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		if (verbose)
			fprintf(stderr, "synfin: cannot mount tracefs on /sys/kernel/tracing: %s\n",
				strerror(errno));
		return;
	}
	if (verbose)
		fprintf(stderr, "synfin: mounted tracefs on /sys/kernel/tracing\n");
}

static int attach_one(struct loader *ld, struct bpf_program *prog)
{
	struct bpf_link *link;
	int err;

	link = bpf_program__attach(prog);
	if (!link) {
		err = -errno;
		/* the accept() hooks' caller says what their absence means */
		if (!is_optional_prog(prog))
			fprintf(stderr, "synfin: failed to attach %s: %s\n",
				bpf_program__name(prog), strerror(-err));
		return err;
	}
	if (ld->nlinks >= MAX_LINKS) {
		bpf_link__destroy(link);
		fprintf(stderr, "synfin: too many BPF programs\n");
		return -E2BIG;
	}
	ld->links[ld->nlinks++] = link;
	return 0;
}

/* The second copies of tp_state and tp_destroy (synfin.bpf.c) take only
 * the runs the first was skipped for. */
static bool is_second_copy(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);
	size_t len = strlen(name);

	return len > 7 && strcmp(name + len - 7, "_nested") == 0;
}

/* softirq_entry/exit tell the second copies which level a run is at. */
static bool is_level_prog(const struct bpf_program *prog)
{
	return strncmp(bpf_program__name(prog), "tp_softirq_", 11) == 0;
}

/* what owner_at_close means, wherever it is set */
#define OWNER_AT_CLOSE "server sockets are attributed to the listener's process until they close"

/* Both accept() programs or neither: with one alone, the owners it hands
 * over would wait in accept_owners with nothing to take them, as
 * owner_at_close has the close() name the owner instead. */
static void attach_accept_hooks(struct loader *ld)
{
	int first = ld->nlinks;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, ld->skel->obj) {
		if (!is_optional_prog(prog) || !bpf_program__autoload(prog))
			continue;
		if (attach_one(ld, prog))
			goto none;
	}
	return;
none:
	while (ld->nlinks > first)
		bpf_link__destroy(ld->links[--ld->nlinks]);
	ld->skel->bss->owner_at_close = 1;
	fprintf(stderr, "synfin: warning: accept() tracepoints unavailable; %s\n", OWNER_AT_CLOSE);
}

/* A tracepoint runs its programs in the order they were attached: each
 * second copy must run after its first. And the level must be known
 * before a first copy runs at all, or a claim could be left at the wrong
 * level and an event handled twice. */
static int attach_all(struct loader *ld)
{
	struct bpf_program *prog;
	int pass, err;

	for (pass = 0; pass < 3; pass++) {
		bpf_object__for_each_program(prog, ld->skel->obj) {
			int want = is_level_prog(prog) ? 0 : is_second_copy(prog) ? 2 : 1;

			if (want != pass || !bpf_program__autoload(prog) || is_optional_prog(prog))
				continue;
			err = attach_one(ld, prog);
			if (err)
				return err;
		}
	}
	attach_accept_hooks(ld);
	return 0;
}

/* tw_unfollowed's entries: a filtered connection's tw sock is dropped in
 * the kernel while fewer than this many newer ones have come (a minute's
 * worth at about 1,000 filtered connections a second). About 5 MiB of
 * kernel memory. */
#define TW_UNFOLLOWED_MAX 65536

/* Returns why the TIME_WAIT hooks are off, NULL if they are on. */
static const char *configure(struct synfin_bpf *skel, const struct synfin_options *opts,
			     bool classic, const struct btf *vmlinux)
{
	const struct synfin_filter *f = &opts->filter;
	struct synfin_bpf__rodata *ro = skel->rodata;
	bool may_grow = tracing_maps_may_grow(vmlinux);
	uint32_t fw2_max;
	/* what tw_off points to when it says why learning failed */
	static char tw_off_buf[256];
	const char *tw_off = NULL, *learn_why = NULL;
	uint64_t tw_fn = 0;
	int learn_err = 0;
	bool tw_listed, tw_fits, tw_left = false;
	uint32_t spill;

	ro->filter_pid = f->pid;
	ro->filter_have_comm = f->have_comm;
	memcpy((void *)ro->filter_comm, f->comm, sizeof(f->comm));
	ro->filter_netns = f->netns;
	ro->filter_netns_cookie = f->netns_cookie;
	ro->filter_cgroup = f->cgroup_id;
	ro->filter_have_uid = f->have_uid;
	ro->filter_uid = f->uid;
	ro->filter_family = f->family;
	ro->filter_have_lports = f->have_lports;
	ro->filter_have_rports = f->have_rports;
	memcpy((void *)ro->filter_lports, f->lports, sizeof(f->lports));
	memcpy((void *)ro->filter_rports, f->rports, sizeof(f->rports));
	ro->filter_nladdrs = f->nladdrs;
	ro->filter_nraddrs = f->nraddrs;
	memcpy((void *)ro->filter_laddrs, f->laddrs, sizeof(f->laddrs));
	memcpy((void *)ro->filter_raddrs, f->raddrs, sizeof(f->raddrs));
	/* wake the consumer early only when a quarter of the ring is used */
	ro->wakeup_bytes = (uint64_t)opts->ringbuf_mb * 1024 * 1024 / 4;
	ro->filter_failed = opts->only_failed;
	/* a failed connection leaves no tw sock: under --failed, the timer
	 * hooks would only follow the ones whose records the kernel keeps back */
	tw_listed = !opts->no_timewait && !opts->only_failed &&
		    kallsyms_find("tw_timer_handler", &tw_fn);
	tw_fits = tw_listed && tw_head_fits(vmlinux);
	/* hidden from this process (kernel.kptr_restrict): learned from a
	 * tw sock of synfin's own, where tp_btf lets tw socks be followed */
	if (tw_fits && !tw_fn && !classic) {
		learn_err = tw_learn_handler(&tw_fn, &tw_left, &learn_why, opts->verbose);
		if (opts->verbose && !learn_err)
			fprintf(stderr, "synfin: tw_timer_handler's address hidden in "
				"/proc/kallsyms: learned from a TIME_WAIT socket of synfin's own "
				"on the loopback, %s\n", tw_left ? "left for its 60 s" :
				"reset once seen");
	}
	ro->tw_timer_fn = tw_listed ? tw_fn : 0;
	if (opts->no_timewait) {
		tw_off = "--no-timewait";
	} else if (opts->only_failed) {
		tw_off = "--failed";
	} else if (classic) {
		tw_off = "classic tracepoints";
	} else if (!tw_listed) {
		tw_off = "no tw_timer_handler in /proc/kallsyms";
	} else if (!tw_fits) {
		/* before the hidden address: learning was not tried */
		fprintf(stderr, "synfin: TIME_WAIT exits not measured: this kernel's "
			"tw sock head is larger than the TIME_WAIT programs' copy\n");
		ro->tw_timer_fn = 0;
		tw_off = "tw sock head too large";
	} else if (!ro->tw_timer_fn) {
		/* hidden and fitting under tp_btf: learning was tried, and
		 * said why it failed */
		snprintf(tw_off_buf, sizeof(tw_off_buf),
			 "tw_timer_handler's address hidden in /proc/kallsyms, by kernel.kptr_restrict "
			 "or for want of CAP_SYSLOG, and not learned: %s: %s", learn_why,
			 strerror(-learn_err));
		tw_off = tw_off_buf;
	}
	/* -F: a reset may still end the wave of an orphan judged orderly at
	 * its ->CLOSE; its tw sock's segments tell, where kfree_skb names
	 * the socket (6.11+). fw2_segment reads the tw sock by CO-RE, not
	 * from the timer programs' copy of its head. */
	ro->fw2_watch = opts->only_failed && !classic && kfree_skb_has_rx_sk(vmlinux);
	/* a held orphan is a connection still followed: --max-conns bounds
	 * them too, under a ceiling of the map's own (preallocated before
	 * 6.1, where the ceiling is lower) */
	fw2_max = may_grow ? SYNFIN_FW2_WAITS_MAX : 4096;
	if (opts->max_conns && opts->max_conns < fw2_max)
		fw2_max = opts->max_conns;
	bpf_map__set_max_entries(skel->maps.fw2_waits, ro->fw2_watch ? fw2_max : 1);
	/* -p/-c: the tw socks of connections they dropped, for the timer
	 * programs to drop too. An LRU is always preallocated: sized only
	 * under those filters. */
	bpf_map__set_max_entries(skel->maps.tw_unfollowed,
				 f->pid || f->have_comm ? TW_UNFOLLOWED_MAX : 1);
	ro->task_stack_size = classic ? 0 : task_stack_size(vmlinux);
	if (opts->verbose && !classic)
		fprintf(stderr, "synfin: nesting level from %s\n", ro->task_stack_size ?
			"the stack a tracepoint runs on" : "the softirq tracepoints");
	/* one record per socket end unless every transition is asked for;
	 * the detectors and top need the live figures (maps) on top of that */
	ro->summarize = !opts->events;
	/* the tests' way to take the path of a ->CLOSE the ring had no room
	 * for: its destroy record stands in (test_close_missed) */
	ro->test_lose_close = getenv("SYNFIN_TEST_LOSE_CLOSE") != NULL;
	ro->live_figures = !opts->events && (opts->top || !opts->no_alerts);
	bpf_map__set_max_entries(skel->maps.events, opts->ringbuf_mb * 1024 * 1024);
	/* a CLOSE_WAIT socket is an open connection: the same cap. Only
	 * classic mode fills the map; tp_btf marks the socket's storage. */
	if (classic && may_grow)
		bpf_map__set_max_entries(skel->maps.close_waits,
					 opts->max_conns ? opts->max_conns : 65536);
	else if (classic)
		bpf_map__set_max_entries(skel->maps.close_waits, 16384);  /* preallocated */
	else
		bpf_map__set_max_entries(skel->maps.close_waits, 1);
	/* The spill map takes connection records and those about TIME_WAIT
	 * socks, in summary mode only. Where it must be preallocated its
	 * default shrinks to 4096 (1.5 MiB of kernel memory) unless --spill
	 * asked for more. */
	spill = opts->events ? 0 : opts->spill;
	if (!may_grow && !opts->spill_set && spill > 4096)
		spill = 4096;
	ro->spill_on = spill > 0;
	bpf_map__set_max_entries(skel->maps.spill, spill ? spill : 1);
	/* An accepted socket's owner waits in accept_owners for the socket's
	 * next event, which for an idle connection is its close; classic mode
	 * keeps every open socket's record in classic_owners. Both hold one
	 * entry per open connection, so they take the connection cap, where
	 * their memory can follow their use. Preallocated (older kernels),
	 * --max-conns of them would cost tens of MiB of kernel memory whether
	 * used or not: they keep their fixed sizes there, and a full map is
	 * counted (owner_map_full, storage_full). */
	if (may_grow) {
		struct bpf_map *grow[] = { skel->maps.accept_owners, skel->maps.classic_owners };
		/* the spill map, the orphans' waits, the listeners' opens and
		 * classic mode's CLOSE_WAITs, too, only as they fill. Before 6.1
		 * the verifier refuses (PREEMPT_RT) or warns of, and taints the
		 * kernel for, a tracing program's map that allocates as it
		 * fills: these are preallocated there */
		struct bpf_map *fill[] = { skel->maps.spill, skel->maps.fw2_waits,
					   skel->maps.listener_opens, skel->maps.listener_opens1,
					   skel->maps.close_waits };

		for (size_t i = 0; i < sizeof(fill) / sizeof(fill[0]); i++)
			bpf_map__set_map_flags(fill[i], bpf_map__map_flags(fill[i]) | BPF_F_NO_PREALLOC);
		for (size_t i = 0; i < sizeof(grow) / sizeof(grow[0]); i++) {
			bpf_map__set_map_flags(grow[i], bpf_map__map_flags(grow[i]) | BPF_F_NO_PREALLOC);
			bpf_map__set_max_entries(grow[i], opts->max_conns ? opts->max_conns : 65536);
		}
	}
	return tw_off;
}

static bool can_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The BPF side reads CONFIG_HZ (tw timers' expiry in ms). libbpf looks
 * for it where it looks for any kconfig value, in /boot/config-RELEASE
 * or /proc/config.gz, and fails the whole load when it can open neither
 * (a container without the host's /boot, a kernel without
 * IKCONFIG_PROC). Then synfin measures HZ itself, and gives libbpf that;
 * failing that, HZ unknown, a mode synfin has (times in jiffies,
 * SYNFIN_F_HZ_UNKNOWN). buf holds what is given. */
static const char *kconfig_fallback(bool verbose, char *buf, size_t len)
{
	char path[sizeof("/boot/config-") + sizeof(((struct utsname *)0)->release)];
	struct utsname u;
	unsigned int hz;
	int err;

	if (!uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		if (can_open(path))
			return NULL;
	}
	if (can_open("/proc/config.gz"))
		return NULL;
	/* a quarter of a second, once, and only here */
	err = kernel_hz_measure(SYNFIN_TIMER_LIST, 250, &hz);
	if (verbose && !err)
		fprintf(stderr, "synfin: no kernel config to read CONFIG_HZ from (/boot, "
			"/proc/config.gz): HZ %u, measured from %s\n", hz, SYNFIN_TIMER_LIST);
	else if (verbose)
		fprintf(stderr, "synfin: no kernel config to read CONFIG_HZ from (/boot, "
			"/proc/config.gz), nor HZ from %s (%s): TIME_WAIT timers in jiffies\n",
			SYNFIN_TIMER_LIST, kernel_hz_strerror(err));
	snprintf(buf, len, "CONFIG_HZ=%u\n", hz);
	return buf;
}

static int open_and_load(const struct synfin_options *opts, bool classic, const char *kconfig,
			 struct synfin_bpf **out, const char **tw_off)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts,
		    .kconfig = kconfig,
		    /* the tests' way to relocate against types as an older
		     * kernel names them, on this one */
		    .btf_custom_path = getenv("SYNFIN_TEST_CORE_BTF"));
	struct synfin_bpf *skel;
	struct bpf_program *prog;
	struct btf *vmlinux;
	bool retransmit_err;
	int err;

	skel = synfin_bpf__open_opts(&open_opts);
	if (!skel) {
		err = -errno;
		fprintf(stderr, "synfin: failed to open BPF object: %s\n", strerror(-err));
		return err;
	}
	/* NULL without BTF: every probe then says no */
	vmlinux = btf__load_vmlinux_btf();
	*tw_off = configure(skel, opts, classic, vmlinux);
	/* one look-up by name in vmlinux BTF (a walk of its types), for both */
	retransmit_err = retransmit_has_err(vmlinux);
	bpf_object__for_each_program(prog, skel->obj) {
		/* TIME_WAIT timers need tp_btf and the handler's address */
		if (is_tw_prog(prog))
			bpf_program__set_autoload(prog, !classic && skel->rodata->tw_timer_fn);
		else if (is_tw_fin_prog(prog))
			bpf_program__set_autoload(prog, !classic && (skel->rodata->tw_timer_fn ||
								     skel->rodata->fw2_watch) &&
						  kfree_skb_has_rx_sk(vmlinux));
		else if (is_optional_prog(prog))
			bpf_program__set_autoload(prog, !opts->no_accept_hook);
		else if (is_retransmit_prog(prog, retransmit_err))
			bpf_program__set_autoload(prog, !classic);
		else if (is_retransmit_prog(prog, !retransmit_err))
			bpf_program__set_autoload(prog, false);
		else if (is_level_prog(prog))
			bpf_program__set_autoload(prog, !classic && !skel->rodata->task_stack_size);
		else if (is_btf_prog(prog))
			bpf_program__set_autoload(prog, !classic);
		else if (is_classic_prog(prog))
			bpf_program__set_autoload(prog, classic);
	}
	btf__free(vmlinux);
	err = synfin_bpf__load(skel);
	if (err) {
		synfin_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

int loader__open(const struct synfin_options *opts, struct loader **out)
{
	const char *tw_off = NULL, *kconfig;
	char kconfig_buf[32];
	struct loader *ld;
	int err;

	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return -ENOMEM;
	ensure_tracefs(opts->verbose);
	ld->ncpus = libbpf_num_possible_cpus();
	if (ld->ncpus <= 0) {
		err = ld->ncpus ? ld->ncpus : -EINVAL;
		fprintf(stderr, "synfin: cannot count CPUs: %s\n", strerror(-err));
		goto cleanup;
	}
	kconfig = kconfig_fallback(opts->verbose, kconfig_buf, sizeof(kconfig_buf));
	err = -EOPNOTSUPP;
	if (!opts->force_classic) {
		err = open_and_load(opts, false, kconfig, &ld->skel, &tw_off);
		if (err && opts->verbose)
			fprintf(stderr, "synfin: tp_btf programs did not load (%s), trying classic tracepoints\n",
				strerror(-err));
	}
	if (err) {
		ld->classic = true;
		err = open_and_load(opts, true, kconfig, &ld->skel, &tw_off);
	}
	if (err) {
		fprintf(stderr, "synfin: failed to load BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (run as root or with CAP_BPF,CAP_PERFMON)" : "");
		goto cleanup;
	}
	/* before any program runs: the children born meanwhile need it too */
	ld->skel->bss->owner_at_close = opts->no_accept_hook;
	err = attach_all(ld);
	if (err)
		goto cleanup;
	ld->timewait = !ld->classic && ld->skel->rodata->tw_timer_fn;
	ld->tw_fin = ld->timewait && bpf_program__autoload(ld->skel->progs.tp_kfree_skb);
	ld->fw2_watch = !ld->classic && ld->skel->rodata->fw2_watch;
	if (opts->only_failed && !ld->fw2_watch && opts->verbose)
		fprintf(stderr, "synfin: --failed: a reset that ends an orphan's wave after its "
			"close is not seen (%s)\n", ld->classic ? "classic tracepoints" :
			"no socket in skb:kfree_skb before 6.11");
	if (opts->no_accept_hook && opts->verbose)
		fprintf(stderr, "synfin: accept() not hooked (--no-accept-hook): %s\n",
			OWNER_AT_CLOSE);
	if (!ld->timewait && opts->verbose)
		fprintf(stderr, "synfin: TIME_WAIT exits not measured (%s)\n", tw_off);
	*out = ld;
	return 0;
cleanup:
	loader__free(ld);
	return err;
}

/* A program already running when its link goes keeps running: the
 * kernel frees what it uses only after an RCU grace period, and runs in
 * flight may still put records on the ring or in the spill map. Once
 * they are waited out nothing more is made and the caller's last drain
 * takes everything. Where that wait is refused a pause far longer than
 * any program run stands in. */
static void wait_programs_done(void)
{
	uint64_t end_ns;
	struct timespec until;

	if (bpf_runs_wait())
		return;
	/* to a deadline: the stop's output tick (SIGALRM, output.c) cuts
	 * a sleep short */
	end_ns = now_mono_ns() + 50 * 1000000ULL;
	until.tv_sec = (time_t)(end_ns / 1000000000ULL);
	until.tv_nsec = (long)(end_ns % 1000000000ULL);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

void loader__detach(struct loader *ld)
{
	bool had_links = ld->nlinks > 0;

	while (ld->nlinks > 0)
		bpf_link__destroy(ld->links[--ld->nlinks]);
	if (had_links)
		wait_programs_done();
}

void loader__free(struct loader *ld)
{
	if (!ld)
		return;
	free(ld->spill_keys);
	free(ld->spill_vals);
	free(ld->fw2_keys);
	loader__detach(ld);
	synfin_bpf__destroy(ld->skel);
	free(ld);
}

int loader__ringbuf_fd(const struct loader *ld)
{
	return bpf_map__fd(ld->skel->maps.events);
}

bool loader__timewait(const struct loader *ld)
{
	return ld->timewait;
}

bool loader__tw_fin(const struct loader *ld)
{
	return ld->tw_fin;
}

const char *loader__mode(const struct loader *ld)
{
	return ld->classic ? "classic" : "tp_btf";
}

int loader__read_counters(const struct loader *ld, uint64_t out[SYNFIN_CNT_MAX])
{
	int fd = bpf_map__fd(ld->skel->maps.counters);
	uint64_t vals[ld->ncpus];

	for (uint32_t i = 0; i < SYNFIN_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			return -errno;
		for (int cpu = 0; cpu < ld->ncpus; cpu++)
			out[i] += vals[cpu];
	}
	return 0;
}

uint32_t loader__spill_capacity(const struct loader *ld)
{
	return ld->skel->rodata->spill_on ? bpf_map__max_entries(ld->skel->maps.spill) : 0;
}

void loader__set_cw_gen(struct loader *ld, uint32_t gen)
{
	__atomic_store_n(&ld->skel->bss->cw_gen, gen, __ATOMIC_RELEASE);
}

bool loader__spill_waiting(const struct loader *ld)
{
	return ld->spill_taken < __atomic_load_n(&ld->skel->bss->spill_stored, __ATOMIC_ACQUIRE);
}

void loader__spill_counts(const struct loader *ld, uint64_t *taken, uint64_t *stored)
{
	*taken = ld->spill_taken;
	*stored = __atomic_load_n(&ld->skel->bss->spill_stored, __ATOMIC_ACQUIRE);
}

int loader__drain_spill(struct loader *ld, loader_record_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, batch_opts);
	int fd = bpf_map__fd(ld->skel->maps.spill);
	uint32_t n, token = 0;
	bool first = true;
	int err = 0;

	/* stored only grows; what went in while we walked the map waits for
	 * the next drain */
	if (!loader__spill_waiting(ld))
		return 0;
	/* the values' buffer may be the sweep's already (loader__fw2_sweep) */
	if (!ld->spill_keys)
		ld->spill_keys = calloc(SPILL_BATCH, sizeof(*ld->spill_keys));
	if (!ld->spill_vals)
		ld->spill_vals = calloc(SPILL_BATCH, sizeof(*ld->spill_vals));
	if (!ld->spill_keys || !ld->spill_vals)
		return -ENOMEM;
	do {
		n = SPILL_BATCH;
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &token, &token,
						      ld->spill_keys, ld->spill_vals, &n,
						      &batch_opts);
		if (err && errno != ENOENT)
			return -errno;
		first = false;
		ld->spill_taken += n;
		for (uint32_t i = 0; i < n; i++)
			fn(ctx, &ld->spill_vals[i], sizeof(ld->spill_vals[i]));
	} while (!err);
	return 0;
}

/* A held orphan is dropped this long past its tw sock's longest wait
 * (fin_time_ms): the timer wheel fires a timer that long up to an eighth
 * late, and a reset may still be on its way. */
static uint64_t fw2_slack_ns(uint32_t wait_ms)
{
	return ((uint64_t)wait_ms / 8 + 1000) * 1000000ULL;
}

int loader__fw2_sweep(struct loader *ld, uint64_t now_ns, uint32_t *held)
{
	LIBBPF_OPTS(bpf_map_batch_opts, batch_opts);
	int fd = bpf_map__fd(ld->skel->maps.fw2_waits);
	uint32_t n, token = 0;
	bool first = true;
	int err;

	*held = 0;
	if (!ld->fw2_watch)
		return 0;
	if (!ld->spill_vals)
		ld->spill_vals = calloc(SPILL_BATCH, sizeof(*ld->spill_vals));
	if (!ld->fw2_keys)
		ld->fw2_keys = calloc(SPILL_BATCH, sizeof(*ld->fw2_keys));
	if (!ld->spill_vals || !ld->fw2_keys)
		return -ENOMEM;
	/* Their tw socks went with neither a FIN nor a reset: the peer never
	 * closed before tcp_fin_timeout, which is no failure. Without this
	 * the map would fill with them. */
	do {
		n = SPILL_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, ld->fw2_keys,
					   ld->spill_vals, &n, &batch_opts);
		if (err && errno != ENOENT)
			return -errno;
		first = false;
		for (uint32_t i = 0; i < n; i++) {
			const struct synfin_conn_event *ce = &ld->spill_vals[i];
			uint64_t until = ce->close.ts_ns + ce->story.tw_left * 1000000ULL +
					 fw2_slack_ns(ce->story.tw_left);

			if (now_ns > until)
				bpf_map_delete_elem(fd, &ld->fw2_keys[i]);
			else
				(*held)++;
		}
	} while (!err);
	return 0;
}

bool loader__live_fds(const struct loader *ld, struct kfigures_fds *fds)
{
	if (!ld->skel->rodata->live_figures)
		return false;
	fds->handshakes = bpf_map__fd(ld->skel->maps.handshakes);
	fds->listener_opens[0] = bpf_map__fd(ld->skel->maps.listener_opens);
	fds->listener_opens[1] = bpf_map__fd(ld->skel->maps.listener_opens1);
	fds->listener_gen = &ld->skel->bss->listener_gen;
	fds->close_waits = ld->classic ? bpf_map__fd(ld->skel->maps.close_waits) : -1;
	fds->sk_owners = ld->classic ? -1 : bpf_map__fd(ld->skel->maps.sk_owners);
	fds->ncpus = ld->ncpus;
	return true;
}

static uint64_t prog_recursion_misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	int fd = bpf_program__fd(prog);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

/* Runs tp_state and tp_destroy missed that their second copies handled. */
static uint64_t recursion_caught(const struct loader *ld)
{
	uint64_t cnt[SYNFIN_CNT_MAX];

	return loader__read_counters(ld, cnt) ? 0 : cnt[SYNFIN_CNT_NESTED_CAUGHT];
}

/* tp_state and tp_destroy: the programs with a second copy */
static bool has_second_copy(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);

	return strcmp(name, "tp_state") == 0 || strcmp(name, "tp_destroy") == 0;
}

void loader__recursion(const struct loader *ld, struct loader_recursion *r)
{
	struct bpf_program *prog;

	memset(r, 0, sizeof(*r));
	bpf_object__for_each_program(prog, ld->skel->obj) {
		if (is_second_copy(prog))
			continue;
		if (has_second_copy(prog))
			r->first_copies += prog_recursion_misses(prog);
		else
			r->others += prog_recursion_misses(prog);
	}
	/* read after the misses: a miss is caught right after it counts */
	r->caught = recursion_caught(ld);
	/* The first copies' misses that their second copies handled are no
	 * loss: only any not caught are. A second copy's own misses are never
	 * a loss: it is only busy once its first copy finished at that level,
	 * so the first ran for the deeper one. */
	r->lost = r->first_copies + r->others > r->caught ?
		  r->first_copies + r->others - r->caught : 0;
}

uint64_t loader__recursion_misses(const struct loader *ld)
{
	struct loader_recursion r;

	loader__recursion(ld, &r);
	return r.lost;
}
