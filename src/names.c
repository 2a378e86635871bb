// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names for states and verdicts, shared by the text and JSON printers so
 * the two outputs cannot drift apart. Every table is bounds-checked. */
#include <stddef.h>
#include "engine.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const tcp_states[SYNFIN_TCP_MAX_STATES] = {
	[SYNFIN_TCP_ESTABLISHED] = "ESTAB",
	[SYNFIN_TCP_SYN_SENT] = "SYN-SENT",
	[SYNFIN_TCP_SYN_RECV] = "SYN-RECV",
	[SYNFIN_TCP_FIN_WAIT1] = "FIN-WAIT-1",
	[SYNFIN_TCP_FIN_WAIT2] = "FIN-WAIT-2",
	[SYNFIN_TCP_TIME_WAIT] = "TIME-WAIT",
	[SYNFIN_TCP_CLOSE] = "CLOSE",
	[SYNFIN_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	[SYNFIN_TCP_LAST_ACK] = "LAST-ACK",
	[SYNFIN_TCP_LISTEN] = "LISTEN",
	[SYNFIN_TCP_CLOSING] = "CLOSING",
	[SYNFIN_TCP_NEW_SYN_RECV] = "NEW-SYN-RECV",
	[SYNFIN_TCP_BOUND_INACTIVE] = "BOUND-INACTIVE",
};

const char *tcp_state_name(unsigned int state)
{
	if (state >= ARRAY_SIZE(tcp_states) || !tcp_states[state])
		return "UNKNOWN";
	return tcp_states[state];
}

const char *role_name(enum conn_role r)
{
	static const char *const names[] = { "unknown", "client", "server" };

	return (unsigned int)r < ARRAY_SIZE(names) ? names[r] : "unknown";
}

const char *handshake_name(enum handshake_result r)
{
	static const char *const names[] = {
		"not_seen", "established", "refused", "timeout", "reset", "aborted",
		"unreachable",
	};

	return (unsigned int)r < ARRAY_SIZE(names) ? names[r] : "not_seen";
}

const char *initiator_name(enum close_initiator i)
{
	static const char *const names[] = { "none", "local", "remote", "both" };

	return (unsigned int)i < ARRAY_SIZE(names) ? names[i] : "none";
}

const char *close_how_name(enum close_how h)
{
	static const char *const names[] = {
		"none", "fin", "rst_sent", "rst_received", "timeout", "unknown",
	};

	return (unsigned int)h < ARRAY_SIZE(names) ? names[h] : "unknown";
}

const char *rst_cause_name(enum rst_cause c)
{
	static const char *const names[] = {
		NULL, "linger0", "unread_data", "listener_closed", "killed", "after_close",
	};

	return (unsigned int)c < ARRAY_SIZE(names) ? names[c] : NULL;
}

const char *tw_kind_name(enum tw_kind k)
{
	static const char *const names[] = { "none", "time_wait", "fin_wait2" };

	return (unsigned int)k < ARRAY_SIZE(names) ? names[k] : "none";
}

const char *tw_exit_name(enum tw_exit e)
{
	static const char *const names[] = { NULL, "expired", "killed" };

	return (unsigned int)e < ARRAY_SIZE(names) ? names[e] : NULL;
}
