/*
 * gate.c: the peer gate.  The synchronous half (tls_peer_verify) runs in
 * the transport's handshake callback; the revocation half runs on the
 * engine, and the connection stays held until its verdict arrives.  Every
 * verdict is one log line naming the peer, zone, certificate, source and
 * reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "proxy/gate.h"
#include "proxy/zone.h"
#include "rev/rev_engine.h"
#include "rev/rev_fetch.h"
#include "tls/tls_peer.h"
#include "tls/tls_rev.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* A zone's certificate policy, copied out of the configuration. */
struct zpol {
	char			*name;
	int			 tls_verify;
	char			*peer_name;	/* expected identity, or NULL */
	char			**peers;	/* IP literals and FQDNs */
	size_t			 npeers;
	struct tls_peer_policy	 pp;
	struct rev_policy	 rp;
	int			 accept;	/* default zone: 0 refuses all */
};

/* A TLS connection the gate knows. */
struct gconn {
	struct gconn		*next, *prev;
	struct gate		*g;
	struct sip_conn		*c;
	unsigned long long	 cid;		/* sip_conn_id(c): in g->byid */
	STACK_OF(X509)		*chain;		/* as presented, leaf first */
	struct rev_check	*check;		/* revocation in progress */
	int			 open;		/* messages flow */
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
};

struct gate {
	struct event_base	*base;
	struct sip_transport	*t;
	struct rev_fetcher	*fetcher;
	struct rev_store	*store;
	struct rev_engine	*engine;
	X509_STORE		*trust;
	struct zpol		*zones;
	size_t			 nzones;
	struct zpol		 def;		/* peers of no zone */
	struct gconn		*conns;
	struct idmap		*byid;		/* conns by sip_conn_id() */
	struct gate_stats	 st;
	struct zones		*zs;		/* resolved peer addresses */
	void			(*refused_cb)(const char *, const char *,
				    const char *, void *);
	void			*refused_arg;
};

static void start_check(struct gconn *gc, int initial);
static void arm_expiry(struct gconn *gc);

static void
zpol_clear(struct zpol *z)
{
	size_t i;

	free(z->name);
	free(z->peer_name);
	for (i = 0; i < z->npeers; i++)
		free(z->peers[i]);
	free(z->peers);
	memset(z, 0, sizeof *z);
}

static void
zones_clear(struct gate *g)
{
	size_t i;

	for (i = 0; i < g->nzones; i++)
		zpol_clear(&g->zones[i]);
	free(g->zones);
	g->zones = NULL;
	g->nzones = 0;
	zpol_clear(&g->def);
}

/* Whether a and b are the same IP address (text forms may differ). */
static int
same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
	return 0;
}

/*
 * The zone of a peer at ip: the first TLS zone listing that address among
 * its peers (FQDN peers are matched once their addresses are resolved,
 * which comes with the proxy's DNS); NULL for the default policy.  *which
 * is the matching peer entry.
 */
static const struct zpol *
classify(const struct gate *g, const char *ip, const char **which)
{
	size_t i, j;

	for (i = 0; i < g->nzones; i++)
		for (j = 0; j < g->zones[i].npeers; j++)
			if (same_ip(g->zones[i].peers[j], ip)) {
				*which = g->zones[i].peers[j];
				return &g->zones[i];
			}
	*which = NULL;
	return NULL;
}

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

/*
 * Check gc under the current policies (initial: at the handshake).  What
 * is decided before this returns is left in gc->sync for the caller (the
 * transport at the handshake, gate_revalidate later); a verdict that
 * comes later from the engine acts by itself.
 */
static void
start_check(struct gconn *gc, int initial)
{
	struct gate *g = gc->g;
	const struct sip_origin *o = sip_conn_origin(gc->c);
	const struct zpol *z;
	const char *which = NULL;
	struct tls_peer_result pr;
	struct tls_peer_policy pp;
	size_t i;
	char *why;

	if (gc->check != NULL) {
		rev_check_cancel(gc->check);
		gc->check = NULL;
	}
	gc->in_check = 1;
	gc->sync = SIP_GATE_HOLD;
	free(gc->zone);
	free(gc->expected);
	if (sip_conn_outbound(gc->c)) {
		/* We connected to a zone's peer: it must prove the identity
		 * the zone expects of it, as a TLS server. */
		z = NULL;
		for (i = 0; i < g->nzones && sip_conn_zone(gc->c) != NULL; i++)
			if (strcmp(g->zones[i].name, sip_conn_zone(gc->c)) == 0)
				z = &g->zones[i];
		gc->zone = xstrdup(sip_conn_zone(gc->c) != NULL ?
		    sip_conn_zone(gc->c) : "default");
		gc->expected = sip_conn_expected(gc->c) != NULL ?
		    xstrdup(sip_conn_expected(gc->c)) : NULL;
	} else if (sip_listener_zone(o->listener) != NULL) {
		/* A traversal-server zone's own port: its client, whatever
		 * its address, must prove the zone's subject name. */
		z = NULL;
		for (i = 0; i < g->nzones; i++)
			if (strcmp(g->zones[i].name,
			    sip_listener_zone(o->listener)) == 0)
				z = &g->zones[i];
		gc->zone = xstrdup(sip_listener_zone(o->listener));
		gc->expected = z != NULL && z->peer_name != NULL ?
		    xstrdup(z->peer_name) : NULL;
		if (z == NULL) {
			decide(gc, 0, "the zone of this port is gone");
			gc->in_check = 0;
			return;
		}
	} else {
		z = classify(g, o->peer_ip, &which);
		if (z == NULL && g->zs != NULL) {
			/* An FQDN peer, by the address it resolved to. */
			const char *zn = zones_classify(g->zs,
			    (const struct sockaddr *)&o->peer);

			for (i = 0; zn != NULL && i < g->nzones; i++)
				if (strcmp(g->zones[i].name, zn) == 0) {
					z = &g->zones[i];
					which = zones_peer_of(g->zs,
					    (const struct sockaddr *)&o->peer);
				}
		}
		gc->zone = xstrdup(z != NULL ? z->name : "default");
		gc->expected = z == NULL ? NULL : xstrdup(z->peer_name != NULL ?
		    z->peer_name : which);
	}
	pp = z != NULL ? z->pp : g->def.pp;
	pp.role = sip_conn_outbound(gc->c) ? TLS_PEER_SERVER : TLS_PEER_CLIENT;
	if (z == NULL && !sip_conn_outbound(gc->c) && !g->def.accept) {
		why = xstrdup("TLS clients from outside every zone are refused "
		    "(default_zone.accept is false)");
		g->st.refused++;
		log_verdict(gc, 0, NULL, NULL, why);
		decide(gc, 0, why);
		free(why);
		gc->in_check = 0;
		return;
	}
	if (gc->chain == NULL || sk_X509_num(gc->chain) == 0) {
		if ((z != NULL && z->tls_verify) || (z == NULL &&
		    !sip_conn_outbound(gc->c) && g->def.tls_verify)) {
			why = xasprintf("zone %s requires a client certificate "
			    "and the peer sent none", z != NULL ? z->name :
			    "default");
			g->st.refused++;
			log_verdict(gc, 0, NULL, NULL, why);
			decide(gc, 0, why);
			free(why);
		} else
			decide(gc, 1, "no client certificate");
		gc->in_check = 0;
		return;
	}
	if (z != NULL && !z->tls_verify) {
		decide(gc, 1, "zone does not verify its peers");
		gc->in_check = 0;
		return;
	}
	if (z == NULL && !sip_conn_outbound(gc->c) && g->def.npeers > 0) {
		/* The default zone's accepted names: any one will do. */
		for (i = 0; i < g->def.npeers; i++) {
			if (tls_peer_verify(gc->chain, g->trust,
			    g->def.peers[i], &pp, 0, &pr)) {
				gc->expected = xstrdup(g->def.peers[i]);
				break;
			}
			if (i + 1 < g->def.npeers)
				tls_peer_result_clear(&pr);
		}
		if (i == g->def.npeers) {
			why = xasprintf("%s (default_zone.peer_names: none "
			    "matches)", pr.reason);
			g->st.refused++;
			log_verdict(gc, 0, NULL, NULL, why);
			decide(gc, 0, why);
			free(why);
			tls_peer_result_clear(&pr);
			gc->in_check = 0;
			return;
		}
	} else if (!tls_peer_verify(gc->chain, g->trust, gc->expected, &pp, 0,
	    &pr)) {
		g->st.refused++;
		log_verdict(gc, 0, NULL, NULL, pr.reason);
		decide(gc, 0, pr.reason);
		tls_peer_result_clear(&pr);
		gc->in_check = 0;
		return;
	}
	gc->not_after = earliest_not_after(pr.path);
	arm_expiry(gc);
	if (initial)
		g->st.held++;
	gc->check = rev_engine_check_chain(g->engine, pr.path, gc->chain,
	    g->trust, z != NULL ? &z->rp : &g->def.rp, time(NULL), rev_done,
	    gc);
	gc->in_check = 0;
	tls_peer_result_clear(&pr);
}

static enum sip_gate
gate_cb(struct sip_conn *c, SSL *ssl, const struct sip_origin *o, void *arg)
{
	struct gate *g = arg;
	struct gconn *gc = xcalloc(1, sizeof *gc);
	STACK_OF(X509) *rest = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get1_peer_certificate(ssl);
	enum sip_gate verdict;
	int i;

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
	if (leaf != NULL) {
		char *s = X509_NAME_oneline(X509_get_subject_name(leaf), NULL, 0);

		gc->subject = xstrdup(s != NULL ? s : "?");
		OPENSSL_free(s);
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
	}
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
	rev_engine_free(g->engine);
	rev_fetch_free(g->fetcher);
	rev_store_free(g->store);
	X509_STORE_free(g->trust);
	zones_clear(g);
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

void
gate_apply(struct gate *g, const struct conf *c, struct tls_identity *id)
{
	struct rev_fetch_limits lim;
	size_t i, j;

	lim.connect_timeout_ms = c->rev_connect_timeout * 1000L;
	lim.timeout_ms = c->rev_timeout * 1000L;
	lim.max_size = (size_t)c->rev_max_download;
	lim.max_redirects = 3;
	rev_fetch_set_limits(g->fetcher, &lim);
	rev_engine_configure(g->engine, (size_t)c->rev_ocsp_cache_size,
	    c->rev_https_ca_file.path);

	zones_clear(g);
	g->zones = xcalloc(c->nzones + 1, sizeof *g->zones);
	for (i = 0; i < c->nzones; i++) {
		const struct conf_zone *cz = &c->zones[i];
		struct zpol *z;

		if (cz->transport != TP_TLS)
			continue;
		z = &g->zones[g->nzones++];
		z->name = xstrdup(cz->name);
		z->tls_verify = cz->tls_verify;
		z->peer_name = cz->peer_name ? xstrdup(cz->peer_name) : NULL;
		z->peers = xcalloc(cz->peers.n + 1, sizeof *z->peers);
		for (j = 0; j < cz->peers.n; j++)
			z->peers[z->npeers++] = xstrdup(cz->peers.v[j]);
		tls_peer_policy_from_conf(c, cz, TLS_PEER_CLIENT, &z->pp);
		rev_policy_from_conf(c, cz, &z->rp);
	}
	g->def.name = xstrdup("default");
	g->def.accept = c->def_accept;
	g->def.tls_verify = c->def_tls_verify;
	g->def.peers = xcalloc(c->def_peer_names.n + 1, sizeof *g->def.peers);
	for (j = 0; j < c->def_peer_names.n; j++)
		g->def.peers[g->def.npeers++] = xstrdup(c->def_peer_names.v[j]);
	tls_peer_policy_from_conf(c, NULL, TLS_PEER_CLIENT, &g->def.pp);
	rev_policy_from_conf(c, NULL, &g->def.rp);

	/*
	 * The trust list and the CRLs that come with the identity, built as
	 * `sipedge-cert check --zone` builds them (tls_rev.h); the
	 * distribution points' CRLs come through rev_dp.h.
	 */
	X509_STORE_free(g->trust);
	g->trust = tls_rev_trust(id);
	tls_rev_load(g->store, c, id, g->trust, TLS_REV_IDENTITY, crl_refused,
	    NULL);
	gate_revalidate(g, "configuration loaded");
}
