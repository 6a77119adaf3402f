/*
 * sip_msg.c: parsing with libosip2, and what is checked before it sees a
 * message (the cost of its headers, NUL bytes, zero lengths).  The
 * validation libosip2 lacks is in sip_msg_check.c, the diagnosis of what
 * the parser refused and response building in sip_msg_reply.c.  Peer text
 * reaches a reason only quoted and cut short.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/sip_msg.h"
#include "sip/sip_msg_int.h"
#include "util/mpool.h"
#include "util/str.h"
#include "util/xmalloc.h"

/*
 * Under AddressSanitizer libosip2 keeps malloc and free, so that every
 * block it uses stays visible to the sanitizer (and to the fuzzers).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SIP_MSG_POOL	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SIP_MSG_POOL	0
#endif
#endif
#ifndef SIP_MSG_POOL
#define SIP_MSG_POOL	1
#endif

/* libosip2 would print its own traces on stdout; we log what matters. */
static void
no_trace(const char *fi, int li, osip_trace_level_t level, const char *fmt,
    va_list ap)
{
}

#if SIP_MSG_POOL
/* At exit: the blocks the cache keeps go back to malloc (for valgrind). */
static void
pool_drain(void)
{
	mpool_cache(0);
}
#endif

/*
 * libosip2's tables, its traces off, and its blocks from the cache of
 * util/mpool.c for the calling thread (the event loop): before the first
 * libosip2 object is made, since a block must be freed by the allocator
 * that made it.
 */
void
sip_msg_init(void)
{
	static int done;

	if (!done) {
#if SIP_MSG_POOL
		osip_set_allocators(mpool_alloc, mpool_realloc, mpool_free);
		mpool_cache(1);
		atexit(pool_drain);
#endif
		osip_trace_initialize_func(END_TRACE_LEVEL, no_trace);
		parser_init();
		done = 1;
	}
}

/* --- parsing ------------------------------------------------------ */

/*
 * Fill why and return status.  Peer text goes into reasons quoted with
 * single quotes and cut with "%.60s"; double quotes, backslashes and
 * control bytes are replaced afterwards, so that the sentence can go into
 * the quoted string of a Warning header and the log as it is.
 */
int
sip_msg_fail(char *why, size_t whysz, int status, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	for (p = why; *p != '\0'; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p == 0x7f)
			*p = '?';
	return status;
}

/*
 * Length of the header section of buf (start line to the empty line that
 * ends the headers, included), or len when there is no empty line.
 */
size_t
sip_msg_header_len(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p = nl + 1;
		if (p < end && *p == '\n')
			return (size_t)(p + 1 - buf);
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - buf);
	}
	return len;
}

/*
 * libosip2 reads the text as a C string: a NUL ends it early.  RFC 4475
 * s.3.1.1.2 has one escaped in a quoted string ("\" NUL), which is valid;
 * such a NUL is replaced by a space in libosip2's copy (the forwarded text
 * keeps the original bytes).  A NUL anywhere else is left to fail the parse.
 */
static void
soften_nuls(char *p, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (p[i] == '\0' && p[i - 1] == '\\')
			p[i] = ' ';
}

/*
 * libosip2 refuses a Content-Length (with a Content-Type) larger than the
 * body it is given, and it is given none: in its copy the value's digits
 * become zeros ("553" reads "000"), which keeps the check of the number's
 * form.  The framer has checked the real value (digits, one value).
 */
static void
zero_length(char *p, size_t n)
{
	char *end = p + n, *line = memchr(p, '\n', n), *v;

	while (line != NULL && ++line < end) {
		v = NULL;
		if (end - line > 14 && strncasecmp(line, "Content-Length", 14) == 0)
			v = line + 14;
		else if (*line == 'l' || *line == 'L')
			v = line + 1;
		if (v != NULL) {
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			if (v < end && *v == ':') {
				for (v++; v < end && (*v == ' ' || *v == '\t'); v++)
					;
				for (; v < end && *v >= '0' && *v <= '9'; v++)
					*v = '0';
			}
		}
		line = memchr(line, '\n', (size_t)(end - line));
	}
}

/* What sip_msg_is_lean() looks for in m->application_data. */
static const char lean_mark = 'L';

/*
 * The header fields a relayed response is read for: the transaction match
 * (Via, CSeq), the ACK of a non-2xx (To), and every field sip_msg_check()
 * looks at (the mandatory ones, the single-value and numeric ones), long
 * and compact forms.  Sorted by length for keeps().
 */
static const char *const lean_fields[] = {
	"c", "f", "i", "l", "t", "v", "To", "Via", "CSeq", "From", "Call-ID",
	"Expires", "Min-Expires", "Content-Type", "Max-Forwards",
	"Content-Length", NULL
};

/* 1 when the header field named by the n bytes at name is in lean_fields. */
static int
keeps(const char *name, size_t n)
{
	size_t i, k;

	for (i = 0; lean_fields[i] != NULL; i++) {
		if ((k = strlen(lean_fields[i])) > n)
			break;
		if (k == n && strncasecmp(name, lean_fields[i], n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Copy the header section of a response (hlen bytes at buf) to out with
 * only the fields of lean_fields (and their continuation lines); the start
 * line and the empty line stay.  Returns the bytes written (at most hlen).
 * A line without a colon is kept, so that the parse fails on it as the
 * full one would.
 */
static size_t
lean_copy(const char *buf, size_t hlen, char *out)
{
	const char *p = buf, *end = buf + hlen, *eol, *c;
	size_t n, o = 0;
	int keep = 1;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		n = eol != NULL ? (size_t)(eol + 1 - p) : (size_t)(end - p);
		if (p != buf && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n') {
			for (c = p; c < p + n && *c != ':' && *c != ' ' &&
			    *c != '\t'; c++)
				;
			keep = memchr(p, ':', n) == NULL ||
			    keeps(p, (size_t)(c - p));
		} else if (p == buf || *p == '\r' || *p == '\n')
			keep = 1;		/* start line, empty line */
		if (keep) {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	return o;
}

/*
 * A head that libosip2 reads line by line as sip_edit does, so that
 * leaving lines out changes nothing in the others: a status line "SIP/2.0
 * DDD " (libosip2 looks for the reason's end past a malformed one, into
 * the next line), no NUL (it reads up to one) and no CR but before LF
 * (it ends a line at a bare CR).  Anything else is parsed whole.
 */
static int
lean_safe(const char *buf, size_t hlen)
{
	const char *p = buf, *end = buf + hlen;

	if (hlen < 13 || memcmp(buf, "SIP/2.0 ", 8) != 0 ||
	    buf[8] < '0' || buf[8] > '9' || buf[9] < '0' || buf[9] > '9' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] != ' ' ||
	    memchr(buf, '\0', hlen) != NULL)
		return 0;
	while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (++p == end || *p != '\n')
			return 0;
	}
	return 1;
}

int
sip_msg_is_lean(const osip_message_t *m)
{
	return m != NULL && m->application_data == &lean_mark;
}

/* sip_msg_parse() and sip_msg_parse_lean(): lean 1 for the second. */
static osip_message_t *
parse(const char *buf, size_t len, int lean)
{
	osip_message_t *m;
	size_t hlen = sip_msg_header_len(buf, len);
	char *copy;
	int r;

	/*
	 * Only the header section: a body is opaque to sipedge (libosip2's
	 * MIME parser leaks on multipart bodies, and nothing here reads a
	 * body).  Its Content-Length reads zero (zero_length()).
	 */
	copy = xmalloc(hlen + 1);
	if (lean && lean_safe(buf, hlen))
		hlen = lean_copy(buf, hlen, copy);
	else
		lean = 0;
	if (!lean)
		memcpy(copy, buf, hlen);
	copy[hlen] = '\0';
	if (memchr(copy, '\0', hlen) != NULL)
		soften_nuls(copy, hlen);
	zero_length(copy, hlen);
	if (osip_message_init(&m) != 0) {
		free(copy);
		return NULL;
	}
	r = osip_message_parse(m, copy, hlen);
	free(copy);
	if (r != 0) {
		osip_message_free(m);
		return NULL;
	}
	if (lean)
		m->application_data = (void *)&lean_mark;
	return m;
}

osip_message_t *
sip_msg_parse(const char *buf, size_t len)
{
	return parse(buf, len, 0);
}

osip_message_t *
sip_msg_parse_lean(const char *buf, size_t len)
{
	return parse(buf, len, 1);
}

/* --- the cost of a message, before libosip2 sees it ------------------- */

/*
 * The answer when the header fields passed max_fields at p: counted on to
 * say how many there are (still one linear pass).
 */
static int
too_many(const char *p, const char *end, size_t fields, size_t max_fields,
    char *why, size_t whysz)
{
	for (p++; p < end; p++) {
		if (*p == '\n' && p + 1 < end && p[1] != '\r' && p[1] != '\n')
			fields++;
		else if (*p == ',')
			fields++;
	}
	return sip_msg_fail(why, whysz, 400, "too many header fields: about "
	    "%zu, the limit is %zu", fields, max_fields);
}

/* The bytes sip_msg_scan() looks at; it steps over the others at once. */
static const unsigned char scan_special[256] = {
	['\n'] = 1, ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, [','] = 1,
	[';'] = 1, ['?'] = 1, ['&'] = 1
};

/*
 * libosip2 keeps every header value, every comma-separated element of
 * most headers, and every parameter in linked lists that it appends to
 * from the head: its work grows with the square of their number.  This
 * scan counts them in one pass over the text so that a message with too
 * many is refused before libosip2 sees it.
 */
int
sip_msg_scan(const char *buf, size_t len, size_t max_fields,
    size_t max_params, char *why, size_t whysz)
{
	const char *p = buf, *end = buf + sip_msg_header_len(buf, len);
	size_t fields = 0, params = 0, line = 1;
	int quote = 0, angle = 0, first = 1;
	unsigned char c;

	for (; p < end; p++) {
		c = (unsigned char)*p;
		if (!scan_special[c])
			continue;
		if (c == '\n') {
			/*
			 * A continuation line (s.7.3.1) goes on with the value,
			 * but counts as a field: libosip2 unfolds each at a cost.
			 */
			if (p + 1 < end && (p[1] == ' ' || p[1] == '\t') && !first) {
				line++;
				if (++fields > max_fields)
					return too_many(p, end, fields, max_fields,
					    why, whysz);
				continue;
			}
			if (p + 1 < end && p[1] != '\r' && p[1] != '\n') {
				first = 0;
				line++;
				if (++fields > max_fields)
					return too_many(p, end, fields, max_fields,
					    why, whysz);
			}
			quote = angle = 0;
			params = 0;
			continue;
		}
		if (quote) {
			/* An escaped byte is stepped over; a line end never. */
			if (c == '\\') {
				if (p + 1 < end && p[1] != '\n')
					p++;
			} else if (c == '"')
				quote = 0;
			continue;
		}
		switch (c) {
		case '"':
			quote = 1;
			break;
		case '<':
			angle++;
			break;
		case '>':
			if (angle > 0)
				angle--;
			break;
		case ',':
			if (angle == 0 && !first) {
				if (++fields > max_fields)
					return too_many(p, end, fields, max_fields,
					    why, whysz);
				params = 0;
			}
			break;
		case ';':
		case '?':
		case '&':
			if (++params > max_params)
				return sip_msg_fail(why, whysz, 400, "more than %zu "
				    "parameters in one value (line %zu)",
				    max_params, line);
			break;
		}
	}
	return 0;
}

int
sip_msg_uri_host_is(const osip_message_t *m, const char *const *names,
    size_t nnames)
{
	const char *host;
	size_t i, hl;

	if (m->req_uri == NULL || (host = m->req_uri->host) == NULL)
		return 0;
	hl = strlen(host);
	if (hl > 0 && host[hl - 1] == '.')	/* trailing dot */
		hl--;
	for (i = 0; i < nnames; i++)
		if (names[i] != NULL && strlen(names[i]) == hl &&
		    strncasecmp(host, names[i], hl) == 0)
			return 1;
	return 0;
}

const char *
sip_msg_call_id(const osip_message_t *m, char *buf, size_t bufsz)
{
	const osip_call_id_t *c = m != NULL ? m->call_id : NULL;

	if (c == NULL || c->number == NULL)
		snprintf(buf, bufsz, "-");
	else if (c->host != NULL)
		snprintf(buf, bufsz, "%s@%s", c->number, c->host);
	else
		snprintf(buf, bufsz, "%s", c->number);
	return buf;
}
