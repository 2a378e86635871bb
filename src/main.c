// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* synfin: follow every TCP connection from SYN to FIN. main only
 * orchestrates: parse, check, load, seed, poll, report losses, clean up.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "census.h"
#include "clock.h"
#include "cw_marks.h"
#include "engine.h"
#include "ladder.h"
#include "loader.h"
#include "monitor.h"
#include "options.h"
#include "output.h"
#include "sockdiag.h"
#include "top.h"

#define CAP_PERFMON_ 38
#define CAP_BPF_ 39

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t reopen_asked; /* SIGHUP with -o */
static volatile sig_atomic_t suspend_asked; /* SIGTSTP (Ctrl-Z) in top */

/* Records handled per ring_buffer__poll/consume call. libbpf 1.1's consume
 * runs until the ring is empty, which under a producer faster than us is
 * never: signals, losses and alerts would wait forever. Past this many the
 * callback stops it (the record is consumed all the same). */
#define DRAIN_BATCH 65536
#define DRAIN_MORE (-EAGAIN)
/* The longest wait for records when none came: see drain_loop. */
#define IDLE_POLL_MAX_MS 100
/* a change of the wall clock's offset this large is a step (see run) */
#define CLOCK_STEP_MIN_NS 1000000LL
/* glibc's default, kept fixed (main()) */
#define MMAP_THRESHOLD_BYTES (128 * 1024)
static int libbpf_verbosity;

struct app {
	struct synfin_options opts;
	int64_t to_real;         /* CLOCK_MONOTONIC -> CLOCK_REALTIME, as last stepped */
	struct loader *ld;
	struct engine *eng;
	struct output *out;
	struct ladder *ladder;   /* --ladder: records go here instead of out */
	struct monitor *mon;     /* detectors and live figures; NULL with --no-alerts outside top */
	struct top_screen *top;  /* `synfin top` without -j */
	struct ring_buffer *rb;
	uint64_t reported[SYNFIN_CNT_MAX];  /* kernel losses already reported */
	uint64_t reported_table_full;
	uint64_t reported_recursion;
	uint64_t reported_monitor;
	uint64_t reported_unformatted;
	uint64_t census_spacing_told; /* the walks' spacing last said on stderr */
	uint64_t folded[SYNFIN_CNT_MAX];    /* summary mode: folded counts passed on */
	struct cw_marks cw_marks;           /* how old a CLOSE_WAIT mark standing can be */
	uint64_t bad_records;
	uint64_t ring_read;      /* records read from the ring (-v) */
	uint64_t failed_shown;   /* --failed: connection records printed */
	uint64_t orderly_judged; /* ... and those the kernel passed on that were not failures */
	uint32_t fw2_held;       /* ... orphans the kernel holds in FIN_WAIT2 (last sweep) */
	uint64_t fw2_full;       /* ... and those it had no room to hold (SYNFIN_CNT_FW2_FULL) */
	bool fw2_sweep_failed;   /* ... said once until a sweep works again */
	uint32_t batch;          /* records in this drain call */
	bool draining_spill;     /* the records come from the spill map */
	struct census_counts census; /* for -v, taken as the monitor stops */
	struct monitor_tw_counts tw_counts; /* for -v */
	bool census_counted;
	char why_stopped[256];   /* the failure that ended the run, said after top's screen */
};

/* The line that says why the run failed. While top's screen is up it is
 * kept, and said once the screen is gone: written on the alternate
 * screen, it vanished with it. */
static void say_why_stopped(struct app *app, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (app->top)
		vsnprintf(app->why_stopped, sizeof(app->why_stopped), fmt, ap);
	else
		vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* 1: stop; 2: asked again, do not wait on a slow reader (output.c) */
static void on_signal(int sig)
{
	(void)sig;
	exiting = exiting ? 2 : 1;
}

/* Without SA_RESTART (signal() sets it): a write() blocked on a reader
 * that stopped reading returns, and the output gives it up after its
 * grace (output__set_stop), where it would wait for ever. */
static void catch_stop(int sig)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* -d's end, as a stop: a write blocked on a reader that stalled returns
 * (no SA_RESTART), and the output's grace bounds it as after SIGINT. */
static void on_duration(int sig)
{
	(void)sig;
	if (!exiting)
		exiting = 1;
}

static void on_sigtstp(int sig)
{
	(void)sig;
	suspend_asked = 1;
}

static void on_sighup(int sig)
{
	(void)sig;
	reopen_asked = 1;
}

/* SIGHUP with -o: the file is opened again by its name, for log rotation
 * (logrotate renames it, then signals). What was held goes to the old
 * file first. If the name cannot be opened, the old file goes on. */
static void reopen_output(struct app *app)
{
	int fd = output_file_open(app->opts.output), old;

	if (fd < 0) {
		fprintf(stderr, "synfin: SIGHUP: reopening the output file failed: %s; "
			"still writing to the one open before\n",
			fd == -ESPIPE ? "it is a pipe or socket now" : strerror(-fd));
		return;
	}
	old = output__set_fd(app->out, fd);
	close(old);
	app->opts.output_fd = fd;
	if (output__new_file(app->out))
		ladder__new_file(app->ladder);
	if (app->opts.verbose)
		fprintf(stderr, "synfin: SIGHUP: output file reopened\n");
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if ((int)level > libbpf_verbosity)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* A finished connection tells the detectors and the live view who owned
 * it (a TIME_WAIT group's owner comes from its connections' records); in
 * --events that is all it does, the records being the events. */
static void on_conn_figures(const struct conn_record *rec, void *ctx)
{
	struct app *app = ctx;

	if (app->mon)
		monitor__conn(app->mon, rec);
}

static void on_conn(const struct conn_record *rec, void *ctx)
{
	struct app *app = ctx;

	on_conn_figures(rec, ctx);
	if (app->opts.top)
		return;  /* top shows figures, not connections */
	/* the kernel judged by what it knew at the ->CLOSE; the whole record
	 * settles the rest (a destroy's record, an abort seen only here) */
	if (app->opts.only_failed) {
		if (!conn_failed(rec)) {
			app->orderly_judged++;
			return;
		}
		app->failed_shown++;
	}
	if (app->ladder)
		ladder__conn(app->ladder, rec, now_mono_ns());
	else
		output__conn(app->out, rec);
}

static void on_time_wait(const struct conn_record *rec, void *ctx)
{
	struct app *app = ctx;

	/* none come under -F: it leaves the TIME_WAIT timers unhooked */
	if (!app->ladder && !app->opts.top)
		output__time_wait(app->out, rec);
}

static void on_event(const struct synfin_event *ev, void *ctx)
{
	struct app *app = ctx;

	if (app->mon)
		monitor__event(app->mon, ev);
	if (app->opts.events)
		output__event(app->out, ev);
}

static void on_alert(const struct live_alert *a, void *ctx)
{
	struct app *app = ctx;

	/* on the top screen, alerts are drawn with the rest */
	if (!app->top)
		output__alert(app->out, a);
}

static void on_stats(const struct live_stats *s, void *ctx)
{
	struct app *app = ctx;

	if (app->top)
		top__draw(app->top, s, app->to_real);
	else
		output__stats(app->out, s);
}

/* engine_opts.spill_waiting: records taken from the spill map are being
 * handed over, or some wait there still. */
static bool spill_waiting(void *ctx)
{
	struct app *app = ctx;

	return app->draining_spill || loader__spill_waiting(app->ld);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct app *app = ctx;

	const struct synfin_event *ev = data;

	if (!app->draining_spill)
		app->ring_read++;
	if (len < sizeof(*ev) ||
	    (ev->kind == SYNFIN_EV_CONN && len < sizeof(struct synfin_conn_event))) {
		app->bad_records++;
		return 0;
	}
	if (ev->kind == SYNFIN_EV_CONN)
		engine__handle_conn(app->eng, data);
	else
		engine__handle(app->eng, ev);
	if (++app->batch >= DRAIN_BATCH) {
		app->batch = 0;
		return DRAIN_MORE;
	}
	return 0;
}

/* Whether the effective set holds cap (no, if it cannot be read). */
static bool has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	if (cap >= 64 || syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Root, or CAP_BPF with CAP_PERFMON (5.8+), or CAP_SYS_ADMIN. */
static bool has_privileges(void)
{
	if (geteuid() == 0)
		return true;
	return has_cap(CAP_SYS_ADMIN) || (has_cap(CAP_BPF_) && has_cap(CAP_PERFMON_));
}

static void report_one(struct app *app, uint64_t *reported, uint64_t total,
		       const char *reason)
{
	if (total <= *reported)
		return;
	/* the top screen shows the total itself; a line would tear it */
	if (!app->top)
		output__lost(app->out, now_mono_ns(), reason, total - *reported, total);
	*reported = total;
}

/* Retransmits and resets kept in the kernel's stories, and handshakes it
 * counted, still count in the live rates. The counts of CLOSE_WAIT marks
 * tell the census whether one can be old enough to dump them for (tick:
 * the once-a-second call, which may move their generation on). */
static void pass_folded(struct app *app, const uint64_t *cnt, bool tick)
{
	const uint64_t *seen = app->folded;
	struct monitor_folded f = {
		.retransmits = cnt[SYNFIN_CNT_RETRANS_FOLDED] - seen[SYNFIN_CNT_RETRANS_FOLDED],
		.resets_sent = cnt[SYNFIN_CNT_RST_SENT_FOLDED] - seen[SYNFIN_CNT_RST_SENT_FOLDED],
		.resets_received = cnt[SYNFIN_CNT_RST_RECV_FOLDED] - seen[SYNFIN_CNT_RST_RECV_FOLDED],
		.opens_active = cnt[SYNFIN_CNT_OPENS_ACTIVE] - seen[SYNFIN_CNT_OPENS_ACTIVE],
		.opens_passive = cnt[SYNFIN_CNT_OPENS_PASSIVE] - seen[SYNFIN_CNT_OPENS_PASSIVE],
	};

	if (tick && cw_marks__tick(&app->cw_marks, cnt, now_mono_ns()))
		loader__set_cw_gen(app->ld, app->cw_marks.gen);
	f.close_wait_marks_since_ns = app->cw_marks.earliest_ns;
	if (app->mon)
		monitor__folded(app->mon, &f);
	memcpy(app->folded, cnt, sizeof(app->folded));
}

/* monitor_opts.on_interval_end: the live counts up to now, so opens land
 * in the interval their handshake times do (those are read as it closes,
 * and this second's tick may be most of a second away). The CLOSE_WAIT
 * marks' generation still moves once a second, with the tick. */
static void fold_now(void *ctx)
{
	struct app *app = ctx;
	uint64_t cnt[SYNFIN_CNT_MAX];

	if (!loader__read_counters(app->ld, cnt))
		pass_folded(app, cnt, false);
}

/* table_full: connections the table had no room for, and, under -F,
 * orphans whose wait the kernel had no room to hold (a follow-up of the
 * tw sock lost, as the table's cap loses one); fw2_full as of the last
 * report_losses, which run() also makes after its last drain. */
static uint64_t table_full_lost(const struct app *app)
{
	return engine__lost(app->eng, LOSS_TABLE_FULL) + app->fw2_full;
}

/* Every loss the kernel or the table counted since the last report goes
 * out in-band as a "lost" record. */
static void report_losses(struct app *app)
{
	static const struct {
		int idx;
		const char *reason;
	} kernel_losses[] = {
		{ SYNFIN_CNT_RB_FULL, "ringbuf_full" },
		{ SYNFIN_CNT_STORAGE_FAIL, "storage_full" },
		{ SYNFIN_CNT_OWNER_MAP_FULL, "owner_map_full" },
		{ SYNFIN_CNT_LIVE_MAP_FULL, "live_map_full" },
	};
	uint64_t cnt[SYNFIN_CNT_MAX];

	if (!loader__read_counters(app->ld, cnt)) {
		for (size_t i = 0; i < sizeof(kernel_losses) / sizeof(kernel_losses[0]); i++)
			report_one(app, &app->reported[kernel_losses[i].idx],
				   cnt[kernel_losses[i].idx], kernel_losses[i].reason);
		pass_folded(app, cnt, true);
		app->fw2_full = cnt[SYNFIN_CNT_FW2_FULL];
	}
	report_one(app, &app->reported_table_full, table_full_lost(app), "table_full");
	report_one(app, &app->reported_recursion, loader__recursion_misses(app->ld),
		   "recursion_miss");
	if (app->mon)
		report_one(app, &app->reported_monitor, monitor__missed(app->mon),
			   "detector_keys");
	report_one(app, &app->reported_unformatted, output__unformatted(app->out),
		   "unformatted");
}

/* Every loss reported so far, for the stats records. */
static uint64_t lost_total(const struct app *app)
{
	return app->reported[SYNFIN_CNT_RB_FULL] + app->reported[SYNFIN_CNT_STORAGE_FAIL] +
	       app->reported[SYNFIN_CNT_OWNER_MAP_FULL] +
	       app->reported[SYNFIN_CNT_LIVE_MAP_FULL] + app->reported_table_full +
	       app->reported_recursion + app->reported_monitor + app->reported_unformatted;
}

/* -v: one kind of tw record that came before what it waits for */
static void print_early(const char *what, const char *awaited, const struct engine_early *e)
{
	fprintf(stderr, "synfin: tw %s before %s: %llu waiting, "
		"%llu dropped unclaimed, %llu pushed out of a slot\n", what, awaited,
		(unsigned long long)e->waiting, (unsigned long long)e->dropped,
		(unsigned long long)e->pushed_out);
}

static void print_summary(struct app *app)
{
	static const char *const kinds[SYNFIN_EV_MAX] = {
		[SYNFIN_EV_STATE] = "state",
		[SYNFIN_EV_RETRANSMIT] = "retransmit",
		[SYNFIN_EV_SYNACK_RETRANSMIT] = "synack_retransmit",
		[SYNFIN_EV_RESET_SENT] = "reset_sent",
		[SYNFIN_EV_RESET_RECEIVED] = "reset_received",
		[SYNFIN_EV_DESTROY] = "destroy",
		[SYNFIN_EV_TW_START] = "tw_start",
		[SYNFIN_EV_TW_END] = "tw_end",
		[SYNFIN_EV_TW_FIN] = "tw_fin",
		[SYNFIN_EV_CONN] = "conn",
	};
	uint64_t cnt[SYNFIN_CNT_MAX] = {};
	struct loader_recursion r;

	loader__read_counters(app->ld, cnt);
	/* misses and catches in one read, so the two printed agree */
	loader__recursion(app->ld, &r);
	fprintf(stderr, "synfin: %llu events (%llu filtered in the kernel), lost: ringbuf_full=%llu "
		"storage_full=%llu owner_map_full=%llu live_map_full=%llu table_full=%llu recursion_miss=%llu "
		"detector_keys=%llu unformatted=%llu; not lost: recursion_caught=%llu spilled=%llu; "
		"%u connections still open, %u TIME_WAIT socks followed\n",
		(unsigned long long)cnt[SYNFIN_CNT_EMITTED],
		(unsigned long long)cnt[SYNFIN_CNT_FILTERED],
		(unsigned long long)cnt[SYNFIN_CNT_RB_FULL],
		(unsigned long long)cnt[SYNFIN_CNT_STORAGE_FAIL],
		(unsigned long long)cnt[SYNFIN_CNT_OWNER_MAP_FULL],
		(unsigned long long)cnt[SYNFIN_CNT_LIVE_MAP_FULL],
		(unsigned long long)table_full_lost(app),
		(unsigned long long)r.lost,
		(unsigned long long)app->reported_monitor,
		(unsigned long long)output__unformatted(app->out),
		(unsigned long long)r.caught,
		(unsigned long long)cnt[SYNFIN_CNT_SPILLED],
		engine__live(app->eng), engine__time_wait(app->eng));
	if (app->opts.only_failed)
		fprintf(stderr, "synfin: --failed: failed connections shown: %llu; orderly ones "
			"judged here and left out: %llu (the kernel kept back the rest)\n",
			(unsigned long long)app->failed_shown,
			(unsigned long long)app->orderly_judged);
	if (app->opts.only_failed && app->opts.verbose)
		fprintf(stderr, "synfin: --failed: orphans held in FIN-WAIT-2 for their peer's FIN or "
			"a reset: %u at the last sweep, %llu with no room (table_full), %llu not "
			"held at tcp_max_tw_buckets (no tw sock left to watch)\n",
			app->fw2_held, (unsigned long long)cnt[SYNFIN_CNT_FW2_FULL],
			(unsigned long long)cnt[SYNFIN_CNT_FW2_NO_TW]);
	if (app->opts.verbose)
		fprintf(stderr, "synfin: recursion: the kernel skipped %llu runs of tp_state and "
			"tp_destroy, their second copies took %llu; %llu runs of other programs\n",
			(unsigned long long)r.first_copies, (unsigned long long)r.caught,
			(unsigned long long)r.others);
	if (app->opts.verbose) {
		struct engine_early ends, fins, notes;
		struct engine_late_births births;
		uint64_t spill_taken, spill_stored;

		loader__spill_counts(app->ld, &spill_taken, &spill_stored);
		fprintf(stderr, "synfin: records read: %llu from the ring of the %llu the kernel "
			"put there, %llu from the spill map of the %llu it put there\n",
			(unsigned long long)app->ring_read,
			(unsigned long long)cnt[SYNFIN_CNT_EMITTED],
			(unsigned long long)spill_taken, (unsigned long long)spill_stored);

		fprintf(stderr, "synfin: retransmit attempts that sent nothing (not counted as "
			"retransmits): %llu\n",
			(unsigned long long)cnt[SYNFIN_CNT_RETRANS_UNSENT]);

		engine__early_ends(app->eng, &ends);
		engine__early_fins(app->eng, &fins);
		engine__early_notes(app->eng, &notes);
		engine__late_births(app->eng, &births);
		print_early("ends", "any record of their connection", &ends);
		print_early("FINs", "any record of their connection", &fins);
		print_early("reset notes", "their connection's record or their kill", &notes);
		fprintf(stderr, "synfin: tw starts before any record of their connection: "
			"%llu pushed out of a slot\n",
			(unsigned long long)engine__early_starts_pushed_out(app->eng));
		fprintf(stderr, "synfin: tw births sent apart from their connection's record: "
			"%llu; of those records, %llu waiting for it, %llu whose birth came "
			"after them, %llu whose birth two drains did not bring\n",
			(unsigned long long)births.apart, (unsigned long long)births.waiting,
			(unsigned long long)births.came, (unsigned long long)births.unseen);
	}
	if (app->opts.verbose && app->census_counted)
		fprintf(stderr, "synfin: census: %llu walks (%llu of them walked TIME_WAIT), %llu "
			"dumps that walked the established hash; TIME_WAIT counted from the "
			"followed tw socks in %llu of %llu intervals (%llu of them apart from "
			"the kernel's once, passed over); %llu CLOSE_WAIT sockets listed, %llu "
			"left out as too young, %llu found by their tuple; %llu namespaces not asked for TIME_WAIT, too "
			"few to alert; %llu namespaces walked, %llu of their sysctls read (the "
			"rest carried over); walks up to %.1f s apart; %llu servers' ports (notes, "
			"listeners gone) past their bounds (their tw socks grouped as clients'); %llu scans "
			"of the processes' fds for owners, %llu CLOSE_WAIT sockets listed as "
			"held by another process than the one recorded\n",
			(unsigned long long)app->census.walks,
			(unsigned long long)app->census.tw_walks,
			(unsigned long long)app->census.hash_walks,
			(unsigned long long)app->tw_counts.from_engine,
			(unsigned long long)app->tw_counts.intervals,
			(unsigned long long)app->tw_counts.apart_passed,
			(unsigned long long)app->census.close_waits,
			(unsigned long long)app->census.close_waits_young,
			(unsigned long long)app->census.close_waits_by_tuple,
			(unsigned long long)app->census.tw_too_few,
			(unsigned long long)app->census.netns_walked,
			(unsigned long long)app->census.sysctl_reads,
			(double)app->census.max_spacing_ns / 1e9,
			(unsigned long long)app->census.server_notes_dropped,
			(unsigned long long)app->census.owner_scans,
			(unsigned long long)app->census.close_waits_held_elsewhere);
	if (cnt[SYNFIN_CNT_RB_FULL]) {
		/* which records the full ring cost, so the loss can be checked
		 * against what was expected (and --ringbuf-mb sized) */
		fprintf(stderr, "synfin: ringbuf_full by kind:");
		for (int k = 1; k < SYNFIN_EV_MAX; k++)
			fprintf(stderr, " %s=%llu", kinds[k] ? kinds[k] : "other",
				(unsigned long long)cnt[SYNFIN_CNT_RB_FULL_KIND + k]);
		fprintf(stderr, " (raise --ringbuf-mb)\n");
	}
	if (app->bad_records)
		fprintf(stderr, "synfin: %llu malformed ring buffer records ignored\n",
			(unsigned long long)app->bad_records);
}

/* The reader competes for CPU with the load it watches. Starved, it falls
 * behind and the ring overflows, yet every record it reads costs the same
 * whenever it reads it: a higher weight buys no loss, not more work (the
 * reasoning of auditd's priority_boost). Only this thread: nice is per
 * thread on Linux, and the census thread, started before, keeps its own. */
static void boost_reader(uint32_t boost)
{
	int now_nice, target;

	if (!boost)
		return;
	errno = 0;
	now_nice = getpriority(PRIO_PROCESS, 0);
	if (now_nice == -1 && errno)
		now_nice = 0;
	target = now_nice - (int)boost < -20 ? -20 : now_nice - (int)boost;
	if (setpriority(PRIO_PROCESS, 0, target))
		fprintf(stderr, "synfin: cannot raise the reader's priority to nice %d: %s; "
			"under load it may fall behind\n", target, strerror(errno));
}

/* Connection records the kernel could not put on the full ring wait in
 * its spill map: they follow the ring's, in no particular order. */
static int drain_spill(struct app *app)
{
	int err;

	app->draining_spill = true;
	err = loader__drain_spill(app->ld, on_record, app);
	app->draining_spill = false;

	if (err)
		say_why_stopped(app, "synfin: reading the spill map failed: %s\n", strerror(-err));
	return err;
}

/* On a host of many namespaces a census walk can cost more than the
 * budget allows each interval: the walks are then spaced out, and every
 * figure and alert is that late. Said once it happens, and again each
 * time the spacing doubles; top's screen shows its interval instead. */
static void tell_census_pace(struct app *app)
{
	struct monitor_census_pace pace;

	if (!app->mon || app->top)
		return;
	monitor__census_pace(app->mon, &pace);
	if (!census_pace_news((uint64_t)app->opts.interval_s * 1000000000ULL, pace.spacing_ns,
			      &app->census_spacing_told))
		return;
	fprintf(stderr, "synfin: census: a walk of %zu namespace%s takes %.0f ms of CPU, so walks "
		"are %.1f s apart, not %u s, to keep within --census-budget %g%% of a core: "
		"figures and alerts come that late\n", pace.nnetns, pace.nnetns == 1 ? "" : "s",
		(double)pace.walk_cpu_ns / 1e6, (double)pace.spacing_ns / 1e9,
		app->opts.interval_s, app->opts.census_budget_pct);
}

/* One line: the output's first failed write, and what it cost. */
static void report_write_error(const struct app *app)
{
	struct output_write_error we;

	if (!output__write_error(app->out, &we))
		return;
	if (we.err == ETIMEDOUT || we.err == ECANCELED) {
		fprintf(stderr, "synfin: %s; stopped, %" PRIu64 " %s not written%s\n",
			we.err == ETIMEDOUT ? "the output's reader took nothing for 2 s after the stop" :
			"asked to stop again while the output's reader was behind", we.lost,
			we.lines ? "lines" : "records",
			we.cut ? ", one of them in part (the output ends in a cut line)" : "");
		return;
	}
	fprintf(stderr, "synfin: writing the output failed: %s; stopped, %" PRIu64
		" %s not written%s\n", strerror(we.err), we.lost,
		we.lines ? "lines" : "records",
		we.cut ? ", one of them in part (the output ends in a cut line)" : "");
}

/* The output's reader has gone, and no write told it yet: end as the
 * next write would have, by SIGPIPE unless synfin's caller ignores (or
 * blocks) it; then the write error line says what was not written. */
static void stop_as_sigpipe(void)
{
	struct sigaction sa;

	if (!sigaction(SIGPIPE, NULL, &sa) && sa.sa_handler != SIG_IGN)
		raise(SIGPIPE);
}

static int run(struct app *app)
{
	uint64_t next_report = now_mono_ns() + 1000000000ULL;
	int poll_ms = (int)app->opts.drain_ms, err = 0, failed = 0;
	bool spill_failed = false;

	/* -d: its alarm ends the loop, as a stop signal does */
	if (app->opts.duration_s) {
		struct sigaction sa = { .sa_handler = on_duration };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		alarm(app->opts.duration_s);
	}

	while (!exiting) {
		bool got, ring_emptied;
		uint64_t now;

		if (reopen_asked) {
			reopen_asked = 0;
			reopen_output(app);
		}

		/* The kernel side wakes us only when the ring fills up; the
		 * rest is drained on this timer (KERNEL-NOTES §8, §10). */
		app->batch = 0;
		err = ring_buffer__poll(app->rb, poll_ms);
		got = err > 0 || err == DRAIN_MORE;
		/* A signal cut the wait short (a SIGHUP's rotation, a storm
		 * of them): drain all the same. Skipped, the ring was read
		 * only when it filled, and more records spilled. */
		if (err >= 0 || err == DRAIN_MORE || err == -EINTR) {
			app->batch = 0;
			err = ring_buffer__consume(app->rb);
			got = got || err > 0 || err == DRAIN_MORE;
		}
		/* Nothing came: look again later, up to IDLE_POLL_MAX_MS. A
		 * wake-up every 10 ms to find nothing was half of synfin's CPU
		 * on an idle host. A burst still wakes us at once (the kernel
		 * does when the ring holds wakeup_bytes); what waits longer is
		 * the first few records after a quiet spell. */
		if (got)
			poll_ms = (int)app->opts.drain_ms;
		else if (poll_ms < IDLE_POLL_MAX_MS)
			poll_ms = poll_ms * 2 < IDLE_POLL_MAX_MS ? poll_ms * 2 : IDLE_POLL_MAX_MS;
		ring_emptied = err >= 0;
		if (err == DRAIN_MORE)
			err = 0;
		/* a failed read ends the run, through the stop below: what
		 * can still be read and counted is */
		if (err < 0 && err != -EINTR) {
			say_why_stopped(app, "synfin: reading the ring buffer failed: %s\n",
					strerror(-err));
			failed = err;
			break;
		}
		err = drain_spill(app);
		if (err) {
			failed = err;
			spill_failed = true;
			break;
		}
		if (ring_emptied)
			engine__spill_drained(app->eng);
		now = now_mono_ns();
		if (app->ladder)
			ladder__tick(app->ladder, now);
		/* a full disk, a reader gone (SIGPIPE ignored, as under
		 * systemd): what follows could only be lost, so stop */
		if (output__flush(app->out))
			break;
		if (now >= next_report) {
			if (output__reader_gone(app->out)) {
				stop_as_sigpipe();
				break;
			}
			/* The wall clock may have been stepped (NTP after
			 * boot, a resume): records keep to it. Only a step:
			 * the bracketed read wobbles by some ns from one
			 * second to the next, and a time given twice (an
			 * alert's since, in its start and its end) must read
			 * the same. NTP's slewing moves both clocks alike. */
			int64_t to_real = output__clock_offset();

			if (llabs(to_real - app->to_real) >= CLOCK_STEP_MIN_NS) {
				app->to_real = to_real;
				output__set_clock_offset(app->out, to_real);
				ladder__set_clock_offset(app->ladder, to_real);
			}
			engine__tick(app->eng, now);
			err = loader__fw2_sweep(app->ld, now, &app->fw2_held);
			if (err && !app->fw2_sweep_failed)
				fprintf(stderr, "synfin: --failed: sweeping the orphans held in "
					"the kernel failed: %s\n", strerror(-err));
			app->fw2_sweep_failed = err != 0;
			err = 0;
			report_losses(app);
			tell_census_pace(app);
			next_report = now + 1000000000ULL;
		}
		if (app->mon)
			monitor__poll(app->mon, app->eng, now, lost_total(app));
		if (suspend_asked && app->top) {
			/* the shell gets its terminal back, then synfin stops as
			 * Ctrl-Z meant; fg (SIGCONT) goes on from here */
			suspend_asked = 0;
			top__suspend(app->top);
			raise(SIGSTOP);
			top__resume(app->top);  /* the next interval's frame fills it */
		}
		if (app->top && (top__quit_requested(app->top) || top__write_error(app->top)))
			break;
	}
	/* top's q, a failure: a stop like SIGINT's and -d's alarm, so that a
	 * reader that stalls does not hold the last writes for ever */
	if (!exiting)
		exiting = 1;
	/* Nothing more is made from here on, so the drains below take the
	 * last of it. Attached, the programs spilled records while the ring
	 * was read, and those were left in the spill map, unread and
	 * uncounted. */
	loader__detach(app->ld);
	/* All that is left: the ring holds what it holds, nothing is added.
	 * A reader that stalls is bounded by the output's grace (its writes
	 * then fail, and the rest is counted as not written), not here:
	 * records left in the ring were read by nobody and counted by
	 * nothing. */
	do {
		app->batch = 0;
		err = ring_buffer__consume(app->rb);
	} while (err == DRAIN_MORE);
	if (err == DRAIN_MORE)
		err = 0;
	/* a count of records read is no error: the spill map is drained
	 * after any */
	if (err >= 0 && !spill_failed)
		err = drain_spill(app);
	/* what is settled goes out: a tw sock killed more than a re-arm's
	 * window ago, whose record would otherwise wait for a tick that
	 * does not come (a burst drained just before the stop) */
	engine__last_drain(app->eng);
	engine__tick(app->eng, now_mono_ns());
	report_losses(app);
	if (failed)
		return failed;
	return err < 0 ? err : 0;
}

/* A closed standard descriptor would be taken by the next one opened (a
 * BPF map, a perf event), and the records, or the summary, written into
 * it. Each closed one is opened on /dev/null, so the numbers stay taken;
 * returns whether stdout was one of them. */
static bool hold_std_fds(void)
{
	bool stdout_closed = false;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == STDOUT_FILENO)
			stdout_closed = true;
		/* open() takes the lowest free number: this one (if /dev/null
		 * is missing, nothing better can be done) */
		open("/dev/null", O_RDWR);
	}
	return stdout_closed;
}

/* What the first walk over the namespaces could not reach: connections
 * open there are not seeded, and the census, which walks the same way,
 * does not count their sockets either (its stats records go on counting
 * what each walk missed). Without CAP_SYS_ADMIN setns() fails; without
 * CAP_SYS_PTRACE the namespace of a process holding capabilities synfin
 * lacks cannot even be named. Said with or without -v, but for processes
 * unreadable even with CAP_SYS_PTRACE (a sandbox's init, say): their
 * namespace is most likely one already read, and nothing synfin is given
 * would change it. */
static void report_unreached(const struct sockdiag_stats *ds, uint32_t only_netns,
			     bool verbose)
{
	bool ptrace = has_cap(CAP_SYS_PTRACE);
	int err = ds->netns_failed_err;

	if (ds->netns_failed)
		fprintf(stderr, "synfin: %u network namespace%s could not be read (%s%s): "
			"connections open there are not seeded, and the census does not "
			"count their sockets\n", ds->netns_failed, ds->netns_failed == 1 ? "" : "s",
			strerror(-err), err == -EPERM ? "; entering one needs CAP_SYS_ADMIN" : "");
	/* with --netns, once that namespace is read the others do not matter */
	if (!ds->procs_unreadable || (only_netns && ds->netns_visited) || (ptrace && !verbose))
		return;
	fprintf(stderr, "synfin: the network namespace of %u process%s could not be read (%s): "
		"one only they are in is neither seeded nor counted, and the sockets they "
		"hold get no owner\n", ds->procs_unreadable,
		ds->procs_unreadable == 1 ? "" : "es",
		ptrace ? "denied even with CAP_SYS_PTRACE" : "that needs CAP_SYS_PTRACE");
}

/* --cgroup takes the cgroups below its own too. The kernel judges that by
 * each socket's ancestors; the sockets open at start come from sock_diag
 * with their cgroup's id alone, so user space lists the tree's ids once.
 * Without a cgroup v2 mount, or with the cgroup not under it, those are
 * matched by the named cgroup alone, and -v says so. */
static void collect_cgroup_tree(struct synfin_filter *f, uint64_t **tree, bool verbose)
{
	char mount[4096];
	int err;

	if (!f->cgroup_id)
		return;
	err = cgroup_tree_mount(mount, sizeof(mount));
	if (!err)
		err = cgroup_tree_collect(mount, f->cgroup_id, tree, &f->ncgroup_tree);
	f->cgroup_tree = *tree;
	/* as for an unknown --netns number: a typo must not look like a
	 * quiet host (cgroup ids are not handed out again, so only a cgroup
	 * made later, or one outside this mount, can take it) */
	if (!err && !f->ncgroup_tree) {
		fprintf(stderr, "synfin: --cgroup %llu: no cgroup under %s has that id (levels "
			"0-%d); the filter matches one only if it is made later or lies outside "
			"that mount\n", (unsigned long long)f->cgroup_id, mount,
			CGROUP_TREE_LEVELS - 1);
		return;
	}
	if (verbose && !f->ncgroup_tree)
		fprintf(stderr, "synfin: the cgroups below cgroup %llu not listed (%s): connections "
			"open at start are matched by their own cgroup only\n",
			(unsigned long long)f->cgroup_id,
			err ? strerror(-err) : "not under the cgroup v2 mount");
}

int main(int argc, char **argv)
{
	struct app app = {};
	uint64_t *cgroup_tree = NULL;
	struct output_opts oo = {};
	struct engine_opts eo = {};
	struct sockdiag_stats ds = {};
	bool stdout_closed = hold_std_fds();
	sigset_t load_signals;
	int err;

	/* A fixed threshold: glibc's own rises to the size of any mmap'ed
	 * block freed (the census thread frees some each walk), after which
	 * the tables' big arrays come from the heap and what they leave
	 * behind as they grow stays resident. With 100,000 connections held
	 * and a churn, peak RSS was 36.8-48.0 MiB from trial to trial; with
	 * this, 36.1-37.1 MiB. */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
	err = options_parse(argc, argv, &app.opts);
	if (err)
		return err > 0 ? 0 : 2;
	libbpf_verbosity = app.opts.verbose >= 2 ? LIBBPF_DEBUG :
			   app.opts.verbose ? LIBBPF_INFO : LIBBPF_WARN;
	libbpf_set_print(libbpf_print_fn);

	/* everything synfin has to say goes to stdout, or to -o's file */
	if (stdout_closed && !app.opts.output) {
		fprintf(stderr, "synfin: standard output is closed; nothing to write the records to\n");
		return 1;
	}
	if (!has_privileges()) {
		fprintf(stderr, "synfin: need root, or CAP_BPF and CAP_PERFMON\n");
		return 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "synfin: no kernel BTF at /sys/kernel/btf/vmlinux "
			"(synfin needs a kernel >= 5.8 with CONFIG_DEBUG_INFO_BTF=y)\n");
		return 1;
	}

	/* Before the load, which takes seconds: a stop asked for meanwhile is
	 * kept, and the main loop never starts. A shell starts a background
	 * command with SIGINT ignored, so without this one sent then was
	 * lost; SIGTERM killed synfin before it could detach cleanly. */
	catch_stop(SIGINT);
	catch_stop(SIGTERM);
	if (app.opts.output)
		signal(SIGHUP, on_sighup);

	/* stdout carries data only, in output.c's buffer: flushed after every
	 * drain of the ring, so a pipe sees each record within a drain */
	oo.json = app.opts.json;
	oo.wide = app.opts.wide;
	oo.timestamps = app.opts.timestamps;
	oo.events = app.opts.events;
	oo.out = stdout;
	oo.mono_to_real_ns = app.to_real = output__clock_offset();
	app.out = output__new(&oo);
	if (app.out && app.opts.output_fd >= 0)
		output__set_fd(app.out, app.opts.output_fd);
	if (app.out)
		output__set_stop(app.out, &exiting);
	eo.max_conns = app.opts.max_conns;
	eo.filter = &app.opts.filter;
	eo.ctx = &app;
	eo.spill_waiting = spill_waiting;
	if (app.opts.events) {
		eo.on_event = on_event;
		eo.on_conn = on_conn_figures;
	} else {
		eo.on_conn = on_conn;
		eo.on_time_wait = on_time_wait;
		/* the detectors and the live view count events as they come */
		if (app.opts.top || !app.opts.no_alerts)
			eo.on_event = on_event;
	}
	app.eng = engine__new(&eo);
	if (!app.out || !app.eng) {
		fprintf(stderr, "synfin: out of memory\n");
		err = -ENOMEM;
		goto cleanup;
	}
	if (app.opts.ladder) {
		/* the pictures go out with the records, one write path */
		struct ladder_opts lo = { .out = output__stream(app.out),
					  .ascii = app.opts.ascii || ladder_locale_wants_ascii(),
					  .mono_to_real_ns = oo.mono_to_real_ns };

		app.ladder = lo.out ? ladder__new(&lo) : NULL;
		if (!app.ladder) {
			fprintf(stderr, "synfin: out of memory\n");
			err = -ENOMEM;
			goto cleanup;
		}
	}

	/* A signal pending while the verifier runs makes the load fail
	 * with EAGAIN (and libbpf gives up after a few tries): a stop or a
	 * rotation asked for meanwhile waits for the load's end instead, as
	 * the handlers above keep it. */
	sigemptyset(&load_signals);
	sigaddset(&load_signals, SIGINT);
	sigaddset(&load_signals, SIGTERM);
	sigaddset(&load_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &load_signals, NULL);
	err = loader__open(&app.opts, &app.ld);
	sigprocmask(SIG_UNBLOCK, &load_signals, NULL);
	if (err)
		goto cleanup;
	cw_marks__init(&app.cw_marks, now_mono_ns());
	engine__set_tw(app.eng, loader__timewait(app.ld), loader__tw_fin(app.ld));
	engine__set_spill(app.eng, loader__spill_capacity(app.ld));
	output__set_follow_tw(app.out, loader__timewait(app.ld));
	app.rb = ring_buffer__new(loader__ringbuf_fd(app.ld), on_record, &app, NULL);
	if (!app.rb) {
		err = -errno;
		fprintf(stderr, "synfin: failed to create ring buffer: %s\n", strerror(-err));
		goto cleanup;
	}

	/* Seed after attaching, so a connection cannot open unseen between
	 * the dump and the first event; one seen twice is kept once. */
	collect_cgroup_tree(&app.opts.filter, &cgroup_tree, app.opts.verbose);
	err = sockdiag_seed(app.eng, &app.opts.filter, now_mono_ns(), &ds);
	if (err)
		fprintf(stderr, "synfin: could not list open connections: %s\n", strerror(-err));
	if (ds.seeds_passed_over)
		fprintf(stderr, "synfin: %u open connections not seeded: --max-conns (%u) reached; "
			"each is followed from its next event, as not seeded\n",
			ds.seeds_passed_over, engine__max_conns(app.eng));
	report_unreached(&ds, app.opts.filter.netns, app.opts.verbose);
	if (app.opts.verbose)
		fprintf(stderr, "synfin: %s hooks; %u open connections seeded from %u network namespaces; "
			"sock_diag dumps %s\n",
			loader__mode(app.ld), ds.sockets_seeded, ds.netns_visited,
			sockdiag_both_families_at_once() ? "both families at once" :
							   "one family at a time");
	if (app.opts.top || !app.opts.no_alerts) {
		struct kfigures_fds kfds;
		struct monitor_opts mo = {
			.detect = app.opts.detect,
			.alerts = !app.opts.no_alerts,
			.all_states = app.opts.top,
			.interval_ms = app.opts.interval_s * 1000,
			.census_budget_pct = app.opts.census_budget_pct,
			.filter = &app.opts.filter,
			.max_close_waits = app.opts.max_conns,
			.on_interval_end = fold_now,
			.on_alert = on_alert,
			.on_stats = app.opts.top ? on_stats : NULL,
			.ctx = &app,
		};

		if (loader__live_fds(app.ld, &kfds))
			mo.kfigures = &kfds;
		app.mon = monitor__new(&mo);
		if (!app.mon) {
			err = -errno;
			fprintf(stderr, "synfin: cannot start the census: %s\n", strerror(-err));
			goto cleanup;
		}
	}
	if (!app.ladder && !app.opts.top)
		output__header(app.out);
	boost_reader(app.opts.priority_boost);
	fprintf(stderr, "synfin: ready\n");
	if (app.opts.top && !app.opts.json) {
		app.top = top__open(STDOUT_FILENO);
		if (!app.top) {
			err = -ENOMEM;
			fprintf(stderr, "synfin: out of memory\n");
			goto cleanup;
		}
		/* the screen is put back on every way out the keyboard has:
		 * Ctrl-\ stops as Ctrl-C does (it would leave the terminal raw
		 * and on the alternate screen), Ctrl-Z suspends */
		catch_stop(SIGQUIT);
		signal(SIGTSTP, on_sigtstp);
	}

	err = run(&app);
	engine__flush(app.eng);
	if (app.mon) {
		monitor__census_counts(app.mon, &app.census);
		monitor__tw_counts(app.mon, &app.tw_counts);
		app.census_counted = true;
	}
	/* active alerts end with synfin: their "end" records go out now */
	monitor__free(app.mon, now_mono_ns());
	app.mon = NULL;
	if (top__write_error(app.top)) {
		fprintf(stderr, "synfin: writing the screen failed: %s; stopped\n",
			strerror(top__write_error(app.top)));
		if (!err)
			err = -EIO;
	}
	top__close(app.top);
	app.top = NULL;
	if (app.why_stopped[0])
		fputs(app.why_stopped, stderr);
	ladder__free(app.ladder); /* draws what it still holds */
	app.ladder = NULL;
	/* what went out after the last drain, and whether all of it did */
	if (output__flush(app.out)) {
		report_write_error(&app);
		if (!err)
			err = -EIO;
	}
	print_summary(&app);
cleanup:
	monitor__free(app.mon, now_mono_ns());
	top__close(app.top);
	ladder__free(app.ladder); /* draws what it still holds */
	ring_buffer__free(app.rb);
	loader__free(app.ld);
	engine__free(app.eng);
	output__free(app.out);
	/* last: the census thread and the engine judge by the filter, whose
	 * tree it is, until they stop */
	free(cgroup_tree);
	if (app.opts.output_fd >= 0)
		close(app.opts.output_fd);
	return err ? 1 : 0;
}
