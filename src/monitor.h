/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The monitor joins the census (what sock_diag and the counters show), the
 * activity (what the events said) and the engine's open connections into
 * one live_stats per interval, and has the detectors judge it. Alerts and
 * stats go out through callbacks. Runs in the main thread; only the census
 * has a thread of its own.
 */
#ifndef SYNFIN_MONITOR_H
#define SYNFIN_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include "detect.h"
#include "engine.h"
#include "filter.h"
#include "kfigures.h"
#include "live.h"

typedef void (*monitor_alert_fn)(const struct live_alert *a, void *ctx);
typedef void (*monitor_stats_fn)(const struct live_stats *s, void *ctx);

struct monitor_opts {
	struct detect_config detect;
	bool alerts;                 /* run the detectors */
	bool all_states;             /* count every state (top), not only what detectors need */
	uint32_t interval_ms;
	double census_budget_pct;    /* the census's CPU, % of a core */
	const struct synfin_filter *filter; /* rows outside it are not shown or judged */
	monitor_alert_fn on_alert;
	monitor_stats_fn on_stats;   /* NULL: no live_stats built */
	const struct kfigures_fds *kfigures; /* summary mode: the kernel's live figures */
	uint32_t max_close_waits;    /* the census lists at most this many (--max-conns) */
	/* as an interval closes, before its figures are taken: the caller
	 * passes what the kernel counted up to now (monitor__folded), so the
	 * counts land in the interval the histograms put them in */
	void (*on_interval_end)(void *ctx);
	void *ctx;
};

struct monitor;

/* Starts the census thread. NULL with errno. */
struct monitor *monitor__new(const struct monitor_opts *opts);
/* Ends active alerts (with an "end" record) and stops the census. */
void monitor__free(struct monitor *m, uint64_t now_ns);
void monitor__event(struct monitor *m, const struct synfin_event *ev);
void monitor__conn(struct monitor *m, const struct conn_record *rec);
/* Summary mode: what the kernel counted instead of sending records, since
 * the last call (for the live rates): retransmits and resets kept in a
 * socket's story, and handshakes completed. */
struct monitor_folded {
	uint64_t retransmits, resets_sent, resets_received;
	uint64_t opens_active, opens_passive;
	/* tp_btf: no socket carrying the kernel's CLOSE_WAIT mark now was
	 * marked before this (struct cw_marks) */
	uint64_t close_wait_marks_since_ns;
};
void monitor__folded(struct monitor *m, const struct monitor_folded *f);
/* Call often (each drain): when a new census is in, builds the interval's
 * figures, judges them, and calls on_alert / on_stats. lost_total is every
 * loss counted so far, for the stats record. */
void monitor__poll(struct monitor *m, struct engine *eng, uint64_t now_ns, uint64_t lost_total);
/* Intervals judged, those among them whose TIME_WAIT counts came from the
 * tw socks the engine follows rather than from a walk of them, and the
 * looks at which that count was apart from the kernel's but stood, right
 * after one that agreed (twcount__stands). */
struct monitor_tw_counts {
	uint64_t intervals;
	uint64_t from_engine;
	uint64_t apart_passed;
};
void monitor__tw_counts(const struct monitor *m, struct monitor_tw_counts *counts);
/* The census's walks so far, and its dumps that walked the established
 * hash (census__counts). */
struct census_counts;
void monitor__census_counts(struct monitor *m, struct census_counts *counts);
/* The pace of the last census taken: its namespaces, its CPU time, and
 * how long after it began the next one comes. All 0 before the first. */
struct monitor_census_pace {
	size_t nnetns;
	uint64_t walk_cpu_ns;
	uint64_t spacing_ns;
};
void monitor__census_pace(const struct monitor *m, struct monitor_census_pace *pace);
/* Keys the detectors could not follow, and activity keys past their cap. */
uint64_t monitor__missed(const struct monitor *m);

#endif /* SYNFIN_MONITOR_H */
