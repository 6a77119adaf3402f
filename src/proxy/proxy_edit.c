/*
 * proxy_edit.c: the text the proxy forwards.  Forwarded messages are the
 * received text with a few lines edited (sip_edit): header names, order
 * and spacing, unknown headers and the body pass as they came; the
 * decisions are made on the parsed message.  Max-Forwards, the request
 * line, received/rport on the caller's Via (s.18.2.1, RFC 3581),
 * Content-Length for a stream, and our own Via.  No I/O.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Room on the stack for a line this file writes; a longer one is malloc'd. */
#define LINE_STACK	512

/* The transport as a Via names it. */
static const char *
tp_upper(int transport)
{
	switch (transport) {
	case TP_UDP:	return "UDP";
	case TP_TCP:	return "TCP";
	default:	return "TLS";
	}
}

/* s.16.6 step 3: Max-Forwards one less, or 70 when there was none. */
void
proxy_edit_max_forwards(struct sip_edit *e, osip_message_t *m)
{
	osip_header_t *h = NULL;
	char line[48];
	const char *lines[1] = { line };
	int mf;

	memcpy(line, "Max-Forwards: ", 14);
	if (osip_message_get_max_forwards(m, 0, &h) < 0 || h == NULL ||
	    h->hvalue == NULL) {
		str_int(MF_DEFAULT, line + 14);
		sip_edit_insert(e, NULL, line);
		return;
	}
	mf = atoi(h->hvalue);
	str_int(mf > 0 ? mf - 1 : 0, line + 14);
	sip_edit_replace(e, "Max-Forwards", lines, 1);
}

/* A body without Content-Length (UDP) may go on a stream: add it. */
void
proxy_edit_length(struct sip_edit *e)
{
	char line[48];

	if (sip_edit_count(e, "Content-Length") > 0)
		return;
	snprintf(line, sizeof line, "Content-Length: %zu",
	    sip_edit_body_len(e));
	sip_edit_append(e, line);
}

/* The request line "METHOD uri SIP/2.0". */
void
proxy_edit_request_line(struct sip_edit *e, const char *method, const char *uri)
{
	char buf[LINE_STACK], *line;

	line = str_join(buf, sizeof buf, NULL, method, " ", uri, " SIP/2.0",
	    (char *)NULL);
	sip_edit_start_line(e, line);
	if (line != buf)
		free(line);
}

/*
 * v (n bytes) with "=port" inserted at at (when port >= 0) and
 * ";received=ip" at the end (when ip is set): in buf (bufsz) when it
 * fits, else malloc'd; its length in *lenp.
 */
static char *
via_join(const char *v, size_t n, size_t at, int port, const char *ip,
    char *buf, size_t bufsz, size_t *lenp)
{
	char pv[32];
	size_t pl = 0, il = ip != NULL ? strlen(ip) : 0, len, o;
	char *out;

	if (port >= 0) {
		pv[0] = '=';
		pl = 1 + strlen(str_int(port, pv + 1));
	}
	len = n + pl + (ip != NULL ? 10 + il : 0);
	out = len < bufsz ? buf : xmalloc(len + 1);
	memcpy(out, v, at);
	memcpy(out + at, pv, pl);
	memcpy(out + at + pl, v + at, n - at);
	o = n + pl;
	if (ip != NULL) {
		memcpy(out + o, ";received=", 10);
		memcpy(out + o + 10, ip, il);
	}
	out[len] = '\0';
	*lenp = len;
	return out;
}

/*
 * The top Via value v (n bytes) with received=ip added (when ip is set)
 * and a value for an empty rport param (RFC 3581), in buf (bufsz) when
 * it fits, else malloc'd, its length in *lenp; NULL when nothing
 * changes.
 */
static char *
via_marked(const char *v, size_t n, const char *ip, int port, char *buf,
    size_t bufsz, size_t *lenp)
{
	size_t i, ns, ne, at = 0;
	int quoted = 0, empty = 0;

	for (i = 0; i < n; i++) {
		if (quoted) {
			if (v[i] == '\\' && i + 1 < n)
				i++;
			else if (v[i] == '"')
				quoted = 0;
			continue;
		}
		if (v[i] == '"')
			quoted = 1;
		if (v[i] != ';')
			continue;
		for (ns = i + 1; ns < n && (v[ns] == ' ' || v[ns] == '\t');
		    ns++)
			;
		for (ne = ns; ne < n && v[ne] != '=' && v[ne] != ';' &&
		    v[ne] != ' ' && v[ne] != '\t'; ne++)
			;
		if (ne - ns != 5 || strncasecmp(v + ns, "rport", 5) != 0)
			continue;
		for (i = ne; i < n && (v[i] == ' ' || v[i] == '\t'); i++)
			;
		if (i == n || v[i] != '=') {
			empty = 1;	/* rport without a value */
			at = ne;
		}
		break;
	}
	if (!empty && ip == NULL)
		return NULL;
	if (!empty)
		at = n;
	return via_join(v, n, at, empty ? port : -1, ip, buf, bufsz, lenp);
}

/* s.18.2.1 / RFC 3581: received and rport on the top Via of the text. */
void
proxy_edit_received(struct sip_edit *e, const osip_message_t *m,
    const struct sip_origin *o)
{
	osip_via_t *v = osip_list_get(&m->vias, 0);
	const char *text;
	char buf[LINE_STACK], *nv;
	size_t n, nl;

	if (v == NULL || (text = sip_edit_first_value(e, "Via", &n)) == NULL)
		return;
	nv = via_marked(text, n, v->host == NULL ||
	    strcasecmp(v->host, o->peer_ip) != 0 ? o->peer_ip : NULL,
	    o->peer_port, buf, sizeof buf, &nl);
	if (nv == NULL)
		return;
	sip_edit_replace_first(e, "Via", nv, nl);
	if (nv != buf)
		free(nv);
}

/* s.18.2.1 / RFC 3581: received and rport on the top Via of a request. */
void
proxy_edit_mark_received(osip_message_t *m, const struct sip_origin *o)
{
	osip_via_t *v = osip_list_get(&m->vias, 0);
	osip_generic_param_t *p = NULL;
	char port[24];

	if (v == NULL)
		return;
	if (v->host == NULL || strcasecmp(v->host, o->peer_ip) != 0)
		osip_via_param_add(v, osip_strdup("received"),
		    osip_strdup(o->peer_ip));
	if (osip_via_param_get_byname(v, "rport", &p) == 0 && p != NULL &&
	    p->gvalue == NULL) {
		p->gvalue = osip_strdup(str_int(o->peer_port, port));
	}
}

/* Our Via on top of e: transport, host:port, branch, ";rport" when asked. */
void
proxy_edit_via(struct sip_edit *e, int transport, const char *host, int port,
    const char *branch, int rport)
{
	char buf[LINE_STACK], pt[24], *line;

	line = str_join(buf, sizeof buf, NULL, "Via: SIP/2.0/",
	    tp_upper(transport), " ", host, ":", str_int(port, pt),
	    ";branch=", branch, rport ? ";rport" : "", (char *)NULL);
	sip_edit_insert(e, "Via", line);
	if (line != buf)
		free(line);
}
