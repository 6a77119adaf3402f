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
#include "util/xmalloc.h"

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

	if (osip_message_get_max_forwards(m, 0, &h) < 0 || h == NULL ||
	    h->hvalue == NULL) {
		snprintf(line, sizeof line, "Max-Forwards: %d", MF_DEFAULT);
		sip_edit_insert(e, NULL, line);
		return;
	}
	mf = atoi(h->hvalue);
	snprintf(line, sizeof line, "Max-Forwards: %d", mf > 0 ? mf - 1 : 0);
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
	char *line = xasprintf("%s %s SIP/2.0", method, uri);

	sip_edit_start_line(e, line);
	free(line);
}

/*
 * The top Via value v (n bytes) with received=ip added (when ip is set)
 * and a value for an empty rport param (RFC 3581); NULL when nothing
 * changes.
 */
static char *
via_marked(const char *v, size_t n, const char *ip, int port)
{
	size_t i, ns, ne, at = 0;
	int quoted = 0, empty = 0;
	char pv[16];

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
	pv[0] = '\0';
	if (empty)
		snprintf(pv, sizeof pv, "=%d", port);
	else
		at = n;
	return xasprintf("%.*s%s%.*s%s%s", (int)at, v, pv, (int)(n - at),
	    v + at, ip != NULL ? ";received=" : "", ip != NULL ? ip : "");
}

/* s.18.2.1 / RFC 3581: received and rport on the top Via of the text. */
void
proxy_edit_received(struct sip_edit *e, const osip_message_t *m,
    const struct sip_origin *o)
{
	osip_via_t *v = osip_list_get(&m->vias, 0);
	const char *text;
	char *nv;
	size_t n;

	if (v == NULL || (text = sip_edit_first_value(e, "Via", &n)) == NULL)
		return;
	nv = via_marked(text, n, v->host == NULL ||
	    strcasecmp(v->host, o->peer_ip) != 0 ? o->peer_ip : NULL,
	    o->peer_port);
	if (nv != NULL)
		sip_edit_replace_first(e, "Via", nv, strlen(nv));
	free(nv);
}

/* s.18.2.1 / RFC 3581: received and rport on the top Via of a request. */
void
proxy_edit_mark_received(osip_message_t *m, const struct sip_origin *o)
{
	osip_via_t *v = osip_list_get(&m->vias, 0);
	osip_generic_param_t *p = NULL;
	char port[16];

	if (v == NULL)
		return;
	if (v->host == NULL || strcasecmp(v->host, o->peer_ip) != 0)
		osip_via_param_add(v, osip_strdup("received"),
		    osip_strdup(o->peer_ip));
	if (osip_via_param_get_byname(v, "rport", &p) == 0 && p != NULL &&
	    p->gvalue == NULL) {
		snprintf(port, sizeof port, "%d", o->peer_port);
		p->gvalue = osip_strdup(port);
	}
}

/* Our Via on top of e: transport, host:port, branch, ";rport" when asked. */
void
proxy_edit_via(struct sip_edit *e, int transport, const char *host, int port,
    const char *branch, int rport)
{
	char *line = xasprintf("Via: SIP/2.0/%s %s:%d;branch=%s%s",
	    tp_upper(transport), host, port, branch, rport ? ";rport" : "");

	sip_edit_insert(e, "Via", line);
	free(line);
}
