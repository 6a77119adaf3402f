/*
 * rev_store.c: verified CRLs, indexed.  Once a CRL is verified its
 * revoked entries are copied into one sorted array of small records over
 * a byte arena, and the OpenSSL object is freed: a 1,000,000-entry CRL
 * then costs about 16 bytes plus the serial per entry (about the size of
 * its DER, where OpenSSL's object takes some 250 bytes an entry), and a
 * lookup is a binary search.  contrib/bench/bench_crl measures it all.
 *
 * CRLs are kept by issuer and scope (RFC 5280 s.6.3): complete and delta
 * CRLs, each issuingDistributionPoint, coexist; a newer CRL replaces an
 * older one of the same source, issuer and scope only.  This file holds
 * the store and the admission of a CRL (its age against the one of its
 * scope, its signer, a refusal remembered); rev_store_index.c reads a
 * CRL's scope, verifies and indexes it; rev_store_lookup.c answers for a
 * certificate.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rev/rev_store.h"
#include "rev/rev_store_int.h"
#include "util/xmalloc.h"

/* CRLs kept unverified although their issuer was known (the signature
 * failed with its key; another signer may come): at most this many, of
 * at most this many bytes of DER in all. */
#define MAX_AWAITING		16
#define MAX_AWAITING_BYTES	((size_t)256 << 20)

/* Bound on the certificates kept from CRL sources. */
#define MAX_CERTS	1000

const char *
rev_source_name(enum rev_source s)
{
	switch (s) {
	case REV_SRC_MANUAL:	return "manual";
	case REV_SRC_TRUST:	return "trust file";
	case REV_SRC_DP:	return "distribution point";
	case REV_SRC_CDP:	return "cdp";
	case REV_SRC_CLI:	return "file";
	}
	return "?";
}

struct rev_store *
rev_store_new(void)
{
	struct rev_store *st = xcalloc(1, sizeof(struct rev_store));

	st->certs = sk_X509_new_null();
	return st;
}

void
rev_store_add_certs(struct rev_store *st, STACK_OF(X509) *certs)
{
	int i, j;

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		for (j = 0; j < sk_X509_num(st->certs); j++)
			if (X509_cmp(sk_X509_value(st->certs, j), x) == 0)
				break;
		if (j < sk_X509_num(st->certs) ||
		    sk_X509_num(st->certs) >= MAX_CERTS)
			continue;
		X509_up_ref(x);
		sk_X509_push(st->certs, x);
	}
}

static void
rec_free(struct rec *r)
{
	size_t k;

	X509_NAME_free(r->issuer);
	free(r->issuer_line);
	free(r->origin);
	BN_free(r->number);
	BN_free(r->base);
	ISSUING_DIST_POINT_free(r->idp);
	free(r->scope);
	free(r->fresh);
	free(r->unusable);
	X509_CRL_free(r->pending);
	for (k = 0; k < (size_t)r->ntried; k++)
		free(r->tried[k]);
	free(r->key);
	free(r->v);
	free(r->arena);
	free(r->iss);
	for (k = 0; k < r->nnames; k++)
		X509_NAME_free(r->names[k]);
	free(r->names);
	free(r);
}

void
rev_store_free(struct rev_store *st)
{
	struct rec *r, *next;

	if (st == NULL)
		return;
	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		rec_free(r);
	}
	sk_X509_pop_free(st->certs, X509_free);
	free(st);
}

char *
rev_store_name_line(const X509_NAME *n)
{
	char *s = X509_NAME_oneline(n, NULL, 0), *out;

	out = xstrdup(s != NULL ? s : "?");
	OPENSSL_free(s);
	return out;
}

/* Whether a is older than b (CRL number first, else thisUpdate). */
static int
older(const struct rec *a, const struct rec *b)
{
	if (a->number != NULL && b->number != NULL)
		return BN_cmp(a->number, b->number) < 0;
	return a->this_update < b->this_update;
}

/* Whether a and b have the same source, issuer and scope. */
static int
same_scope(const struct rec *a, const struct rec *b)
{
	return a->source == b->source && a->delta == b->delta &&
	    a->scopelen == b->scopelen &&
	    (a->scopelen == 0 || memcmp(a->scope, b->scope, a->scopelen) == 0) &&
	    X509_NAME_cmp(a->issuer, b->issuer) == 0;
}

/* Take r out of the store's list (not freed). */
static void
unlink_rec(struct rev_store *st, struct rec *r)
{
	struct rec **pp;

	for (pp = &st->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			if (!r->refused)
				st->n--;
			return;
		}
	}
}

/* Put r at the head of the store's list. */
static void
link_rec(struct rev_store *st, struct rec *r)
{
	r->next = st->head;
	st->head = r;
	if (!r->refused)
		st->n++;
}

/*
 * Turn r into the record of a refusal (the CRL is not kept, why is): a
 * lookup names it instead of saying there is no CRL.
 */
void
rev_store_refuse_rec(struct rev_store *st, struct rec *r, char *why)
{
	int linked = 0;
	struct rec *o;

	for (o = st->head; o != NULL; o = o->next)
		if (o == r)
			linked = 1;
	/* Left where it is: a lookup may be walking the list (a CRL
	 * signer's own status is looked up in the middle of another). */
	if (linked && !r->refused)
		st->n--;
	free(r->unusable);
	r->unusable = why;
	r->refused = 1;
	X509_CRL_free(r->pending);
	r->pending = NULL;
	free(r->v);
	r->v = NULL;
	r->n = 0;
	if (!linked)
		link_rec(st, r);
}

/* A description of r for messages: "CRL 12 of X (manual, FILE)". */
char *
rev_store_rec_desc(const struct rec *r)
{
	char *num = r->number != NULL ? BN_bn2dec(r->number) : NULL, *out;

	out = xasprintf("%s%s%s of %s (%s, %s)", r->delta ? "delta CRL" :
	    "CRL", num != NULL ? " " : "", num != NULL ? num : "",
	    r->issuer_line, rev_source_name(r->source), r->origin);
	OPENSSL_free(num);
	return out;
}

/*
 * Whether crl may be signed by a key none of issuers named name holds:
 * its authorityKeyIdentifier names a key identifier that none of them has
 * as its subjectKeyIdentifier, or it names no key at all.
 */
static int
signed_by_other_key(X509_CRL *crl, STACK_OF(X509) *issuers,
    const X509_NAME *name)
{
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl,
	    NID_authority_key_identifier, NULL, NULL);
	const ASN1_OCTET_STRING *ski;
	int i, other = 1;

	if (akid == NULL || akid->keyid == NULL) {
		AUTHORITY_KEYID_free(akid);
		ERR_clear_error();
		return 1;
	}

	for (i = 0; i < sk_X509_num(issuers) && other; i++) {
		X509 *x = sk_X509_value(issuers, i);

		if (X509_NAME_cmp(X509_get_subject_name(x), name) == 0 &&
		    (ski = X509_get0_subject_key_id(x)) != NULL &&
		    ASN1_STRING_cmp(ski, akid->keyid) == 0)
			other = 0;
	}
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	return other;
}

/* A record of crl from source/origin, its scope read; crl held pending. */
static struct rec *
rec_new(X509_CRL *crl, enum rev_source source, const char *origin)
{
	struct rec *r = xcalloc(1, sizeof *r);

	r->issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	r->issuer_line = rev_store_name_line(r->issuer);
	r->source = source;
	r->origin = xstrdup(origin);
	r->this_update = rev_store_time(X509_CRL_get0_lastUpdate(crl));
	r->next_update = rev_store_time(X509_CRL_get0_nextUpdate(crl));
	rev_store_read_scope(r, crl);
	r->pending = crl;
	return r;
}

/* A CRL held (not a refusal) of r's scope that is newer than r, or NULL. */
static const struct rec *
newer_held(const struct rev_store *st, const struct rec *r)
{
	const struct rec *o;

	for (o = st->head; o != NULL; o = o->next)
		if (!o->refused && same_scope(o, r) && older(r, o))
			return o;
	return NULL;
}

/* Whether o is the remembered refusal of a CRL of r's source, origin
 * and issuer. */
static int
refusal_of(const struct rec *o, const struct rec *r)
{
	return o->refused && o->source == r->source &&
	    strcmp(o->origin, r->origin) == 0 &&
	    X509_NAME_cmp(o->issuer, r->issuer) == 0;
}

/*
 * Verify r with each certificate named as its issuer: the issuers given,
 * then the certificates that came with CRLs (a CRL signer's; whether it
 * may speak for a certificate is decided at lookup, by validating it).
 * *found: one was named so; *sig_ok: one's key verified it (its key usage
 * failed); *why: the last failure.
 */
static void
verify_with_issuers(struct rev_store *st, struct rec *r,
    STACK_OF(X509) *issuers, int *found, int *sig_ok, char **why)
{
	int i, nis;

	nis = sk_X509_num(issuers) > 0 ? sk_X509_num(issuers) : 0;
	for (i = 0; i < nis + sk_X509_num(st->certs) && r->pending != NULL;
	    i++) {
		X509 *x = i < nis ? sk_X509_value(issuers, i) :
		    sk_X509_value(st->certs, i - nis);

		if (X509_NAME_cmp(X509_get_subject_name(x), r->issuer) != 0)
			continue;
		*found = 1;
		free(*why);
		*why = NULL;
		if (rev_store_verify_rec(r, x, why) == 0)
			break;
		if (!rev_store_tried_key(r, x))
			*sig_ok = 1;	/* x's key verified it: usage failed */
	}
}

/*
 * No known key verifies r and its authorityKeyIdentifier names another
 * key, or none: a CA's new key or a separate CRL signer, whose certificate
 * may come with a peer's chain.  Whether r may be kept unverified, within
 * bounds (then marked awaiting); a lookup verifies it or says why, and
 * keeps it waiting.  When it may not, *why says so too.
 */
static int
may_await(struct rev_store *st, struct rec *r, X509_CRL *crl, char **why)
{
	const struct rec *o;
	size_t nawait = 0, awbytes = 0;
	char *t;

	for (o = st->head; o != NULL; o = o->next)
		if (o->pending != NULL && o->awaiting && !o->refused &&
		    !same_scope(o, r)) {
			nawait++;
			awbytes += o->bytes;
		}
	r->bytes = (size_t)i2d_X509_CRL(crl, NULL);
	if (nawait < MAX_AWAITING &&
	    awbytes + r->bytes <= MAX_AWAITING_BYTES) {
		r->awaiting = 1;
		return 1;
	}
	t = xasprintf("%s; it cannot wait for another signer: %zu CRLs (%zu "
	    "bytes) already do, the most kept", *why, nawait, awbytes);
	free(*why);
	*why = t;
	return 0;
}

/*
 * Refuse r, which its issuer's key did not verify: -1 with *cause; the
 * refusal (why, taken) is remembered in place of the earlier ones of its
 * origin, so that a lookup says why the CRL is not used.  The CRL stays
 * the caller's.
 */
static int
refuse_new(struct rev_store *st, struct rec *r, char *why, char **cause)
{
	struct rec *o, *next;
	char *d;

	*cause = xasprintf("%s: %s ignored: %s", r->origin,
	    d = rev_store_rec_desc(r), why);
	free(d);
	r->pending = NULL;
	for (o = st->head; o != NULL; o = next) {
		next = o->next;
		if (refusal_of(o, r)) {
			unlink_rec(st, o);
			rec_free(o);
		}
	}
	rev_store_refuse_rec(st, r, why);
	return -1;
}

/*
 * Drop what r replaces: older CRLs of its scope, and refusals of its
 * origin; a CRL that waits for its signer replaces only CRLs that are not
 * verified either (a forged one must not push a CA's CRL out).
 */
static void
drop_replaced(struct rev_store *st, const struct rec *r)
{
	struct rec *o, *next;

	for (o = st->head; o != NULL; o = next) {
		next = o->next;
		if ((!o->refused && same_scope(o, r) && (!r->awaiting ||
		    o->pending != NULL)) || refusal_of(o, r)) {
			unlink_rec(st, o);
			rec_free(o);
		}
	}
}

int
rev_store_add(struct rev_store *st, X509_CRL *crl, enum rev_source source,
    const char *origin, STACK_OF(X509) *issuers, char **cause)
{
	struct rec *r = rec_new(crl, source, origin);
	const struct rec *o;
	char *why = NULL, *d;
	int found = 0, sig_ok = 0;

	if ((o = newer_held(st, r)) != NULL) {
		*cause = xasprintf("%s: %s is older than the one of that scope "
		    "already held (from %s)", origin,
		    d = rev_store_rec_desc(r), o->origin);
		free(d);
		r->pending = NULL;	/* the caller keeps it */
		rec_free(r);
		return -1;
	}
	verify_with_issuers(st, r, issuers, &found, &sig_ok, &why);
	/*
	 * One that could never be used anyway is refused for its signature
	 * rather than kept waiting: a forged CRL is not named as its
	 * issuer's.
	 */
	if (found && r->pending != NULL && !sig_ok && r->unusable == NULL &&
	    signed_by_other_key(crl, issuers, r->issuer) &&
	    may_await(st, r, crl, &why))
		found = 0;
	if (found && r->pending != NULL)
		return refuse_new(st, r, why, cause);
	free(why);
	if (r->unusable != NULL) {
		/*
		 * Kept to be named, never used: the CRL itself is not (one
		 * whose signature failed was refused above, so that a forged
		 * CRL is not named as a CA's).
		 */
		X509_CRL_free(r->pending);
		r->pending = NULL;
	}
	drop_replaced(st, r);
	link_rec(st, r);
	return 0;
}

void
rev_store_clear_source(struct rev_store *st, enum rev_source source)
{
	struct rec *r, *next;

	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		if (r->source == source) {
			unlink_rec(st, r);
			rec_free(r);
		}
	}
}

int
rev_store_has_current(const struct rev_store *st, enum rev_source source,
    const char *origin, time_t now)
{
	const struct rec *r;

	for (r = st->head; r != NULL; r = r->next)
		if (r->source == source && strcmp(r->origin, origin) == 0 &&
		    (r->next_update == 0 || now <= r->next_update))
			return 1;
	return 0;
}

void
rev_store_walk(struct rev_store *st,
    void (*fn)(const struct rev_crl_info *, void *), void *arg)
{
	struct rev_crl_info info;
	struct rec *r;

	for (r = st->head; r != NULL; r = r->next) {
		if (r->refused)
			continue;
		info.issuer = r->issuer_line;
		info.source = r->source;
		info.origin = r->origin;
		info.this_update = r->this_update;
		info.next_update = r->next_update;
		info.entries = r->n;
		if (r->pending != NULL &&
		    X509_CRL_get_REVOKED(r->pending) != NULL)
			info.entries = (size_t)sk_X509_REVOKED_num(
			    X509_CRL_get_REVOKED(r->pending));
		info.verified = r->pending == NULL && r->unusable == NULL;
		info.delta = r->delta;
		info.unusable = r->unusable;
		fn(&info, arg);
	}
}

size_t
rev_store_count(const struct rev_store *st)
{
	return st->n;
}
