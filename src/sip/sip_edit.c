/*
 * sip_edit.c: line edits on the text of a SIP message.  The head is held
 * as an array of lines, each pointing into the message or into a buffer
 * of its own once edited; the empty line and the body are copied as they
 * are when the output is made.  Must not parse header values beyond
 * finding commas between values: decisions are made on the parsed
 * message elsewhere.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip/sip_edit.h"
#include "util/xmalloc.h"

struct line {
	const char	*p;	/* the line with its line end (CRLF or LF) */
	size_t		 n;
	char		*own;	/* p's buffer when the line was made here */
};

/*
 * An edit is made and freed for every message relayed, so its first
 * EDIT_LINES lines and the first EDIT_ARENA bytes of the lines it makes
 * live inside it: one malloc for the usual message instead of one per
 * line made, plus the array's growth.
 */
#define EDIT_LINES	32
#define EDIT_ARENA	1024

struct sip_edit {
	const char	*msg;
	size_t		 len;
	struct line	 start;
	struct line	*h;	/* header lines, in order: hbuf or malloc'd */
	size_t		 nh;
	size_t		 cap;
	size_t		 tail;	/* offset of the empty line */
	size_t		 used;	/* bytes of arena handed out */
	struct line	 hbuf[EDIT_LINES];
	char		 arena[EDIT_ARENA];
};

/* RFC 3261 s.7.3.3 and the registered compact forms. */
static const char *const compact[][2] = {
	{ "a", "Accept-Contact" },	{ "b", "Referred-By" },
	{ "c", "Content-Type" },	{ "d", "Request-Disposition" },
	{ "e", "Content-Encoding" },	{ "f", "From" },
	{ "i", "Call-ID" },		{ "j", "Reject-Contact" },
	{ "k", "Supported" },		{ "l", "Content-Length" },
	{ "m", "Contact" },		{ "n", "Identity-Info" },
	{ "o", "Event" },		{ "r", "Refer-To" },
	{ "s", "Subject" },		{ "t", "To" },
	{ "u", "Allow-Events" },	{ "v", "Via" },
	{ "x", "Session-Expires" },	{ "y", "Identity" },
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Linear white space inside a (possibly folded) value: SP, HTAB, CR, LF. */
static int
is_lws(char c)
{
	return is_ws(c) || c == '\r' || c == '\n';
}

/* The full name of a header name of n bytes (a compact form expanded). */
static const char *
full_name(const char *name, size_t *n)
{
	size_t i;

	if (*n != 1)
		return name;
	for (i = 0; i < sizeof compact / sizeof compact[0]; i++)
		if (strncasecmp(name, compact[i][0], 1) == 0) {
			*n = strlen(compact[i][1]);
			return compact[i][1];
		}
	return name;
}

/* Bytes of the line end of l (2 for CRLF, 1 for LF). */
static size_t
eol_len(const struct line *l)
{
	if (l->n >= 2 && l->p[l->n - 2] == '\r' && l->p[l->n - 1] == '\n')
		return 2;
	if (l->n >= 1 && l->p[l->n - 1] == '\n')
		return 1;
	return 0;
}

/* The name of header line l (before the colon, white space trimmed). */
static const char *
line_name(const struct line *l, size_t *n)
{
	const char *colon = memchr(l->p, ':', l->n);
	size_t k;

	if (colon == NULL) {
		*n = 0;
		return l->p;
	}
	k = (size_t)(colon - l->p);
	while (k > 0 && is_ws(l->p[k - 1]))
		k--;
	*n = k;
	return l->p;
}

/* Is l a line of header want? */
static int
line_is(const struct line *l, const char *want)
{
	size_t n, wn = strlen(want);
	const char *name = line_name(l, &n);

	if (n == 0)
		return 0;
	name = full_name(name, &n);
	want = full_name(want, &wn);
	return n == wn && strncasecmp(name, want, n) == 0;
}

/*
 * Where the value of l starts (after the colon and any white space,
 * folding included) and ends (before trailing white space and the line
 * end), as offsets.
 */
static void
line_value(const struct line *l, size_t *vs, size_t *ve)
{
	const char *colon = memchr(l->p, ':', l->n);
	size_t s = colon != NULL ? (size_t)(colon - l->p) + 1 : l->n;
	size_t e = l->n - eol_len(l);

	while (s < e && is_lws(l->p[s]))
		s++;
	while (e > s && is_lws(l->p[e - 1]))
		e--;
	*vs = s;
	*ve = e;
}

/* The bytes top_comma() looks at; it steps over the others. */
static const unsigned char comma_special[256] = {
	['\\'] = 1, ['"'] = 1, ['<'] = 1, ['>'] = 1, [','] = 1
};

/*
 * The offset of the first comma of p[from, to) outside quoted strings and
 * <...>, or to when there is none.
 */
static size_t
top_comma(const char *p, size_t from, size_t to)
{
	int quoted = 0, angle = 0;
	size_t i;

	for (i = from; i < to; i++) {
		if (!comma_special[(unsigned char)p[i]])
			continue;
		if (quoted) {
			if (p[i] == '\\' && i + 1 < to)
				i++;
			else if (p[i] == '"')
				quoted = 0;
		} else if (angle) {
			if (p[i] == '>')
				angle = 0;
		} else if (p[i] == '"')
			quoted = 1;
		else if (p[i] == '<')
			angle = 1;
		else if (p[i] == ',')
			return i;
	}
	return to;
}

/* The offset of the last top-level comma of p[from, to), or to. */
static size_t
last_comma(const char *p, size_t from, size_t to)
{
	size_t c, last = to;

	while ((c = top_comma(p, from, to)) < to) {
		last = c;
		from = c + 1;
	}
	return last;
}

/*
 * n bytes for a line made in e: from e's arena while it lasts (they go
 * with e), else malloc'd and returned in *own as well.
 */
static char *
line_buf(struct sip_edit *e, size_t n, char **own)
{
	char *s;

	if (n <= sizeof e->arena - e->used) {
		s = e->arena + e->used;
		e->used += n;
		*own = NULL;
		return s;
	}
	return *own = xmalloc(n);
}

/* Set l to the concatenation of three pieces (which may point into l). */
static void
line_set(struct sip_edit *e, struct line *l, const char *a, size_t an,
    const char *b, size_t bn, const char *c, size_t cn)
{
	char *own, *s = line_buf(e, an + bn + cn + 1, &own);

	memcpy(s, a, an);
	memcpy(s + an, b, bn);
	memcpy(s + an + bn, c, cn);
	s[an + bn + cn] = '\0';
	free(l->own);
	l->own = own;
	l->p = s;
	l->n = an + bn + cn;
}

/* A line made in e from text without its CRLF. */
static struct line
line_new(struct sip_edit *e, const char *text)
{
	struct line l = { NULL, 0, NULL };

	line_set(e, &l, text, strlen(text), "\r\n", 2, "", 0);
	return l;
}

static void
insert_at(struct sip_edit *e, size_t i, struct line l)
{
	struct line *h;

	if (e->nh == e->cap) {
		if (e->h == e->hbuf) {
			h = xreallocarray(NULL, e->cap * 2, sizeof *h);
			memcpy(h, e->hbuf, e->nh * sizeof *h);
		} else
			h = xreallocarray(e->h, e->cap * 2, sizeof *h);
		e->h = h;
		e->cap *= 2;
	}
	memmove(e->h + i + 1, e->h + i, (e->nh - i) * sizeof *e->h);
	e->h[i] = l;
	e->nh++;
}

static void
remove_at(struct sip_edit *e, size_t i)
{
	free(e->h[i].own);
	memmove(e->h + i, e->h + i + 1, (e->nh - i - 1) * sizeof *e->h);
	e->nh--;
}

/* The index of the first (or last) line of name, or e->nh. */
static size_t
find(const struct sip_edit *e, const char *name, int last)
{
	size_t i, found = e->nh;

	if (name == NULL)
		return e->nh;
	for (i = 0; i < e->nh; i++)
		if (line_is(&e->h[i], name)) {
			if (!last)
				return i;
			found = i;
		}
	return found;
}

struct sip_edit *
sip_edit_new(const char *msg, size_t len)
{
	struct sip_edit *e;
	const char *p = msg, *end = msg + len, *eol;
	struct line l;

	if ((eol = memchr(p, '\n', len)) == NULL)
		return NULL;
	e = xmalloc(sizeof *e);		/* the arrays need no zeros */
	e->msg = msg;
	e->len = len;
	e->start.own = NULL;
	e->h = e->hbuf;
	e->nh = 0;
	e->cap = EDIT_LINES;
	e->tail = 0;
	e->used = 0;
	e->start.p = p;
	e->start.n = (size_t)(eol - p) + 1;
	p = eol + 1;
	for (;;) {
		if (p >= end || (eol = memchr(p, '\n', (size_t)(end - p))) ==
		    NULL)
			goto bad;		/* no empty line */
		if (eol == p || (eol == p + 1 && *p == '\r')) {
			e->tail = (size_t)(p - msg);
			return e;
		}
		if (is_ws(*p)) {		/* a continuation line */
			if (e->nh == 0)
				goto bad;
			e->h[e->nh - 1].n += (size_t)(eol - p) + 1;
		} else {
			l.p = p;
			l.n = (size_t)(eol - p) + 1;
			l.own = NULL;
			insert_at(e, e->nh, l);
		}
		p = eol + 1;
	}
bad:
	sip_edit_free(e);
	return NULL;
}

void
sip_edit_free(struct sip_edit *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nh; i++)
		free(e->h[i].own);
	if (e->h != e->hbuf)
		free(e->h);
	free(e->start.own);
	free(e);
}

void
sip_edit_start_line(struct sip_edit *e, const char *line)
{
	line_set(e, &e->start, line, strlen(line), "\r\n", 2, "", 0);
}

void
sip_edit_insert(struct sip_edit *e, const char *before, const char *line)
{
	size_t i = find(e, before, 0);

	insert_at(e, i < e->nh ? i : 0, line_new(e, line));
}

void
sip_edit_append(struct sip_edit *e, const char *line)
{
	insert_at(e, e->nh, line_new(e, line));
}

size_t
sip_edit_delete(struct sip_edit *e, const char *name)
{
	size_t i = 0, n = 0;

	while (i < e->nh)
		if (line_is(&e->h[i], name)) {
			remove_at(e, i);
			n++;
		} else
			i++;
	return n;
}

void
sip_edit_replace(struct sip_edit *e, const char *name,
    const char *const *lines, size_t n)
{
	size_t i = find(e, name, 0), k;

	if (i == e->nh)
		i = 0;
	sip_edit_delete(e, name);
	for (k = 0; k < n; k++)
		insert_at(e, i + k, line_new(e, lines[k]));
}

size_t
sip_edit_count(const struct sip_edit *e, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < e->nh; i++)
		if (line_is(&e->h[i], name))
			n++;
	return n;
}

const char *
sip_edit_first_value(const struct sip_edit *e, const char *name,
    size_t *lenp)
{
	size_t i = find(e, name, 0), vs, ve, c;
	const struct line *l;

	if (i == e->nh)
		return NULL;
	l = &e->h[i];
	line_value(l, &vs, &ve);
	c = top_comma(l->p, vs, ve);
	while (c > vs && is_lws(l->p[c - 1]))
		c--;
	*lenp = c - vs;
	return l->p + vs;
}

int
sip_edit_remove_first(struct sip_edit *e, const char *name)
{
	size_t i = find(e, name, 0), vs, ve, c, r;
	struct line *l;

	if (i == e->nh)
		return -1;
	l = &e->h[i];
	line_value(l, &vs, &ve);
	c = top_comma(l->p, vs, ve);
	if (c == ve) {
		remove_at(e, i);
		return 0;
	}
	/* The rest begins after the comma and its white space (folds too). */
	for (r = c + 1; r < ve && is_lws(l->p[r]); r++)
		;
	if (r == ve) {			/* "a," : nothing after the comma */
		remove_at(e, i);
		return 0;
	}
	line_set(e, l, l->p, vs, l->p + r, l->n - r, "", 0);
	return 0;
}

int
sip_edit_remove_last(struct sip_edit *e, const char *name)
{
	size_t i = find(e, name, 1), vs, ve, c, eol;
	struct line *l;

	if (i == e->nh)
		return -1;
	l = &e->h[i];
	line_value(l, &vs, &ve);
	c = last_comma(l->p, vs, ve);
	if (c == ve) {
		remove_at(e, i);
		return 0;
	}
	while (c > vs && is_lws(l->p[c - 1]))
		c--;
	if (c == vs) {			/* ", a" : nothing before the comma */
		remove_at(e, i);
		return 0;
	}
	eol = eol_len(l);
	line_set(e, l, l->p, c, l->p + l->n - eol, eol, "", 0);
	return 0;
}

int
sip_edit_replace_first(struct sip_edit *e, const char *name,
    const char *value, size_t len)
{
	size_t i = find(e, name, 0), vs, ve, c;
	struct line *l;

	if (i == e->nh)
		return -1;
	l = &e->h[i];
	line_value(l, &vs, &ve);
	c = top_comma(l->p, vs, ve);
	while (c > vs && is_lws(l->p[c - 1]))
		c--;
	line_set(e, l, l->p, vs, value, len, l->p + c, l->n - c);
	return 0;
}

size_t
sip_edit_body_len(const struct sip_edit *e)
{
	const char *p = e->msg + e->tail;

	/* The empty line is CRLF or LF. */
	return e->len - e->tail - (*p == '\r' ? 2 : 1);
}

char *
sip_edit_output(const struct sip_edit *e, size_t *lenp)
{
	size_t i, n = e->start.n + (e->len - e->tail), off;
	char *s;

	for (i = 0; i < e->nh; i++)
		n += e->h[i].n;
	s = xmalloc(n + 1);
	memcpy(s, e->start.p, e->start.n);
	off = e->start.n;
	for (i = 0; i < e->nh; i++) {
		memcpy(s + off, e->h[i].p, e->h[i].n);
		off += e->h[i].n;
	}
	memcpy(s + off, e->msg + e->tail, e->len - e->tail);
	s[n] = '\0';
	*lenp = n;
	return s;
}
