/*
 * log.c: logfmt event lines to a file, syslog and/or stderr.
 * The quoting is the only defence against log injection from peer data:
 * everything that is not a plain token is quoted and escaped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

static struct {
	enum log_level	 level;
	int		 fd;		/* log file, -1 if none */
	char		*path;
	int		 to_stderr;
	int		 to_syslog;
} sink = { LOG_LVL_INFO, -1, NULL, 1, 0 };

/* A limited event kind (see log.h). */
struct limit {
	char			*module;
	char			*event;
	enum log_level		 min_level;
	double			 start;		/* this interval's start */
	unsigned long		 seen;		/* events in this interval */
	unsigned long		 dropped;	/* of which not written */
	unsigned long long	 total;
	unsigned long long	 suppressed;
};

static struct {
	struct limit	*v;
	size_t		 n;
	unsigned int	 burst;
	unsigned int	 interval;
	double		(*now)(void);
} limits = { NULL, 0, LOG_LIMIT_BURST, LOG_LIMIT_INTERVAL, NULL };
/*
 * The counters may be touched from more than one thread (DESIGN.md
 * decision 18 lets TLS handshakes run on workers); the registry itself is
 * filled once at start, before any thread.
 */
static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;

static struct limit	*limit_find(enum log_level, const char *, const char *);
static int		 limit_pass(struct limit *);

/*
 * Batching (log.h): while the loop runs, finished lines wait here, in
 * order, until log_flush() writes them with one write(2) per sink.
 */
static struct {
	int		 on;
	pthread_t	 owner;		/* the loop's thread */
	void		(*kick)(void *);
	void		*arg;
	size_t		 len;
	char		 buf[LOG_BATCH_MAX];
} batch;
static pthread_mutex_t batch_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	"debug", "info", "notice", "warn", "error"
};

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level lvl)
{
	if ((unsigned)lvl >= sizeof level_names / sizeof level_names[0])
		return "?";
	return level_names[lvl];
}

static int
open_file(const char *path, char **cause)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd == -1 && cause != NULL)
		*cause = xasprintf("cannot open log file %s: %s", path,
		    strerror(errno));
	return fd;
}

int
log_configure(const char *file, int to_stderr, int to_syslog, int facility,
    enum log_level level, char **cause)
{
	int fd = -1;

	log_flush();	/* what is waiting goes to the sinks it was for */
	if (file != NULL && (fd = open_file(file, cause)) == -1)
		return -1;
	if (sink.fd != -1)
		close(sink.fd);
	free(sink.path);
	sink.fd = fd;
	sink.path = file != NULL ? xstrdup(file) : NULL;
	sink.to_stderr = to_stderr;
	if (sink.to_syslog)
		closelog();
	sink.to_syslog = to_syslog;
	if (to_syslog)
		openlog("sipedged", LOG_PID | LOG_NDELAY, facility);
	sink.level = level;
	return 0;
}

int
log_reopen(char **cause)
{
	int fd;

	log_flush();	/* into the file that was rotated away */
	if (sink.path == NULL)
		return 0;
	if ((fd = open_file(sink.path, cause)) == -1)
		return -1;
	if (sink.fd != -1)
		close(sink.fd);
	sink.fd = fd;
	return 1;
}

void
log_close(void)
{
	log_flush();
	if (sink.fd != -1)
		close(sink.fd);
	sink.fd = -1;
	free(sink.path);
	sink.path = NULL;
	if (sink.to_syslog)
		closelog();
	sink.to_syslog = 0;
}

int
log_enabled(enum log_level lvl)
{
	return lvl >= sink.level;
}

/*
 * Format a timestamp as 2026-11-26T17:00:00.123Z into buf (>= 25 bytes).
 * The part up to the seconds is made once a second (per thread: lines
 * come from the loop and from worker threads).
 */
static void
log_timestamp(char *buf, size_t bufsz)
{
	static __thread time_t last_sec = (time_t)-1;
	static __thread char last[64];		/* "2026-11-26T17:00:00." */
	struct timeval tv;
	struct tm tm;
	int ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != last_sec || bufsz < 25) {
		gmtime_r(&tv.tv_sec, &tm);
		if (snprintf(last, sizeof last, "%04d-%02d-%02dT%02d:%02d:%02d.",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec) != 20 || bufsz < 25) {
			/* A year past 9999: the general form. */
			last_sec = (time_t)-1;
			snprintf(buf, bufsz, "%s%03dZ", last,
			    (int)(tv.tv_usec / 1000));
			return;
		}
		last_sec = tv.tv_sec;
	}
	ms = (int)(tv.tv_usec / 1000);
	memcpy(buf, last, 20);
	buf[20] = (char)('0' + ms / 100);
	buf[21] = (char)('0' + ms / 10 % 10);
	buf[22] = (char)('0' + ms % 10);
	buf[23] = 'Z';
	buf[24] = '\0';
}

/*
 * Each byte's class: PLAIN goes into a value as it is, quoted or not
 * (0x20-0x7e but '"' and '\\'); BARE may stand in an unquoted value
 * (PLAIN but space and '=').
 */
#define PLAIN	1
#define BARE	2
static const unsigned char byte_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 3, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* A byte that goes into a value as it is, quoted or not. */
static int
is_plain(unsigned char c)
{
	return byte_class[c] & PLAIN;
}

/* 1 when the value may go unquoted: not empty, plain, no space or '='. */
static int
is_bare(const unsigned char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!(byte_class[p[i]] & BARE))
			return 0;
	return 1;
}

/*
 * Quote into dst.  Pieces (a byte, an escape, a UTF-8 sequence) are written
 * whole or not at all, and room is kept for the closing quote, so a cut
 * value is still well formed.  Returns the length the whole value needs;
 * *wrotep (when not NULL) is the length written.  A run of plain bytes is
 * copied at once, as many of them as fit.
 */
static size_t
quote_into(char *dst, size_t dstsz, const void *val, size_t len, int force,
    size_t *wrotep)
{
	const unsigned char *p = val;
	size_t out = 0, wrote = 0, i, plen, u, run, fit;
	int full = 0, quoted;
	char esc[5];
	const char *piece;

	quoted = force || !is_bare(p, len);
	if (quoted) {
		if (dstsz > 2)
			dst[wrote++] = '"';
		else
			full = 1;
		out++;
	}
	for (i = 0; i < len; i += plen) {
		if (is_plain(p[i])) {
			for (run = 1; i + run < len && is_plain(p[i + run]);
			    run++)
				;
			plen = run;
			out += run;
			if (full)
				continue;
			/* byte j goes in while wrote + j + 1 + quoted < dstsz */
			fit = wrote + (size_t)quoted + 1 < dstsz ?
			    dstsz - wrote - (size_t)quoted - 1 : 0;
			if (fit < run)
				full = 1;
			else
				fit = run;
			memcpy(dst + wrote, p + i, fit);
			wrote += fit;
			continue;
		}
		plen = 1;
		piece = esc;
		switch (p[i]) {
		case '"':  piece = "\\\""; break;
		case '\\': piece = "\\\\"; break;
		case '\n': piece = "\\n"; break;
		case '\r': piece = "\\r"; break;
		case '\t': piece = "\\t"; break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f ||
			    (u = str_utf8_len(p + i, len - i)) == 0)
				snprintf(esc, sizeof esc, "\\x%02x", p[i]);
			else {
				memcpy(esc, p + i, u);
				esc[u] = '\0';
				plen = u;
			}
		}
		u = strlen(piece);
		out += u;
		if (!full && wrote + u + (size_t)quoted < dstsz)
			memcpy(dst + wrote, piece, u), wrote += u;
		else
			full = 1;
	}
	if (quoted) {
		if (wrote + 1 < dstsz)
			dst[wrote++] = '"';
		out++;
	}
	if (dstsz > 0)
		dst[wrote] = '\0';
	if (wrotep != NULL)
		*wrotep = wrote;
	return out;
}

/* quote_into() without the length written. */
static size_t
quote_value(char *dst, size_t dstsz, const void *val, size_t len, int force)
{
	return quote_into(dst, dstsz, val, len, force, NULL);
}

size_t
log_quote(char *dst, size_t dstsz, const void *val, size_t len)
{
	return quote_value(dst, dstsz, val, len, 0);
}

static void
append(struct log_line *l, const char *s, size_t n)
{
	size_t room = sizeof l->buf - 1 - l->len;

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void
append_kv(struct log_line *l, const char *key, const void *val, size_t len,
    int force)
{
	size_t klen = strlen(key), room, wrote;

	/* Quote into exactly the room left, so a cut value stays well formed. */
	if (l->len + klen + 4 >= sizeof l->buf)
		return;
	room = sizeof l->buf - 1 - l->len - klen - 2;
	append(l, " ", 1);
	append(l, key, klen);
	append(l, "=", 1);
	(void)quote_into(l->buf + l->len, room + 1, val, len, force, &wrote);
	l->len += wrote;
}

void
log_kvn(struct log_line *l, const char *key, const void *val, size_t len)
{
	if (l->enabled)
		append_kv(l, key, val, len, 0);
}

void
log_begin(struct log_line *l, enum log_level lvl, const char *module,
    const char *event)
{
	char ts[96];	/* 25 used; room for what snprintf could write */
	struct limit *lim;

	l->level = lvl;
	l->len = 0;
	l->buf[0] = '\0';
	l->enabled = log_enabled(lvl);
	if ((lim = limit_find(lvl, module, event)) != NULL &&
	    !limit_pass(lim))
		l->enabled = 0;
	if (!l->enabled)
		return;
	log_timestamp(ts, sizeof ts);
	append(l, "ts=", 3);
	append(l, ts, strlen(ts));
	append(l, " level=", 7);
	append(l, log_level_name(lvl), strlen(log_level_name(lvl)));
	append(l, " module=", 8);
	append(l, module, strlen(module));
	/* event is always quoted, so that grep 'event="x"' is reliable. */
	append_kv(l, "event", event, strlen(event), 1);
}

void
log_kvs(struct log_line *l, const char *key, const char *val)
{
	if (val == NULL)
		val = "";
	log_kvn(l, key, val, strlen(val));
}

void
log_kv(struct log_line *l, const char *key, const char *fmt, ...)
{
	char v[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (!l->enabled)
		return;
	va_start(ap, fmt);
	n = vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	log_kvn(l, key, v, (size_t)n < sizeof v ? (size_t)n : sizeof v - 1);
}

static int
syslog_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:	return LOG_DEBUG;
	case LOG_LVL_INFO:	return LOG_INFO;
	case LOG_LVL_NOTICE:	return LOG_NOTICE;
	case LOG_LVL_WARN:	return LOG_WARNING;
	default:		return LOG_ERR;
	}
}

static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Write s to the file and stderr sinks, whichever are on. */
static void
write_sinks(const char *s, size_t n)
{
	if (sink.fd != -1)
		write_all(sink.fd, s, n);
	if (sink.to_stderr)
		write_all(STDERR_FILENO, s, n);
}

/* Write out the batch; batch_mu held. */
static void
batch_flush_locked(void)
{
	if (batch.len > 0)
		write_sinks(batch.buf, batch.len);
	batch.len = 0;
}

/*
 * Queue one finished line (with its newline) or write it now: now when
 * batching is off, for errors, and from a thread that is not the loop's
 * (after what is queued, so that the order holds).  Kicks the loop when
 * the batch goes non-empty.
 */
static void
batch_put(const struct log_line *l)
{
	int kick = 0;

	pthread_mutex_lock(&batch_mu);
	if (!batch.on || l->level >= LOG_LVL_ERROR ||
	    !pthread_equal(pthread_self(), batch.owner)) {
		batch_flush_locked();
		write_sinks(l->buf, l->len);
	} else {
		if (batch.len + l->len > sizeof batch.buf)
			batch_flush_locked();
		kick = batch.len == 0;
		memcpy(batch.buf + batch.len, l->buf, l->len);
		batch.len += l->len;
	}
	pthread_mutex_unlock(&batch_mu);
	if (kick)
		batch.kick(batch.arg);
}

/* Write the batch now (log.h). */
void
log_flush(void)
{
	pthread_mutex_lock(&batch_mu);
	batch_flush_locked();
	pthread_mutex_unlock(&batch_mu);
}

/* At exit(): nothing queued is lost. */
static void
batch_atexit(void)
{
	log_flush();
}

/* Batch from now on, in this thread; kick when it goes non-empty. */
void
log_batch_start(void (*kick)(void *), void *arg)
{
	static int registered;

	log_flush();
	if (!registered && atexit(batch_atexit) == 0)
		registered = 1;
	pthread_mutex_lock(&batch_mu);
	batch.kick = kick;
	batch.arg = arg;
	batch.owner = pthread_self();
	batch.on = kick != NULL;
	pthread_mutex_unlock(&batch_mu);
}

/* Write the batch and go back to a write per line. */
void
log_batch_stop(void)
{
	pthread_mutex_lock(&batch_mu);
	batch_flush_locked();
	batch.on = 0;
	batch.kick = NULL;
	batch.arg = NULL;
	pthread_mutex_unlock(&batch_mu);
}

void
log_end(struct log_line *l)
{
	const char *body;

	if (!l->enabled)
		return;
	if (sink.to_syslog) {
		/* syslog stamps its own time; skip our ts= field. */
		body = strchr(l->buf, ' ');
		syslog(syslog_prio(l->level), "%s", body ? body + 1 : l->buf);
	}
	if (l->len < sizeof l->buf - 1)
		l->buf[l->len++] = '\n';
	else
		l->buf[l->len - 1] = '\n';
	if (sink.fd != -1 || sink.to_stderr)
		batch_put(l);
}

/* --- rate limiting ------------------------------------------------- */

/* Seconds on the monotonic clock. */
static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
limit_now(void)
{
	return limits.now != NULL ? limits.now() : mono_now();
}

void
log_limit_register(const char *module, const char *event,
    enum log_level min_level)
{
	struct limit *k;
	size_t i;

	if (strcmp(event, "similar events suppressed") == 0)
		return;		/* written under the lock: never limited */
	for (i = 0; i < limits.n; i++)
		if (strcmp(limits.v[i].module, module) == 0 &&
		    strcmp(limits.v[i].event, event) == 0) {
			limits.v[i].min_level = min_level;
			return;
		}
	limits.v = xreallocarray(limits.v, limits.n + 1, sizeof *limits.v);
	k = &limits.v[limits.n++];
	memset(k, 0, sizeof *k);
	k->module = xstrdup(module);
	k->event = xstrdup(event);
	k->min_level = min_level;
}

void
log_limit_configure(unsigned int burst, unsigned int interval)
{
	pthread_mutex_lock(&limit_mu);
	limits.burst = burst;
	limits.interval = interval > 0 ? interval : 1;
	pthread_mutex_unlock(&limit_mu);
}

void
log_limit_set_clock(double (*now)(void))
{
	limits.now = now;
}

void
log_limit_reset(void)
{
	size_t i;

	for (i = 0; i < limits.n; i++) {
		free(limits.v[i].module);
		free(limits.v[i].event);
	}
	free(limits.v);
	limits.v = NULL;
	limits.n = 0;
}

void
log_limit_walk(void (*fn)(const struct log_limit_info *, void *), void *arg)
{
	struct log_limit_info info;
	size_t i;

	for (i = 0; i < limits.n; i++) {
		info.module = limits.v[i].module;
		info.event = limits.v[i].event;
		pthread_mutex_lock(&limit_mu);
		info.total = limits.v[i].total;
		info.suppressed = limits.v[i].suppressed;
		pthread_mutex_unlock(&limit_mu);
		fn(&info, arg);
	}
}

/* The limited kind of this event, or NULL (found by name: few kinds). */
static struct limit *
limit_find(enum log_level lvl, const char *module, const char *event)
{
	size_t i;

	for (i = 0; i < limits.n; i++)
		if (lvl >= limits.v[i].min_level &&
		    strcmp(limits.v[i].event, event) == 0 &&
		    strcmp(limits.v[i].module, module) == 0)
			return &limits.v[i];
	return NULL;
}

/*
 * End k's interval: one line for what it dropped (never itself limited:
 * the event name is not a registered kind), then a fresh interval.
 */
static void
limit_close(struct limit *k, double now)
{
	struct log_line l;

	if (k->dropped > 0) {
		log_begin(&l, LOG_LVL_WARN, k->module,
		    "similar events suppressed");
		log_kvs(&l, "kind", k->event);
		log_kv(&l, "suppressed", "%lu", k->dropped);
		log_kv(&l, "logged", "%lu", k->seen - k->dropped);
		log_kv(&l, "interval", "%u", limits.interval);
		log_kv(&l, "total", "%llu", k->total);
		log_end(&l);
	}
	k->start = now;
	k->seen = 0;
	k->dropped = 0;
}

/* Count one event of k: 1 to write it, 0 to drop it. */
static int
limit_pass(struct limit *k)
{
	double now = limit_now();
	int pass = 1;

	pthread_mutex_lock(&limit_mu);
	if (limits.burst == 0)
		k->total++;
	else {
		if (k->seen == 0 || now - k->start >= limits.interval ||
		    now < k->start)
			limit_close(k, now);
		k->total++;
		if (++k->seen > limits.burst) {
			k->dropped++;
			k->suppressed++;
			pass = 0;
		}
	}
	pthread_mutex_unlock(&limit_mu);
	return pass;
}

/* Close the interval of every kind with drops: all, or those that ended. */
static void
flush(int all)
{
	double now = limit_now();
	size_t i;

	pthread_mutex_lock(&limit_mu);
	for (i = 0; i < limits.n; i++)
		if (limits.v[i].dropped > 0 && (all ||
		    now - limits.v[i].start >= limits.interval))
			limit_close(&limits.v[i], now);
	pthread_mutex_unlock(&limit_mu);
}

void
log_flush_suppressed(void)
{
	flush(0);
}

void
log_flush_suppressed_all(void)
{
	flush(1);
}

void
log_event(enum log_level lvl, const char *module, const char *event, ...)
{
	struct log_line l;
	const char *k, *v;
	va_list ap;
	struct limit *lim;

	if (!log_enabled(lvl)) {
		/* Not written, but a limited kind still counts it. */
		if ((lim = limit_find(lvl, module, event)) != NULL)
			(void)limit_pass(lim);
		return;
	}
	log_begin(&l, lvl, module, event);
	if (!l.enabled)
		return;		/* suppressed */
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		log_kvs(&l, k, v);
	}
	va_end(ap);
	log_end(&l);
}
