/*
 * rev_engine.c: gather what OCSP responders and CRLs say about each
 * certificate of a path, without blocking, and decide.
 *
 * Each certificate moves through stages: START (OCSP cache or request),
 * WAIT_OCSP, CRL (store lookup, maybe a CDP download), WAIT_CDP, DONE.
 * Fetches are shared: a pending fetch has a list of waiters, each a
 * (check, certificate index) pair, all resumed when it ends.  The
 * decision itself is rev_decide.c's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "rev/rev_crl.h"
#include "rev/rev_engine.h"
#include "util/xmalloc.h"

/* Bounds of the OCSP cache. */
#define OCSP_CACHE_MAX_AGE	86400	/* seconds, whatever nextUpdate says */
#define OCSP_CACHE_NO_NEXT	300	/* seconds when no nextUpdate */

enum stage { ST_START, ST_WAIT_OCSP, ST_CRL, ST_WAIT_CDP, ST_DONE };

struct cert_state {
	X509			*cert, *issuer;
	struct rev_ocsp_query	 q;
	char			*cdp;		/* first http CDP URL */
	char			*fresh;		/* first http freshestCRL URL */
	int			 fresh_tried;
	struct rev_inputs	 in;
	enum stage		 stage;
	struct rev_cert_verdict	 v;
};

struct rev_check {
	struct rev_check	*next;
	struct rev_engine	*e;
	STACK_OF(X509)		*path;
	STACK_OF(X509)		*certs;		/* path and peer's chain */
	X509_STORE		*trust;
	struct rev_policy	 p;
	time_t			 now;
	rev_check_cb		 cb;
	void			*arg;
	struct cert_state	*cs;
	int			 n;		/* certificates checked */
	int			 waiting;	/* fetches outstanding */
};

struct waiter {
	struct waiter		*next;
	struct rev_check	*c;
	int			 i;
};

enum fetch_kind { FK_OCSP, FK_CDP };

struct pending {
	struct pending		*next;
	struct rev_engine	*e;
	enum fetch_kind		 kind;
	char			*key;		/* certID hex or URL */
	unsigned long		 handle;
	struct waiter		*waiters;
	struct rev_ocsp_query	 q;		/* the OCSP request sent */
};

struct cache_ent {
	struct cache_ent	*next;
	char			*key;
	struct rev_ocsp_answer	 a;
	time_t			 expires;
};

struct rev_engine {
	struct event_base	*base;
	struct rev_fetcher	*fetcher;
	struct rev_store	*store;
	struct rev_check	*checks;
	struct pending		*pending;
	struct pending		*finishing;	/* in fetch_done */
	struct cache_ent	*cache;
	size_t			 ncache;
	/* The configuration's settings (borrowed; NULL: the defaults). */
	const struct rev_settings *rs;
	unsigned long		 hits, misses;
};

static void advance(struct rev_check *c, int i);
static void maybe_finish(struct rev_check *c);

/* --- the engine ------------------------------------------------------ */

struct rev_engine *
rev_engine_new(struct event_base *base, struct rev_fetcher *fetcher,
    struct rev_store *store)
{
	struct rev_engine *e = xcalloc(1, sizeof *e);

	e->base = base;
	e->fetcher = fetcher;
	e->store = store;
	return e;
}

void
rev_engine_configure(struct rev_engine *e, const struct rev_settings *rs)
{
	e->rs = rs;
}

/* The OCSP cache bound: the configuration's, else 10000 entries. */
static size_t
cache_max(const struct rev_engine *e)
{
	return e->rs != NULL ? e->rs->ocsp_cache_max : 10000;
}

/* The CA file https responders chain to; NULL: the system's. */
static const char *
ca_file(const struct rev_engine *e)
{
	return e->rs != NULL ? e->rs->https_ca_file : NULL;
}

static void
cache_ent_free(struct cache_ent *ce)
{
	free(ce->key);
	free(ce->a.detail);
	free(ce);
}

static void check_free(struct rev_check *c);
static void pending_free(struct pending *pf);

void
rev_engine_free(struct rev_engine *e)
{
	struct cache_ent *ce, *cn;
	struct pending *pf;

	if (e == NULL)
		return;
	while (e->checks != NULL)
		rev_check_cancel(e->checks);
	/*
	 * Fetches nobody waits for any more (their checks ended) run on
	 * to fill the cache; at the end they are cancelled and freed here.
	 */
	while ((pf = e->pending) != NULL) {
		e->pending = pf->next;
		rev_fetch_cancel(e->fetcher, pf->handle);
		pending_free(pf);
	}
	for (ce = e->cache; ce != NULL; ce = cn) {
		cn = ce->next;
		cache_ent_free(ce);
	}
	free(e);
}

void
rev_engine_stats(const struct rev_engine *e, size_t *entries,
    unsigned long *hits, unsigned long *misses)
{
	*entries = e->ncache;
	*hits = e->hits;
	*misses = e->misses;
}

static struct cache_ent *
cache_find(struct rev_engine *e, const char *key, time_t now)
{
	struct cache_ent **pp, *ce;

	for (pp = &e->cache; (ce = *pp) != NULL; ) {
		if (ce->expires <= now) {	/* expired: drop on the way */
			*pp = ce->next;
			cache_ent_free(ce);
			e->ncache--;
			continue;
		}
		if (strcmp(ce->key, key) == 0)
			return ce;
		pp = &ce->next;
	}
	return NULL;
}

/*
 * Keep an answer until its nextUpdate, bounded by max_age after its
 * thisUpdate (revocation.ocsp_max_age, when set) and by a day.
 */
static void
cache_put(struct rev_engine *e, const char *key,
    const struct rev_ocsp_answer *a, time_t now, long max_age)
{
	struct cache_ent *ce, **pp;
	time_t exp = a->next_update != 0 ? a->next_update :
	    now + OCSP_CACHE_NO_NEXT;

	if (max_age > 0 && exp > a->this_update + max_age)
		exp = a->this_update + max_age;
	if (exp > now + OCSP_CACHE_MAX_AGE)
		exp = now + OCSP_CACHE_MAX_AGE;
	if (exp <= now || cache_find(e, key, now) != NULL)
		return;
	if (cache_max(e) == 0)
		return;
	if (e->ncache >= cache_max(e)) {	/* drop the oldest (tail) */
		for (pp = &e->cache; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		cache_ent_free(*pp);
		*pp = NULL;
		e->ncache--;
	}
	ce = xcalloc(1, sizeof *ce);
	ce->key = xstrdup(key);
	ce->a = *a;
	ce->a.detail = xstrdup(a->detail != NULL ? a->detail : "");
	ce->expires = exp;
	ce->next = e->cache;
	e->cache = ce;
	e->ncache++;
}

/* The end of OCSP fetch pf for certificate cs of check c: its answer
 * checked (and cached when valid), or the responder unreachable. */
static void
ocsp_done(struct pending *pf, struct rev_check *c, struct cert_state *cs,
    const struct rev_fetch_result *r)
{
	if (!r->ok) {
		cs->in.ocsp_unreachable = 1;
		free(cs->in.fetch_error);
		cs->in.fetch_error = xstrdup(r->error);
		return;
	}
	rev_ocsp_check(&pf->q, r->body, r->len, c->path, c->trust, c->now,
	    c->p.skew, c->p.ocsp_max_age, &cs->in.ocsp);
	if (cs->in.ocsp.status != REV_OCSP_INVALID)
		cache_put(pf->e, pf->key, &cs->in.ocsp, c->now,
		    c->p.ocsp_max_age);
}

/*
 * The end of CDP fetch pf for certificate cs: the CRLs it brought (crls,
 * NULL when they could not be read, why in cause) added to the store,
 * each one the store takes cleared from crls; else the CDP unreachable.
 */
static void
cdp_done(struct pending *pf, struct cert_state *cs,
    const struct rev_fetch_result *r, STACK_OF(X509_CRL) *crls,
    const char *cause)
{
	STACK_OF(X509) *iss;
	X509_CRL *crl;
	char *why;
	int k;

	cs->in.cdp_fetched = 1;
	if (!r->ok || (crls == NULL && !r->not_modified)) {
		cs->in.cdp_unreachable = 1;
		free(cs->in.fetch_error);
		cs->in.fetch_error = xstrdup(r->ok ? cause : r->error);
	}
	for (k = 0; crls != NULL && k < sk_X509_CRL_num(crls); k++) {
		if ((crl = sk_X509_CRL_value(crls, k)) == NULL)
			continue;	/* taken by the store */
		iss = sk_X509_new_null();
		why = NULL;
		sk_X509_push(iss, cs->issuer);
		if (rev_store_add(pf->e->store, crl, REV_SRC_CDP, pf->key, iss,
		    &why) == 0)
			sk_X509_CRL_set(crls, k, NULL);
		else {
			free(cs->in.fetch_error);
			cs->in.fetch_error = why;
		}
		sk_X509_free(iss);
	}
}

/*
 * The first http(s) URL of x's cRLDistributionPoints (nid
 * NID_crl_distribution_points) or freshestCRL (NID_freshest_crl, where
 * delta CRLs are published: RFC 5280 s.4.2.1.15), or NULL.
 */
static char *
first_dp_url(X509 *x, int nid)
{
	return rev_crl_dp_url(X509_get_ext_d2i(x, nid, NULL, NULL), 4096);
}

/* Take pf out of e's list of pending fetches. */
static void
pending_unlink(struct rev_engine *e, struct pending *pf)
{
	struct pending **pp;

	for (pp = &e->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == pf) {
			*pp = pf->next;
			return;
		}
	}
}

/* Free pf, its OCSP request and its waiters. */
static void
pending_free(struct pending *pf)
{
	struct waiter *w, *wn;

	rev_ocsp_query_clear(&pf->q);
	for (w = pf->waiters; w != NULL; w = wn) {
		wn = w->next;
		free(w);
	}
	free(pf->key);
	free(pf);
}

/* The end of fetch pf (arg): each check waiting for it goes on. */
static void
fetch_done(const struct rev_fetch_result *r, void *arg)
{
	struct pending *pf = arg;
	struct rev_engine *e = pf->e;
	struct waiter *w;
	STACK_OF(X509_CRL) *crls = NULL;
	char *cause = NULL;

	/*
	 * Out of the pending list first, so that a waiter that needs another
	 * fetch starts a new one; check_free() still finds its waiters here
	 * through e->finishing when a callback ends a check.
	 */
	pending_unlink(e, pf);
	e->finishing = pf;
	if (pf->kind == FK_CDP && r->ok && !r->not_modified) {
		STACK_OF(X509) *certs = sk_X509_new_null();

		crls = sk_X509_CRL_new_null();
		if (rev_crl_parse(pf->key, r->body, r->len,
		    REV_CRL_MAX_EXPANDED, crls, NULL, &cause) == -1) {
			sk_X509_CRL_free(crls);
			crls = NULL;
		}
		/* A CRL signer's certificate may come with its CRLs. */
		rev_crl_parse_certs(r->body, r->len, certs);
		rev_store_add_certs(e->store, certs);
		sk_X509_pop_free(certs, X509_free);
	}
	while ((w = pf->waiters) != NULL) {
		struct rev_check *c = w->c;
		struct cert_state *cs = &c->cs[w->i];

		pf->waiters = w->next;
		free(w);
		c->waiting--;
		if (pf->kind == FK_OCSP)
			ocsp_done(pf, c, cs, r);
		else
			cdp_done(pf, cs, r, crls, cause);
		cs->stage = ST_CRL;
		advance(c, (int)(cs - c->cs));
		maybe_finish(c);
	}
	e->finishing = NULL;
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(cause);
	pending_free(pf);
}

/* Join the fetch for key, or start it; 0 joined/started, -1 with *cause. */
static int
want_fetch(struct rev_check *c, int i, enum fetch_kind kind, const char *key,
    const struct rev_fetch_req *req, char **cause)
{
	struct rev_engine *e = c->e;
	struct pending *pf;
	struct waiter *w = xcalloc(1, sizeof *w);

	w->c = c;
	w->i = i;
	for (pf = e->pending; pf != NULL; pf = pf->next)
		if (pf->kind == kind && strcmp(pf->key, key) == 0)
			break;
	if (pf == NULL) {
		pf = xcalloc(1, sizeof *pf);
		pf->e = e;
		pf->kind = kind;
		pf->key = xstrdup(key);
		pf->handle = rev_fetch_start(e->fetcher, req, fetch_done, pf,
		    cause);
		if (pf->handle == 0) {
			free(w);
			pending_free(pf);
			return -1;
		}
		if (kind == FK_OCSP) {
			/* The fetch keeps the request it sent (its nonce). */
			pf->q = c->cs[i].q;
			memset(&c->cs[i].q, 0, sizeof c->cs[i].q);
		}
		pf->next = e->pending;
		e->pending = pf;
	}
	w->next = pf->waiters;
	pf->waiters = w;
	c->waiting++;
	return 0;
}

/*
 * Ask OCSP about certificate i, when the policy says so: the answer
 * cached, else a fetch.  1 when the check now waits for the fetch.
 */
static int
ask_ocsp(struct rev_check *c, int i)
{
	struct cert_state *cs = &c->cs[i];
	struct rev_fetch_req req;
	struct cache_ent *ce;
	char *cause = NULL;

	/* No AIA, no responder: skip building a request (certID hashes, a
	 * copy, DER) for nothing, on every connection. */
	if (!c->p.use_ocsp ||
	    X509_get_ext_by_NID(cs->cert, NID_info_access, -1) < 0 ||
	    rev_ocsp_query_init(&cs->q, cs->cert,
	    cs->issuer, c->p.ocsp_nonce, &cause) != 0 || cs->q.url == NULL) {
		free(cause);
		return 0;
	}
	cs->in.ocsp_asked = 1;
	if ((ce = cache_find(c->e, cs->q.key, c->now)) != NULL) {
		c->e->hits++;
		cs->in.ocsp_cached = 1;
		cs->in.ocsp = ce->a;
		cs->in.ocsp.detail = xstrdup(ce->a.detail);
		return 0;
	}
	c->e->misses++;
	memset(&req, 0, sizeof req);
	req.ca_file = ca_file(c->e);
	req.url = cs->q.url;
	req.post = cs->q.der;
	req.postlen = cs->q.len;
	req.content_type = "application/ocsp-request";
	req.accept = "application/ocsp-response";
	if (want_fetch(c, i, FK_OCSP, cs->q.key, &req, &cause) == 0) {
		cs->stage = ST_WAIT_OCSP;
		return 1;
	}
	cs->in.ocsp_unreachable = 1;
	cs->in.fetch_error = cause;
	return 0;
}

/* Fetch the CRL at url for certificate i: want_fetch()'s answer. */
static int
fetch_crl(struct rev_check *c, int i, const char *url, char **cause)
{
	struct rev_fetch_req req;

	memset(&req, 0, sizeof req);
	req.ca_file = ca_file(c->e);
	req.url = url;
	req.accept = "application/pkix-crl, */*";
	return want_fetch(c, i, FK_CDP, url, &req, cause);
}

/*
 * Whether to download the certificate's CDP (cs->cdp, set here): when no
 * CRL answers; when the CRLs held cannot (unknown), only if what came
 * from that URL before is past its nextUpdate: an unusable CRL is not
 * fetched again for every check.
 */
static int
wants_cdp(struct rev_check *c, struct cert_state *cs)
{
	return c->p.allow_cdp && !cs->in.cdp_fetched &&
	    (cs->in.crl.status == REV_CRL_NONE ||
	    cs->in.crl.status == REV_CRL_UNKNOWN ||
	    (cs->in.crl.status == REV_CRL_EXPIRED &&
	    cs->in.crl.source == REV_SRC_CDP)) &&
	    (cs->cdp = first_dp_url(cs->cert,
	    NID_crl_distribution_points)) != NULL &&
	    (cs->in.crl.status != REV_CRL_UNKNOWN ||
	    !rev_store_has_current(c->e->store, REV_SRC_CDP, cs->cdp, c->now));
}

/*
 * Whether to fetch the delta CRLs (cs->fresh, set here): good by a
 * complete CRL with no delta applied, and the certificate, or else that
 * CRL itself (RFC 5280 s.5.2.6), says where deltas are: fetched once.
 * When it cannot be had the complete CRL's answer stands.
 */
static int
wants_fresh(struct rev_check *c, struct cert_state *cs)
{
	return c->p.allow_cdp && !cs->fresh_tried &&
	    cs->in.crl.status == REV_CRL_GOOD && !cs->in.crl.delta_used &&
	    ((cs->fresh = first_dp_url(cs->cert, NID_freshest_crl)) != NULL ||
	    (cs->in.crl.fresh_url[0] != '\0' &&
	    (cs->fresh = xstrdup(cs->in.crl.fresh_url)) != NULL)) &&
	    !rev_store_has_current(c->e->store, REV_SRC_CDP, cs->fresh, c->now);
}

/*
 * Look certificate i up in the CRLs held, unless OCSP answered or the
 * policy takes no CRLs, then fetch its CDP or its delta CRLs when they
 * may tell more.  1 when the check now waits for a fetch.
 */
static int
check_crls(struct rev_check *c, int i)
{
	struct cert_state *cs = &c->cs[i];
	struct rev_signers sg;
	char *cause = NULL;

	if (cs->in.ocsp_asked && !cs->in.ocsp_unreachable &&
	    (cs->in.ocsp.status == REV_OCSP_GOOD ||
	    cs->in.ocsp.status == REV_OCSP_REVOKED))
		return 0;
	if (!c->p.use_crls)
		return 0;
	if (cs->in.crl_looked)
		free(cs->in.crl.detail);
	sg.trust = c->trust;
	sg.chain = c->certs;
	sg.anchor = sk_X509_value(c->path, sk_X509_num(c->path) - 1);
	rev_store_lookup_signers(c->e->store, cs->cert, cs->issuer,
	    c->trust != NULL ? &sg : NULL, c->now, &cs->in.crl);
	cs->in.crl_looked = 1;
	free(cs->cdp);
	cs->cdp = NULL;
	if (wants_cdp(c, cs)) {
		if (fetch_crl(c, i, cs->cdp, &cause) == 0) {
			cs->stage = ST_WAIT_CDP;
			return 1;
		}
		cs->in.cdp_unreachable = 1;
		cs->in.fetch_error = cause;
		cause = NULL;
	}
	free(cs->fresh);
	cs->fresh = NULL;
	if (wants_fresh(c, cs)) {
		cs->fresh_tried = 1;
		if (fetch_crl(c, i, cs->fresh, &cause) == 0) {
			cs->stage = ST_WAIT_CDP;
			return 1;
		}
		free(cause);
	}
	return 0;
}

/*
 * Take certificate i of c as far as it goes without waiting: OCSP, then
 * the CRLs, then the decision.  A fetch makes it wait; its end calls this
 * again.
 */
static void
advance(struct rev_check *c, int i)
{
	struct cert_state *cs = &c->cs[i];

	if (cs->stage == ST_START) {
		cs->stage = ST_CRL;
		if (!c->p.enabled)
			goto decide;
		if (ask_ocsp(c, i))
			return;
	}
	if (cs->stage == ST_CRL && check_crls(c, i))
		return;
decide:
	rev_decide(&c->p, &cs->in, &cs->v);
	cs->stage = ST_DONE;
}

static void
check_free(struct rev_check *c)
{
	struct rev_check **pp;
	struct pending *pf;
	struct waiter **wp, *w;
	int i;

	for (pp = &c->e->checks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	/* Leave every fetch this check waits for; the fetch goes on for
	 * the others (and fills the cache). */
	for (pf = c->e->pending; ; pf = pf->next) {
		if (pf == NULL && (pf = c->e->finishing) == NULL)
			break;
		for (wp = &pf->waiters; (w = *wp) != NULL; ) {
			if (w->c == c) {
				*wp = w->next;
				free(w);
			} else
				wp = &w->next;
		}
		if (pf == c->e->finishing)
			break;
	}
	for (i = 0; i < c->n; i++) {
		struct cert_state *cs = &c->cs[i];

		rev_ocsp_query_clear(&cs->q);
		free(cs->cdp);
		free(cs->fresh);
		free(cs->in.ocsp.detail);
		if (cs->in.crl_looked)
			free(cs->in.crl.detail);
		free(cs->in.fetch_error);
		free(cs->v.reason);
	}
	free(c->cs);
	sk_X509_pop_free(c->path, X509_free);
	sk_X509_pop_free(c->certs, X509_free);
	X509_STORE_free(c->trust);
	free(c);
}

static char *
serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn != NULL ? BN_bn2hex(bn) : NULL, *out;

	out = xstrdup(h != NULL ? h : "?");
	OPENSSL_free(h);
	BN_free(bn);
	return out;
}

static void
maybe_finish(struct rev_check *c)
{
	struct rev_verdict v;
	char *s;
	int i, pick = 0;

	for (i = 0; i < c->n; i++)
		if (c->cs[i].stage != ST_DONE)
			return;
	/* The first revoked certificate decides; else the leaf speaks. */
	for (i = 0; i < c->n; i++) {
		if (c->cs[i].v.result == REV_REVOKED) {
			pick = i;
			break;
		}
	}
	memset(&v, 0, sizeof v);
	v.result = c->cs[pick].v.result;
	for (i = 0; i < c->n; i++)
		v.fallback |= c->cs[i].v.fallback;
	v.depth = pick;
	v.listed = c->cs[pick].v.listed;
	s = X509_NAME_oneline(X509_get_subject_name(c->cs[pick].cert), NULL, 0);
	v.subject = xstrdup(s != NULL ? s : "?");
	OPENSSL_free(s);
	v.serial = serial_hex(c->cs[pick].cert);
	v.source = c->cs[pick].v.source;
	v.reason = xstrdup(c->cs[pick].v.reason);
	c->cb(&v, c->arg);
	rev_verdict_clear(&v);
	check_free(c);
}

struct rev_check *
rev_engine_check_chain(struct rev_engine *e, STACK_OF(X509) *path,
    STACK_OF(X509) *chain, X509_STORE *trust, const struct rev_policy *p,
    time_t now, rev_check_cb cb, void *arg)
{
	struct rev_check *c = xcalloc(1, sizeof *c);
	int i, n = sk_X509_num(path);

	c->e = e;
	c->path = X509_chain_up_ref(path);
	c->certs = X509_chain_up_ref(path);
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509_up_ref(sk_X509_value(chain, i));
		sk_X509_push(c->certs, sk_X509_value(chain, i));
	}
	/* Referenced: a reload may drop the caller's store meanwhile. */
	c->trust = trust;
	if (trust != NULL)
		X509_STORE_up_ref(trust);
	c->p = *p;
	c->now = now;
	c->cb = cb;
	c->arg = arg;
	/* Every certificate but the anchor; a lone certificate is checked
	 * as its own issuer (self-issued end entity). */
	c->n = n > 1 ? n - 1 : n;
	c->cs = xcalloc((size_t)c->n + 1, sizeof *c->cs);
	for (i = 0; i < c->n; i++) {
		c->cs[i].cert = sk_X509_value(path, i);
		c->cs[i].issuer = sk_X509_value(path, i + 1 < n ? i + 1 : i);
		c->cs[i].in.crl.reason = -1;
	}
	c->next = e->checks;
	e->checks = c;
	/* Start every certificate, then see whether all finished at once. */
	for (i = 0; i < c->n; i++)
		advance(c, i);
	for (i = 0; i < c->n; i++)
		if (c->cs[i].stage != ST_DONE)
			return c;
	maybe_finish(c);
	return NULL;
}

void
rev_check_cancel(struct rev_check *c)
{
	check_free(c);
}
