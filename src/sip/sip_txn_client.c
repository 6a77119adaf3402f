/*
 * sip_txn_client.c: client transactions (RFC 3261 s.17.1, RFC 6026 s.7.2):
 * the INVITE and non-INVITE machines, their timers (A B D, E F K, M, the
 * CANCEL wait of s.9.1), the ACK for a non-2xx final, the CANCEL, local
 * 408 and 503 responses, and matching responses to them (s.17.1.3).
 * Never touches a socket (see sip_txn.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sip/sip_msg.h"
#include "sip/sip_txn_int.h"
#include "util/str.h"
#include "util/xmalloc.h"

static struct txn *client_start(struct txn_layer *, osip_message_t *,
		    char *, size_t, const struct txn_dest *, void *, int,
		    char **);

/*
 * A request for the same hop as req: the ACK of s.17.1.1.3 (to is the
 * response's To) or the CANCEL of s.9.1 (to is req's).  Request-URI,
 * Call-ID, From and the CSeq number of req, its top Via alone, its Route
 * headers.
 */
static osip_message_t *
hop_request(const osip_message_t *req, const char *method,
    const osip_to_t *to)
{
	osip_message_t *m;
	osip_uri_t *u = NULL;
	osip_via_t *v = NULL;
	osip_list_iterator_t it;
	osip_route_t *r, **rc;
	int n, i;

	if (osip_message_init(&m) != 0)
		return NULL;
	osip_message_set_method(m, osip_strdup(method));
	osip_message_set_version(m, osip_strdup("SIP/2.0"));
	if (osip_uri_clone(req->req_uri, &u) != 0)
		goto fail;
	osip_message_set_uri(m, u);
	if (osip_via_clone(txn_top_via(req), &v) != 0)
		goto fail;
	osip_list_add(&m->vias, v, -1);
	if (osip_from_clone(req->from, &m->from) != 0 ||
	    osip_to_clone(to, &m->to) != 0 ||
	    osip_call_id_clone(req->call_id, &m->call_id) != 0 ||
	    osip_cseq_init(&m->cseq) != 0)
		goto fail;
	osip_cseq_set_number(m->cseq, osip_strdup(req->cseq->number));
	osip_cseq_set_method(m->cseq, osip_strdup(method));
	/*
	 * One walk of req's Routes; the copies go in from the last at the
	 * head, which costs nothing (osip_list_add at the end walks the
	 * whole list each time).
	 */
	n = osip_list_size(&req->routes);
	rc = n > 0 ? xcalloc((size_t)n, sizeof *rc) : NULL;
	for (i = 0, r = osip_list_get_first(&req->routes, &it);
	    r != NULL && i < n; r = osip_list_get_next(&it), i++)
		if (osip_route_clone(r, &rc[i]) != 0)
			break;
	if (i < n) {
		while (i-- > 0)
			osip_route_free(rc[i]);
		free(rc);
		goto fail;
	}
	while (i-- > 0)
		osip_list_add(&m->routes, rc[i], 0);
	free(rc);
	osip_message_set_max_forwards(m, "70");
	osip_message_set_content_length(m, "0");
	return m;
fail:
	osip_message_free(m);
	return NULL;
}

/*
 * The request of client transaction t: a transaction started from text
 * alone (txn_client_new_raw()) parses it here, the first time the ACK of
 * a non-2xx, a CANCEL or a local response needs it.  NULL if it does not
 * parse.
 */
static osip_message_t *
client_req(struct txn *t)
{
	if (t->req == NULL && t->out != NULL)
		t->req = sip_msg_parse(t->out, t->outlen);
	return t->req;
}

/*
 * An Accepted INVITE client transaction sends nothing more (RFC 6026
 * s.7.2: no retransmission, no CANCEL, the ACK of a 2xx is not ours), so
 * its request goes now rather than with it after timer M (64*T1): at 500
 * calls a second that is 16,000 requests held for nothing.
 */
static void
drop_request(struct txn *t)
{
	free(t->out);
	t->out = NULL;
	t->outlen = 0;
	if (t->req != NULL) {
		osip_message_free(t->req);
		t->req = NULL;
	}
}

/* The ACK for a non-2xx final response (s.17.1.1.3). */
static void
build_ack(struct txn *t, const osip_message_t *resp)
{
	osip_message_t *a;

	if (t->ack != NULL || resp->to == NULL || client_req(t) == NULL)
		return;
	if ((a = hop_request(t->req, "ACK", resp->to)) == NULL)
		return;
	t->ack = txn_msg_text(a, &t->acklen);
	osip_message_free(a);
}

/*
 * A response made here for a client transaction that got none: 408 for a
 * timeout, 503 for a transport error (s.16.7 / s.16.9).  As if the next
 * hop had sent it: every Via of the request, and a To tag.
 */
static osip_message_t *
local_response(struct txn *t, int status)
{
	osip_message_t *m;
	char tag[17], *text;
	size_t len;

	if (client_req(t) == NULL)
		return NULL;
	str_random_hex(tag, 16);
	text = sip_msg_response(t->req, NULL, status, NULL, tag, NULL, &len);
	if (text == NULL)
		return NULL;
	m = sip_msg_parse(text, len);
	free(text);
	return m;
}

/* Pass a response from o (or a local one, ev, o NULL) to the TU. */
static void
deliver(struct txn *t, enum txn_event ev, osip_message_t *resp,
    const struct sip_origin *o)
{
	struct txn_layer *tl = t->tl;

	if (txn_reportable(t) && tl->cbs.response != NULL)
		tl->cbs.response(tl->cbs.arg, t, ev, resp, o);
}

/* The client transaction ends without a final response from the network. */
static void
client_fail(struct txn *t, enum txn_event ev)
{
	osip_message_t *resp = NULL;

	txn_enter_state(t, TXN_TERMINATED);	/* callbacks below see it ended */
	txn_disarm(t->ev_retx);
	txn_disarm(t->ev_end);
	if (txn_reportable(t)) {
		resp = local_response(t, ev == TXN_EV_TIMEOUT ? 408 : 503);
		deliver(t, ev, resp, NULL);
		if (resp != NULL)
			osip_message_free(resp);
	}
	txn_terminate(t);
}

/* s.9.1: send the CANCEL now that a provisional response has come. */
static void
cancel_send(struct txn *t)
{
	osip_message_t *c;

	t->cancel_sent = 1;
	if (client_req(t) != NULL &&
	    (c = hop_request(t->req, "CANCEL", t->req->to)) != NULL)
		client_start(t->tl, c, NULL, 0, &t->dest, NULL, 1, NULL);
	/*
	 * "If there is no final response for the original request in 64*T1
	 * seconds ..., the client SHOULD then consider the original
	 * transaction cancelled and SHOULD destroy [it]" (s.9.1).
	 */
	txn_arm_end(t, 64 * T1(t));
}

/* s.17.1.1.2 and RFC 6026 s.7.2: a response on an INVITE client txn. */
static enum txn_recv
ict_response(struct txn *t, osip_message_t *m, int status,
    const struct sip_origin *o)
{
	switch (t->state) {
	case TXN_CALLING:
	case TXN_PROCEEDING:
		if (status < 200) {
			if (t->state == TXN_CALLING) {
				/* No more retransmissions; timer B is
				   for the Calling state only. */
				txn_enter_state(t, TXN_PROCEEDING);
				txn_disarm(t->ev_retx);
				txn_disarm(t->ev_end);
				if (t->cancel && !t->cancel_sent)
					cancel_send(t);
			}
			deliver(t, TXN_EV_RESPONSE, m, o);
			return TXN_RECV_MATCHED;
		}
		txn_disarm(t->ev_retx);
		txn_disarm(t->ev_end);
		if (status < 300) {
			/* RFC 6026 s.7.2: Accepted, timer M = 64*T1. */
			txn_enter_state(t, TXN_ACCEPTED);
			txn_arm_end(t, 64 * T1(t));
			drop_request(t);
			deliver(t, TXN_EV_RESPONSE, m, o);
			return TXN_RECV_MATCHED;
		}
		/*
		 * 300-699: Completed, ACK to the same address, port and
		 * transport even over reliable transports; timer D at least
		 * 32 s on UDP, zero on reliable transports.
		 */
		txn_enter_state(t, TXN_COMPLETED);
		build_ack(t, m);
		txn_transmit(t, t->ack, t->acklen);
		txn_arm_end(t, t->reliable ? 0 : t->tl->cfg.timer_d);
		deliver(t, TXN_EV_RESPONSE, m, o);
		return TXN_RECV_MATCHED;
	case TXN_COMPLETED:
		/* A retransmitted final: the ACK again, nothing to the TU. */
		if (status >= 300)
			txn_transmit(t, t->ack, t->acklen);
		return TXN_RECV_ABSORBED;
	case TXN_ACCEPTED:
		/* RFC 6026 s.7.2: every 2xx goes up; no ACK from us. */
		if (status >= 200 && status < 300) {
			deliver(t, TXN_EV_RESPONSE, m, o);
			return TXN_RECV_MATCHED;
		}
		return TXN_RECV_ABSORBED;
	default:
		return TXN_RECV_ABSORBED;
	}
}

/* s.17.1.2.2: a response on a non-INVITE client transaction. */
static enum txn_recv
nict_response(struct txn *t, osip_message_t *m, int status,
    const struct sip_origin *o)
{
	if (t->state != TXN_TRYING && t->state != TXN_PROCEEDING)
		return TXN_RECV_ABSORBED;	/* Completed: buffered */
	if (status < 200) {
		/* Timer E keeps running, at T2 once it fires again. */
		txn_enter_state(t, TXN_PROCEEDING);
		deliver(t, TXN_EV_RESPONSE, m, o);
		return TXN_RECV_MATCHED;
	}
	/* Completed: timer K = T4 on UDP, zero on reliable transports. */
	txn_enter_state(t, TXN_COMPLETED);
	txn_disarm(t->ev_retx);
	txn_arm_end(t, t->reliable ? 0 : T4(t));
	deliver(t, TXN_EV_RESPONSE, m, o);
	return TXN_RECV_MATCHED;
}

/* s.17.1.3: the same branch in the top Via and the same CSeq method. */
static struct txn *
client_lookup(struct txn_layer *tl, const char *branch, const char *method)
{
	unsigned h = txn_hash_str(branch);
	struct txn *t;

	LIST_FOREACH(t, txn_bucket(&tl->client, h), link)
		if (t->hash == h && strcasecmp(t->branch, branch) == 0 &&
		    strcmp(t->method, method) == 0)
			return t;
	return NULL;
}

/*
 * Enter client transaction t (made by txn_alloc, its method and branch
 * set) in the table and send its text: timers A/E and B/F.
 */
static struct txn *
client_begin(struct txn_layer *tl, struct txn *t, char *text, size_t len,
    void *user, int internal)
{
	t->internal = internal;
	t->user = user;
	t->rfc3261 = 1;
	t->out = text;
	t->outlen = len;
	t->hash = txn_hash_str(t->branch);
	txn_table_add(&tl->client, t);

	/*
	 * Calling (s.17.1.1.2): timer A = T1 on UDP only, timer B = 64*T1.
	 * Trying (s.17.1.2.2): timer E = T1 on UDP only, timer F = 64*T1.
	 */
	txn_enter_state(t, t->kind == ICT ? TXN_CALLING : TXN_TRYING);
	txn_transmit(t, t->out, t->outlen);
	if (!t->reliable)
		txn_retx_start(t, T1(t));
	txn_arm_end(t, 64 * T1(t));
	return t;
}

/* Is branch free for a client transaction of method?  If not, *cause. */
static int
client_branch_free(struct txn_layer *tl, const char *branch,
    const char *method, char **cause)
{
	if (client_lookup(tl, branch, method) == NULL)
		return 1;
	if (cause != NULL)
		*cause = xasprintf("branch %s is already used by another %s "
		    "transaction", branch, method);
	return 0;
}

/*
 * Start client transaction for req (taken), with its branch set; text
 * (taken, len bytes) is what is sent, or NULL to serialise req.
 */
static struct txn *
client_start(struct txn_layer *tl, osip_message_t *req, char *text,
    size_t len, const struct txn_dest *dest, void *user, int internal,
    char **cause)
{
	const char *branch = txn_via_param(txn_top_via(req), "branch");
	struct txn *t;

	if (!client_branch_free(tl, branch, req->sip_method, cause)) {
		osip_message_free(req);
		free(text);
		return NULL;
	}
	if (text == NULL && (text = txn_msg_text(req, &len)) == NULL) {
		if (cause != NULL)
			*cause = xstrdup("the request could not be serialised");
		osip_message_free(req);
		return NULL;
	}
	t = txn_alloc(tl, strcmp(req->sip_method, "INVITE") == 0 ? ICT : NICT,
	    dest, req);
	t->method = xstrdup(req->sip_method);
	t->branch = xstrdup(branch);
	t->req = req;
	return client_begin(tl, t, text, len, user, internal);
}

/*
 * Why req cannot start a client transaction, or NULL.  A top Via without
 * a branch gets one when add_branch is set.
 */
static const char *
client_check(osip_message_t *req, int add_branch)
{
	char branch[TXN_BRANCH_LEN + 1];
	const char *why = NULL, *b;
	osip_generic_param_t *p;
	osip_via_t *v;

	if (!MSG_IS_REQUEST(req) || req->sip_method == NULL ||
	    req->req_uri == NULL)
		why = "the message is not a request";
	else if (strcmp(req->sip_method, "ACK") == 0)
		why = "an ACK has no client transaction (RFC 3261 s.17.1)";
	else if ((v = txn_top_via(req)) == NULL)
		why = "the request has no Via header";
	else if (req->cseq == NULL || req->cseq->number == NULL ||
	    req->call_id == NULL || req->from == NULL || req->to == NULL)
		why = "the request lacks CSeq, Call-ID, From or To";
	else if ((b = txn_via_param(v, "branch")) == NULL) {
		p = NULL;
		if (osip_via_param_get_byname(v, "branch", &p) == 0 && p != NULL)
			why = "the top Via has an empty branch";
		else if (!add_branch)
			why = "the top Via has no branch";
		else {
			txn_branch_new(branch);
			osip_via_set_branch(v, osip_strdup(branch));
		}
	} else if (!txn_is_cookie(b))
		why = "the top Via branch does not begin with z9hG4bK";
	return why;
}

struct txn *
txn_client_new(struct txn_layer *tl, osip_message_t *req,
    const struct txn_dest *dest, void *user, char **cause)
{
	const char *why;

	if ((why = client_check(req, 1)) != NULL) {
		if (cause != NULL)
			*cause = xstrdup(why);
		osip_message_free(req);
		return NULL;
	}
	return client_start(tl, req, NULL, 0, dest, user, 0, cause);
}

struct txn *
txn_client_new_text(struct txn_layer *tl, osip_message_t *req, char *text,
    size_t len, const struct txn_dest *dest, void *user, char **cause)
{
	const char *why;

	if ((why = client_check(req, 0)) != NULL) {
		if (cause != NULL)
			*cause = xstrdup(why);
		osip_message_free(req);
		free(text);
		return NULL;
	}
	return client_start(tl, req, text, len, dest, user, 0, cause);
}

struct txn *
txn_client_new_raw(struct txn_layer *tl, char *text, size_t len,
    const char *method, const char *branch, const char *call_id,
    const struct txn_dest *dest, void *user, char **cause)
{
	struct txn *t;

	if (strcmp(method, "ACK") == 0 || !txn_is_cookie(branch)) {
		if (cause != NULL)
			*cause = xstrdup(!txn_is_cookie(branch) ? "the top Via "
			    "branch does not begin with z9hG4bK" : "an ACK has "
			    "no client transaction (RFC 3261 s.17.1)");
		free(text);
		return NULL;
	}
	if (!client_branch_free(tl, branch, method, cause)) {
		free(text);
		return NULL;
	}
	t = txn_alloc(tl, strcmp(method, "INVITE") == 0 ? ICT : NICT, dest,
	    NULL);
	t->log_call_id = xstrdup(call_id);
	t->method = xstrdup(method);
	t->branch = xstrdup(branch);
	return client_begin(tl, t, text, len, user, 0);
}

int
txn_client_cancel(struct txn *t)
{
	if (t->kind != ICT || t->internal)
		return -1;
	if (t->state != TXN_CALLING && t->state != TXN_PROCEEDING)
		return -1;
	if (t->cancel)
		return 0;
	t->cancel = 1;
	/* s.9.1: not before a provisional response has come. */
	if (t->state == TXN_PROCEEDING)
		cancel_send(t);
	return 0;
}

enum txn_recv
txn_recv_response(struct txn_layer *tl, osip_message_t *m,
    const struct sip_origin *o)
{
	const char *branch;
	struct txn *t;
	int status;

	if (!MSG_IS_RESPONSE(m) || txn_top_via(m) == NULL || m->cseq == NULL ||
	    m->cseq->method == NULL)
		return TXN_RECV_BAD;
	status = m->status_code;
	if (status < 100 || status > 699)
		return TXN_RECV_BAD;
	branch = txn_via_param(txn_top_via(m), "branch");
	if (branch == NULL ||
	    (t = client_lookup(tl, branch, m->cseq->method)) == NULL)
		return TXN_RECV_STRAY;
	if (t->kind == ICT)
		return ict_response(t, m, status, o);
	return nict_response(t, m, status, o);
}


/* Timers A and E: the request again (s.17.1.1.2, s.17.1.2.2). */
void
txn_client_retx(struct txn *t)
{
	if (t->kind == ICT) {
		/* Timer A: resend, and double the interval (no T2 cap for
		   INVITE requests: seven sends in 64*T1). */
		if (t->state != TXN_CALLING)
			return;
		txn_transmit(t, t->out, t->outlen);
		txn_retx_next(t, t->retx_ms * 2);
		return;
	}
	/* Timer E: MIN(2*E, T2) in Trying, T2 in Proceeding. */
	if (t->state == TXN_TRYING) {
		txn_transmit(t, t->out, t->outlen);
		txn_retx_next(t, t->retx_ms * 2 < T2(t) ?
		    t->retx_ms * 2 : T2(t));
	} else if (t->state == TXN_PROCEEDING) {
		txn_transmit(t, t->out, t->outlen);
		txn_retx_next(t, T2(t));
	}
}

/* Timers B D F K M, and the CANCEL wait of s.9.1. */
void
txn_client_end(struct txn *t)
{
	if (t->kind == ICT) {
		if (t->state == TXN_CALLING ||
		    (t->state == TXN_PROCEEDING && t->cancel_sent))
			client_fail(t, TXN_EV_TIMEOUT);	/* B, s.9.1 */
		else if (t->state == TXN_COMPLETED || t->state == TXN_ACCEPTED)
			txn_terminate(t);		/* D, M */
		return;
	}
	if (t->state == TXN_TRYING || t->state == TXN_PROCEEDING)
		client_fail(t, TXN_EV_TIMEOUT);		/* F */
	else if (t->state == TXN_COMPLETED)
		txn_terminate(t);			/* K */
}

/* A send failed earlier (s.17.1.4). */
void
txn_client_err(struct txn *t)
{
	if (t->state == TXN_CALLING || t->state == TXN_TRYING ||
	    t->state == TXN_PROCEEDING)
		client_fail(t, TXN_EV_TRANSPORT);
	else if (t->kind == ICT && t->state == TXN_COMPLETED)
		txn_terminate(t);	/* the ACK; the TU has its answer */
}
