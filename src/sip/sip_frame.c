/*
 * sip_frame.c: Content-Length framing for SIP over stream transports.
 * The rules: leading CRLFs are ignored (s.7.5) and a CRLFCRLF is a keepalive
 * ping (RFC 5626 s.3.5.1); the header section ends at the first empty line;
 * Content-Length (or its compact form "l") gives the body size.  Anything
 * that does not start like a SIP message is garbage: a stream carrying it
 * cannot be trusted to find the next message boundary.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sip/sip_frame.h"

static enum frame_result	frame_stream(const char *, size_t, size_t,
			    struct frame_scan *, struct frame *);

/* Record an error in f. */
static enum frame_result
fail(struct frame *f, enum frame_error e, const char *reason)
{
	f->error = e;
	f->reason = reason;
	return FRAME_ERROR;
}

/*
 * A start line's bytes must be printable ASCII (and tab), or with utf8
 * also bytes from 0x80 (a status line's reason phrase, s.25).
 */
static int
line_is_text(const char *p, size_t n, int utf8)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f || (c > 0x7f && !utf8))
			return 0;
	}
	return 1;
}

static int
is_token_char(unsigned char c)
{
	return isalnum(c) || strchr("-.!%*_+`'~", c) != NULL;
}

/* "SIP/" digits "." digits */
static int
is_version(const char *p, size_t n)
{
	size_t i = 4;

	if (n < 7 || strncasecmp(p, "SIP/", 4) != 0)
		return 0;
	if (!isdigit((unsigned char)p[i]))
		return 0;
	while (i < n && isdigit((unsigned char)p[i]))
		i++;
	if (i >= n || p[i++] != '.' || i >= n)
		return 0;
	while (i < n && isdigit((unsigned char)p[i]))
		i++;
	return i == n;
}

/*
 * Request-Line (method SP uri SP version) or Status-Line shape.  A
 * reason phrase may hold any text, UTF-8 included (s.25: reason-phrase
 * allows UTF8-NONASCII); the rest of a start line is ASCII.
 */
static int
start_line_ok(const char *p, size_t n)
{
	const char *sp1, *sp2;
	size_t i;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (!line_is_text(p, n, 1))
		return 0;
	sp1 = memchr(p, ' ', n);
	if (sp1 == NULL)
		return 0;
	if (is_version(p, (size_t)(sp1 - p)))	/* status line */
		return n - (size_t)(sp1 - p) >= 4 &&
		    isdigit((unsigned char)sp1[1]) && isdigit((unsigned char)sp1[2]) &&
		    isdigit((unsigned char)sp1[3]);
	if (!line_is_text(p, n, 0))
		return 0;
	for (i = 0; p + i < sp1; i++)
		if (!is_token_char((unsigned char)p[i]))
			return 0;
	if (sp1 == p)
		return 0;
	sp2 = memrchr(p, ' ', n);
	if (sp2 == sp1)
		return 0;
	return is_version(sp2 + 1, n - (size_t)(sp2 + 1 - p));
}

/*
 * Offset just past the empty line ending the headers, or 0 if not there;
 * the search starts at from (the bytes before it were searched already).
 */
static size_t
header_end(const char *p, size_t n, size_t from)
{
	const char *nl;
	size_t i = from > 2 ? from - 2 : 0;

	/* Each line end in p[i..n-1), found by memchr. */
	while (i + 1 < n && (nl = memchr(p + i, '\n', n - 1 - i)) != NULL) {
		i = (size_t)(nl - p);
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')
			return i + 3;
		i++;
	}
	return 0;
}

/*
 * Find Content-Length in the header section p[0..n).  Returns 1 and sets
 * *len when present, 0 when absent, -1 when malformed or conflicting.
 */
static int
content_length(const char *p, size_t n, size_t *len)
{
	const char *line = memchr(p, '\n', n), *end = p + n, *eol, *v;
	size_t nl, val;
	int found = 0;

	while (line != NULL && ++line < end) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			eol = end;
		nl = 0;
		if (eol - line >= 14 && strncasecmp(line, "Content-Length", 14) == 0)
			nl = 14;
		else if (eol - line >= 1 && (line[0] == 'l' || line[0] == 'L') &&
		    (line + 1 == eol || line[1] == ':' || line[1] == ' ' ||
		    line[1] == '\t'))
			nl = 1;
		if (nl > 0) {
			v = line + nl;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v < eol && *v == ':') {
				v++;
				while (v < eol && (*v == ' ' || *v == '\t'))
					v++;
				if (v == eol || !isdigit((unsigned char)*v))
					return -1;
				val = 0;
				while (v < eol && isdigit((unsigned char)*v)) {
					if (val > 100000000)
						return -1;
					val = val * 10 + (size_t)(*v++ - '0');
				}
				while (v < eol && (*v == ' ' || *v == '\t' || *v == '\r'))
					v++;
				if (v != eol)
					return -1;
				if (found && val != *len)
					return -1;
				*len = val;
				found = 1;
			}
		}
		line = eol;
	}
	return found;
}

enum frame_result
sip_frame_stream(const char *buf, size_t len, size_t max, struct frame *f)
{
	return sip_frame_stream_from(buf, len, max, NULL, f);
}

/* Forget where an earlier call stopped; returns r. */
static enum frame_result
scan_done(struct frame_scan *st, enum frame_result r)
{
	if (st != NULL)
		st->resume = st->line_end = 0;
	return r;
}

enum frame_result
sip_frame_stream_from(const char *buf, size_t len, size_t max,
    struct frame_scan *st, struct frame *f)
{
	enum frame_result r = frame_stream(buf, len, max, st, f);

	return r == FRAME_NEED_MORE ? r : scan_done(st, r);
}

static enum frame_result
frame_stream(const char *buf, size_t len, size_t max, struct frame_scan *st,
    struct frame *f)
{
	const char *p, *eol;
	size_t n, cl = 0, linelen, resume, line_end;
	int r;

	memset(f, 0, sizeof *f);
	resume = st != NULL ? st->resume : 0;
	line_end = st != NULL ? st->line_end : 0;
	if (len >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
		f->skip = 4;
		return FRAME_KEEPALIVE;
	}
	while (f->skip < len && (buf[f->skip] == '\r' || buf[f->skip] == '\n'))
		f->skip++;
	if (f->skip == len)
		return FRAME_NEED_MORE;	/* maybe the start of a ping */
	p = buf + f->skip;
	n = len - f->skip;

	/*
	 * Judge the start line as soon as it is complete (or clearly not
	 * text).  An earlier call may have judged it (line_end) or searched
	 * part of it (resume): each byte is looked at once however slowly
	 * the message arrives.
	 */
	if (resume > n)
		resume = line_end = 0;	/* not the same buffer: start over */
	if (line_end == 0) {
		eol = memchr(p + resume, '\n', n - resume);
		linelen = eol ? (size_t)(eol - p) : n;
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;	/* its LF may be in the next read */
		if (linelen > resume && !line_is_text(p + resume,
		    linelen - resume, 1))
			return fail(f, FRAME_GARBAGE, "binary data where a SIP "
			    "start line was expected");
		if (eol != NULL && !start_line_ok(p, (size_t)(eol - p)))
			return fail(f, FRAME_GARBAGE, "not a SIP request or "
			    "status line");
		if (eol == NULL && n > max)
			return fail(f, FRAME_TOO_LARGE, "start line longer than "
			    "the maximum message size");
		if (eol == NULL) {
			if (st != NULL)
				st->resume = linelen;
			return FRAME_NEED_MORE;
		}
		line_end = (size_t)(eol - p) + 1;
		if (resume < line_end - 1)
			resume = line_end - 1;
	}

	f->hdr_len = header_end(p, n > max ? max : n, resume);
	if (f->hdr_len == 0) {
		if (n >= max)
			return fail(f, FRAME_TOO_LARGE, "header section larger "
			    "than the maximum message size");
		if (st != NULL) {
			st->resume = n;
			st->line_end = line_end;
		}
		return FRAME_NEED_MORE;
	}
	r = content_length(p, f->hdr_len, &cl);
	if (r < 0)
		return fail(f, FRAME_BAD_LENGTH, "Content-Length is not a "
		    "number, or appears twice with different values");
	f->has_length = r;
	f->body_len = r ? cl : 0;
	f->total = f->hdr_len + f->body_len;
	if (f->total > max)
		return fail(f, FRAME_TOO_LARGE, "Content-Length makes the message "
		    "larger than the maximum message size");
	if (n < f->total)
		return FRAME_NEED_MORE;
	return FRAME_MESSAGE;
}

enum frame_result
sip_frame_datagram(const char *buf, size_t len, size_t max, struct frame *f)
{
	const char *p;
	size_t n, cl = 0;
	int r;

	memset(f, 0, sizeof *f);
	while (f->skip < len && (buf[f->skip] == '\r' || buf[f->skip] == '\n'))
		f->skip++;
	if (f->skip == len) {
		f->skip = len;
		return FRAME_KEEPALIVE;
	}
	p = buf + f->skip;
	n = len - f->skip;
	if (n > max)
		return fail(f, FRAME_TOO_LARGE, "datagram larger than the "
		    "maximum message size");
	{
		const char *eol = memchr(p, '\n', n);

		if (eol == NULL || !start_line_ok(p, (size_t)(eol - p)))
			return fail(f, FRAME_GARBAGE, "not a SIP request or "
			    "status line");
	}
	f->hdr_len = header_end(p, n, 0);
	if (f->hdr_len == 0)
		return fail(f, FRAME_GARBAGE, "no empty line ends the headers");
	r = content_length(p, f->hdr_len, &cl);
	if (r < 0)
		return fail(f, FRAME_BAD_LENGTH, "Content-Length is not a "
		    "number, or appears twice with different values");
	f->has_length = r;
	if (r && cl > n - f->hdr_len)
		return fail(f, FRAME_SHORT_BODY, "Content-Length is larger than "
		    "the body in the datagram");
	f->body_len = r ? cl : n - f->hdr_len;
	f->total = f->hdr_len + f->body_len;
	return FRAME_MESSAGE;
}
