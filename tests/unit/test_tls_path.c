/*
 * test_tls_path.c: the path rules and the path search of tls_path.c, rule
 * by rule.  Certificates are built in memory with OpenSSL from extension
 * strings as openssl.cnf would hold them, at fixed times, so every case is
 * exactly the one its name says.  And the reuse of a verified path for a
 * resumed TLS session (tls_peer_reuse): the same answer as a full
 * verification, or none.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls/tls_path.h"
#include "tls/tls_peer.h"

#define T0	((time_t)1800000000)	/* 2027-01-15T08:00:00Z */
#define DAY	86400L

#define ROOT_EXT "basicConstraints=critical,CA:TRUE", \
	"keyUsage=critical,keyCertSign,cRLSign", "subjectKeyIdentifier=hash"
#define CA_EXT ROOT_EXT, "authorityKeyIdentifier=keyid"
#define LEAF_EXT "basicConstraints=critical,CA:FALSE", \
	"keyUsage=critical,digitalSignature", \
	"extendedKeyUsage=serverAuth,clientAuth", "subjectKeyIdentifier=hash", \
	"authorityKeyIdentifier=keyid"
#define SAN "subjectAltName=DNS:sip.example.com"
#define EXTS(...) ((const char *[]){ __VA_ARGS__, NULL })

static EVP_PKEY *k[6];
static int serial = 1;
static int leaf_dates_judged;	/* passed to tls_path_build by build() */

static int
setup(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		if ((k[i] = EVP_EC_gen("P-256")) == NULL)
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		EVP_PKEY_free(k[i]);
	return 0;
}

/*
 * A certificate for subj ("" for an empty subject) with key key, valid
 * from T0 + nb to T0 + na, with the extensions exts ("name=value"),
 * issued by iss with ikey, or self-signed when iss is NULL.
 */
static X509 *
mk(const char *subj, X509 *iss, EVP_PKEY *ikey, EVP_PKEY *key, long nb,
    long na, const char **exts)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	size_t i;

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), T0 + nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), T0 + na));
	if (*subj != '\0')
		assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN",
		    MBSTRING_ASC, (const unsigned char *)subj, -1, -1, 0), 1);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, iss != NULL ? X509_get_subject_name(iss) : n);
	X509_NAME_free(n);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, iss != NULL ? iss : x, x, NULL, NULL, 0);
	for (i = 0; exts[i] != NULL; i++) {
		char *name = strdup(exts[i]), *eq = strchr(name, '=');
		X509_EXTENSION *e;

		assert_non_null(eq);
		*eq = '\0';
		e = X509V3_EXT_nconf(NULL, &v3, name, eq + 1);
		if (e == NULL)
			fail_msg("extension %s does not build", exts[i]);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		free(name);
	}
	assert_true(X509_sign(x, iss != NULL ? ikey : key, EVP_sha256()) > 0);
	return x;
}

/* The problem tls_path_cert_problem finds (NULL: none), for asserts. */
static char *
problem(X509 *x, int depth, int npath, time_t now, int purpose)
{
	return tls_path_cert_problem(x, depth, npath, now, purpose, 2048);
}

static void
assert_problem(X509 *x, int depth, int npath, const char *want)
{
	char *why = problem(x, depth, npath, T0 + DAY, 0);

	if (want == NULL) {
		if (why != NULL)
			fail_msg("unexpected problem: %s", why);
		return;
	}
	if (why == NULL || strstr(why, want) == NULL)
		fail_msg("wanted \"%s\", got \"%s\"", want,
		    why != NULL ? why : "(none)");
	free(why);
}

/* tls_path_build on leaf + untrusted (NULL-terminated) against trusted. */
static int
build(X509 *leaf, X509 **untrusted, X509 **trusted, int purpose,
    STACK_OF(X509) **path, char **reason, struct tls_path_stats *st)
{
	struct tls_path_params p;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	int i, ok;

	sk_X509_push(chain, leaf);
	for (i = 0; untrusted != NULL && untrusted[i] != NULL; i++)
		sk_X509_push(chain, untrusted[i]);
	for (i = 0; trusted != NULL && trusted[i] != NULL; i++)
		X509_STORE_add_cert(store, trusted[i]);
	memset(&p, 0, sizeof p);
	p.trust = store;
	p.now = T0 + DAY;
	p.purpose = purpose;
	p.auth_level = 1;
	p.leaf_dates_judged = leaf_dates_judged;
	ok = tls_path_build(chain, &p, path, reason, st);
	sk_X509_free(chain);
	X509_STORE_free(store);
	return ok;
}

static void
test_dns_syntax(void **state)
{
	static const struct {
		const char	*s;
		int		 san, nc;
	} t[] = {
		{ "sip.example.com", 1, 1 },
		{ "a", 1, 1 },
		{ "0day.example", 1, 1 },
		{ "xn--bcher-kva.example", 1, 1 },
		{ "A-B.Example.COM", 1, 1 },
		{ "sip_1.example.com", 0, 0 },
		{ "-a.example", 0, 0 },
		{ "a-.example", 0, 0 },
		{ "a..example", 0, 0 },
		{ ".example.com", 0, 1 },
		{ "..example.com", 0, 0 },
		{ "example.com.", 0, 0 },
		{ "", 0, 0 },
		{ " ", 0, 0 },
		{ ".", 0, 0 },
		{ "*.example.com", 1, 0 },
		{ "*", 0, 0 },
		{ "a.*.example", 0, 0 },
		{ "f*.example", 0, 0 },
		{ "a b.example", 0, 0 },
		{ "caf\xc3\xa9.example", 0, 0 },
		{ "192.0.2.1", 0, 0 },
		{ "host.123", 0, 0 },
	};
	char big[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (tls_path_dns_ok((const unsigned char *)t[i].s,
		    strlen(t[i].s), TLS_PATH_DNS_SAN) != t[i].san)
			fail_msg("SAN '%s': wanted %d", t[i].s, t[i].san);
		if (tls_path_dns_ok((const unsigned char *)t[i].s,
		    strlen(t[i].s), TLS_PATH_DNS_CONSTRAINT) != t[i].nc)
			fail_msg("constraint '%s': wanted %d", t[i].s, t[i].nc);
	}
	/* Embedded NUL, a 63 and a 64 byte label, 253 and 254 in all. */
	assert_int_equal(tls_path_dns_ok((const unsigned char *)"a\0b", 3,
	    TLS_PATH_DNS_SAN), 0);
	memset(big, 'a', 64);
	assert_int_equal(tls_path_dns_ok((unsigned char *)big, 63,
	    TLS_PATH_DNS_SAN), 1);
	assert_int_equal(tls_path_dns_ok((unsigned char *)big, 64,
	    TLS_PATH_DNS_SAN), 0);
	for (i = 0; i < sizeof big; i++)
		big[i] = i % 2 == 0 ? 'a' : '.';
	assert_int_equal(tls_path_dns_ok((unsigned char *)big, 253,
	    TLS_PATH_DNS_SAN), 1);
	assert_int_equal(tls_path_dns_ok((unsigned char *)big, 255,
	    TLS_PATH_DNS_SAN), 0);
}

static void
test_validity_inclusive(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *x = mk("leaf", r, k[0], k[1], 0, 100, EXTS(LEAF_EXT, SAN));
	char *why;

	(void)state;
	assert_null(problem(x, 0, 2, T0, 0));
	assert_null(problem(x, 0, 2, T0 + 100, 0));
	why = problem(x, 0, 2, T0 + 101, 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "certificate 'CN=leaf' (depth 0) has "
	    "expired: its notAfter is 2027-01-15T08:01:40Z, the check time "
	    "2027-01-15T08:01:41Z"));
	free(why);
	why = problem(x, 0, 2, T0 - 1, 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "is not valid yet: its notBefore is "
	    "2027-01-15T08:00:00Z"));
	free(why);
	X509_free(x);
	X509_free(r);
}

static void
test_structure_rules(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *x;

	(void)state;
	assert_problem(r, 1, 2, NULL);
	x = mk("leaf", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN));
	assert_problem(x, 0, 2, NULL);
	X509_free(x);

	/* s.4.2.1.2: a CA without subjectKeyIdentifier. */
	x = mk("No SKID", NULL, NULL, k[2], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:TRUE",
	    "keyUsage=critical,keyCertSign"));
	assert_problem(x, 1, 2, "certificate 'CN=No SKID' (depth 1) is a CA "
	    "certificate without subjectKeyIdentifier");
	X509_free(x);
	/* s.4.2.1.1: not self-signed and no authorityKeyIdentifier, or one
	 * without a key identifier. */
	x = mk("no akid", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:FALSE",
	    "keyUsage=critical,digitalSignature", SAN));
	assert_problem(x, 0, 2, "(depth 0) is not self-signed and has no "
	    "authorityKeyIdentifier");
	assert_problem(x, 0, 1, NULL);	/* a trusted leaf alone: an anchor */
	X509_free(x);
	x = mk("issuer akid", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:FALSE",
	    "authorityKeyIdentifier=issuer:always", SAN));
	assert_problem(x, 0, 2, "has no authorityKeyIdentifier with a key "
	    "identifier");
	X509_free(x);
	/* s.4.2.1.9: a CA without basicConstraints, non-critical, cA FALSE. */
	x = mk("No BC", NULL, NULL, k[2], -DAY, 30 * DAY,
	    EXTS("keyUsage=critical,keyCertSign", "subjectKeyIdentifier=hash"));
	assert_problem(x, 1, 2, "issued the certificate at depth 0 but has "
	    "no basicConstraints");
	X509_free(x);
	x = mk("Plain BC", NULL, NULL, k[2], -DAY, 30 * DAY,
	    EXTS("basicConstraints=CA:TRUE", "keyUsage=critical,keyCertSign",
	    "subjectKeyIdentifier=hash"));
	assert_problem(x, 1, 2, "basicConstraints is not marked critical");
	assert_problem(x, 2, 3, "basicConstraints is not marked critical");
	X509_free(x);
	x = mk("Not CA", r, k[0], k[2], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN));
	assert_problem(x, 1, 3, "but its basicConstraints says it is not a "
	    "CA");
	X509_free(x);
	/* s.4.2.1.3: keyCertSign without cA; a CA without it; no keyUsage. */
	x = mk("kcs leaf", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:FALSE",
	    "keyUsage=critical,digitalSignature,keyCertSign",
	    "authorityKeyIdentifier=keyid", SAN));
	assert_problem(x, 0, 2, "asserts keyCertSign in its key usage but is "
	    "not a CA");
	X509_free(x);
	x = mk("kcs nobc", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("keyUsage=critical,digitalSignature,keyCertSign",
	    "authorityKeyIdentifier=keyid", SAN));
	assert_problem(x, 0, 2, "asserts keyCertSign");
	X509_free(x);
	x = mk("CRL only CA", r, k[0], k[2], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:TRUE", "keyUsage=critical,cRLSign",
	    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"));
	assert_problem(x, 1, 3, "key usage lacks keyCertSign");
	X509_free(x);
	x = mk("No KU CA", r, k[0], k[2], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:TRUE",
	    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"));
	assert_problem(x, 1, 3, "is a CA certificate without keyUsage");
	X509_free(x);
	/* s.4.2.1.10: nameConstraints only in CAs, DNS bases well formed. */
	x = mk("nc leaf", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN,
	    "nameConstraints=critical,permitted;DNS:sip.example.com"));
	assert_problem(x, 0, 2, "carries nameConstraints but is not a CA");
	X509_free(x);
	x = mk("NC CA", r, k[0], k[2], -DAY, 30 * DAY, EXTS(CA_EXT,
	    "nameConstraints=critical,permitted;DNS:.example.com,"
	    "excluded;DNS:bad.example.com"));
	assert_problem(x, 1, 3, NULL);
	X509_free(x);
	x = mk("Bad NC CA", r, k[0], k[2], -DAY, 30 * DAY, EXTS(CA_EXT,
	    "nameConstraints=critical,permitted;DNS:example.com,"
	    "excluded;DNS:bad_name.example.com"));
	assert_problem(x, 1, 3, "has the DNS name 'bad_name.example.com' in "
	    "nameConstraints");
	X509_free(x);
	/* s.4.2.1.6: DNS SANs in the preferred syntax; empty subjects. */
	x = mk("under", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT,
	    "subjectAltName=DNS:sip.example.com,DNS:sip_1.example.com"));
	assert_problem(x, 0, 2, "has the DNS name 'sip_1.example.com' in "
	    "subjectAltName, which is not in the preferred name syntax");
	X509_free(x);
	x = mk("wild", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT,
	    "subjectAltName=DNS:*.example.com"));
	assert_problem(x, 0, 2, NULL);
	X509_free(x);
	x = mk("", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN));
	assert_problem(x, 0, 2, "certificate '(empty)' (depth 0) has an empty "
	    "subject and a subjectAltName not marked critical");
	X509_free(x);
	x = mk("", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT,
	    "subjectAltName=critical,DNS:sip.example.com"));
	assert_problem(x, 0, 2, NULL);
	X509_free(x);
	x = mk("", r, k[0], k[1], -DAY, 30 * DAY, EXTS(LEAF_EXT));
	assert_problem(x, 0, 2, "has an empty subject and no subjectAltName");
	X509_free(x);
	X509_free(r);
}

static void
test_purpose_rules(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *x;
	char *why;

	(void)state;
	x = mk("nr", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:FALSE",
	    "keyUsage=critical,nonRepudiation", "authorityKeyIdentifier=keyid",
	    SAN));
	why = problem(x, 0, 2, T0, X509_PURPOSE_SSL_SERVER);
	assert_non_null(why);
	assert_non_null(strstr(why, "not allowed for TLS server "
	    "authentication (key usage has none of digitalSignature"));
	assert_null(strstr(why, "extended"));
	free(why);
	X509_free(x);
	x = mk("client only", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("basicConstraints=critical,CA:FALSE",
	    "extendedKeyUsage=clientAuth", "authorityKeyIdentifier=keyid",
	    SAN));
	assert_null(problem(x, 0, 2, T0, X509_PURPOSE_SSL_CLIENT));
	why = problem(x, 0, 2, T0, X509_PURPOSE_SSL_SERVER);
	assert_non_null(why);
	assert_non_null(strstr(why, "(extended key usage lacks serverAuth)"));
	free(why);
	X509_free(x);
	x = mk("Client CA", r, k[0], k[2], -DAY, 30 * DAY, EXTS(CA_EXT,
	    "extendedKeyUsage=clientAuth"));
	why = problem(x, 1, 3, T0, X509_PURPOSE_SSL_SERVER);
	assert_non_null(why);
	assert_non_null(strstr(why, "(depth 1) may not issue certificates for "
	    "TLS server authentication"));
	free(why);
	X509_free(x);
	X509_free(r);
}

static void
test_path_plain(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *i = mk("Int", r, k[0], k[1], -DAY, 30 * DAY, EXTS(CA_EXT));
	X509 *l = mk("leaf", i, k[1], k[2], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN));
	STACK_OF(X509) *path;
	char *why;

	(void)state;
	assert_int_equal(build(l, (X509 *[]){ i, NULL }, (X509 *[]){ r, NULL },
	    X509_PURPOSE_SSL_SERVER, &path, &why, NULL), 1);
	assert_int_equal(sk_X509_num(path), 3);
	assert_int_equal(X509_cmp(sk_X509_value(path, 2), r), 0);
	sk_X509_pop_free(path, X509_free);
	/* The intermediate missing: named with the issuer. */
	assert_int_equal(build(l, NULL, (X509 *[]){ r, NULL }, 0, &path, &why,
	    NULL), 0);
	assert_string_equal(why, "no trusted issuer for 'CN=leaf' (depth 0, "
	    "issuer 'CN=Int'): not in the trust list or the chain");
	free(why);
	/* A trusted intermediate is an anchor by itself. */
	assert_int_equal(build(l, NULL, (X509 *[]){ i, NULL }, 0, &path, &why,
	    NULL), 1);
	assert_int_equal(sk_X509_num(path), 2);
	sk_X509_pop_free(path, X509_free);
	/* The leaf itself trusted: a path of one. */
	assert_int_equal(build(l, NULL, (X509 *[]){ l, NULL }, 0, &path, &why,
	    NULL), 1);
	assert_int_equal(sk_X509_num(path), 1);
	sk_X509_pop_free(path, X509_free);
	/* An untrusted self-signed root. */
	assert_int_equal(build(l, (X509 *[]){ i, r, NULL }, NULL, 0, &path,
	    &why, NULL), 0);
	assert_string_equal(why, "no trusted issuer for 'CN=Root' (depth 2): "
	    "it is self-signed and not in the trust list");
	free(why);
	X509_free(l);
	X509_free(i);
	X509_free(r);
}

static void
test_path_alternatives(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *old = mk("Old Root", NULL, NULL, k[5], -DAY, 30 * DAY,
	    EXTS(ROOT_EXT));
	X509 *xo = mk("Cross", old, k[5], k[1], -DAY, 30 * DAY, EXTS(CA_EXT));
	X509 *xn = mk("Cross", r, k[0], k[1], -DAY, 30 * DAY, EXTS(CA_EXT));
	X509 *xbad = mk("Cross", r, k[0], k[1], -DAY, 30 * DAY,
	    EXTS("basicConstraints=CA:TRUE", "keyUsage=critical,keyCertSign",
	    "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"));
	X509 *l = mk("leaf", xn, k[1], k[2], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN));
	const char *twin[] = { "basicConstraints=critical,CA:TRUE",
	    "keyUsage=critical,keyCertSign", "subjectKeyIdentifier=0102030405",
	    "authorityKeyIdentifier=keyid", NULL };
	X509 *t1 = mk("Twin", r, k[0], k[3], -DAY, 30 * DAY, twin);
	X509 *t2 = mk("Twin", r, k[0], k[4], -DAY, 30 * DAY, twin);
	X509 *t3 = mk("Twin", r, k[0], k[5], -DAY, 30 * DAY, twin);
	X509 *lt = mk("twin leaf", t2, k[4], k[2], -DAY, 30 * DAY,
	    EXTS(LEAF_EXT, SAN));
	X509 *r1 = mk("Same", NULL, NULL, k[3], -DAY, 30 * DAY, twin);
	X509 *r2 = mk("Same", NULL, NULL, k[4], -DAY, 30 * DAY, twin);
	X509 *ls = mk("same leaf", r2, k[4], k[2], -DAY, 30 * DAY,
	    EXTS(LEAF_EXT, SAN));
	STACK_OF(X509) *path;
	char *why;

	(void)state;
	/* Cross-signed: the certificate from the untrusted root first. */
	assert_int_equal(build(l, (X509 *[]){ xo, xn, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 1);
	assert_int_equal(X509_cmp(sk_X509_value(path, 1), xn), 0);
	sk_X509_pop_free(path, X509_free);
	/* A first candidate breaking a rule: the next one is tried. */
	assert_int_equal(build(l, (X509 *[]){ xbad, xn, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 1);
	assert_int_equal(X509_cmp(sk_X509_value(path, 1), xn), 0);
	sk_X509_pop_free(path, X509_free);
	/* ... and alone, its fault is the reason. */
	assert_int_equal(build(l, (X509 *[]){ xbad, xo, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 0);
	assert_non_null(strstr(why, "certificate 'CN=Cross' (depth 1) is a CA "
	    "certificate whose basicConstraints is not marked critical"));
	free(why);
	/* Same name and key identifier, the wrong key first. */
	assert_int_equal(build(lt, (X509 *[]){ t1, t2, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 1);
	assert_int_equal(X509_cmp(sk_X509_value(path, 1), t2), 0);
	sk_X509_pop_free(path, X509_free);
	/* Only wrong ones: alone, found by OpenSSL on the whole path;
	 * several, by the search. */
	assert_int_equal(build(lt, (X509 *[]){ t1, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 0);
	assert_string_equal(why, "certificate 'CN=twin leaf' (depth 0) does "
	    "not verify with the key of 'CN=Twin' (depth 1): its signature is "
	    "wrong, or another CA of that name signed it");
	free(why);
	assert_int_equal(build(lt, (X509 *[]){ t1, t3, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 0);
	assert_string_equal(why, "no trusted issuer for 'CN=twin leaf' (depth "
	    "0, issuer 'CN=Twin'): 2 certificates of that name in the trust "
	    "list or the chain, none with the key that signed it");
	free(why);
	/* Two trusted roots of one name. */
	assert_int_equal(build(ls, NULL, (X509 *[]){ r1, r2, NULL }, 0, &path,
	    &why, NULL), 1);
	assert_int_equal(X509_cmp(sk_X509_value(path, 1), r2), 0);
	sk_X509_pop_free(path, X509_free);
	X509_free(ls);
	X509_free(r2);
	X509_free(r1);
	X509_free(lt);
	X509_free(t3);
	X509_free(t2);
	X509_free(t1);
	X509_free(l);
	X509_free(xbad);
	X509_free(xn);
	X509_free(xo);
	X509_free(old);
	X509_free(r);
}

static void
test_path_hostile(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *same[51], *a, *b, *bself, *l;
	struct tls_path_stats st;
	STACK_OF(X509) *path;
	char *why;
	int i;

	(void)state;
	/* 50 self-signed certificates of one name and key. */
	for (i = 0; i < 50; i++)
		same[i] = mk("Loop", NULL, NULL, k[3], -DAY, 30 * DAY,
		    EXTS(ROOT_EXT));
	same[50] = NULL;
	l = mk("looped", same[0], k[3], k[2], -DAY, 30 * DAY,
	    EXTS(LEAF_EXT, SAN));
	assert_int_equal(build(l, same, (X509 *[]){ r, NULL }, 0, &path, &why,
	    &st), 0);
	assert_true(st.sigs <= TLS_PATH_MAX_SIGS);
	assert_non_null(strstr(why, "the path search for 'CN=looped' stopped "
	    "after"));
	free(why);
	X509_free(l);
	for (i = 0; i < 50; i++)
		X509_free(same[i]);
	/* Two CAs that issued each other. */
	bself = mk("B", NULL, NULL, k[4], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	a = mk("A", bself, k[4], k[3], -DAY, 30 * DAY, EXTS(CA_EXT));
	b = mk("B", a, k[3], k[4], -DAY, 30 * DAY, EXTS(CA_EXT));
	l = mk("in a loop", a, k[3], k[2], -DAY, 30 * DAY, EXTS(LEAF_EXT, SAN));
	assert_int_equal(build(l, (X509 *[]){ a, b, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, &st), 0);
	assert_string_equal(why, "no trusted issuer for 'CN=B' (depth 2, "
	    "issuer 'CN=A'): not in the trust list or the chain");
	assert_true(st.sigs <= 4);
	free(why);
	X509_free(l);
	X509_free(b);
	X509_free(a);
	X509_free(bself);
	X509_free(r);
}

/*
 * leaf_dates_judged (sipedged -t, whose own findings say when the
 * server certificate expires): the leaf's dates are not a path problem,
 * an intermediate's still are.
 */
static void
test_leaf_dates_judged(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *ca = mk("CA", r, k[0], k[1], -DAY, 30 * DAY, EXTS(CA_EXT));
	X509 *old = mk("CA", r, k[0], k[1], -30 * DAY, -2 * DAY,
	    EXTS(CA_EXT));
	X509 *l = mk("leaf", ca, k[1], k[2], -30 * DAY, -2 * DAY,
	    EXTS(LEAF_EXT, SAN));
	STACK_OF(X509) *path;
	char *why;

	(void)state;
	assert_int_equal(build(l, (X509 *[]){ ca, NULL }, (X509 *[]){ r, NULL },
	    0, &path, &why, NULL), 0);
	assert_non_null(strstr(why, "'CN=leaf' (depth 0) has expired"));
	free(why);
	leaf_dates_judged = 1;
	assert_int_equal(build(l, (X509 *[]){ ca, NULL }, (X509 *[]){ r, NULL },
	    0, &path, &why, NULL), 1);
	sk_X509_pop_free(path, X509_free);
	assert_int_equal(build(l, (X509 *[]){ old, NULL },
	    (X509 *[]){ r, NULL }, 0, &path, &why, NULL), 0);
	assert_non_null(strstr(why, "'CN=CA' (depth 1) has expired"));
	free(why);
	leaf_dates_judged = 0;
	X509_free(r);
	X509_free(ca);
	X509_free(old);
	X509_free(l);
}

/* A trust store of the certificates xs (NULL-terminated). */
static X509_STORE *
store_of(X509 **xs)
{
	X509_STORE *st = X509_STORE_new();

	for (; *xs != NULL; xs++)
		X509_STORE_add_cert(st, *xs);
	return st;
}

/* Whether tls_peer_reuse of rec at now accepts, and if so with the path
 * and answer tls_peer_verify gives then. */
static int
reuse_at(const struct tls_peer_record *rec, STACK_OF(X509) *chain,
    X509_STORE *st, const char *name, const struct tls_peer_policy *pp,
    time_t now)
{
	struct tls_peer_result r, full;
	int ok = tls_peer_reuse(rec, name, pp, now, &r);

	if (ok) {
		assert_int_equal(tls_peer_verify(chain, st, name, pp, now,
		    &full), 1);
		assert_int_equal(sk_X509_num(r.path), sk_X509_num(full.path));
		assert_int_equal(X509_cmp(sk_X509_value(r.path, 2),
		    sk_X509_value(full.path, 2)), 0);
		assert_int_equal(r.rule, full.rule);
		tls_peer_result_clear(&full);
	} else
		assert_null(r.path);
	tls_peer_result_clear(&r);
	return ok;
}

/*
 * A path verified at T0 is reused, with the name checked again, while the
 * policy asked of it is the same and no certificate of the chain, the
 * path or the trust list started or stopped being valid; never before
 * the time it was verified at, never once a certificate of it expired.
 */
static void
test_reuse(void **state)
{
	X509 *r = mk("Root", NULL, NULL, k[0], -DAY, 30 * DAY, EXTS(ROOT_EXT));
	X509 *late = mk("Later Root", NULL, NULL, k[5], 5 * DAY, 30 * DAY,
	    EXTS(ROOT_EXT));
	X509 *i = mk("Int", r, k[0], k[1], -DAY, 20 * DAY, EXTS(CA_EXT));
	X509 *l = mk("leaf", i, k[1], k[2], -DAY, 10 * DAY, EXTS(LEAF_EXT, SAN));
	X509_STORE *st = store_of((X509 *[]){ r, late, NULL });
	STACK_OF(X509) *chain = sk_X509_new_null(), *all;
	struct tls_peer_policy pp, other;
	struct tls_peer_record rec;
	struct tls_peer_result res;
	struct tls_peer_clock clock;
	const char *name = "sip.example.com";

	(void)state;
	sk_X509_push(chain, l);
	sk_X509_push(chain, i);
	memset(&pp, 0, sizeof pp);
	pp.role = TLS_PEER_CLIENT;
	pp.security_level = 2;
	assert_int_equal(tls_peer_verify(chain, st, name, &pp, T0, &res), 1);
	memset(&rec, 0, sizeof rec);
	memset(&clock, 0, sizeof clock);
	/* The trust list's next change, remembered until it comes. */
	assert_int_equal(tls_peer_trust_next(st, &clock, T0), T0 + 5 * DAY);
	assert_int_equal(tls_peer_trust_next(st, &clock, T0 + DAY),
	    T0 + 5 * DAY);
	assert_int_equal(clock.from, T0);
	tls_peer_record_set(&rec, chain, &res, &pp, T0,
	    tls_peer_trust_next(st, &clock, T0));
	assert_int_equal(rec.at, T0);
	assert_int_equal(rec.until, T0 + 5 * DAY);
	assert_int_equal(tls_peer_trust_next(st, &clock, T0 + 5 * DAY),
	    T0 + 30 * DAY + 1);
	all = X509_STORE_get1_all_certs(st);
	/* The next change: the later root's notBefore, then the leaf's end. */
	assert_int_equal(tls_peer_next_change(all, T0), T0 + 5 * DAY);
	assert_int_equal(tls_peer_next_change(chain, T0), T0 + 10 * DAY + 1);
	assert_int_equal(tls_peer_next_change(chain, T0 + 10 * DAY + 1),
	    T0 + 20 * DAY + 1);
	assert_int_equal(tls_peer_next_change(chain, T0 + 20 * DAY + 1), 0);
	assert_int_equal(tls_peer_earlier(0, T0), T0);
	assert_int_equal(tls_peer_earlier(tls_peer_next_change(all, T0),
	    tls_peer_next_change(res.path, T0)), T0 + 5 * DAY);
	sk_X509_pop_free(all, X509_free);
	tls_peer_result_clear(&res);

	assert_int_equal(reuse_at(&rec, chain, st, name, &pp, T0), 1);
	assert_int_equal(reuse_at(&rec, chain, st, NULL, &pp, T0 + DAY), 1);
	assert_int_equal(reuse_at(&rec, chain, st, name, &pp, T0 - 1), 0);
	assert_int_equal(reuse_at(&rec, chain, st, name, &pp, T0 + 5 * DAY), 0);
	/* The name is checked again: another one is left to the full check. */
	assert_int_equal(reuse_at(&rec, chain, st, "other.example.com", &pp,
	    T0 + 1), 0);
	/* Another policy for the path: not reused. */
	other = pp;
	other.role = TLS_PEER_SERVER;
	assert_int_equal(reuse_at(&rec, chain, st, name, &other, T0 + 1), 0);
	other = pp;
	other.security_level = 3;
	assert_int_equal(reuse_at(&rec, chain, st, name, &other, T0 + 1), 0);
	other = pp;
	other.relax_eku = 1;
	assert_int_equal(reuse_at(&rec, chain, st, name, &other, T0 + 1), 0);
	other = pp;
	other.min_rsa_bits = 3072;
	assert_int_equal(reuse_at(&rec, chain, st, name, &other, T0 + 1), 0);
	other = pp;
	other.min_rsa_bits = 2048;	/* what 0 means */
	other.names.accept_wildcards = 1;
	assert_int_equal(reuse_at(&rec, chain, st, name, &other, T0 + 1), 1);

	/*
	 * The dates are checked again even when the record would hold for
	 * ever: the notAfter second itself is valid, the next one is not.
	 */
	rec.until = 0;
	assert_int_equal(reuse_at(&rec, chain, st, name, &pp, T0 + 10 * DAY), 1);
	assert_int_equal(reuse_at(&rec, chain, st, name, &pp,
	    T0 + 10 * DAY + 1), 0);
	assert_int_equal(tls_peer_verify(chain, st, name, &pp,
	    T0 + 10 * DAY + 1, &res), 0);
	assert_non_null(strstr(res.reason, "has expired"));
	tls_peer_result_clear(&res);
	tls_peer_record_clear(&rec);
	assert_int_equal(tls_peer_reuse(&rec, name, &pp, T0, &res), 0);

	sk_X509_free(chain);
	X509_STORE_free(st);
	X509_free(l);
	X509_free(i);
	X509_free(late);
	X509_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_syntax),
		cmocka_unit_test(test_validity_inclusive),
		cmocka_unit_test(test_structure_rules),
		cmocka_unit_test(test_purpose_rules),
		cmocka_unit_test(test_path_plain),
		cmocka_unit_test(test_leaf_dates_judged),
		cmocka_unit_test(test_path_alternatives),
		cmocka_unit_test(test_path_hostile),
		cmocka_unit_test(test_reuse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
