// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text and JSON Lines printers. Each record is decoded once into a struct
 * common + its own fields, and both printers read that, so they cannot drift.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "btf_names.h"
#include "clock.h"
#include "json_writer.h"
#include "live_json.h"
#include "output.h"

#define NSEC_PER_SEC 1000000000LL

struct output {
	struct output_opts opts;
	struct json_writer *jw; /* -j: formats one record at a time */
	char *buf;              /* whole lines waiting for output__flush: OUT_BUFFER */
	size_t len;             /* bytes in buf */
	int fd;                 /* opts.out's descriptor, -1 if it has none */
	bool pipe;              /* ... and it is a pipe (output__reader_gone) */
	int write_err;          /* the first failed write's errno: no more output */
	uint64_t lines_lost;    /* lines not written, or cut short, since then */
	bool line_cut;          /* one of them went out in part */
	bool mid_line;          /* the last byte out did not end a line */
	size_t header_end;      /* the text table's header ends here in buf; 0: not there */
	bool text_put;          /* output__stream had some: lines are not records */
	uint64_t unformatted;   /* JSON records that could not be formatted */
	FILE *stream;           /* output__stream's, NULL until asked for */
	bool header_done;
	const volatile sig_atomic_t *stop;  /* output__set_stop's flag */
	uint64_t stop_deadline_ns;  /* the stop's grace ends (CLOCK_MONOTONIC); 0: none yet */
};

/* What every connection-scoped object starts with. */
struct common {
	const char *type;
	uint64_t ts_ns;          /* CLOCK_MONOTONIC */
	uint64_t id;
	uint8_t family;
	const uint8_t *laddr, *raddr;
	uint16_t lport, rport;
	uint32_t pid;
	const char *comm;
	size_t comm_len;
	uint32_t netns;
	uint64_t cgroup_id;
	bool uid_known;
	uint32_t uid;
};

int64_t output__clock_offset(void)
{
	struct timespec m1, r, m2;
	int64_t mono;

	/* bracket the realtime read so the offset error is half the gap */
	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	mono = ((m1.tv_sec + m2.tv_sec) * NSEC_PER_SEC + m1.tv_nsec + m2.tv_nsec) / 2;
	return r.tv_sec * NSEC_PER_SEC + r.tv_nsec - mono;
}

void output__set_clock_offset(struct output *o, int64_t mono_to_real_ns)
{
	o->opts.mono_to_real_ns = mono_to_real_ns;
}

static void split_ns(int64_t ns, time_t *sec, long *nsec)
{
	*sec = ns / NSEC_PER_SEC;
	*nsec = ns % NSEC_PER_SEC;
	if (*nsec < 0) {
		*nsec += NSEC_PER_SEC;
		(*sec)--;
	}
}

/* width decimal digits of v, zero padded (v >= 0) */
static void put_digits(char *p, long v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* two digits, 00..99 */
static void put_2digits(char *p, unsigned int v)
{
	memcpy(p, jsonw__pairs + v * 2, 2);
}

#define SEC_PER_DAY 86400

/* "hh:mm:ss.nnnnnnnnnZ" of a second of the day into buf (20 bytes). */
static void put_time_of_day(char *buf, long sod, long nsec)
{
	unsigned int ns = (unsigned int)nsec;

	put_2digits(buf, (unsigned int)(sod / 3600));
	buf[2] = ':';
	put_2digits(buf + 3, (unsigned int)(sod / 60 % 60));
	buf[5] = ':';
	put_2digits(buf + 6, (unsigned int)(sod % 60));
	buf[8] = '.';
	/* nine digits, two at a time, and the first alone */
	for (int i = 16; i >= 10; i -= 2) {
		put_2digits(buf + i, ns % 100);
		ns /= 100;
	}
	buf[9] = (char)('0' + ns);
	buf[18] = 'Z';
	buf[19] = '\0';
}

size_t format_rfc3339_ns(int64_t real_ns, char *buf, size_t len)
{
	struct tm tm;
	time_t sec, day;
	long nsec;

	/* The date part of the last day formatted ("YYYY-MM-DDT"): a record
	 * carries up to three times, one of them (TIME_WAIT's end) a minute
	 * ahead, and gmtime_r per time was a tenth of the consumer's work at
	 * full churn. The time of day is plain arithmetic: UTC has no leap
	 * seconds in time_t. */
	static __thread time_t cached_day = INT64_MIN;
	static __thread char cached[11];

	split_ns(real_ns, &sec, &nsec);
	if (!len)
		return 0;
	day = sec / SEC_PER_DAY - (sec % SEC_PER_DAY < 0);
	if (day == cached_day && len >= 31) {
		memcpy(buf, cached, 11);
		put_time_of_day(buf + 11, (long)(sec - day * SEC_PER_DAY), nsec);
		return 30;
	}
	if (!gmtime_r(&sec, &tm)) {
		buf[0] = '\0';
		return 0;
	}
	if (len < 31 || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, nsec);
		return strlen(buf);
	}
	/* by hand, for the same reason as format_addr: several per record */
	put_digits(buf, tm.tm_year + 1900, 4);
	buf[4] = '-';
	put_digits(buf + 5, tm.tm_mon + 1, 2);
	buf[7] = '-';
	put_digits(buf + 8, tm.tm_mday, 2);
	buf[10] = 'T';
	put_time_of_day(buf + 11, tm.tm_hour * 3600L + tm.tm_min * 60 + tm.tm_sec, nsec);
	memcpy(cached, buf, 11);
	cached_day = day;
	return 30;
}

/* Local wall clock, HH:MM:SS, for text rows. */
static void format_hms(int64_t real_ns, char *buf, size_t len)
{
	struct tm tm;
	time_t sec;
	long nsec;

	split_ns(real_ns, &sec, &nsec);
	if (!localtime_r(&sec, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
		snprintf(buf, len, "-");
}

size_t format_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	int af = family == SYNFIN_AF_INET ? AF_INET :
		 family == SYNFIN_AF_INET6 ? AF_INET6 : 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	/* IPv4 by hand: inet_ntop formats it with sprintf, which showed up in
	 * the consumer's profile */
	if (af == AF_INET && len >= 16) {
		char *p = buf;

		for (int i = 0; i < 4; i++) {
			unsigned int b = addr[i];

			if (b >= 100)
				*p++ = (char)('0' + b / 100);
			if (b >= 10)
				*p++ = (char)('0' + b / 10 % 10);
			*p++ = (char)('0' + b % 10);
			*p++ = i < 3 ? '.' : '\0';
		}
		return (size_t)(p - buf - 1);
	}
	if (!af || !inet_ntop(af, addr, buf, len))
		buf[0] = '\0';
	return strlen(buf);
}

void format_tcp_flags(uint8_t flags, char *buf, size_t len)
{
	static const char *const names[8] = {
		"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR",
	};
	size_t n = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (int i = 0; i < 8; i++) {
		if (!(flags & (1u << i)))
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
			      n ? "|" : "", names[i]);
		if (n >= len)
			return;
	}
}

static const char *family_name(uint8_t family)
{
	return family == SYNFIN_AF_INET ? "ipv4" :
	       family == SYNFIN_AF_INET6 ? "ipv6" : "unknown";
}

static int64_t to_real(const struct output *o, uint64_t mono_ns)
{
	return mono_to_real(mono_ns, o->opts.mono_to_real_ns);
}

/* ---- JSON ---- */

/* A record's opening, "{"type":...": json_finish() closes it. */
static void json_begin(struct output *o, const char *type)
{
	jsonw_reset(o->jw);
	jsonw_start_object(o->jw);
	jsonw_ascii_field(o->jw, "type", type);
}

/* A time as an RFC 3339 string field: every record has one or more. */
static void json_time_field(struct output *o, const char *name, uint64_t mono_ns)
{
	char buf[64];
	size_t n = format_rfc3339_ns(to_real(o, mono_ns), buf, sizeof(buf));

	jsonw_ascii_len_field(o->jw, name, buf, n);
}

static void json_common(struct output *o, const struct common *c)
{
	struct json_writer *w = o->jw;
	char buf[64];
	size_t n;

	json_begin(o, c->type);
	json_time_field(o, "ts", c->ts_ns);
	jsonw_u64_field(w, "id", c->id);
	jsonw_ascii_field(w, "family", family_name(c->family));
	n = format_addr(c->family, c->laddr, buf, sizeof(buf));
	jsonw_ascii_len_field(w, "laddr", buf, n);
	jsonw_u64_field(w, "lport", c->lport);
	n = format_addr(c->family, c->raddr, buf, sizeof(buf));
	jsonw_ascii_len_field(w, "raddr", buf, n);
	jsonw_u64_field(w, "rport", c->rport);
	jsonw_u64_field(w, "pid", c->pid);
	jsonw_name(w, "comm");
	jsonw_string_len(w, c->comm, c->comm_len);
	if (c->uid_known)
		jsonw_u64_field(w, "uid", c->uid);
	else
		jsonw_null_field(w, "uid");
	jsonw_u64_field(w, "netns", c->netns);
	jsonw_u64_field(w, "cgroup_id", c->cgroup_id);
}

/* Lines collect in synfin's own buffer and go out on output__flush (after
 * each drain of the ring) or before the buffer could split one: a killed
 * tracer leaves whole lines, and a busy one makes a write() per drain,
 * not per line (at full churn that was a system call per record). Its own
 * write() rather than stdio's: after a failed write it knows which lines
 * went out, and counts the rest as lost. */
#define OUT_BUFFER (1u << 20)

/* How long the output may wait on its reader without progress once a
 * stop is asked for: a reader that stalls (a pager left at its prompt, a
 * consumer hung) must not keep synfin from stopping; one that reads, even
 * slowly, gets the last lines, and a drain that takes long to write (a
 * burst's backlog at the stop) is not cut. */
#define STOP_GRACE_NS 2000000000ULL
#define STOP_TICK_US 100000

static void on_stop_tick(int sig)
{
	(void)sig;  /* only to cut a blocked write() short */
}

void output__set_stop(struct output *o, const volatile sig_atomic_t *stop)
{
	o->stop = stop;
}

/* Whether a write may go on waiting for the reader: always until a stop
 * is asked for, then for STOP_GRACE_NS since the stop, since the write
 * began or since it last took anything (grace_restart); not at all once
 * a stop is asked for again (the flag at 2: Ctrl-C twice). From the
 * first look after the stop a timer ticks (SIGALRM, its handler without
 * SA_RESTART), so a write() blocked on a full pipe returns, short or with
 * EINTR, and comes back here. */
static bool may_wait(struct output *o)
{
	struct itimerval tick = {
		.it_interval = { .tv_usec = STOP_TICK_US }, .it_value = { .tv_usec = STOP_TICK_US },
	};
	struct sigaction sa = { .sa_handler = on_stop_tick };
	uint64_t now;

	if (!o->stop || !*o->stop)
		return true;
	if (*o->stop > 1)
		return false;  /* a second stop: the reader is not waited for */
	now = now_mono_ns();
	if (!o->stop_deadline_ns) {
		o->stop_deadline_ns = now + STOP_GRACE_NS;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &tick, NULL);
	}
	return now < o->stop_deadline_ns;
}

/* The grace starts again: a write begins, or one took something. */
static void grace_restart(struct output *o)
{
	if (o->stop_deadline_ns)
		o->stop_deadline_ns = now_mono_ns() + STOP_GRACE_NS;
}

static void stop_ticks(struct output *o)
{
	struct itimerval off = { 0 };

	if (o->stop_deadline_ns)
		setitimer(ITIMER_REAL, &off, NULL);
}

/* A descriptor made non-blocking by whoever gave it: wait for the reader,
 * as a blocking write would. false (errno EAGAIN again) if poll fails. */
static bool wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
		return true;
	errno = EAGAIN;
	return false;
}

/* Write out buf[0..len): to the descriptor when there is one (a file, a
 * pipe), else through the stream (open_memstream in the tests). Returns
 * the bytes written; sets o->write_err when that is not all of them. */
static size_t sink_write(struct output *o, const char *buf, size_t len)
{
	size_t done = 0;

	/* the grace is for the reader: time synfin spent since its last
	 * write (a detach, a census walk joined at the stop) is not its */
	grace_restart(o);
	if (o->fd < 0) {
		done = fwrite(buf, 1, len, o->opts.out);
		if (done < len || fflush(o->opts.out))
			o->write_err = errno ? errno : EIO;
		return done;
	}
	while (done < len) {
		ssize_t n;

		if (!may_wait(o)) {
			/* output__write_error says what they mean */
			o->write_err = *o->stop > 1 ? ECANCELED : ETIMEDOUT;
			break;
		}
		n = write(o->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_writable(o->fd))
			continue;
		if (n <= 0) {
			o->write_err = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
		o->mid_line = buf[done - 1] != '\n';
		/* the grace is for a reader that stopped: one that reads,
		 * however slowly, gets all of it */
		grace_restart(o);
	}
	return done;
}

static size_t count_lines(const char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = buf; (p = memchr(p, '\n', len - (size_t)(p - buf))); p++)
		n++;
	return n;
}

/* After a failed write: the lines of buf[0..len) that did not go out
 * whole (done bytes did) are lost. A line is cut when the last byte out
 * did not end one: this write's, or an earlier one's (the ladder's
 * stream can fill the buffer mid-line). */
static void count_unwritten(struct output *o, const char *buf, size_t len, size_t done)
{
	if (done < len && o->mid_line)
		o->line_cut = true;
	o->lines_lost += count_lines(buf + done, len - done);
}

/* The buffer's lines out: 0, or minus the first failed write's errno. */
static int write_buffer(struct output *o)
{
	size_t done;

	if (!o->len)
		return -o->write_err;
	done = sink_write(o, o->buf, o->len);
	if (o->write_err) {
		count_unwritten(o, o->buf, o->len, done);
		/* the table's header is no record */
		if (o->header_end > done && o->lines_lost)
			o->lines_lost--;
	}
	o->len = 0;
	o->header_end = 0;
	return -o->write_err;
}

/* Bytes of whole lines into the buffer: one line (put_line) or a picture
 * of many (the ladder's, through output__stream). One longer than the
 * buffer goes out by itself, whole. */
static void put_text(struct output *o, const char *text, size_t len)
{
	size_t done;

	if (o->len + len > OUT_BUFFER)
		write_buffer(o);
	if (o->write_err) {
		o->lines_lost += count_lines(text, len);
		return;
	}
	if (len > OUT_BUFFER) {
		done = sink_write(o, text, len);
		if (o->write_err)
			count_unwritten(o, text, len, done);
		return;
	}
	memcpy(o->buf + o->len, text, len);
	o->len += len;
}

static void put_line(struct output *o, const char *line, size_t len)
{
	if (o->len + len + 1 > OUT_BUFFER)
		write_buffer(o);
	if (o->write_err || len + 1 > OUT_BUFFER) {
		/* nothing goes out any more, or a line past the buffer */
		put_text(o, line, len);
		put_text(o, "\n", 1);
		return;
	}
	memcpy(o->buf + o->len, line, len);
	o->buf[o->len + len] = '\n';
	o->len += len + 1;
}

static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
	struct output *o = cookie;

	o->text_put = true;
	put_text(o, buf, len);
	return (ssize_t)len;
}

FILE *output__stream(struct output *o)
{
	cookie_io_functions_t io = { .write = stream_write };

	if (!o->stream)
		o->stream = fopencookie(o, "w", io);
	return o->stream;
}

int output__flush(struct output *o)
{
	if (!o)
		return 0;
	/* what output__stream holds joins the lines first */
	if (o->stream)
		fflush(o->stream);
	return write_buffer(o);
}

int output__set_fd(struct output *o, int fd)
{
	struct stat st;
	int old = o->fd;

	/* what is held belongs to the old file: it goes there first (a
	 * failure stays in write_err, and the run stops as for any) */
	output__flush(o);
	o->fd = fd;
	o->pipe = !fstat(fd, &st) && S_ISFIFO(st.st_mode);
	/* an empty file of the text table starts with its header, at its
	 * first row; one with lines already (a SIGHUP with no rotation, a
	 * restart appending) goes on under the header it has */
	o->header_done = !output__new_file(o);
	return old;
}

bool output__new_file(const struct output *o)
{
	struct stat st;

	return fstat(o->fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0;
}

/* Only a write hears that a pipe's reader has gone, and a quiet host (or a
 * narrow filter) makes none: `synfin -j | head -n 3` would hold its hooks
 * until the next record came, however long. poll() says it at once
 * (POLLERR on a pipe with no reader). Pipes only: for a socket POLLERR is
 * any pending error, and the next write says which. */
bool output__reader_gone(struct output *o)
{
	struct pollfd pfd;

	if (!o || !o->pipe || o->write_err)
		return false;
	pfd = (struct pollfd){ .fd = o->fd };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLERR))
		return false;
	o->write_err = EPIPE;
	/* what waits for output__flush cannot go out either */
	count_unwritten(o, o->buf, o->len, 0);
	o->len = 0;
	return true;
}

uint64_t output__unformatted(const struct output *o)
{
	return o ? o->unformatted : 0;
}

bool output__write_error(const struct output *o, struct output_write_error *we)
{
	memset(we, 0, sizeof(*we));
	if (!o || !o->write_err)
		return false;
	we->err = o->write_err;
	we->lost = o->lines_lost;
	we->cut = o->line_cut;
	we->lines = o->text_put;
	return true;
}

static void json_finish(struct output *o)
{
	struct json_writer *w = o->jw;
	const char *buf;
	size_t len;
	int err;

	jsonw_end_object(w);
	err = jsonw_err(w);
	if (err) {
		/* Only when the writer's buffer cannot grow: counted, and
		 * reported as a loss with the rest, not a line per record on
		 * stderr (a host out of memory would get thousands). */
		o->unformatted++;
		return;
	}
	buf = jsonw_buf(w, &len);
	put_line(o, buf, len);
}

/* ---- text ---- */

/* A text row of columns with nominal widths. A cell that overflows pushes
 * the next ones right only until some later padding absorbs it, so one
 * long address does not misalign the rest of the row. */
struct row {
	char buf[512];
	size_t len;   /* bytes in buf */
	size_t col;   /* where the previous column nominally ended */
};

enum { LEFT = 0, RIGHT = 1 };

static void cell(struct row *r, const char *s, size_t width, int align)
{
	size_t n = strlen(s), start, pos, min;

	start = r->len ? r->col + 1 : 0;
	min = r->len ? r->len + 1 : 0;
	pos = start;
	if (align == RIGHT && n < width)
		pos += width - n;
	if (pos < min)
		pos = min;
	if (pos + n >= sizeof(r->buf))
		return;
	memset(r->buf + r->len, ' ', pos - r->len);
	memcpy(r->buf + pos, s, n);
	r->len = pos + n;
	r->col = start + width;
}

static void row_print(struct output *o, struct row *r)
{
	put_line(o, r->buf, r->len);
}

size_t format_safe_comm(const char *comm, size_t len, char *out, size_t width)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i;
	unsigned char c;
	char e[5];
	size_t el;

	for (i = 0; i < len; i++) {
		c = (unsigned char)comm[i];
		if (c == '\\') {
			memcpy(e, "\\\\", 2);
			el = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			e[0] = (char)c;
			el = 1;
		} else {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 0xf];
			el = 4;
		}
		if (n + el > width)
			break;
		memcpy(out + n, e, el);
		n += el;
	}
	out[n] = '\0';
	return n;
}

/* A text row's comm: made safe, "-" when there is none. */
static void text_comm(const char *comm, size_t len, char *out, size_t width)
{
	if (!format_safe_comm(comm, len, out, width))
		snprintf(out, width + 1, "-");
}

/* A port for the text table: "-" for 0, none chosen yet (a client's
 * first event: the kernel enters SYN-SENT before it picks the port). */
static void text_port(uint16_t port, char *buf, size_t len)
{
	if (port)
		snprintf(buf, len, "%u", port);
	else
		snprintf(buf, len, "-");
}

static void text_addr_port(uint8_t family, const uint8_t *addr, uint16_t port,
			   char *buf, size_t len)
{
	char a[64], p[8];

	format_addr(family, addr, a, sizeof(a));
	text_port(port, p, sizeof(p));
	if (!a[0])
		snprintf(buf, len, "-");
	else if (family == SYNFIN_AF_INET6)
		snprintf(buf, len, "[%s]:%s", a, p);
	else
		snprintf(buf, len, "%s:%s", a, p);
}

/* Bytes in at most 4 characters: 999, 1.2K, 999K, 1.0M ... 16E. */
static void human_bytes(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 1000) {
		snprintf(buf, len, "%" PRIu64, v);
		return;
	}
	do {
		d /= 1024;
		u++;
	} while (d >= 999.5 && u < 5);
	if (d < 9.95)
		snprintf(buf, len, "%.1f%c", d, units[u]);
	else
		snprintf(buf, len, "%.0f%c", d, units[u]);
}

/* Milliseconds in at most 6 characters: 0.12, 12.3, 12345, 1234s, 12h. */
static void human_ms(double ms, char *buf, size_t len)
{
	if (!(ms >= 0)) /* negative or NaN: no value */
		snprintf(buf, len, "-");
	else if (ms < 10)
		snprintf(buf, len, "%.2f", ms);
	else if (ms < 1000)
		snprintf(buf, len, "%.1f", ms);
	else if (ms < 100000)
		snprintf(buf, len, "%.0f", ms);
	else if (ms < 1e8)
		snprintf(buf, len, "%.0fs", ms / 1e3);
	else if (ms < 3.6e11)
		snprintf(buf, len, "%.0fh", ms / 3.6e6);
	else
		snprintf(buf, len, "big");
}

static const char *role_abbr(enum conn_role r)
{
	return r == ROLE_CLIENT ? "cli" : r == ROLE_SERVER ? "srv" : "?";
}

static const char *hs_abbr(enum handshake_result h)
{
	switch (h) {
	case HS_ESTABLISHED: return "est";
	case HS_REFUSED: return "ref";
	case HS_TIMEOUT: return "tmo";
	case HS_RESET: return "rst";
	case HS_ABORTED: return "abt";
	case HS_UNREACHABLE: return "unr";
	default: return "-";
	}
}

static bool handshake_failed(const struct conn_record *rec)
{
	return rec->handshake.result != HS_ESTABLISHED && rec->handshake.result != HS_NOT_SEEN;
}

/* Who + how: "L:fin", "R:fin", "B:fin", "L:rst", "R:rst", "L:tmo", "-".
 * For resets the letter is the end that sent the RST, which is what the
 * reader wants to know even when the other end sent the first FIN. */
static void close_abbr(const struct conn_record *rec, char *buf, size_t len)
{
	static const char who[] = "-LRB";
	unsigned int i = rec->close.initiator;
	char c = i < sizeof(who) - 1 ? who[i] : '-';

	switch (rec->close.how) {
	case HOW_FIN:
		snprintf(buf, len, "%c:fin", c);
		break;
	case HOW_RST_SENT:
		snprintf(buf, len, "L:rst");
		break;
	case HOW_RST_RECEIVED:
		snprintf(buf, len, "R:rst");
		break;
	case HOW_TIMEOUT:
		snprintf(buf, len, c == '-' ? "tmo" : "%c:tmo", c);
		break;
	case HOW_UNKNOWN:
		snprintf(buf, len, "?");
		break;
	default:
		snprintf(buf, len, "-");
		break;
	}
}

/* Column widths. Narrow (80 columns for IPv4) shows the local port only and
 * folds the handshake verdict into HS_MS (a time means "est"); -w shows the
 * full tuple and exact numbers. */
enum {
	W_TIME = 8, W_PID = 7,
	N_COMM = 10, N_LPORT = 5, N_RADDR = 21, N_ROLE = 3,
	N_HSMS = 5, N_CLOSE = 5, N_BYTES = 4, N_DUR = 6,
	W_COMM = 16, W_ADDR = 28, W_ROLE = 4, W_HS = 3, W_HSMS = 8, W_CLOSE = 5,
	W_BYTES = 12, W_DUR = 14,
};

static void text_lead(struct row *r, bool wide, bool timestamps, const char *time,
		      const char *pid, const char *comm, const char *laddr,
		      const char *lport, const char *raddr)
{
	/* TIME is opt-in (-T, as in tcpstates/tcplife) or part of -w: with it a
	 * full IPv4 RADDR:RPORT would not fit in 80 columns */
	if (wide || timestamps)
		cell(r, time, W_TIME, LEFT);
	cell(r, pid, W_PID, RIGHT);
	if (wide) {
		cell(r, comm, W_COMM, LEFT);
		cell(r, laddr, W_ADDR, LEFT);
		cell(r, raddr, W_ADDR, LEFT);
	} else {
		cell(r, comm, N_COMM, LEFT);
		cell(r, lport, N_LPORT, RIGHT);
		cell(r, raddr, N_RADDR, LEFT);
	}
}

void output__header(struct output *o)
{
	bool wide = o->opts.wide;
	struct row r = {};

	if (o->opts.json || o->header_done)
		return;
	o->header_done = true;
	text_lead(&r, wide, o->opts.timestamps, "TIME", "PID", "COMM",
		  "LADDR:LPORT", "LPORT", "RADDR:RPORT");
	if (o->opts.events) {
		cell(&r, "EVENT", 0, LEFT);
	} else if (wide) {
		cell(&r, "ROLE", W_ROLE, LEFT);
		cell(&r, "HS", W_HS, LEFT);
		cell(&r, "HS_MS", W_HSMS, RIGHT);
		cell(&r, "CLOSE", W_CLOSE, LEFT);
		cell(&r, "TX", W_BYTES, RIGHT);
		cell(&r, "RX", W_BYTES, RIGHT);
		cell(&r, "DUR_MS", W_DUR, RIGHT);
	} else {
		cell(&r, "ROLE", N_ROLE, LEFT);
		cell(&r, "HS_MS", N_HSMS, RIGHT);
		cell(&r, "CLOSE", N_CLOSE, LEFT);
		cell(&r, "TX", N_BYTES, RIGHT);
		cell(&r, "RX", N_BYTES, RIGHT);
		cell(&r, "DUR_MS", N_DUR, RIGHT);
	}
	/* The header is no record, never counted as one not written: the
	 * room for it is made first, and it goes in only where a write may
	 * still take it; write_buffer leaves it out of the count. */
	if (o->len + r.len + 1 > OUT_BUFFER)
		write_buffer(o);
	if (o->write_err)
		return;  /* nothing goes out any more */
	row_print(o, &r);
	o->header_end = o->len;
}

static void text_common(struct output *o, struct row *r, const struct common *c)
{
	char time[16], pid[16], comm[80], laddr[80], lport[8], raddr[80];
	bool wide = o->opts.wide;

	/* the row starts here: JSON records never touch one, so callers
	 * leave it unset rather than clear its 512 bytes per record */
	r->len = 0;
	r->col = 0;
	output__header(o);
	format_hms(to_real(o, c->ts_ns), time, sizeof(time));
	if (c->pid)
		snprintf(pid, sizeof(pid), "%u", c->pid);
	else
		snprintf(pid, sizeof(pid), "-");
	text_comm(c->comm, c->comm_len, comm,
		  wide ? sizeof(comm) - 1 : N_COMM);
	text_addr_port(c->family, c->laddr, c->lport, laddr, sizeof(laddr));
	text_port(c->lport, lport, sizeof(lport));
	text_addr_port(c->family, c->raddr, c->rport, raddr, sizeof(raddr));
	text_lead(r, wide, o->opts.timestamps, time, pid, comm, laddr, lport, raddr);
}

/* ---- records ---- */

struct output *output__new(const struct output_opts *opts)
{
	struct output *o = calloc(1, sizeof(*o));
	struct stat st;

	if (!o)
		return NULL;
	o->opts = *opts;
	if (!o->opts.out)
		o->opts.out = stdout;
	if (o->opts.json) {
		o->jw = jsonw_new();
		if (!o->jw)
			goto nomem;
	}
	/* The lines' buffer is synfin's own, OUT_BUFFER: stdio's would be
	 * st_blksize (4 KiB), a write() per dozen records, lines split across
	 * them, and on ext4 each unaligned 4 KiB write zeroed the rest of a
	 * new block, a third of --events' CPU writing to a file. */
	o->fd = fileno(o->opts.out);
	o->pipe = o->fd >= 0 && !fstat(o->fd, &st) && S_ISFIFO(st.st_mode);
	o->buf = malloc(OUT_BUFFER);
	if (!o->buf)
		goto nomem;
	return o;
nomem:
	jsonw_free(o->jw);
	free(o);
	errno = ENOMEM;
	return NULL;
}

void output__set_follow_tw(struct output *o, bool follow)
{
	o->opts.follow_tw = follow;
}

void output__free(struct output *o)
{
	if (!o)
		return;
	/* the closed stream's FILE is freed: the flush below must not
	 * touch it again */
	if (o->stream) {
		fclose(o->stream); /* into the buffer: its cookie is o */
		o->stream = NULL;
	}
	output__flush(o);
	stop_ticks(o);
	free(o->buf);
	jsonw_free(o->jw);
	free(o);
}

static void json_opt_u64(struct json_writer *w, const char *name, bool known, uint64_t v)
{
	if (known)
		jsonw_u64_field(w, name, v);
	else
		jsonw_null_field(w, name);
}

/* A name, or null where there is none (s NULL). */
static void json_opt_ascii(struct json_writer *w, const char *name, const char *s)
{
	if (s)
		jsonw_ascii_field(w, name, s);
	else
		jsonw_null_field(w, name);
}

/* How long the connection spent in a state, null if it never was in it. */
static void json_span_ms(struct json_writer *w, const char *name, const struct state_span *sp,
			 uint64_t end_ns)
{
	uint64_t leave = sp->leave_ns ? sp->leave_ns : end_ns;

	if (!sp->enter_ns || leave < sp->enter_ns)
		jsonw_null_field(w, name);
	else
		jsonw_ms_from_ns_field(w, name, leave - sp->enter_ns);
}

static void json_wave(struct output *o, const struct conn_record *rec)
{
	struct json_writer *w = o->jw;
	const struct state_span *sp = rec->span;

	jsonw_name(w, "wave");
	jsonw_start_object(w);
	json_span_ms(w, "fin_wait1_ms", &sp[SYNFIN_TCP_FIN_WAIT1], rec->end_ns);
	json_span_ms(w, "fin_wait2_ms", &sp[SYNFIN_TCP_FIN_WAIT2], rec->end_ns);
	json_span_ms(w, "closing_ms", &sp[SYNFIN_TCP_CLOSING], rec->end_ns);
	json_span_ms(w, "close_wait_ms", &sp[SYNFIN_TCP_CLOSE_WAIT], rec->end_ns);
	json_span_ms(w, "last_ack_ms", &sp[SYNFIN_TCP_LAST_ACK], rec->end_ns);
	json_opt_u64(w, "fin_seq_local", rec->wave.local_fin, rec->wave.local_fin_seq);
	json_opt_u64(w, "fin_seq_remote", remote_fin_seq_known(rec), rec->wave.remote_fin_seq);
	jsonw_u64_field(w, "fin_retrans", rec->wave.fin_retrans);
	jsonw_u64_field(w, "data_retrans", rec->wave.data_retrans);
	if (rec->wave.fin_ack_known)
		jsonw_bool_field(w, "fin_ack_merged", rec->wave.fin_ack_merged);
	else
		jsonw_null_field(w, "fin_ack_merged");
	jsonw_end_object(w);
}

/* TIME_WAIT as known when the connection closed: what it left behind,
 * whether that was measured (tw timer) or inferred (SOCK_DONE), and when
 * the tw sock will go. A "time_wait" record follows when it does, if
 * exit_followed. */
static void json_time_wait(struct output *o, const struct conn_record *rec)
{
	struct json_writer *w = o->jw;

	jsonw_name(w, "time_wait");
	jsonw_start_object(w);
	jsonw_ascii_field(w, "state", tw_kind_name(rec->tw.kind));
	if (rec->tw.kind == TW_KIND_NONE) {
		jsonw_null_field(w, "source");
		jsonw_null_field(w, "expected_exit");
		jsonw_null_field(w, "expected_ms");
		jsonw_bool_field(w, "exit_followed", false);
	} else {
		uint64_t from = rec->tw.start_ns ? rec->tw.start_ns : rec->end_ns;

		jsonw_ascii_field(w, "source", rec->tw.measured ? "measured" : "inferred");
		json_time_field(o, "expected_exit", rec->tw.expire_ns);
		jsonw_ms_from_ns_field(w, "expected_ms", rec->tw.expire_ns > from ?
				       rec->tw.expire_ns - from : 0);
		jsonw_bool_field(w, "exit_followed",
				 rec->tw.measured && o->opts.follow_tw && !rec->tw.unfollowed);
	}
	jsonw_end_object(w);
}

void output__conn(struct output *o, const struct conn_record *rec)
{
	uint64_t start = rec->start_ns ? rec->start_ns : rec->end_ns;
	uint64_t dur_ns = rec->end_ns > start ? rec->end_ns - start : 0;
	double dur_ms = (double)dur_ns / 1e6;
	bool hs_ms = rec->handshake.result == HS_ESTABLISHED && rec->handshake.ms >= 0;
	struct common c = {
		.type = "conn", .ts_ns = rec->end_ns, .id = rec->id,
		.family = rec->family, .laddr = rec->laddr, .raddr = rec->raddr,
		.lport = rec->lport, .rport = rec->rport, .pid = rec->pid,
		.comm = rec->comm, .comm_len = strnlen(rec->comm, SYNFIN_COMM_LEN),
		.netns = rec->netns, .cgroup_id = rec->cgroup_id,
		.uid_known = rec->uid_known, .uid = rec->uid,
	};
	char hs[16], hs_result[8], tx[24], rx[24], dur[16], cl[16];
	bool hs_inferred;
	struct json_writer *w = o->jw;
	struct row r;

	if (o->opts.json) {
		json_common(o, &c);
		json_time_field(o, "start", start);
		jsonw_ms_from_ns_field(w, "duration_ms", dur_ns);
		jsonw_ascii_field(w, "role", role_name(rec->role));
		/* a socket the kernel wiped before its destroy record: not 0 */
		if (rec->bytes_known) {
			jsonw_u64_field(w, "bytes_sent", rec->bytes_sent);
			jsonw_u64_field(w, "bytes_received", rec->bytes_received);
		} else {
			jsonw_null_field(w, "bytes_sent");
			jsonw_null_field(w, "bytes_received");
		}
		jsonw_name(w, "handshake");
		jsonw_start_object(w);
		jsonw_ascii_field(w, "result", handshake_name(rec->handshake.result));
		if (hs_ms)
			jsonw_double_field(w, "ms", rec->handshake.ms, 3);
		else
			jsonw_null_field(w, "ms");
		/* the client times connect() to ESTABLISHED itself; a server's
		 * request sock is invisible, its time is the kernel's first RTT
		 * sample (SYN-ACK sent -> final ACK) */
		jsonw_ascii_field(w, "ms_source", !hs_ms ? "none" :
				   rec->role == ROLE_SERVER ? "synack_rtt" : "connect");
		jsonw_u64_field(w, "syn_retrans", rec->handshake.syn_retrans);
		jsonw_u64_field(w, "synack_retrans", rec->handshake.synack_retrans);
		json_opt_u64(w, "isn_local", rec->handshake.isn_local_known, rec->handshake.isn_local);
		json_opt_u64(w, "isn_remote", rec->handshake.isn_remote_known, rec->handshake.isn_remote);
		jsonw_bool_field(w, "simultaneous_open", rec->handshake.simultaneous_open);
		jsonw_end_object(w);
		json_wave(o, rec);
		json_time_wait(o, rec);
		jsonw_name(w, "close");
		jsonw_start_object(w);
		jsonw_ascii_field(w, "initiator", initiator_name(rec->close.initiator));
		jsonw_ascii_field(w, "how", close_how_name(rec->close.how));
		jsonw_s64_field(w, "err", rec->close.err);
		json_opt_ascii(w, "rst_cause", rst_cause_name(rec->close.rst_cause));
		jsonw_bool_field(w, "missed", rec->close_missed);
		jsonw_end_object(w);
		jsonw_ascii_field(w, "conn_state", rec->conn_state);
		jsonw_ascii_field(w, "history", rec->history);
		jsonw_ascii_field(w, "last_state", tcp_state_name(rec->last_state));
		jsonw_u64_field(w, "total_retrans", rec->total_retrans);
		jsonw_u64_field(w, "srtt_us", rec->srtt_us);
		jsonw_bool_field(w, "seeded", rec->seeded);
		json_finish(o);
		return;
	}

	text_common(o, &r, &c);
	close_abbr(rec, cl, sizeof(cl));
	/* a record made at the socket's destroy: a "?" after the verdict it
	 * inferred, the handshake's ("abt?") for one never established, else
	 * the close's ("L:fin?") */
	hs_inferred = rec->close_missed && handshake_failed(rec);
	snprintf(hs_result, sizeof(hs_result), "%s%s", hs_abbr(rec->handshake.result),
		 hs_inferred ? "?" : "");
	if (rec->close_missed && !hs_inferred)
		strncat(cl, "?", sizeof(cl) - strlen(cl) - 1);
	human_ms(dur_ms, dur, sizeof(dur));
	if (o->opts.wide) {
		if (rec->bytes_known) {
			snprintf(tx, sizeof(tx), "%" PRIu64, rec->bytes_sent);
			snprintf(rx, sizeof(rx), "%" PRIu64, rec->bytes_received);
		}
		if (hs_ms)
			snprintf(hs, sizeof(hs), "%.3f", rec->handshake.ms);
		else
			snprintf(hs, sizeof(hs), "-");
		snprintf(dur, sizeof(dur), "%.3f", dur_ms);
		cell(&r, role_abbr(rec->role), W_ROLE, LEFT);
		cell(&r, hs_result, W_HS, LEFT);
		cell(&r, hs, W_HSMS, RIGHT);
		cell(&r, cl, W_CLOSE, LEFT);
	} else {
		if (rec->bytes_known) {
			human_bytes(rec->bytes_sent, tx, sizeof(tx));
			human_bytes(rec->bytes_received, rx, sizeof(rx));
		}
		if (hs_ms)
			human_ms(rec->handshake.ms, hs, sizeof(hs));
		else
			snprintf(hs, sizeof(hs), "%s", hs_result);
		cell(&r, role_abbr(rec->role), N_ROLE, LEFT);
		cell(&r, hs, N_HSMS, RIGHT);
		cell(&r, cl, N_CLOSE, LEFT);
	}
	if (!rec->bytes_known) {
		snprintf(tx, sizeof(tx), "-");
		snprintf(rx, sizeof(rx), "-");
	}
	cell(&r, tx, o->opts.wide ? W_BYTES : N_BYTES, RIGHT);
	cell(&r, rx, o->opts.wide ? W_BYTES : N_BYTES, RIGHT);
	cell(&r, dur, o->opts.wide ? W_DUR : N_DUR, RIGHT);
	row_print(o, &r);
}

/* The tw sock a reported connection left behind has gone. */
void output__time_wait(struct output *o, const struct conn_record *rec)
{
	uint64_t start = rec->tw.start_ns ? rec->tw.start_ns : rec->end_ns;
	uint64_t end = rec->tw.exit_ns ? rec->tw.exit_ns : rec->tw.expire_ns;
	uint64_t dur_ns = end > start ? end - start : 0;
	double dur_ms = (double)dur_ns / 1e6;
	const char *exit = tw_exit_name(rec->tw.exit);
	/* what killed it, when a reset did and synfin saw it */
	const char *killed_by = rec->tw.exit == TW_EXIT_KILLED && rec->tw.killed_by != HOW_NONE ?
					close_how_name(rec->tw.killed_by) : NULL;
	struct common c = {
		.type = "time_wait", .ts_ns = end, .id = rec->id,
		.family = rec->family, .laddr = rec->laddr, .raddr = rec->raddr,
		.lport = rec->lport, .rport = rec->rport, .pid = rec->pid,
		.comm = rec->comm, .comm_len = strnlen(rec->comm, SYNFIN_COMM_LEN),
		.netns = rec->netns, .cgroup_id = rec->cgroup_id,
		.uid_known = rec->uid_known, .uid = rec->uid,
	};
	struct json_writer *w = o->jw;
	char desc[96];
	struct row r;

	if (o->opts.json) {
		json_common(o, &c);
		jsonw_ascii_field(w, "role", role_name(rec->role));
		jsonw_ascii_field(w, "state", tw_kind_name(rec->tw.kind));
		json_time_field(o, "start", start);
		jsonw_ms_from_ns_field(w, "duration_ms", dur_ns);
		/* "unknown": the end was not seen (a lost record); ts is then
		 * the expected exit */
		jsonw_ascii_field(w, "exit", exit ? exit : "unknown");
		json_opt_ascii(w, "killed_by", killed_by);
		json_finish(o);
		return;
	}
	if (!o->opts.events)
		return; /* the table has one row per connection, already printed */
	snprintf(desc, sizeof(desc), "%s gone (%s%s%s) after %.3f s", tw_kind_name(rec->tw.kind),
		 exit ? exit : "unknown", killed_by ? " by " : "", killed_by ? killed_by : "",
		 dur_ms / 1e3);
	text_common(o, &r, &c);
	cell(&r, desc, 0, LEFT);
	row_print(o, &r);
}

/* A tw_end's reason: "reset" is a second record for one tw sock, the
 * cause of the cancel just before it (a reset from the peer killed it). */
static const char *tw_end_reason(uint32_t reason)
{
	return reason == SYNFIN_TW_EXPIRED  ? "expired" :
	       reason == SYNFIN_TW_RST      ? "reset" :
	       reason == SYNFIN_TW_RST_SENT ? "reset_sent" : "cancelled";
}

/* Which retransmit of its segment an event is, 1 for the first. The
 * kernel counts a SYN's or an RTO's (icsk_retransmits) before it sends,
 * a SYN-ACK's (the request sock's num_retrans) only after: without the
 * one added here a SYN-ACK's first retransmit read #0 beside a SYN's #1. */
static uint32_t retrans_ordinal(const struct synfin_event *ev)
{
	return ev->kind == SYNFIN_EV_SYNACK_RETRANSMIT ? ev->retransmits + 1 : ev->retransmits;
}

static const char *event_type(uint8_t kind)
{
	switch (kind) {
	case SYNFIN_EV_STATE:
	case SYNFIN_EV_DESTROY:
		return "state";
	case SYNFIN_EV_RETRANSMIT:
		return "retransmit";
	case SYNFIN_EV_SYNACK_RETRANSMIT:
		return "synack_retransmit";
	case SYNFIN_EV_RESET_SENT:
	case SYNFIN_EV_RESET_RECEIVED:
		return "reset";
	case SYNFIN_EV_TW_START:
		return "tw_start";
	case SYNFIN_EV_TW_END:
		return "tw_end";
	case SYNFIN_EV_TW_FIN:
		return "tw_fin";
	default:
		return NULL;
	}
}

void output__event(struct output *o, const struct synfin_event *ev)
{
	/* pid/comm name the owner only when the kernel says so: in softirq
	 * current is whoever was interrupted (bcc#2304) */
	bool owner = ev->pid || (ev->flags & SYNFIN_F_OWNER_KNOWN);
	bool is_state = ev->kind == SYNFIN_EV_STATE || ev->kind == SYNFIN_EV_DESTROY;
	const char *type = event_type(ev->kind);
	const char *state = (ev->flags & SYNFIN_F_NO_SK) ? "NONE" :
			    tcp_state_name(ev->new_state);
	/* a destroy stands for the ->CLOSE transition that was missed, from
	 * the last state the kernel reported */
	unsigned int old = ev->kind == SYNFIN_EV_DESTROY && !ev->old_state ?
			   ev->new_state : ev->old_state;
	unsigned int new = ev->kind == SYNFIN_EV_DESTROY ?
			   SYNFIN_TCP_CLOSE : ev->new_state;
	const char *reason = ev->kind == SYNFIN_EV_RESET_SENT ?
			     rst_reason_name(ev->reason) : "";
	struct common c = {
		.type = type, .ts_ns = ev->ts_ns, .id = ev->cookie,
		.family = ev->family, .laddr = ev->laddr, .raddr = ev->raddr,
		.lport = ev->lport, .rport = ev->rport,
		.pid = owner ? ev->pid : 0, .comm = ev->comm,
		.comm_len = owner ? strnlen(ev->comm, SYNFIN_COMM_LEN) : 0,
		.netns = ev->netns, .cgroup_id = ev->cgroup_id,
		.uid_known = ev->flags & SYNFIN_F_UID, .uid = ev->uid,
	};
	struct json_writer *w = o->jw;
	char flags[40], desc[128];
	struct row r;
	int n = 0;

	if (!type)
		return;
	format_tcp_flags(ev->kind == SYNFIN_EV_SYNACK_RETRANSMIT ? 0x12 : ev->tcp_flags,
			 flags, sizeof(flags));

	if (o->opts.json) {
		json_common(o, &c);
		switch (ev->kind) {
		case SYNFIN_EV_STATE:
		case SYNFIN_EV_DESTROY:
			jsonw_ascii_field(w, "old_state", tcp_state_name(old));
			jsonw_ascii_field(w, "new_state", tcp_state_name(new));
			jsonw_s64_field(w, "err", ev->err);
			jsonw_bool_field(w, "peer_fin", ev->flags & SYNFIN_F_DONE);
			jsonw_bool_field(w, "orphan", ev->flags & SYNFIN_F_ORPHAN);
			jsonw_u64_field(w, "srtt_us", ev->srtt_us);
			jsonw_u64_field(w, "total_retrans", ev->total_retrans);
			jsonw_u64_field(w, "bytes_acked", ev->bytes_acked);
			jsonw_u64_field(w, "bytes_received", ev->bytes_received);
			if (ev->kind == SYNFIN_EV_DESTROY)
				jsonw_bool_field(w, "destroy", true);
			break;
		case SYNFIN_EV_RETRANSMIT:
			jsonw_ascii_field(w, "state", state);
			jsonw_u64_field(w, "seq", ev->seq);
			jsonw_u64_field(w, "end_seq", ev->end_seq);
			jsonw_ascii_field(w, "tcp_flags", flags);
			jsonw_u64_field(w, "segments", synfin_retrans_segs(ev->reason));
			jsonw_u64_field(w, "retrans", ev->retransmits);
			break;
		case SYNFIN_EV_SYNACK_RETRANSMIT:
			jsonw_ascii_field(w, "state", state);
			jsonw_u64_field(w, "seq", ev->seq);
			jsonw_u64_field(w, "ack", ev->rcv_nxt);
			jsonw_u64_field(w, "retrans", retrans_ordinal(ev));
			break;
		case SYNFIN_EV_TW_START:
			jsonw_ascii_field(w, "state", state);
			if (ev->flags & SYNFIN_F_HZ_UNKNOWN)
				jsonw_null_field(w, "expires_ms");
			else
				jsonw_u64_field(w, "expires_ms", ev->seq);
			break;
		case SYNFIN_EV_TW_END:
			jsonw_ascii_field(w, "state", state);
			/* a cancel before expiry is a death or a re-arm; a
			 * tw_start right after it means re-arm */
			jsonw_ascii_field(w, "reason", tw_end_reason(ev->reason));
			break;
		case SYNFIN_EV_TW_FIN:
			jsonw_ascii_field(w, "state", state);
			jsonw_u64_field(w, "seq", ev->seq);
			break;
		default: /* resets */
			jsonw_ascii_field(w, "direction",
					   ev->kind == SYNFIN_EV_RESET_SENT ? "sent" : "received");
			jsonw_ascii_field(w, "state", state);
			jsonw_string_field(w, "reason", reason);
			break;
		}
		json_finish(o);
		return;
	}

	switch (ev->kind) {
	case SYNFIN_EV_STATE:
	case SYNFIN_EV_DESTROY:
		n = snprintf(desc, sizeof(desc), "%s -> %s%s", tcp_state_name(old),
			     tcp_state_name(new),
			     ev->kind == SYNFIN_EV_DESTROY ? " (destroy)" : "");
		break;
	case SYNFIN_EV_RETRANSMIT:
	case SYNFIN_EV_SYNACK_RETRANSMIT:
		n = snprintf(desc, sizeof(desc), "retrans %s (%s) #%u", flags,
			     state, retrans_ordinal(ev));
		if (ev->kind == SYNFIN_EV_RETRANSMIT && synfin_retrans_segs(ev->reason) > 1 &&
		    n > 0 && (size_t)n < sizeof(desc))
			n += snprintf(desc + n, sizeof(desc) - n, ", %u segments",
				      synfin_retrans_segs(ev->reason));
		break;
	/* the tw sock's events come with every active close: short enough
	 * that an IPv4 row keeps to 80 columns */
	case SYNFIN_EV_TW_START:
		n = snprintf(desc, sizeof(desc), "tw %s timer %u %s", state, ev->seq,
			     (ev->flags & SYNFIN_F_HZ_UNKNOWN) ? "jiffies" : "ms");
		break;
	case SYNFIN_EV_TW_END:
		n = snprintf(desc, sizeof(desc), "tw %s %s", state, tw_end_reason(ev->reason));
		break;
	case SYNFIN_EV_TW_FIN:
		n = snprintf(desc, sizeof(desc), "tw %s got FIN %u", state, ev->seq);
		break;
	default:
		n = snprintf(desc, sizeof(desc), "RST %s (%s)%s%s",
			     ev->kind == SYNFIN_EV_RESET_SENT ? "sent" : "received",
			     state, reason[0] ? " " : "", reason);
		break;
	}
	/* sk_err matters at a transition (why it closed); elsewhere it is noise */
	if (is_state && ev->err && n > 0 && (size_t)n < sizeof(desc))
		snprintf(desc + n, sizeof(desc) - n, " err=%d", ev->err);
	text_common(o, &r, &c);
	cell(&r, desc, 0, LEFT);
	row_print(o, &r);
}

void output__lost(struct output *o, uint64_t ts_ns, const char *reason,
		  uint64_t count, uint64_t total)
{
	struct json_writer *w = o->jw;
	char buf[64];

	if (o->opts.json) {
		json_begin(o, "lost");
		json_time_field(o, "ts", ts_ns);
		jsonw_string_field(w, "reason", reason);
		jsonw_u64_field(w, "count", count);
		jsonw_u64_field(w, "total", total);
		json_finish(o);
		return;
	}
	/* text mode: stdout carries data only, losses are diagnostics */
	format_hms(to_real(o, ts_ns), buf, sizeof(buf));
	fprintf(stderr, "synfin: LOST %s %s: %" PRIu64 " lost (%" PRIu64 " total)\n",
		buf, reason ? reason : "", count, total);
}

void output__alert(struct output *o, const struct live_alert *a)
{
	struct json_writer *w = o->jw;
	char line[1024];

	if (o->opts.json) {
		json_begin(o, "alert");
		live_json_alert_fields(w, a, o->opts.mono_to_real_ns);
		json_finish(o);
		return;
	}
	/* alerts are data: stdout, one line each */
	live_format_alert(line, sizeof(line), a, o->opts.mono_to_real_ns);
	put_line(o, line, strlen(line));
}

void output__stats(struct output *o, const struct live_stats *s)
{
	struct json_writer *w = o->jw;

	json_begin(o, "stats");
	live_json_stats_fields(w, s, o->opts.mono_to_real_ns);
	json_finish(o);
}
