/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The detectors: SYN flood per listener, TIME_WAIT buildup per destination
 * or listener, CLOSE_WAIT leak per process. Each interval the figures are
 * judged against the thresholds; an alert starts when its condition held
 * for hold_on intervals in a row and ends after hold_off clear ones, so it
 * is raised once per episode, never once per event. Pure C: unit tests
 * drive it with made-up figures.
 */
#ifndef SYNFIN_DETECT_H
#define SYNFIN_DETECT_H

#include <stdbool.h>
#include <stdint.h>
#include "live.h"

struct detect_config {
	double syn_unanswered;    /* --syn-unanswered: unanswered SYNs per second */
	double syn_ratio;         /* --syn-ratio: completion ratio below which it is a flood */
	double tw_ports_pct;      /* --tw-ports: % of the ephemeral range toward one destination */
	uint32_t tw_count;        /* --tw-count: TIME_WAIT socks for one key */
	uint32_t cw_age_s;        /* --cw-age */
	uint32_t cw_count;        /* --cw-count */
	uint32_t hold_on;         /* intervals in a row before an alert starts */
	uint32_t hold_off;        /* clear intervals in a row before it ends */
};

#define DETECT_DEFAULT_SYN_UNANSWERED 100.0
#define DETECT_DEFAULT_SYN_RATIO 0.5
#define DETECT_DEFAULT_TW_PORTS_PCT 50.0
#define DETECT_DEFAULT_TW_COUNT 8192
#define DETECT_DEFAULT_CW_AGE_S 60
#define DETECT_DEFAULT_CW_COUNT 8
#define DETECT_DEFAULT_HOLD_ON 2
#define DETECT_DEFAULT_HOLD_OFF 3
/* alert states followed at once; a new key past this is not followed and
 * counted */
#define DETECT_MAX_TRACKED 1024

void detect_config_defaults(struct detect_config *cfg);

/* Judge one row: fill out (kind, key, owner, figures, thresholds with their
 * fired flags) and return whether the condition holds. */
bool detect_syn_flood(const struct detect_config *cfg, const struct live_listener *l,
		      struct live_alert *out);
bool detect_timewait(const struct detect_config *cfg, const struct live_tw_group *g,
		     struct live_alert *out);
/* The fewest TIME_WAIT socks one group can hold and raise timewait_buildup,
 * less a margin, in a namespace of that tcp_max_tw_buckets and ephemeral
 * port range (0: unknown): a namespace holding fewer in all has no group
 * that could (census_opts.tw_alerts). */
uint32_t detect_timewait_floor(const struct detect_config *cfg, uint32_t max_tw_buckets,
			       uint32_t port_range);
bool detect_close_wait(const struct detect_config *cfg, const struct live_close_wait *cw,
		       struct live_alert *out);

struct detector;
typedef void (*detect_alert_fn)(const struct live_alert *a, void *ctx);

struct detector *detect__new(const struct detect_config *cfg);
void detect__free(struct detector *d);
/* One judged row this interval (firing: the row's condition held). */
void detect__observe(struct detector *d, const struct live_alert *obs, bool firing);
/* Close the interval: keys not observed count as clear. Starts and ends go
 * to fn, with ts_ns = now_ns. */
void detect__tick(struct detector *d, uint64_t now_ns, detect_alert_fn fn, void *ctx);
/* At exit: every active alert ends now. */
void detect__flush(struct detector *d, uint64_t now_ns, detect_alert_fn fn, void *ctx);
/* The active alerts (up to max), for stats records and the screen. */
uint32_t detect__active(const struct detector *d, struct live_alert *out, uint32_t max);
/* Keys not followed because DETECT_MAX_TRACKED were. */
uint64_t detect__missed(const struct detector *d);

#endif /* SYNFIN_DETECT_H */
