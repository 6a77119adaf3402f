/*
 * tls_ca.c: a small certificate authority: the daemon's temporary
 * first-start CA and `sipedge-cert lab-ca` share this code.  It signs only
 * what its caller asked for, builds every extension that carries operator
 * text (names, URLs) from structures rather than from OpenSSL's config
 * syntax (so a comma in a URL cannot add an extension).  This file holds
 * the keys, the names and the certificates (a root, a signed certificate,
 * what a CSR asks for); tls_ca_dir.c a CA kept in a directory (index,
 * revocation, CRLs), tls_ca_temp.c the daemon's temporary CA.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "util/file.h"
#include "util/name.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Certificates start an hour in the past: clocks of lab machines drift. */
#define BACKDATE	3600

/* --- keys ----------------------------------------------------------- */

static const struct {
	const char		*word;
	enum tls_key_type	 type;
} key_words[] = {
	{ "ec", TLS_KEY_EC_P256 },
	{ "ec256", TLS_KEY_EC_P256 },
	{ "ec384", TLS_KEY_EC_P384 },
	{ "rsa2048", TLS_KEY_RSA2048 },
	{ "rsa3072", TLS_KEY_RSA3072 },
	{ "rsa4096", TLS_KEY_RSA4096 },
};

int
tls_key_type_parse(const char *s, enum tls_key_type *tp)
{
	size_t i;

	for (i = 0; i < sizeof key_words / sizeof key_words[0]; i++) {
		if (strcasecmp(s, key_words[i].word) == 0) {
			*tp = key_words[i].type;
			return 0;
		}
	}
	return -1;
}

EVP_PKEY *
tls_key_generate(enum tls_key_type t, char **cause)
{
	EVP_PKEY *k = NULL;
	char why[256];

	switch (t) {
	case TLS_KEY_EC_P256:
		k = EVP_EC_gen("P-256");
		break;
	case TLS_KEY_EC_P384:
		k = EVP_EC_gen("P-384");
		break;
	case TLS_KEY_RSA2048:
		k = EVP_RSA_gen(2048);
		break;
	case TLS_KEY_RSA3072:
		k = EVP_RSA_gen(3072);
		break;
	case TLS_KEY_RSA4096:
		k = EVP_RSA_gen(4096);
		break;
	}
	if (k == NULL)
		*cause = xasprintf("cannot generate a private key (%s)",
		    pki_ossl_reason(why, sizeof why));
	return k;
}

/* --- names ---------------------------------------------------------- */

/* The syntax of names is util/name.c's; this only encodes them. */

static GENERAL_NAME *
gen_ia5(int type, const char *v)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (g == NULL || s == NULL ||
	    ASN1_STRING_set(s, v, (int)strlen(v)) != 1) {
		GENERAL_NAME_free(g);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, type, s);
	return g;
}

/* A canonical entry (name_san_parse, name_san_host) as a GENERAL_NAME. */
static GENERAL_NAME *
gen_entry(const char *e, char **cause)
{
	ASN1_OCTET_STRING *ip;
	unsigned char addr[16];
	GENERAL_NAME *g = NULL;
	int alen;

	if (strncmp(e, "IP:", 3) == 0) {
		if ((alen = name_ip_parse(e + 3, addr)) != 0 &&
		    (ip = ASN1_OCTET_STRING_new()) != NULL) {
			if (ASN1_OCTET_STRING_set(ip, addr, alen) == 1 &&
			    (g = GENERAL_NAME_new()) != NULL)
				GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
			else
				ASN1_OCTET_STRING_free(ip);
		}
	} else if (strncmp(e, "DNS:", 4) == 0)
		g = gen_ia5(GEN_DNS, e + 4);
	else if (strncmp(e, "URI:", 4) == 0)
		g = gen_ia5(GEN_URI, e + 4);
	if (g == NULL)
		*cause = xstrdup("out of memory building a subjectAltName");
	return g;
}

/* One subjectAltName entry in name_san_parse's syntax as a GENERAL_NAME. */
static GENERAL_NAME *
san_parse(const char *san, char **cause)
{
	GENERAL_NAME *g;
	char *e;

	if ((e = name_san_parse(san, cause)) == NULL)
		return NULL;
	g = gen_entry(e, cause);
	free(e);
	return g;
}

/* --- certificates --------------------------------------------------- */

/* An extension from OpenSSL's config syntax: only for fixed values. */
static int
add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* cRLDistributionPoints with one full-name URI. */
static int
add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *g = gen_ia5(GEN_URI, url);
	int ok = 0;

	if (cdp == NULL || dp == NULL || g == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) == NULL) {
		GENERAL_NAME_free(g);
		goto out;
	}
	dp->distpoint->type = 0;	/* fullName */
	sk_GENERAL_NAME_push(dp->distpoint->name.fullname, g);
	sk_DIST_POINT_push(cdp, dp);
	dp = NULL;
	ok = X509_add1_ext_i2d(x, NID_crl_distribution_points, cdp, 0,
	    X509V3_ADD_DEFAULT);
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return ok == 1 ? 0 : -1;
}

/* authorityInfoAccess with one OCSP responder URI. */
static int
add_aia(X509 *x, const char *url)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAME *g = gen_ia5(GEN_URI, url);
	int ok = 0;

	if (aia == NULL || ad == NULL || g == NULL) {
		GENERAL_NAME_free(g);
		goto out;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	GENERAL_NAME_free(ad->location);
	ad->location = g;
	sk_ACCESS_DESCRIPTION_push(aia, ad);
	ad = NULL;
	ok = X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_DEFAULT);
out:
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return ok == 1 ? 0 : -1;
}

/* A random positive 128-bit serial (RFC 5280 4.1.2.2: at most 20 octets). */
static int
set_random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	do {
		if (RAND_bytes(b, sizeof b) != 1)
			return -1;
		b[0] &= 0x7f;
	} while (b[0] == 0);	/* keep all 16 octets: a fixed length */
	if ((bn = BN_bin2bn(b, sizeof b, NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* Subject "CN=cn" or "O=org, CN=cn"; NULL with *cause. */
static X509_NAME *
make_name(const char *cn, const char *org, char **cause)
{
	X509_NAME *name;

	if (cn == NULL || *cn == '\0') {
		*cause = xstrdup("the subject needs a common name (CN)");
		return NULL;
	}
	if (strlen(cn) > 64 || (org != NULL && strlen(org) > 64)) {
		*cause = xasprintf("'%s' is too long for a certificate subject "
		    "(at most 64 characters)", strlen(cn) > 64 ? cn : org);
		return NULL;
	}
	if (org != NULL && *org == '\0') {
		*cause = xstrdup("the subject organisation (O) is empty");
		return NULL;
	}
	name = X509_NAME_new();
	if (name == NULL || (org != NULL && X509_NAME_add_entry_by_txt(name, "O",
	    MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) != 1) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1) {
		ERR_clear_error();
		X509_NAME_free(name);
		*cause = xasprintf("cannot encode the subject CN=%s%s%s (it must "
		    "be UTF-8)", cn, org ? ", O=" : "", org ? org : "");
		return NULL;
	}
	return name;
}

/* A v3 certificate for pub: serial, validity, subject; no extensions. */
static X509 *
new_cert(EVP_PKEY *pub, const char *cn, const char *org, int days,
    char **cause)
{
	X509_NAME *name;
	X509 *x;

	if (days < 1 || days > TLS_CA_MAX_DAYS) {
		*cause = xasprintf("a validity of %d days is out of range (1 "
		    "to %d)", days, TLS_CA_MAX_DAYS);
		return NULL;
	}
	if ((name = make_name(cn, org, cause)) == NULL)
		return NULL;
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    set_random_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) == NULL ||
	    X509_set_pubkey(x, pub) != 1 || X509_set_subject_name(x, name) != 1) {
		*cause = xstrdup("cannot build the certificate (out of memory "
		    "or no random numbers)");
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(name);
	return x;
}

static int
sign(X509 *x, EVP_PKEY *key, char **cause)
{
	char why[256];

	if (X509_sign(x, key, EVP_sha256()) == 0) {
		*cause = xasprintf("cannot sign the certificate (%s)",
		    pki_ossl_reason(why, sizeof why));
		return -1;
	}
	return 0;
}

X509 *
tls_ca_make_root(EVP_PKEY *key, const char *cn, const char *org, int days,
    char **cause)
{
	X509 *x;

	if ((x = new_cert(key, cn, org, days, cause)) == NULL)
		return NULL;
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") == -1 ||
	    add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") == -1 ||
	    add_conf_ext(x, x, NID_subject_key_identifier, "hash") == -1 ||
	    add_conf_ext(x, x, NID_authority_key_identifier, "keyid") == -1) {
		ERR_clear_error();
		*cause = xstrdup("cannot add the CA extensions");
		X509_free(x);
		return NULL;
	}
	if (sign(x, key, cause) == -1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * The subjectAltName list of p: the CN first when it is a DNS name or an
 * IP address that p does not list (a peer following RFC 6125 looks only
 * at the SANs), then p's entries.  NULL with *cause.
 */
static GENERAL_NAMES *
profile_sans(const struct tls_ca_profile *p, char **cause)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g, *cn = NULL;
	char *e, *why = NULL;
	size_t i;
	int j;

	for (i = 0; i < p->nsans; i++) {
		if ((g = san_parse(p->sans[i], cause)) == NULL) {
			GENERAL_NAMES_free(gens);
			return NULL;
		}
		sk_GENERAL_NAME_push(gens, g);
	}
	/* A CN that is neither host name nor address stays out. */
	if ((e = name_san_host(p->cn, &why)) != NULL) {
		cn = gen_entry(e, &why);
		free(e);
	}
	free(why);
	for (j = 0; cn != NULL && j < sk_GENERAL_NAME_num(gens); j++) {
		if (GENERAL_NAME_cmp(cn, sk_GENERAL_NAME_value(gens, j)) == 0) {
			GENERAL_NAME_free(cn);
			cn = NULL;
		}
	}
	if (cn != NULL)
		sk_GENERAL_NAME_unshift(gens, cn);
	return gens;
}

X509 *
tls_ca_sign(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub,
    const struct tls_ca_profile *p, char **cause)
{
	GENERAL_NAMES *gens = NULL;
	X509 *x = NULL;
	time_t end;
	char *until;
	const char *eku;
	int rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;

	if (rsa && EVP_PKEY_get_bits(pub) < 2048) {
		*cause = xasprintf("the key is RSA %d bits: sipedge needs at "
		    "least 2048 (3072 or 4096 recommended for RSA)",
		    EVP_PKEY_get_bits(pub));
		return NULL;
	}
	if ((p->crl_url != NULL && name_url_check(p->crl_url, cause) == -1) ||
	    (p->ocsp_url != NULL && name_url_check(p->ocsp_url, cause) == -1))
		return NULL;
	if ((gens = profile_sans(p, cause)) == NULL)
		return NULL;
	if ((x = new_cert(pub, p->cn, p->org, p->days, cause)) == NULL)
		goto fail;
	if (p->subject != NULL && X509_set_subject_name(x, p->subject) != 1) {
		*cause = xstrdup("cannot copy the subject into the certificate");
		goto fail;
	}
	end = time(NULL) + p->days * 86400L;
	if (X509_cmp_time(X509_get0_notAfter(ca), &end) < 0) {
		until = pki_time_iso(X509_get0_notAfter(ca));
		*cause = xasprintf("a certificate valid for %d days would outlive "
		    "the CA certificate, which expires at %s (at most %lld "
		    "days)", p->days, until,
		    pki_seconds_left(ca, time(NULL)) / 86400);
		free(until);
		goto fail;
	}
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	if (p->server && !p->client)
		eku = "serverAuth";
	else if (p->client && !p->server)
		eku = "clientAuth";
	else
		eku = "serverAuth,clientAuth";
	/* ECDSA keys only sign; RSA key exchange (TLS 1.2) encrypts to the
	 * key, hence keyEncipherment for RSA only. */
	if (add_conf_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_conf_ext(x, ca, NID_key_usage, rsa ?
	    "critical,digitalSignature,keyEncipherment" :
	    "critical,digitalSignature") == -1 ||
	    add_conf_ext(x, ca, NID_ext_key_usage, eku) == -1 ||
	    add_conf_ext(x, ca, NID_subject_key_identifier, "hash") == -1 ||
	    add_conf_ext(x, ca, NID_authority_key_identifier, "keyid") == -1 ||
	    (sk_GENERAL_NAME_num(gens) > 0 && X509_add1_ext_i2d(x,
	    NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) ||
	    (p->crl_url != NULL && add_cdp(x, p->crl_url) == -1) ||
	    (p->ocsp_url != NULL && add_aia(x, p->ocsp_url) == -1)) {
		ERR_clear_error();
		*cause = xstrdup("cannot add the certificate extensions");
		goto fail;
	}
	if (sign(x, ca_key, cause) == -1)
		goto fail;
	GENERAL_NAMES_free(gens);
	return x;
fail:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return NULL;
}

/* One GENERAL_NAME as "DNS:x", "IP:x" or "URI:x"; NULL for other types. */
static char *
gen_text(const GENERAL_NAME *g)
{
	const ASN1_STRING *s;
	char ip[INET6_ADDRSTRLEN];

	switch (g->type) {
	case GEN_DNS:
	case GEN_URI:
		s = g->d.ia5;
		return xasprintf("%s:%.*s", g->type == GEN_DNS ? "DNS" : "URI",
		    ASN1_STRING_length(s), ASN1_STRING_get0_data(s));
	case GEN_IPADD:
		s = g->d.ip;
		if (inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
		    ASN1_STRING_get0_data(s), ip, sizeof ip) == NULL ||
		    (ASN1_STRING_length(s) != 4 && ASN1_STRING_length(s) != 16))
			return NULL;
		return xasprintf("IP:%s", ip);
	}
	return NULL;
}

static void
names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
tls_ca_csr_names_clear(struct tls_ca_csr_names *nm)
{
	free(nm->cn);
	free(nm->org);
	names_free(nm->sans, nm->nsans);
	memset(nm, 0, sizeof *nm);
}

/* The first entry nid of a name as UTF-8, or NULL. */
static char *
name_entry(X509_NAME *n, int nid)
{
	unsigned char *utf8;
	char *out;
	int i, len;

	if ((i = X509_NAME_get_index_by_NID(n, nid, -1)) < 0 ||
	    (len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(n, i)))) < 0)
		return NULL;
	out = xstrndup((const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return out;
}

EVP_PKEY *
tls_ca_csr_key(X509_REQ *req, const char *name, struct tls_ca_csr_names *nm,
    char **cause)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
	char *t;
	int i;

	memset(nm, 0, sizeof *nm);
	if (pub == NULL) {
		ERR_clear_error();
		*cause = xasprintf("%s holds no usable public key", name);
		return NULL;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		*cause = xasprintf("the signature of %s does not verify: the "
		    "request was changed after it was signed, or is damaged",
		    name);
		return NULL;
	}
	nm->cn = name_entry(X509_REQ_get_subject_name(req), NID_commonName);
	nm->org = name_entry(X509_REQ_get_subject_name(req),
	    NID_organizationName);
	if ((exts = X509_REQ_get_extensions(req)) != NULL) {
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if ((t = gen_text(sk_GENERAL_NAME_value(gens, i))) == NULL)
			continue;
		nm->sans = xreallocarray(nm->sans, nm->nsans + 1,
		    sizeof *nm->sans);
		nm->sans[nm->nsans++] = t;
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	EVP_PKEY_up_ref(pub);
	return pub;
}
