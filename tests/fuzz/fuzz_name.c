/*
 * fuzz_name.c: libFuzzer harness for the RFC 5922 name check
 * (tls_name_check()).  Input: a mode byte (bit 0: build the certificate,
 * else DER; bits 1-2: the policy), the length and bytes of an expected
 * name, then either a DER certificate or a description of one: CNs and
 * subjectAltName entries of any type and content (a missing, empty or
 * unparseable extension too).  A built certificate goes through DER and
 * back, as a peer's would.  Each certificate is checked against the
 * fuzzed name and a few fixed ones; the verdict must follow tls_name.h:
 * a reason exactly when refused, a match exactly when accepted, and
 * nothing but printable ASCII in the strings.  FUZZ_VERBOSE=1 prints
 * the verdicts (to check a new seed).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_name.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed[] = {
	"sbc.example.com", "SBC.Example.COM.", "a.b.example.com",
	"192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::ffff:192.0.2.1",
	"example", "xn--bcher-kva.example"
};

struct rd {
	const uint8_t	*p;
	size_t		 n;
};

/* The next byte, 0 past the end. */
static unsigned
u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* Up to max bytes of the input (fewer when it runs out). */
static const uint8_t *
take(struct rd *r, size_t max, size_t *lenp)
{
	const uint8_t *p = r->p;
	size_t n = max < r->n ? max : r->n;

	r->p += n;
	r->n -= n;
	*lenp = n;
	return p;
}

/* An IA5String of n bytes, whatever they are. */
static ASN1_IA5STRING *
ia5(const uint8_t *p, size_t n)
{
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, p, (int)n);
	return s;
}

/* One subjectAltName entry from the input, or NULL. */
static GENERAL_NAME *
gen_name(struct rd *r)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	unsigned type = u8(r) % 7;
	const uint8_t *p;
	size_t n;

	p = take(r, u8(r), &n);
	switch (type) {
	case 0:
		GENERAL_NAME_set0_value(g, GEN_URI, ia5(p, n));
		break;
	case 1:
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5(p, n));
		break;
	case 2: {
		ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();

		ASN1_OCTET_STRING_set(o, p, (int)n);
		GENERAL_NAME_set0_value(g, GEN_IPADD, o);
		break;
	}
	case 3:
		GENERAL_NAME_set0_value(g, GEN_EMAIL, ia5(p, n));
		break;
	case 4: {
		X509_NAME *dn = X509_NAME_new();

		X509_NAME_add_entry_by_txt(dn, "CN", MBSTRING_ASC, p, (int)n,
		    -1, 0);
		GENERAL_NAME_set0_value(g, GEN_DIRNAME, dn);
		break;
	}
	case 5: {
		ASN1_OBJECT *o = OBJ_txt2obj("1.2.3.4", 1);

		GENERAL_NAME_set0_value(g, GEN_RID, o);
		break;
	}
	default: {
		ASN1_TYPE *v = ASN1_TYPE_new();

		ASN1_TYPE_set(v, V_ASN1_UTF8STRING, ia5(p, n));
		GENERAL_NAME_set0_othername(g, OBJ_txt2obj("1.3.6.1.5.5.7.8.7",
		    1), v);
		break;
	}
	}
	return g;
}

/* A certificate described by the rest of the input. */
static X509 *
build(struct rd *r)
{
	X509 *x = X509_new(), *back;
	X509_NAME *name = X509_NAME_new();
	GENERAL_NAMES *gens;
	unsigned ncn = u8(r) % 3, nsan = u8(r), i, cntype;
	static const int cntypes[] = { MBSTRING_UTF8, MBSTRING_ASC,
	    MBSTRING_BMP, MBSTRING_UNIV };
	const uint8_t *p;
	unsigned char *der = NULL;
	const unsigned char *dp;
	size_t n;
	int len;

	for (i = 0; i < ncn; i++) {
		cntype = u8(r) % 4;
		p = take(r, u8(r), &n);
		if (X509_NAME_add_entry_by_txt(name, "CN", cntypes[cntype], p,
		    (int)n, -1, 0) != 1)
			ERR_clear_error();
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_NAME_free(name);
	/*
	 * No public key: the check does not read it, and decoding one (in
	 * d2i_X509 below) goes through OpenSSL 3's decoders, which took most
	 * of the time of an input.
	 */
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)1577836800);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)2208988800);
	switch (nsan % 4) {
	case 0:
		break;		/* no subjectAltName */
	case 1: {
		/* An extension whose content is raw input. */
		ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e;

		p = take(r, u8(r), &n);
		ASN1_OCTET_STRING_set(o, p, (int)n);
		e = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name,
		    0, o);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(o);
		break;
	}
	default:
		gens = GENERAL_NAMES_new();
		for (i = 0; i < nsan / 4; i++)
			sk_GENERAL_NAME_push(gens, gen_name(r));
		if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
		    X509V3_ADD_DEFAULT) != 1)
			ERR_clear_error();
		GENERAL_NAMES_free(gens);
		break;
	}
	/* Through DER, as a peer's certificate comes. */
	if ((len = i2d_X509(x, &der)) > 0) {
		dp = der;
		if ((back = d2i_X509(NULL, &dp, len)) != NULL) {
			X509_free(x);
			x = back;
		}
	}
	OPENSSL_free(der);
	ERR_clear_error();
	return x;
}

/* Abort unless s (may be NULL) is printable ASCII. */
static void
printable(const char *s, const char *what)
{
	const unsigned char *u = (const unsigned char *)s;

	for (; u != NULL && *u != '\0'; u++)
		if (*u < 0x20 || *u > 0x7e) {
			fprintf(stderr, "fuzz_name: byte 0x%02x in %s: %s\n",
			    *u, what, s);
			abort();
		}
}

/* One tls_name_check() and the contract of its result. */
static void
check(const X509 *x, const char *expected, const struct tls_name_policy *p)
{
	struct tls_name_result res;
	int ok;

	memset(&res, 0x5a, sizeof res);
	ok = tls_name_check(x, expected, p, &res);
	if (ok != res.ok || (ok != 0 && ok != 1) || res.presented == NULL ||
	    (ok && (res.matched == NULL || res.reason != NULL ||
	    res.rule == TLS_NAME_NONE)) ||
	    (!ok && (res.reason == NULL || res.matched != NULL ||
	    res.rule != TLS_NAME_NONE)))
		abort();
	/* A near miss only on refusal, described; hidden_by with DNS only. */
	if ((ok && res.near != TLS_NAME_NONE) ||
	    ((res.near == TLS_NAME_NONE) != (res.near_match == NULL)) ||
	    ((res.near == TLS_NAME_DNS_SAN) != (res.hidden_by != NULL)) ||
	    (res.near != TLS_NAME_NONE && res.near != TLS_NAME_DNS_SAN &&
	    res.near != TLS_NAME_COMPAT_CN && res.near != TLS_NAME_WILDCARD))
		abort();
	printable(res.near_match, "near_match");
	printable(res.hidden_by, "hidden_by");
	printable(res.matched, "matched");
	printable(res.reason, "reason");
	printable(res.presented, "presented");
	if (getenv("FUZZ_VERBOSE") != NULL)	/* to check a seed */
		fprintf(stderr, "fuzz_name: %s: %s\n", expected, ok ?
		    res.matched : res.reason);
	(void)tls_name_rule_name(res.rule);
	tls_name_result_clear(&res);
}

/* Policy, expected name, certificate; then the checks. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_name_policy pol;
	struct rd r = { data, size };
	unsigned mode = u8(&r);
	const unsigned char *dp;
	const uint8_t *p;
	char expected[300];
	size_t n, i;
	X509 *x;

	pol.accept_wildcards = (mode >> 1) & 1;
	pol.compat_cn_with_san = (mode >> 2) & 1;
	p = take(&r, u8(&r) % sizeof expected, &n);
	memcpy(expected, p, n);
	expected[n < sizeof expected ? n : sizeof expected - 1] = '\0';
	if (mode & 1)
		x = build(&r);
	else {
		dp = r.p;
		x = d2i_X509(NULL, &dp, (long)r.n);
	}
	ERR_clear_error();
	check(x, expected, &pol);
	if (x != NULL)
		for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
			check(x, fixed[i], &pol);
	check(x, expected, NULL);
	X509_free(x);
	ERR_clear_error();
	return 0;
}
