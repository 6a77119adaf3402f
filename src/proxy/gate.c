/*
 * gate.c: the peer gate.  The synchronous half (tls_peer_verify) runs in
 * the transport's handshake callback; the revocation half runs on the
 * engine, and the connection stays held until its verdict arrives.  Every
 * verdict is one log line naming the peer, zone, certificate, source and
 * reason.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "proxy/gate.h"
#include "proxy/zone.h"
#include "proxy/zreg.h"
#include "rev/rev_engine.h"
#include "rev/rev_fetch.h"
#include "tls/tls_peer.h"
#include "tls/tls_rev.h"
#include "tls/tls_ticket.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* A TLS connection the gate knows. */
struct gconn {
	struct gconn		*next, *prev;
	struct gate		*g;
	struct sip_conn		*c;
	unsigned long long	 cid;		/* sip_conn_id(c): in g->byid */
	STACK_OF(X509)		*chain;		/* as presented, leaf first */
	struct rev_check	*check;		/* revocation in progress */
	int			 open;		/* messages flow */
	int			 resumed;	/* from a session ticket */
	int			 lost;		/* ... whose chain is gone */
	int			 reused;	/* ... its path verified before */
	/* Its chain's verification: kept from the ticket table when
	 * resumed, made at each full check, given to the table. */
	struct tls_peer_record	 rec;
	unsigned long long	 gen;		/* ticket generation checked in */
	int			 in_check;	/* inside rev_engine_check_chain */
	enum sip_gate		 sync;		/* verdict given during it */
	char			*why;		/* ... and why, when refused */
	char			*verdict;	/* how it was let in */
	time_t			 since;
	time_t			 not_after;	/* earliest in the path */
	struct event		*expiry;	/* fires just after it */
	char			*zone;		/* for logs */
	char			*expected;
	char			*subject;
	/* The configuration its verdict was given under (a reference). */
	const struct zreg	*zr;
};

struct gate {
	struct event_base	*base;
	struct sip_transport	*t;
	struct rev_fetcher	*fetcher;
	struct rev_store	*store;
	struct rev_engine	*engine;
	X509_STORE		*trust;
	const struct zreg	*zr;		/* the zones (a reference) */
	struct gconn		*conns;
	struct idmap		*byid;		/* conns by sip_conn_id() */
	struct gate_stats	 st;
	struct zones		*zs;		/* resolved peer addresses */
	void			(*refused_cb)(const char *, const char *,
				    const char *, void *);
	void			*refused_arg;
	struct event		*rotate;	/* the ticket keys' timer */
	int			 interval;	/* tls.ticket_rotation */
	struct tls_peer_clock	 trust_clock;	/* its next validity change */
};

static void start_check(struct gconn *gc, int initial);
static void arm_expiry(struct gconn *gc);

static void
gconn_free(struct gconn *gc)
{
	struct gate *g = gc->g;

	if (gc->check != NULL)
		rev_check_cancel(gc->check);
	if (gc->prev)
		gc->prev->next = gc->next;
	else
		g->conns = gc->next;
	if (gc->next)
		gc->next->prev = gc->prev;
	if (idmap_get(g->byid, gc->cid) == gc)
		idmap_del(g->byid, gc->cid);
	if (gc->expiry != NULL)
		event_free(gc->expiry);
	sk_X509_pop_free(gc->chain, X509_free);
	tls_peer_record_clear(&gc->rec);
	zreg_unref(&gc->zr);
	free(gc->zone);
	free(gc->expected);
	free(gc->subject);
	free(gc->why);
	free(gc->verdict);
	free(gc);
	g->st.open--;
}

/* One log line per verdict. */
static void
log_verdict(struct gconn *gc, int ok, const char *source, const char *serial,
    const char *reason)
{
	const struct sip_origin *o = sip_conn_origin(gc->c);
	struct log_line l;

	log_begin(&l, ok ? LOG_LVL_INFO : LOG_LVL_WARN, "tls",
	    ok ? "peer verified" : "peer refused");
	log_kvs(&l, "peer", o->peer_str);
	log_kvs(&l, "zone", gc->zone);
	if (gc->expected != NULL)
		log_kvs(&l, "name", gc->expected);
	if (gc->subject != NULL)
		log_kvs(&l, "subject", gc->subject);
	if (serial != NULL)
		log_kvs(&l, "serial", serial);
	if (source != NULL)
		log_kvs(&l, "source", source);
	log_kvs(&l, "reason", reason);
	if (gc->resumed)
		log_kvs(&l, "resumed", "yes");
	if (gc->reused)
		log_kvs(&l, "path", "reused");
	log_kv(&l, "conn", "%llu", gc->cid);
	log_end(&l);
	if (!ok && gc->g->refused_cb != NULL && !sip_conn_outbound(gc->c))
		gc->g->refused_cb(gc->zone, o->peer_str, reason,
		    gc->g->refused_arg);
}

/* Act on a verdict: open the connection or close it. */
static void
decide(struct gconn *gc, int ok, const char *why)
{
	if (gc->in_check) {
		gc->sync = ok ? SIP_GATE_OPEN : SIP_GATE_REFUSE;
		if (ok)
			gc->open = 1;
		else {
			free(gc->why);
			gc->why = xasprintf("peer certificate refused: %s", why);
		}
		return;
	}
	if (!ok) {
		char *r = xasprintf("peer certificate refused: %s", why);

		gc->g->st.dropped++;
		sip_conn_refuse(gc->c, r);
		free(r);
		return;
	}
	if (!gc->open) {
		gc->open = 1;
		sip_conn_gate_open(gc->c);
	}
}

/*
 * Tell the ticket table what the gate decided about an inbound peer with
 * a certificate: its tickets may be used (until a certificate of its path
 * expires, two key intervals at most) or not.
 */
static void
remember(struct gconn *gc, int ok)
{
	time_t until = time(NULL) + 2 * (time_t)gc->g->interval;

	if (gc->chain == NULL || sk_X509_num(gc->chain) == 0 ||
	    sip_conn_outbound(gc->c))
		return;
	if (!ok) {
		tls_ticket_forget(sk_X509_value(gc->chain, 0));
		return;
	}
	if (gc->not_after != 0 && gc->not_after < until)
		until = gc->not_after;
	tls_ticket_accept(gc->chain, gc->rec.path != NULL ? &gc->rec : NULL,
	    gc->gen, until);
}

static void
rev_done(const struct rev_verdict *v, void *arg)
{
	struct gconn *gc = arg;
	int ok = v->result == REV_GOOD;

	gc->check = NULL;
	free(gc->verdict);
	gc->verdict = xasprintf("%s: %s", v->source, v->reason);
	if (ok)
		gc->g->st.verified++;
	else
		gc->g->st.refused++;
	log_verdict(gc, ok, v->source, v->serial, v->reason);
	remember(gc, ok);
	/* A zone peer that proved its identity may carry requests to it. */
	if (ok && !sip_conn_outbound(gc->c) && gc->expected != NULL &&
	    strcmp(gc->zone, "default") != 0)
		sip_conn_set_authenticated(gc->c, gc->zone, gc->expected);
	else
		sip_conn_set_authenticated(gc->c, NULL, NULL);
	decide(gc, ok, v->reason);
}

static time_t
earliest_not_after(STACK_OF(X509) *path)
{
	time_t best = 0, t;
	struct tm tm;
	int i;

	for (i = 0; i < sk_X509_num(path); i++) {
		if (ASN1_TIME_to_tm(X509_get0_notAfter(sk_X509_value(path, i)),
		    &tm) != 1)
			continue;
		t = timegm(&tm);
		if (best == 0 || t < best)
			best = t;
	}
	return best;
}

/* Refuse gc at once, before any revocation check: counted and logged. */
static void
refuse_now(struct gconn *gc, const char *why)
{
	gc->g->st.refused++;
	log_verdict(gc, 0, NULL, NULL, why);
	remember(gc, 0);
	decide(gc, 0, why);
}

/*
 * The zone of gc's peer (zreg_classify) into gc->zone and gc->expected,
 * its settings in *zp (NULL: the default zone's); -1 when refused because
 * the zone of its port is gone.
 */
static int
classify_conn(struct gconn *gc, const struct zreg_zone **zp)
{
	struct gate *g = gc->g;
	const struct sip_origin *o = sip_conn_origin(gc->c);
	struct zreg_in in;
	struct zreg_class cl;

	memset(&in, 0, sizeof in);
	in.peer = (const struct sockaddr *)&o->peer;
	in.transport = TP_TLS;
	in.outbound = sip_conn_outbound(gc->c);
	in.outbound_zone = sip_conn_zone(gc->c);
	in.outbound_expected = sip_conn_expected(gc->c);
	in.listener_zone = in.outbound ? NULL : sip_listener_zone(o->listener);
	in.resolved = g->zs != NULL ? zones_resolved : NULL;
	in.arg = g->zs;
	zreg_classify(g->zr, &in, &cl);
	free(gc->zone);
	free(gc->expected);
	gc->zone = xstrdup(cl.name);
	gc->expected = cl.expected != NULL ? xstrdup(cl.expected) : NULL;
	*zp = cl.zone;
	if (cl.gone) {
		decide(gc, 0, "the zone of this port is gone");
		return -1;
	}
	return 0;
}

/*
 * What is decided before the chain is looked at: default_zone.accept, a
 * certificate required but absent, a zone that verifies nothing.  1 when
 * decided, 0 when the chain must be checked.
 */
static int
decide_early(struct gconn *gc, const struct zreg_zone *z)
{
	const struct zreg_zone *def = &gc->g->zr->def;
	int out = sip_conn_outbound(gc->c);
	char *why;

	if (z == NULL && !out && !def->accept) {
		refuse_now(gc, "TLS clients from outside every zone are "
		    "refused (default_zone.accept is false)");
		return 1;
	}
	if (gc->chain == NULL || sk_X509_num(gc->chain) == 0) {
		if ((z != NULL && z->tls_verify) || (z == NULL && !out &&
		    def->tls_verify)) {
			why = xasprintf("zone %s requires a client certificate "
			    "and the peer sent none", z != NULL ? z->name :
			    "default");
			refuse_now(gc, why);
			free(why);
		} else
			decide(gc, 1, "no client certificate");
		return 1;
	}
	if (z != NULL && !z->tls_verify) {
		remember(gc, 1);
		decide(gc, 1, "zone does not verify its peers");
		return 1;
	}
	return 0;
}

/*
 * The synchronous half in full: the chain against the trust store and
 * the identity expected (the default zone: any of its peer_names) at
 * now.  0 with *pr filled (the caller clears it), -1 when refused.
 */
static int
full_verify(struct gconn *gc, const struct zreg_zone *z,
    const struct tls_peer_policy *pp, struct tls_peer_result *pr, time_t now)
{
	struct gate *g = gc->g;
	const struct zreg_zone *def = &g->zr->def;
	size_t i;
	char *why;

	if (z != NULL || sip_conn_outbound(gc->c) || def->npeers == 0) {
		if (tls_peer_verify(gc->chain, g->trust, gc->expected, pp, now,
		    pr))
			return 0;
		refuse_now(gc, pr->reason);
		tls_peer_result_clear(pr);
		return -1;
	}
	for (i = 0; i < def->npeers; i++) {
		if (tls_peer_verify(gc->chain, g->trust, def->peers[i], pp, now,
		    pr)) {
			free(gc->expected);
			gc->expected = xstrdup(def->peers[i]);
			return 0;
		}
		if (i + 1 < def->npeers)
			tls_peer_result_clear(pr);
	}
	why = xasprintf("%s (default_zone.peer_names: none matches)",
	    pr->reason);
	refuse_now(gc, why);
	free(why);
	tls_peer_result_clear(pr);
	return -1;
}

/*
 * A resumed peer under the generation it was accepted in: the path the
 * gate verified then, when nothing it depended on changed (the trust
 * list and policy are the generation's; tls_peer_reuse checks the policy
 * asked of the path, the validity dates and the name now).  1 with *pr
 * filled, 0 when it must be verified in full.
 */
static int
reuse_path(struct gconn *gc, const struct zreg_zone *z,
    const struct tls_peer_policy *pp, struct tls_peer_result *pr, time_t now)
{
	const struct zreg_zone *def = &gc->g->zr->def;
	size_t i;

	if (gc->rec.path == NULL)
		return 0;
	if (z != NULL || sip_conn_outbound(gc->c) || def->npeers == 0)
		return tls_peer_reuse(&gc->rec, gc->expected, pp, now, pr);
	for (i = 0; i < def->npeers; i++)
		if (tls_peer_reuse(&gc->rec, def->peers[i], pp, now, pr)) {
			free(gc->expected);
			gc->expected = xstrdup(def->peers[i]);
			return 1;
		}
	return 0;
}

/*
 * The synchronous half: a resumed peer's path reused when it may be,
 * else full_verify; an inbound peer's verification is kept (gc->rec) for
 * the ticket table.  0 with *pr filled (the caller clears it), -1 when
 * refused.
 */
static int
verify_chain(struct gconn *gc, const struct zreg_zone *z,
    const struct tls_peer_policy *pp, struct tls_peer_result *pr, time_t now)
{
	gc->reused = reuse_path(gc, z, pp, pr, now);
	if (gc->reused)
		return 0;
	tls_peer_record_clear(&gc->rec);
	if (full_verify(gc, z, pp, pr, now) == -1)
		return -1;
	if (!sip_conn_outbound(gc->c))
		tls_peer_record_set(&gc->rec, gc->chain, pr, pp, now,
		    tls_peer_trust_next(gc->g->trust, &gc->g->trust_clock,
		    now));
	return 0;
}

/*
 * Check gc under the current configuration (initial: at the handshake),
 * which gc then holds.  What is decided before this returns is left in
 * gc->sync for the caller (the transport at the handshake,
 * gate_revalidate later); a verdict that comes later from the engine acts
 * by itself.
 */
static void
start_check(struct gconn *gc, int initial)
{
	struct gate *g = gc->g;
	const struct zreg_zone *z;
	struct tls_peer_result pr;
	struct tls_peer_policy pp;
	time_t now = time(NULL);

	if (gc->check != NULL) {
		rev_check_cancel(gc->check);
		gc->check = NULL;
	}
	gc->in_check = 1;
	gc->sync = SIP_GATE_HOLD;
	gc->gen = tls_ticket_generation();
	gc->reused = 0;
	/* A path kept from a ticket is for the handshake's check only. */
	if (!initial)
		tls_peer_record_clear(&gc->rec);
	zreg_unref(&gc->zr);
	gc->zr = zreg_ref(g->zr);
	if (classify_conn(gc, &z) == -1 || decide_early(gc, z)) {
		gc->in_check = 0;
		return;
	}
	if (gc->lost) {
		/* A reload since its ticket was taken: it reconnects in full. */
		refuse_now(gc, "resumed a TLS session that is no longer "
		    "accepted (the configuration or the CRLs changed)");
		gc->in_check = 0;
		return;
	}
	pp = z != NULL ? z->pp : g->zr->def.pp;
	pp.role = sip_conn_outbound(gc->c) ? TLS_PEER_SERVER : TLS_PEER_CLIENT;
	if (verify_chain(gc, z, &pp, &pr, now) == -1) {
		gc->in_check = 0;
		return;
	}
	gc->not_after = earliest_not_after(pr.path);
	arm_expiry(gc);
	if (initial)
		g->st.held++;
	gc->check = rev_engine_check_chain(g->engine, pr.path, gc->chain,
	    g->trust, z != NULL ? &z->rp : &g->zr->def.rp, now, rev_done, gc);
	gc->in_check = 0;
	tls_peer_result_clear(&pr);
}

/*
 * The peer's chain into gc, leaf first.  A session resumed from a ticket
 * has only the leaf: its chain is the one the peer presented when the
 * gate accepted it, which the table keeps for the certificate the ticket
 * names (tls_ticket.h), checked again like any other.
 */
static void
take_chain(struct gconn *gc, SSL *ssl)
{
	STACK_OF(X509) *rest = SSL_get_peer_cert_chain(ssl), *kept = NULL;
	X509 *leaf = NULL;
	char *s;
	int i, named = 0;

	if (gc->resumed) {
		kept = tls_ticket_resumed(ssl, &gc->rec, &named);
		/* The table's leaf is the one the ticket carries. */
		if (kept != NULL && (sk_X509_num(kept) < 1 ||
		    (SSL_get0_peer_certificate(ssl) != NULL &&
		    X509_cmp(SSL_get0_peer_certificate(ssl),
		    sk_X509_value(kept, 0)) != 0))) {
			sk_X509_pop_free(kept, X509_free);
			kept = NULL;
		}
		gc->lost = named && kept == NULL;
		if (kept != NULL) {
			rest = kept;
			leaf = sk_X509_value(kept, 0);
			X509_up_ref(leaf);
		}
	}
	if (leaf == NULL)
		leaf = SSL_get1_peer_certificate(ssl);
	if (leaf == NULL) {
		sk_X509_pop_free(kept, X509_free);
		return;
	}
	s = X509_NAME_oneline(X509_get_subject_name(leaf), NULL, 0);
	gc->subject = xstrdup(s != NULL ? s : "?");
	OPENSSL_free(s);
	if (gc->rec.path != NULL &&
	    X509_cmp(sk_X509_value(gc->rec.path, 0), leaf) != 0)
		tls_peer_record_clear(&gc->rec);
	gc->chain = sk_X509_new_null();
	sk_X509_push(gc->chain, leaf);
	/* The server side's chain leaves the leaf out; skip it anyway. */
	for (i = 0; i < sk_X509_num(rest); i++) {
		X509 *x = sk_X509_value(rest, i);

		if (X509_cmp(x, leaf) == 0)
			continue;
		X509_up_ref(x);
		sk_X509_push(gc->chain, x);
	}
	sk_X509_pop_free(kept, X509_free);
}

static enum sip_gate
gate_cb(struct sip_conn *c, SSL *ssl, const struct sip_origin *o, void *arg)
{
	struct gate *g = arg;
	struct gconn *gc = xcalloc(1, sizeof *gc);
	enum sip_gate verdict;

	(void)o;
	gc->g = g;
	gc->c = c;
	gc->cid = sip_conn_id(c);
	gc->since = time(NULL);
	gc->next = g->conns;
	if (g->conns != NULL)
		g->conns->prev = gc;
	g->conns = gc;
	idmap_put(g->byid, gc->cid, gc);
	g->st.open++;
	if (!sip_conn_outbound(c)) {
		gc->resumed = SSL_session_reused(ssl);
		if (gc->resumed)
			g->st.resumed++;
		else
			g->st.full++;
	}
	take_chain(gc, ssl);
	start_check(gc, 1);
	verdict = gc->sync;
	if (verdict == SIP_GATE_REFUSE) {
		/* Close it with the reason (an outbound opener hears it). */
		sip_conn_refuse(c, gc->why != NULL ? gc->why :
		    "peer certificate refused");
		gconn_free(gc);
	}
	return verdict;
}

/* A connection closed: forget it, found by id (a wave of closes must
 * not walk every connection each). */
static void
closed_cb(struct sip_conn *c, void *arg)
{
	struct gate *g = arg;
	struct gconn *gc = idmap_get(g->byid, sip_conn_id(c));

	if (gc != NULL && gc->c == c)
		gconn_free(gc);
}

/* Check an open connection again; close it when refused at once. */
static void
recheck(struct gconn *gc)
{
	start_check(gc, 0);
	if (gc->sync == SIP_GATE_REFUSE) {
		gc->sync = SIP_GATE_HOLD;
		gc->open = 0;
		gc->g->st.dropped++;
		sip_conn_refuse(gc->c, gc->why != NULL ? gc->why :
		    "peer certificate no longer accepted");
	}
}

/* A certificate of gc's path has just expired: check it again. */
static void
expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gconn *gc = arg;

	(void)fd;
	(void)what;
	if (gc->open) {
		gc->g->st.revalidated++;
		recheck(gc);
	}
}

/* Arm gc's expiry timer for one second after its earliest notAfter. */
static void
arm_expiry(struct gconn *gc)
{
	struct timeval tv;
	time_t now = time(NULL);

	if (gc->expiry == NULL)
		gc->expiry = evtimer_new(gc->g->base, expiry_cb, gc);
	evtimer_del(gc->expiry);
	if (gc->not_after == 0)
		return;
	tv.tv_sec = gc->not_after >= now ? gc->not_after - now + 1 : 1;
	tv.tv_usec = 0;
	evtimer_add(gc->expiry, &tv);
}

/* Rotate the session ticket keys when due, and wait for the next time. */
static void
rotate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gate *g = arg;
	struct timeval tv = { 0, 0 };

	(void)fd;
	(void)what;
	tv.tv_sec = tls_ticket_tick(g->interval, time(NULL));
	evtimer_add(g->rotate, &tv);
}

struct gate *
gate_new(struct event_base *base, struct sip_transport *t)
{
	struct gate *g = xcalloc(1, sizeof *g);
	struct rev_fetch_limits lim = { 3000, 5000, 100 * 1024 * 1024, 3 };

	g->base = base;
	g->t = t;
	g->byid = idmap_new();
	g->fetcher = rev_fetch_new(base, &lim);
	g->store = rev_store_new();
	g->engine = rev_engine_new(base, g->fetcher, g->store);
	g->rotate = evtimer_new(base, rotate_cb, g);
	g->interval = 3600;
	sip_transport_set_gate(t, gate_cb, closed_cb, g);
	return g;
}

void
gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	sip_transport_set_gate(g->t, NULL, NULL, NULL);
	while (g->conns != NULL)
		gconn_free(g->conns);
	event_free(g->rotate);
	tls_ticket_clear();
	rev_engine_free(g->engine);
	rev_fetch_free(g->fetcher);
	rev_store_free(g->store);
	X509_STORE_free(g->trust);
	zreg_unref(&g->zr);
	idmap_free(g->byid);
	free(g);
}

void
gate_set_zones(struct gate *g, struct zones *zs)
{
	g->zs = zs;
}

void
gate_on_refused(struct gate *g, void (*fn)(const char *zone,
    const char *peer, const char *reason, void *arg), void *arg)
{
	g->refused_cb = fn;
	g->refused_arg = arg;
}

struct rev_store *
gate_store(struct gate *g)
{
	return g->store;
}

struct rev_fetcher *
gate_fetcher(struct gate *g)
{
	return g->fetcher;
}

STACK_OF(X509) *
gate_trusted(struct gate *g)
{
	return X509_STORE_get1_all_certs(g->trust);
}

void
gate_stats(const struct gate *g, struct gate_stats *st)
{
	*st = g->st;
	rev_engine_stats(g->engine, &st->ocsp_cache, &st->ocsp_hits,
	    &st->ocsp_misses);
	tls_ticket_stats(&st->tickets);
}

void
gate_walk(struct gate *g, void (*fn)(const struct gate_conn_info *, void *),
    void *arg)
{
	struct gate_conn_info info;
	struct gconn *gc;

	for (gc = g->conns; gc != NULL; gc = gc->next) {
		info.peer = sip_conn_origin(gc->c)->peer_str;
		info.outbound = sip_conn_outbound(gc->c);
		info.zone = gc->zone != NULL ? gc->zone : "default";
		info.state = gc->open ? "open" : "held";
		info.subject = gc->subject != NULL ? gc->subject : "-";
		info.verdict = gc->verdict != NULL ? gc->verdict :
		    gc->chain == NULL ? "no certificate" : "";
		info.since = gc->since;
		info.tls_version = "";
		info.cipher = "";
		sip_conn_tls_info(gc->c, &info.tls_version, &info.cipher);
		fn(&info, arg);
	}
}

void
gate_revalidate(struct gate *g, const char *why)
{
	struct gconn *gc, *next;
	size_t n = 0;
	char buf[32];

	/* Trust, zones or CRLs may have changed: no ticket so far is used. */
	tls_ticket_new_generation();
	for (gc = g->conns; gc != NULL; gc = next) {
		next = gc->next;
		if (!gc->open)
			continue;
		g->st.revalidated++;
		n++;
		recheck(gc);
	}
	snprintf(buf, sizeof buf, "%zu", n);
	log_event(LOG_LVL_INFO, "tls", "peers revalidated", "reason", why,
	    "connections", buf, NULL);
}

/* A CRL of the configuration that the store refused: said once, here. */
static void
crl_refused(const char *origin, const char *reason, void *arg)
{
	(void)arg;
	log_event(LOG_LVL_WARN, "rev", "crl ignored", "file", origin, "reason",
	    reason, NULL);
}

/* Take a new configuration's zones, trust and CRLs (gate.h). */
void
gate_apply(struct gate *g, const struct zreg *zr, X509_STORE *trust,
    const struct tls_identity *id)
{
	const struct conf *c = zr->conf;

	/* The fetcher and the engine borrow the registry's settings: the
	 * gate holds the registry from before they see them until after
	 * they see the next ones (or are freed). */
	zreg_ref(zr);
	rev_fetch_set_limits(g->fetcher, &zr->rev.fetch);
	rev_engine_configure(g->engine, &zr->rev);
	zreg_unref(&g->zr);
	g->zr = zr;
	/*
	 * The trust store and the CRLs of the identity are the snapshot's;
	 * the gate's CRL store gets its own references to those CRLs (the
	 * distribution points' come through rev_dp.h).
	 */
	X509_STORE_up_ref(trust);
	X509_STORE_free(g->trust);
	g->trust = trust;
	memset(&g->trust_clock, 0, sizeof g->trust_clock);
	tls_rev_load(g->store, c, id, g->trust, TLS_REV_IDENTITY, crl_refused,
	    NULL);
	g->interval = c->tls_ticket_interval > 0 ? c->tls_ticket_interval : 3600;
	rotate_cb(-1, 0, g);
	gate_revalidate(g, "configuration loaded");
}
