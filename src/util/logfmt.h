/*
 * logfmt.h: read back the lines that log.c writes (key=value pairs, values
 * bare or double-quoted with \" \\ \n \r \t and \xHH escapes), for tools
 * that filter the event log.  Pure: no files, no clock.  A line cut at
 * LOG_LINE_MAX (an unterminated quote) still parses up to its end.
 */
#ifndef SE_LOGFMT_H
#define SE_LOGFMT_H

#include <stddef.h>

struct logfmt_field {
	char		*key;
	char		*val;		/* unescaped, NUL-terminated */
	size_t		 vlen;		/* it may hold NULs: its length */
};

struct logfmt {
	struct logfmt_field	*v;
	size_t			 n;
};

/*
 * Parse len bytes of line (no newline) into lf, which is cleared first.
 * Returns 0, or -1 when the line is not logfmt (a word without '=', an
 * empty key); lf then holds nothing.  Free with logfmt_clear().
 */
int		 logfmt_parse(const char *line, size_t len, struct logfmt *lf);
void		 logfmt_clear(struct logfmt *lf);
/*
 * A time for filtering the log, in milliseconds since the epoch, into
 * *ms: ISO 8601 UTC as the log writes it (2026-11-26T17:00:00.123Z) or
 * shorter (2026-11-26T17:00:00Z, 2026-11-26T17:00Z, 2026-11-26; the Z may
 * be left out, the time is UTC all the same), or a time before now_ms
 * written N followed by s, m, h or d ("10m", "2h").  0, or -1 when s is
 * neither.
 */
int		 logfmt_time(const char *s, long long now_ms, long long *ms);

/* The first field named key, or NULL. */
const struct logfmt_field *logfmt_get(const struct logfmt *lf,
		    const char *key);

#endif
