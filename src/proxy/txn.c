/*
 * txn.c: the transaction layer of RFC 3261 s.17 as updated by RFC 6026.
 * Four state machines (INVITE and non-INVITE, client and server), two hash
 * tables to match messages to them, and libevent timers.  Sends only
 * through the user's callback; never touches a socket, never frees a
 * transaction inside a call from the user (see txn.h).
 *
 * Timers (RFC 3261 Appendix A, RFC 6026 s.8.11), per transaction:
 *   ev_retx  A (INVITE client), E (non-INVITE client), G (INVITE server)
 *   ev_end   B D M (INVITE client), F K (non-INVITE client),
 *            H I L (INVITE server), J (non-INVITE server), and the 64*T1
 *            wait for a final response after a CANCEL (s.9.1)
 *   ev_aux   the 200 ms before an INVITE server sends 100 itself (s.17.2.1)
 *   ev_err   a transport error, reported on the next loop turn
 * Retransmission timers keep their schedule from the first send, so a
 * late wakeup does not stretch the series: an INVITE on UDP is sent seven
 * times before timer B, as s.17.1.1.2 counts.
 */
#include "config.h"

#include <sys/queue.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <osipparser2/osip_parser.h>

#include "conf/conf.h"
#include "net/net_addr.h"
#include "proxy/txn.h"
#include "sip/sip_msg.h"
#include "util/str.h"
#include "util/xmalloc.h"

enum txn_kind {
	IST,		/* INVITE server, s.17.2.1 */
	NIST,		/* non-INVITE server, s.17.2.2 */
	ICT,		/* INVITE client, s.17.1.1 */
	NICT		/* non-INVITE client, s.17.1.2 */
};

struct txn {
	LIST_ENTRY(txn)		 link;		/* in its table's bucket */
	struct txn_layer	*tl;
	enum txn_kind		 kind;
	enum txn_state		 state;
	unsigned		 hash;
	int			 linked;	/* in a table */
	int			 reliable;	/* TCP or TLS */
	int			 rfc3261;	/* the branch has the cookie */
	int			 detached;	/* the TU wants no callbacks */
	int			 internal;	/* our own CANCEL: never reported */
	int			 cancel;	/* client: CANCEL asked for */
	int			 cancel_sent;
	int			 failed;	/* a send failed; ev_err pending */
	char			*method;
	char			*branch;	/* "" for an RFC 2543 request */
	/* Server, s.17.2.3: the top Via's sent-by. */
	char			*sent_host;
	char			*sent_port;	/* NULL when absent */
	/* Server, RFC 2543 matching (branch without the cookie). */
	char			*ruri;
	char			*call_id;
	char			*cseq_num;
	char			*from_tag;
	char			*to_tag;
	char			*via;
	char			*resp_tag;	/* To tag of our final response */
	struct txn_dest		 dest;
	/* Client: the request; server: the last response sent. */
	char			*out;
	size_t			 outlen;
	int			 out_status;
	char			*trying;	/* INVITE server: 100 not sent yet */
	size_t			 tryinglen;
	char			*ack;		/* INVITE client: ACK for non-2xx */
	size_t			 acklen;
	osip_message_t		*req;		/* client: the request, owned */
	int64_t			 retx_due;	/* us, monotonic */
	int			 retx_ms;	/* the interval just scheduled */
	struct event		*ev_retx;
	struct event		*ev_end;
	struct event		*ev_aux;
	struct event		*ev_err;
	void			*user;
};

LIST_HEAD(txn_list, txn);

/* Chained hash table; grows by doubling, never shrinks. */
struct txn_table {
	struct txn_list	*b;
	size_t		 nb;		/* a power of two */
	size_t		 n;
};

struct txn_layer {
	struct event_base	*base;
	struct txn_config	 cfg;
	struct txn_cbs		 cbs;
	struct txn_table	 server;	/* by branch, or Call-ID (RFC 2543) */
	struct txn_table	 client;	/* by our branch */
};

#define T1(t)	((t)->tl->cfg.t1)
#define T2(t)	((t)->tl->cfg.t2)
#define T4(t)	((t)->tl->cfg.t4)

static void	retx_cb(evutil_socket_t, short, void *);
static void	end_cb(evutil_socket_t, short, void *);
static void	aux_cb(evutil_socket_t, short, void *);
static void	err_cb(evutil_socket_t, short, void *);
static struct txn *client_start(struct txn_layer *, osip_message_t *,
		    char *, size_t, const struct txn_dest *, void *, int,
		    char **);

/* Microseconds on the monotonic clock. */
static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* FNV-1a over the lower-cased key: branches compare case-insensitively. */
static unsigned
hash_str(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 16777619u;
	}
	return h;
}

/* An empty table of 64 buckets. */
static void
table_init(struct txn_table *tb)
{
	size_t i;

	tb->nb = 64;
	tb->n = 0;
	tb->b = xcalloc(tb->nb, sizeof *tb->b);
	for (i = 0; i < tb->nb; i++)
		LIST_INIT(&tb->b[i]);
}

/* Insert t (its hash set), doubling the buckets past two per bucket. */
static void
table_add(struct txn_table *tb, struct txn *t)
{
	struct txn_list *nb;
	struct txn *x;
	size_t i, nnb;

	if (tb->n >= tb->nb * 2) {
		nnb = tb->nb * 2;
		nb = xcalloc(nnb, sizeof *nb);
		for (i = 0; i < nnb; i++)
			LIST_INIT(&nb[i]);
		for (i = 0; i < tb->nb; i++) {
			while ((x = LIST_FIRST(&tb->b[i])) != NULL) {
				LIST_REMOVE(x, link);
				LIST_INSERT_HEAD(&nb[x->hash & (nnb - 1)], x, link);
			}
		}
		free(tb->b);
		tb->b = nb;
		tb->nb = nnb;
	}
	LIST_INSERT_HEAD(&tb->b[t->hash & (tb->nb - 1)], t, link);
	tb->n++;
	t->linked = 1;
}

/* The table t belongs in. */
static struct txn_table *
table_of(struct txn *t)
{
	return t->kind == IST || t->kind == NIST ? &t->tl->server :
	    &t->tl->client;
}

/* Take t out of its table, if it is in one. */
static void
table_del(struct txn *t)
{
	if (!t->linked)
		return;
	LIST_REMOVE(t, link);
	table_of(t)->n--;
	t->linked = 0;
}

/* The bucket for hash. */
static struct txn_list *
bucket(struct txn_table *tb, unsigned hash)
{
	return &tb->b[hash & (tb->nb - 1)];
}

/* An osip string into our own allocation (NULL stays NULL). */
static char *
from_osip(char *s)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = xstrdup(s);
	osip_free(s);
	return r;
}

/* The topmost Via, or NULL. */
static osip_via_t *
top_via(const osip_message_t *m)
{
	return osip_list_get(&m->vias, 0);
}

/* The value of a Via parameter, or NULL. */
static const char *
via_param(const osip_via_t *v, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (v == NULL || osip_via_param_get_byname((osip_via_t *)v,
	    (char *)name, &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue;
}

/* The tag of a From or To header, or NULL. */
static const char *
tag_of(const osip_from_t *f)
{
	osip_generic_param_t *p = NULL;

	if (f == NULL || osip_from_get_tag((osip_from_t *)f, &p) != 0 ||
	    p == NULL)
		return NULL;
	return p->gvalue;
}

/* Does the branch begin with the magic cookie (s.17.2.3)? */
static int
is_cookie(const char *branch)
{
	return branch != NULL &&
	    strncmp(branch, TXN_COOKIE, sizeof(TXN_COOKIE) - 1) == 0;
}

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
	return from_osip(s);
}

/* A Via value as text, in our allocation, or NULL. */
static char *
via_str(const osip_via_t *v)
{
	char *s = NULL;

	if (v == NULL || osip_via_to_str(v, &s) != 0)
		return NULL;
	return from_osip(s);
}

/* A Call-ID as text, in our allocation, or NULL. */
static char *
call_id_str(const osip_call_id_t *c)
{
	char *s = NULL;

	if (c == NULL || osip_call_id_to_str(c, &s) != 0)
		return NULL;
	return from_osip(s);
}

/* The timers ---------------------------------------------------------- */

/* Start (or restart) a timer us from now; the event is made on first use. */
static void
arm_us(struct txn *t, struct event **evp, event_callback_fn cb, int64_t us)
{
	struct timeval tv;

	if (*evp == NULL && (*evp = evtimer_new(t->tl->base, cb, t)) == NULL)
		abort();	/* out of memory, as xmalloc */
	if (us < 0)
		us = 0;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(*evp, &tv);
}

/* The same in milliseconds. */
static void
arm(struct txn *t, struct event **evp, event_callback_fn cb, int ms)
{
	arm_us(t, evp, cb, (int64_t)ms * 1000);
}

/* Stop a timer, if it was ever made. */
static void
disarm(struct event *ev)
{
	if (ev != NULL)
		evtimer_del(ev);
}

/* First retransmission ms from now. */
static void
retx_start(struct txn *t, int ms)
{
	t->retx_ms = ms;
	t->retx_due = now_us() + (int64_t)ms * 1000;
	arm_us(t, &t->ev_retx, retx_cb, t->retx_ms * (int64_t)1000);
}

/* The next one ms after the one just due, wherever the loop is now. */
static void
retx_next(struct txn *t, int ms)
{
	if (ms > 3600 * 1000)
		ms = 3600 * 1000;
	t->retx_ms = ms;
	t->retx_due += (int64_t)ms * 1000;
	arm_us(t, &t->ev_retx, retx_cb, t->retx_due - now_us());
}

/* Life and death --------------------------------------------------------- */

/* A new transaction of kind, talking to d; in no table yet. */
static struct txn *
txn_alloc(struct txn_layer *tl, enum txn_kind kind, const struct txn_dest *d)
{
	struct txn *t = xcalloc(1, sizeof *t);

	t->tl = tl;
	t->kind = kind;
	t->dest = *d;
	t->reliable = d->transport != TP_UDP;
	return t;
}

/* Free t and everything it holds; no callbacks. */
static void
txn_free(struct txn *t)
{
	struct event **evs[] = { &t->ev_retx, &t->ev_end, &t->ev_aux,
	    &t->ev_err };
	size_t i;

	table_del(t);
	for (i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (*evs[i] != NULL)
			event_free(*evs[i]);
	free(t->method);
	free(t->branch);
	free(t->sent_host);
	free(t->sent_port);
	free(t->ruri);
	free(t->call_id);
	free(t->cseq_num);
	free(t->from_tag);
	free(t->to_tag);
	free(t->via);
	free(t->resp_tag);
	free(t->out);
	free(t->trying);
	free(t->ack);
	if (t->req != NULL)
		osip_message_free(t->req);
	free(t);
}

/* Does the TU want to hear about t? */
static int
reportable(const struct txn *t)
{
	return !t->detached && !t->internal;
}

/*
 * The Terminated state: "MUST be destroyed immediately" (s.17.1.1.2,
 * s.17.1.2.2, s.17.2.1, s.17.2.2).  Only ever called from a timer.
 */
static void
terminate(struct txn *t)
{
	struct txn_layer *tl = t->tl;

	t->state = TXN_TERMINATED;
	table_del(t);
	if (reportable(t) && tl->cbs.terminated != NULL)
		tl->cbs.terminated(tl->cbs.arg, t);
	txn_free(t);
}

/* Hand buf to the transport; a failure is reported on the next loop turn. */
static void
transmit(struct txn *t, const char *buf, size_t len)
{
	struct txn_layer *tl = t->tl;

	if (buf == NULL)
		return;
	if (tl->cbs.send(tl->cbs.arg, &t->dest, buf, len) != 0 && !t->failed) {
		t->failed = 1;
		arm(t, &t->ev_err, err_cb, 0);
	}
}

/* Client side ------------------------------------------------------------ */

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
	if (osip_via_clone(top_via(req), &v) != 0)
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

/* Text of a message, in our allocation. */
static char *
msg_text(osip_message_t *m, size_t *lenp)
{
	char *s = NULL, *r;
	size_t len = 0;

	osip_message_force_update(m);
	if (osip_message_to_str(m, &s, &len) != 0 || s == NULL)
		return NULL;
	r = xstrndup(s, len);
	osip_free(s);
	*lenp = len;
	return r;
}

/* The ACK for a non-2xx final response (s.17.1.1.3). */
static void
build_ack(struct txn *t, const osip_message_t *resp)
{
	osip_message_t *a;

	if (t->ack != NULL || resp->to == NULL)
		return;
	if ((a = hop_request(t->req, "ACK", resp->to)) == NULL)
		return;
	t->ack = msg_text(a, &t->acklen);
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

	str_random_hex(tag, 16);
	text = sip_msg_response(t->req, NULL, status, NULL, tag, NULL, &len);
	if (text == NULL)
		return NULL;
	m = sip_msg_parse(text, len);
	free(text);
	return m;
}

/* Pass a response (or a local one, ev) to the TU. */
static void
deliver(struct txn *t, enum txn_event ev, osip_message_t *resp)
{
	struct txn_layer *tl = t->tl;

	if (reportable(t) && tl->cbs.response != NULL)
		tl->cbs.response(tl->cbs.arg, t, ev, resp);
}

/* The client transaction ends without a final response from the network. */
static void
client_fail(struct txn *t, enum txn_event ev)
{
	osip_message_t *resp = NULL;

	t->state = TXN_TERMINATED;	/* callbacks below see it ended */
	disarm(t->ev_retx);
	disarm(t->ev_end);
	if (reportable(t)) {
		resp = local_response(t, ev == TXN_EV_TIMEOUT ? 408 : 503);
		deliver(t, ev, resp);
		if (resp != NULL)
			osip_message_free(resp);
	}
	terminate(t);
}

/* s.9.1: send the CANCEL now that a provisional response has come. */
static void
cancel_send(struct txn *t)
{
	osip_message_t *c;

	t->cancel_sent = 1;
	if ((c = hop_request(t->req, "CANCEL", t->req->to)) != NULL)
		client_start(t->tl, c, NULL, 0, &t->dest, NULL, 1, NULL);
	/*
	 * "If there is no final response for the original request in 64*T1
	 * seconds ..., the client SHOULD then consider the original
	 * transaction cancelled and SHOULD destroy [it]" (s.9.1).
	 */
	arm(t, &t->ev_end, end_cb, 64 * T1(t));
}

/* s.17.1.1.2 and RFC 6026 s.7.2: a response on an INVITE client txn. */
static enum txn_recv
ict_response(struct txn *t, osip_message_t *m, int status)
{
	switch (t->state) {
	case TXN_CALLING:
	case TXN_PROCEEDING:
		if (status < 200) {
			if (t->state == TXN_CALLING) {
				/* No more retransmissions; timer B is
				   for the Calling state only. */
				t->state = TXN_PROCEEDING;
				disarm(t->ev_retx);
				disarm(t->ev_end);
				if (t->cancel && !t->cancel_sent)
					cancel_send(t);
			}
			deliver(t, TXN_EV_RESPONSE, m);
			return TXN_RECV_MATCHED;
		}
		disarm(t->ev_retx);
		disarm(t->ev_end);
		if (status < 300) {
			/* RFC 6026 s.7.2: Accepted, timer M = 64*T1. */
			t->state = TXN_ACCEPTED;
			arm(t, &t->ev_end, end_cb, 64 * T1(t));
			deliver(t, TXN_EV_RESPONSE, m);
			return TXN_RECV_MATCHED;
		}
		/*
		 * 300-699: Completed, ACK to the same address, port and
		 * transport even over reliable transports; timer D at least
		 * 32 s on UDP, zero on reliable transports.
		 */
		t->state = TXN_COMPLETED;
		build_ack(t, m);
		transmit(t, t->ack, t->acklen);
		arm(t, &t->ev_end, end_cb, t->reliable ? 0 : t->tl->cfg.timer_d);
		deliver(t, TXN_EV_RESPONSE, m);
		return TXN_RECV_MATCHED;
	case TXN_COMPLETED:
		/* A retransmitted final: the ACK again, nothing to the TU. */
		if (status >= 300)
			transmit(t, t->ack, t->acklen);
		return TXN_RECV_ABSORBED;
	case TXN_ACCEPTED:
		/* RFC 6026 s.7.2: every 2xx goes up; no ACK from us. */
		if (status >= 200 && status < 300) {
			deliver(t, TXN_EV_RESPONSE, m);
			return TXN_RECV_MATCHED;
		}
		return TXN_RECV_ABSORBED;
	default:
		return TXN_RECV_ABSORBED;
	}
}

/* s.17.1.2.2: a response on a non-INVITE client transaction. */
static enum txn_recv
nict_response(struct txn *t, osip_message_t *m, int status)
{
	if (t->state != TXN_TRYING && t->state != TXN_PROCEEDING)
		return TXN_RECV_ABSORBED;	/* Completed: buffered */
	if (status < 200) {
		/* Timer E keeps running, at T2 once it fires again. */
		t->state = TXN_PROCEEDING;
		deliver(t, TXN_EV_RESPONSE, m);
		return TXN_RECV_MATCHED;
	}
	/* Completed: timer K = T4 on UDP, zero on reliable transports. */
	t->state = TXN_COMPLETED;
	disarm(t->ev_retx);
	arm(t, &t->ev_end, end_cb, t->reliable ? 0 : T4(t));
	deliver(t, TXN_EV_RESPONSE, m);
	return TXN_RECV_MATCHED;
}

/* s.17.1.3: the same branch in the top Via and the same CSeq method. */
static struct txn *
client_lookup(struct txn_layer *tl, const char *branch, const char *method)
{
	unsigned h = hash_str(branch);
	struct txn *t;

	LIST_FOREACH(t, bucket(&tl->client, h), link)
		if (t->hash == h && strcasecmp(t->branch, branch) == 0 &&
		    strcmp(t->method, method) == 0)
			return t;
	return NULL;
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
	const char *branch = via_param(top_via(req), "branch");
	struct txn *t;

	if (client_lookup(tl, branch, req->sip_method) != NULL) {
		if (cause != NULL)
			*cause = xasprintf("branch %s is already used by "
			    "another %s transaction", branch, req->sip_method);
		osip_message_free(req);
		free(text);
		return NULL;
	}
	if (text == NULL && (text = msg_text(req, &len)) == NULL) {
		if (cause != NULL)
			*cause = xstrdup("the request could not be serialised");
		osip_message_free(req);
		return NULL;
	}
	t = txn_alloc(tl, strcmp(req->sip_method, "INVITE") == 0 ? ICT : NICT,
	    dest);
	t->internal = internal;
	t->user = user;
	t->rfc3261 = 1;
	t->method = xstrdup(req->sip_method);
	t->branch = xstrdup(branch);
	t->req = req;
	t->out = text;
	t->outlen = len;
	t->hash = hash_str(t->branch);
	table_add(&tl->client, t);

	/*
	 * Calling (s.17.1.1.2): timer A = T1 on UDP only, timer B = 64*T1.
	 * Trying (s.17.1.2.2): timer E = T1 on UDP only, timer F = 64*T1.
	 */
	t->state = t->kind == ICT ? TXN_CALLING : TXN_TRYING;
	transmit(t, t->out, t->outlen);
	if (!t->reliable)
		retx_start(t, T1(t));
	arm(t, &t->ev_end, end_cb, 64 * T1(t));
	return t;
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
	else if ((v = top_via(req)) == NULL)
		why = "the request has no Via header";
	else if (req->cseq == NULL || req->cseq->number == NULL ||
	    req->call_id == NULL || req->from == NULL || req->to == NULL)
		why = "the request lacks CSeq, Call-ID, From or To";
	else if ((b = via_param(v, "branch")) == NULL) {
		p = NULL;
		if (osip_via_param_get_byname(v, "branch", &p) == 0 && p != NULL)
			why = "the top Via has an empty branch";
		else if (!add_branch)
			why = "the top Via has no branch";
		else {
			txn_branch_new(branch);
			osip_via_set_branch(v, osip_strdup(branch));
		}
	} else if (!is_cookie(b))
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
txn_recv_response(struct txn_layer *tl, osip_message_t *m)
{
	const char *branch;
	struct txn *t;
	int status;

	if (!MSG_IS_RESPONSE(m) || top_via(m) == NULL || m->cseq == NULL ||
	    m->cseq->method == NULL)
		return TXN_RECV_BAD;
	status = m->status_code;
	if (status < 100 || status > 699)
		return TXN_RECV_BAD;
	branch = via_param(top_via(m), "branch");
	if (branch == NULL ||
	    (t = client_lookup(tl, branch, m->cseq->method)) == NULL)
		return TXN_RECV_STRAY;
	if (t->kind == ICT)
		return ict_response(t, m, status);
	return nict_response(t, m, status);
}

/* Server side ------------------------------------------------------------ */

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
	k->via = top_via(m);
	k->branch = via_param(k->via, "branch");
	k->rfc3261 = is_cookie(k->branch);
	if (k->rfc3261) {
		k->hash = hash_str(k->branch);
		return;
	}
	k->hash = hash_str(m->call_id->number ? m->call_id->number : "");
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
	    !eq_ci(t->from_tag, tag_of(m->from)))
		return 0;
	if (is_ack && mode == MATCH_REQUEST)
		return t->resp_tag != NULL && eq_ci(t->resp_tag, tag_of(m->to));
	return eq_ci(t->to_tag, tag_of(m->to));
}

/* The server transaction request m (key k) belongs to, or NULL. */
static struct txn *
server_lookup(struct txn_layer *tl, const osip_message_t *m,
    const struct rkey *k, enum match_mode mode)
{
	struct txn *t;

	LIST_FOREACH(t, bucket(&tl->server, k->hash), link)
		if (server_match(t, m, k, mode))
			return t;
	return NULL;
}

/* The 100 (Trying) goes out now and counts as the last provisional. */
static void
send_trying(struct txn *t)
{
	disarm(t->ev_aux);
	if (t->trying == NULL)
		return;
	free(t->out);
	t->out = t->trying;
	t->outlen = t->tryinglen;
	t->out_status = 100;
	t->trying = NULL;
	transmit(t, t->out, t->outlen);
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
	struct txn *t = txn_alloc(tl, invite ? IST : NIST, src);
	const char *port;

	t->method = xstrdup(m->sip_method);
	t->rfc3261 = k->rfc3261;
	t->hash = k->hash;
	if (k->rfc3261) {
		t->branch = xstrdup(k->branch);
		t->sent_host = xstrdup(osip_via_get_host(k->via) ?
		    osip_via_get_host(k->via) : "");
		if ((port = osip_via_get_port(k->via)) != NULL)
			t->sent_port = xstrdup(port);
	} else {
		t->branch = xstrdup("");
		t->ruri = k->ruri;
		t->via = k->via_text;
		t->call_id = k->call_id;
		k->ruri = k->via_text = k->call_id = NULL;
		t->cseq_num = xstrdup(m->cseq->number);
		if (tag_of(m->from) != NULL)
			t->from_tag = xstrdup(tag_of(m->from));
		if (tag_of(m->to) != NULL)
			t->to_tag = xstrdup(tag_of(m->to));
	}
	table_add(&tl->server, t);

	if (!invite) {
		t->state = TXN_TRYING;		/* s.17.2.2 */
		return t;
	}
	/*
	 * Proceeding (s.17.2.1): "MUST generate a 100 (Trying) response
	 * unless it knows that the TU will generate a provisional or final
	 * response within 200 ms".  We wait that long for the TU.
	 */
	t->state = TXN_PROCEEDING;
	make_trying(t, m);
	if (tl->cfg.trying == TXN_TRYING_NOW)
		send_trying(t);
	else
		arm(t, &t->ev_aux, aux_cb, tl->cfg.trying);
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
			transmit(t, t->out, t->outlen);
		else if (t->trying != NULL)
			send_trying(t);
		break;
	case TXN_COMPLETED:
		/* The final response again (s.17.2.1, s.17.2.2). */
		transmit(t, t->out, t->outlen);
		break;
	default:
		/* Trying (s.17.2.2), Confirmed, and Accepted (RFC 6026
		   s.7.1): absorbed. */
		break;
	}
}

/* An ACK matched to INVITE server transaction t. */
static enum txn_recv
server_ack(struct txn *t, osip_message_t *m, const struct txn_dest *src)
{
	struct txn_layer *tl = t->tl;

	switch (t->state) {
	case TXN_COMPLETED:
		/* Confirmed: no more timer G; timer I = T4 on UDP, zero
		   on reliable transports (s.17.2.1). */
		t->state = TXN_CONFIRMED;
		disarm(t->ev_retx);
		arm(t, &t->ev_end, end_cb, t->reliable ? 0 : T4(t));
		return TXN_RECV_ABSORBED;
	case TXN_ACCEPTED:
		/* RFC 6026 s.7.1: an ACK in Accepted goes to the TU. */
		tl->cbs.request(tl->cbs.arg, NULL, m, src);
		return TXN_RECV_ACK;
	default:
		/* Confirmed: a retransmitted ACK.  Proceeding: no final
		   response was sent, so this ACK acknowledges nothing. */
		return TXN_RECV_ABSORBED;
	}
}

enum txn_recv
txn_recv_request(struct txn_layer *tl, osip_message_t *m,
    const struct txn_dest *src)
{
	struct rkey k;
	struct txn *t;
	enum txn_recv r;

	if (!MSG_IS_REQUEST(m) || m->sip_method == NULL ||
	    m->req_uri == NULL || top_via(m) == NULL || m->cseq == NULL ||
	    m->cseq->number == NULL || m->call_id == NULL ||
	    m->from == NULL || m->to == NULL)
		return TXN_RECV_BAD;
	rkey_init(&k, m);
	if ((t = server_lookup(tl, m, &k, MATCH_REQUEST)) != NULL) {
		if (strcmp(m->sip_method, "ACK") == 0)
			r = server_ack(t, m, src);
		else {
			server_retransmission(t);
			r = TXN_RECV_ABSORBED;
		}
	} else if (strcmp(m->sip_method, "ACK") == 0) {
		/* The ACK for a 2xx is not part of the transaction (s.17). */
		tl->cbs.request(tl->cbs.arg, NULL, m, src);
		r = TXN_RECV_ACK;
	} else if (tl->cfg.max_server > 0 &&
	    tl->server.n >= tl->cfg.max_server) {
		/* Each lives up to 64*T1 after its final response: a flood
		 * of new requests must not hold memory without bound. */
		r = TXN_RECV_FULL;
	} else {
		t = server_new(tl, m, &k, src);
		tl->cbs.request(tl->cbs.arg, t, m, src);
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
	    top_via(cancel) == NULL || cancel->cseq == NULL ||
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

/* The TU answers on server transaction t. */
static int
respond(struct txn *t, int status, const char *buf, size_t len,
    const char *to_tag)
{
	if (status < 100 || status > 699)
		return -1;
	if (t->kind == IST) {
		switch (t->state) {
		case TXN_PROCEEDING:
			/* The TU has spoken: no 100 of ours. */
			disarm(t->ev_aux);
			free(t->trying);
			t->trying = NULL;
			if (status < 200) {
				keep(t, status, buf, len);
				transmit(t, buf, len);
				return 0;
			}
			if (to_tag != NULL && t->resp_tag == NULL)
				t->resp_tag = xstrdup(to_tag);
			if (status < 300) {
				/* RFC 6026 s.7.1: Accepted, timer L = 64*T1;
				   the 2xx is not ours to retransmit. */
				free(t->out);
				t->out = NULL;
				t->out_status = status;
				t->state = TXN_ACCEPTED;
				transmit(t, buf, len);
				arm(t, &t->ev_end, end_cb, 64 * T1(t));
				return 0;
			}
			/* Completed: timer G = T1 on UDP only, timer H =
			   64*T1 for all transports (s.17.2.1). */
			keep(t, status, buf, len);
			t->state = TXN_COMPLETED;
			transmit(t, buf, len);
			if (!t->reliable)
				retx_start(t, T1(t));
			arm(t, &t->ev_end, end_cb, 64 * T1(t));
			return 0;
		case TXN_ACCEPTED:
			/* RFC 6026 s.7.1: 2xx retransmissions from the TU
			   pass; nothing else does. */
			if (status < 200 || status >= 300)
				return -1;
			t->out_status = status;
			transmit(t, buf, len);
			return 0;
		default:
			return -1;
		}
	}
	/* Non-INVITE, s.17.2.2. */
	if (t->state != TXN_TRYING && t->state != TXN_PROCEEDING)
		return -1;	/* Completed: other finals are discarded */
	keep(t, status, buf, len);
	transmit(t, buf, len);
	if (status < 200) {
		t->state = TXN_PROCEEDING;
		return 0;
	}
	/* Completed: timer J = 64*T1 on UDP, zero on reliable transports. */
	t->state = TXN_COMPLETED;
	arm(t, &t->ev_end, end_cb, t->reliable ? 0 : 64 * T1(t));
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
	if ((text = msg_text(resp, &len)) == NULL)
		return -1;
	r = respond(t, resp->status_code, text, len, tag_of(resp->to));
	free(text);
	return r;
}

int
txn_respond_as(struct txn *t, const osip_message_t *resp, const char *buf,
    size_t len)
{
	if (!(t->kind == IST || t->kind == NIST) || !MSG_IS_RESPONSE(resp))
		return -1;
	return respond(t, resp->status_code, buf, len, tag_of(resp->to));
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
		tag = tag_of(m->to);
	r = respond(t, status, buf, len, tag);
	if (m != NULL)
		osip_message_free(m);
	return r;
}

/* Timer callbacks -------------------------------------------------------- */

/* Timers A, E and G. */
static void
retx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;

	switch (t->kind) {
	case ICT:
		/* Timer A: resend, and double the interval (s.17.1.1.2;
		   no T2 cap for INVITE requests: seven sends in 64*T1). */
		if (t->state != TXN_CALLING)
			return;
		transmit(t, t->out, t->outlen);
		retx_next(t, t->retx_ms * 2);
		break;
	case NICT:
		/* Timer E: MIN(2*E, T2) in Trying, T2 in Proceeding. */
		if (t->state == TXN_TRYING) {
			transmit(t, t->out, t->outlen);
			retx_next(t, t->retx_ms * 2 < T2(t) ?
			    t->retx_ms * 2 : T2(t));
		} else if (t->state == TXN_PROCEEDING) {
			transmit(t, t->out, t->outlen);
			retx_next(t, T2(t));
		}
		break;
	case IST:
		/* Timer G: the final again, MIN(2*G, T2) (s.17.2.1). */
		if (t->state != TXN_COMPLETED)
			return;
		transmit(t, t->out, t->outlen);
		retx_next(t, t->retx_ms * 2 < T2(t) ? t->retx_ms * 2 : T2(t));
		break;
	case NIST:
		break;
	}
}

/* Timers B D F H I J K L M, and the CANCEL wait of s.9.1. */
static void
end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;
	struct txn_layer *tl = t->tl;

	switch (t->kind) {
	case ICT:
		if (t->state == TXN_CALLING ||
		    (t->state == TXN_PROCEEDING && t->cancel_sent))
			client_fail(t, TXN_EV_TIMEOUT);	/* B, s.9.1 */
		else if (t->state == TXN_COMPLETED || t->state == TXN_ACCEPTED)
			terminate(t);			/* D, M */
		break;
	case NICT:
		if (t->state == TXN_TRYING || t->state == TXN_PROCEEDING)
			client_fail(t, TXN_EV_TIMEOUT);	/* F */
		else if (t->state == TXN_COMPLETED)
			terminate(t);			/* K */
		break;
	case IST:
		if (t->state == TXN_COMPLETED) {
			/* H: the ACK never came; tell the TU. */
			t->state = TXN_TERMINATED;
			disarm(t->ev_retx);
			if (reportable(t) && tl->cbs.server_failed != NULL)
				tl->cbs.server_failed(tl->cbs.arg, t,
				    TXN_EV_TIMEOUT);
			terminate(t);
		} else if (t->state == TXN_CONFIRMED ||
		    t->state == TXN_ACCEPTED)
			terminate(t);			/* I, L */
		break;
	case NIST:
		if (t->state == TXN_COMPLETED)
			terminate(t);			/* J */
		break;
	}
}

/* The TU has not answered the INVITE in time: our 100 (s.17.2.1). */
static void
aux_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;

	if (t->kind == IST && t->state == TXN_PROCEEDING)
		send_trying(t);
}

/* A send failed earlier: s.17.1.4, s.17.2.4, RFC 6026 Figure 5. */
static void
err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;
	struct txn_layer *tl = t->tl;
	int end;

	t->failed = 0;
	switch (t->kind) {
	case ICT:
	case NICT:
		if (t->state == TXN_CALLING || t->state == TXN_TRYING ||
		    t->state == TXN_PROCEEDING)
			client_fail(t, TXN_EV_TRANSPORT);
		else if (t->kind == ICT && t->state == TXN_COMPLETED)
			terminate(t);	/* the ACK; the TU has its answer */
		break;
	case IST:
	case NIST:
		if (t->state != TXN_PROCEEDING && t->state != TXN_COMPLETED &&
		    t->state != TXN_ACCEPTED)
			break;
		/* An INVITE server transaction outlives a failure in
		   Proceeding or Accepted (RFC 6026 Figure 5). */
		end = t->kind == NIST || t->state == TXN_COMPLETED;
		if (end) {
			t->state = TXN_TERMINATED;
			disarm(t->ev_retx);
			disarm(t->ev_end);
		}
		if (reportable(t) && tl->cbs.server_failed != NULL)
			tl->cbs.server_failed(tl->cbs.arg, t, TXN_EV_TRANSPORT);
		if (end)
			terminate(t);
		break;
	}
}

/* The layer -------------------------------------------------------------- */

struct txn_layer *
txn_layer_new(struct event_base *base, const struct txn_config *cfg,
    const struct txn_cbs *cbs)
{
	struct txn_layer *tl = xcalloc(1, sizeof *tl);

	tl->base = base;
	if (cfg != NULL)
		tl->cfg = *cfg;
	if (tl->cfg.t1 <= 0)
		tl->cfg.t1 = 500;
	if (tl->cfg.t2 <= 0)
		tl->cfg.t2 = 4000;
	if (tl->cfg.t4 <= 0)
		tl->cfg.t4 = 5000;
	if (tl->cfg.timer_d <= 0)
		tl->cfg.timer_d = 32000;
	if (tl->cfg.trying == 0)
		tl->cfg.trying = 200;
	else if (tl->cfg.trying < 0)
		tl->cfg.trying = TXN_TRYING_NOW;
	tl->cbs = *cbs;
	table_init(&tl->server);
	table_init(&tl->client);
	return tl;
}

/* Free every transaction in tb, and its buckets. */
static void
table_free(struct txn_table *tb)
{
	struct txn *t;
	size_t i;

	for (i = 0; i < tb->nb; i++)
		while ((t = LIST_FIRST(&tb->b[i])) != NULL)
			txn_free(t);
	free(tb->b);
}

void
txn_layer_free(struct txn_layer *tl)
{
	if (tl == NULL)
		return;
	table_free(&tl->server);
	table_free(&tl->client);
	free(tl);
}

void
txn_layer_set_t1(struct txn_layer *tl, int t1)
{
	if (t1 > 0)
		tl->cfg.t1 = t1;
}

void
txn_layer_set_max_server(struct txn_layer *tl, size_t max)
{
	tl->cfg.max_server = max;
}

size_t
txn_layer_count(const struct txn_layer *tl)
{
	return tl->server.n + tl->client.n;
}

/* Accessors -------------------------------------------------------------- */

void
txn_branch_new(char *buf)
{
	size_t n = sizeof(TXN_COOKIE) - 1;

	memcpy(buf, TXN_COOKIE, n);
	str_random_hex(buf + n, TXN_BRANCH_LEN - n);
}

void *
txn_user(const struct txn *t)
{
	return t->user;
}

void
txn_set_user(struct txn *t, void *user)
{
	t->user = user;
}

void
txn_detach(struct txn *t)
{
	t->detached = 1;
	t->user = NULL;
}

enum txn_state
txn_state(const struct txn *t)
{
	return t->state;
}

int
txn_is_server(const struct txn *t)
{
	return t->kind == IST || t->kind == NIST;
}

int
txn_is_invite(const struct txn *t)
{
	return t->kind == IST || t->kind == ICT;
}

const char *
txn_method(const struct txn *t)
{
	return t->method;
}

const char *
txn_branch(const struct txn *t)
{
	return t->branch;
}

const struct txn_dest *
txn_dest(const struct txn *t)
{
	return &t->dest;
}

const osip_message_t *
txn_request(const struct txn *t)
{
	return t->req;
}

int
txn_last_status(const struct txn *t)
{
	return t->out_status;
}
