/*
 * log.h: the event log.  One line per event in logfmt:
 *   ts=2026-11-26T17:00:00.123Z level=warn module=tls event="handshake failed" peer=...
 * Every value is quoted and escaped as needed, so text from the network
 * (headers, certificate subjects, garbage bytes) can never forge a line.
 * Sinks: a file (reopened on SIGUSR1), syslog, stderr.  Never blocks on the
 * network; a file write is a single write(2) per line.
 */
#ifndef SE_LOG_H
#define SE_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_DEBUG,		/* detail for developers: state changes, messages */
	LOG_LVL_INFO,		/* normal operation: start, listeners, handshakes */
	LOG_LVL_NOTICE,		/* normal but significant: reloads, stops */
	LOG_LVL_WARN,		/* something is wrong but service continues */
	LOG_LVL_ERROR		/* an operation failed */
};

#define LOG_LINE_MAX	4096

/* A line being built; fields are appended with log_kv*. */
struct log_line {
	enum log_level	level;
	int		enabled;	/* 0: level filtered out, appends are no-ops */
	size_t		len;
	char		buf[LOG_LINE_MAX];
};

/* Parse "debug|info|notice|warn|error"; 0 on success, -1 if unknown. */
int		 log_level_parse(const char *s, enum log_level *out);
const char	*log_level_name(enum log_level lvl);

/*
 * Configure the sinks.  file may be NULL (no file); to_stderr and to_syslog
 * are flags; facility is a syslog facility (LOG_DAEMON...).  Returns 0, or
 * -1 with *cause set (caller frees) when the file cannot be opened; the
 * previous sinks are kept in that case.
 */
int		 log_configure(const char *file, int to_stderr, int to_syslog,
		     int facility, enum log_level level, char **cause);
/* Reopen the log file (after rotation): 1 reopened, 0 no log file, -1
 * with *cause. */
int		 log_reopen(char **cause);
void		 log_close(void);
int		 log_enabled(enum log_level lvl);

void		 log_begin(struct log_line *l, enum log_level lvl,
		     const char *module, const char *event);
/* Append key=value, value formatted by fmt, quoted as needed. */
void		 log_kv(struct log_line *l, const char *key, const char *fmt, ...)
		     __attribute__((format(printf, 3, 4)));
/* Append key=value for a NUL-terminated string (NULL shows as ""). */
void		 log_kvs(struct log_line *l, const char *key, const char *val);
/* Append key=value for len raw bytes (may hold NULs or non-UTF-8). */
void		 log_kvn(struct log_line *l, const char *key, const void *val,
		     size_t len);
void		 log_end(struct log_line *l);

/*
 * Batching.  Without it (the default, the tools) every line is written
 * at once.  With it, lines for the file and stderr sinks wait, in order,
 * in a buffer of LOG_BATCH_MAX bytes until log_flush(); kick(arg) is
 * called each time the buffer goes from empty to non-empty, and must
 * make the owner's loop call log_flush() once the current callbacks
 * have run (util/ owns no loop).  The buffer is also written when full,
 * before any error line (which is written at once), before the sinks
 * change (log_configure, log_reopen, log_close), at log_batch_stop()
 * and at exit().  Lines from another thread than the one that started
 * batching are written at once, after what is queued.  syslog is never
 * batched.
 */
#define LOG_BATCH_MAX	(64 * 1024)
void		 log_batch_start(void (*kick)(void *), void *arg);
/* Write what is queued and go back to one write per line. */
void		 log_batch_stop(void);
/* Write what is queued now. */
void		 log_flush(void);

/*
 * One event with string fields: log_event(LOG_LVL_INFO, "net", "listener open",
 * "transport", "tls", "port", "5061", NULL).
 */
void		 log_event(enum log_level lvl, const char *module,
		     const char *event, ...) __attribute__((sentinel));

/*
 * Quote one value for logfmt into dst (always NUL-terminated when dstsz > 0).
 * Bare when it is non-empty printable ASCII without space, '"', '=' or '\';
 * otherwise in double quotes with \" \\ \n \r \t and \xHH for control bytes
 * and bytes that are not valid UTF-8.  Returns the length it needed (like
 * snprintf), so a result >= dstsz means it was cut.
 */
size_t		 log_quote(char *dst, size_t dstsz, const void *val, size_t len);

/*
 * Rate limiting (DESIGN.md decision 15).  Events that unauthenticated
 * input can trigger at will (a bad datagram, a failed handshake, a
 * refused peer) are registered as limited kinds at daemon start, by
 * module and event name, at or above a level; call sites do not change.
 * Of each kind, the first `burst` events of an interval of `interval`
 * seconds are written; the rest of that interval are counted and
 * dropped, and once it is over one line
 *   module=M event="similar events suppressed" kind="E" suppressed=N
 *   logged=B interval=S total=T
 * says how many (written by log_flush_suppressed(), which the daemon calls
 * every second and at exit, or by the kind's next event).  The counts are
 * true totals whatever was written.  util/ owns no loop: the caller drives
 * the flush.
 */
#define LOG_LIMIT_BURST		10	/* events written per interval */
#define LOG_LIMIT_INTERVAL	1	/* s */

/*
 * Limit the events (module, event) at level min_level or above.  The
 * strings are copied; registering a kind twice updates its level.
 */
void		 log_limit_register(const char *module, const char *event,
		     enum log_level min_level);
/* burst events per interval seconds; burst 0 turns limiting off. */
void		 log_limit_configure(unsigned int burst, unsigned int interval);
/* Write the summary line of every kind whose interval is over. */
void		 log_flush_suppressed(void);
/* At exit: flush every pending summary now (interval over or not). */
void		 log_flush_suppressed_all(void);
/* The counters of one limited kind. */
struct log_limit_info {
	const char		*module;
	const char		*event;
	unsigned long long	 total;		/* every event of the kind */
	unsigned long long	 suppressed;	/* of which not written */
};
void		 log_limit_walk(void (*fn)(const struct log_limit_info *,
		     void *), void *arg);
/* Forget every kind (at exit; also for tests). */
void		 log_limit_reset(void);
/*
 * The clock of the intervals, in seconds (monotonic by default); tests
 * set their own.  NULL restores the default.
 */
void		 log_limit_set_clock(double (*now)(void));

#endif
