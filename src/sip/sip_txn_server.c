/*
 * sip_txn_server.c: server transactions (RFC 3261 s.17.2, RFC 6026 s.7.1):
 * the INVITE and non-INVITE machines, their timers (G H I, J, L, the wait
 * before our own 100), matching requests to them (s.17.2.3 with the RFC
 * 2543 fallback) and the CANCEL lookup of s.9.2, and the TU's answers.
 * Never touches a socket (see sip_txn.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "net/net_addr.h"
#include "sip/sip_msg.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn_int.h"
#include "util/xmalloc.h"

static void	aux_cb(evutil_socket_t, short, void *);

/* Case-insensitive equality where both may be NULL. */
static int
eq_ci(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcasecmp(a, b) == 0;
}

/* Case-sensitive equality where both may be NULL. */
static int
eq_cs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A URI as text, in our allocation, or NULL. */
static char *
uri_str(const osip_uri_t *u)
{
	char *s = NULL;

	if (u == NULL || osip_uri_to_str(u, &s) != 0)
		return NULL;
	return txn_from_osip(s);
}

/* A Via value as text, in our allocation, or NULL. */
static char *
via_str(const osip_via_t *v)
{
	char *s = NULL;

	if (v == NULL || osip_via_to_str(v, &s) != 0)
		return NULL;
	return txn_from_osip(s);
}

/* A Call-ID as text, in our allocation, or NULL. */
static char *
call_id_str(const osip_call_id_t *c)
{
	char *s = NULL;

	if (c == NULL || osip_call_id_to_str(c, &s) != 0)
		return NULL;
	return txn_from_osip(s);
}


/* What an incoming request is matched by, s.17.2.3. */
struct rkey {
	osip_via_t	*via;
	const char	*branch;
	int		 rfc3261;
	unsigned	 hash;
	/* RFC 2543 rules only */
	char		*ruri;
	char		*via_text;
	char		*call_id;
};

/* The key of request m; for RFC 2543 requests the compared texts too. */
static void
rkey_init(struct rkey *k, const osip_message_t *m)
{
	memset(k, 0, sizeof *k);
	k->via = txn_top_via(m);
	k->branch = txn_via_param(k->via, "branch");
	k->rfc3261 = txn_is_cookie(k->branch);
	if (k->rfc3261) {
		k->hash = txn_hash_str(k->branch);
		return;
	}
	k->hash = txn_hash_str(m->call_id->number ? m->call_id->number : "");
	k->ruri = uri_str(m->req_uri);
	k->via_text = via_str(k->via);
	k->call_id = call_id_str(m->call_id);
}

/* Free what rkey_init() made (or what server_new() left). */
static void
rkey_clear(struct rkey *k)
{
	free(k->ruri);
	free(k->via_text);
	free(k->call_id);
}

enum match_mode {
	MATCH_REQUEST,		/* a retransmission, or an ACK */
	MATCH_CANCELLED		/* s.9.2: what a CANCEL cancels */
};

/* Does request m (key k) belong to server transaction t? */
static int
server_match(const struct txn *t, const osip_message_t *m,
    const struct rkey *k, enum match_mode mode)
{
	int is_ack = strcmp(m->sip_method, "ACK") == 0;

	if (t->hash != k->hash || t->rfc3261 != k->rfc3261)
		return 0;
	/* Method: equal, ACK for INVITE, or (s.9.2) anything but CANCEL. */
	if (mode == MATCH_CANCELLED) {
		if (strcmp(t->method, "CANCEL") == 0)
			return 0;
	} else if (is_ack) {
		if (t->kind != IST)
			return 0;
	} else if (strcmp(t->method, m->sip_method) != 0)
		return 0;

	if (k->rfc3261)		/* branch, then sent-by */
		return strcasecmp(t->branch, k->branch) == 0 &&
		    eq_ci(t->sent_host, osip_via_get_host(k->via)) &&
		    eq_cs(t->sent_port, osip_via_get_port(k->via));

	/*
	 * RFC 2543 compatibility: Request-URI, From tag, Call-ID, CSeq
	 * number and top Via; the To tag of the request for anything but
	 * ACK, whose To tag must be the one of our final response.
	 */
	if (!eq_cs(t->ruri, k->ruri) || !eq_ci(t->via, k->via_text) ||
	    !eq_cs(t->call_id, k->call_id) ||
	    !eq_cs(t->cseq_num, m->cseq->number) ||
	    !eq_ci(t->from_tag, txn_tag_of(m->from)))
		return 0;
	if (is_ack && mode == MATCH_REQUEST)
		return t->resp_tag != NULL && eq_ci(t->resp_tag, txn_tag_of(m->to));
	return eq_ci(t->to_tag, txn_tag_of(m->to));
}

/* The server transaction request m (key k) belongs to, or NULL. */
static struct txn *
server_lookup(struct txn_layer *tl, const osip_message_t *m,
    const struct rkey *k, enum match_mode mode)
{
	struct txn *t;

	LIST_FOREACH(t, txn_bucket(&tl->server, k->hash), link)
		if (server_match(t, m, k, mode))
			return t;
	return NULL;
}

/* The 100 (Trying) goes out now and counts as the last provisional. */
static void
send_trying(struct txn *t)
{
	txn_disarm(t->ev_aux);
	if (t->trying == NULL)
		return;
	free(t->out);
	t->out = t->trying;
	t->outlen = t->tryinglen;
	t->out_status = 100;
	t->trying = NULL;
	txn_transmit(t, t->out, t->outlen);
}

/*
 * The 100 (Trying) of s.17.2.1, made in advance: by s.8.2.6 with the
 * Timestamp of the request (s.8.2.6.1) and, as s.17.2.1 asks, no To tag.
 */
static void
make_trying(struct txn *t, const osip_message_t *m)
{
	const char *hdrs[3] = { NULL, NULL, NULL };
	osip_header_t *ts = NULL;
	struct sip_src src, *sp = NULL;
	char ip[NET_ADDRSTRLEN];

	if (osip_message_get_timestamp(m, 0, &ts) >= 0 && ts != NULL &&
	    ts->hvalue != NULL) {
		hdrs[0] = "Timestamp";
		hdrs[1] = ts->hvalue;
	}
	if (t->dest.addrlen > 0) {
		src.ip = net_addr_ip((const struct sockaddr *)&t->dest.addr,
		    ip, sizeof ip, &src.port);
		sp = &src;
	}
	t->trying = sip_msg_response(m, sp, 100, NULL, NULL, hdrs,
	    &t->tryinglen);
}

/* A server transaction for request m, in Trying or Proceeding. */
static struct txn *
server_new(struct txn_layer *tl, const osip_message_t *m,
    struct rkey *k, const struct txn_dest *src)
{
	int invite = strcmp(m->sip_method, "INVITE") == 0;
	const char *host = k->rfc3261 && osip_via_get_host(k->via) != NULL ?
	    osip_via_get_host(k->via) : "";
	const char *port = k->rfc3261 ? osip_via_get_port(k->via) : NULL;
	struct txn *t = txn_alloc_room(tl, invite ? IST : NIST, src, m,
	    strlen(m->sip_method) + (k->rfc3261 ? strlen(k->branch) : 0) +
	    strlen(host) + (port != NULL ? strlen(port) + 1 : 0) + 3);

	t->method = txn_keep(t, m->sip_method);
	t->rfc3261 = k->rfc3261;
	t->hash = k->hash;
	if (k->rfc3261) {
		t->branch = txn_keep(t, k->branch);
		t->sent_host = txn_keep(t, host);
		if (port != NULL)
			t->sent_port = txn_keep(t, port);
	} else {
		t->branch = txn_keep(t, "");
		t->ruri = k->ruri;
		t->via = k->via_text;
		t->call_id = k->call_id;
		k->ruri = k->via_text = k->call_id = NULL;
		t->cseq_num = xstrdup(m->cseq->number);
		if (txn_tag_of(m->from) != NULL)
			t->from_tag = xstrdup(txn_tag_of(m->from));
		if (txn_tag_of(m->to) != NULL)
			t->to_tag = xstrdup(txn_tag_of(m->to));
	}
	txn_table_add(&tl->server, t);

	if (!invite) {
		txn_enter_state(t, TXN_TRYING);		/* s.17.2.2 */
		return t;
	}
	/*
	 * Proceeding (s.17.2.1): "MUST generate a 100 (Trying) response
	 * unless it knows that the TU will generate a provisional or final
	 * response within 200 ms".  We wait that long for the TU.
	 */
	txn_enter_state(t, TXN_PROCEEDING);
	make_trying(t, m);
	if (tl->cfg.trying == TXN_TRYING_NOW)
		send_trying(t);
	else
		txn_arm(t, &t->ev_aux, aux_cb, tl->cfg.trying);
	return t;
}

/* A retransmission of the request that made server transaction t. */
static void
server_retransmission(struct txn *t)
{
	switch (t->state) {
	case TXN_PROCEEDING:
		/* The most recent provisional again (s.17.2.1, s.17.2.2);
		   if the TU has sent none yet, our 100 now. */
		if (t->out != NULL)
			txn_transmit(t, t->out, t->outlen);
		else if (t->trying != NULL)
			send_trying(t);
		break;
	case TXN_COMPLETED:
		/* The final response again (s.17.2.1, s.17.2.2). */
		txn_transmit(t, t->out, t->outlen);
		break;
	default:
		/* Trying (s.17.2.2), Confirmed, and Accepted (RFC 6026
		   s.7.1): absorbed. */
		break;
	}
}

/* An ACK matched to INVITE server transaction t. */
static enum txn_recv
server_ack(struct txn *t, osip_message_t *m, const struct sip_origin *o)
{
	struct txn_layer *tl = t->tl;

	switch (t->state) {
	case TXN_COMPLETED:
		/* Confirmed: no more timer G; timer I = T4 on UDP, zero
		   on reliable transports (s.17.2.1). */
		txn_enter_state(t, TXN_CONFIRMED);
		txn_disarm(t->ev_retx);
		txn_arm_end(t, t->reliable ? 0 : T4(t));
		return TXN_RECV_ABSORBED;
	case TXN_ACCEPTED:
		/* RFC 6026 s.7.1: an ACK in Accepted goes to the TU. */
		tl->cbs.request(tl->cbs.arg, NULL, m, o);
		return TXN_RECV_ACK;
	default:
		/* Confirmed: a retransmitted ACK.  Proceeding: no final
		   response was sent, so this ACK acknowledges nothing. */
		return TXN_RECV_ABSORBED;
	}
}

/* Where the responses to a request from o go (s.18.2.2). */
static void
origin_dest(const struct sip_origin *o, struct txn_dest *d)
{
	memset(d, 0, sizeof *d);
	d->transport = o->transport;
	if (o->peerlen > 0 && o->peerlen <= sizeof d->addr) {
		memcpy(&d->addr, &o->peer, o->peerlen);
		d->addrlen = o->peerlen;
	}
	d->flow = o->conn != NULL ?
	    (void *)(uintptr_t)sip_conn_id(o->conn) : NULL;
}

enum txn_recv
txn_recv_request(struct txn_layer *tl, osip_message_t *m,
    const struct sip_origin *o)
{
	struct txn_dest src;
	struct rkey k;
	struct txn *t;
	enum txn_recv r;

	if (!MSG_IS_REQUEST(m) || m->sip_method == NULL ||
	    m->req_uri == NULL || txn_top_via(m) == NULL || m->cseq == NULL ||
	    m->cseq->number == NULL || m->call_id == NULL ||
	    m->from == NULL || m->to == NULL)
		return TXN_RECV_BAD;
	rkey_init(&k, m);
	if ((t = server_lookup(tl, m, &k, MATCH_REQUEST)) != NULL) {
		if (strcmp(m->sip_method, "ACK") == 0)
			r = server_ack(t, m, o);
		else {
			server_retransmission(t);
			r = TXN_RECV_ABSORBED;
		}
	} else if (strcmp(m->sip_method, "ACK") == 0) {
		/* The ACK for a 2xx is not part of the transaction (s.17). */
		tl->cbs.request(tl->cbs.arg, NULL, m, o);
		r = TXN_RECV_ACK;
	} else if (tl->cfg.max_server > 0 &&
	    tl->server.n >= tl->cfg.max_server) {
		/* Each lives up to 64*T1 after its final response: a flood
		 * of new requests must not hold memory without bound. */
		r = TXN_RECV_FULL;
	} else {
		origin_dest(o, &src);
		t = server_new(tl, m, &k, &src);
		tl->cbs.request(tl->cbs.arg, t, m, o);
		r = TXN_RECV_NEW;
	}
	rkey_clear(&k);
	return r;
}

struct txn *
txn_find_cancelled(struct txn_layer *tl, const osip_message_t *cancel)
{
	struct rkey k;
	struct txn *t;

	if (!MSG_IS_REQUEST(cancel) || cancel->sip_method == NULL ||
	    txn_top_via(cancel) == NULL || cancel->cseq == NULL ||
	    cancel->cseq->number == NULL || cancel->call_id == NULL ||
	    cancel->from == NULL || cancel->to == NULL)
		return NULL;
	rkey_init(&k, cancel);
	t = server_lookup(tl, cancel, &k, MATCH_CANCELLED);
	rkey_clear(&k);
	return t;
}

/* Keep the response just sent as the one to retransmit. */
static void
keep(struct txn *t, int status, const char *buf, size_t len)
{
	free(t->out);
	t->out = xstrndup(buf, len);
	t->outlen = len;
	t->out_status = status;
}

/* The TU answers on INVITE server transaction t (s.17.2.1, RFC 6026). */
static int
ist_respond(struct txn *t, int status, const char *buf, size_t len,
    const char *to_tag)
{
	if (t->state == TXN_ACCEPTED) {
		/* RFC 6026 s.7.1: 2xx retransmissions from the TU pass;
		   nothing else does. */
		if (status < 200 || status >= 300)
			return -1;
		t->out_status = status;
		txn_transmit(t, buf, len);
		return 0;
	}
	if (t->state != TXN_PROCEEDING)
		return -1;
	/* The TU has spoken: no 100 of ours. */
	txn_disarm(t->ev_aux);
	free(t->trying);
	t->trying = NULL;
	if (status < 200) {
		keep(t, status, buf, len);
		txn_transmit(t, buf, len);
		return 0;
	}
	if (to_tag != NULL && t->resp_tag == NULL)
		t->resp_tag = xstrdup(to_tag);
	if (status < 300) {
		/* RFC 6026 s.7.1: Accepted, timer L = 64*T1; the 2xx is
		   not ours to retransmit. */
		free(t->out);
		t->out = NULL;
		t->out_status = status;
		txn_enter_state(t, TXN_ACCEPTED);
		txn_transmit(t, buf, len);
		txn_arm_end(t, 64 * T1(t));
		return 0;
	}
	/* Completed: timer G = T1 on UDP only, timer H = 64*T1 for all
	   transports (s.17.2.1). */
	keep(t, status, buf, len);
	txn_enter_state(t, TXN_COMPLETED);
	txn_transmit(t, buf, len);
	if (!t->reliable)
		txn_retx_start(t, T1(t));
	txn_arm_end(t, 64 * T1(t));
	return 0;
}

/* The TU answers on server transaction t. */
static int
respond(struct txn *t, int status, const char *buf, size_t len,
    const char *to_tag)
{
	if (status < 100 || status > 699)
		return -1;
	if (t->kind == IST)
		return ist_respond(t, status, buf, len, to_tag);
	/* Non-INVITE, s.17.2.2. */
	if (t->state != TXN_TRYING && t->state != TXN_PROCEEDING)
		return -1;	/* Completed: other finals are discarded */
	keep(t, status, buf, len);
	txn_transmit(t, buf, len);
	if (status < 200) {
		txn_enter_state(t, TXN_PROCEEDING);
		return 0;
	}
	/* Completed: timer J = 64*T1 on UDP, zero on reliable transports. */
	txn_enter_state(t, TXN_COMPLETED);
	txn_arm_end(t, t->reliable ? 0 : 64 * T1(t));
	return 0;
}

int
txn_respond(struct txn *t, osip_message_t *resp)
{
	char *text;
	size_t len;
	int r;

	if (!(t->kind == IST || t->kind == NIST) || !MSG_IS_RESPONSE(resp))
		return -1;
	if ((text = txn_msg_text(resp, &len)) == NULL)
		return -1;
	r = respond(t, resp->status_code, text, len, txn_tag_of(resp->to));
	free(text);
	return r;
}

int
txn_respond_as(struct txn *t, const osip_message_t *resp, const char *buf,
    size_t len)
{
	if (!(t->kind == IST || t->kind == NIST) || !MSG_IS_RESPONSE(resp))
		return -1;
	return respond(t, resp->status_code, buf, len, txn_tag_of(resp->to));
}

int
txn_respond_text(struct txn *t, const char *buf, size_t len)
{
	osip_message_t *m = NULL;
	const char *tag = NULL;
	int status, r;

	if (!(t->kind == IST || t->kind == NIST))
		return -1;
	/* "SIP/2.0 NNN " */
	if (len < 12 || strncasecmp(buf, "SIP/2.0 ", 8) != 0 ||
	    !isdigit((unsigned char)buf[8]) || !isdigit((unsigned char)buf[9]) ||
	    !isdigit((unsigned char)buf[10]) || buf[11] != ' ')
		return -1;
	status = (buf[8] - '0') * 100 + (buf[9] - '0') * 10 + (buf[10] - '0');
	/* Only RFC 2543 ACK matching needs the To tag of a final response. */
	if (t->kind == IST && !t->rfc3261 && status >= 200 &&
	    (m = sip_msg_parse(buf, len)) != NULL)
		tag = txn_tag_of(m->to);
	r = respond(t, status, buf, len, tag);
	if (m != NULL)
		osip_message_free(m);
	return r;
}


/* Timer G: the final again, MIN(2*G, T2) (s.17.2.1). */
void
txn_server_retx(struct txn *t)
{
	if (t->kind != IST || t->state != TXN_COMPLETED)
		return;
	txn_transmit(t, t->out, t->outlen);
	txn_retx_next(t, t->retx_ms * 2 < T2(t) ? t->retx_ms * 2 : T2(t));
}

/* Timers H I J L. */
void
txn_server_end(struct txn *t)
{
	struct txn_layer *tl = t->tl;

	if (t->kind == NIST) {
		if (t->state == TXN_COMPLETED)
			txn_terminate(t);		/* J */
		return;
	}
	if (t->state == TXN_COMPLETED) {
		/* H: the ACK never came; tell the TU. */
		txn_enter_state(t, TXN_TERMINATED);
		txn_disarm(t->ev_retx);
		if (txn_reportable(t) && tl->cbs.server_failed != NULL)
			tl->cbs.server_failed(tl->cbs.arg, t, TXN_EV_TIMEOUT);
		txn_terminate(t);
	} else if (t->state == TXN_CONFIRMED || t->state == TXN_ACCEPTED)
		txn_terminate(t);			/* I, L */
}

/* The TU has not answered the INVITE in time: our 100 (s.17.2.1). */
static void
aux_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;

	if (t->kind == IST && t->state == TXN_PROCEEDING)
		send_trying(t);
}

/* A send failed earlier: s.17.2.4, RFC 6026 Figure 5. */
void
txn_server_err(struct txn *t)
{
	struct txn_layer *tl = t->tl;
	int end;

	if (t->state != TXN_PROCEEDING && t->state != TXN_COMPLETED &&
	    t->state != TXN_ACCEPTED)
		return;
	/* An INVITE server transaction outlives a failure in Proceeding or
	   Accepted (RFC 6026 Figure 5). */
	end = t->kind == NIST || t->state == TXN_COMPLETED;
	if (end) {
		txn_enter_state(t, TXN_TERMINATED);
		txn_disarm(t->ev_retx);
		txn_disarm(t->ev_end);
	}
	if (txn_reportable(t) && tl->cbs.server_failed != NULL)
		tl->cbs.server_failed(tl->cbs.arg, t, TXN_EV_TRANSPORT);
	if (end)
		txn_terminate(t);
}
