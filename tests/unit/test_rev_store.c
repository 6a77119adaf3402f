/*
 * test_rev_store.c: CRLs are verified against their issuer before use,
 * indexed, looked up by serial; the expired-CRL rule, replacement by
 * newer CRLs, CAs sharing a name, delta CRLs and bad signatures.
 * Certificates and CRLs are built here with OpenSSL.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "rev/rev_store.h"

static time_t now;

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &v3, nid, value));
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate CN=cn with serial, signed by ikey (self-signed: issuer NULL). */
static X509 *
cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    const char *ku)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 30);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	if (ku != NULL) {
		ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		ext(x, x, NID_key_usage, ku);
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

/* A CRL of ca listing serials (reason keyCompromise for the first). */
static X509_CRL *
crl(X509 *ca, EVP_PKEY *signer, const long *serials, int n, long days_left,
    long number, int delta)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, now - 3600);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int i;

	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, now + days_left * 86400);
	X509_CRL_set1_nextUpdate(c, t);
	for (i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_TIME_set(t, now - 7200);
		X509_REVOKED_set_revocationDate(r, t);
		if (i == 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ASN1_ENUMERATED_set(e, 1);
			X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
			ASN1_ENUMERATED_free(e);
		}
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_INTEGER_set(num, number);
	X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0);
	if (delta)
		X509_CRL_add1_ext_i2d(c, NID_delta_crl, num, 1, 0);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	assert_true(X509_CRL_sign(c, signer, EVP_sha256()) > 0);
	return c;
}

struct pki {
	EVP_PKEY	*cakey, *otherkey, *leafkey;
	X509		*ca, *twin, *leaf_ok, *leaf_bad, *twin_leaf;
	STACK_OF(X509)	*trust;
};

static struct pki p;

static int
setup(void **state)
{
	(void)state;
	now = time(NULL);
	p.cakey = EVP_EC_gen("P-256");
	p.otherkey = EVP_EC_gen("P-256");
	p.leafkey = EVP_EC_gen("P-256");
	p.ca = cert("Test CA", 1, p.cakey, NULL, p.cakey,
	    "critical,keyCertSign,cRLSign");
	/* Same name, another key: its CRLs must not speak for Test CA. */
	p.twin = cert("Test CA", 2, p.otherkey, NULL, p.otherkey,
	    "critical,keyCertSign,cRLSign");
	p.leaf_ok = cert("good.example", 100, p.leafkey, p.ca, p.cakey, NULL);
	p.leaf_bad = cert("bad.example", 101, p.leafkey, p.ca, p.cakey, NULL);
	p.twin_leaf = cert("twin.example", 101, p.leafkey, p.twin, p.otherkey,
	    NULL);
	p.trust = sk_X509_new_null();
	sk_X509_push(p.trust, p.ca);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sk_X509_free(p.trust);
	X509_free(p.ca);
	X509_free(p.twin);
	X509_free(p.leaf_ok);
	X509_free(p.leaf_bad);
	X509_free(p.twin_leaf);
	EVP_PKEY_free(p.cakey);
	EVP_PKEY_free(p.otherkey);
	EVP_PKEY_free(p.leafkey);
	return 0;
}

static enum rev_crl_status
look(struct rev_store *st, X509 *leaf, X509 *issuer, char **detail)
{
	struct rev_crl_answer a;

	rev_store_lookup(st, leaf, issuer, now, &a);
	if (detail != NULL)
		*detail = a.detail;
	else
		free(a.detail);
	return a.status;
}

/* Helpers defined further down, used by the earlier tests too. */
struct entry;
static enum rev_crl_status look_has(struct rev_store *st, X509 *leaf,
    const char *part);
static void add_ok(struct rev_store *st, X509_CRL *c, const char *origin);
static ISSUING_DIST_POINT *idp_new(const char *uri, int onlyuser, int onlyca,
    int indirect, unsigned reasons);
static X509_CRL *crl_ex(X509 *ca, EVP_PKEY *signer, const struct entry *ents,
    int n, long number, long base, ISSUING_DIST_POINT *idp, int crit);

static void
test_revoked_and_good(void **state)
{
	struct rev_store *st = rev_store_new();
	long serials[] = { 101, 5, 77 };
	char *cause = NULL, *d;

	(void)state;
	assert_int_equal(look(st, p.leaf_ok, p.ca, &d), REV_CRL_NONE);
	assert_string_equal(d, "no CRL of /CN=Test CA");
	free(d);
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, serials, 3, 7, 1,
	    0), REV_SRC_MANUAL, "manual.crl", p.trust, &cause), 0);
	assert_int_equal(rev_store_count(st), 1);
	assert_int_equal(look(st, p.leaf_ok, p.ca, &d), REV_CRL_GOOD);
	assert_non_null(strstr(d, "not in the CRL of /CN=Test CA (manual"));
	free(d);
	assert_int_equal(look(st, p.leaf_bad, p.ca, &d), REV_CRL_REVOKED);
	assert_non_null(strstr(d, "revoked by the CRL of /CN=Test CA"));
	assert_non_null(strstr(d, "reason keyCompromise"));
	free(d);
	/* A certificate of another CA with the same name is not covered. */
	assert_int_equal(look(st, p.twin_leaf, p.twin, NULL), REV_CRL_NONE);
	rev_store_free(st);
}

static void
test_expired_crl(void **state)
{
	struct rev_store *st = rev_store_new();
	char *cause = NULL, *d;

	(void)state;
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, NULL, 0, -1, 1,
	    0), REV_SRC_DP, "http://127.0.0.1/ca.crl", p.trust, &cause), 0);
	assert_int_equal(look(st, p.leaf_ok, p.ca, &d), REV_CRL_EXPIRED);
	assert_non_null(strstr(d, "CRL of /CN=Test CA expired at"));
	free(d);
	/* A current CRL from another source answers instead. */
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, NULL, 0, 7, 1,
	    0), REV_SRC_MANUAL, "manual.crl", p.trust, &cause), 0);
	assert_int_equal(look(st, p.leaf_ok, p.ca, NULL), REV_CRL_GOOD);
	rev_store_free(st);
}

static void
test_bad_signature_and_usage(void **state)
{
	struct rev_store *st = rev_store_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *nocrlsign = cert("No CRL CA", 3, k, NULL, k,
	    "critical,keyCertSign");
	STACK_OF(X509) *t = sk_X509_new_null();
	X509_CRL *c;
	char *cause = NULL;

	(void)state;
	/*
	 * Signed by another key, and no authorityKeyIdentifier says which:
	 * kept, unverified, for a signer a peer's chain may bring; a lookup
	 * without one names it and why (status unknown), and keeps it.
	 */
	c = crl(p.ca, p.otherkey, NULL, 0, 7, 1, 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "m.crl", p.trust,
	    &cause), 0);
	assert_int_equal(look_has(st, p.leaf_ok, "CRL 1 of /CN=Test CA "
	    "(manual, m.crl) not used: its signature does not verify with the "
	    "key of /CN=Test CA (it waits for a certificate that verifies it"),
	    REV_CRL_UNKNOWN);
	assert_int_equal(look_has(st, p.leaf_ok, "it waits for a certificate"),
	    REV_CRL_UNKNOWN);
	/* A verified CRL of that scope is not pushed out by such a one. */
	add_ok(st, crl(p.ca, p.cakey, NULL, 0, 7, 2, 0), "good.crl");
	c = crl(p.ca, p.otherkey, NULL, 0, 7, 3, 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_CLI, "forged.crl",
	    p.trust, &cause), 0);
	assert_int_equal(look_has(st, p.leaf_ok, "not in the CRL of /CN=Test "
	    "CA (file, good.crl)"), REV_CRL_GOOD);
	rev_store_free(st);
	st = rev_store_new();
	/* Bounded: the 17th such CRL (of another scope each) is refused. */
	{
		int n, rc;

		for (n = 0; n < 17; n++) {
			ISSUING_DIST_POINT *idp;
			char uri[64];

			snprintf(uri, sizeof uri, "http://x.example/%d.crl", n);
			idp = idp_new(uri, 0, 0, 0, 0);
			c = crl_ex(p.ca, p.otherkey, NULL, 0, 1, -1, idp, 0);
			ISSUING_DIST_POINT_free(idp);
			rc = rev_store_add(st, c, REV_SRC_CLI, uri, p.trust,
			    &cause);
			assert_int_equal(rc, n < 16 ? 0 : -1);
		}
		assert_non_null(strstr(cause, "it cannot wait for another "
		    "signer: 16 CRLs"));
		free(cause);
		X509_CRL_free(c);
	}
	rev_store_free(st);
	st = rev_store_new();
	/* Its authorityKeyIdentifier names the trusted CA's key: refused. */
	{
		X509 *ski = cert("SKI CA", 4, p.cakey, NULL, p.cakey,
		    "critical,keyCertSign,cRLSign");
		STACK_OF(X509) *t2 = sk_X509_new_null();
		AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();

		ext(ski, ski, NID_subject_key_identifier, "hash");
		assert_true(X509_sign(ski, p.cakey, EVP_sha256()) > 0);
		sk_X509_push(t2, ski);
		c = crl(ski, p.otherkey, NULL, 0, 7, 1, 0);
		ak->keyid = ASN1_OCTET_STRING_dup(
		    X509_get0_subject_key_id(ski));
		X509_CRL_add1_ext_i2d(c, NID_authority_key_identifier, ak, 0,
		    0);
		assert_true(X509_CRL_sign(c, p.otherkey, EVP_sha256()) > 0);
		assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "m.crl",
		    t2, &cause), -1);
		assert_non_null(strstr(cause, "signature does not verify"));
		free(cause);
		X509_CRL_free(c);
		AUTHORITY_KEYID_free(ak);
		sk_X509_free(t2);
		X509_free(ski);
	}
	/* An issuer without cRLSign. */
	sk_X509_push(t, nocrlsign);
	c = crl(nocrlsign, k, NULL, 0, 7, 1, 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "n.crl", t,
	    &cause), -1);
	assert_non_null(strstr(cause, "may not sign CRLs"));
	free(cause);
	X509_CRL_free(c);
	assert_int_equal(rev_store_count(st), 0);
	sk_X509_free(t);
	X509_free(nocrlsign);
	EVP_PKEY_free(k);
	rev_store_free(st);
}

static void
test_pending_until_issuer_seen(void **state)
{
	struct rev_store *st = rev_store_new();
	long serials[] = { 101 };
	char *cause = NULL, *d;

	(void)state;
	/* Issuer unknown at add time (an intermediate): kept unverified. */
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, serials, 1, 7, 1,
	    0), REV_SRC_CDP, "http://x/ca.crl", NULL, &cause), 0);
	assert_int_equal(look(st, p.leaf_bad, p.ca, NULL), REV_CRL_REVOKED);
	/* A pending CRL with a bad signature is dropped at lookup. */
	rev_store_free(st);
	st = rev_store_new();
	assert_int_equal(rev_store_add(st, crl(p.ca, p.otherkey, serials, 1, 7,
	    1, 0), REV_SRC_CDP, "http://x/ca.crl", NULL, &cause), 0);
	assert_int_equal(look(st, p.leaf_bad, p.ca, &d), REV_CRL_UNKNOWN);
	assert_non_null(strstr(d, "no usable CRL of /CN=Test CA: CRL 1 of "
	    "/CN=Test CA (cdp, http://x/ca.crl) not used: its signature does "
	    "not verify"));
	free(d);
	assert_int_equal(rev_store_count(st), 0);
	/* The refusal is remembered: the next lookup names it too. */
	assert_int_equal(look(st, p.leaf_bad, p.ca, &d), REV_CRL_UNKNOWN);
	assert_non_null(strstr(d, "signature does not verify"));
	free(d);
	rev_store_free(st);
}

static void
test_newer_replaces_older(void **state)
{
	struct rev_store *st = rev_store_new();
	long serials[] = { 101 };
	X509_CRL *old;
	char *cause = NULL;

	(void)state;
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, NULL, 0, 7, 5,
	    0), REV_SRC_DP, "dp", p.trust, &cause), 0);
	old = crl(p.ca, p.cakey, serials, 1, 7, 4, 0);
	assert_int_equal(rev_store_add(st, old, REV_SRC_DP, "dp", p.trust,
	    &cause), -1);
	assert_non_null(strstr(cause, "older than the one of that scope "
	    "already held"));
	free(cause);
	X509_CRL_free(old);
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, serials, 1, 7, 6,
	    0), REV_SRC_DP, "dp", p.trust, &cause), 0);
	assert_int_equal(rev_store_count(st), 1);
	assert_int_equal(look(st, p.leaf_bad, p.ca, NULL), REV_CRL_REVOKED);
	rev_store_clear_source(st, REV_SRC_DP);
	assert_int_equal(rev_store_count(st), 0);
	rev_store_free(st);
}

static void
test_delta_alone(void **state)
{
	struct rev_store *st = rev_store_new();
	char *cause = NULL, *d;

	(void)state;
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, NULL, 0, 7, 2,
	    1), REV_SRC_DP, "delta", p.trust, &cause), 0);
	assert_int_equal(look(st, p.leaf_ok, p.ca, &d), REV_CRL_UNKNOWN);
	assert_non_null(strstr(d, "delta CRL 2 of /CN=Test CA (distribution "
	    "point, delta) not used: a delta CRL is used only with a complete "
	    "CRL"));
	free(d);
	rev_store_free(st);
}

/* One entry of a CRL made by crl_ex(). */
struct entry {
	long		 serial;
	int		 reason;	/* -1: none */
	X509_NAME	*cissuer;	/* certificateIssuer, or NULL */
	int		 critical_ext;	/* an unknown critical extension */
};

/*
 * A CRL in the name of ca signed by signer: entries, number (-1: none),
 * base (>= 0: a delta CRL on that base), an IDP (may be NULL) and an
 * unknown critical CRL extension when crit.
 */
static X509_CRL *
crl_ex(X509 *ca, EVP_PKEY *signer, const struct entry *ents, int n,
    long number, long base, ISSUING_DIST_POINT *idp, int crit)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, now - 3600);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int i;

	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, now + 7 * 86400);
	X509_CRL_set1_nextUpdate(c, t);
	for (i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, ents[i].serial);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_TIME_set(t, now - 7200);
		X509_REVOKED_set_revocationDate(r, t);
		if (ents[i].reason >= 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ASN1_ENUMERATED_set(e, ents[i].reason);
			X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
			ASN1_ENUMERATED_free(e);
		}
		if (ents[i].cissuer != NULL) {
			GENERAL_NAMES *gns = GENERAL_NAMES_new();
			GENERAL_NAME *g = GENERAL_NAME_new();

			GENERAL_NAME_set0_value(g, GEN_DIRNAME,
			    X509_NAME_dup(ents[i].cissuer));
			sk_GENERAL_NAME_push(gns, g);
			X509_REVOKED_add1_ext_i2d(r, NID_certificate_issuer,
			    gns, 1, 0);
			GENERAL_NAMES_free(gns);
		}
		if (ents[i].critical_ext) {
			ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.55555.2", 1);
			ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
			X509_EXTENSION *x;

			ASN1_OCTET_STRING_set(v, (const unsigned char *)"\5\0",
			    2);
			x = X509_EXTENSION_create_by_OBJ(NULL, o, 1, v);
			X509_REVOKED_add_ext(r, x, -1);
			X509_EXTENSION_free(x);
			ASN1_OCTET_STRING_free(v);
			ASN1_OBJECT_free(o);
		}
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(s);
	}
	if (number >= 0) {
		ASN1_INTEGER_set(num, number);
		X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0);
	}
	if (base >= 0) {
		ASN1_INTEGER_set(num, base);
		X509_CRL_add1_ext_i2d(c, NID_delta_crl, num, 1, 0);
	}
	if (idp != NULL)
		X509_CRL_add1_ext_i2d(c, NID_issuing_distribution_point, idp,
		    1, 0);
	if (crit) {
		ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		X509_EXTENSION *x;

		ASN1_OCTET_STRING_set(v, (const unsigned char *)"\5\0", 2);
		x = X509_EXTENSION_create_by_OBJ(NULL, o, 1, v);
		X509_CRL_add_ext(c, x, -1);
		X509_EXTENSION_free(x);
		ASN1_OCTET_STRING_free(v);
		ASN1_OBJECT_free(o);
	}
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_sort(c);
	assert_true(X509_CRL_sign(c, signer, EVP_sha256()) > 0);
	return c;
}

/* An IDP: distribution point URI (may be NULL), flags, reasons mask. */
static ISSUING_DIST_POINT *
idp_new(const char *uri, int onlyuser, int onlyca, int indirect,
    unsigned reasons)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	int i;

	if (uri != NULL) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		ASN1_STRING_set(s, uri, -1);
		GENERAL_NAME_set0_value(g, GEN_URI, s);
		idp->distpoint = DIST_POINT_NAME_new();
		idp->distpoint->type = 0;
		idp->distpoint->name.fullname = GENERAL_NAMES_new();
		sk_GENERAL_NAME_push(idp->distpoint->name.fullname, g);
	}
	idp->onlyuser = onlyuser;
	idp->onlyCA = onlyca;
	idp->indirectCRL = indirect;
	if (reasons != 0) {
		idp->onlysomereasons = ASN1_BIT_STRING_new();
		for (i = 1; i <= 8; i++)
			if (reasons & (1u << i))
				ASN1_BIT_STRING_set_bit(idp->onlysomereasons,
				    i, 1);
	}
	return idp;
}

/*
 * A leaf of p.ca with serial and a CRL distribution point: uri, and the
 * CRL issuer crlissuer (may be NULL); ca: basicConstraints cA.
 */
static X509 *leaf_dp_r(long serial, const char *uri, X509_NAME *crlissuer,
    int ca, unsigned reasons);

static X509 *
leaf_dp(long serial, const char *uri, X509_NAME *crlissuer, int ca)
{
	return leaf_dp_r(serial, uri, crlissuer, ca, 0);
}

/* The same, the DP limited to reasons (a mask of bits 1-8) when not 0. */
static X509 *
leaf_dp_r(long serial, const char *uri, X509_NAME *crlissuer, int ca,
    unsigned reasons)
{
	X509 *x = cert("dp.example", serial, p.leafkey, p.ca, p.cakey, NULL);
	STACK_OF(DIST_POINT) *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *g;
	ASN1_IA5STRING *s;

	if (uri != NULL) {
		g = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, uri, -1);
		GENERAL_NAME_set0_value(g, GEN_URI, s);
		dp->distpoint = DIST_POINT_NAME_new();
		dp->distpoint->type = 0;
		dp->distpoint->name.fullname = GENERAL_NAMES_new();
		sk_GENERAL_NAME_push(dp->distpoint->name.fullname, g);
	}
	if (crlissuer != NULL) {
		g = GENERAL_NAME_new();
		GENERAL_NAME_set0_value(g, GEN_DIRNAME,
		    X509_NAME_dup(crlissuer));
		dp->CRLissuer = GENERAL_NAMES_new();
		sk_GENERAL_NAME_push(dp->CRLissuer, g);
	}
	if (reasons != 0) {
		int i;

		dp->reasons = ASN1_BIT_STRING_new();
		for (i = 1; i <= 8; i++)
			if (reasons & (1u << i))
				ASN1_BIT_STRING_set_bit(dp->reasons, i, 1);
	}
	sk_DIST_POINT_push(dps, dp);
	X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, 0);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	if (ca)
		ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	assert_true(X509_sign(x, p.cakey, EVP_sha256()) > 0);
	return x;
}

static enum rev_crl_status
look_has(struct rev_store *st, X509 *leaf, const char *part)
{
	struct rev_crl_answer a;

	rev_store_lookup(st, leaf, p.ca, now, &a);
	if (part != NULL && strstr(a.detail, part) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", a.detail, part);
	free(a.detail);
	return a.status;
}

static void
add_ok(struct rev_store *st, X509_CRL *c, const char *origin)
{
	char *cause = NULL;

	if (rev_store_add(st, c, REV_SRC_CLI, origin, p.trust, &cause) != 0)
		fail_msg("add %s: %s", origin, cause);
}

/* Add c, which the store refuses (the caller keeps it) saying part. */
static void
add_refused(struct rev_store *st, X509_CRL *c, const char *origin,
    const char *part)
{
	char *cause = NULL;

	assert_int_equal(rev_store_add(st, c, REV_SRC_CLI, origin, p.trust,
	    &cause), -1);
	if (strstr(cause, part) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, part);
	free(cause);
	X509_CRL_free(c);
}

/* Base and delta: kept together, BaseCRLNumber, removeFromCRL. */
static void
test_base_and_delta(void **state)
{
	struct rev_store *st = rev_store_new();
	struct entry base[] = { { 101, 6, NULL, 0 }, { 7, 1, NULL, 0 } };
	struct entry d1[] = { { 101, 8, NULL, 0 }, { 100, 1, NULL, 0 } };

	(void)state;
	add_ok(st, crl_ex(p.ca, p.cakey, base, 2, 10, -1, NULL, 0), "base");
	assert_int_equal(look_has(st, p.leaf_bad, "reason certificateHold"),
	    REV_CRL_REVOKED);
	/* A delta on a base this store does not hold: not applied. */
	add_ok(st, crl_ex(p.ca, p.cakey, d1, 2, 12, 11, NULL, 0), "d-future");
	assert_int_equal(rev_store_count(st), 2);
	assert_int_equal(look_has(st, p.leaf_ok, "applies to complete CRL 11 "
	    "or newer (BaseCRLNumber) and the complete CRL held is 10"),
	    REV_CRL_GOOD);
	assert_int_equal(look_has(st, p.leaf_bad, "certificateHold"),
	    REV_CRL_REVOKED);
	/* A fitting delta (same scope as d-future: it replaces it). */
	add_ok(st, crl_ex(p.ca, p.cakey, d1, 2, 13, 10, NULL, 0), "d-ok");
	assert_int_equal(rev_store_count(st), 2);
	assert_int_equal(look_has(st, p.leaf_bad, "nor in its delta CRL 13"),
	    REV_CRL_GOOD);
	assert_int_equal(look_has(st, p.leaf_ok, "revoked by the delta CRL"),
	    REV_CRL_REVOKED);
	/* A newer complete CRL (number 14): the delta 13 is older, unused. */
	add_ok(st, crl_ex(p.ca, p.cakey, base, 1, 14, -1, NULL, 0), "base2");
	assert_int_equal(look_has(st, p.leaf_bad, "certificateHold"),
	    REV_CRL_REVOKED);
	assert_int_equal(look_has(st, p.leaf_ok, "not in the CRL"),
	    REV_CRL_GOOD);
	rev_store_free(st);
}

/* Critical extensions, cRLNumber rules. */
static void
test_critical_extensions(void **state)
{
	struct rev_store *st = rev_store_new();
	struct entry crit[] = { { 5, -1, NULL, 1 } };
	struct entry bad[] = { { 101, 1, NULL, 0 } };
	X509_CRL *c;
	ASN1_INTEGER *num = ASN1_INTEGER_new();

	(void)state;
	/* Forged (another key): refused for that, not named as unusable. */
	add_refused(st, crl_ex(p.ca, p.otherkey, bad, 1, 1, -1, NULL, 1),
	    "forged", "signature does not verify");
	add_ok(st, crl_ex(p.ca, p.cakey, bad, 1, 1, -1, NULL, 1), "crl-ext");
	assert_int_equal(look_has(st, p.leaf_bad, "no usable CRL of /CN=Test "
	    "CA: CRL 1 of /CN=Test CA (file, crl-ext) not used: it has a "
	    "critical extension sipedge does not process "
	    "(1.3.6.1.4.1.55555.1"), REV_CRL_UNKNOWN);
	rev_store_free(st);
	st = rev_store_new();
	add_refused(st, crl_ex(p.ca, p.cakey, crit, 1, 1, -1, NULL, 0),
	    "entry", "an entry has a critical extension");
	assert_int_equal(look_has(st, p.leaf_ok, "an entry has a critical "
	    "extension sipedge does not process (1.3.6.1.4.1.55555.2"),
	    REV_CRL_UNKNOWN);
	rev_store_free(st);
	/* cRLNumber critical. */
	st = rev_store_new();
	c = crl_ex(p.ca, p.cakey, NULL, 0, -1, -1, NULL, 0);
	ASN1_INTEGER_set(num, 3);
	X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 1, 0);
	assert_true(X509_CRL_sign(c, p.cakey, EVP_sha256()) > 0);
	add_ok(st, c, "numcrit");
	assert_int_equal(look_has(st, p.leaf_ok, "cRLNumber extension is "
	    "marked critical"), REV_CRL_UNKNOWN);
	rev_store_free(st);
	/* A delta without cRLNumber. */
	st = rev_store_new();
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 1, -1, NULL, 0), "base");
	add_ok(st, crl_ex(p.ca, p.cakey, bad, 1, -1, 1, NULL, 0), "d");
	assert_int_equal(look_has(st, p.leaf_bad, "delta CRL without a "
	    "cRLNumber"), REV_CRL_GOOD);
	ASN1_INTEGER_free(num);
	rev_store_free(st);
}

/* issuingDistributionPoint: points, kinds, reasons, coexistence. */
static void
test_idp_scope(void **state)
{
	struct rev_store *st = rev_store_new();
	struct entry e200[] = { { 200, 4, NULL, 0 } };
	X509 *a = leaf_dp(200, "http://x/a.crl", NULL, 0);
	X509 *b = leaf_dp(201, "http://x/b.crl", NULL, 0);
	X509 *ca = leaf_dp(202, "http://x/a.crl", NULL, 1);
	X509 *akey = leaf_dp_r(203, "http://x/a.crl", NULL, 0, 0x2);
	ISSUING_DIST_POINT *ia = idp_new("http://x/a.crl", 0, 0, 0, 0);
	ISSUING_DIST_POINT *ib = idp_new("http://x/b.crl", 0, 0, 0, 0);
	ISSUING_DIST_POINT *user = idp_new("http://x/a.crl", 1, 0, 0, 0);
	ISSUING_DIST_POINT *cas = idp_new(NULL, 0, 1, 0, 0);
	ISSUING_DIST_POINT *k = idp_new(NULL, 0, 0, 0, 0x2 | 0x4);
	ISSUING_DIST_POINT *rest = idp_new(NULL, 0, 0, 0, 0x1f8);

	(void)state;
	/* Two points: both CRLs kept; each leaf by its own. */
	add_ok(st, crl_ex(p.ca, p.cakey, e200, 1, 5, -1, ia, 0), "a");
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 6, -1, ib, 0), "b");
	assert_int_equal(rev_store_count(st), 2);
	assert_int_equal(look_has(st, a, "(file, a)"), REV_CRL_REVOKED);
	assert_int_equal(look_has(st, b, "not in the CRL of /CN=Test CA "
	    "(file, b); CRL 5 of /CN=Test CA (file, a) not used: its "
	    "issuingDistributionPoint (http://x/a.crl) is not among the "
	    "certificate's CRL distribution points"), REV_CRL_GOOD);
	/* Neither point is named by a leaf without CDP. */
	assert_int_equal(look_has(st, p.leaf_ok, "which has no CRL "
	    "distribution point"), REV_CRL_UNKNOWN);
	rev_store_free(st);
	/* User-only and CA-only. */
	st = rev_store_new();
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 1, -1, user, 0), "user");
	assert_int_equal(look_has(st, a, NULL), REV_CRL_GOOD);
	assert_int_equal(look_has(st, ca, "onlyContainsUserCerts) and this is "
	    "a CA certificate"), REV_CRL_UNKNOWN);
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 1, -1, cas, 0), "cas");
	assert_int_equal(look_has(st, ca, "(file, cas)"), REV_CRL_GOOD);
	assert_int_equal(look_has(st, p.leaf_ok, "onlyContainsCACerts"),
	    REV_CRL_UNKNOWN);
	rev_store_free(st);
	/* Reason partitions. */
	st = rev_store_new();
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 1, -1, k, 0), "key");
	assert_int_equal(look_has(st, p.leaf_ok, "not covered: "
	    "affiliationChanged, superseded, cessationOfOperation, "
	    "certificateHold, privilegeWithdrawn, aACompromise"),
	    REV_CRL_UNKNOWN);
	add_ok(st, crl_ex(p.ca, p.cakey, e200, 1, 1, -1, rest, 0), "rest");
	assert_int_equal(look_has(st, p.leaf_ok, "nor in the other CRLs"),
	    REV_CRL_GOOD);
	assert_int_equal(look_has(st, a, "(file, rest)"), REV_CRL_REVOKED);
	rev_store_free(st);
	/*
	 * The certificate's DP names keyCompromise only: its CRL covers only
	 * that for it (s.6.3.3 d); a complete CRL of the issuer does the rest.
	 */
	st = rev_store_new();
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 1, -1, ia, 0), "a");
	assert_int_equal(look_has(st, akey, "not covered: cACompromise, "
	    "affiliationChanged"), REV_CRL_UNKNOWN);
	assert_int_equal(look_has(st, a, NULL), REV_CRL_GOOD);
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 2, -1, NULL, 0), "all");
	assert_int_equal(look_has(st, akey, NULL), REV_CRL_GOOD);
	rev_store_free(st);
	X509_free(akey);
	ISSUING_DIST_POINT_free(ia);
	ISSUING_DIST_POINT_free(ib);
	ISSUING_DIST_POINT_free(user);
	ISSUING_DIST_POINT_free(cas);
	ISSUING_DIST_POINT_free(k);
	ISSUING_DIST_POINT_free(rest);
	X509_free(a);
	X509_free(b);
	X509_free(ca);
}

/*
 * An indirect CRL: signed by a separate CRL issuer named in the leaf's
 * distribution point (cRLIssuer); its entries belong to the issuer of
 * the certificateIssuer before them.
 */
static void
test_indirect(void **state)
{
	struct rev_store *st = rev_store_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *signer = cert("CRL Signer", 9, k, NULL, k, "critical,cRLSign");
	STACK_OF(X509) *iss = sk_X509_dup(p.trust);
	X509_NAME *sn = X509_get_subject_name(signer);
	X509_NAME *can = X509_get_subject_name(p.ca);
	struct entry ents[] = {
		{ 300, 1, NULL, 0 },		/* the signer's own */
		{ 301, 1, can, 0 },		/* Test CA's from here on */
		{ 302, 1, NULL, 0 },
		{ 303, 1, sn, 0 },		/* the signer's again */
	};
	ISSUING_DIST_POINT *ind = idp_new(NULL, 0, 0, 1, 0);
	X509 *l300 = leaf_dp(300, NULL, sn, 0);
	X509 *l301 = leaf_dp(301, NULL, sn, 0);
	X509 *l302 = leaf_dp(302, NULL, sn, 0);
	X509 *l303 = leaf_dp(303, NULL, sn, 0);
	X509 *l302nodp = cert("x", 302, p.leafkey, p.ca, p.cakey, NULL);
	X509_CRL *c;
	char *cause = NULL;

	(void)state;
	sk_X509_push(iss, signer);
	c = crl_ex(signer, k, ents, 4, 1, -1, ind, 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_CLI, "ind", iss, &cause),
	    0);
	assert_int_equal(look_has(st, l301, "revoked by the CRL of /CN=CRL "
	    "Signer"), REV_CRL_REVOKED);
	assert_int_equal(look_has(st, l302, NULL), REV_CRL_REVOKED);
	assert_int_equal(look_has(st, l300, "not in the CRL of /CN=CRL "
	    "Signer"), REV_CRL_GOOD);
	assert_int_equal(look_has(st, l303, NULL), REV_CRL_GOOD);
	/*
	 * With the signers known (the daemon's and check's lookups): a
	 * self-signed CRL issuer that leads to no anchor of the leaf does
	 * not speak for it; one the CA issued does.
	 */
	{
		struct rev_signers sg;
		struct rev_crl_answer a;
		X509_STORE *ts = X509_STORE_new();
		EVP_PKEY *k2 = EVP_EC_gen("P-256");
		X509 *signer2 = cert("CRL Signer", 10, k2, p.ca, p.cakey,
		    "critical,cRLSign");
		STACK_OF(X509) *chain = sk_X509_new_null();

		X509_STORE_add_cert(ts, p.ca);
		sg.trust = ts;
		sg.chain = chain;
		sg.anchor = p.ca;
		rev_store_lookup_signers(st, l301, p.ca, &sg, now, &a);
		assert_int_equal(a.status, REV_CRL_UNKNOWN);
		assert_non_null(strstr(a.detail, "its signer's certificate "
		    "does not lead to the certificate's trust anchor"));
		free(a.detail);
		rev_store_free(st);
		st = rev_store_new();
		c = crl_ex(signer2, k2, ents, 4, 1, -1, ind, 0);
		/* Not among the issuers: kept until a lookup finds it. */
		assert_int_equal(rev_store_add(st, c, REV_SRC_CLI, "ind2",
		    p.trust, &cause), 0);
		rev_store_lookup_signers(st, l301, p.ca, &sg, now, &a);
		assert_int_equal(a.status, REV_CRL_UNKNOWN);
		assert_non_null(strstr(a.detail, "no certificate of its issuer "
		    "that verifies it"));
		free(a.detail);
		sk_X509_push(chain, signer2);	/* the peer sent it */
		rev_store_lookup_signers(st, l301, p.ca, &sg, now, &a);
		assert_int_equal(a.status, REV_CRL_REVOKED);
		free(a.detail);
		sk_X509_free(chain);
		X509_STORE_free(ts);
		X509_free(signer2);
		EVP_PKEY_free(k2);
	}
	/* Without cRLIssuer in its DP the leaf is not covered by it. */
	assert_int_equal(look_has(st, l302nodp, "no CRL of /CN=Test CA"),
	    REV_CRL_NONE);
	/* certificateIssuer in a CRL that is not indirect: unusable. */
	rev_store_free(st);
	st = rev_store_new();
	add_refused(st, crl_ex(p.ca, p.cakey, ents + 1, 2, 1, -1, NULL, 0),
	    "d", "not indirect");
	assert_int_equal(look_has(st, p.leaf_ok, "certificateIssuer) but the "
	    "CRL is not indirect"), REV_CRL_UNKNOWN);
	rev_store_free(st);
	ISSUING_DIST_POINT_free(ind);
	X509_free(l300);
	X509_free(l301);
	X509_free(l302);
	X509_free(l303);
	X509_free(l302nodp);
	sk_X509_free(iss);
	X509_free(signer);
	EVP_PKEY_free(k);
}

/*
 * A CA's key rollover: a CRL of Test CA signed by its new key, whose
 * authorityKeyIdentifier names that key.  Added with only the old CA
 * known it is kept unverified; a lookup with the new-with-old certificate
 * in the peer's chain verifies and uses it; without it, it is refused
 * and named.
 */
static void
test_rollover_pending(void **state)
{
	struct rev_store *st = rev_store_new();
	EVP_PKEY *k2 = EVP_EC_gen("P-256");
	X509 *newold = cert("Test CA", 20, k2, p.ca, p.cakey,
	    "critical,keyCertSign,cRLSign");
	struct entry ents[] = { { 101, 1, NULL, 0 } };
	X509_STORE *ts = X509_STORE_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
	struct rev_signers sg;
	struct rev_crl_answer a;
	X509_CRL *c;
	char *cause = NULL;

	(void)state;
	/* Self-issued, not self-signed: its AKI names the old CA. */
	ext(newold, newold, NID_subject_key_identifier, "hash");
	ext(newold, p.ca, NID_authority_key_identifier, "issuer:always");
	assert_true(X509_sign(newold, p.cakey, EVP_sha256()) > 0);
	c = crl_ex(p.ca, k2, ents, 1, 3, -1, NULL, 0);
	ak->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(newold));
	X509_CRL_add1_ext_i2d(c, NID_authority_key_identifier, ak, 0, 0);
	assert_true(X509_CRL_sign(c, k2, EVP_sha256()) > 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "new-key.crl",
	    p.trust, &cause), 0);
	X509_STORE_add_cert(ts, p.ca);
	sg.trust = ts;
	sg.chain = chain;
	sg.anchor = p.ca;
	sk_X509_push(chain, newold);
	rev_store_lookup_signers(st, p.leaf_bad, p.ca, &sg, now, &a);
	assert_int_equal(a.status, REV_CRL_REVOKED);
	free(a.detail);
	rev_store_lookup_signers(st, p.leaf_ok, p.ca, &sg, now, &a);
	assert_int_equal(a.status, REV_CRL_GOOD);
	free(a.detail);
	/* The same CRL, the new key's certificate never seen. */
	rev_store_free(st);
	st = rev_store_new();
	c = crl_ex(p.ca, k2, ents, 1, 3, -1, NULL, 0);
	X509_CRL_add1_ext_i2d(c, NID_authority_key_identifier, ak, 0, 0);
	assert_true(X509_CRL_sign(c, k2, EVP_sha256()) > 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "new-key.crl",
	    p.trust, &cause), 0);
	(void)sk_X509_pop(chain);
	rev_store_lookup_signers(st, p.leaf_bad, p.ca, &sg, now, &a);
	assert_int_equal(a.status, REV_CRL_UNKNOWN);
	assert_non_null(strstr(a.detail, "not used: its signature does not "
	    "verify with the key of /CN=Test CA, nor with any other "
	    "certificate of that name with cRLSign that leads to the same "
	    "trust anchor"));
	free(a.detail);
	AUTHORITY_KEYID_free(ak);
	sk_X509_free(chain);
	X509_STORE_free(ts);
	X509_free(newold);
	EVP_PKEY_free(k2);
	rev_store_free(st);
}

/*
 * The CRL signer's own status (RFC 5280 s.6.3.3 f): the new-with-old
 * certificate of a rollover, revoked by the old key's CRL of CA
 * certificates, may not vouch for the CRL of the new key, which is then
 * named with the signer's revocation; one level only (the old key's CRL
 * is taken as it is).
 */
static void
test_signer_revoked(void **state)
{
	struct rev_store *st = rev_store_new();
	EVP_PKEY *k2 = EVP_EC_gen("P-256");
	X509 *newold = cert("Test CA", 20, k2, p.ca, p.cakey,
	    "critical,keyCertSign,cRLSign");
	struct entry ents[] = { { 101, 1, NULL, 0 } };
	struct entry sig_ents[] = { { 20, 1, NULL, 0 } };
	struct entry none[] = { { 21, 1, NULL, 0 } };
	ISSUING_DIST_POINT *cas = idp_new(NULL, 0, 1, 0, 0);
	X509_STORE *ts = X509_STORE_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
	struct rev_signers sg;
	struct rev_crl_answer a;
	X509_CRL *c;
	char *cause = NULL;
	int round;

	(void)state;
	ext(newold, newold, NID_subject_key_identifier, "hash");
	ext(newold, p.ca, NID_authority_key_identifier, "issuer:always");
	assert_true(X509_sign(newold, p.cakey, EVP_sha256()) > 0);
	ak->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(newold));
	X509_STORE_add_cert(ts, p.ca);
	sg.trust = ts;
	sg.chain = chain;
	sg.anchor = p.ca;
	sk_X509_push(chain, newold);
	for (round = 0; round < 2; round++) {
		/* Round 0: the old key's CRL of CAs lists another serial;
		 * round 1: it lists the new-with-old certificate. */
		c = crl_ex(p.ca, k2, ents, 1, 3, -1, NULL, 0);
		X509_CRL_add1_ext_i2d(c, NID_authority_key_identifier, ak, 0,
		    0);
		assert_true(X509_CRL_sign(c, k2, EVP_sha256()) > 0);
		assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL,
		    "new-key.crl", p.trust, &cause), 0);
		add_ok(st, crl_ex(p.ca, p.cakey, round ? sig_ents : none, 1,
		    round ? 8 : 7, -1, cas, 0), "cas.crl");
		rev_store_lookup_signers(st, p.leaf_bad, p.ca, &sg, now, &a);
		if (round == 0) {
			assert_int_equal(a.status, REV_CRL_REVOKED);
		} else {
			assert_int_equal(a.status, REV_CRL_UNKNOWN);
			if (strstr(a.detail, "CRL 3 of /CN=Test CA (manual, "
			    "new-key.crl) not used: its signer's certificate "
			    "/CN=Test CA (serial 14) is revoked: revoked by "
			    "the CRL of /CN=Test CA (file, cas.crl)") == NULL ||
			    strstr(a.detail, "reason keyCompromise") == NULL)
				fail_msg("detail: %s", a.detail);
		}
		free(a.detail);
		/* Not refused for good: the same answer again. */
		rev_store_lookup_signers(st, p.leaf_ok, p.ca, &sg, now, &a);
		assert_int_equal(a.status, round ? REV_CRL_UNKNOWN :
		    REV_CRL_GOOD);
		free(a.detail);
		rev_store_free(st);
		st = rev_store_new();
	}
	rev_store_free(st);
	ISSUING_DIST_POINT_free(cas);
	AUTHORITY_KEYID_free(ak);
	sk_X509_free(chain);
	X509_STORE_free(ts);
	X509_free(newold);
	EVP_PKEY_free(k2);
}

/*
 * freshestCRL in a complete CRL (RFC 5280 s.5.2.6): a good answer by it
 * carries the URL, for the engine to fetch the delta; not once a delta
 * was applied, and not a URL that is not http(s).
 */
static void
test_crl_freshest(void **state)
{
	struct rev_store *st = rev_store_new();
	X509_CRL *c;
	X509_EXTENSION *x;
	struct rev_crl_answer a;
	const char *urls[] = { "URI:http://d.example/delta.crl",
	    "URI:ldap://d.example/cn=x" };
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		c = crl_ex(p.ca, p.cakey, NULL, 0, 5, -1, NULL, 0);
		x = X509V3_EXT_nconf_nid(NULL, NULL, NID_freshest_crl,
		    urls[k]);
		assert_non_null(x);
		X509_CRL_add_ext(c, x, -1);
		X509_EXTENSION_free(x);
		assert_true(X509_CRL_sign(c, p.cakey, EVP_sha256()) > 0);
		add_ok(st, c, "complete");
		rev_store_lookup(st, p.leaf_ok, p.ca, now, &a);
		assert_int_equal(a.status, REV_CRL_GOOD);
		assert_string_equal(a.fresh_url, k == 0 ?
		    "http://d.example/delta.crl" : "");
		free(a.detail);
	}
	/* With a delta applied, nothing to fetch. */
	add_ok(st, crl_ex(p.ca, p.cakey, NULL, 0, 6, 5, NULL, 0), "delta");
	rev_store_lookup(st, p.leaf_ok, p.ca, now, &a);
	assert_int_equal(a.status, REV_CRL_GOOD);
	assert_int_equal(a.delta_used, 1);
	assert_string_equal(a.fresh_url, "");
	free(a.detail);
	rev_store_free(st);
}

static void
walk_cb(const struct rev_crl_info *i, void *arg)
{
	assert_string_equal(i->issuer, "/CN=Test CA");
	assert_int_equal(i->entries, 3000);
	assert_true(i->verified);
	(*(int *)arg)++;
}

static void
test_many_entries(void **state)
{
	struct rev_store *st = rev_store_new();
	long *serials = calloc(3000, sizeof *serials);
	char *cause = NULL;
	int i, calls = 0;

	(void)state;
	for (i = 0; i < 3000; i++)	/* not in order: the index sorts */
		serials[i] = (i * 7919L) % 100003 + 200;
	serials[1500] = 101;
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, serials, 3000, 7,
	    1, 0), REV_SRC_MANUAL, "big", p.trust, &cause), 0);
	assert_int_equal(look(st, p.leaf_bad, p.ca, NULL), REV_CRL_REVOKED);
	assert_int_equal(look(st, p.leaf_ok, p.ca, NULL), REV_CRL_GOOD);
	rev_store_walk(st, walk_cb, &calls);
	assert_int_equal(calls, 1);
	free(serials);
	rev_store_free(st);
}

/*
 * Serials of every length the index keeps in two parts (the first 8 bytes
 * in the record, the rest beside it), listed out of order with a negative
 * one; revocation dates across the UTCTime/GeneralizedTime range.
 */
static void
test_long_serials(void **state)
{
	static const struct {
		unsigned char	 b[20];
		int		 len;
		const char	*when;	/* UTCTime or GeneralizedTime */
		long long	 epoch;
	} listed[] = {
		{ { 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		    16, 17, 18, 19 }, 20, "20600301000000Z", 2845324800LL },
		{ { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 2, 3,
		    4, 5, 6, 7, 0x12 }, 16, "000229120000Z", 951825600LL },
		{ { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 2, 3,
		    4, 5, 6, 7, 0x10 }, 16, "230405060708Z", 1680674828LL },
		{ { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 9 }, 9,
		    "991231235959Z", 946684799LL },
		{ { 0x01, 0x00, 0x01 }, 3, "230405060708Z", 1680674828LL },
	};
	static const struct {
		unsigned char	 b[16];
		int		 len;
	} unlisted[] = {
		{ { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 2, 3,
		    4, 5, 6, 7, 0x11 }, 16 },	/* between two listed */
		{ { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 }, 8 },
		{ { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 8 }, 9 },
		{ { 0x01, 0x00, 0x02 }, 3 },
		{ { 0x05 }, 1 },	/* -5 is listed, not 5 */
	};
	const size_t nl = sizeof listed / sizeof listed[0];
	const size_t nu = sizeof unlisted / sizeof unlisted[0];
	struct rev_store *st = rev_store_new();
	X509_CRL *c = X509_CRL_new();
	X509 *probe = X509_dup(p.leaf_ok);
	ASN1_INTEGER *sn = X509_get_serialNumber(probe);
	ASN1_TIME *t = ASN1_TIME_set(NULL, now - 3600);
	struct rev_crl_answer a;
	X509_REVOKED *r;
	char *cause = NULL;
	size_t i;

	(void)state;
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(p.ca));
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, now + 86400);
	X509_CRL_set1_nextUpdate(c, t);
	for (i = 0; i <= nl; i++) {
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		r = X509_REVOKED_new();
		if (i < nl) {
			assert_int_equal(ASN1_STRING_set(s, listed[i].b,
			    listed[i].len), 1);
			assert_int_equal(ASN1_TIME_set_string(t,
			    listed[i].when), 1);
		} else
			ASN1_INTEGER_set(s, -5);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_TIME_free(t);
	assert_true(X509_CRL_sign(c, p.cakey, EVP_sha256()) > 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "long", p.trust,
	    &cause), 0);
	for (i = 0; i < nl; i++) {
		ASN1_STRING_set(sn, listed[i].b, listed[i].len);
		rev_store_lookup(st, probe, p.ca, now, &a);
		free(a.detail);
		assert_int_equal(a.status, REV_CRL_REVOKED);
		assert_true((long long)a.revoked_at == listed[i].epoch);
	}
	for (i = 0; i < nu; i++) {
		ASN1_STRING_set(sn, unlisted[i].b, unlisted[i].len);
		assert_int_equal(look(st, probe, p.ca, NULL), REV_CRL_GOOD);
	}
	ASN1_INTEGER_set(sn, -5);	/* last: the type stays negative */
	assert_int_equal(look(st, probe, p.ca, NULL), REV_CRL_REVOKED);
	X509_free(probe);
	rev_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoked_and_good),
		cmocka_unit_test(test_expired_crl),
		cmocka_unit_test(test_bad_signature_and_usage),
		cmocka_unit_test(test_pending_until_issuer_seen),
		cmocka_unit_test(test_newer_replaces_older),
		cmocka_unit_test(test_delta_alone),
		cmocka_unit_test(test_base_and_delta),
		cmocka_unit_test(test_critical_extensions),
		cmocka_unit_test(test_idp_scope),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_rollover_pending),
		cmocka_unit_test(test_signer_revoked),
		cmocka_unit_test(test_crl_freshest),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_long_serials),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
