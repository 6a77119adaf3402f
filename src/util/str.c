/*
 * str.c: small string helpers.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "util/rnd.h"
#include "util/str.h"
#include "util/xmalloc.h"

int
str_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
str_join(char *buf, size_t bufsz, size_t *lenp, ...)
{
	va_list ap;
	const char *s;
	size_t n = 0, l;
	char *out;

	va_start(ap, lenp);
	while ((s = va_arg(ap, const char *)) != NULL)
		n += strlen(s);
	va_end(ap);
	out = n < bufsz ? buf : xmalloc(n + 1);
	n = 0;
	va_start(ap, lenp);
	while ((s = va_arg(ap, const char *)) != NULL) {
		l = strlen(s);
		memcpy(out + n, s, l);
		n += l;
	}
	va_end(ap);
	out[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return out;
}

char *
str_int(long long v, char *buf)
{
	char t[24];
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v :
	    (unsigned long long)v;
	size_t i = sizeof t, o = 0;

	do
		t[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		buf[o++] = '-';
	memcpy(buf + o, t + i, sizeof t - i);
	buf[o + sizeof t - i] = '\0';
	return buf;
}

void
str_random_hex(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[64];
	size_t i, want = (n + 1) / 2;

	if (want > sizeof r)
		want = sizeof r;
	rnd_bytes(r, want);	/* no system call per tag (rnd.h) */
	for (i = 0; i < n && i / 2 < want; i++)
		buf[i] = hex[(r[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	buf[i] = '\0';
}

const char *
str_time_iso(time_t t, char *buf, size_t bufsz)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && bufsz > 0)
		buf[0] = '\0';
	return buf;
}

char *
str_time_iso_dup(time_t t)
{
	char buf[32];

	return xstrdup(str_time_iso(t, buf, sizeof buf));
}

int
str_time_parse_iso(const char *s, time_t *tp)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof tm);
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) ==
	    NULL || *end != '\0')
		return -1;
	*tp = timegm(&tm);
	return 0;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
size_t
str_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}
