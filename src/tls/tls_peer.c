/*
 * tls_peer.c: chain, purpose, key size and name of a peer certificate.
 * The path is found and judged by tls_path (every candidate issuer, the
 * RFC 5280 rules, then X509_verify_cert on that path with our clock,
 * purpose and security level); the name by tls_name (RFC 5922).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "tls/tls_path.h"
#include "tls/tls_peer.h"
#include "util/xmalloc.h"

/*
 * The name step of tls_peer_verify once the path held (how: what held,
 * for the reason): r->ok and r->reason from expected against the leaf.
 */
static int
check_name(X509 *leaf, const char *expected, const struct tls_peer_policy *p,
    const char *how, struct tls_peer_result *r)
{
	struct tls_name_result nr;

	if (expected == NULL) {
		r->ok = 1;
		r->reason = xasprintf("%s (no name checked)", how);
		return 1;
	}
	if (tls_name_check(leaf, expected, &p->names, &nr) == 1) {
		r->ok = 1;
		r->rule = nr.rule;
		r->reason = xasprintf("%s; name \"%s\" matched by %s", how,
		    expected, tls_name_rule_name(nr.rule));
	} else
		r->reason = xstrdup(nr.reason != NULL ? nr.reason :
		    "name check failed");
	tls_name_result_clear(&nr);
	return r->ok;
}

int
tls_peer_verify(STACK_OF(X509) *chain, X509_STORE *trust,
    const char *expected, const struct tls_peer_policy *p, time_t now,
    struct tls_peer_result *r)
{
	struct tls_path_params pp;
	char *why = NULL;

	memset(r, 0, sizeof *r);
	memset(&pp, 0, sizeof pp);
	pp.trust = trust;
	pp.now = now != 0 ? now : time(NULL);
	pp.auth_level = p->security_level;
	pp.min_rsa_bits = p->min_rsa_bits > 0 ? p->min_rsa_bits : 2048;
	if (!p->relax_eku)
		pp.purpose = p->role == TLS_PEER_SERVER ?
		    X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
	if (!tls_path_build(chain, &pp, &r->path, &why, NULL)) {
		r->reason = why;
		return 0;
	}
	return check_name(sk_X509_value(chain, 0), expected, p,
	    "chain verified", r);
}

/* x's time t as seconds since the epoch into *out: 0, or -1. */
static int
asn1_secs(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

time_t
tls_peer_earlier(time_t a, time_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

time_t
tls_peer_next_change(STACK_OF(X509) *certs, time_t now)
{
	time_t best = 0, nb, na;
	int i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		/* A date we cannot read: it may change at any time. */
		if (asn1_secs(X509_get0_notBefore(x), &nb) == -1 ||
		    asn1_secs(X509_get0_notAfter(x), &na) == -1)
			return now + 1;
		if (nb > now)
			best = tls_peer_earlier(best, nb);
		if (na >= now)
			best = tls_peer_earlier(best, na + 1);
	}
	return best;
}

/* Whether p asks of a path what q asks (the name rules aside). */
static int
same_path_policy(const struct tls_peer_policy *p,
    const struct tls_peer_policy *q)
{
	int pb = p->min_rsa_bits > 0 ? p->min_rsa_bits : 2048;
	int qb = q->min_rsa_bits > 0 ? q->min_rsa_bits : 2048;

	return p->role == q->role && p->relax_eku == q->relax_eku &&
	    pb == qb && p->security_level == q->security_level;
}

/* Whether every certificate of path is valid at now (both ends
 * inclusive, as tls_path judges them). */
static int
path_current(STACK_OF(X509) *path, time_t now)
{
	int i;

	for (i = 0; i < sk_X509_num(path); i++) {
		X509 *x = sk_X509_value(path, i);

		if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), now) > 0 ||
		    ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), now) < 0)
			return 0;
	}
	return 1;
}

int
tls_peer_reuse(const struct tls_peer_record *rec, const char *expected,
    const struct tls_peer_policy *p, time_t now, struct tls_peer_result *r)
{
	memset(r, 0, sizeof *r);
	if (rec == NULL || rec->path == NULL || sk_X509_num(rec->path) < 1 ||
	    !same_path_policy(&rec->pp, p) || now < rec->at ||
	    (rec->until != 0 && now >= rec->until) ||
	    !path_current(rec->path, now))
		return 0;
	if (!check_name(sk_X509_value(rec->path, 0), expected, p,
	    "chain as verified before, unchanged since", r)) {
		tls_peer_result_clear(r);
		return 0;
	}
	r->path = X509_chain_up_ref(rec->path);
	return 1;
}

time_t
tls_peer_trust_next(X509_STORE *trust, struct tls_peer_clock *clock,
    time_t now)
{
	STACK_OF(X509) *all;

	if (clock->from == 0 || now < clock->from ||
	    (clock->next != 0 && now >= clock->next)) {
		all = X509_STORE_get1_all_certs(trust);
		clock->next = tls_peer_next_change(all, now);
		clock->from = now;
		sk_X509_pop_free(all, X509_free);
	}
	return clock->next;
}

void
tls_peer_record_set(struct tls_peer_record *rec, STACK_OF(X509) *chain,
    const struct tls_peer_result *r, const struct tls_peer_policy *p,
    time_t now, time_t trust_next)
{
	time_t until;

	tls_peer_record_clear(rec);
	rec->path = X509_chain_up_ref(r->path);
	rec->pp = *p;
	rec->at = now;
	until = tls_peer_earlier(tls_peer_next_change(chain, now),
	    tls_peer_next_change(r->path, now));
	rec->until = tls_peer_earlier(until, trust_next);
}

void
tls_peer_record_copy(struct tls_peer_record *dst,
    const struct tls_peer_record *src)
{
	tls_peer_record_clear(dst);
	*dst = *src;
	dst->path = src->path != NULL ? X509_chain_up_ref(src->path) : NULL;
}

void
tls_peer_record_clear(struct tls_peer_record *rec)
{
	sk_X509_pop_free(rec->path, X509_free);
	memset(rec, 0, sizeof *rec);
}

void
tls_peer_policy_from_conf(const struct conf *c, const struct conf_zone *z,
    enum tls_peer_role role, struct tls_peer_policy *p)
{
	memset(p, 0, sizeof *p);
	p->role = role;
	p->security_level = c->security_level;
	p->min_rsa_bits = z != NULL ? z->min_rsa_bits : 2048;
	if (z != NULL) {
		p->relax_eku = z->relax_eku;
		p->names.accept_wildcards = z->accept_wildcards;
		p->names.compat_cn_with_san = z->cn_compat;
	}
}

void
tls_peer_result_clear(struct tls_peer_result *r)
{
	free(r->reason);
	sk_X509_pop_free(r->path, X509_free);
	memset(r, 0, sizeof *r);
}
