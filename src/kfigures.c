// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpf_runs.h"
#include "idtable.h"
#include "kfigures.h"

/* The kernel's own "not supported", which it can leak to user space. */
#define ENOTSUPP_ 524

struct kfigures {
	struct kfigures_fds fds;
	struct synfin_hs_hist *percpu;             /* one lookup's values */
	uint64_t seen[SYNFIN_HS_SIDES][SYNFIN_HS_BUCKETS]; /* sums read so far */
	int lookup_and_delete;                      /* 1 works, 0 unknown, -1 not here */
	bool runs_wait_refused;                     /* bpf_runs_wait: said once */
	/* steps a walk may take: the maps change under it, and a deleted key
	 * sends it back to the start */
	uint32_t max_walk_listeners, max_walk_close_waits;
};

static uint32_t walk_limit(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.max_entries)
		return 1u << 20;
	return info.max_entries * 2 + 64;
}

struct kfigures *kfigures__new(const struct kfigures_fds *fds)
{
	struct kfigures *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->fds = *fds;
	k->max_walk_listeners = walk_limit(fds->listener_opens[0]);
	k->max_walk_close_waits = fds->close_waits >= 0 ? walk_limit(fds->close_waits) : 0;
	k->percpu = calloc(fds->ncpus > 0 ? fds->ncpus : 1, sizeof(*k->percpu));
	if (!k->percpu) {
		free(k);
		return NULL;
	}
	return k;
}

void kfigures__free(struct kfigures *k)
{
	if (!k)
		return;
	free(k->percpu);
	free(k);
}

int kfigures__handshakes(struct kfigures *k, uint64_t *client, uint64_t *server)
{
	uint64_t *out[SYNFIN_HS_SIDES] = { client, server };

	for (uint32_t side = 0; side < SYNFIN_HS_SIDES; side++) {
		if (bpf_map_lookup_elem(k->fds.handshakes, &side, k->percpu))
			return -errno;
		for (uint32_t i = 0; i < SYNFIN_HS_BUCKETS; i++) {
			uint64_t sum = 0;

			for (int cpu = 0; cpu < k->fds.ncpus; cpu++)
				sum += k->percpu[cpu].n[i];
			/* per-CPU counts only grow */
			if (sum > k->seen[side][i])
				out[side][i] += sum - k->seen[side][i];
			k->seen[side][i] = sum;
		}
	}
	return 0;
}

/* One entry out of the map: atomically where the kernel can (5.14+ for
 * hashes). No program adds to it any more (kfigures__take_listeners), so
 * elsewhere the two calls lose nothing either. */
static int take(struct kfigures *k, int fd, const struct synfin_listener_key *key, uint64_t *n)
{
	if (k->lookup_and_delete >= 0) {
		if (!bpf_map_lookup_and_delete_elem(fd, key, n)) {
			k->lookup_and_delete = 1;
			return 0;
		}
		if (errno != EINVAL && errno != ENOTSUPP_ && errno != EOPNOTSUPP)
			return -errno;
		k->lookup_and_delete = -1;
	}
	if (bpf_map_lookup_elem(fd, key, n))
		return -errno;
	bpf_map_delete_elem(fd, key);
	return 0;
}

int kfigures__take_listeners(struct kfigures *k, kfigures_listener_fn fn, void *ctx)
{
	/* only this thread writes the generation: a plain read is the last store */
	uint32_t gen = *k->fds.listener_gen;
	int fd = k->fds.listener_opens[gen & 1];
	struct synfin_listener_key key;
	uint64_t n;
	int count = 0, err;

	__atomic_store_n(k->fds.listener_gen, gen ^ 1, __ATOMIC_RELEASE);
	/* Where the wait is refused, a run that read the old generation
	 * may still add to fd while it is emptied, as every run could
	 * before the two maps: such an add is lost. */
	if (!bpf_runs_wait() && !k->runs_wait_refused) {
		k->runs_wait_refused = true;
		fprintf(stderr, "synfin: the kernel refused a global membarrier: a listener's "
			"completion that comes as its count is taken can be lost uncounted\n");
	}
	/* each entry is deleted once read: the first key left is the next */
	for (uint32_t i = 0; i < k->max_walk_listeners; i++) {
		if (bpf_map_get_next_key(fd, NULL, &key))
			return errno == ENOENT ? count : -errno;
		err = take(k, fd, &key, &n);
		if (err == -ENOENT)
			continue; /* gone meanwhile */
		if (err)
			return err;
		fn(&key, n, ctx);
		count++;
	}
	return count;
}

int kfigures__close_waits(struct kfigures *k, kfigures_close_wait_fn fn, void *ctx)
{
	struct synfin_close_wait cw;
	struct idtable seen;
	uint64_t key = 0, next;
	int count = 0, err = 0;

	if (k->fds.close_waits < 0)
		return 0;
	if (idtable_init(&seen, 64))
		return -ENOMEM;
	/* a key deleted under the walk sends it back to the first key: the
	 * seen set keeps a socket from being counted twice */
	for (uint32_t i = 0; i < k->max_walk_close_waits; i++) {
		if (bpf_map_get_next_key(k->fds.close_waits, i ? &key : NULL, &next)) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
		key = next;
		if (!key || idtable_get(&seen, key))
			continue;
		if (idtable_put(&seen, key, &seen)) {
			err = -ENOMEM;
			break;
		}
		if (bpf_map_lookup_elem(k->fds.close_waits, &key, &cw))
			continue; /* left CLOSE_WAIT meanwhile */
		fn(&cw, ctx);
		count++;
	}
	idtable_free(&seen);
	return err ? err : count;
}
