/*
 * proxy.c: the transaction-stateful proxy core (RFC 3261 s.16).
 *
 * A request becomes a "forward" (struct fwd): its server transaction, a
 * private copy of the parsed request after Route processing (for the
 * decisions and our own responses), the text to forward, and the list of
 * targets to try.  What is forwarded, requests and responses, is the text
 * that came with a few lines edited (sip_edit): never libosip2's
 * re-serialisation, which would change header names, order and spacing.  A target is a neighbor zone (its active peers are
 * tried in order), a flow (the connection an in-dialog request's caller
 * is on) or the request-URI's own address.  One branch is in flight at a
 * time (serial search, s.16.6 with s.16.7 step 5): a branch that cannot
 * be sent, times out (timer B/F) or answers 503 moves on to the next
 * peer, then to the next target; any other final response is forwarded
 * and ends the search.  The forward lives until its server transaction
 * ends, so that the 2xx retransmissions of an INVITE (RFC 6026) still
 * pass.
 *
 * Record-Route: every dialog-creating request gets two entries (RFC 5658
 * style), one facing each side, each with one opaque parameter (set=, see
 * proxy/rrtok): the zone of its side, the zone peer, the caller's
 * connection, the side it faces and a pair id, sealed under the key file
 * and bound to the Call-ID.  Nothing from the network chooses a next hop
 * unless this node sealed it (DESIGN.md decision 14): an out-of-dialog
 * request loses the Route entries naming this node and goes where the
 * search rules say; an in-dialog request (To-tag) that names this node in
 * Route must pop both entries of one genuine pair, the first facing where
 * it came from (its zone, and for a flow its very connection), and goes
 * where the second says; anything else is refused with 403.  Sending to
 * the request-URI's own address happens only when that second entry says
 * so (a UDP caller of the default zone).
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "net/net_addr.h"
#include "proxy/proxy.h"
#include "proxy/route.h"
#include "proxy/rrtok.h"
#include "proxy/trav.h"
#include "sip/sip_edit.h"
#include "sip/sip_msg.h"
#include "sip/sip_txn.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Our branches: the cookie, this mark, 16 hex of the loop hash, 16 random. */
#define BRANCH_MARK	"se"
#define MF_DEFAULT	70
#define PX_RETRY_AFTER	"30"

struct target {
	char			*zone;	/* neighbor zone, or NULL */
	char			*uri;	/* request-URI to send; NULL: as is */
	char			*rule;	/* "name (priority N)" for logs */
	unsigned long long	 flow;	/* in-dialog: the caller's connection */
	int			 direct;	/* in-dialog: the R-URI's address,
					   as the sealed entry says */
	int			 peer;	/* in-dialog: the zone peer of the
					   dialog, tried first; -1 */
};

struct fwd {
	struct proxy		*px;
	struct fwd		*prev, *next;
	struct txn		*st;		/* NULL once it ended */
	osip_message_t		*req;		/* after Route processing */
	char			*text;		/* the request to send: the
						   received text with Route,
						   Max-Forwards and the top Via
						   edited; branches add theirs */
	size_t			 textlen;
	char			*call_id;
	char			*method;
	char			*src_zone;
	char			*rr_in;		/* Record-Route facing the caller */
	uint64_t		 pair;		/* the pair id of ours */
	char			*dialog;	/* its Call-ID, as tokens bind it */
	uint64_t		 loop;		/* s.16.6 step 8 hash */
	struct target		*tg;
	size_t			 ntg;
	size_t			 ti;		/* the target being tried */
	size_t			 peer_from;	/* next peer index in its zone */
	struct txn		*ct;		/* the branch in flight */
	int			 cur_peer;	/* its zone peer index, -1 */
	char			*ct_zone;	/* its zone and peer, for logs */
	char			*ct_peer;
	struct event		*timer_c;
	int			 got_provisional;
	int			 cancelled;
	int			 final;		/* a final response went up */
	int			 fail_status;	/* 408 or 503: why the last
						   branch failed */
	char			*fail_reason;
};

struct proxy {
	struct event_base	*base;
	struct sip_transport	*t;
	struct zones		*zs;
	struct trav		*trav;
	struct txn_layer	*tl;
	const struct conf	*conf;
	char			**names;
	size_t			  nnames;
	int			  timer_c;
	const struct rrtok_keys	 *keys;		/* Record-Route tokens */
	struct rrtok_keys	 *own_keys;	/* when given none */
	struct fwd		*fwds;
	struct proxy_stats	  st;
};

static void	try_next(struct fwd *);

/* --- small helpers -------------------------------------------------- */

static const char *
tp_upper(int transport)
{
	switch (transport) {
	case TP_UDP:	return "UDP";
	case TP_TCP:	return "TCP";
	default:	return "TLS";
	}
}

static uint64_t
fnv(uint64_t h, const char *s)
{
	if (s == NULL)
		s = "";
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;		/* field separator */
	h *= 0x100000001b3ULL;
	return h;
}

static char *
uri_text(const osip_uri_t *u)
{
	char *s = NULL, *r;

	if (u == NULL || osip_uri_to_str(u, &s) != 0 || s == NULL)
		return xstrdup("");
	r = xstrdup(s);
	osip_free(s);
	return r;
}

static const char *
tag_of(osip_from_t *f)
{
	osip_generic_param_t *p = NULL;

	if (f == NULL || osip_from_get_tag(f, &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue;
}

static const char *
uparam(const osip_uri_t *u, const char *name)
{
	osip_uri_param_t *p = NULL;

	if (u == NULL ||
	    osip_uri_param_get_byname((osip_list_t *)&u->url_params,
	    (char *)name, &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue != NULL ? p->gvalue : "";
}

static const char *
vparam(const osip_via_t *v, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (osip_via_param_get_byname((osip_via_t *)v, (char *)name, &p) != 0 ||
	    p == NULL)
		return NULL;
	return p->gvalue != NULL ? p->gvalue : "";
}

/* Is host one of this node's names or addresses (or local)? */
static int
is_us(const struct proxy *px, const char *host, const char *local)
{
	size_t i, n;

	if (host == NULL)
		return 0;
	n = strlen(host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		char *bare = xstrndup(host + 1, n - 2);
		int r = is_us(px, bare, local);

		free(bare);
		return r;
	}
	if (local != NULL && strcasecmp(host, local) == 0)
		return 1;
	for (i = 0; i < px->nnames; i++)
		if (strcasecmp(host, px->names[i]) == 0)
			return 1;
	return 0;
}

/* "ip" or "[ip]" for a URI or Via. */
static void
host_for_uri(const char *ip, char *buf, size_t bufsz)
{
	if (strchr(ip, ':') != NULL)
		snprintf(buf, bufsz, "[%s]", ip);
	else
		snprintf(buf, bufsz, "%s", ip);
}

/* The Call-ID of m as one string (its dialog binding); malloc'd. */
static char *
dialog_id(const osip_message_t *m)
{
	char *s = NULL, *r;

	if (m->call_id == NULL || osip_call_id_to_str(m->call_id, &s) != 0 ||
	    s == NULL)
		return xstrdup("");
	r = xstrdup(s);
	osip_free(s);
	return r;
}

/*
 * One Record-Route entry of ours: <sip:host:port;transport=T;lr;set=TOKEN>
 * with t sealed for the dialog call_id; NULL when it cannot be sealed.
 */
static char *
rr_entry(const struct proxy *px, const char *host, int port, int transport,
    const struct rrtok *t, const char *call_id)
{
	char tok[RRTOK_TEXT_MAX];

	if (rrtok_seal(px->keys, t, call_id, tok, sizeof tok) == -1) {
		log_event(LOG_LVL_ERROR, "proxy", "record-route failed",
		    "call_id", call_id, "zone", t->zone, "reason",
		    "cannot seal the entry (zone name too long?)", NULL);
		return NULL;
	}
	return xasprintf("<sip:%s:%d;transport=%s;lr;" RRTOK_PARAM "=%s>",
	    host, port, conf_transport_name(transport), tok);
}

static void
target_clear(struct target *t)
{
	free(t->zone);
	free(t->uri);
	free(t->rule);
}

/* --- message log ---------------------------------------------------- */

/* The zone a message to or from (c, sa) belongs to. */
static const char *
message_zone(struct proxy *px, struct sip_conn *c, const struct sockaddr *sa)
{
	const char *z = NULL;

	if (c != NULL && px->trav != NULL)
		z = trav_conn_zone(px->trav, c);
	if (z == NULL && c != NULL && sip_conn_outbound(c))
		z = sip_conn_zone(c);
	if (z == NULL && c != NULL)
		sa = (const struct sockaddr *)&sip_conn_origin(c)->peer;
	if (z == NULL && sa != NULL)
		z = zones_classify(px->zs, sa);
	return z != NULL ? z : CONF_DEFAULT_ZONE;
}

/*
 * With log_messages on for its zone (and the log at debug level), the
 * whole text of a message received or sent, one event.
 */
static void
log_message(struct proxy *px, const char *event, int transport,
    const struct sockaddr *sa, struct sip_conn *c, const char *buf,
    size_t len)
{
	char peer[NET_ADDRSTRLEN + 8];
	const char *zone;
	struct log_line l;
	int on = 0;
	size_t i;

	if (!log_enabled(LOG_LVL_DEBUG) || buf == NULL || px->conf == NULL ||
	    px->zs == NULL)
		return;
	zone = message_zone(px, c, sa);
	if (strcmp(zone, CONF_DEFAULT_ZONE) == 0)
		on = px->conf->def_log_messages;
	for (i = 0; !on && i < px->conf->nzones; i++)
		if (strcmp(px->conf->zones[i].name, zone) == 0)
			on = px->conf->zones[i].log_messages;
	if (!on)
		return;
	if (c != NULL)
		sa = (const struct sockaddr *)&sip_conn_origin(c)->peer;
	if (sa != NULL)
		net_addr_str(sa, peer, sizeof peer);
	else
		snprintf(peer, sizeof peer, "-");
	log_begin(&l, LOG_LVL_DEBUG, "sip", event);
	log_kvs(&l, "zone", zone);
	log_kvs(&l, "peer", peer);
	log_kvs(&l, "transport", conf_transport_name(transport));
	log_kvn(&l, "message", buf, len);
	log_end(&l);
}

/* --- forwards ------------------------------------------------------- */

static void
fwd_free(struct fwd *f)
{
	struct proxy *px = f->px;
	size_t i;

	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		px->fwds = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	if (f->ct != NULL)
		txn_detach(f->ct);
	if (f->st != NULL)
		txn_detach(f->st);
	if (f->timer_c != NULL)
		event_free(f->timer_c);
	osip_message_free(f->req);
	free(f->text);
	for (i = 0; i < f->ntg; i++)
		target_clear(&f->tg[i]);
	free(f->tg);
	free(f->call_id);
	free(f->method);
	free(f->src_zone);
	free(f->rr_in);
	free(f->dialog);
	free(f->ct_zone);
	free(f->ct_peer);
	free(f->fail_reason);
	free(f);
}

static void
fail_note(struct fwd *f, int status, const char *why)
{
	f->fail_status = status;
	free(f->fail_reason);
	f->fail_reason = xstrdup(why);
}

/*
 * Answer the request of st ourselves: status, a Warning with why (when
 * set), extra headers.  req is the request as received.
 */
static void
respond_local(struct proxy *px, struct txn *st, const osip_message_t *req,
    const struct sip_src *src, int status, const char *why,
    const char *const *extra)
{
	const char *hdrs[16];
	char tag[17], *text, *warning = NULL;
	size_t n = 0, len;

	if (why != NULL) {
		warning = xasprintf("399 %s \"%s\"", px->nnames > 0 ?
		    px->names[0] : "sipedge", why);
		hdrs[n++] = "Warning";
		hdrs[n++] = warning;
	}
	hdrs[n++] = "Server";
	hdrs[n++] = "sipedge/" PACKAGE_VERSION;
	while (extra != NULL && *extra != NULL && n < 14)
		hdrs[n++] = *extra++;
	hdrs[n] = NULL;
	str_random_hex(tag, 16);
	text = sip_msg_response(req, src, status, NULL, tag, hdrs, &len);
	free(warning);
	if (text == NULL) {
		char cid[SIP_CALL_ID_MAX];

		log_event(LOG_LVL_ERROR, "proxy", "response failed", "call_id",
		    sip_msg_call_id(req, cid, sizeof cid), NULL);
		return;
	}
	if (status >= 200)
		px->st.local++;
	txn_respond_text(st, text, len);
	free(text);
}

/* The final response of f made here, once, with a log line. */
static void
fwd_final_local(struct fwd *f, int status, const char *why)
{
	static const char *const retry[] = { "Retry-After", PX_RETRY_AFTER, NULL };
	char code[16];

	if (f->final || f->st == NULL)
		return;
	f->final = 1;
	snprintf(code, sizeof code, "%d", status);
	log_event(status == 404 ? LOG_LVL_INFO : LOG_LVL_WARN, "proxy",
	    "request failed", "call_id", f->call_id, "method", f->method,
	    "zone", f->src_zone, "status", code, "reason",
	    why != NULL ? why : "-", NULL);
	respond_local(f->px, f->st, f->req, NULL, status, why,
	    status == 503 ? retry : NULL);
}

static void
timer_c_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;
	struct txn *ct = f->ct;

	(void)fd;
	(void)what;
	if (ct == NULL)
		return;
	/*
	 * s.16.8: with a provisional response the branch is cancelled;
	 * without one it ends as if a 408 came.  Either way the caller
	 * gets the 408 now rather than whatever the callee says to the
	 * CANCEL later.
	 */
	log_event(LOG_LVL_INFO, "proxy", "timer C fired", "call_id",
	    f->call_id, "zone", f->ct_zone, "peer", f->ct_peer, NULL);
	f->ct = NULL;
	txn_set_user(ct, NULL);
	if (f->got_provisional)
		txn_client_cancel(ct);
	txn_detach(ct);
	fwd_final_local(f, 408, "no final response before timer C");
}

static void
arm_timer_c(struct fwd *f)
{
	struct timeval tv = { f->px->timer_c, 0 };

	if (f->timer_c == NULL)
		f->timer_c = evtimer_new(f->px->base, timer_c_cb, f);
	evtimer_add(f->timer_c, &tv);
}

/* --- building the forwarded request ---------------------------------- */

/*
 * Forwarded messages are the received text with a few lines edited
 * (sip_edit): header names, order and spacing, unknown headers and the
 * body pass as they came.  The decisions are made on the parsed message.
 */

/* s.16.6 step 3: Max-Forwards one less, or 70 when there was none. */
static void
edit_max_forwards(struct sip_edit *e, osip_message_t *m)
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
static void
edit_length(struct sip_edit *e)
{
	char line[48];

	if (sip_edit_count(e, "Content-Length") > 0)
		return;
	snprintf(line, sizeof line, "Content-Length: %zu",
	    sip_edit_body_len(e));
	sip_edit_append(e, line);
}

/* The request line "METHOD uri SIP/2.0". */
static void
edit_request_line(struct sip_edit *e, const char *method, const char *uri)
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
static void
edit_received(struct sip_edit *e, const osip_message_t *m,
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
static void
mark_received(osip_message_t *m, const struct sip_origin *o)
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

/* This node's address for transport toward peer family af: ip and port. */
static int
local_addr(struct proxy *px, int transport, int af, const char *fallback_ip,
    char *host, size_t hostsz, int *port)
{
	char ip[NET_ADDRSTRLEN];

	if (sip_transport_local(px->t, transport, af, ip, sizeof ip,
	    port) == -1 && sip_transport_local(px->t, transport, AF_UNSPEC,
	    ip, sizeof ip, port) == -1) {
		if (fallback_ip == NULL)
			return -1;
		snprintf(ip, sizeof ip, "%s", fallback_ip);
		*port = conf_default_port(transport);
	}
	host_for_uri(ip, host, hostsz);
	return 0;
}

/*
 * Send one branch of f to dest: its text with the target's URI, our
 * Record-Route entries (when f records) and our Via.  0 when under way.
 */
static int
send_branch(struct fwd *f, const struct target *tg, struct txn_dest *dest,
    const char *zone, const char *peer, const char *local_ip)
{
	struct proxy *px = f->px;
	struct sip_edit *e;
	osip_message_t *m;
	char host[NET_ADDRSTRLEN + 2], branch[64], rnd[17], *line, *text;
	char *cause;
	size_t len;
	int port;

	if (local_addr(px, dest->transport, dest->addr.ss_family, local_ip,
	    host, sizeof host, &port) == -1) {
		fail_note(f, 503, "no listener for the zone's transport");
		return -1;
	}
	if ((e = sip_edit_new(f->text, f->textlen)) == NULL) {
		fail_note(f, 503, "cannot edit the request");
		return -1;
	}
	if (tg->uri != NULL)
		edit_request_line(e, f->method, tg->uri);
	if (f->rr_in != NULL) {
		struct rrtok t;
		char *out;

		/* The entry facing the callee: its zone and peer. */
		memset(&t, 0, sizeof t);
		t.side = RRTOK_CALLEE;
		t.pair = f->pair;
		t.peer = f->cur_peer;
		snprintf(t.zone, sizeof t.zone, "%s",
		    zone != NULL ? zone : CONF_DEFAULT_ZONE);
		if ((out = rr_entry(px, host, port, dest->transport, &t,
		    f->dialog)) == NULL) {
			sip_edit_free(e);
			fail_note(f, 500, "cannot make the Record-Route entry");
			return -1;
		}
		/* Ours on top of any there: outbound first, then inbound. */
		line = xasprintf("Record-Route: %s", f->rr_in);
		sip_edit_insert(e, "Record-Route", line);
		free(line);
		line = xasprintf("Record-Route: %s", out);
		sip_edit_insert(e, "Record-Route", line);
		free(line);
		free(out);
	}
	str_random_hex(rnd, 16);
	snprintf(branch, sizeof branch, TXN_COOKIE BRANCH_MARK "%016" PRIx64
	    "%s", f->loop, rnd);
	line = xasprintf("Via: SIP/2.0/%s %s:%d;branch=%s%s",
	    tp_upper(dest->transport), host, port, branch,
	    dest->transport == TP_UDP ? ";rport" : "");
	sip_edit_insert(e, "Via", line);
	free(line);
	text = sip_edit_output(e, &len);
	sip_edit_free(e);
	/* Parsed once more for the transaction: matching, CANCEL, ACK. */
	if ((m = sip_msg_parse(text, len)) == NULL) {
		free(text);
		fail_note(f, 503, tg->uri != NULL ? "the rewritten URI does "
		    "not parse" : "the forwarded request does not parse");
		return -1;
	}
	cause = NULL;
	f->ct = txn_client_new_text(px->tl, m, text, len, dest, f, &cause);
	if (f->ct == NULL) {
		fail_note(f, 503, cause != NULL ? cause : "cannot send");
		free(cause);
		return -1;
	}
	free(f->ct_zone);
	free(f->ct_peer);
	f->ct_zone = xstrdup(zone != NULL ? zone : "-");
	f->ct_peer = xstrdup(peer);
	f->got_provisional = 0;
	px->st.forwarded++;
	log_event(LOG_LVL_INFO, "proxy", "request forwarded", "call_id",
	    f->call_id, "method", f->method, "from_zone", f->src_zone,
	    "zone", f->ct_zone, "peer", peer, "rule",
	    tg->rule != NULL ? tg->rule : "in-dialog", "uri",
	    tg->uri != NULL ? tg->uri : "-", NULL);
	if (strcmp(f->method, "INVITE") == 0)
		arm_timer_c(f);
	return 0;
}

/*
 * The address of an in-dialog request-URI (sip:ip[:port][;transport=]),
 * for a target with no zone and no flow: 0 with dest filled, -1.
 */
static int
uri_dest(const osip_uri_t *u, struct txn_dest *dest)
{
	const char *tp = uparam(u, "transport");
	int port;

	memset(dest, 0, sizeof *dest);
	dest->transport = TP_UDP;
	if (tp != NULL && strcasecmp(tp, "tcp") == 0)
		dest->transport = TP_TCP;
	else if ((tp != NULL && strcasecmp(tp, "tls") == 0) ||
	    (u->scheme != NULL && strcasecmp(u->scheme, "sips") == 0))
		dest->transport = TP_TLS;
	port = u->port != NULL ? atoi(u->port) :
	    conf_default_port(dest->transport);
	if (u->host == NULL || net_addr_parse(u->host, port, &dest->addr,
	    &dest->addrlen) == -1)
		return -1;
	return 0;
}

/* Try the next peer / target until a branch is under way or none is left. */
static void
try_next(struct fwd *f)
{
	struct proxy *px = f->px;
	struct txn_dest dest;
	struct zone_hop h;
	struct sip_conn *c;
	char *why;
	int r;

	while (!f->final && f->st != NULL) {
		struct target *tg;

		if (f->cancelled) {
			fwd_final_local(f, 487, NULL);
			return;
		}
		if (f->ti >= f->ntg) {
			if (f->fail_status == 0)
				fwd_final_local(f, 404, "no route");
			else
				fwd_final_local(f, f->fail_status,
				    f->fail_reason);
			return;
		}
		tg = &f->tg[f->ti];
		memset(&dest, 0, sizeof dest);
		if (tg->flow != 0) {
			f->ti++;
			if ((c = sip_transport_conn(px->t, tg->flow)) == NULL) {
				fail_note(f, 480, "the caller's connection "
				    "closed");
				continue;
			}
			dest.transport = sip_conn_transport(c);
			memcpy(&dest.addr, &sip_conn_origin(c)->peer,
			    sip_conn_origin(c)->peerlen);
			dest.addrlen = sip_conn_origin(c)->peerlen;
			dest.flow = (void *)(uintptr_t)tg->flow;
			f->cur_peer = -1;
			if (send_branch(f, tg, &dest, tg->zone,
			    sip_conn_origin(c)->peer_str,
			    sip_conn_origin(c)->local_ip) == 0)
				return;
			continue;
		}
		if (tg->zone != NULL) {
			r = -2;
			if (tg->peer >= 0 && f->peer_from == 0) {
				/* In-dialog: the peer the dialog is with. */
				r = zones_hop(px->zs, tg->zone, (size_t)tg->peer,
				    &h);
				if (r == 1 && h.index != (size_t)tg->peer)
					r = -2;
				tg->peer = -1;
			}
			if (r == 1)
				f->peer_from = 0;	/* then all, in order */
			else {
				r = zones_hop(px->zs, tg->zone, f->peer_from,
				    &h);
				if (r == 1)
					f->peer_from = h.index + 1;
			}
			if (r == 1) {
				f->cur_peer = (int)h.index;
				dest.transport = h.transport;
				memcpy(&dest.addr, &h.ss, h.sl);
				dest.addrlen = h.sl;
				dest.flow = h.conn != NULL ? (void *)(uintptr_t)
				    sip_conn_id(h.conn) : NULL;
				if (send_branch(f, tg, &dest, tg->zone, h.peer,
				    h.conn != NULL ?
				    sip_conn_origin(h.conn)->local_ip :
				    NULL) == 0)
					return;
				continue;
			}
			if (r == -1 && f->peer_from == 0 && px->trav != NULL) {
				const char *tw = NULL;

				r = trav_flow(px->trav, tg->zone, &c, &tw);
				if (r == 1) {
					f->peer_from = 1;
					dest.transport = TP_TLS;
					memcpy(&dest.addr,
					    &sip_conn_origin(c)->peer,
					    sip_conn_origin(c)->peerlen);
					dest.addrlen =
					    sip_conn_origin(c)->peerlen;
					dest.flow = (void *)(uintptr_t)
					    sip_conn_id(c);
					f->cur_peer = -1;
					if (send_branch(f, tg, &dest, tg->zone,
					    sip_conn_origin(c)->peer_str,
					    sip_conn_origin(c)->local_ip) == 0)
						return;
					continue;
				}
				if (r == 0) {
					why = xasprintf("traversal zone %s is "
					    "down: %s", tg->zone, tw);
					fail_note(f, 503, why);
					free(why);
					f->ti++;
					f->peer_from = 0;
					continue;
				}
			}
			if (f->peer_from == 0 || f->fail_status == 0) {
				why = r == -1 ? xasprintf("zone %s has no "
				    "peers to forward to", tg->zone) :
				    xasprintf("zone %s is down: no peer is "
				    "active", tg->zone);
				fail_note(f, 503, why);
				free(why);
			}
			f->ti++;
			f->peer_from = 0;
			continue;
		}
		/* in-dialog, toward the request-URI's own address: only
		   when our sealed entry says so */
		f->ti++;
		if (!tg->direct) {
			fail_note(f, 404, "no route");
			continue;
		}
		if (uri_dest(f->req->req_uri, &dest) == -1 ||
		    dest.transport != TP_UDP ||
		    is_us(px, f->req->req_uri->host, NULL)) {
			fail_note(f, 480, "no connection to the request-URI's "
			    "address");
			continue;
		}
		f->cur_peer = -1;
		if (send_branch(f, tg, &dest, CONF_DEFAULT_ZONE, "request-URI",
		    NULL) == 0)
			return;
	}
}

/* --- requests ------------------------------------------------------- */

/* The loop-detection hash of a request as received (s.16.3 step 4). */
static uint64_t
loop_hash(const osip_message_t *m)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	osip_list_iterator_t it;
	osip_header_t *hd;
	osip_route_t *r;
	char *s;

	s = uri_text(m->req_uri);
	h = fnv(h, s);
	free(s);
	h = fnv(h, tag_of(m->from));
	h = fnv(h, tag_of(m->to));
	h = fnv(h, m->call_id != NULL ? m->call_id->number : NULL);
	h = fnv(h, m->cseq != NULL ? m->cseq->number : NULL);
	/* Each list walked once: never an indexed get inside a loop. */
	for (r = osip_list_get_first(&m->routes, &it); r != NULL;
	    r = osip_list_get_next(&it)) {
		s = uri_text(r->url);
		h = fnv(h, s);
		free(s);
	}
	for (hd = osip_list_get_first(&m->headers, &it); hd != NULL;
	    hd = osip_list_get_next(&it))
		if (hd->hname != NULL &&
		    osip_strcasecmp(hd->hname, "proxy-require") == 0)
			h = fnv(h, hd->hvalue);
	return h;
}

/* A Via of ours whose branch carries hash: the request looped. */
static int
looped(const struct proxy *px, const osip_message_t *m, uint64_t hash)
{
	osip_list_iterator_t it;
	char want[32];
	osip_via_t *v;
	const char *b;

	snprintf(want, sizeof want, TXN_COOKIE BRANCH_MARK "%016" PRIx64,
	    hash);
	for (v = osip_list_get_first(&m->vias, &it); v != NULL;
	    v = osip_list_get_next(&it)) {
		/* Our Vias carry a listener's address and port: two nodes
		 * on one host are not one node. */
		if (v->host == NULL || !sip_transport_listens(px->t, v->host,
		    v->port != NULL ? atoi(v->port) : 5060))
			continue;
		b = vparam(v, "branch");
		if (b != NULL && strncasecmp(b, want, strlen(want)) == 0)
			return 1;
	}
	return 0;
}

/* Does URI u name this node (one of its names or addresses)? */
static int
names_us(const struct proxy *px, const osip_uri_t *u, const char *local)
{
	return u != NULL && is_us(px, u->host, local);
}

struct dialog_hop {
	int			 ours;		/* in-dialog and our Route entries
						   were there: verified, or
						   refused */
	const char		*refused;	/* why they are not followed */
	char			*detail;	/* more for the log, or NULL */
	/* where the request goes: the last entry popped */
	char			*zone;
	int			 peer;		/* zone peer index, -1 */
	unsigned long long	 flow;
	int			 direct;	/* the R-URI's own address */
	int			 strict;	/* the R-URI came from the last
						   Route (a strict router) */
	int			 popped;	/* Route entries removed from the
						   top */
};

/*
 * Check the pair a (first popped) and b (last popped) of an in-dialog
 * request from o (zone src): NULL when it may be followed, else why not.
 */
static const char *
pair_check(const struct rrtok *a, const struct rrtok *b,
    const struct sip_origin *o, const char *src, char **detail)
{
	if (a->pair != b->pair || a->side == b->side)
		return "the Route entries naming sipedge are not one of its "
		    "Record-Route pairs";
	if (strcmp(a->zone, src) != 0) {
		*detail = xasprintf("first entry faces zone %s, the request "
		    "came from zone %s", a->zone, src);
		return "the first Route entry naming sipedge does not face "
		    "where the request came from";
	}
	if (a->flow != 0 && (o->conn == NULL || sip_conn_outbound(o->conn) ||
	    sip_conn_id(o->conn) != a->flow))
		return "the first Route entry naming sipedge belongs to "
		    "another connection";
	return NULL;
}

/*
 * s.16.4 with DESIGN.md decision 14.  Out of dialog (no To-tag): the Route
 * entries naming this node at the top (at most a pair) are removed and
 * nothing else is decided here.  In dialog, when the first Route entry
 * (or a strict router's request-URI) names this node: both entries of one
 * genuine pair of ours are popped, the first must face the request's
 * source (src zone, o's connection), the last says where it goes; when
 * they do not verify, dh->refused says why and nothing is popped.
 */
static void
process_route(struct proxy *px, osip_message_t *m, const struct sip_origin *o,
    const char *src, struct dialog_hop *dh)
{
	osip_list_iterator_t it;
	osip_route_t *r, *second;
	struct rrtok a, b;
	const char *ta, *tb = NULL, *why = NULL;
	char *cid;
	int n;

	memset(dh, 0, sizeof *dh);
	dh->peer = -1;
	if (tag_of(m->to) == NULL) {
		/* The list's head each time: constant work per entry. */
		while (dh->popped < 2 &&
		    (r = osip_list_get(&m->routes, 0)) != NULL &&
		    names_us(px, r->url, o->local_ip)) {
			osip_list_remove(&m->routes, 0);
			osip_route_free(r);
			dh->popped++;
		}
		return;
	}
	n = osip_list_size(&m->routes);
	r = osip_list_get_first(&m->routes, &it);
	if (n >= 2 && names_us(px, m->req_uri, o->local_ip) &&
	    uparam(m->req_uri, RRTOK_PARAM) != NULL) {
		/* The previous hop was a strict router: our first entry is
		   the request-URI, the remote target the last Route. */
		dh->strict = 1;
		ta = uparam(m->req_uri, RRTOK_PARAM);
		second = r;
	} else if (r != NULL && names_us(px, r->url, o->local_ip)) {
		ta = uparam(r->url, RRTOK_PARAM);
		second = osip_list_get_next(&it);
	} else
		return;		/* not ours: the search rules decide */
	dh->ours = 1;
	if (second != NULL && names_us(px, second->url, o->local_ip))
		tb = uparam(second->url, RRTOK_PARAM);
	cid = dialog_id(m);
	if (ta == NULL)
		dh->refused = "the Route names sipedge but carries no "
		    "Record-Route state of its own";
	else if (tb == NULL)
		dh->refused = "the Route holds one entry of a sipedge "
		    "Record-Route pair, not both";
	else if (rrtok_open(px->keys, ta, cid, &a, &why) == -1 ||
	    rrtok_open(px->keys, tb, cid, &b, &why) == -1) {
		dh->refused = "the Route names sipedge with state it did not "
		    "seal for this dialog";
		dh->detail = xstrdup(why);
	} else
		dh->refused = pair_check(&a, &b, o, src, &dh->detail);
	free(cid);
	if (dh->refused != NULL)
		return;
	dh->zone = xstrdup(b.zone);
	dh->peer = b.peer;
	dh->flow = b.flow;
	dh->direct = b.direct;
	if (dh->strict) {
		r = osip_list_get(&m->routes, n - 1);
		osip_list_remove(&m->routes, n - 1);
		osip_uri_free(m->req_uri);
		m->req_uri = r->url;
		r->url = NULL;
		osip_route_free(r);
	}
	for (n = dh->strict ? 1 : 2; n > 0; n--) {
		r = osip_list_get(&m->routes, 0);
		osip_list_remove(&m->routes, 0);
		osip_route_free(r);
		dh->popped++;
	}
}

/* Free what process_route() put in dh. */
static void
dialog_hop_clear(struct dialog_hop *dh)
{
	free(dh->zone);
	free(dh->detail);
}

/*
 * The same on the text (process_route() ran on m, its parsed form): the
 * request line when a strict router put our entry there, and our Route
 * entries removed.
 */
static void
edit_routes(struct sip_edit *e, const osip_message_t *m,
    const struct dialog_hop *dh)
{
	char *uri;
	int i;

	if (dh->strict) {
		uri = uri_text(m->req_uri);
		edit_request_line(e, m->sip_method, uri);
		free(uri);
		sip_edit_remove_last(e, "Route");
	}
	for (i = 0; i < dh->popped; i++)
		sip_edit_remove_first(e, "Route");
}

/* The zone a message from o belongs to. */
static const char *
source_zone(struct proxy *px, const struct sip_origin *o)
{
	const char *z = NULL;

	if (o->conn != NULL && px->trav != NULL)
		z = trav_conn_zone(px->trav, o->conn);
	if (z == NULL && o->conn != NULL && sip_conn_outbound(o->conn))
		z = sip_conn_zone(o->conn);
	if (z == NULL)
		z = zones_classify(px->zs, (const struct sockaddr *)&o->peer);
	return z != NULL ? z : CONF_DEFAULT_ZONE;
}

/* The targets of an out-of-dialog request from search rules. */
static int
rule_targets(struct fwd *f, char **cause)
{
	struct route_target rt;
	struct route *r;
	char *ruri = uri_text(f->req->req_uri);

	r = route_new(f->px->conf, ruri, f->src_zone, f->method, cause);
	free(ruri);
	if (r == NULL)
		return -1;
	while (route_next(r, &rt) == 1) {
		struct target *t;

		f->tg = xreallocarray(f->tg, f->ntg + 1, sizeof *f->tg);
		t = &f->tg[f->ntg++];
		memset(t, 0, sizeof *t);
		t->peer = -1;
		t->zone = xstrdup(rt.zone);
		t->uri = rt.rewritten ? xstrdup(rt.uri) : NULL;
		if (rt.rule->name != NULL)
			t->rule = xasprintf("%s (priority %d)", rt.rule->name,
			    rt.rule->priority);
		else
			t->rule = xasprintf("priority %d", rt.rule->priority);
	}
	if (f->ntg == 0 && route_skipped(r) != NULL)
		fail_note(f, 404, route_skipped(r));
	route_free(r);
	return 0;
}

/*
 * The single target of an in-dialog request: where the last entry popped
 * says (the caller's connection, the request-URI's own address, or a zone
 * that still exists).  0, or -1 with nothing to try (*why).
 */
static int
dialog_target(struct fwd *f, const struct dialog_hop *dh, const char **why)
{
	struct target *t;
	struct zone_hop h;
	struct sip_conn *tc;
	const char *tw;

	if (dh->flow == 0 && !dh->direct && (dh->zone == NULL ||
	    (zones_hop(f->px->zs, dh->zone, 0, &h) < 0 &&
	    (f->px->trav == NULL ||
	    trav_flow(f->px->trav, dh->zone, &tc, &tw) < 0)))) {
		*why = "the dialog's zone no longer exists";
		return -1;
	}
	f->tg = xcalloc(1, sizeof *f->tg);
	f->ntg = 1;
	t = &f->tg[0];
	t->peer = dh->peer;
	if (dh->flow != 0)
		t->flow = dh->flow;
	else if (dh->direct)
		t->direct = 1;
	else
		t->zone = xstrdup(dh->zone);
	return 0;
}

/* Requests that can make a dialog (RFC 3261, 6665, 3515), out of one. */
static int
dialog_creating(const osip_message_t *m)
{
	return tag_of(m->to) == NULL && (strcmp(m->sip_method, "INVITE") == 0 ||
	    strcmp(m->sip_method, "SUBSCRIBE") == 0 ||
	    strcmp(m->sip_method, "REFER") == 0 ||
	    strcmp(m->sip_method, "NOTIFY") == 0);
}

/* OPTIONS for this node (the URI names us and nothing routes it on). */
static void
answer_options(struct proxy *px, struct txn *st, const osip_message_t *m,
    const struct sip_src *src)
{
	static const char *const hdrs[] = {
		"Allow", PROXY_ALLOW,
		"Accept", "application/sdp",
		"Supported", "",
		NULL
	};
	char *unsup;

	/* As its UAS we honour Require, not Proxy-Require (s.8.2.2.3). */
	if ((unsup = sip_msg_unsupported(m, "Require", NULL, 0)) != NULL) {
		const char *ex[] = { "Unsupported", unsup, NULL };
		char *why = xasprintf("Require options not supported by "
		    "sipedge: %s", unsup);

		respond_local(px, st, m, src, 420, why, ex);
		free(why);
		free(unsup);
		return;
	}
	respond_local(px, st, m, src, 200, NULL, hdrs);
}

static void
refuse(struct proxy *px, struct txn *st, const osip_message_t *m,
    const struct sip_src *src, const struct sip_origin *o, int status,
    const char *why, const char *const *extra)
{
	char code[16], cid[SIP_CALL_ID_MAX];

	snprintf(code, sizeof code, "%d", status);
	log_event(LOG_LVL_INFO, "proxy", "request refused", "peer",
	    o->peer_str, "method", m->sip_method, "call_id",
	    sip_msg_call_id(m, cid, sizeof cid), "status", code, "reason", why,
	    NULL);
	respond_local(px, st, m, src, status, why, extra);
}

/* s.16.10: CANCEL is answered here and cancels the pending branch. */
static void
handle_cancel(struct proxy *px, struct txn *st, osip_message_t *m,
    const struct sip_src *src, const struct sip_origin *o)
{
	struct txn *inv = txn_find_cancelled(px->tl, m);
	struct fwd *f = inv != NULL ? txn_user(inv) : NULL;

	if (f == NULL) {
		refuse(px, st, m, src, o, 481, "no transaction to cancel",
		    NULL);
		return;
	}
	respond_local(px, st, m, src, 200, NULL, NULL);
	if (f->final)
		return;
	log_event(LOG_LVL_INFO, "proxy", "request cancelled", "call_id",
	    f->call_id, "zone", f->ct_zone != NULL ? f->ct_zone : "-", NULL);
	f->cancelled = 1;
	if (f->ct == NULL || txn_client_cancel(f->ct) == -1)
		fwd_final_local(f, 487, NULL);
	/* else the callee's 487 comes back up as the final response */
}

/*
 * An ACK for a 2xx (no transaction, s.16.7 / RFC 6026): forwarded end to
 * end along the route our Record-Route set up, statelessly, when its
 * Route entries verify as for any in-dialog request; without our entries
 * it takes the first target of the search rules, as its INVITE did.
 * Anything else is dropped with the reason in the log.
 */
static void
forward_ack(struct proxy *px, osip_message_t *m, const struct sip_origin *o)
{
	struct dialog_hop dh;
	struct txn_dest dest;
	struct zone_hop h;
	struct sip_conn *c = NULL;
	struct sip_edit *e;
	osip_header_t *mf = NULL;
	char host[NET_ADDRSTRLEN + 2], rnd[25], *via, *text;
	char cid[SIP_CALL_ID_MAX];
	const char *tw = NULL, *why = NULL, *src = source_zone(px, o);
	size_t len = 0;
	int port, sent = -1;

	/* m is ours for the call: Route processing edits it in place. */
	process_route(px, m, o, src, &dh);
	memset(&dest, 0, sizeof dest);
	if (dh.refused != NULL) {
		why = dh.refused;
		goto drop;
	}
	if (osip_message_get_max_forwards(m, 0, &mf) >= 0 && mf != NULL &&
	    atoi(mf->hvalue) == 0) {
		why = "Max-Forwards reached 0";
		goto drop;
	}
	if (dh.ours && dh.flow != 0) {
		if ((c = sip_transport_conn(px->t, dh.flow)) == NULL) {
			why = "the caller's connection closed";
			goto drop;
		}
		dest.transport = sip_conn_transport(c);
		memcpy(&dest.addr, &sip_conn_origin(c)->peer,
		    sip_conn_origin(c)->peerlen);
		dest.addrlen = sip_conn_origin(c)->peerlen;
	} else if (dh.ours && dh.direct) {
		if (uri_dest(m->req_uri, &dest) == -1 ||
		    dest.transport != TP_UDP ||
		    is_us(px, m->req_uri->host, NULL)) {
			why = "no connection to the request-URI's address";
			goto drop;
		}
	} else if (dh.ours && ((dh.peer >= 0 && zones_hop(px->zs, dh.zone,
	    (size_t)dh.peer, &h) == 1 && h.index == (size_t)dh.peer) ||
	    zones_hop(px->zs, dh.zone, 0, &h) == 1)) {
		dest.transport = h.transport;
		memcpy(&dest.addr, &h.ss, h.sl);
		dest.addrlen = h.sl;
		c = h.conn;
	} else if (dh.ours && px->trav != NULL &&
	    trav_flow(px->trav, dh.zone, &c, &tw) == 1) {
		dest.transport = TP_TLS;
		memcpy(&dest.addr, &sip_conn_origin(c)->peer,
		    sip_conn_origin(c)->peerlen);
		dest.addrlen = sip_conn_origin(c)->peerlen;
	} else if (dh.ours) {
		why = "the dialog's zone has no active peer";
		goto drop;
	} else {
		/* An ACK that did not follow our Record-Route: the first
		 * target of the search rules, as its INVITE went. */
		struct route_target rt;
		struct route *r;
		char *ruri = uri_text(m->req_uri), *cause = NULL;

		r = route_new(px->conf, ruri, src, "ACK", &cause);
		free(ruri);
		free(cause);
		if (r == NULL || route_next(r, &rt) != 1 ||
		    zones_hop(px->zs, rt.zone, 0, &h) != 1) {
			route_free(r);
			why = "no route";
			goto drop;
		}
		dh.zone = xstrdup(rt.zone);
		route_free(r);
		dest.transport = h.transport;
		memcpy(&dest.addr, &h.ss, h.sl);
		dest.addrlen = h.sl;
		c = h.conn;
	}
	why = "cannot send";
	if (local_addr(px, dest.transport, dest.addr.ss_family,
	    c != NULL ? sip_conn_origin(c)->local_ip : NULL, host, sizeof host,
	    &port) == -1)
		goto drop;
	if (o->raw == NULL || (e = sip_edit_new(o->raw, o->rawlen)) == NULL)
		goto drop;
	edit_routes(e, m, &dh);
	edit_max_forwards(e, m);
	str_random_hex(rnd, 24);
	via = xasprintf("Via: SIP/2.0/%s %s:%d;branch=" TXN_COOKIE "%s",
	    tp_upper(dest.transport), host, port, rnd);
	sip_edit_insert(e, "Via", via);
	free(via);
	edit_length(e);
	text = sip_edit_output(e, &len);
	sip_edit_free(e);
	log_message(px, "message out", dest.transport,
	    (const struct sockaddr *)&dest.addr, c, text, len);
	if (c != NULL)
		sent = sip_conn_send(c, text, len);
	else
		sent = sip_transport_send_udp(px->t,
		    (struct sockaddr *)&dest.addr, dest.addrlen, text, len);
	free(text);
drop:
	if (sent == 0)
		log_event(LOG_LVL_DEBUG, "proxy", "ack forwarded", "call_id",
		    sip_msg_call_id(m, cid, sizeof cid), "zone",
		    dh.zone != NULL ? dh.zone : "-", NULL);
	else
		log_event(dh.refused != NULL ? LOG_LVL_WARN : LOG_LVL_INFO,
		    "proxy", "ack dropped", "call_id",
		    sip_msg_call_id(m, cid, sizeof cid), "peer", o->peer_str,
		    "zone", dh.zone != NULL ? dh.zone : "-", "reason", why,
		    "detail", dh.detail != NULL ? dh.detail : "-", NULL);
	dialog_hop_clear(&dh);
}

/* A Route naming this node that is not followed: 403, and a log line. */
static void
route_refused(struct proxy *px, struct txn *st, const osip_message_t *m,
    const struct sip_src *src, const struct sip_origin *o, const char *zone,
    const struct dialog_hop *dh)
{
	char cid[SIP_CALL_ID_MAX];

	log_event(LOG_LVL_WARN, "proxy", "route refused", "peer", o->peer_str,
	    "zone", zone, "method", m->sip_method, "call_id",
	    sip_msg_call_id(m, cid, sizeof cid), "reason", dh->refused,
	    "detail", dh->detail != NULL ? dh->detail : "-", NULL);
	respond_local(px, st, m, src, 403, dh->refused, NULL);
}

static void
px_request(void *arg, struct txn *st, osip_message_t *m,
    const struct sip_origin *o)
{
	struct proxy *px = arg;
	struct sip_src src = { o->peer_ip, o->peer_port };
	struct dialog_hop dh;
	struct sip_edit *e;
	struct fwd *f;
	osip_header_t *mf = NULL;
	char *unsup, *cause = NULL, host[NET_ADDRSTRLEN + 2];
	char cid[SIP_CALL_ID_MAX];
	const char *zone, *why = NULL;
	int port;

	if (st == NULL) {
		if (px->conf->def_accept || strcmp(source_zone(px, o),
		    CONF_DEFAULT_ZONE) != 0)
			forward_ack(px, m, o);
		return;
	}
	px->st.requests++;
	if (strcmp(m->sip_method, "CANCEL") == 0) {
		/* Hop by hop: it cancels our branch and is never routed. */
		handle_cancel(px, st, m, &src, o);
		return;
	}
	zone = source_zone(px, o);
	f = xcalloc(1, sizeof *f);
	f->px = px;
	f->st = st;
	f->call_id = xstrdup(sip_msg_call_id(m, cid, sizeof cid));
	f->dialog = dialog_id(m);
	f->method = xstrdup(m->sip_method);
	f->src_zone = xstrdup(zone);
	f->loop = loop_hash(m);
	f->cur_peer = -1;
	if ((f->next = px->fwds) != NULL)
		f->next->prev = f;
	px->fwds = f;
	txn_set_user(st, f);
	if (osip_message_clone(m, &f->req) != 0) {
		f->final = 1;
		refuse(px, st, m, &src, o, 500, "cannot copy the request",
		    NULL);
		return;
	}
	process_route(px, f->req, o, zone, &dh);

	if (!px->conf->def_accept && strcmp(zone, CONF_DEFAULT_ZONE) == 0) {
		f->final = 1;
		refuse(px, st, m, &src, o, 403, "requests from outside every "
		    "zone are refused (default_zone.accept is false)", NULL);
		goto out;
	}
	if (!dh.ours && strcmp(m->sip_method, "OPTIONS") == 0 &&
	    osip_list_size(&f->req->routes) == 0 &&
	    is_us(px, f->req->req_uri->host, o->local_ip)) {
		f->final = 1;
		answer_options(px, st, m, &src);
		goto out;
	}
	if (osip_message_get_max_forwards(m, 0, &mf) >= 0 && mf != NULL &&
	    atoi(mf->hvalue) == 0) {
		f->final = 1;
		refuse(px, st, m, &src, o, 483, "Max-Forwards reached 0", NULL);
		goto out;
	}
	if (looped(px, m, f->loop)) {
		f->final = 1;
		refuse(px, st, m, &src, o, 482, "the request came back to "
		    "sipedge unchanged", NULL);
		goto out;
	}
	if ((unsup = sip_msg_unsupported(m, "Proxy-Require", NULL, 0)) != NULL) {
		const char *ex[] = { "Unsupported", unsup, NULL };
		char *w = xasprintf("Proxy-Require options not supported by "
		    "sipedge: %s", unsup);

		f->final = 1;
		refuse(px, st, m, &src, o, 420, w, ex);
		free(w);
		free(unsup);
		goto out;
	}
	if (dh.refused != NULL) {
		f->final = 1;
		route_refused(px, st, m, &src, o, zone, &dh);
		goto out;
	}
	if (dh.ours) {
		if (dialog_target(f, &dh, &why) == -1) {
			f->final = 1;
			refuse(px, st, m, &src, o, 404, why, NULL);
			goto out;
		}
	} else if (rule_targets(f, &cause) == -1) {
		f->final = 1;
		refuse(px, st, m, &src, o, 416, cause, NULL);
		free(cause);
		goto out;
	}

	if (!dh.ours && dialog_creating(f->req)) {
		struct rrtok t;

		/* The entry facing the caller. */
		if (o->conn != NULL && sip_conn_outbound(o->conn))
			local_addr(px, o->transport, o->peer.sa.sa_family,
			    o->local_ip, host, sizeof host, &port);
		else {
			host_for_uri(o->local_ip, host, sizeof host);
			port = o->local_port;
		}
		memset(&t, 0, sizeof t);
		t.side = RRTOK_CALLER;
		t.pair = f->pair = rrtok_pair_new();
		t.peer = -1;
		snprintf(t.zone, sizeof t.zone, "%s", zone);
		/*
		 * A default-zone caller is reached again on its own
		 * connection (TCP/TLS) or, over UDP, at the request-URI's
		 * address; a zone's peers through the zone.
		 */
		if (strcmp(zone, CONF_DEFAULT_ZONE) == 0) {
			if (o->conn != NULL && !sip_conn_outbound(o->conn))
				t.flow = sip_conn_id(o->conn);
			else if (o->conn == NULL)
				t.direct = 1;
		}
		if ((f->rr_in = rr_entry(px, host, port, o->transport, &t,
		    f->dialog)) == NULL) {
			f->final = 1;
			refuse(px, st, m, &src, o, 500, "cannot make the "
			    "Record-Route entry", NULL);
			goto out;
		}
	}
	/* The text every branch starts from (the raw text lives only
	   during this call; failover comes later). */
	if (o->raw == NULL || (e = sip_edit_new(o->raw, o->rawlen)) == NULL) {
		f->final = 1;
		refuse(px, st, m, &src, o, 500, "cannot edit the request", NULL);
		goto out;
	}
	edit_routes(e, f->req, &dh);
	edit_max_forwards(e, m);
	edit_received(e, m, o);
	edit_length(e);
	f->text = sip_edit_output(e, &f->textlen);
	sip_edit_free(e);
	/* Local responses (404, 408, 503) echo the marked Via too. */
	mark_received(f->req, o);
	try_next(f);
out:
	dialog_hop_clear(&dh);
}

/* --- responses ------------------------------------------------------ */

static void
px_response(void *arg, struct txn *ct, enum txn_event ev,
    osip_message_t *resp, const struct sip_origin *o)
{
	struct proxy *px = arg;
	struct fwd *f = txn_user(ct);
	struct sip_edit *e;
	osip_via_t *v;
	char code[16], *text = NULL;
	size_t len = 0;
	int status;

	if (f == NULL || f->ct != ct)
		return;
	status = resp != NULL ? resp->status_code :
	    ev == TXN_EV_TIMEOUT ? 408 : 503;
	if (ev == TXN_EV_RESPONSE && status < 200) {
		if (status == 100 || f->final || f->st == NULL)
			return;		/* s.16.7 step 5: 100 stops here */
		f->got_provisional = 1;
		if (f->timer_c != NULL)
			arm_timer_c(f);
	} else if (status >= 300 || ev != TXN_EV_RESPONSE) {
		if (f->timer_c != NULL)
			evtimer_del(f->timer_c);
		f->ct = NULL;
		txn_set_user(ct, NULL);
		if (ev != TXN_EV_RESPONSE || (status == 503 && !f->cancelled)) {
			/* The peer cannot take it: the next one may. */
			char *why = ev == TXN_EV_TIMEOUT ?
			    xasprintf("no response from %s (zone %s)",
			    f->ct_peer, f->ct_zone) : ev == TXN_EV_TRANSPORT ?
			    xasprintf("cannot send to %s (zone %s)",
			    f->ct_peer, f->ct_zone) :
			    xasprintf("%s (zone %s) answered 503", f->ct_peer,
			    f->ct_zone);

			px->st.failovers++;
			log_event(LOG_LVL_WARN, "proxy", "branch failed",
			    "call_id", f->call_id, "zone", f->ct_zone, "peer",
			    f->ct_peer, "reason", why, NULL);
			fail_note(f, ev == TXN_EV_TIMEOUT ? 408 : 503, why);
			free(why);
			try_next(f);
			return;
		}
	} else if (f->timer_c != NULL)
		evtimer_del(f->timer_c);	/* a 2xx */
	if (f->st == NULL || resp == NULL)
		return;
	if (status >= 200 && f->final && !(status < 300 &&
	    txn_is_invite(f->st)))
		return;
	/* s.16.7 step 3: our Via goes; the rest passes as it came. */
	e = NULL;
	if (o != NULL && o->raw != NULL &&
	    (e = sip_edit_new(o->raw, o->rawlen)) != NULL) {
		sip_edit_remove_first(e, "Via");
		edit_length(e);
		text = sip_edit_output(e, &len);
		sip_edit_free(e);
	} else if ((v = osip_list_get(&resp->vias, 0)) != NULL) {
		osip_list_remove(&resp->vias, 0);
		osip_via_free(v);
	}
	if (status >= 200) {
		if (!f->final) {
			snprintf(code, sizeof code, "%d", status);
			log_event(LOG_LVL_INFO, "proxy", "request done",
			    "call_id", f->call_id, "method", f->method,
			    "zone", f->ct_zone, "peer", f->ct_peer, "status",
			    code, NULL);
		}
		f->final = 1;
	}
	if (text != NULL)
		txn_respond_as(f->st, resp, text, len);
	else
		txn_respond(f->st, resp);
	free(text);
}

static void
px_server_failed(void *arg, struct txn *st, enum txn_event ev)
{
	struct fwd *f = txn_user(st);

	(void)arg;
	log_event(LOG_LVL_WARN, "proxy", "response not delivered", "call_id",
	    f != NULL ? f->call_id : "-", "reason", ev == TXN_EV_TIMEOUT ?
	    "no ACK came for the final response" :
	    "the caller's connection is gone", NULL);
}

static void
px_terminated(void *arg, struct txn *t)
{
	struct fwd *f = txn_user(t);

	(void)arg;
	if (f == NULL)
		return;
	if (txn_is_server(t)) {
		f->st = NULL;
		fwd_free(f);
	} else if (f->ct == t)
		f->ct = NULL;
}

static int
px_send(void *arg, const struct txn_dest *d, const char *buf, size_t len)
{
	struct proxy *px = arg;
	struct sip_conn *c;

	if (d->transport == TP_UDP) {
		log_message(px, "message out", TP_UDP,
		    (const struct sockaddr *)&d->addr, NULL, buf, len);
		return sip_transport_send_udp(px->t,
		    (const struct sockaddr *)&d->addr, d->addrlen, buf, len);
	}
	if (d->flow == NULL ||
	    (c = sip_transport_conn(px->t, (uintptr_t)d->flow)) == NULL)
		return -1;
	log_message(px, "message out", d->transport, NULL, c, buf, len);
	return sip_conn_send(c, buf, len);
}

/* --- entry points --------------------------------------------------- */

struct proxy *
proxy_new(struct event_base *base)
{
	struct proxy *px = xcalloc(1, sizeof *px);

	px->base = base;
	px->timer_c = 181;
	px->own_keys = rrtok_keys_random();
	px->keys = px->own_keys;
	return px;
}

static void
free_names(struct proxy *px)
{
	size_t i;

	for (i = 0; i < px->nnames; i++)
		free(px->names[i]);
	free(px->names);
	px->names = NULL;
	px->nnames = 0;
}

void
proxy_free(struct proxy *px)
{
	if (px == NULL)
		return;
	while (px->fwds != NULL) {
		px->fwds->st = NULL;
		px->fwds->ct = NULL;
		fwd_free(px->fwds);
	}
	txn_layer_free(px->tl);
	free_names(px);
	rrtok_keys_free(px->own_keys);
	free(px);
}

void
proxy_attach(struct proxy *px, struct sip_transport *t, struct zones *zs,
    struct trav *tv)
{
	px->t = t;
	px->zs = zs;
	px->trav = tv;
}

void
proxy_configure(struct proxy *px, const struct conf *c, char *const *names,
    size_t n)
{
	struct txn_config tc;
	struct txn_cbs cbs;
	size_t i;

	free_names(px);
	px->names = xcalloc(n + 1, sizeof *px->names);
	for (i = 0; i < n; i++)
		px->names[i] = xstrdup(names[i]);
	px->nnames = n;
	px->conf = c;
	px->timer_c = c->sip_timer_c;
	if (px->tl == NULL) {
		memset(&tc, 0, sizeof tc);
		tc.t1 = c->sip_t1;
		tc.trying = TXN_TRYING_NOW;
		memset(&cbs, 0, sizeof cbs);
		cbs.send = px_send;
		cbs.request = px_request;
		cbs.response = px_response;
		cbs.server_failed = px_server_failed;
		cbs.terminated = px_terminated;
		cbs.arg = px;
		px->tl = txn_layer_new(px->base, &tc, &cbs);
	} else
		txn_layer_set_t1(px->tl, c->sip_t1);
	txn_layer_set_max_server(px->tl, (size_t)c->max_transactions);
}

void
proxy_set_keys(struct proxy *px, const struct rrtok_keys *k)
{
	px->keys = k != NULL ? k : px->own_keys;
}

void
proxy_stats(const struct proxy *px, struct proxy_stats *st)
{
	struct fwd *f;

	*st = px->st;
	st->transactions = px->tl != NULL ? txn_layer_count(px->tl) : 0;
	st->pending = 0;
	for (f = px->fwds; f != NULL; f = f->next)
		if (!f->final)
			st->pending++;
}

/*
 * No room for another server transaction: 503 with Retry-After, sent
 * statelessly (s.16.3 allows a proxy to answer so when it lacks the
 * resources; no state is made, so the flood costs no memory).
 */
static void
refuse_overload(struct proxy *px, const struct sip_origin *o,
    const osip_message_t *m)
{
	static const char *why = "too many transactions in progress "
	    "(sip.max_transactions)";
	struct sip_src src = { o->peer_ip, o->peer_port };
	char tag[17], cid[SIP_CALL_ID_MAX], *warning, *text;
	const char *hdrs[7];
	size_t len;

	px->st.overload++;
	log_event(LOG_LVL_WARN, "proxy", "request refused", "peer",
	    o->peer_str, "method", m->sip_method, "call_id",
	    sip_msg_call_id(m, cid, sizeof cid), "status", "503", "reason", why,
	    NULL);
	warning = xasprintf("399 %s \"%s\"", px->nnames > 0 ? px->names[0] :
	    "sipedge", why);
	hdrs[0] = "Warning";
	hdrs[1] = warning;
	hdrs[2] = "Retry-After";
	hdrs[3] = PX_RETRY_AFTER;
	hdrs[4] = "Server";
	hdrs[5] = "sipedge/" PACKAGE_VERSION;
	hdrs[6] = NULL;
	str_random_hex(tag, 16);
	text = sip_msg_response(m, &src, 503, NULL, tag, hdrs, &len);
	free(warning);
	if (text != NULL) {
		sip_transport_reply(o, text, len);
		free(text);
	}
}

void
proxy_on_message(const struct sip_origin *o, osip_message_t *m, void *arg)
{
	struct proxy *px = arg;
	struct log_line l;
	enum txn_recv r;
	char cid[SIP_CALL_ID_MAX];

	log_begin(&l, LOG_LVL_DEBUG, "proxy", MSG_IS_REQUEST(m) ? "request" :
	    "response");
	log_kvs(&l, "peer", o->peer_str);
	log_kvs(&l, "transport", conf_transport_name(o->transport));
	if (MSG_IS_REQUEST(m))
		log_kvs(&l, "method", m->sip_method);
	else
		log_kv(&l, "status", "%d", m->status_code);
	log_kvs(&l, "call_id", sip_msg_call_id(m, cid, sizeof cid));
	log_end(&l);
	log_message(px, "message in", o->transport,
	    (const struct sockaddr *)&o->peer, o->conn, o->raw, o->rawlen);

	if (px->tl == NULL || px->t == NULL || px->zs == NULL)
		return;		/* not started, or stopping */
	if (px->trav != NULL && trav_on_message(px->trav, o, m))
		return;
	if (!MSG_IS_REQUEST(m)) {
		r = txn_recv_response(px->tl, m, o);
		if (r == TXN_RECV_STRAY)
			log_event(LOG_LVL_DEBUG, "proxy", "stray response",
			    "peer", o->peer_str, "call_id", cid, NULL);
		return;
	}
	r = txn_recv_request(px->tl, m, o);
	if (r == TXN_RECV_FULL)
		refuse_overload(px, o, m);
}
