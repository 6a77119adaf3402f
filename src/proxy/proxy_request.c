/*
 * proxy_request.c: a new request in the proxy core (RFC 3261 s.16.3 -
 * s.16.5).  Its checks (the default zone, Max-Forwards, loops,
 * Proxy-Require, the Route), OPTIONS addressed to this node, CANCEL (s.16.10:
 * answered here, cancels the pending branch), its targets and the forward
 * that tries them; and the ACK for a 2xx, forwarded statelessly (s.16.7,
 * RFC 6026).  Reads the message; the text forwarded is the received one
 * edited (proxy_edit.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_addr.h"
#include "proxy/proxy_int.h"
#include "sip/sip_msg.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Requests that can make a dialog (RFC 3261, 6665, 3515), out of one. */
static int
dialog_creating(const osip_message_t *m)
{
	return proxy_tag_of(m->to) == NULL &&
	    (strcmp(m->sip_method, "INVITE") == 0 ||
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

		proxy_respond(px, st, m, src, 420, why, ex);
		free(why);
		free(unsup);
		return;
	}
	proxy_respond(px, st, m, src, 200, NULL, hdrs);
}

/* Refuse request m from o with status, why and extra headers; logged. */
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
	proxy_respond(px, st, m, src, status, why, extra);
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
	proxy_respond(px, st, m, src, 200, NULL, NULL);
	if (f->final)
		return;
	log_event(LOG_LVL_INFO, "proxy", "request cancelled", "call_id",
	    f->call_id, "zone", f->ct_zone != NULL ? f->ct_zone : "-", NULL);
	f->cancelled = 1;
	if (f->ct == NULL || txn_client_cancel(f->ct) == -1)
		proxy_fwd_final(f, 487, NULL);
	/* else the callee's 487 comes back up as the final response */
}

/*
 * Send the ACK m (from o, its Route processed into dh) to dest on c (or
 * over UDP): its text as it came with our Route entries gone, Max-Forwards
 * one less and our Via.  0 when sent.
 */
static int
ack_send(struct proxy *px, osip_message_t *m, const struct sip_origin *o,
    const struct dialog_hop *dh, const struct txn_dest *dest,
    struct sip_conn *c)
{
	char host[NET_ADDRSTRLEN + 2], rnd[25], branch[40], *text;
	struct sip_edit *e;
	size_t len = 0;
	int port, sent;

	if (proxy_target_local_addr(px, dest->transport, dest->addr.ss_family,
	    c != NULL ? sip_conn_origin(c)->local_ip : NULL, host, sizeof host,
	    &port) == -1)
		return -1;
	if (o->raw == NULL || (e = sip_edit_new(o->raw, o->rawlen)) == NULL)
		return -1;
	proxy_rr_edit_routes(e, m, dh);
	proxy_edit_max_forwards(e, m);
	str_random_hex(rnd, 24);
	memcpy(branch, TXN_COOKIE, sizeof TXN_COOKIE - 1);
	memcpy(branch + sizeof TXN_COOKIE - 1, rnd, sizeof rnd);
	proxy_edit_via(e, dest->transport, host, port, branch, 0);
	proxy_edit_length(e);
	text = sip_edit_output(e, &len);
	sip_edit_free(e);
	proxy_log_message(px, "message out", dest->transport,
	    (const struct sockaddr *)&dest->addr, c, text, len);
	if (c != NULL)
		sent = sip_conn_send(c, text, len);
	else
		sent = sip_transport_send_udp(px->t,
		    (const struct sockaddr *)&dest->addr, dest->addrlen, text,
		    len);
	free(text);
	return sent;
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
	struct sip_conn *c = NULL;
	osip_header_t *mf = NULL;
	char cid[SIP_CALL_ID_MAX];
	const char *why = NULL, *src = proxy_source_zone(px, o);
	int sent = -1;

	/* m is ours for the call: Route processing edits it in place. */
	proxy_rr_route(px, m, o, src, &dh);
	if (dh.refused != NULL)
		why = dh.refused;
	else if (osip_message_get_max_forwards(m, 0, &mf) >= 0 && mf != NULL &&
	    atoi(mf->hvalue) == 0)
		why = "Max-Forwards reached 0";
	else if (proxy_target_ack(px, m, src, &dh, &dest, &c, &why) == 0 &&
	    (sent = ack_send(px, m, o, &dh, &dest, c)) != 0)
		why = "cannot send";
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
	proxy_rr_hop_clear(&dh);
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
	proxy_respond(px, st, m, src, 403, dh->refused, NULL);
}

/* A new request on its way through the core. */
struct req {
	struct proxy		*px;
	struct txn		*st;
	osip_message_t		*m;		/* as received */
	const struct sip_origin	*o;
	struct sip_src		 src;		/* where our answers go */
	const char		*zone;		/* where it came from */
	struct fwd		*f;
	struct dialog_hop	 dh;		/* its Route processed */
};

/* Refuse r here with status and why (extra headers): its final. */
static void
req_refuse(struct req *r, int status, const char *why,
    const char *const *extra)
{
	r->f->final = 1;
	refuse(r->px, r->st, r->m, &r->src, r->o, status, why, extra);
}

/*
 * The Call-ID for the log from the dialog's (proxy_rr_dialog_id: ""
 * without one), as sip_msg_call_id() writes it: "-", or cut to fit.
 */
static char *
log_call_id(const char *dialog)
{
	size_t n = strlen(dialog);

	if (n == 0)
		return xstrdup("-");
	return xstrndup(dialog, n < SIP_CALL_ID_MAX ? n : SIP_CALL_ID_MAX - 1);
}

/* A new forward for request m on st from zone, in the proxy's list. */
static struct fwd *
fwd_new(struct proxy *px, struct txn *st, const osip_message_t *m,
    const char *zone)
{
	struct fwd *f = xcalloc(1, sizeof *f);

	f->px = px;
	f->zr = zreg_ref(px->zr);
	f->st = st;
	f->dialog = proxy_rr_dialog_id(m);
	f->call_id = log_call_id(f->dialog);
	f->method = xstrdup(m->sip_method);
	f->src_zone = xstrdup(zone);
	f->loop = proxy_loop_hash(m);
	f->cur_peer = -1;
	if ((f->next = px->fwds) != NULL)
		f->next->prev = f;
	px->fwds = f;
	txn_set_user(st, f);
	return f;
}

/*
 * The checks of s.16.3 and of our policy on r, in order: the default
 * zone, OPTIONS for this node, Max-Forwards, loops, Proxy-Require, the
 * Route.  1 when r was answered here, 0 when it goes on.
 */
static int
req_checks(struct req *r)
{
	osip_header_t *mf = NULL;
	char *unsup, *w;

	if (!proxy_conf(r->px)->def_accept &&
	    strcmp(r->zone, CONF_DEFAULT_ZONE) == 0) {
		req_refuse(r, 403, "requests from outside every zone are "
		    "refused (default_zone.accept is false)", NULL);
		return 1;
	}
	if (!r->dh.ours && strcmp(r->m->sip_method, "OPTIONS") == 0 &&
	    osip_list_size(&r->f->req->routes) == 0 &&
	    proxy_is_us(r->px, r->f->req->req_uri->host, r->o->local_ip)) {
		r->f->final = 1;
		answer_options(r->px, r->st, r->m, &r->src);
		return 1;
	}
	if (osip_message_get_max_forwards(r->m, 0, &mf) >= 0 && mf != NULL &&
	    atoi(mf->hvalue) == 0) {
		req_refuse(r, 483, "Max-Forwards reached 0", NULL);
		return 1;
	}
	if (proxy_loop_found(r->px, r->m, r->f->loop)) {
		req_refuse(r, 482, "the request came back to sipedge unchanged",
		    NULL);
		return 1;
	}
	if ((unsup = sip_msg_unsupported(r->m, "Proxy-Require", NULL,
	    0)) != NULL) {
		const char *ex[] = { "Unsupported", unsup, NULL };

		w = xasprintf("Proxy-Require options not supported by "
		    "sipedge: %s", unsup);
		req_refuse(r, 420, w, ex);
		free(w);
		free(unsup);
		return 1;
	}
	if (r->dh.refused != NULL) {
		r->f->final = 1;
		route_refused(r->px, r->st, r->m, &r->src, r->o, r->zone,
		    &r->dh);
		return 1;
	}
	return 0;
}

/*
 * The targets of r (its sealed Route pair, or the search rules) and, for
 * a dialog-creating request, the Record-Route entry facing the caller.
 * 1 when r was answered here, 0 when it goes on.
 */
static int
req_targets(struct req *r)
{
	const char *why = NULL;
	char *cause = NULL;

	if (r->dh.ours) {
		if (proxy_target_dialog(r->f, &r->dh, &why) == -1) {
			req_refuse(r, 404, why, NULL);
			return 1;
		}
	} else if (proxy_target_rules(r->f, &cause) == -1) {
		req_refuse(r, 416, cause, NULL);
		free(cause);
		return 1;
	}
	if (!r->dh.ours && dialog_creating(r->f->req) &&
	    proxy_rr_caller(r->f, r->o, r->zone) == -1) {
		req_refuse(r, 500, "cannot make the Record-Route entry", NULL);
		return 1;
	}
	return 0;
}

/*
 * The text every branch of r starts from (the raw text lives only during
 * this call; failover comes later), then the first branch.
 */
static void
req_forward(struct req *r)
{
	struct fwd *f = r->f;
	struct sip_edit *e;

	if (r->o->raw == NULL ||
	    (e = sip_edit_new(r->o->raw, r->o->rawlen)) == NULL) {
		req_refuse(r, 500, "cannot edit the request", NULL);
		return;
	}
	proxy_rr_edit_routes(e, f->req, &r->dh);
	proxy_edit_max_forwards(e, r->m);
	proxy_edit_received(e, r->m, r->o);
	proxy_edit_length(e);
	f->text = sip_edit_output(e, &f->textlen);
	sip_edit_free(e);
	/* Local responses (404, 408, 503) echo the marked Via too. */
	proxy_edit_mark_received(f->req, r->o);
	proxy_target_next(f);
}

/*
 * The request callback of the transaction layer: a new request m from o
 * on server transaction st, or (st NULL) an ACK outside any transaction.
 */
void
proxy_request_in(void *arg, struct txn *st, osip_message_t *m,
    const struct sip_origin *o)
{
	struct req r;

	memset(&r, 0, sizeof r);
	r.px = arg;
	if (st == NULL) {
		if (proxy_conf(r.px)->def_accept ||
		    strcmp(proxy_source_zone(r.px, o), CONF_DEFAULT_ZONE) != 0)
			forward_ack(r.px, m, o);
		return;
	}
	r.st = st;
	r.m = m;
	r.o = o;
	r.src.ip = o->peer_ip;
	r.src.port = o->peer_port;
	r.px->st.requests++;
	if (strcmp(m->sip_method, "CANCEL") == 0) {
		/* Hop by hop: it cancels our branch and is never routed. */
		handle_cancel(r.px, st, m, &r.src, o);
		return;
	}
	r.zone = proxy_source_zone(r.px, o);
	r.f = fwd_new(r.px, st, m, r.zone);
	/*
	 * The forward keeps the request: the transport's own copy when it
	 * can be taken (it stays readable as r.m until we return), else a
	 * clone.  Only f->req is edited (Route popped, Via marked), and only
	 * after what reads r.m as received has read it.
	 */
	if ((r.f->req = sip_origin_take(o, m)) == NULL &&
	    osip_message_clone(m, &r.f->req) != 0) {
		req_refuse(&r, 500, "cannot copy the request", NULL);
		return;
	}
	proxy_rr_route(r.px, r.f->req, o, r.zone, &r.dh);
	if (!req_checks(&r) && !req_targets(&r))
		req_forward(&r);
	proxy_rr_hop_clear(&r.dh);
}
