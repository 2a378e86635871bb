// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The processes holding sockets, by inode, between census walks
 * (owner_cache.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "owner_cache.h"
#include "readfile.h"
#include "sockdiag.h"

/* The cache and the miss list are kept in order of inode, for a search
 * per socket; the processes asked about, in order of pid. */
static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

_Static_assert(offsetof(struct owner_cache_ent, inode) == 0, "inode first");

static struct owner_cache_ent *cache_lookup(const struct owner_cache *oc, uint32_t inode)
{
	/* none yet: ents is NULL, which bsearch may not be given */
	if (!oc->n)
		return NULL;
	return bsearch(&inode, oc->ents, oc->n, sizeof(*oc->ents), u32_cmp);
}

static bool inode_in(const uint32_t *arr, size_t n, uint32_t inode)
{
	return n && bsearch(&inode, arr, n, sizeof(*arr), u32_cmp);
}

/* Whether a cached owner's process is still there: a server that listens
 * and then daemonizes leaves its listener to a child, and the parent that
 * /proc showed is gone. A process that has exited and is not yet reaped (a
 * zombie: kill(0) still finds it; a daemon's parent whose own parent never
 * reaps, a forking server's children) holds no fds, so it is gone too.
 * Asked once per process, not per socket: a process holding many sockets
 * is one kill(0) and one read of its stat (about 7 us) a resolve. */
struct alive_set {
	uint32_t *pid;             /* the first n sorted, each once */
	bool *alive;               /* their answers */
	size_t n;
};

/* /proc/PID/stat's state is the first field after the comm's closing
 * parenthesis (a comm can hold one itself: the last one). */
static bool process_zombie(uint32_t pid)
{
	char path[32], buf[512];
	const char *paren;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)))
		return false;  /* gone is for kill(0) to say */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static bool process_alive(uint32_t pid)
{
	return !(kill((pid_t)pid, 0) && errno == ESRCH) && !process_zombie(pid);
}

/* The set of the first n of as->pid, given in any order: each pid once,
 * asked about once. Without the memory for the answers the set stays
 * empty, and owner_alive asks at each call. */
static void alive_set_build(struct alive_set *as, size_t n)
{
	size_t i, u = 0;

	if (!n)
		return;
	qsort(as->pid, n, sizeof(*as->pid), u32_cmp);
	for (i = 0; i < n; i++)
		if (!u || as->pid[u - 1] != as->pid[i])
			as->pid[u++] = as->pid[i];
	as->alive = calloc(u, sizeof(*as->alive));
	if (!as->alive)
		return;
	for (i = 0; i < u; i++)
		as->alive[i] = process_alive(as->pid[i]);
	as->n = u;
}

static bool owner_alive(const struct alive_set *as, uint32_t pid)
{
	const uint32_t *at = as->n ? bsearch(&pid, as->pid, as->n, sizeof(pid), u32_cmp) : NULL;

	/* every cached pid was put in the set; one that is not (or no set
	 * could be made), asked now */
	return at ? as->alive[at - as->pid] : process_alive(pid);
}

static void alive_set_free(struct alive_set *as)
{
	free(as->pid);
	free(as->alive);
}

static void copy_owner(struct live_owner *o, uint32_t pid, const char *comm)
{
	o->pid = pid;
	memcpy(o->comm, comm, SYNFIN_COMM_LEN);
	o->comm[SYNFIN_COMM_LEN] = '\0';
}

/* w->also and w->others were cleared when owner_cache__resolve began */
static void set_owner(struct owner_want *w, uint32_t pid, const char *comm,
		      uint32_t also_pid, const char *also_comm, uint32_t others)
{
	copy_owner(w->owner, pid, comm);
	if (w->also && also_pid)
		copy_owner(w->also, also_pid, also_comm);
	/* a scan that names no second counts none (and one that counts
	 * none names none) */
	if (w->others && also_pid)
		*w->others = others ? others : 1;
	w->found = true;
}

/* One scan for the sockets in ask (indexes into w): their holders, the
 * miss list anew, and the time the next scan may start. False when no
 * scan could be made. */
static bool scan_for(struct owner_cache *oc, struct owner_want *w, const size_t *ask,
		     size_t nask, uint64_t now_ns)
{
	owner_scan_fn scan = oc->scan ? oc->scan : sockdiag_find_owners;
	struct synfin_seed *cands = calloc(nask, sizeof(*cands));
	uint32_t *missed = NULL;
	uint64_t cpu0;
	size_t i, nmissed = 0;
	bool scanned = false;

	if (!cands)
		return false;
	for (i = 0; i < nask; i++)
		cands[i].inode = w[ask[i]].inode;
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (scan(cands, nask))
		goto cleanup;
	scanned = true;
	oc->scans++;
	oc->last_scan_ns = now_ns;
	if (oc->budget_pct > 0)
		oc->next_scan_ns = now_ns + within_budget(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0,
							  oc->budget_pct);
	missed = calloc(nask, sizeof(*missed));
	for (i = 0; i < nask; i++) {
		struct owner_want *x = &w[ask[i]];

		if (cands[i].pid)
			set_owner(x, cands[i].pid, cands[i].comm, cands[i].also_pid,
				  cands[i].also_comm, cands[i].others);
		else if (missed)
			missed[nmissed++] = x->inode;
	}
	if (nmissed > 1)
		qsort(missed, nmissed, sizeof(*missed), u32_cmp);
	free(oc->missed);
	oc->missed = missed;
	oc->nmissed = nmissed;
cleanup:
	free(cands);
	return scanned;
}

void owner_cache__resolve(struct owner_cache *oc, struct owner_want *w, size_t n, uint64_t now_ns)
{
	bool full = oc->refresh_ns && now_ns - oc->last_full_ns >= oc->refresh_ns;
	const struct owner_cache_ent **cached = NULL;
	struct owner_cache_ent *fresh;
	struct alive_set alive = { 0 };
	size_t *ask = NULL, nask = 0, nnew = 0, npids = 0, i, j;

	if (n) {
		cached = calloc(n, sizeof(*cached));
		ask = calloc(n, sizeof(*ask));
		alive.pid = calloc(2 * n, sizeof(*alive.pid));  /* an owner and a second each */
		if (!cached || !ask || !alive.pid)
			goto cleanup;  /* the cache stays: still right, only stale */
	}
	/* the cache's answers, and the processes they name */
	for (i = 0; i < n; i++) {
		const struct owner_cache_ent *e;

		w[i].found = false;
		if (w[i].also)
			memset(w[i].also, 0, sizeof(*w[i].also));
		if (w[i].others)
			*w[i].others = 0;
		if (!w[i].inode)
			continue;
		e = cache_lookup(oc, w[i].inode);
		cached[i] = e;
		if (!e)
			continue;
		alive.pid[npids++] = e->owner.pid;
		if (w[i].also && e->also.pid)
			alive.pid[npids++] = e->also.pid;
	}
	alive_set_build(&alive, npids);
	for (i = 0; i < n; i++) {
		const struct owner_cache_ent *e = cached[i];

		if (!w[i].inode)
			continue;
		if (e && !owner_alive(&alive, e->owner.pid))
			e = NULL;  /* asked about again, at once: not in missed */
		cached[i] = e;
		if (e && !full)
			continue;
		ask[nask++] = i;
		if (!e && !inode_in(oc->missed, oc->nmissed, w[i].inode))
			nnew++;
	}
	if (now_ns >= oc->next_scan_ns &&
	    (nnew || (full && nask) || (nask && now_ns - oc->last_scan_ns >= OWNER_RETRY_NS)) &&
	    scan_for(oc, w, ask, nask, now_ns)) {
		if (full)
			oc->last_full_ns = now_ns;
	} else {
		nask = 0;  /* no scan: what the cache says stands */
	}
	/* a socket asked about keeps the scan's answer, a holder or none
	 * (its cached process no longer holds it); the rest, the cache's */
	for (i = 0, j = 0; i < n; i++) {
		if (j < nask && ask[j] == i) {
			j++;
			continue;
		}
		if (!cached[i])
			continue;
		/* a second holder gone since leaves the first the only one
		 * known, until the next scan (refresh_ns) counts the rest */
		set_owner(&w[i], cached[i]->owner.pid, cached[i]->owner.comm,
			  cached[i]->also.pid && owner_alive(&alive, cached[i]->also.pid) ?
			  cached[i]->also.pid : 0, cached[i]->also.comm, cached[i]->others);
	}

	fresh = calloc(n ? n : 1, sizeof(*fresh));
	if (!fresh)
		goto cleanup;
	for (i = 0, j = 0; i < n; i++) {
		if (!w[i].found)
			continue;
		fresh[j].inode = w[i].inode;
		fresh[j].owner = *w[i].owner;
		if (w[i].also)
			fresh[j].also = *w[i].also;
		if (w[i].others)
			fresh[j].others = *w[i].others;
		j++;
	}
	if (j > 1)
		qsort(fresh, j, sizeof(*fresh), u32_cmp);
	free(oc->ents);
	oc->ents = fresh;
	oc->n = j;
cleanup:
	alive_set_free(&alive);
	free(cached);
	free(ask);
}

void owner_cache__free(struct owner_cache *oc)
{
	free(oc->ents);
	free(oc->missed);
	oc->ents = NULL;
	oc->missed = NULL;
	oc->n = oc->nmissed = 0;
}
