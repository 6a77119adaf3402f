/*
 * test_name.c: the RFC 5922 s.7 name check (tls_name.c), rule by rule.
 * Certificates are built in memory with OpenSSL, with exactly the
 * subject CNs and subjectAltName entries each case needs (including
 * bytes a CA should never sign, such as embedded NULs).
 */
#include "config.h"

#include <arpa/inet.h>
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

#include "tls/tls_name.h"
#include "util/xmalloc.h"

/* One name to put in a certificate; n == 0 for IP means "v is text". */
struct nm {
	int		 type;		/* GEN_*, or CN for a subject CN */
	const char	*v;
	size_t		 n;
};
#define CN		(-2)
#define END		{ -1, NULL, 0 }
#define N_CN(s)		{ CN, s, sizeof(s) - 1 }
#define N_DNS(s)	{ GEN_DNS, s, sizeof(s) - 1 }
#define N_URI(s)	{ GEN_URI, s, sizeof(s) - 1 }
#define N_EMAIL(s)	{ GEN_EMAIL, s, sizeof(s) - 1 }
#define N_IP(s)		{ GEN_IPADD, s, 0 }
#define N_IPRAW(s)	{ GEN_IPADD, s, sizeof(s) - 1 }

/* Policies by letter: "" strict, "w" wildcards, "c" compat, "wc" both. */
#define STRICT	""
#define WILD	"w"
#define COMPAT	"c"

static EVP_PKEY *key;

static int
setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	return key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/* An IA5String holding exactly v[0..n), NULs included. */
static ASN1_IA5STRING *
ia5(const char *v, size_t n)
{
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	assert_non_null(s);
	assert_int_equal(ASN1_STRING_set(s, v, (int)n), 1);
	return s;
}

/*
 * A self-signed certificate with the subject CNs in cns (NULL: none) and
 * the subjectAltName entries in sans; sans == NULL leaves the extension
 * out, an empty list (just END) makes an empty extension.
 */
static X509 *
mkcert(const struct nm *cns, const struct nm *sans)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	unsigned char addr[16];
	size_t i;

	assert_non_null(x);
	assert_non_null(subj);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC,
	    (const unsigned char *)"Test", -1, -1, 0);
	for (i = 0; cns != NULL && cns[i].type != -1; i++)
		assert_int_equal(X509_NAME_add_entry_by_NID(subj,
		    NID_commonName, MBSTRING_UTF8,
		    (const unsigned char *)cns[i].v, (int)cns[i].n, -1, 0), 1);
	X509_set_subject_name(x, subj);
	X509_set_issuer_name(x, subj);
	X509_NAME_free(subj);
	X509_set_pubkey(x, key);

	if (sans != NULL) {
		gens = GENERAL_NAMES_new();
		for (i = 0; sans[i].type != -1; i++) {
			g = GENERAL_NAME_new();
			if (sans[i].type == GEN_IPADD) {
				ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();

				if (sans[i].n > 0)
					ASN1_OCTET_STRING_set(o,
					    (const unsigned char *)sans[i].v,
					    (int)sans[i].n);
				else if (inet_pton(AF_INET, sans[i].v,
				    addr) == 1)
					ASN1_OCTET_STRING_set(o, addr, 4);
				else {
					assert_int_equal(inet_pton(AF_INET6,
					    sans[i].v, addr), 1);
					ASN1_OCTET_STRING_set(o, addr, 16);
				}
				GENERAL_NAME_set0_value(g, GEN_IPADD, o);
			} else {
				GENERAL_NAME_set0_value(g, sans[i].type,
				    ia5(sans[i].v, sans[i].n));
			}
			sk_GENERAL_NAME_push(gens, g);
		}
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens,
		    0, X509V3_ADD_DEFAULT), 1);
		GENERAL_NAMES_free(gens);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* Run the check with the policy letters in pol; returns the verdict. */
static int
run(X509 *x, const char *expected, const char *pol,
    struct tls_name_result *r)
{
	struct tls_name_policy p;

	p.accept_wildcards = strchr(pol, 'w') != NULL;
	p.compat_cn_with_san = strchr(pol, 'c') != NULL;
	return tls_name_check(x, expected, &p, r);
}

/* Expect acceptance by rule, with r.matched equal to matched. */
static void
accepted(X509 *x, const char *expected, const char *pol,
    enum tls_name_rule rule, const char *matched)
{
	struct tls_name_result r;
	int ok = run(x, expected, pol, &r);

	if (!ok || r.rule != rule || strcmp(r.matched, matched) != 0)
		print_error("%s [%s]: ok %d rule %s matched %s reason %s\n",
		    expected, pol, ok, tls_name_rule_name(r.rule),
		    r.matched ? r.matched : "-", r.reason ? r.reason : "-");
	assert_int_equal(ok, 1);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.rule, rule);
	assert_string_equal(r.matched, matched);
	assert_null(r.reason);
	assert_non_null(r.presented);
	tls_name_result_clear(&r);
}

/* Expect refusal, with every string of the NULL-ended list in the reason. */
static void
refused(X509 *x, const char *expected, const char *pol, ...)
{
	struct tls_name_result r;
	const char *want;
	va_list ap;
	int ok = run(x, expected, pol, &r);

	if (ok)
		print_error("%s [%s]: accepted by %s (%s)\n", expected, pol,
		    tls_name_rule_name(r.rule), r.matched);
	assert_int_equal(ok, 0);
	assert_int_equal(r.ok, 0);
	assert_int_equal(r.rule, TLS_NAME_NONE);
	assert_null(r.matched);
	assert_non_null(r.reason);
	assert_non_null(r.presented);
	va_start(ap, pol);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (strstr(r.reason, want) == NULL)
			print_error("reason \"%s\" lacks \"%s\"\n", r.reason,
			    want);
		assert_non_null(strstr(r.reason, want));
	}
	va_end(ap);
	tls_name_result_clear(&r);
}

/* The reason text, whole (caller frees). */
static char *
reason(X509 *x, const char *expected, const char *pol)
{
	struct tls_name_result r;
	char *s;

	assert_int_equal(run(x, expected, pol, &r), 0);
	s = xstrdup(r.reason);
	tls_name_result_clear(&r);
	return s;
}

/* --- DNS SAN (RFC 5922 s.7.1 "DNS", s.7.2 comparison) ------------------ */

static void
test_dns_exact(void **state)
{
	struct nm san[] = { N_DNS("a.example"), N_DNS("sbc.partner.example"),
	    END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example");
	accepted(x, "a.example", STRICT, TLS_NAME_DNS_SAN, "DNS a.example");
	X509_free(x);
}

static void
test_dns_case(void **state)
{
	struct nm san[] = { N_DNS("SBC.Partner.EXAMPLE"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS SBC.Partner.EXAMPLE");
	accepted(x, "sBc.PARTNER.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS SBC.Partner.EXAMPLE");
	X509_free(x);
}

/* The expected name follows util/name.c: an underscore is no host name. */
static void
test_expected_underscore(void **state)
{
	struct nm san[] = { N_DNS("sbc_1.partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "sbc_1.partner.example", STRICT, "the expected name "
	    "\"sbc_1.partner.example\" is neither a host name nor an IP "
	    "address: \"sbc_1.partner.example\" is not a host name: it has "
	    "the character '_'; only letters, digits, hyphens and dots are "
	    "allowed (an underscore belongs to service labels such as "
	    "_sip._tcp, never to a host name, RFC 1123)", NULL);
	X509_free(x);
}

static void
test_dns_trailing_dot(void **state)
{
	struct nm san1[] = { N_DNS("sbc.partner.example."), END };
	struct nm san2[] = { N_DNS("sbc.partner.example"), END };
	struct nm san3[] = { N_DNS("sbc.partner.example.."), END };
	X509 *x1 = mkcert(NULL, san1), *x2 = mkcert(NULL, san2);
	X509 *x3 = mkcert(NULL, san3);

	(void)state;
	accepted(x1, "sbc.partner.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example.");
	accepted(x1, "sbc.partner.example.", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example.");
	accepted(x2, "sbc.partner.example.", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example");
	/* Only one dot is the root; two is a different (invalid) name. */
	refused(x3, "sbc.partner.example", STRICT, NULL);
	refused(x2, "sbc.partner.example..", STRICT,
	    "neither a host name nor an IP address", "ends with a dot", NULL);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
}

static void
test_dns_no_suffix_or_prefix(void **state)
{
	struct nm san[] = { N_DNS("partner.example"), END };
	struct nm san2[] = { N_DNS("sbc.partner.example"), END };
	X509 *x = mkcert(NULL, san), *x2 = mkcert(NULL, san2);

	(void)state;
	/* s.7.2: "foo.example.com" does not match "example.com". */
	refused(x, "sbc.partner.example", STRICT,
	    "no identity matches \"sbc.partner.example\"",
	    "DNS partner.example", NULL);
	refused(x2, "partner.example", STRICT, NULL);
	refused(x2, "bc.partner.example", STRICT, NULL);
	refused(x2, "xsbc.partner.example", STRICT, NULL);
	refused(x2, "sbc.partner.example.com", STRICT, NULL);
	refused(x2, "sbc.partner", STRICT, NULL);
	X509_free(x);
	X509_free(x2);
}

static void
test_dns_leading_dot_is_literal(void **state)
{
	/* s.7.2: ".example.com" matches only ".example.com". */
	struct nm san[] = { N_DNS(".partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "sbc.partner.example", STRICT, NULL);
	refused(x, "sbc.partner.example", WILD, NULL);
	X509_free(x);
}

static void
test_idna_a_labels(void **state)
{
	struct nm san[] = { N_DNS("XN--BCHER-KVA.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "xn--bcher-kva.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS XN--BCHER-KVA.example");
	/* No IDNA conversion here: the configuration holds A-labels. */
	refused(x, "b\xc3\xbc" "cher.example", STRICT,
	    "is not ASCII: configure the A-label (xn--) form", NULL);
	refused(x, "bucher.example", STRICT, NULL);
	X509_free(x);
}

/* --- sip URI SAN (s.7.1 "URI") ----------------------------------------- */

static void
test_sip_uri(void **state)
{
	struct nm san[] = { N_URI("sip:sbc.partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:sbc.partner.example");
	accepted(x, "SBC.partner.example.", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:sbc.partner.example");
	refused(x, "partner.example", STRICT, NULL);
	X509_free(x);
}

static void
test_sip_uri_scheme_case(void **state)
{
	/* s.7.1 note: URI scheme tokens are always case insensitive. */
	struct nm san[] = { N_URI("SIP:SBC.Partner.Example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI SIP:SBC.Partner.Example");
	X509_free(x);
}

static void
test_sip_uri_port_params_headers(void **state)
{
	/* s.7.2: only the DNS name is compared, not scheme or parameters. */
	struct nm san[] = { N_URI("sip:a.example:5061"),
	    N_URI("sip:b.example;transport=tls"),
	    N_URI("sip:c.example:5061;transport=tls;lr?subject=x"),
	    N_URI("sip:d.example?x=y"), N_URI("sip:e.example.:5061"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "a.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:a.example:5061");
	accepted(x, "b.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:b.example;transport=tls");
	accepted(x, "c.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:c.example:5061;transport=tls;lr?subject=x");
	accepted(x, "d.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:d.example?x=y");
	accepted(x, "e.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:e.example.:5061");
	refused(x, "5061", STRICT, NULL);
	refused(x, "transport=tls", STRICT, NULL);
	X509_free(x);
}

static void
test_sip_uri_user_part(void **state)
{
	/* s.7.1: a value with a userpart identifies a user, not a domain. */
	struct nm san1[] = { N_URI("sip:alice@sbc.partner.example"), END };
	struct nm san2[] = { N_URI("sip:alice@sbc.partner.example"),
	    N_DNS("sbc.partner.example"), END };
	struct nm san3[] = { N_URI("sip:sbc.partner.example@evil.example"),
	    END };
	X509 *x1 = mkcert(NULL, san1), *x2 = mkcert(NULL, san2);
	X509 *x3 = mkcert(NULL, san3);

	(void)state;
	refused(x1, "sbc.partner.example", STRICT,
	    "sip URI sip:alice@sbc.partner.example (has a user part: not a "
	    "domain identity)", NULL);
	/* Not an identity, so it does not shut out the dNSName. */
	accepted(x2, "sbc.partner.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example");
	refused(x3, "sbc.partner.example", STRICT, NULL);
	refused(x3, "evil.example", STRICT, NULL);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
}

static void
test_sips_and_other_schemes(void **state)
{
	/*
	 * s.7.1: "If the scheme of the URI is not 'sip', then the
	 * implementation MUST NOT accept the value": sips included.
	 */
	struct nm san1[] = { N_URI("sips:sbc.partner.example"),
	    N_URI("https://sbc.partner.example/"),
	    N_URI("sbc.partner.example"), END };
	struct nm san2[] = { N_URI("sips:other.example"),
	    N_DNS("sbc.partner.example"), END };
	X509 *x1 = mkcert(NULL, san1), *x2 = mkcert(NULL, san2);

	(void)state;
	refused(x1, "sbc.partner.example", STRICT,
	    "URI sips:sbc.partner.example (scheme is not sip)",
	    "URI https://sbc.partner.example/ (scheme is not sip)", NULL);
	/* Not identities, so the dNSName still counts. */
	accepted(x2, "sbc.partner.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example");
	X509_free(x1);
	X509_free(x2);
}

static void
test_sip_uri_shuts_out_dns(void **state)
{
	/* s.7.1: DNS only "if and only if no other identity is found". */
	struct nm san[] = { N_URI("sip:other.example"),
	    N_DNS("sbc.partner.example"), END };
	struct nm san2[] = { N_DNS("sbc.partner.example"),
	    N_URI("sip:sbc.partner.example"), END };
	X509 *x = mkcert(NULL, san), *x2 = mkcert(NULL, san2);

	(void)state;
	refused(x, "sbc.partner.example", STRICT,
	    "DNS sbc.partner.example (not used: the certificate has a sip "
	    "URI identity)", NULL);
	refused(x, "sbc.partner.example", "wc", NULL);
	accepted(x, "other.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:other.example");
	/* Order in the certificate does not matter. */
	accepted(x2, "sbc.partner.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:sbc.partner.example");
	X509_free(x);
	X509_free(x2);
}

static void
test_sip_uri_ip_host(void **state)
{
	struct nm san[] = { N_URI("sip:192.0.2.1"), N_URI("sip:[2001:db8::1]"),
	    N_URI("sip:[2001:db8::2]:5061;transport=tls"),
	    N_DNS("sbc.partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	/* IP hosts are not SIP domain identities: they do not shut out DNS. */
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example");
	refused(x, "192.0.2.1", STRICT,
	    "sip URI sip:192.0.2.1 (IP host: not a domain identity)",
	    "sip URI sip:[2001:db8::1] (IP host: not a domain identity)",
	    "sip URI sip:[2001:db8::2]:5061;transport=tls (IP host", NULL);
	refused(x, "2001:db8::1", STRICT, NULL);
	refused(x, "[2001:db8::2]", STRICT, NULL);
	X509_free(x);
}

static void
test_sip_uri_malformed(void **state)
{
	struct nm san[] = { N_URI("sip:"), N_URI("sip:;transport=tls"),
	    N_URI("sip:a.example:50x1"), N_URI("sip:a.example:"),
	    N_URI("sip:[2001:db8::1"), N_URI("sip:a.exa mple"),
	    N_URI("sip:a.example:123456"), N_URI("sip:a..example"),
	    N_URI("sip"), N_DNS("b.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "a.example", STRICT, "sip URI sip: (malformed host)",
	    "sip URI sip:a.example:50x1 (malformed host)",
	    "sip URI sip:a.example: (malformed port)",
	    "sip URI sip:a.example:123456 (malformed port)",
	    "URI sip (scheme is not sip)", NULL);
	/* None of them is an identity: DNS names still count. */
	accepted(x, "b.example", STRICT, TLS_NAME_DNS_SAN, "DNS b.example");
	X509_free(x);
}

static void
test_sip_uri_wildcard(void **state)
{
	/* A wildcard is never matched in a sip URI, but it is an identity. */
	struct nm san[] = { N_URI("sip:*.partner.example"),
	    N_DNS("sbc.partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "sbc.partner.example", WILD,
	    "sip URI sip:*.partner.example (wildcard: never matched in a sip "
	    "URI)", "DNS sbc.partner.example (not used", NULL);
	X509_free(x);
}

/* --- subject CN (s.7.1 step 2) ----------------------------------------- */

static void
test_cn_without_san(void **state)
{
	struct nm cn[] = { N_CN("SBC.partner.example."), END };
	X509 *x = mkcert(cn, NULL);

	(void)state;
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_CN_NO_SAN,
	    "CN SBC.partner.example.");
	refused(x, "partner.example", STRICT,
	    "presented: CN SBC.partner.example.", NULL);
	X509_free(x);
}

static void
test_cn_ignored_with_any_san(void **state)
{
	struct nm cn[] = { N_CN("sbc.partner.example"), END };
	struct nm ip_only[] = { N_IP("192.0.2.1"), END };
	struct nm mail_only[] = { N_EMAIL("ops@partner.example"), END };
	struct nm other_dns[] = { N_DNS("other.example"), END };
	struct nm empty[] = { END };
	X509 *x1 = mkcert(cn, ip_only), *x2 = mkcert(cn, mail_only);
	X509 *x3 = mkcert(cn, other_dns), *x4 = mkcert(cn, empty);
	const char *why = "CN sbc.partner.example (not used: the certificate "
	    "has a subjectAltName)";

	(void)state;
	refused(x1, "sbc.partner.example", STRICT, "IP 192.0.2.1", why, NULL);
	refused(x2, "sbc.partner.example", STRICT,
	    "email ops@partner.example", why, NULL);
	refused(x3, "sbc.partner.example", STRICT, "DNS other.example", why,
	    NULL);
	/* An empty extension is still an extension. */
	refused(x4, "sbc.partner.example", STRICT, why, NULL);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	X509_free(x4);
}

static void
test_cn_several(void **state)
{
	struct nm cn[] = { N_CN("Partner Example Ltd"),
	    N_CN("sbc.partner.example"), END };
	X509 *x = mkcert(cn, NULL);

	(void)state;
	accepted(x, "sbc.partner.example", STRICT, TLS_NAME_CN_NO_SAN,
	    "CN sbc.partner.example");
	refused(x, "partner.example", STRICT,
	    "presented: CN Partner Example Ltd, CN sbc.partner.example",
	    NULL);
	X509_free(x);
}

static void
test_no_names(void **state)
{
	X509 *x = mkcert(NULL, NULL);
	struct nm empty[] = { END };
	X509 *x2 = mkcert(NULL, empty);
	char *s;

	(void)state;
	s = reason(x, "sbc.partner.example", STRICT);
	assert_string_equal(s,
	    "no identity matches \"sbc.partner.example\"; presented: none");
	free(s);
	refused(x2, "sbc.partner.example", "wc", "presented: none", NULL);
	X509_free(x);
	X509_free(x2);
}

/* --- compatibility CN -------------------------------------------------- */

static void
test_compat_cn(void **state)
{
	struct nm cn[] = { N_CN("sbc.partner.example"), END };
	struct nm san[] = { N_DNS("other.example"), END };
	struct nm san2[] = { N_URI("sip:other.example"), N_IP("192.0.2.1"),
	    END };
	X509 *x = mkcert(cn, san), *x2 = mkcert(cn, san2);

	(void)state;
	refused(x, "sbc.partner.example", STRICT, NULL);
	accepted(x, "sbc.partner.example", COMPAT, TLS_NAME_COMPAT_CN,
	    "CN sbc.partner.example");
	accepted(x, "SBC.partner.example.", COMPAT, TLS_NAME_COMPAT_CN,
	    "CN sbc.partner.example");
	/* A SAN match is preferred and reported as such. */
	accepted(x, "other.example", COMPAT, TLS_NAME_DNS_SAN,
	    "DNS other.example");
	accepted(x2, "sbc.partner.example", COMPAT, TLS_NAME_COMPAT_CN,
	    "CN sbc.partner.example");
	accepted(x2, "other.example", COMPAT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:other.example");
	refused(x, "partner.example", COMPAT, NULL);
	X509_free(x);
	X509_free(x2);
}

static void
test_compat_cn_no_wildcard(void **state)
{
	struct nm cn[] = { N_CN("*.partner.example"), END };
	struct nm san[] = { N_DNS("other.example"), END };
	X509 *x = mkcert(cn, san);

	(void)state;
	refused(x, "sbc.partner.example", "wc",
	    "CN *.partner.example (no wildcards in compatibility mode)", NULL);
	X509_free(x);
}

/* --- wildcards (RFC 6125 s.6.4.3) -------------------------------------- */

static void
test_wildcard_off(void **state)
{
	/* RFC 5922 s.7.2: "*.example.com" matches only "*.example.com". */
	struct nm san[] = { N_URI("sips:other.example"),
	    N_DNS("*.partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "sbc.partner.example", STRICT,
	    "DNS *.partner.example (wildcards not accepted)", NULL);
	refused(x, "sbc.partner.example", COMPAT, NULL);
	X509_free(x);
}

static void
test_wildcard_on(void **state)
{
	struct nm san[] = { N_DNS("*.Partner.Example."), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "sbc.partner.example", WILD, TLS_NAME_WILDCARD,
	    "DNS *.Partner.Example.");
	accepted(x, "SBC2.PARTNER.EXAMPLE.", WILD, TLS_NAME_WILDCARD,
	    "DNS *.Partner.Example.");
	accepted(x, "xn--bcher-kva.partner.example", WILD, TLS_NAME_WILDCARD,
	    "DNS *.Partner.Example.");
	/* Rule 2: exactly one left-most label, never zero or two. */
	refused(x, "a.sbc.partner.example", WILD, NULL);
	refused(x, "partner.example", WILD, NULL);
	refused(x, ".partner.example", WILD, NULL);
	refused(x, "sbc.partner.example.com", WILD, NULL);
	refused(x, "sbc.xpartner.example", WILD, NULL);
	X509_free(x);
}

static void
test_wildcard_bad_forms(void **state)
{
	struct nm san[] = { N_DNS("*.example"), N_DNS("f*.partner.example"),
	    N_DNS("*bc.partner.example"), N_DNS("s*c.partner.example"),
	    N_DNS("sbc.*.example"), N_DNS("*.*.example"), N_DNS("*"),
	    N_DNS("*."), N_DNS("**.partner.example"),
	    N_DNS("*.partner..example"), END };
	X509 *x = mkcert(NULL, san);
	const char *bad = "(wildcard form not accepted)";

	(void)state;
	/* "*.example" needs two labels after it (no TLD-wide wildcard). */
	refused(x, "partner.example", WILD, "DNS *.example (wildcard form",
	    NULL);
	refused(x, "sbc.partner.example", WILD, "DNS f*.partner.example ",
	    bad, "DNS *bc.partner.example ", "DNS s*c.partner.example ",
	    "DNS sbc.*.example ", "DNS *.*.example ", "DNS * ", "DNS *. ",
	    "DNS **.partner.example ", NULL);
	refused(x, "sbc.x.example", WILD, NULL);
	refused(x, "a.b.example", WILD, NULL);
	X509_free(x);
}

static void
test_wildcard_exact_preferred(void **state)
{
	struct nm san[] = { N_DNS("*.partner.example"),
	    N_DNS("sbc.partner.example"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "sbc.partner.example", WILD, TLS_NAME_DNS_SAN,
	    "DNS sbc.partner.example");
	accepted(x, "b2bua.partner.example", WILD, TLS_NAME_WILDCARD,
	    "DNS *.partner.example");
	X509_free(x);
}

static void
test_wildcard_cn(void **state)
{
	struct nm cn[] = { N_CN("*.partner.example"), END };
	X509 *x = mkcert(cn, NULL);

	(void)state;
	refused(x, "sbc.partner.example", STRICT,
	    "CN *.partner.example (wildcards not accepted)", NULL);
	accepted(x, "sbc.partner.example", WILD, TLS_NAME_WILDCARD,
	    "CN *.partner.example");
	refused(x, "a.sbc.partner.example", WILD, NULL);
	X509_free(x);
}

static void
test_wildcard_never_for_ip(void **state)
{
	struct nm san[] = { N_DNS("*.0.2.1"), N_DNS("*.2.1"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "192.0.2.1", WILD,
	    "DNS *.0.2.1 (not used for an IP address)", NULL);
	X509_free(x);
}

/* --- IP addresses ------------------------------------------------------ */

static void
test_ipv4(void **state)
{
	struct nm san[] = { N_DNS("sbc.partner.example"), N_IP("192.0.2.1"),
	    END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "192.0.2.1", STRICT, TLS_NAME_IP_SAN, "IP 192.0.2.1");
	refused(x, "192.0.2.10", STRICT, "IP 192.0.2.1",
	    "DNS sbc.partner.example (not used for an IP address)", NULL);
	refused(x, "192.0.2.2", STRICT, NULL);
	/* Forms inet_pton() does not take are not addresses, nor names. */
	refused(x, "192.0.2.01", STRICT, "neither a host name nor", NULL);
	refused(x, "192.0.2", STRICT, "neither a host name nor", NULL);
	refused(x, "192.0.2.1.", STRICT, "neither a host name nor", NULL);
	refused(x, "[192.0.2.1]", STRICT, "neither a host name nor", NULL);
	X509_free(x);
}

static void
test_ipv6_forms(void **state)
{
	struct nm san[] = { N_IP("0:0:0:0:0:0:0:1"),
	    N_IP("2001:db8:0:0:0:0:0:5"), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	accepted(x, "::1", STRICT, TLS_NAME_IP_SAN, "IP ::1");
	accepted(x, "0:0:0:0:0:0:0:1", STRICT, TLS_NAME_IP_SAN, "IP ::1");
	accepted(x, "[::1]", STRICT, TLS_NAME_IP_SAN, "IP ::1");
	accepted(x, "2001:DB8::5", STRICT, TLS_NAME_IP_SAN, "IP 2001:db8::5");
	accepted(x, "2001:0db8:0000::0005", STRICT, TLS_NAME_IP_SAN,
	    "IP 2001:db8::5");
	refused(x, "2001:db8::6", STRICT, "presented: IP ::1, IP 2001:db8::5",
	    NULL);
	refused(x, "fe80::1%eth0", STRICT, "neither a host name nor", NULL);
	refused(x, "[::1", STRICT, "neither a host name nor", NULL);
	X509_free(x);
}

static void
test_ipv4_mapped_is_different(void **state)
{
	struct nm v4[] = { N_IP("192.0.2.1"), END };
	struct nm mapped[] = { N_IP("::ffff:192.0.2.1"), END };
	X509 *x1 = mkcert(NULL, v4), *x2 = mkcert(NULL, mapped);

	(void)state;
	refused(x1, "::ffff:192.0.2.1", STRICT, NULL);
	refused(x2, "192.0.2.1", STRICT, "IP ::ffff:192.0.2.1", NULL);
	accepted(x2, "::ffff:192.0.2.1", STRICT, TLS_NAME_IP_SAN,
	    "IP ::ffff:192.0.2.1");
	X509_free(x1);
	X509_free(x2);
}

static void
test_ip_never_dns_or_cn(void **state)
{
	struct nm cn[] = { N_CN("192.0.2.1"), END };
	struct nm san[] = { N_DNS("192.0.2.1"), N_URI("sip:192.0.2.1"), END };
	X509 *x1 = mkcert(cn, NULL), *x2 = mkcert(cn, san);

	(void)state;
	refused(x1, "192.0.2.1", STRICT,
	    "CN 192.0.2.1 (not used for an IP address)", NULL);
	refused(x1, "192.0.2.1", "wc", NULL);
	refused(x2, "192.0.2.1", "wc",
	    "DNS 192.0.2.1 (not used for an IP address)", NULL);
	X509_free(x1);
	X509_free(x2);
}

static void
test_ip_malformed_entry(void **state)
{
	struct nm san[] = { N_IPRAW("\xc0\x00\x02\x01\x00"),
	    N_IPRAW("\xc0\x00\x02\x01\xff\xff\xff\x00"), N_IP("192.0.2.2"),
	    END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "192.0.2.1", STRICT, "IP (malformed: 5 bytes)",
	    "IP (malformed: 8 bytes)", NULL);
	accepted(x, "192.0.2.2", STRICT, TLS_NAME_IP_SAN, "IP 192.0.2.2");
	X509_free(x);
}

/* --- hostile and odd input --------------------------------------------- */

static void
test_embedded_nul(void **state)
{
	struct nm san[] = { N_DNS("sbc.partner.example\0.evil.example"),
	    N_DNS("sbc.partner.example\0"),
	    N_URI("sip:sbc.partner.example\0.evil.example"), END };
	struct nm cn[] = { N_CN("sbc.partner.example\0.evil.example"), END };
	X509 *x = mkcert(NULL, san), *x2 = mkcert(cn, NULL);

	(void)state;
	refused(x, "sbc.partner.example", "wc",
	    "DNS sbc.partner.example\\x00.evil.example (embedded NUL)",
	    "DNS sbc.partner.example\\x00 (embedded NUL)",
	    "sip URI sip:sbc.partner.example\\x00.evil.example (embedded NUL)",
	    NULL);
	refused(x, "evil.example", "wc", NULL);
	refused(x2, "sbc.partner.example", "wc",
	    "CN sbc.partner.example\\x00.evil.example (embedded NUL)", NULL);
	X509_free(x);
	X509_free(x2);
}

static void
test_duplicate_san_extension(void **state)
{
	/* Two subjectAltName extensions: ambiguous, so no SAN identity. */
	struct nm cn[] = { N_CN("sbc.partner.example"), END };
	struct nm san[] = { N_DNS("sbc.partner.example"), END };
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	X509 *x = mkcert(cn, san);

	(void)state;
	GENERAL_NAME_set0_value(g, GEN_DNS, ia5("other.example", 13));
	sk_GENERAL_NAME_push(gens, g);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_APPEND), 1);
	GENERAL_NAMES_free(gens);
	refused(x, "sbc.partner.example", STRICT,
	    "presented: subjectAltName (unreadable), CN sbc.partner.example "
	    "(not used: the certificate has a subjectAltName)", NULL);
	X509_free(x);
}

static void
test_escaping(void **state)
{
	struct nm san[] = { N_DNS("a\\b\n\x7f.example"), END };
	struct nm cn[] = { N_CN("caf\xc3\xa9.example"), END };
	X509 *x = mkcert(NULL, san), *x2 = mkcert(cn, NULL);

	(void)state;
	refused(x, "a.example", STRICT, "DNS a\\x5cb\\x0a\\x7f.example", NULL);
	refused(x2, "cafe.example", STRICT, "CN caf\\xc3\\xa9.example", NULL);
	refused(x2, "caf\xc3\xa9.example", STRICT, "\"caf\\xc3\\xa9.example\" "
	    "is not ASCII", NULL);
	X509_free(x);
	X509_free(x2);
}

static void
test_expected_invalid(void **state)
{
	struct nm san[] = { N_DNS("sbc.partner.example"), N_DNS(""),
	    N_DNS("."), END };
	X509 *x = mkcert(NULL, san);

	(void)state;
	refused(x, "", STRICT, "the expected name is empty", NULL);
	refused(x, NULL, STRICT, "the expected name is empty", NULL);
	refused(x, ".", STRICT, "\".\" is neither", NULL);
	refused(x, "sbc partner.example", STRICT, "is neither", NULL);
	refused(x, "sbc..partner.example", STRICT, "is neither", NULL);
	refused(x, ".sbc.partner.example", STRICT, "is neither", NULL);
	refused(x, "*.partner.example", "wc", "is neither", NULL);
	refused(x, "sip:sbc.partner.example", STRICT, "is neither", NULL);
	refused(x, "sbc.partner.example:5061", STRICT, "is neither", NULL);
	X509_free(x);
}

static void
test_long_names(void **state)
{
	char label63[64], n253[300], n254[300], okname[80], badname[80];
	char *big, *m, *s;
	struct nm san[4] = { END, END, END, END };
	X509 *x;
	size_t i;

	(void)state;
	memset(label63, 'a', 63);
	label63[63] = '\0';
	/* 3 x 63 + 61 + 3 dots = 253 (RFC 1035 s.2.3.4, no final dot). */
	snprintf(n253, sizeof n253, "%s.%s.%s.%.61s", label63, label63,
	    label63, label63);
	assert_int_equal(strlen(n253), 253);
	snprintf(n254, sizeof n254, "%s.%s.%s.%.62s", label63, label63,
	    label63, label63);
	assert_int_equal(strlen(n254), 254);
	snprintf(okname, sizeof okname, "%s.example", label63);
	snprintf(badname, sizeof badname, "%sa.example", label63);

	big = xmalloc(10001);
	for (i = 0; i < 10000; i++)
		big[i] = i % 10 == 9 ? '.' : 'b';
	big[10000] = '\0';
	san[0].type = san[1].type = san[2].type = GEN_DNS;
	san[0].v = n253;
	san[0].n = strlen(n253);
	san[1].v = big;
	san[1].n = 10000;
	san[2].v = okname;
	san[2].n = strlen(okname);
	x = mkcert(NULL, san);

	m = xasprintf("DNS %s", n253);
	accepted(x, n253, STRICT, TLS_NAME_DNS_SAN, m);
	free(m);
	m = xasprintf("DNS %s", okname);
	accepted(x, okname, STRICT, TLS_NAME_DNS_SAN, m);
	free(m);
	refused(x, n254, STRICT, "is neither a host name", NULL);
	refused(x, badname, STRICT, "is neither a host name", NULL);
	refused(x, big, STRICT, "is neither a host name", NULL);

	/* A huge presented name is cut, so the reason stays readable. */
	s = reason(x, "other.example", STRICT);
	assert_non_null(strstr(s, "...(10000 bytes)"));
	assert_true(strlen(s) < 1200);
	free(s);
	X509_free(x);
	free(big);
}

static void
test_many_names_listed_with_a_cap(void **state)
{
	struct nm san[41];
	char names[40][16];
	X509 *x;
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "n%d.example", i);
		san[i].type = GEN_DNS;
		san[i].v = names[i];
		san[i].n = strlen(names[i]);
	}
	san[40].type = -1;
	x = mkcert(NULL, san);
	/* Matching goes on past what the list shows. */
	accepted(x, "n39.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS n39.example");
	s = reason(x, "x.example", STRICT);
	assert_non_null(strstr(s, "DNS n31.example, and 8 more"));
	assert_null(strstr(s, "n32.example"));
	free(s);
	X509_free(x);
}

static void
test_reason_text(void **state)
{
	struct nm san1[] = { N_URI("sip:other.example"),
	    N_DNS("other.example"), N_DNS("*.partner.example"), END };
	struct nm san2[] = { N_DNS("other.example"), N_DNS("*.partner.example"),
	    N_IP("192.0.2.7"), N_URI("sip:alice@partner.example"), END };
	struct nm cn[] = { N_CN("sbc.partner.example"), END };
	X509 *x1 = mkcert(NULL, san1), *x2 = mkcert(cn, san2);
	char *s;

	(void)state;
	s = reason(x1, "sbc.partner.example", STRICT);
	assert_string_equal(s, "no identity matches \"sbc.partner.example\"; "
	    "presented: sip URI sip:other.example, DNS other.example (not "
	    "used: the certificate has a sip URI identity), DNS "
	    "*.partner.example (not used: the certificate has a sip URI "
	    "identity)");
	free(s);
	s = reason(x2, "sbc.partner.example", STRICT);
	assert_string_equal(s, "no identity matches \"sbc.partner.example\"; "
	    "presented: DNS other.example, DNS *.partner.example (wildcards "
	    "not accepted), IP 192.0.2.7, sip URI sip:alice@partner.example "
	    "(has a user part: not a domain identity), CN sbc.partner.example "
	    "(not used: the certificate has a subjectAltName); CN "
	    "sbc.partner.example is not used: RFC 5922 s.7.1 takes the CN only "
	    "from a certificate without subjectAltName (the zone's cn_compat "
	    "would accept it)");
	free(s);
	/* The expected name is shown as configured. */
	s = reason(x2, "SBC.Nowhere.Example.", WILD);
	assert_non_null(strstr(s, "matches \"SBC.Nowhere.Example.\"; "));
	free(s);
	X509_free(x1);
	X509_free(x2);
}

/* Expect refusal with near miss rule, near_match and hidden_by. */
static void
near(X509 *x, const char *expected, const char *pol, enum tls_name_rule rule,
    const char *match, const char *hidden)
{
	struct tls_name_result r;

	assert_int_equal(run(x, expected, pol, &r), 0);
	if (r.near != rule)
		print_error("%s [%s]: near %s, want %s\n", expected, pol,
		    tls_name_rule_name(r.near), tls_name_rule_name(rule));
	assert_int_equal(r.near, rule);
	if (match == NULL)
		assert_null(r.near_match);
	else
		assert_string_equal(r.near_match, match);
	if (hidden == NULL)
		assert_null(r.hidden_by);
	else
		assert_string_equal(r.hidden_by, hidden);
	tls_name_result_clear(&r);
}

/*
 * A refusal says which rule would have matched: a dNSName hidden by a
 * sip URI identity (s.7.1), a CN beside a subjectAltName (cn_compat), a
 * wildcard (accept_wildcards); nothing for a plain miss or an accept.
 */
static void
test_near_misses(void **state)
{
	struct nm san1[] = { N_URI("sip:alice@edge.example"),
	    N_URI("sips:edge.example"), N_URI("sip:domain.example;lr"),
	    N_DNS("EDGE.example."), END };
	struct nm san2[] = { N_DNS("other.example"), END };
	struct nm cn2[] = { N_CN("edge.example"), END };
	struct nm san3[] = { N_DNS("*.example.net"), N_URI("sip:x.example"),
	    END };
	struct nm san4[] = { N_DNS("*.example.net"), END };
	struct tls_name_result r;
	X509 *x1 = mkcert(NULL, san1), *x2 = mkcert(cn2, san2);
	X509 *x3 = mkcert(NULL, san3), *x4 = mkcert(NULL, san4);

	(void)state;
	/* The user-part and sips: URIs are no identity; the third one is. */
	near(x1, "edge.example", STRICT, TLS_NAME_DNS_SAN,
	    "DNS EDGE.example.", "sip URI sip:domain.example;lr");
	near(x1, "edge.example", WILD COMPAT, TLS_NAME_DNS_SAN,
	    "DNS EDGE.example.", "sip URI sip:domain.example;lr");
	near(x1, "nowhere.example", STRICT, TLS_NAME_NONE, NULL, NULL);
	accepted(x1, "domain.example", STRICT, TLS_NAME_SIP_URI_SAN,
	    "sip URI sip:domain.example;lr");
	assert_int_equal(run(x1, "domain.example", STRICT, &r), 1);
	assert_int_equal(r.near, TLS_NAME_NONE);
	assert_null(r.near_match);
	assert_null(r.hidden_by);
	tls_name_result_clear(&r);

	near(x2, "edge.example", STRICT, TLS_NAME_COMPAT_CN, "CN edge.example",
	    NULL);
	/* The reason ends with the rule that kept the near miss out. */
	refused(x1, "edge.example", STRICT, "; DNS EDGE.example. is not used: "
	    "RFC 5922 s.7.1 takes only the sip URI identities when there are "
	    "any (sip URI sip:domain.example;lr)", NULL);
	refused(x2, "edge.example", STRICT, "; CN edge.example is not used: "
	    "RFC 5922 s.7.1 takes the CN only from a certificate without "
	    "subjectAltName (the zone's cn_compat would accept it)", NULL);
	refused(x4, "a.example.net", STRICT, "; DNS *.example.net would cover "
	    "it, but RFC 5922 s.7.2 accepts no wildcards (the zone's "
	    "accept_wildcards would)", NULL);
	accepted(x2, "edge.example", COMPAT, TLS_NAME_COMPAT_CN,
	    "CN edge.example");
	/* An IP is never near a DNS name or CN. */
	near(x2, "192.0.2.1", STRICT, TLS_NAME_NONE, NULL, NULL);

	/* A hidden wildcard is not a near miss; a plain one is. */
	near(x3, "a.example.net", STRICT, TLS_NAME_NONE, NULL, NULL);
	near(x4, "a.example.net", STRICT, TLS_NAME_WILDCARD,
	    "DNS *.example.net", NULL);
	near(x4, "b.a.example.net", STRICT, TLS_NAME_NONE, NULL, NULL);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	X509_free(x4);
}

static void
test_presented_on_success(void **state)
{
	struct nm san[] = { N_DNS("sbc.partner.example"), N_IP("192.0.2.1"),
	    END };
	struct nm cn[] = { N_CN("sbc"), END };
	struct tls_name_result r;
	X509 *x = mkcert(cn, san);

	(void)state;
	assert_int_equal(tls_name_check(x, "sbc.partner.example", NULL, &r),
	    1);
	assert_string_equal(r.presented, "DNS sbc.partner.example, IP "
	    "192.0.2.1, CN sbc (not used: the certificate has a "
	    "subjectAltName)");
	tls_name_result_clear(&r);
	assert_null(r.presented);
	assert_null(r.matched);
	assert_int_equal(r.ok, 0);
	tls_name_result_clear(&r);
	tls_name_result_clear(NULL);
	X509_free(x);
}

static void
test_null_inputs(void **state)
{
	struct nm san[] = { N_DNS("*.partner.example"), END };
	struct tls_name_result r;
	X509 *x = mkcert(NULL, san);

	(void)state;
	assert_int_equal(tls_name_check(NULL, "sbc.partner.example", NULL,
	    &r), 0);
	assert_string_equal(r.reason, "there is no peer certificate");
	tls_name_result_clear(&r);
	/* A NULL policy is the strict default: no wildcards. */
	assert_int_equal(tls_name_check(x, "sbc.partner.example", NULL, &r),
	    0);
	assert_non_null(strstr(r.reason, "(wildcards not accepted)"));
	tls_name_result_clear(&r);
	X509_free(x);
}

static void
test_rule_names(void **state)
{
	(void)state;
	assert_string_equal(tls_name_rule_name(TLS_NAME_NONE), "none");
	assert_string_equal(tls_name_rule_name(TLS_NAME_SIP_URI_SAN),
	    "sip URI SAN");
	assert_string_equal(tls_name_rule_name(TLS_NAME_DNS_SAN), "DNS SAN");
	assert_string_equal(tls_name_rule_name(TLS_NAME_CN_NO_SAN),
	    "CN without SAN");
	assert_string_equal(tls_name_rule_name(TLS_NAME_IP_SAN), "IP SAN");
	assert_string_equal(tls_name_rule_name(TLS_NAME_WILDCARD), "wildcard");
	assert_string_equal(tls_name_rule_name(TLS_NAME_COMPAT_CN),
	    "compatibility CN");
	assert_string_equal(tls_name_rule_name((enum tls_name_rule)99),
	    "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_exact),
		cmocka_unit_test(test_dns_case),
		cmocka_unit_test(test_dns_trailing_dot),
		cmocka_unit_test(test_dns_no_suffix_or_prefix),
		cmocka_unit_test(test_dns_leading_dot_is_literal),
		cmocka_unit_test(test_idna_a_labels),
		cmocka_unit_test(test_expected_underscore),
		cmocka_unit_test(test_sip_uri),
		cmocka_unit_test(test_sip_uri_scheme_case),
		cmocka_unit_test(test_sip_uri_port_params_headers),
		cmocka_unit_test(test_sip_uri_user_part),
		cmocka_unit_test(test_sips_and_other_schemes),
		cmocka_unit_test(test_sip_uri_shuts_out_dns),
		cmocka_unit_test(test_sip_uri_ip_host),
		cmocka_unit_test(test_sip_uri_malformed),
		cmocka_unit_test(test_sip_uri_wildcard),
		cmocka_unit_test(test_cn_without_san),
		cmocka_unit_test(test_cn_ignored_with_any_san),
		cmocka_unit_test(test_cn_several),
		cmocka_unit_test(test_no_names),
		cmocka_unit_test(test_compat_cn),
		cmocka_unit_test(test_compat_cn_no_wildcard),
		cmocka_unit_test(test_wildcard_off),
		cmocka_unit_test(test_wildcard_on),
		cmocka_unit_test(test_wildcard_bad_forms),
		cmocka_unit_test(test_wildcard_exact_preferred),
		cmocka_unit_test(test_wildcard_cn),
		cmocka_unit_test(test_wildcard_never_for_ip),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_forms),
		cmocka_unit_test(test_ipv4_mapped_is_different),
		cmocka_unit_test(test_ip_never_dns_or_cn),
		cmocka_unit_test(test_ip_malformed_entry),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_duplicate_san_extension),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_expected_invalid),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_many_names_listed_with_a_cap),
		cmocka_unit_test(test_reason_text),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_presented_on_success),
		cmocka_unit_test(test_null_inputs),
		cmocka_unit_test(test_rule_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
