/*
 * str.h: small string helpers.
 */
#ifndef SE_STR_H
#define SE_STR_H

#include <stddef.h>
#include <time.h>

/* The value of hex digit c (either case), or -1 when it is not one. */
int		 str_hexval(int c);
/* n random lowercase hex digits into buf (buf holds n + 1 bytes). */
void		 str_random_hex(char *buf, size_t n);

/* t as ISO 8601 UTC ("2026-11-26T17:00:00Z") into buf; returns buf. */
const char	*str_time_iso(time_t t, char *buf, size_t bufsz);
/* The same, allocated (caller frees). */
char		*str_time_iso_dup(time_t t);
/* Parse that form back; 0, or -1 when s is not one. */
int		 str_time_parse_iso(const char *s, time_t *tp);
/*
 * Length of the valid UTF-8 sequence at p (at most n bytes, n > 0), or 0
 * when it is not one (overlong, surrogate, past U+10FFFF, cut short).
 */
size_t		 str_utf8_len(const unsigned char *p, size_t n);
/*
 * The strings given, up to a NULL, one after the other: in buf (bufsz
 * bytes, with the NUL) when they fit, else in a malloc'd buffer.  Free
 * the result when it is not buf.  *lenp (may be NULL) is its length.
 */
char		*str_join(char *buf, size_t bufsz, size_t *lenp, ...)
		    __attribute__((sentinel));
/* v in decimal into buf (at least 24 bytes); returns buf. */
char		*str_int(long long v, char *buf);

#endif
