/*
 * sip_msg.c: parsing with libosip2 plus the validation it lacks, and
 * response building.  Responses to messages we cannot parse are assembled
 * by echoing the transaction headers as text (s.8.2.6).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/sip_msg.h"
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

osip_message_t *
sip_msg_parse(const char *buf, size_t len)
{
	osip_message_t *m;

	if (osip_message_init(&m) != 0)
		return NULL;
	if (osip_message_parse(m, buf, len) != 0) {
		osip_message_free(m);
		return NULL;
	}
	return m;
}

static int
all_digits(const char *s, size_t maxlen)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++, n++)
		if (!isdigit((unsigned char)*s) || n >= maxlen)
			return 0;
	return 1;
}

int
sip_msg_check(const osip_message_t *m, char *why, size_t whysz)
{
	osip_header_t *mf = NULL;
	const char *scheme;

#define BAD(code, ...) do { snprintf(why, whysz, __VA_ARGS__); return code; } while (0)
	if (m->sip_version == NULL || strcmp(m->sip_version, "SIP/2.0") != 0)
		BAD(505, "SIP version %s is not supported",
		    m->sip_version ? m->sip_version : "(none)");
	if (osip_list_size(&m->vias) == 0)
		BAD(400, "Via header is missing");
	if (m->cseq == NULL || m->cseq->number == NULL || m->cseq->method == NULL)
		BAD(400, "CSeq header is missing or malformed");
	if (!all_digits(m->cseq->number, 10) ||
	    strtoul(m->cseq->number, NULL, 10) > 2147483647UL)
		BAD(400, "CSeq number '%s' is not an integer below 2**31",
		    m->cseq->number);
	if (m->from == NULL)
		BAD(400, "From header is missing");
	if (m->to == NULL)
		BAD(400, "To header is missing");
	if (m->call_id == NULL || m->call_id->number == NULL)
		BAD(400, "Call-ID header is missing");
	if (!MSG_IS_REQUEST(m))
		return 0;
	if (m->sip_method == NULL || m->req_uri == NULL)
		BAD(400, "request line is malformed");
	if (strcmp(m->cseq->method, m->sip_method) != 0)
		BAD(400, "CSeq method %s does not match the request method %s",
		    m->cseq->method, m->sip_method);
	scheme = m->req_uri->scheme;
	if (scheme == NULL || (strcasecmp(scheme, "sip") != 0 &&
	    strcasecmp(scheme, "sips") != 0))
		BAD(416, "request-URI scheme '%s' is not supported",
		    scheme ? scheme : "");
	if (osip_message_get_max_forwards(m, 1, &mf) >= 0 && mf != NULL)
		BAD(400, "Max-Forwards appears more than once");
	mf = NULL;
	if (osip_message_get_max_forwards(m, 0, &mf) >= 0 && mf != NULL &&
	    (!all_digits(mf->hvalue, 3) || atoi(mf->hvalue) > 255))
		BAD(400, "Max-Forwards '%s' is not an integer from 0 to 255",
		    mf->hvalue ? mf->hvalue : "");
	return 0;
#undef BAD
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
	int pos;

	if (osip_message_init(&r) != 0)
		return NULL;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(phrase ? phrase :
	    osip_message_get_reason(status)));
	for (pos = 0; (v = osip_list_get(&req->vias, pos)) != NULL; pos++) {
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

char *
sip_msg_raw_response(const char *buf, size_t len, int status,
    const char *warn_host, const char *warning, size_t *lenp)
{
	const char *end, *line, *eol, *hdr_end;
	char *out, *t;
	int seen[5] = { 0 }, idx;
	size_t n, i;

	/* Stop at the end of the header section. */
	hdr_end = buf + len;
	for (line = buf; line < buf + len; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(buf + len - line));
		if (eol == NULL)
			break;
		if (eol == line || (eol == line + 1 && line[0] == '\r')) {
			hdr_end = line;
			break;
		}
	}
	end = hdr_end;
	if (len < 4 || strncasecmp(buf, "SIP/", 4) == 0 ||
	    strncmp(buf, "ACK ", 4) == 0)
		return NULL;
	out = xasprintf("SIP/2.0 %d %s\r\n", status,
	    osip_message_get_reason(status));
	line = memchr(buf, '\n', len);
	while (line != NULL && ++line < end) {
		eol = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((eol ? eol : end) - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if ((idx = echo_index(line, n)) >= 0) {
			int need_tag = idx == 2 && memmem(line, n, "tag=", 4) == NULL;

			/* Never echo control bytes; they could split lines. */
			for (i = 0; i < n; i++)
				if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
					break;
			if (i == n) {
				t = xasprintf("%s%.*s%s\r\n", out, (int)n, line,
				    need_tag && status > 100 ? ";tag=sipedge-err" : "");
				free(out);
				out = t;
				seen[idx] = 1;
			}
		}
		line = eol;
	}
	for (i = 0; i < 5; i++) {
		if (!seen[i]) {
			free(out);
			return NULL;
		}
	}
	if (warning != NULL) {
		char *w = xstrdup(warning);

		for (i = 0; w[i]; i++)	/* keep the quoted-string valid */
			if (w[i] == '"' || w[i] == '\\' || (unsigned char)w[i] < 0x20)
				w[i] = '\'';
		t = xasprintf("%sWarning: 399 %s \"%s\"\r\n", out, warn_host, w);
		free(w);
		free(out);
		out = t;
	}
	t = xasprintf("%sServer: sipedge/%s\r\nContent-Length: 0\r\n\r\n", out,
	    PACKAGE_VERSION);
	free(out);
	*lenp = strlen(t);
	return t;
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
