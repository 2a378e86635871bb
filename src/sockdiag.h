/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Startup snapshot: dump the TCP sockets of every network namespace with
 * sock_diag and seed the engine with the connections already open, so their
 * close is reported later.
 */
#ifndef SYNFIN_SOCKDIAG_H
#define SYNFIN_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engine.h"
#include "filter.h"

struct nlmsghdr;
struct sockdiag_sock;

struct sockdiag_stats {
	uint32_t netns_visited;   /* namespaces dumped successfully */
	uint32_t sockets_seen;    /* inet_diag records parsed (real TIME_WAIT is not asked for) */
	uint32_t sockets_seeded;  /* engine__seed() calls */
	uint32_t netns_failed;    /* namespaces that could not be entered or dumped */
	int netns_failed_err;     /* the first of their errors (-errno), 0 if none */
	/* processes whose /proc/PID/ns/net this process may not read (no
	 * CAP_SYS_PTRACE over them): a namespace only they are in is not
	 * visited, and nothing tells how many there are */
	uint32_t procs_unreadable;
	uint32_t hash_walks;      /* dumps that walked the established hash (any state but LISTEN) */
	/* sockets that would have been seeded, past --max-conns: followed
	 * from their next event, as not seeded */
	uint32_t seeds_passed_over;
};

/* Dump every TCP socket (IPv4 and IPv6) in every network namespace on the
 * host and call engine__seed() for each one in a connected state
 * (ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT,
 * LAST_ACK, CLOSING) that passes filter_match(f, ...). Listeners are not
 * seeded but decide the role: a socket whose local port equals the port of
 * a listener in the same netns (on the same address or on the wildcard
 * address) is ROLE_SERVER, else ROLE_UNKNOWN. TIME_WAIT entries are not
 * seeded. f may be NULL (everything passes); a non-zero f->pid passes only
 * seeds owned by that pid. stats may be NULL. Needs CAP_SYS_ADMIN (setns).
 * Returns 0 or -errno; per-netns failures are counted in stats, not fatal,
 * unless no namespace at all could be dumped: then the first error is
 * returned. The calling thread is back in its own netns on return. */
int sockdiag_seed(struct engine *eng, const struct synfin_filter *f,
		  uint64_t now_ns, struct sockdiag_stats *stats);

/* A path that opens the network namespace whose inode number is ino now
 * (/run/netns/NAME, /proc/PID/ns/net): 1 with path set; 0 if no namespace
 * has it; -EACCES if none this process could name has it but some
 * process's namespace could not be read (it may be that one); or -errno. */
int sockdiag_netns_path(uint32_t ino, char *path, size_t len);

/* Visit every network namespace (or only wk->only_netns) and hand each
 * socket in one of wk->states (1 << SYNFIN_TCP_*; SYN_RECV brings the
 * request socks, TIME_WAIT the tw socks) to wk->sock, between
 * netns_begin and netns_end (both optional). The calling thread is inside
 * that namespace during the callbacks (so /proc/thread-self/net and
 * /proc/sys/net show it) and back home on return. A callback's non-zero
 * return abandons that namespace: counted in stats->netns_failed, and
 * netns_end gets the error. Needs CAP_SYS_ADMIN. Returns 0, -ENOMEM, or the
 * first error when no namespace at all could be dumped. */
struct sockdiag_walker {
	uint32_t states;
	uint32_t only_netns;
	uint64_t only_netns_cookie;   /* with only_netns: its cookie, 0 if unknown */
	/* The sockets in storage_states (a subset of states, 0 for none) are
	 * dumped asking for their value in the sk storage map storage_map_fd
	 * (needs CAP_SYS_ADMIN): a value is a few hundred bytes, so they are
	 * dumped apart unless the other states are ones that carry little or
	 * none (LISTEN, SYN_RECV, TIME_WAIT). */
	uint32_t storage_states;
	int storage_map_fd;
	int (*netns_begin)(void *ctx, uint32_t netns);
	/* Optional, after netns_begin: the states (a subset of states) to
	 * dump in this namespace; 0 dumps nothing there. */
	uint32_t (*netns_states)(void *ctx, uint32_t netns, uint32_t states);
	int (*sock)(void *ctx, uint32_t netns, const struct sockdiag_sock *s);
	void (*netns_end)(void *ctx, uint32_t netns, int err);
	void *ctx;
};
int sockdiag_walk(const struct sockdiag_walker *wk, struct sockdiag_stats *stats);

/* Whether a dump takes both families in one request (inet_diag's
 * original TCPDIAG_GETSOCK message), which walks the established hash
 * once instead of once per family. True until the kernel refuses such a
 * request, or from the start with SYNFIN_DIAG_BY_FAMILY set. */
bool sockdiag_both_families_at_once(void);

/* Whether err, from a dump of both families at once that failed before
 * any socket came, is the kernel refusing such a request: from then on
 * every dump goes one family at a time. Any other failure (a kernel
 * short of memory, a reply cut short) is that walk's alone. */
bool sockdiag_refuses_both_families(int err);

/* Owners from one pass over /proc/[tgid]/fd: each entry with an inode and
 * pid 0 gets the first tgid holding that socket, and its comm. */
int sockdiag_find_owners(struct synfin_seed *cands, size_t ncands);
/* The same, and each entry also gets in also_pid and also_comm a second
 * tgid holding its socket (a parent and the child it forked, say), 0 if
 * none, and in others how many tgids besides the first hold it; ss -p
 * lists them all. It reads all of /proc, where sockdiag_find_owners can
 * stop at the last owner. */
int sockdiag_find_two_holders(struct synfin_seed *cands, size_t ncands);

/* The pure parts, exported for unit tests. */

/* One inet_diag_msg, decoded. Addresses in network byte order (IPv4 in the
 * first 4 bytes, the rest zero), ports in host byte order. */
struct sockdiag_sock {
	uint64_t cookie;          /* idiag_cookie[0] | idiag_cookie[1] << 32 */
	uint64_t cgroup_id;       /* INET_DIAG_CGROUP_ID, 0 when absent */
	uint32_t inode;           /* 0: no struct socket (orphan, tw, request sock) */
	uint32_t uid;
	uint32_t rqueue;          /* listener: accept queue; else bytes unread */
	uint32_t wqueue;          /* listener: its backlog; else bytes unacked */
	uint16_t lport, rport;
	uint8_t family;           /* SYNFIN_AF_* */
	uint8_t state;            /* SYNFIN_TCP_*; a tw reports its substate */
	uint8_t timer;            /* idiag_timer; 3 only for TIME_WAIT socks */
	bool full;                /* a full socket: INET_DIAG_SHUTDOWN came, which
				   * request and tw socks never send */
	uint8_t laddr[SYNFIN_ADDR_LEN];
	uint8_t raddr[SYNFIN_ADDR_LEN];
	/* the walker's storage map's value for this socket, pointing into the
	 * message (valid during the callback); NULL when it has none */
	const void *storage;
	uint32_t storage_len;
};

/* A listening socket: what a connected socket's role is decided against. */
struct sockdiag_listener {
	uint32_t netns;
	uint16_t port;            /* host byte order */
	uint8_t family;
	uint8_t addr[SYNFIN_ADDR_LEN];
};

/* A namespace's TCP sockets by its counters (/proc/net/sockstat and
 * sockstat6): full sockets in its hash tables (listeners included; a
 * request sock hangs off one), and tw socks. */
struct sockdiag_tcp_count {
	uint32_t full;
	uint32_t tw;
};
/* Parse the two files' text; v6 NULL: no sockstat6 (a kernel without
 * IPv6), so no IPv6 socket. Returns 0 or -EINVAL. */
int sockdiag_parse_sockstat(const char *v4, const char *v6, struct sockdiag_tcp_count *out);
/* The states (1 << SYNFIN_TCP_*) some socket could be in: the rest need
 * not be asked for. 0: a dump could return nothing. */
uint32_t sockdiag_states_present(uint32_t states, const struct sockdiag_tcp_count *n);

/* A NETLINK_SOCK_DIAG socket that takes messages from the kernel only:
 * connected to it, so a send from any other socket is refused. Unconnected,
 * it would take a reply forged by any process that can send netlink in the
 * namespace it is opened in (with user namespaces, any user's), and a
 * walk would report sockets, owners and CLOSE_WAIT marks of its making.
 * The fd, or a negative errno. */
int sockdiag_socket(void);

/* Build the request for one dump into buf (SOCKDIAG_REQ_MAX bytes): of
 * one family (SOCK_DIAG_BY_FAMILY), or of both when family is AF_UNSPEC
 * (TCPDIAG_GETSOCK with a struct inet_diag_req). storage_fd >= 0 asks for
 * the sockets' values in that sk storage map. Returns the length. */
#define SOCKDIAG_REQ_MAX 128
size_t sockdiag_build_request(void *buf, uint8_t family, uint32_t states, int storage_fd,
			      uint32_t seq);

/* Decode a SOCK_DIAG_BY_FAMILY or TCPDIAG_GETSOCK reply. Returns 0 or
 * -EBADMSG (truncated, or a family other than IPv4/IPv6). */
int sockdiag_parse_msg(const struct nlmsghdr *nlh, struct sockdiag_sock *out);

/* A full socket in a connected state: not a listener, not CLOSE, and not a
 * TIME_WAIT sock (which reports TIME_WAIT or its FIN_WAIT2 substate). */
bool sockdiag_is_seedable(const struct sockdiag_sock *s);

/* Parse an fd readlink of the form "socket:[INODE]". Returns 0 or -EINVAL. */
int sockdiag_parse_socket_link(const char *link, uint32_t *inode);

/* Does a listener bound to (lfamily, laddr_l) take connections to local
 * address (family, laddr)? The rule sockdiag_role() states below. */
bool sockdiag_listener_covers(uint8_t lfamily, const uint8_t *laddr_l, uint8_t family,
			      const uint8_t *laddr);

/* Sort listeners by (netns, port) for sockdiag_role(). */
void sockdiag_sort_listeners(struct sockdiag_listener *ls, size_t n);

/* ROLE_SERVER when a listener in ls (sorted) has the same netns and port and
 * listens on laddr or on a wildcard address, else ROLE_UNKNOWN. IPv4-mapped
 * IPv6 addresses compare equal to their IPv4 form; "::" matches both
 * families (a dual-stack listener), "0.0.0.0" only IPv4 and mapped. */
enum conn_role sockdiag_role(const struct sockdiag_listener *ls, size_t n,
			     uint32_t netns, uint8_t family,
			     const uint8_t *laddr, uint16_t lport);

/* Fill seed from s (pid, comm and role cleared: the caller decides them). */
void sockdiag_fill_seed(const struct sockdiag_sock *s, uint32_t netns,
			struct synfin_seed *seed);

#endif /* SYNFIN_SOCKDIAG_H */
