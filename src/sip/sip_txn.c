/*
 * sip_txn.c: the transaction layer of RFC 3261 s.17 as updated by RFC
 * 6026: what its four state machines (INVITE and non-INVITE, client and
 * server; sip_txn_client.c, sip_txn_server.c) share.  The two hash tables
 * that match messages to them, the libevent timers, allocation and
 * termination, the one function every state change goes through (logged
 * at debug level), the layer and the accessors.  Sends only through the
 * user's callback; never touches a socket, never frees a transaction
 * inside a call from the user (see sip_txn.h).
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
#include <time.h>

#include <event2/event.h>
#include <osipparser2/osip_parser.h>

#include "conf/conf.h"
#include "sip/sip_msg.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn_int.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

static void	retx_cb(evutil_socket_t, short, void *);
static void	end_cb(evutil_socket_t, short, void *);
static void	err_cb(evutil_socket_t, short, void *);

/* Microseconds on the monotonic clock. */
static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* FNV-1a over the lower-cased key: branches compare case-insensitively. */
unsigned
txn_hash_str(const char *s)
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
void
txn_table_add(struct txn_table *tb, struct txn *t)
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
struct txn_list *
txn_bucket(struct txn_table *tb, unsigned hash)
{
	return &tb->b[hash & (tb->nb - 1)];
}

/* An osip string into our own allocation (NULL stays NULL). */
char *
txn_from_osip(char *s)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = xstrdup(s);
	osip_free(s);
	return r;
}

/* The topmost Via, or NULL. */
osip_via_t *
txn_top_via(const osip_message_t *m)
{
	return osip_list_get(&m->vias, 0);
}

/* The value of a Via parameter, or NULL. */
const char *
txn_via_param(const osip_via_t *v, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (v == NULL || osip_via_param_get_byname((osip_via_t *)v,
	    (char *)name, &p) != 0 || p == NULL)
		return NULL;
	return p->gvalue;
}

/* The tag of a From or To header, or NULL. */
const char *
txn_tag_of(const osip_from_t *f)
{
	osip_generic_param_t *p = NULL;

	if (f == NULL || osip_from_get_tag((osip_from_t *)f, &p) != 0 ||
	    p == NULL)
		return NULL;
	return p->gvalue;
}

/* Does the branch begin with the magic cookie (s.17.2.3)? */
int
txn_is_cookie(const char *branch)
{
	return branch != NULL &&
	    strncmp(branch, TXN_COOKIE, sizeof(TXN_COOKIE) - 1) == 0;
}

/* Text of a message, in our allocation. */
char *
txn_msg_text(osip_message_t *m, size_t *lenp)
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

/* The timers ---------------------------------------------------------- */

/* Start (or restart) a timer us from now; the event is made on first use. */
static void
arm_us(struct txn *t, struct event **evp, event_callback_fn cb, int64_t us)
{
	struct timeval tv;

	if (*evp == NULL && evp == &t->ev_end) {
		/* Every transaction ends by a timer: it is kept in t. */
		if (evtimer_assign(&t->end_ev, t->tl->base, cb, t) != 0)
			abort();
		*evp = &t->end_ev;
	} else if (*evp == NULL &&
	    (*evp = evtimer_new(t->tl->base, cb, t)) == NULL)
		abort();	/* out of memory, as xmalloc */
	if (us < 0)
		us = 0;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(*evp, &tv);
}

/* The same in milliseconds. */
void
txn_arm(struct txn *t, struct event **evp, event_callback_fn cb, int ms)
{
	arm_us(t, evp, cb, (int64_t)ms * 1000);
}

/* The end timer: B D F H I J K L M, or the CANCEL wait of s.9.1. */
void
txn_arm_end(struct txn *t, int ms)
{
	arm_us(t, &t->ev_end, end_cb, (int64_t)ms * 1000);
}

/* Stop a timer, if it was ever made. */
void
txn_disarm(struct event *ev)
{
	if (ev != NULL)
		evtimer_del(ev);
}

/* First retransmission ms from now. */
void
txn_retx_start(struct txn *t, int ms)
{
	t->retx_ms = ms;
	t->retx_due = now_us() + (int64_t)ms * 1000;
	arm_us(t, &t->ev_retx, retx_cb, t->retx_ms * (int64_t)1000);
}

/* The next one ms after the one just due, wherever the loop is now. */
void
txn_retx_next(struct txn *t, int ms)
{
	if (ms > 3600 * 1000)
		ms = 3600 * 1000;
	t->retx_ms = ms;
	t->retx_due += (int64_t)ms * 1000;
	arm_us(t, &t->ev_retx, retx_cb, t->retx_due - now_us());
}

/* Timers A, E and G. */
static void
retx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;

	if (t->kind == IST || t->kind == NIST)
		txn_server_retx(t);
	else
		txn_client_retx(t);
}

/* Timers B D F H I J K L M, and the CANCEL wait of s.9.1. */
static void
end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;

	if (t->kind == IST || t->kind == NIST)
		txn_server_end(t);
	else
		txn_client_end(t);
}

/* A send failed earlier: s.17.1.4, s.17.2.4, RFC 6026 Figure 5. */
static void
err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn *t = arg;

	t->failed = 0;
	if (t->kind == IST || t->kind == NIST)
		txn_server_err(t);
	else
		txn_client_err(t);
}

/* Life and death --------------------------------------------------------- */

/*
 * A new transaction of kind, talking to d, for m; in no table yet.  With
 * m NULL the caller sets log_call_id.
 */
struct txn *
txn_alloc(struct txn_layer *tl, enum txn_kind kind, const struct txn_dest *d,
    const osip_message_t *m)
{
	return txn_alloc_room(tl, kind, d, m, 0);
}

/* s after the n bytes of buf (SIP_CALL_ID_MAX), cut to fit: the length. */
static size_t
cid_put(char *buf, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l > SIP_CALL_ID_MAX - 1 - n)
		l = SIP_CALL_ID_MAX - 1 - n;
	memcpy(buf + n, s, l);
	return n + l;
}

/* The Call-ID of m as sip_msg_call_id() writes it, without printf. */
static const char *
call_id_text(const osip_message_t *m, char *buf)
{
	const osip_call_id_t *c = m->call_id;
	size_t n;

	if (c == NULL || c->number == NULL)
		return "-";
	n = cid_put(buf, 0, c->number);
	if (c->host != NULL)
		n = cid_put(buf, cid_put(buf, n, "@"), c->host);
	buf[n] = '\0';
	return buf;
}

/* The same with room bytes more for txn_keep; the Call-ID goes there. */
struct txn *
txn_alloc_room(struct txn_layer *tl, enum txn_kind kind,
    const struct txn_dest *d, const osip_message_t *m, size_t room)
{
	char buf[SIP_CALL_ID_MAX];
	const char *cid = m != NULL ? call_id_text(m, buf) : NULL;
	size_t cl = cid != NULL ? strlen(cid) + 1 : 0;
	struct txn *t = xcalloc(1, sizeof *t + cl + room);

	t->mem_cur = t->mem;
	t->mem_end = t->mem + cl + room;
	t->tl = tl;
	t->id = ++tl->next_id;
	t->kind = kind;
	t->dest = *d;
	t->reliable = d->transport != TP_UDP;
	if (m != NULL)
		t->log_call_id = txn_keep(t, cid);
	return t;
}

/* A copy of s in t's room when it fits, else malloc'd. */
char *
txn_keep(struct txn *t, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = t->mem_cur;

	if (n > (size_t)(t->mem_end - p))
		return xstrdup(s);
	memcpy(p, s, n);
	t->mem_cur += n;
	return p;
}

/* Free p unless it is kept in t's room. */
static void
own_free(struct txn *t, char *p)
{
	if (p < t->mem || p >= t->mem_end)
		free(p);
}

/* The name of state s, as the log shows it. */
static const char *
state_name(enum txn_state s)
{
	switch (s) {
	case TXN_CALLING:	return "calling";
	case TXN_TRYING:	return "trying";
	case TXN_PROCEEDING:	return "proceeding";
	case TXN_COMPLETED:	return "completed";
	case TXN_CONFIRMED:	return "confirmed";
	case TXN_ACCEPTED:	return "accepted";
	case TXN_TERMINATED:	return "terminated";
	}
	return "?";
}

/* The name of kind k, as the log shows it. */
static const char *
kind_name(enum txn_kind k)
{
	switch (k) {
	case IST:	return "invite server";
	case NIST:	return "server";
	case ICT:	return "invite client";
	case NICT:	return "client";
	}
	return "?";
}

/*
 * Every state change of every transaction goes through here (the first
 * state too): one debug line "txn state" with the old and the new state.
 */
void
txn_enter_state(struct txn *t, enum txn_state s)
{
	struct log_line l;

	if (t->started && t->state == s)
		return;
	if (log_enabled(LOG_LVL_DEBUG)) {
		log_begin(&l, LOG_LVL_DEBUG, "sip", "txn state");
		log_kv(&l, "txn", "%llu", t->id);
		log_kvs(&l, "kind", kind_name(t->kind));
		log_kvs(&l, "method", t->method);
		log_kvs(&l, "call_id", t->log_call_id);
		log_kvs(&l, "from", t->started ? state_name(t->state) : "-");
		log_kvs(&l, "to", state_name(s));
		log_end(&l);
	}
	t->state = s;
	t->started = 1;
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
		if (*evs[i] == &t->end_ev)
			event_del(&t->end_ev);
		else if (*evs[i] != NULL)
			event_free(*evs[i]);
	own_free(t, t->method);
	own_free(t, t->branch);
	own_free(t, t->log_call_id);
	own_free(t, t->sent_host);
	own_free(t, t->sent_port);
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
int
txn_reportable(const struct txn *t)
{
	return !t->detached && !t->internal;
}

/*
 * The Terminated state: "MUST be destroyed immediately" (s.17.1.1.2,
 * s.17.1.2.2, s.17.2.1, s.17.2.2).  Only ever called from a timer.
 */
void
txn_terminate(struct txn *t)
{
	struct txn_layer *tl = t->tl;

	txn_enter_state(t, TXN_TERMINATED);
	table_del(t);
	if (txn_reportable(t) && tl->cbs.terminated != NULL)
		tl->cbs.terminated(tl->cbs.arg, t);
	txn_free(t);
}

/* Hand buf to the transport; a failure is reported on the next loop turn. */
void
txn_transmit(struct txn *t, const char *buf, size_t len)
{
	struct txn_layer *tl = t->tl;

	if (buf == NULL)
		return;
	if (tl->cbs.send(tl->cbs.arg, &t->dest, buf, len) != 0 && !t->failed) {
		t->failed = 1;
		arm_us(t, &t->ev_err, err_cb, 0);
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

unsigned long long
txn_id(const struct txn *t)
{
	return t->id;
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
