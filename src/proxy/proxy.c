/*
 * proxy.c: the transaction-stateful proxy core (RFC 3261 s.16): the
 * object, messages in (to the transaction layer) and out (its send
 * callback), the message log, this node's names, local answers.  The
 * rest of the core: proxy_request.c (a new request, CANCEL, the ACK for
 * a 2xx), proxy_fwd.c (a forward's branches and responses), proxy_target.c
 * (targets and next hops), proxy_edit.c (the forwarded text), proxy_rr.c
 * (Record-Route and Route), proxy_loop.c (loop detection).
 *
 * A request becomes a "forward" (struct fwd): its server transaction, a
 * private copy of the parsed request after Route processing (for the
 * decisions and our own responses), the text to forward, and the list of
 * targets to try.  What is forwarded, requests and responses, is the text
 * that came with a few lines edited (sip_edit): never libosip2's
 * re-serialisation, which would change header names, order and spacing.
 * A target is a neighbor zone (its active peers are tried in order), a
 * flow (the connection an in-dialog request's caller is on) or the
 * request-URI's own address.  One branch is in flight at a time (serial
 * search, s.16.6 with s.16.7 step 5): a branch that cannot be sent, times
 * out (timer B/F) or answers 503 moves on to the next peer, then to the
 * next target; any other final response is forwarded and ends the search.
 * The forward lives until its server transaction ends, so that the 2xx
 * retransmissions of an INVITE (RFC 6026) still pass.
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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/net_addr.h"
#include "proxy/proxy_int.h"
#include "proxy/trav.h"
#include "proxy/zone.h"
#include "proxy/zreg.h"
#include "sip/sip_msg.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* A URI as text, malloc'd ("" when it cannot be printed). */
char *
proxy_uri_text(const osip_uri_t *u)
{
	char *s = NULL, *r;

	if (u == NULL || osip_uri_to_str(u, &s) != 0 || s == NULL)
		return xstrdup("");
	r = xstrdup(s);
	osip_free(s);
	return r;
}

/* The tag of a From or To header, or NULL. */
const char *
proxy_tag_of(osip_from_t *f)
{
	osip_generic_param_t *p = NULL;

	if (f == NULL || osip_from_get_tag(f, &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue;
}

/* The value of URI parameter name ("" without one), or NULL. */
const char *
proxy_uri_param(const osip_uri_t *u, const char *name)
{
	osip_uri_param_t *p = NULL;

	if (u == NULL ||
	    osip_uri_param_get_byname((osip_list_t *)&u->url_params,
	    (char *)name, &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue != NULL ? p->gvalue : "";
}

/* Is host one of this node's names or addresses (or local)? */
int
proxy_is_us(const struct proxy *px, const char *host, const char *local)
{
	size_t i, n;

	if (host == NULL)
		return 0;
	n = strlen(host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		char *bare = xstrndup(host + 1, n - 2);
		int r = proxy_is_us(px, bare, local);

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

/*
 * The zone of a message on connection c (NULL: a datagram) from sa, as
 * the zone registry classifies it (zreg_classify; any transport).
 */
static const char *
px_classify(struct proxy *px, struct sip_conn *c, const struct sockaddr *sa)
{
	struct zreg_in in;
	struct zreg_class cl;

	if (px->zr == NULL || sa == NULL)
		return CONF_DEFAULT_ZONE;
	memset(&in, 0, sizeof in);
	in.peer = sa;
	in.transport = -1;
	in.outbound = c != NULL && sip_conn_outbound(c) &&
	    sip_conn_zone(c) != NULL;
	in.outbound_zone = in.outbound ? sip_conn_zone(c) : NULL;
	in.resolved = px->zs != NULL ? zones_resolved : NULL;
	in.arg = px->zs;
	zreg_classify(px->zr, &in, &cl);
	return cl.name;
}

/* The zone a message to or from (c, sa) belongs to. */
static const char *
message_zone(struct proxy *px, struct sip_conn *c, const struct sockaddr *sa)
{
	const char *z = NULL;

	if (c != NULL && px->trav != NULL)
		z = trav_conn_zone(px->trav, c);
	if (z == NULL && c != NULL)
		sa = (const struct sockaddr *)&sip_conn_origin(c)->peer;
	return z != NULL ? z : px_classify(px, c, sa);
}

/*
 * With log_messages on for its zone (and the log at debug level), the
 * whole text of a message received or sent, one event.
 */
void
proxy_log_message(struct proxy *px, const char *event, int transport,
    const struct sockaddr *sa, struct sip_conn *c, const char *buf,
    size_t len)
{
	char peer[NET_ADDRSTRLEN + 8];
	const struct conf *conf;
	const char *zone, *cid;
	struct sip_edit *e;
	struct log_line l;
	int on = 0;
	size_t i, cidlen;

	if (!log_enabled(LOG_LVL_DEBUG) || buf == NULL ||
	    (conf = proxy_conf(px)) == NULL || px->zs == NULL)
		return;
	zone = message_zone(px, c, sa);
	if (strcmp(zone, CONF_DEFAULT_ZONE) == 0)
		on = conf->def_log_messages;
	for (i = 0; !on && i < conf->nzones; i++)
		if (strcmp(conf->zones[i].name, zone) == 0)
			on = conf->zones[i].log_messages;
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
	/* The Call-ID, so that one call's messages are found together. */
	if ((e = sip_edit_new(buf, len)) != NULL &&
	    (cid = sip_edit_first_value(e, "Call-ID", &cidlen)) != NULL)
		log_kvn(&l, "call_id", cid, cidlen);
	sip_edit_free(e);
	if (c != NULL)
		log_kv(&l, "conn", "%llu", sip_conn_id(c));
	log_kvn(&l, "message", buf, len);
	log_end(&l);
}

/* The zone a message from o belongs to. */
const char *
proxy_source_zone(struct proxy *px, const struct sip_origin *o)
{
	const char *z = NULL;

	if (o->conn != NULL && px->trav != NULL)
		z = trav_conn_zone(px->trav, o->conn);
	return z != NULL ? z : px_classify(px, o->conn,
	    (const struct sockaddr *)&o->peer);
}

/*
 * Answer the request of st ourselves: status, a Warning with why (when
 * set), extra headers.  req is the request as received.
 */
void
proxy_respond(struct proxy *px, struct txn *st, const osip_message_t *req,
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

/* The send callback of the transaction layer: UDP to the address, a
   stream on the connection whose id is the flow. */
static int
px_send(void *arg, const struct txn_dest *d, const char *buf, size_t len)
{
	struct proxy *px = arg;
	struct sip_conn *c;

	if (d->transport == TP_UDP) {
		proxy_log_message(px, "message out", TP_UDP,
		    (const struct sockaddr *)&d->addr, NULL, buf, len);
		return sip_transport_send_udp(px->t,
		    (const struct sockaddr *)&d->addr, d->addrlen, buf, len);
	}
	if (d->flow == NULL ||
	    (c = sip_transport_conn(px->t, (uintptr_t)d->flow)) == NULL)
		return -1;
	proxy_log_message(px, "message out", d->transport, NULL, c, buf, len);
	return sip_conn_send(c, buf, len);
}

struct proxy *
proxy_new(struct event_base *base)
{
	struct proxy *px = xcalloc(1, sizeof *px);

	px->base = base;
	px->own_keys = rrtok_keys_random();
	px->keys = px->own_keys;
	return px;
}

void
proxy_free(struct proxy *px)
{
	if (px == NULL)
		return;
	while (px->fwds != NULL) {
		px->fwds->st = NULL;
		px->fwds->ct = NULL;
		proxy_fwd_free(px->fwds);
	}
	txn_layer_free(px->tl);
	zreg_unref(&px->zr);
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
proxy_configure(struct proxy *px, const struct zreg *zr, char *const *names,
    size_t n)
{
	const struct conf *c = zr->conf;
	struct txn_config tc;
	struct txn_cbs cbs;

	zreg_ref(zr);
	zreg_unref(&px->zr);
	px->zr = zr;
	px->names = names;
	px->nnames = n;
	px->conf = c;
	if (px->tl == NULL) {
		memset(&tc, 0, sizeof tc);
		tc.t1 = c->sip_t1;
		tc.trying = TXN_TRYING_NOW;
		memset(&cbs, 0, sizeof cbs);
		cbs.send = px_send;
		cbs.request = proxy_request_in;
		cbs.response = proxy_fwd_response;
		cbs.server_failed = proxy_fwd_server_failed;
		cbs.terminated = proxy_fwd_terminated;
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

int
proxy_lean_ok(const struct sip_origin *o, void *arg)
{
	const struct proxy *px = arg;

	return px->trav == NULL || !trav_reads(px->trav, o);
}

void
proxy_on_message(const struct sip_origin *o, osip_message_t *m, void *arg)
{
	struct proxy *px = arg;
	struct log_line l;
	enum txn_recv r;
	char cid[SIP_CALL_ID_MAX];

	if (log_enabled(LOG_LVL_DEBUG)) {	/* nothing built when off */
		log_begin(&l, LOG_LVL_DEBUG, "proxy", MSG_IS_REQUEST(m) ?
		    "request" : "response");
		log_kvs(&l, "peer", o->peer_str);
		log_kvs(&l, "transport", conf_transport_name(o->transport));
		if (MSG_IS_REQUEST(m))
			log_kvs(&l, "method", m->sip_method);
		else
			log_kv(&l, "status", "%d", m->status_code);
		log_kvs(&l, "call_id", sip_msg_call_id(m, cid, sizeof cid));
		log_end(&l);
	}
	proxy_log_message(px, "message in", o->transport,
	    (const struct sockaddr *)&o->peer, o->conn, o->raw, o->rawlen);

	if (px->tl == NULL || px->t == NULL || px->zs == NULL)
		return;		/* not started, or stopping */
	if (px->trav != NULL && trav_on_message(px->trav, o, m))
		return;
	if (!MSG_IS_REQUEST(m)) {
		r = txn_recv_response(px->tl, m, o);
		if (r == TXN_RECV_STRAY)
			log_event(LOG_LVL_DEBUG, "proxy", "stray response",
			    "peer", o->peer_str, "call_id",
			    sip_msg_call_id(m, cid, sizeof cid), NULL);
		return;
	}
	r = txn_recv_request(px->tl, m, o);
	if (r == TXN_RECV_FULL)
		refuse_overload(px, o, m);
}
