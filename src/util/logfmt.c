/*
 * logfmt.c: the reader of logfmt lines (logfmt.h), the inverse of the
 * quoting in log.c.  It must not trust the line: garbage gives -1 or
 * odd fields, never a read past the end.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/logfmt.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Add key (klen bytes) with its value to lf. */
static struct logfmt_field *
add_field(struct logfmt *lf, const char *key, size_t klen, size_t vmax)
{
	struct logfmt_field *f;

	lf->v = xreallocarray(lf->v, lf->n + 1, sizeof *lf->v);
	f = &lf->v[lf->n++];
	f->key = xmalloc(klen + 1);
	memcpy(f->key, key, klen);
	f->key[klen] = '\0';
	f->val = xmalloc(vmax + 1);
	f->vlen = 0;
	f->val[0] = '\0';
	return f;
}

int
logfmt_parse(const char *line, size_t len, struct logfmt *lf)
{
	struct logfmt_field *f;
	size_t i = 0, k, kstart;
	int h1, h2;

	logfmt_clear(lf);
	while (i < len) {
		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		kstart = i;
		while (i < len && line[i] != '=' && line[i] != ' ')
			i++;
		if (i == len || line[i] != '=' || i == kstart)
			goto bad;
		f = add_field(lf, line + kstart, i - kstart, len - i);
		i++;	/* '=' */
		if (i < len && line[i] == '"') {
			for (i++; i < len && line[i] != '"'; i++) {
				if (line[i] != '\\' || i + 1 == len) {
					f->val[f->vlen++] = line[i];
					continue;
				}
				switch (line[++i]) {
				case 'n': f->val[f->vlen++] = '\n'; break;
				case 'r': f->val[f->vlen++] = '\r'; break;
				case 't': f->val[f->vlen++] = '\t'; break;
				case 'x':
					if (i + 2 < len &&
					    (h1 = str_hexval(line[i + 1])) >= 0 &&
					    (h2 = str_hexval(line[i + 2])) >= 0) {
						f->val[f->vlen++] =
						    (char)(h1 * 16 + h2);
						i += 2;
					} else
						f->val[f->vlen++] = 'x';
					break;
				default:	/* \" \\ and anything else */
					f->val[f->vlen++] = line[i];
				}
			}
			if (i < len)
				i++;	/* the closing quote */
		} else {
			for (k = i; i < len && line[i] != ' '; i++)
				;
			memcpy(f->val, line + k, i - k);
			f->vlen = i - k;
		}
		f->val[f->vlen] = '\0';
	}
	return 0;
bad:
	logfmt_clear(lf);
	return -1;
}

void
logfmt_clear(struct logfmt *lf)
{
	size_t i;

	for (i = 0; i < lf->n; i++) {
		free(lf->v[i].key);
		free(lf->v[i].val);
	}
	free(lf->v);
	lf->v = NULL;
	lf->n = 0;
}

/* n digits at *p into *v; advances *p.  -1 when they are not digits. */
static int
digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

int
logfmt_time(const char *s, long long now_ms, long long *ms)
{
	const char *p = s;
	struct tm tm;
	long long n = 0, unit, frac = 0, scale = 100;
	int y, mo, dd, h = 0, mi = 0, sec = 0;
	char *end;

	/* Relative: N and a unit. */
	if (isdigit((unsigned char)*s) && strchr(s, '-') == NULL) {
		n = strtoll(s, &end, 10);
		if (end == s || end[0] == '\0' || end[1] != '\0' || n < 0 ||
		    n > 100LL * 365 * 86400)
			return -1;
		switch (*end) {
		case 's': unit = 1000; break;
		case 'm': unit = 60 * 1000; break;
		case 'h': unit = 3600 * 1000; break;
		case 'd': unit = 86400 * 1000; break;
		default: return -1;
		}
		*ms = now_ms - n * unit;
		return 0;
	}
	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &dd) == -1)
		return -1;
	if (*p == 'T') {
		p++;
		if (digits(&p, 2, &h) == -1 || *p++ != ':' ||
		    digits(&p, 2, &mi) == -1)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) == -1)
				return -1;
			if (*p == '.') {
				for (p++; isdigit((unsigned char)*p); p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
				if (p[-1] == '.')
					return -1;
			}
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0' || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = dd;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = (long long)timegm(&tm) * 1000 + frac;
	return 0;
}

const struct logfmt_field *
logfmt_get(const struct logfmt *lf, const char *key)
{
	size_t i;

	for (i = 0; i < lf->n; i++)
		if (strcmp(lf->v[i].key, key) == 0)
			return &lf->v[i];
	return NULL;
}
