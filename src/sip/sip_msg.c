/*
 * sip_msg.c: parsing with libosip2 plus the validation it lacks (a table
 * of rules from RFC 3261 s.7, s.8.2, s.16.3 and s.20), the diagnosis of
 * what the parser refused, and response building.  Responses to messages
 * we cannot parse are assembled by echoing the transaction headers as
 * text (s.8.2.6).  Peer text reaches a reason only quoted and cut short.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/sip_msg.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* libosip2 would print its own traces on stdout; we log what matters. */
static void
no_trace(const char *fi, int li, osip_trace_level_t level, const char *fmt,
    va_list ap)
{
}

void
sip_msg_init(void)
{
	static int done;

	if (!done) {
		osip_trace_initialize_func(END_TRACE_LEVEL, no_trace);
		parser_init();
		done = 1;
	}
}

/* --- what the checks are made of ------------------------------------ */

/*
 * Fill why and return status.  Peer text goes into reasons quoted with
 * single quotes and cut with "%.60s"; double quotes, backslashes and
 * control bytes are replaced afterwards, so that the sentence can go into
 * the quoted string of a Warning header and the log as it is.
 */
static int	fail(char *why, size_t whysz, int status, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

static int
fail(char *why, size_t whysz, int status, const char *fmt, ...)
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

/* token (RFC 3261 s.25.1). */
static int
is_token_char(unsigned char c)
{
	return c != '\0' && (isalnum(c) || strchr("-.!%*_+`'~", c) != NULL);
}

/* word (s.25.1), the halves of a Call-ID. */
static int
is_word_char(unsigned char c)
{
	return is_token_char(c) ||
	    (c != '\0' && strchr("()<>:\\\"/[]?{}", c) != NULL);
}

/* URI scheme (RFC 3986 s.3.1): a letter, then letters, digits, + - . */
static int
is_scheme(const char *s)
{
	if (s == NULL || !isalpha((unsigned char)*s))
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("+-.", *s) == NULL)
			return 0;
	return 1;
}

/* 1 when s is not empty and every byte passes is(). */
static int
all_of(const char *s, int (*is)(unsigned char))
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is((unsigned char)*s))
			return 0;
	return 1;
}

/* s as a decimal number no larger than max in *vp; -1 when it is not one. */
static int
parse_uint(const char *s, unsigned long long max, unsigned long long *vp)
{
	unsigned long long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)	/* max is far below 2**64 / 10: no overflow */
			return -1;
	}
	*vp = v;
	return 0;
}

/* IPv4address of s.25.1 with each part at most 255. */
static int
is_ipv4(const char *h)
{
	unsigned v;
	int parts, digits;

	for (parts = 1;; parts++) {
		for (v = 0, digits = 0; isdigit((unsigned char)*h); h++) {
			if (++digits > 3)
				return 0;
			v = v * 10 + (unsigned)(*h - '0');
		}
		if (digits == 0 || v > 255)
			return 0;
		if (parts == 4)
			return *h == '\0';
		if (*h++ != '.')
			return 0;
	}
}

/*
 * hostname of s.25.1: labels of letters, digits and inner hyphens joined
 * by dots, the last one starting with a letter; one final dot is allowed.
 */
static int
is_hostname(const char *h)
{
	const char *p, *label = h, *last = h, *end = h + strlen(h);

	if (end > h && end[-1] == '.')
		end--;
	if (end == h)
		return 0;
	for (p = h; p <= end; p++) {
		if (p == end || *p == '.') {
			if (p == label || *label == '-' || p[-1] == '-')
				return 0;
			last = label;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	}
	return isalpha((unsigned char)*last);
}

/* host of s.25.1: hostname, IPv4 or IPv6 (libosip2 drops the brackets). */
static int
is_host(const char *h)
{
	struct in6_addr a6;
	char buf[64];
	size_t n;

	if (h == NULL || *h == '\0')
		return 0;
	if (strchr(h, ':') == NULL)
		return is_ipv4(h) || is_hostname(h);
	n = strlen(h);
	if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= sizeof buf)
		return 0;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1;
}

/* A port: a number from 1 to 65535. */
static int
is_port(const char *p)
{
	unsigned long long v;

	return parse_uint(p, 65535, &v) == 0 && v > 0;
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

osip_message_t *
sip_msg_parse(const char *buf, size_t len)
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
	return m;
}

/* --- the cost of a message, before libosip2 sees it ------------------- */

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
	int quote = 0, esc = 0, angle = 0, first = 1;
	unsigned char c;

	for (; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '\n') {
			/*
			 * A continuation line (s.7.3.1) goes on with the value,
			 * but counts as a field: libosip2 unfolds each at a cost.
			 */
			if (p + 1 < end && (p[1] == ' ' || p[1] == '\t') && !first) {
				line++;
				if (++fields > max_fields)
					goto too_many;
				continue;
			}
			if (p + 1 < end && p[1] != '\r' && p[1] != '\n') {
				first = 0;
				line++;
				if (++fields > max_fields)
					goto too_many;
			}
			quote = esc = angle = 0;
			params = 0;
			continue;
		}
		if (quote) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
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
					goto too_many;
				params = 0;
			}
			break;
		case ';':
		case '?':
		case '&':
			if (++params > max_params)
				return fail(why, whysz, 400, "more than %zu "
				    "parameters in one value (line %zu)",
				    max_params, line);
			break;
		}
	}
	return 0;
too_many:
	/* Count on to say how many there are: still one linear pass. */
	for (p++; p < end; p++) {
		if (*p == '\n' && p + 1 < end && p[1] != '\r' && p[1] != '\n')
			fields++;
		else if (*p == ',')
			fields++;
	}
	return fail(why, whysz, 400, "too many header fields: about %zu, "
	    "the limit is %zu", fields, max_fields);
}

/* The host and port of a SIP or SIPS URI are well formed (s.19.1.1). */
static int
check_sip_uri(const osip_uri_t *u, const char *what, char *why, size_t whysz)
{
	if (!is_scheme(u->scheme))
		return fail(why, whysz, 400, "%s scheme '%.60s' is not a URI "
		    "scheme", what, u->scheme ? u->scheme : "");
	if (strcasecmp(u->scheme, "sip") != 0 &&
	    strcasecmp(u->scheme, "sips") != 0)
		return 0;
	if (!is_host(u->host))
		return fail(why, whysz, 400, "%s host '%.60s' is not a host "
		    "name or IP address", what, u->host ? u->host : "");
	if (u->port != NULL && !is_port(u->port))
		return fail(why, whysz, 400, "%s port '%.60s' is not a number "
		    "from 1 to 65535", what, u->port);
	return 0;
}

/* --- the rules ------------------------------------------------------ */

struct generic;

/* s.7.1, s.7.2: the version is the literal SIP/2.0 (without case). */
static int
check_version(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	const char *v = m->sip_version;

	if (v == NULL || strcasecmp(v, "SIP/2.0") != 0)
		return fail(why, whysz, 505, "SIP version '%.60s' is not "
		    "supported (only SIP/2.0)", v ? v : "");
	return 0;
}

/* s.7.1: the method is a token; a SIP or SIPS request-URI is well formed. */
static int
check_request_line(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	if (m->sip_method == NULL || m->req_uri == NULL)
		return fail(why, whysz, 400, "request line is malformed");
	if (!all_of(m->sip_method, is_token_char))
		return fail(why, whysz, 400, "request method '%.60s' is not a "
		    "token", m->sip_method);
	return check_sip_uri(m->req_uri, "request-URI", why, whysz);
}

/* s.7.2: a status code has three digits, the first from 1 to 6. */
static int
check_status_code(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	if (m->status_code < 100 || m->status_code > 699)
		return fail(why, whysz, 400, "status code %d is not from 100 "
		    "to 699", m->status_code);
	return 0;
}

/*
 * s.8.1.1: To, From, CSeq, Call-ID and Via are in every request, and a
 * response copies them (s.8.2.6.2).  Max-Forwards is not required here: a
 * proxy adds one to a request that has none (s.16.6 step 3), and a
 * missing one passes the Max-Forwards check (s.16.3 step 3).
 */
static int
check_mandatory(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	const struct {
		const char	*name;
		int		 present;
	} need[] = {
		{ "Via", osip_list_size(&m->vias) > 0 },
		{ "From", m->from != NULL },
		{ "To", m->to != NULL },
		{ "Call-ID", m->call_id != NULL && m->call_id->number != NULL },
		{ "CSeq", m->cseq != NULL && m->cseq->number != NULL &&
		    m->cseq->method != NULL },
	};
	size_t i;

	for (i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!need[i].present)
			return fail(why, whysz, 400, "%s header is missing or "
			    "empty", need[i].name);
	return 0;
}

/*
 * Headers whose grammar is not a comma-separated list, so that a second
 * row is an error (s.7.3.1); the long and compact forms count together.
 * libosip2 refuses a second To, From, Call-ID, CSeq, Content-Length or
 * Content-Type itself (sip_msg_parse_error() names it); the others it
 * keeps as generic headers, which check_single() counts.
 */
static const struct single {
	const char	*name;
	const char	*compact;
} singles[] = {
	{ "To", "t" },
	{ "From", "f" },
	{ "Call-ID", "i" },
	{ "CSeq", NULL },
	{ "Max-Forwards", NULL },
	{ "Content-Length", "l" },
	{ "Content-Type", "c" },
	{ "Expires", NULL },
	{ "Min-Expires", NULL },
};
#define NSINGLES	(sizeof singles / sizeof singles[0])

#define NNUMBERS	5

static const char *
cseq_number(const osip_message_t *m)
{
	return m->cseq->number;
}

static const char *
content_length(const osip_message_t *m)
{
	return m->content_length ? m->content_length->value : NULL;
}

/* Numeric values and their ranges; value NULL: the generic header name. */
static const struct number {
	const char		*name;
	const char		*(*value)(const osip_message_t *);
	unsigned long long	 max;
} numbers[NNUMBERS] = {
	{ "CSeq number", cseq_number, 2147483647ULL },	/* s.8.1.1.5 */
	{ "Content-Length", content_length, 4294967295ULL },	/* s.20.14 */
	{ "Max-Forwards", NULL, 255 },			/* s.20.22 */
	{ "Expires", NULL, 4294967295ULL },		/* s.20.19 */
	{ "Min-Expires", NULL, 4294967295ULL },		/* s.20.23 */
};

/* The table above, for walk_generic(). */
static const struct number *
number_table(size_t *n)
{
	*n = NNUMBERS;
	return numbers;
}


/*
 * What one walk over the generic headers (m->headers) found, for the rules
 * below: each rule used to search the list by name at every position,
 * which cost the cube of the header count (issue 11).
 */
struct generic {
	int			 nsingle[NSINGLES];	/* rows of each */
	const osip_header_t	*number[NNUMBERS];	/* first of each */
	const osip_header_t	*bad_tag[2];	/* Require, Proxy-Require */
};

static const char *const tag_headers[2] = { "Require", "Proxy-Require" };


/* The header name of a number taken from a generic header. */
static const char *
number_name(const struct number *n)
{
	return n->name;
}

/* 1 when the number is a generic header's value (not a parsed field). */
static int
number_is_generic(const struct number *n)
{
	return n->value == NULL;
}

/* Walk m->headers once and fill g. */
static void
walk_generic(const osip_message_t *m, struct generic *g)
{
	osip_list_iterator_t it;
	const osip_header_t *h;
	const struct number *nt;
	size_t i, nn;

	memset(g, 0, sizeof *g);
	nt = number_table(&nn);
	for (h = osip_list_get_first(&m->headers, &it); h != NULL;
	    h = osip_list_get_next(&it)) {
		if (h->hname == NULL)
			continue;
		for (i = 0; i < NSINGLES; i++)
			if (strcasecmp(h->hname, singles[i].name) == 0 ||
			    (singles[i].compact != NULL &&
			    strcasecmp(h->hname, singles[i].compact) == 0))
				g->nsingle[i]++;
		for (i = 0; i < nn; i++)
			if (g->number[i] == NULL &&
			    strcasecmp(h->hname, number_name(&nt[i])) == 0 &&
			    number_is_generic(&nt[i]))
				g->number[i] = h;
		for (i = 0; i < 2; i++)
			if (g->bad_tag[i] == NULL &&
			    strcasecmp(h->hname, tag_headers[i]) == 0 &&
			    h->hvalue != NULL && *h->hvalue != '\0' &&
			    !all_of(h->hvalue, is_token_char))
				g->bad_tag[i] = h;
	}
}

/* s.7.3.1: a single-value header appears at most once. */
static int
check_single(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	size_t i;

	for (i = 0; i < NSINGLES; i++)
		if (g->nsingle[i] > 1)
			return fail(why, whysz, 400, "%s header appears more "
			    "than once", singles[i].name);
	return 0;
}

/* s.20: numbers are decimal integers within their ranges. */
static int
check_numbers(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	const struct number *n;
	unsigned long long v;
	const char *s;
	size_t i;

	for (i = 0; i < NNUMBERS; i++) {
		n = &numbers[i];
		if (n->value != NULL)
			s = n->value(m);
		else if (g->number[i] != NULL)
			s = g->number[i]->hvalue ? g->number[i]->hvalue : "";
		else
			s = NULL;
		if (s != NULL && parse_uint(s, n->max, &v) == -1)
			return fail(why, whysz, 400, "%s '%.60s' is not an "
			    "integer from 0 to %llu", n->name, s, n->max);
	}
	return 0;
}

/*
 * s.8.1.1.5, s.20.16: the CSeq method is a token and, in a request, the
 * request's own method (also for ACK and CANCEL, whose CSeq numbers follow
 * the INVITE's but whose methods do not).
 */
static int
check_cseq(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	if (!all_of(m->cseq->method, is_token_char))
		return fail(why, whysz, 400, "CSeq method '%.60s' is not a "
		    "token", m->cseq->method);
	if (MSG_IS_REQUEST(m) && strcmp(m->cseq->method, m->sip_method) != 0)
		return fail(why, whysz, 400, "CSeq method %.60s does not match "
		    "the request method %.60s", m->cseq->method, m->sip_method);
	return 0;
}

/* s.20.8, s.25.1: Call-ID is word [ "@" word ]. */
static int
check_call_id(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	const osip_call_id_t *c = m->call_id;

	if (!all_of(c->number, is_word_char) ||
	    (c->host != NULL && !all_of(c->host, is_word_char)))
		return fail(why, whysz, 400, "Call-ID '%.60s%s%.60s' is not a "
		    "word or word@word", c->number, c->host ? "@" : "",
		    c->host ? c->host : "");
	return 0;
}

/*
 * s.20.20, s.20.39: From and To carry a URI; any scheme may appear there
 * (s.8.1.1.2), but a SIP or SIPS URI must have a valid host and port.
 */
static int
check_from_to(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	const struct {
		const char		*what;
		const osip_from_t	*h;
	} ends[] = { { "From URI", m->from }, { "To URI", m->to } };
	size_t i;
	int st;

	for (i = 0; i < 2; i++) {
		if (ends[i].h->url == NULL)
			return fail(why, whysz, 400, "%s is missing",
			    ends[i].what);
		if ((st = check_sip_uri(ends[i].h->url, ends[i].what, why,
		    whysz)) != 0)
			return st;
	}
	return 0;
}

/*
 * s.20.42: every Via is SIP/2.0 over a transport token, with a sent-by
 * host and optional port.  A Via without branch is allowed: RFC 2543
 * peers send none, and s.17.2.3 matches their requests another way.
 */
static int
check_vias(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	osip_list_iterator_t it;
	const osip_via_t *v;

	for (v = osip_list_get_first(&m->vias, &it); v != NULL;
	    v = osip_list_get_next(&it)) {
		if (v->version == NULL || strcmp(v->version, "2.0") != 0)
			return fail(why, whysz, 400, "Via protocol version "
			    "'%.60s' is not 2.0", v->version ? v->version : "");
		if (!all_of(v->protocol, is_token_char))
			return fail(why, whysz, 400, "Via transport '%.60s' is not "
			    "a token", v->protocol ? v->protocol : "");
		if (!is_host(v->host))
			return fail(why, whysz, 400, "Via sent-by host '%.60s' is "
			    "not a host name or IP address", v->host ? v->host : "");
		if (v->port != NULL && !is_port(v->port))
			return fail(why, whysz, 400, "Via sent-by port '%.60s' is "
			    "not a number from 1 to 65535", v->port);
	}
	return 0;
}

/*
 * s.20.29, s.20.32: Require and Proxy-Require list option-tags, which
 * are tokens (s.19.2); an empty value is ignored.
 */
static int
check_option_tags(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (g->bad_tag[i] != NULL)
			return fail(why, whysz, 400, "%s option '%.60s' is "
			    "not a token", tag_headers[i], g->bad_tag[i]->hvalue);
	return 0;
}

/*
 * s.16.3 step 2: a request-URI scheme the proxy does not understand gets
 * 416.  sipedge routes sip and sips URIs only; tel and the others would
 * need a translation it does not make.
 */
static int
check_uri_scheme(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	const char *s = m->req_uri->scheme;

	if (strcasecmp(s, "sip") != 0 && strcasecmp(s, "sips") != 0)
		return fail(why, whysz, 416, "request-URI scheme '%.60s' is not "
		    "supported (only sip and sips)", s);
	return 0;
}

#define FOR_REQUEST	0x1
#define FOR_RESPONSE	0x2

/*
 * The rules in the order they are tried; the first that fails decides the
 * answer.  Syntax comes first (s.16.3 step 1), then the URI scheme (step
 * 2).  A rule runs only after those above it passed, so it may rely on
 * what they checked (the mandatory headers, above all).
 */
static const struct rule {
	int	  applies;
	int	(*check)(const osip_message_t *, const struct generic *, char *,
		    size_t);
} rules[] = {
	{ FOR_REQUEST | FOR_RESPONSE,	check_version },
	{ FOR_REQUEST,			check_request_line },
	{ FOR_RESPONSE,			check_status_code },
	{ FOR_REQUEST | FOR_RESPONSE,	check_mandatory },
	{ FOR_REQUEST | FOR_RESPONSE,	check_single },
	{ FOR_REQUEST | FOR_RESPONSE,	check_numbers },
	{ FOR_REQUEST | FOR_RESPONSE,	check_cseq },
	{ FOR_REQUEST | FOR_RESPONSE,	check_call_id },
	{ FOR_REQUEST | FOR_RESPONSE,	check_from_to },
	{ FOR_REQUEST | FOR_RESPONSE,	check_vias },
	{ FOR_REQUEST,			check_option_tags },
	{ FOR_REQUEST,			check_uri_scheme },
};

int
sip_msg_check(const osip_message_t *m, char *why, size_t whysz)
{
	int kind = MSG_IS_REQUEST(m) ? FOR_REQUEST : FOR_RESPONSE, st;
	struct generic g;
	size_t i;

	walk_generic(m, &g);
	for (i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if ((rules[i].applies & kind) &&
		    (st = rules[i].check(m, &g, why, whysz)) != 0)
			return st;
	return 0;
}

/* 1 when tag is already in the ", "-separated list (without case). */
static int
listed(const char *list, const char *tag)
{
	size_t tl = strlen(tag);
	const char *p;

	for (p = list; p != NULL; p = strchr(p, ',')) {
		while (*p == ',' || *p == ' ')
			p++;
		if (strncasecmp(p, tag, tl) == 0 && (p[tl] == ',' || p[tl] == '\0'))
			return 1;
	}
	return 0;
}

char *
sip_msg_unsupported(const osip_message_t *m, const char *hname,
    const char *const *supported, size_t nsupported)
{
	osip_list_iterator_t it;
	const osip_header_t *h;
	char *out = NULL, *t;
	size_t i;

	for (h = osip_list_get_first(&m->headers, &it); h != NULL;
	    h = osip_list_get_next(&it)) {
		if (h->hname == NULL || strcasecmp(h->hname, hname) != 0 ||
		    h->hvalue == NULL || *h->hvalue == '\0')
			continue;
		for (i = 0; i < nsupported; i++)
			if (strcasecmp(h->hvalue, supported[i]) == 0)
				break;
		if (i < nsupported || listed(out, h->hvalue))
			continue;
		t = out ? xasprintf("%s, %s", out, h->hvalue) : xstrdup(h->hvalue);
		free(out);
		out = t;
	}
	return out;
}

/* --- why the parser gave up ----------------------------------------- */

/* At most 60 bytes of peer text in a reason, as an int for "%.*s". */
#define CUT(n)	((int)((n) > 60 ? 60 : (n)))

/* A version is the literal SIP/2.0, compared without case (s.7.1). */
static int
is_sip20(const char *v, size_t n)
{
	return n == 7 && strncasecmp(v, "SIP/2.0", 7) == 0;
}

/* The start line p[0..n) of a message libosip2 could not parse. */
static int
start_line_error(const char *p, size_t n, char *why, size_t whysz)
{
	const char *end, *sp1, *sp2;
	osip_uri_t *u = NULL;
	char *uri;
	int bad;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	end = p + n;
	sp1 = memchr(p, ' ', n);
	if (n >= 4 && strncasecmp(p, "SIP/", 4) == 0) {
		/* Status-Line = SIP-Version SP Status-Code SP Reason (s.7.2) */
		if (sp1 == NULL || !is_sip20(p, (size_t)(sp1 - p)))
			return fail(why, whysz, 505, "SIP version '%.*s' is not "
			    "supported (only SIP/2.0)", CUT((sp1 ? sp1 : end) - p),
			    p);
		if (end - sp1 < 4 || !isdigit((unsigned char)sp1[1]) ||
		    !isdigit((unsigned char)sp1[2]) ||
		    !isdigit((unsigned char)sp1[3]) ||
		    (end - sp1 > 4 && sp1[4] != ' '))
			return fail(why, whysz, 400, "status line '%.*s' is not "
			    "SIP/2.0, a 3-digit code and a reason phrase", CUT(n),
			    p);
		return 0;
	}
	/* Request-Line = Method SP Request-URI SP SIP-Version (s.7.1) */
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1 ||
	    sp2 + 1 == end || memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)))
		return fail(why, whysz, 400, "request line '%.*s' is not a "
		    "method, a request-URI and a SIP version separated by single "
		    "spaces", CUT(n), p);
	if (!is_sip20(sp2 + 1, (size_t)(end - sp2 - 1)))
		return fail(why, whysz, 505, "SIP version '%.*s' is not "
		    "supported (only SIP/2.0)", CUT(end - sp2 - 1), sp2 + 1);
	uri = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	bad = osip_uri_init(&u) != 0 || osip_uri_parse(u, uri) != 0;
	osip_uri_free(u);
	if (bad)
		fail(why, whysz, 400, "request-URI '%.60s' cannot be parsed", uri);
	free(uri);
	return bad ? 400 : 0;
}

/* A growing output buffer: appends cost their length (amortised). */
struct obuf {
	char	*p;
	size_t	 len, cap;
};

/* Append n bytes of s. */
static void
ob_add(struct obuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a NUL-terminated string. */
static void
ob_str(struct obuf *b, const char *s)
{
	ob_add(b, s, strlen(s));
}

/* Append n bytes with control bytes (but tab) replaced by '?'. */
static void
ob_clean(struct obuf *b, const char *s, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    (unsigned char)s[i] == 0x7f) {
			ob_add(b, s + from, i - from);
			ob_add(b, "?", 1);
			from = i + 1;
		}
	}
	ob_add(b, s + from, n - from);
}

/*
 * The next header of the section [*pp, end), unfolding continuation lines
 * (s.7.3.1): 1 with *name and *value (malloc'd), 0 at the empty line that
 * ends the headers or at the end, -1 for a line without a colon (its text
 * in *name).
 */
static int
next_header(const char **pp, const char *end, char **name, char **value)
{
	const char *line = *pp, *eol, *colon, *t;
	struct obuf b;
	size_t n;
	char *v;

	if (line >= end)
		return 0;
	eol = memchr(line, '\n', (size_t)(end - line));
	n = (size_t)((eol ? eol : end) - line);
	*pp = eol ? eol + 1 : end;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == 0)
		return 0;
	colon = memchr(line, ':', n);
	if (colon == NULL) {
		*name = xstrndup(line, n);
		return -1;
	}
	t = colon;
	while (t > line && (t[-1] == ' ' || t[-1] == '\t'))
		t--;
	*name = xstrndup(line, (size_t)(t - line));
	for (colon++; colon < line + n && (*colon == ' ' || *colon == '\t');
	    colon++)
		;
	b.p = NULL;
	b.len = b.cap = 0;
	ob_add(&b, colon, (size_t)(line + n - colon));
	/* Continuation lines start with a space or a tab. */
	while (*pp < end && (**pp == ' ' || **pp == '\t')) {
		line = *pp;
		eol = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((eol ? eol : end) - line);
		*pp = eol ? eol + 1 : end;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		while (n > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		ob_add(&b, " ", 1);
		ob_add(&b, line, n);
	}
	v = b.p;
	*value = v;
	return 1;
}

/* Index into singles[] of a header name (long or compact form), or -1. */
static int
single_index(const char *name)
{
	size_t i;

	for (i = 0; i < NSINGLES; i++)
		if (strcasecmp(name, singles[i].name) == 0 ||
		    (singles[i].compact != NULL &&
		    strcasecmp(name, singles[i].compact) == 0))
			return (int)i;
	return -1;
}

/* One header of a message libosip2 could not parse, tried on scratch. */
static int
header_error(osip_message_t *scratch, char *name, char *value, int *seen,
    char *why, size_t whysz)
{
	char *lname, *lvalue, *p;
	int i, r;

	if (!all_of(name, is_token_char))
		return fail(why, whysz, 400, "header name '%.60s' is not a token",
		    name);
	if ((i = single_index(name)) >= 0 && seen[i]++ > 0)
		return fail(why, whysz, 400, "%s header appears more than once",
		    singles[i].name);
	lname = xstrdup(name);
	for (p = lname; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	lvalue = xstrdup(value);	/* libosip2 may edit it in place */
	r = osip_message_set_multiple_header(scratch, lname, lvalue);
	free(lname);
	free(lvalue);
	if (r != 0)
		return fail(why, whysz, 400, "%s header '%.60s' cannot be parsed",
		    i >= 0 ? singles[i].name : name, value);
	return 0;
}

int
sip_msg_parse_error(const char *buf, size_t len, char *why, size_t whysz)
{
	const char *p = buf, *end = buf + len, *eol;
	osip_message_t *scratch;
	char *name = NULL, *value = NULL;
	int seen[NSINGLES] = { 0 }, st = 0, r;

	while (p < end && (*p == '\r' || *p == '\n'))	/* s.7.5 */
		p++;
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return fail(why, whysz, 400, "message has no header section");
	if ((st = start_line_error(p, (size_t)(eol - p), why, whysz)) != 0)
		return st;
	if (osip_message_init(&scratch) != 0)
		return fail(why, whysz, 400, "message could not be parsed");
	p = eol + 1;
	while (st == 0 && (r = next_header(&p, end, &name, &value)) != 0) {
		if (r < 0)
			st = fail(why, whysz, 400, "header line '%.60s' has no "
			    "colon", name);
		else
			st = header_error(scratch, name, value, seen, why, whysz);
		free(name);
		free(value);
		name = value = NULL;
	}
	osip_message_free(scratch);
	if (st != 0)
		return st;
	return fail(why, whysz, 400, "message could not be parsed");
}

/* Fill Via received/rport on the top Via from the source address. */
static void
via_stamp(osip_message_t *r, const struct sip_src *src)
{
	osip_via_t *v = osip_list_get(&r->vias, 0);
	osip_generic_param_t *p = NULL;
	char port[16];

	if (v == NULL || src == NULL || src->ip == NULL)
		return;
	if (v->host == NULL || strcmp(v->host, src->ip) != 0) {
		if (osip_via_param_get_byname(v, "received", &p) != 0 || p == NULL)
			osip_via_set_received(v, osip_strdup(src->ip));
	}
	p = NULL;
	if (osip_via_param_get_byname(v, "rport", &p) == 0 && p != NULL &&
	    p->gvalue == NULL) {
		snprintf(port, sizeof port, "%d", src->port);
		p->gvalue = osip_strdup(port);
		if (osip_via_param_get_byname(v, "received", &p) != 0)
			osip_via_set_received(v, osip_strdup(src->ip));
	}
}

char *
sip_msg_response(const osip_message_t *req, const struct sip_src *src,
    int status, const char *phrase, const char *to_tag,
    const char *const *headers, size_t *lenp)
{
	osip_message_t *r;
	osip_via_t *v, *vc;
	osip_generic_param_t *tag = NULL;
	char *text = NULL, *out = NULL;
	size_t len = 0;
	osip_list_iterator_t it;

	if (osip_message_init(&r) != 0)
		return NULL;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(phrase ? phrase :
	    osip_message_get_reason(status)));
	/* One walk; each append walks r's list (at most max_headers long). */
	for (v = osip_list_get_first(&req->vias, &it); v != NULL;
	    v = osip_list_get_next(&it)) {
		if (osip_via_clone(v, &vc) != 0)
			goto out;
		osip_list_add(&r->vias, vc, -1);
	}
	via_stamp(r, src);
	if (osip_from_clone(req->from, &r->from) != 0 ||
	    osip_to_clone(req->to, &r->to) != 0 ||
	    osip_call_id_clone(req->call_id, &r->call_id) != 0 ||
	    osip_cseq_clone(req->cseq, &r->cseq) != 0)
		goto out;
	if (status > 100 && to_tag != NULL &&
	    (osip_to_get_tag(r->to, &tag) != 0 || tag == NULL))
		osip_to_set_tag(r->to, osip_strdup(to_tag));
	for (; headers != NULL && headers[0] != NULL; headers += 2)
		osip_message_set_header(r, headers[0], headers[1]);
	osip_message_set_content_length(r, "0");
	if (osip_message_to_str(r, &text, &len) != 0)
		goto out;
	out = xstrndup(text, len);
	*lenp = len;
	osip_free(text);
out:
	osip_message_free(r);
	return out;
}

/* Compact and long names of the headers echoed into a raw response. */
static const char *const echo_names[][2] = {
	{ "Via", "v" }, { "From", "f" }, { "To", "t" }, { "Call-ID", "i" },
	{ "CSeq", NULL }
};

/* Index into echo_names of the header on this line, or -1. */
static int
echo_index(const char *line, size_t n)
{
	size_t i, k, nl;
	const char *nm;

	/* Most lines of a long header section are none of them. */
	if (n == 0 || strchr("vVfFtTiIcC", line[0]) == NULL)
		return -1;
	for (i = 0; i < sizeof echo_names / sizeof echo_names[0]; i++) {
		for (k = 0; k < 2; k++) {
			if ((nm = echo_names[i][k]) == NULL)
				continue;
			nl = strlen(nm);
			if (n > nl && strncasecmp(line, nm, nl) == 0) {
				const char *p = line + nl;

				while (p < line + n && (*p == ' ' || *p == '\t'))
					p++;
				if (p < line + n && *p == ':')
					return (int)i;
			}
		}
	}
	return -1;
}

/*
 * Length of the first element of a Via line's value v[0..n): up to the
 * first comma outside quotes and angle brackets.
 */
static size_t
first_element(const char *v, size_t n)
{
	size_t i;
	int quote = 0;

	for (i = 0; i < n; i++) {
		if (v[i] == '"')
			quote = !quote;
		else if (v[i] == ',' && !quote)
			return i;
	}
	return n;
}

/*
 * Offset in via[0..n) just past the name of a parameter pname (";pname"
 * followed by '=', ';', ',', white space or the end), or 0.
 */
static size_t
via_param(const char *via, size_t n, const char *pname)
{
	size_t i, pl = strlen(pname), j;

	for (i = 0; i < n; i++) {
		if (via[i] != ';')
			continue;
		for (j = i + 1; j < n && (via[j] == ' ' || via[j] == '\t'); j++)
			;
		if (n - j >= pl && strncasecmp(via + j, pname, pl) == 0 &&
		    (j + pl == n || strchr("=; \t,", via[j + pl]) != NULL))
			return j + pl;
	}
	return 0;
}

/*
 * The host of a Via element via[0..n) ("SIP/2.0/UDP host:port;..."), in
 * host (brackets of an IPv6 reference dropped); empty when not found.
 */
static void
via_host(const char *via, size_t n, char *host, size_t hostsz)
{
	const char *p = via, *end = via + n, *h;
	int slashes = 0;

	host[0] = '\0';
	while (p < end && slashes < 2)
		if (*p++ == '/')
			slashes++;
	while (p < end && *p != ' ' && *p != '\t')	/* the transport */
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '[') {
		h = ++p;
		while (p < end && *p != ']')
			p++;
	} else {
		h = p;
		while (p < end && strchr(":; \t", *p) == NULL)
			p++;
	}
	if ((size_t)(p - h) < hostsz) {
		memcpy(host, h, (size_t)(p - h));
		host[p - h] = '\0';
	}
}

/*
 * Append the top Via line's value v[0..n) with received and rport filled
 * in from src (s.18.2.1, RFC 3581 s.4): received when the sent-by host is
 * not the source address or rport was asked for; rport's value.
 */
static void
ob_top_via(struct obuf *b, const char *v, size_t n, const struct sip_src *src)
{
	size_t el = first_element(v, n), rp;
	char host[64], num[16];
	int has_received;

	if (src == NULL || src->ip == NULL) {
		ob_clean(b, v, n);
		return;
	}
	via_host(v, el, host, sizeof host);
	has_received = via_param(v, el, "received") != 0;
	rp = via_param(v, el, "rport");
	if (rp != 0 && rp < el && v[rp] == '=')
		rp = 0;		/* a value already: leave it */
	if (rp != 0) {
		ob_clean(b, v, rp);
		snprintf(num, sizeof num, "=%d", src->port);
		ob_str(b, num);
		ob_clean(b, v + rp, el - rp);
	} else
		ob_clean(b, v, el);
	if (!has_received && (rp != 0 || strcmp(host, src->ip) != 0)) {
		ob_str(b, ";received=");
		ob_str(b, src->ip);
	}
	ob_clean(b, v + el, n - el);
}

char *
sip_msg_raw_response(const char *buf, size_t len, int status,
    const struct sip_src *src, const char *warn_host, const char *warning,
    size_t *lenp)
{
	const char *end = buf + sip_msg_header_len(buf, len), *line, *eol, *v;
	struct obuf b = { NULL, 0, 0 };
	int seen[5] = { 0 }, idx, top_via = 1;
	char tag[17], first[64];
	size_t n, i;

	if (len < 4 || strncasecmp(buf, "SIP/", 4) == 0 ||
	    strncmp(buf, "ACK ", 4) == 0)
		return NULL;
	snprintf(first, sizeof first, "SIP/2.0 %d %s\r\n", status,
	    osip_message_get_reason(status));
	ob_str(&b, first);
	line = memchr(buf, '\n', len);
	while (line != NULL && ++line < end) {
		eol = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((eol ? eol : end) - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		/* Every Via, but only the first of the single-value ones. */
		if ((idx = echo_index(line, n)) >= 0 && (idx == 0 || !seen[idx])) {
			if (idx == 0 && top_via) {
				v = (const char *)memchr(line, ':', n) + 1;
				ob_clean(&b, line, (size_t)(v - line));
				ob_top_via(&b, v, n - (size_t)(v - line), src);
				top_via = 0;
			} else
				ob_clean(&b, line, n);
			if (idx == 2 && status > 100 &&
			    memmem(line, n, "tag=", 4) == NULL) {
				str_random_hex(tag, 16);
				ob_str(&b, ";tag=");
				ob_str(&b, tag);
			}
			ob_add(&b, "\r\n", 2);
			seen[idx] = 1;
		}
		line = eol;
	}
	for (i = 0; i < 5; i++) {
		if (!seen[i]) {
			free(b.p);
			return NULL;
		}
	}
	if (warning != NULL) {
		ob_str(&b, "Warning: 399 ");
		ob_str(&b, warn_host);
		ob_str(&b, " \"");
		for (i = 0; warning[i] != '\0'; i++)	/* a valid quoted-string */
			ob_add(&b, warning[i] == '"' || warning[i] == '\\' ||
			    (unsigned char)warning[i] < 0x20 ? "'" : warning + i, 1);
		ob_str(&b, "\"\r\n");
	}
	ob_str(&b, "Server: sipedge/" PACKAGE_VERSION "\r\nContent-Length: 0\r\n\r\n");
	*lenp = b.len;
	return b.p;
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
