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
	/* Signed by the wrong key: refused at add, with the reason. */
	c = crl(p.ca, p.otherkey, NULL, 0, 7, 1, 0);
	assert_int_equal(rev_store_add(st, c, REV_SRC_MANUAL, "m.crl", p.trust,
	    &cause), -1);
	assert_non_null(strstr(cause, "signature does not verify"));
	free(cause);
	X509_CRL_free(c);
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
	assert_int_equal(look(st, p.leaf_bad, p.ca, &d), REV_CRL_NONE);
	assert_non_null(strstr(d, "ignored: its signature does not verify"));
	free(d);
	assert_int_equal(rev_store_count(st), 0);
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
	assert_non_null(strstr(cause, "older than the one already held"));
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
test_delta_unsupported(void **state)
{
	struct rev_store *st = rev_store_new();
	char *cause = NULL, *d;

	(void)state;
	assert_int_equal(rev_store_add(st, crl(p.ca, p.cakey, NULL, 0, 7, 2,
	    1), REV_SRC_DP, "delta", p.trust, &cause), 0);
	assert_int_equal(look(st, p.leaf_ok, p.ca, &d), REV_CRL_UNSUPPORTED);
	assert_non_null(strstr(d, "delta CRL"));
	free(d);
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
		cmocka_unit_test(test_delta_unsupported),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_long_serials),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
