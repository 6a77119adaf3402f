/*
 * sip_msg_reply.c: what goes back to a peer.  The diagnosis of what the
 * parser refused (which start line or header, and why), and responses:
 * built from a parsed request, or, for a message we cannot parse, by
 * echoing its transaction headers as text (RFC 3261 s.8.2.6).  Peer text
 * reaches a reason only quoted and cut short.
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
#include "sip/sip_msg_int.h"
#include "util/str.h"
#include "util/xmalloc.h"

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
			return sip_msg_fail(why, whysz, 505, "SIP version '%.*s' is not "
			    "supported (only SIP/2.0)", CUT((sp1 ? sp1 : end) - p),
			    p);
		if (end - sp1 < 4 || !isdigit((unsigned char)sp1[1]) ||
		    !isdigit((unsigned char)sp1[2]) ||
		    !isdigit((unsigned char)sp1[3]) ||
		    (end - sp1 > 4 && sp1[4] != ' '))
			return sip_msg_fail(why, whysz, 400, "status line '%.*s' is not "
			    "SIP/2.0, a 3-digit code and a reason phrase", CUT(n),
			    p);
		return 0;
	}
	/* Request-Line = Method SP Request-URI SP SIP-Version (s.7.1) */
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1 ||
	    sp2 + 1 == end || memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)))
		return sip_msg_fail(why, whysz, 400, "request line '%.*s' is not a "
		    "method, a request-URI and a SIP version separated by single "
		    "spaces", CUT(n), p);
	if (!is_sip20(sp2 + 1, (size_t)(end - sp2 - 1)))
		return sip_msg_fail(why, whysz, 505, "SIP version '%.*s' is not "
		    "supported (only SIP/2.0)", CUT(end - sp2 - 1), sp2 + 1);
	uri = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	bad = osip_uri_init(&u) != 0 || osip_uri_parse(u, uri) != 0;
	osip_uri_free(u);
	if (bad)
		sip_msg_fail(why, whysz, 400, "request-URI '%.60s' cannot be parsed", uri);
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

/* Index into sip_msg_singles[] of a header name (long or compact form), or -1. */
static int
single_index(const char *name)
{
	size_t i;

	for (i = 0; i < SIP_MSG_NSINGLES; i++)
		if (strcasecmp(name, sip_msg_singles[i].name) == 0 ||
		    (sip_msg_singles[i].compact != NULL &&
		    strcasecmp(name, sip_msg_singles[i].compact) == 0))
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

	if (!sip_msg_is_token(name))
		return sip_msg_fail(why, whysz, 400, "header name '%.60s' is not a token",
		    name);
	if ((i = single_index(name)) >= 0 && seen[i]++ > 0)
		return sip_msg_fail(why, whysz, 400, "%s header appears more than once",
		    sip_msg_singles[i].name);
	lname = xstrdup(name);
	for (p = lname; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	lvalue = xstrdup(value);	/* libosip2 may edit it in place */
	r = osip_message_set_multiple_header(scratch, lname, lvalue);
	free(lname);
	free(lvalue);
	if (r != 0)
		return sip_msg_fail(why, whysz, 400, "%s header '%.60s' cannot be parsed",
		    i >= 0 ? sip_msg_singles[i].name : name, value);
	return 0;
}

int
sip_msg_parse_error(const char *buf, size_t len, char *why, size_t whysz)
{
	const char *p = buf, *end = buf + len, *eol;
	osip_message_t *scratch;
	char *name = NULL, *value = NULL;
	int seen[SIP_MSG_NSINGLES] = { 0 }, st = 0, r;

	while (p < end && (*p == '\r' || *p == '\n'))	/* s.7.5 */
		p++;
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return sip_msg_fail(why, whysz, 400, "message has no header section");
	if ((st = start_line_error(p, (size_t)(eol - p), why, whysz)) != 0)
		return st;
	if (osip_message_init(&scratch) != 0)
		return sip_msg_fail(why, whysz, 400, "message could not be parsed");
	p = eol + 1;
	while (st == 0 && (r = next_header(&p, end, &name, &value)) != 0) {
		if (r < 0)
			st = sip_msg_fail(why, whysz, 400, "header line '%.60s' has no "
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
	return sip_msg_fail(why, whysz, 400, "message could not be parsed");
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

/*
 * The continuation lines (s.7.3.1: starting with a space or a tab) that
 * follow an echoed line whose line end is at eol, echoed too, each on its
 * own line as it came; *fold is where they start (NULL without any).
 * Returns the line end of the last one (eol when there was none).
 */
static const char *
echo_folded(struct obuf *b, const char *eol, const char *end,
    const char **fold)
{
	const char *line, *next;
	size_t n;

	*fold = NULL;
	while (eol != NULL && eol + 1 < end && (eol[1] == ' ' || eol[1] == '\t')) {
		line = eol + 1;
		if (*fold == NULL)
			*fold = line;
		next = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((next ? next : end) - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		ob_add(b, "\r\n", 2);
		ob_clean(b, line, n);
		eol = next;
	}
	return eol;
}

char *
sip_msg_raw_response(const char *buf, size_t len, int status,
    const struct sip_src *src, const char *warn_host, const char *warning,
    size_t *lenp)
{
	const char *end = buf + sip_msg_header_len(buf, len), *line, *eol, *v;
	struct obuf b = { NULL, 0, 0 };
	const char *fold;
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
			eol = echo_folded(&b, eol, end, &fold);
			if (idx == 2 && status > 100 &&
			    memmem(line, n, "tag=", 4) == NULL &&
			    (fold == NULL || memmem(fold, (size_t)((eol ? eol :
			    end) - fold), "tag=", 4) == NULL)) {
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
