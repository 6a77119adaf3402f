/*
 * sip_msg_check.c: the validation libosip2 lacks, as a table of rules
 * from RFC 3261 s.7, s.8.2, s.16.3 and s.20: the start line, the
 * mandatory headers, those that may appear once, the numbers, CSeq,
 * Call-ID, From/To, the Vias, option tags and URI schemes; and the 420
 * answer to a Require or Proxy-Require naming an extension we lack.
 * Peer text reaches a reason only quoted and cut short.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/sip_msg.h"
#include "sip/sip_msg_int.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* --- what the checks are made of ------------------------------------ */

/*
 * The classes of a byte: 1 token (RFC 3261 s.25.1: alphanumerics and
 * -.!%*_+`'~), 2 word (s.25.1, the halves of a Call-ID: a token's bytes
 * and ()<>:\"/[]?{}).  A table, since every Call-ID and CSeq method is
 * walked byte by byte.
 */
static const unsigned char char_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 10 */
	0, 3, 2, 0, 0, 3, 0, 3, 2, 2, 3, 3, 0, 3, 3, 2,	/* 20 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 0, 2, 0, 2, 2,	/* 30 */
	0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,	/* 40 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 0, 3,	/* 50 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,	/* 60 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 0, 2, 3, 0,	/* 70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* a0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* b0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* c0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* d0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* e0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* f0 */
};

/* token (s.25.1). */
static int
is_token_char(unsigned char c)
{
	return (char_class[c] & 1) != 0;
}

/* word (s.25.1). */
static int
is_word_char(unsigned char c)
{
	return (char_class[c] & 2) != 0;
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

/* The host and port of a SIP or SIPS URI are well formed (s.19.1.1). */
static int
check_sip_uri(const osip_uri_t *u, const char *what, char *why, size_t whysz)
{
	if (!is_scheme(u->scheme))
		return sip_msg_fail(why, whysz, 400, "%s scheme '%.60s' is not a URI "
		    "scheme", what, u->scheme ? u->scheme : "");
	if (strcasecmp(u->scheme, "sip") != 0 &&
	    strcasecmp(u->scheme, "sips") != 0)
		return 0;
	if (!is_host(u->host))
		return sip_msg_fail(why, whysz, 400, "%s host '%.60s' is not a host "
		    "name or IP address", what, u->host ? u->host : "");
	if (u->port != NULL && !is_port(u->port))
		return sip_msg_fail(why, whysz, 400, "%s port '%.60s' is not a number "
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
		return sip_msg_fail(why, whysz, 505, "SIP version '%.60s' is not "
		    "supported (only SIP/2.0)", v ? v : "");
	return 0;
}

/* s.7.1: the method is a token; a SIP or SIPS request-URI is well formed. */
static int
check_request_line(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	if (m->sip_method == NULL || m->req_uri == NULL)
		return sip_msg_fail(why, whysz, 400, "request line is malformed");
	if (!all_of(m->sip_method, is_token_char))
		return sip_msg_fail(why, whysz, 400, "request method '%.60s' is not a "
		    "token", m->sip_method);
	return check_sip_uri(m->req_uri, "request-URI", why, whysz);
}

/* s.7.2: a status code has three digits, the first from 1 to 6. */
static int
check_status_code(const osip_message_t *m, const struct generic *g, char *why,
    size_t whysz)
{
	if (m->status_code < 100 || m->status_code > 699)
		return sip_msg_fail(why, whysz, 400, "status code %d is not from 100 "
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
			return sip_msg_fail(why, whysz, 400, "%s header is missing or "
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
/* SIP_MSG_NSINGLES rows exactly: the table of sip_msg_int.h. */
const struct sip_msg_single sip_msg_singles[SIP_MSG_NSINGLES] = {
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
	int			 nsingle[SIP_MSG_NSINGLES];	/* rows of each */
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
		for (i = 0; i < SIP_MSG_NSINGLES; i++)
			if (strcasecmp(h->hname, sip_msg_singles[i].name) == 0 ||
			    (sip_msg_singles[i].compact != NULL &&
			    strcasecmp(h->hname, sip_msg_singles[i].compact) == 0))
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

	for (i = 0; i < SIP_MSG_NSINGLES; i++)
		if (g->nsingle[i] > 1)
			return sip_msg_fail(why, whysz, 400, "%s header appears more "
			    "than once", sip_msg_singles[i].name);
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
			return sip_msg_fail(why, whysz, 400, "%s '%.60s' is not an "
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
		return sip_msg_fail(why, whysz, 400, "CSeq method '%.60s' is not a "
		    "token", m->cseq->method);
	if (MSG_IS_REQUEST(m) && strcmp(m->cseq->method, m->sip_method) != 0)
		return sip_msg_fail(why, whysz, 400, "CSeq method %.60s does not match "
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
		return sip_msg_fail(why, whysz, 400, "Call-ID '%.60s%s%.60s' is not a "
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
			return sip_msg_fail(why, whysz, 400, "%s is missing",
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
			return sip_msg_fail(why, whysz, 400, "Via protocol version "
			    "'%.60s' is not 2.0", v->version ? v->version : "");
		if (!all_of(v->protocol, is_token_char))
			return sip_msg_fail(why, whysz, 400, "Via transport '%.60s' is not "
			    "a token", v->protocol ? v->protocol : "");
		if (!is_host(v->host))
			return sip_msg_fail(why, whysz, 400, "Via sent-by host '%.60s' is "
			    "not a host name or IP address", v->host ? v->host : "");
		if (v->port != NULL && !is_port(v->port))
			return sip_msg_fail(why, whysz, 400, "Via sent-by port '%.60s' is "
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
			return sip_msg_fail(why, whysz, 400, "%s option '%.60s' is "
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
		return sip_msg_fail(why, whysz, 416, "request-URI scheme '%.60s' is not "
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

/* 1 when s is a token (RFC 3261 s.25.1): not empty, token bytes only. */
int
sip_msg_is_token(const char *s)
{
	return all_of(s, is_token_char);
}
