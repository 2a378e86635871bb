/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The TIME_WAIT socks the engine follows, counted as they come and go:
 * per network namespace (every tw sock, whatever its substate: what the
 * kernel's own count in /proc/net/sockstat counts) and per group (the ones
 * in TIME_WAIT proper, by destination or by listening address, as the
 * census groups what sock_diag shows). Where the namespace counts agree
 * with the kernel's, the groups stand in for the census's walk of every tw
 * sock (monitor.c), which at a busy host's 131,072 of them is the census's
 * largest cost. Memory: one group per distinct group with a sock in it,
 * one entry per namespace, so at most one of each per followed tw sock.
 */
#ifndef SYNFIN_TWCOUNT_H
#define SYNFIN_TWCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "census.h"

/* Until a namespace's ip_local_port_range is known: the kernel's default. */
#define TWCOUNT_DEFAULT_PORT_LO 32768
#define TWCOUNT_DEFAULT_PORT_HI 60999

/* One tw sock, as much of it as counting needs. */
struct twcount_sock {
	uint32_t netns;
	uint8_t family;
	bool server;                  /* left by a connection this host accepted */
	uint8_t laddr[SYNFIN_ADDR_LEN];
	uint8_t raddr[SYNFIN_ADDR_LEN];
	uint16_t lport, rport;
};

struct twcount;

/* NULL when out of memory. */
struct twcount *twcount__new(void);
void twcount__free(struct twcount *t);
/* A tw sock more (delta 1) or one less (-1) in its namespace. */
void twcount__sock(struct twcount *t, const struct twcount_sock *s, int delta);
/* ... and in its group, for one in TIME_WAIT proper (a FIN_WAIT2 tw sock
 * joins when the peer's FIN takes it there). */
void twcount__grouped(struct twcount *t, const struct twcount_sock *s, int delta);
/* false once a count could not be kept (out of memory, two groups whose
 * keys hash alike, a count taken below zero): nothing it says is to be
 * trusted from then on. */
bool twcount__ok(const struct twcount *t);
/* tw socks counted in netns. */
uint32_t twcount__netns_total(const struct twcount *t, uint32_t netns);
/* The namespace's ephemeral port range, for in_range. true when it changed
 * while grouped socks of that namespace were counted against the old one:
 * the caller then calls twcount__clear_groups and groups every one again. */
bool twcount__port_range(struct twcount *t, uint32_t netns, uint32_t lo, uint32_t hi);
void twcount__clear_groups(struct twcount *t);
/* Forgets the namespaces with no tw socks that port_range did not name
 * since the last prune (gone, or never holding any): the caller names
 * every namespace it knows, then prunes. */
void twcount__prune(struct twcount *t);
/* Whether the socks counted are the ones the kernel holds, namespace by
 * namespace of the census c (census_netns.tw_socks), within a slack for
 * the moments between the two looks. They are not where synfin came after
 * some (born before it started), where a record was lost or the engine's
 * table was full, or where a filter kept connections from it; while any
 * of those lives, the census walks them. */
bool twcount__agrees(const struct twcount *t, const struct census *c);
/* Whether the count stands for this look, given whether it agrees now and
 * whether it did at the last look (*agreed_last, updated): one look apart
 * after one that agreed is passed over, the second in a row is not. The
 * timer wheel ends the tw socks born within one 2-4 s step in one jiffy,
 * up to 60,000 of them at full churn; a census that reads the kernel's
 * count between that jiffy and the drain that brings their records is
 * apart by all of them, and its walk of the TIME_WAIT left (48 bytes a
 * sock, in a 3 MiB array and more, and 70-90 ms of CPU) bought nothing.
 * A real difference (socks from before synfin started, lost records) is
 * still apart at the next look, a second later. */
bool twcount__stands(bool agrees, bool *agreed_last);
/* The groups with a sock in them, n of them, as the census's walk would
 * give them (struct census_tw); valid until the next change. */
const struct census_tw *twcount__groups(const struct twcount *t, size_t *n);

#endif /* SYNFIN_TWCOUNT_H */
