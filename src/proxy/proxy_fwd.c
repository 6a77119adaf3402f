/*
 * proxy_fwd.c: the life of a forward (struct fwd), a request the proxy
 * relays: one branch in flight at a time (serial search, s.16.6 with
 * s.16.7 step 5), each a client transaction; a branch that cannot be
 * sent, times out (timer B/F) or answers 503 moves on to the next peer or
 * target (proxy_target.c); any other final response is relayed and ends
 * the search; timer C (s.16.8).  The forward lives until its server
 * transaction ends, so that the 2xx retransmissions of an INVITE (RFC
 * 6026) still pass.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_addr.h"
#include "proxy/proxy_int.h"
#include "sip/sip_msg.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The id of transaction t as text, for a log field. */
static const char *
txn_str(const struct txn *t, char *buf, size_t bufsz)
{
	if (t == NULL)
		snprintf(buf, bufsz, "-");
	else
		snprintf(buf, bufsz, "%llu", txn_id(t));
	return buf;
}

/* Free f and take it out of its proxy's list; its transactions are
   detached and run to their end alone. */
void
proxy_fwd_free(struct fwd *f)
{
	struct proxy *px = f->px;
	size_t i;

	zreg_unref(&f->zr);
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
		proxy_target_clear(&f->tg[i]);
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

/* Why the last branch of f failed: the status and reason of the final
   response made here if no other branch answers. */
void
proxy_fwd_fail(struct fwd *f, int status, const char *why)
{
	f->fail_status = status;
	free(f->fail_reason);
	f->fail_reason = xstrdup(why);
}

/* The final response of f made here, once, with a log line. */
void
proxy_fwd_final(struct fwd *f, int status, const char *why)
{
	static const char *const retry[] = { "Retry-After", PX_RETRY_AFTER,
	    NULL };
	char code[16], tid[24];

	if (f->final || f->st == NULL)
		return;
	f->final = 1;
	snprintf(code, sizeof code, "%d", status);
	log_event(status == 404 ? LOG_LVL_INFO : LOG_LVL_WARN, "proxy",
	    "request failed", "call_id", f->call_id, "method", f->method,
	    "zone", f->src_zone, "status", code, "reason",
	    why != NULL ? why : "-", "txn", txn_str(f->st, tid, sizeof tid),
	    NULL);
	proxy_respond(f->px, f->st, f->req, NULL, status, why,
	    status == 503 ? retry : NULL);
}

/* Timer C (s.16.6 step 11, s.16.8) fired on the branch of f. */
static void
timer_c_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;
	struct txn *ct = f->ct;
	char tid[24];

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
	    f->call_id, "zone", f->ct_zone, "peer", f->ct_peer, "txn",
	    txn_str(ct, tid, sizeof tid), NULL);
	f->ct = NULL;
	txn_set_user(ct, NULL);
	if (f->got_provisional)
		txn_client_cancel(ct);
	txn_detach(ct);
	proxy_fwd_final(f, 408, "no final response before timer C");
}

/* (Re)start timer C of f: sip.timer_c seconds (181 unconfigured). */
static void
arm_timer_c(struct fwd *f)
{
	const struct conf *c = proxy_conf(f->px);
	struct timeval tv = { c != NULL ? c->sip_timer_c : 181, 0 };

	if (f->timer_c == NULL)
		f->timer_c = evtimer_new(f->px->base, timer_c_cb, f);
	evtimer_add(f->timer_c, &tv);
}

/*
 * The text of a branch of f toward dest: tg's request-URI, our
 * Record-Route entries (when f records) and our Via with branch (filled
 * in, branchsz bytes).  NULL with the failure noted in f.
 */
static char *
branch_text(struct fwd *f, const struct target *tg,
    const struct txn_dest *dest, const char *zone, const char *local_ip,
    char *branch, size_t branchsz, size_t *lenp)
{
	char host[NET_ADDRSTRLEN + 2], *text;
	struct sip_edit *e;
	int port;

	if (proxy_target_local_addr(f->px, dest->transport,
	    dest->addr.ss_family, local_ip, host, sizeof host, &port) == -1) {
		proxy_fwd_fail(f, 503, "no listener for the zone's transport");
		return NULL;
	}
	if ((e = sip_edit_new(f->text, f->textlen)) == NULL) {
		proxy_fwd_fail(f, 503, "cannot edit the request");
		return NULL;
	}
	if (tg->uri != NULL)
		proxy_edit_request_line(e, f->method, tg->uri);
	if (f->rr_in != NULL && proxy_rr_insert(f, e, host, port,
	    dest->transport, zone) == -1) {
		sip_edit_free(e);
		proxy_fwd_fail(f, 500, "cannot make the Record-Route entry");
		return NULL;
	}
	proxy_loop_branch(f->loop, branch, branchsz);
	proxy_edit_via(e, dest->transport, host, port, branch,
	    dest->transport == TP_UDP);
	text = sip_edit_output(e, lenp);
	sip_edit_free(e);
	return text;
}

/*
 * Send one branch of f to dest: its text with the target's URI, our
 * Record-Route entries (when f records) and our Via, as a client
 * transaction.  0 when under way, -1 with the failure noted in f.
 */
int
proxy_fwd_send_branch(struct fwd *f, const struct target *tg,
    struct txn_dest *dest, const char *zone, const char *peer,
    const char *local_ip)
{
	osip_message_t *m;
	char *text, *cause = NULL, tid[24], branch[64];
	size_t len;

	if ((text = branch_text(f, tg, dest, zone, local_ip, branch,
	    sizeof branch, &len)) == NULL)
		return -1;
	if (tg->uri == NULL) {
		/*
		 * Our edits of a request that parsed: the transaction parses
		 * the text only if it needs it (a CANCEL, the ACK of a
		 * non-2xx, a local 408/503).
		 */
		f->ct = txn_client_new_raw(f->px->tl, text, len, f->method,
		    branch, f->call_id, dest, f, &cause);
	} else if ((m = sip_msg_parse(text, len)) == NULL) {
		/* A URI from a search rule: checked once here. */
		free(text);
		proxy_fwd_fail(f, 503, "the rewritten URI does not parse");
		return -1;
	} else
		f->ct = txn_client_new_text(f->px->tl, m, text, len, dest, f,
		    &cause);
	if (f->ct == NULL) {
		proxy_fwd_fail(f, 503, cause != NULL ? cause : "cannot send");
		free(cause);
		return -1;
	}
	free(f->ct_zone);
	free(f->ct_peer);
	f->ct_zone = xstrdup(zone != NULL ? zone : "-");
	f->ct_peer = xstrdup(peer);
	f->got_provisional = 0;
	f->px->st.forwarded++;
	log_event(LOG_LVL_INFO, "proxy", "request forwarded", "call_id",
	    f->call_id, "method", f->method, "from_zone", f->src_zone,
	    "zone", f->ct_zone, "peer", peer, "rule",
	    tg->rule != NULL ? tg->rule : "in-dialog", "uri",
	    tg->uri != NULL ? tg->uri : "-", "txn",
	    txn_str(f->ct, tid, sizeof tid), NULL);
	if (strcmp(f->method, "INVITE") == 0)
		arm_timer_c(f);
	return 0;
}

/* The branch in flight failed (ev, or a 503): log, note, next one. */
static void
branch_failover(struct fwd *f, struct txn *ct, enum txn_event ev)
{
	char *why, tid[24];

	why = ev == TXN_EV_TIMEOUT ? xasprintf("no response from %s (zone %s)",
	    f->ct_peer, f->ct_zone) : ev == TXN_EV_TRANSPORT ?
	    xasprintf("cannot send to %s (zone %s)", f->ct_peer, f->ct_zone) :
	    xasprintf("%s (zone %s) answered 503", f->ct_peer, f->ct_zone);
	f->px->st.failovers++;
	log_event(LOG_LVL_WARN, "proxy", "branch failed", "call_id",
	    f->call_id, "zone", f->ct_zone, "peer", f->ct_peer, "reason", why,
	    "txn", txn_str(ct, tid, sizeof tid), NULL);
	proxy_fwd_fail(f, ev == TXN_EV_TIMEOUT ? 408 : 503, why);
	free(why);
	proxy_target_next(f);
}

/*
 * What a response (status, ev) on the branch in flight ct does to f:
 * timer C, the branch's end, failover.  1 when nothing goes up to the
 * caller, 0 when the response is relayed.
 */
static int
branch_progress(struct fwd *f, struct txn *ct, enum txn_event ev, int status)
{
	if (ev == TXN_EV_RESPONSE && status < 200) {
		if (status == 100 || f->final || f->st == NULL)
			return 1;	/* s.16.7 step 5: 100 stops here */
		f->got_provisional = 1;
		if (f->timer_c != NULL)
			arm_timer_c(f);
		return 0;
	}
	if (f->timer_c != NULL)
		evtimer_del(f->timer_c);
	if (ev == TXN_EV_RESPONSE && status < 300)
		return 0;		/* a 2xx */
	f->ct = NULL;
	txn_set_user(ct, NULL);
	if (ev != TXN_EV_RESPONSE || (status == 503 && !f->cancelled)) {
		/* The peer cannot take it: the next one may. */
		branch_failover(f, ct, ev);
		return 1;
	}
	return 0;
}

/*
 * A final response went up on f: no branch follows (s.16.7 step 5 on: a
 * later 2xx is relayed from its own text, a CANCEL finds f final), so the
 * request and the targets go now instead of when the server transaction
 * ends, which for an INVITE answered 2xx is 64*T1 later (RFC 6026).
 */
static void
settle(struct fwd *f)
{
	size_t i;

	osip_message_free(f->req);
	f->req = NULL;
	free(f->text);
	f->text = NULL;
	f->textlen = 0;
	for (i = 0; i < f->ntg; i++)
		proxy_target_clear(&f->tg[i]);
	free(f->tg);
	f->tg = NULL;
	f->ntg = f->ti = 0;
	free(f->fail_reason);
	f->fail_reason = NULL;
	free(f->rr_in);		/* for branches only */
	f->rr_in = NULL;
	free(f->dialog);
	f->dialog = NULL;
	if (f->timer_c != NULL) {
		event_free(f->timer_c);
		f->timer_c = NULL;
	}
}

/*
 * Relay resp (its text in o) up on f's server transaction: our Via goes,
 * the rest passes as it came (s.16.7 step 3); after the final only 2xx
 * for an INVITE.
 */
static void
relay_response(struct fwd *f, osip_message_t *resp,
    const struct sip_origin *o, int status)
{
	struct sip_edit *e = NULL;
	osip_via_t *v;
	char code[16], tid[24], *text = NULL;
	size_t len = 0;

	if (status >= 200 && f->final && !(status < 300 &&
	    txn_is_invite(f->st)))
		return;
	if (o != NULL && o->raw != NULL &&
	    (e = sip_edit_new(o->raw, o->rawlen)) != NULL) {
		sip_edit_remove_first(e, "Via");
		proxy_edit_length(e);
		text = sip_edit_output(e, &len);
		sip_edit_free(e);
	} else if (sip_msg_is_lean(resp)) {
		/* Only part of it was parsed: it cannot be rebuilt. */
		log_event(LOG_LVL_WARN, "proxy", "response not relayed",
		    "call_id", f->call_id, "reason", "its header section "
		    "cannot be edited", NULL);
		return;
	} else if ((v = osip_list_get(&resp->vias, 0)) != NULL) {
		osip_list_remove(&resp->vias, 0);
		osip_via_free(v);
	}
	if (status >= 200 && !f->final) {
		snprintf(code, sizeof code, "%d", status);
		log_event(LOG_LVL_INFO, "proxy", "request done", "call_id",
		    f->call_id, "method", f->method, "zone", f->ct_zone,
		    "peer", f->ct_peer, "status", code, "txn",
		    txn_str(f->st, tid, sizeof tid), NULL);
	}
	if (status >= 200)
		f->final = 1;
	if (text != NULL)
		txn_respond_as(f->st, resp, text, len);
	else
		txn_respond(f->st, resp);
	free(text);
	if (f->final && f->req != NULL)
		settle(f);
}

/*
 * The response callback: a response on branch ct (or a local 408 / 503,
 * ev; o is where it came from, NULL for a local one).
 */
void
proxy_fwd_response(void *arg, struct txn *ct, enum txn_event ev,
    osip_message_t *resp, const struct sip_origin *o)
{
	struct fwd *f = txn_user(ct);
	int status;

	(void)arg;
	if (f == NULL || f->ct != ct)
		return;
	status = resp != NULL ? resp->status_code :
	    ev == TXN_EV_TIMEOUT ? 408 : 503;
	if (branch_progress(f, ct, ev, status))
		return;
	if (f->st == NULL || resp == NULL)
		return;
	relay_response(f, resp, o, status);
}


/* The server transaction of a forward failed: logged (the forward ends
   with the transaction). */
void
proxy_fwd_server_failed(void *arg, struct txn *st, enum txn_event ev)
{
	struct fwd *f = txn_user(st);

	(void)arg;
	log_event(LOG_LVL_WARN, "proxy", "response not delivered", "call_id",
	    f != NULL ? f->call_id : "-", "reason", ev == TXN_EV_TIMEOUT ?
	    "no ACK came for the final response" :
	    "the caller's connection is gone", NULL);
}

/* Transaction t ends: a server transaction takes its forward along. */
void
proxy_fwd_terminated(void *arg, struct txn *t)
{
	struct fwd *f = txn_user(t);

	(void)arg;
	if (f == NULL)
		return;
	if (txn_is_server(t)) {
		f->st = NULL;
		proxy_fwd_free(f);
	} else if (f->ct == t)
		f->ct = NULL;
}
