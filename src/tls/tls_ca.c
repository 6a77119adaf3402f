/*
 * tls_ca.c: a small certificate authority: the daemon's temporary
 * first-start CA and `sipedge-cert lab-ca` share this code.  It signs only
 * what its caller asked for, builds every extension that carries operator
 * text (names, URLs) from structures rather than from OpenSSL's config
 * syntax (so a comma in a URL cannot add an extension), and never leaves
 * a CA directory half changed.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

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

/* --- a CA kept in a directory ---------------------------------------- */

struct tls_ca {
	char			*dir;
	X509			*cert;
	EVP_PKEY		*key;
	struct tls_ca_entry	*v;	/* the index, in issue order */
	size_t			 n;
	int			 lockfd;
};

static const struct {
	const char	*name;
	int		 reason;
} reasons[] = {
	{ "unspecified", CRL_REASON_UNSPECIFIED },
	{ "keyCompromise", CRL_REASON_KEY_COMPROMISE },
	{ "cACompromise", CRL_REASON_CA_COMPROMISE },
	{ "affiliationChanged", CRL_REASON_AFFILIATION_CHANGED },
	{ "superseded", CRL_REASON_SUPERSEDED },
	{ "cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION },
	{ "certificateHold", CRL_REASON_CERTIFICATE_HOLD },
	{ "privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN },
	{ "aACompromise", CRL_REASON_AA_COMPROMISE },
};

int
tls_ca_reason_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcasecmp(s, reasons[i].name) == 0)
			return reasons[i].reason;
	return -1;
}

const char *
tls_ca_reason_name(int reason)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].reason == reason)
			return reasons[i].name;
	return "unspecified";
}

static char *
path_in(const char *dir, const char *file)
{
	return xasprintf("%s/%s", dir, file);
}

/* Whether s is a serial as the index stores it: upper-case hex. */
static int
is_index_serial(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s) || islower((unsigned char)*s))
			return 0;
	return 1;
}

static void
entry_clear(struct tls_ca_entry *e)
{
	free(e->serial);
	free(e->subject);
}

/*
 * The index: '#' comments, then one line per certificate with six
 * tab-separated fields: V (valid) or R (revoked), the serial in hex,
 * notAfter, the revocation time or '-', the reason or '-', the subject.
 */
static int
index_load(struct tls_ca *ca, char **cause)
{
	char *path = path_in(ca->dir, TLS_CA_INDEX), *line = NULL, *s, *f[6];
	struct tls_ca_entry e;
	size_t cap = 0, nf;
	ssize_t len;
	int lineno = 0, rv = -1;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		for (s = line, nf = 0; nf < 6 && s != NULL; nf++)
			f[nf] = strsep(&s, nf < 5 ? "\t" : "");
		memset(&e, 0, sizeof e);
		if (nf != 6 || f[5] == NULL || (strcmp(f[0], "V") != 0 &&
		    strcmp(f[0], "R") != 0) || !is_index_serial(f[1]) ||
		    str_time_parse_iso(f[2], &e.not_after) == -1 ||
		    (f[0][0] == 'V' && (strcmp(f[3], "-") != 0 ||
		    strcmp(f[4], "-") != 0)) ||
		    (f[0][0] == 'R' && (str_time_parse_iso(f[3], &e.revoked_at) == -1 ||
		    (e.reason = tls_ca_reason_parse(f[4])) == -1))) {
			*cause = xasprintf("%s:%d: damaged entry (expected V or R, "
			    "serial, notAfter, revocation time, reason and "
			    "subject, separated by tabs)", path, lineno);
			goto out;
		}
		e.serial = xstrdup(f[1]);
		e.subject = xstrdup(f[5]);
		ca->v = xreallocarray(ca->v, ca->n + 1, sizeof *ca->v);
		ca->v[ca->n++] = e;
	}
	if (ferror(fp)) {
		*cause = xasprintf("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	fclose(fp);
	free(line);
	free(path);
	return rv;
}

/* The index file's text for entries v[0..n). */
static char *
index_text(const struct tls_ca_entry *v, size_t n, size_t *lenp)
{
	char *buf = NULL, *na, *ra;
	size_t len = 0, i;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		fatal("open_memstream: %s", strerror(errno));
	fprintf(fp, "# sipedge lab CA index, written by sipedge-cert.\n"
	    "# status (V valid, R revoked), serial, notAfter, revocation "
	    "time, reason, subject\n");
	for (i = 0; i < n; i++) {
		na = str_time_iso_dup(v[i].not_after);
		ra = v[i].revoked_at ? str_time_iso_dup(v[i].revoked_at) : xstrdup("-");
		fprintf(fp, "%s\t%s\t%s\t%s\t%s\t%s\n", v[i].revoked_at ? "R" :
		    "V", v[i].serial, na, ra, v[i].revoked_at ?
		    tls_ca_reason_name(v[i].reason) : "-", v[i].subject);
		free(na);
		free(ra);
	}
	if (fclose(fp) != 0)
		fatal("open_memstream: %s", strerror(errno));
	*lenp = len;
	return buf;
}

static int
index_save(struct tls_ca *ca, char **cause)
{
	char *path = path_in(ca->dir, TLS_CA_INDEX), *text;
	size_t len;
	int rv;

	text = index_text(ca->v, ca->n, &len);
	rv = file_write_atomic(path, text, len, 0644, cause);
	free(text);
	free(path);
	return rv;
}

/*
 * Take the directory's lock, waiting up to 10 seconds for another
 * sipedge-cert to finish with it.  The descriptor, or -1 with *cause.
 */
static int
lock_dir(const char *dir, char **cause)
{
	char *path = path_in(dir, TLS_CA_LOCK);
	int fd, i;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; i++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || i == 100) {
			*cause = xasprintf("cannot lock %s: %s", path,
			    errno == EWOULDBLOCK ? "another sipedge-cert is "
			    "still using this CA" : strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		usleep(100000);	/* sipedge-cert only: no event loop here */
	}
	free(path);
	return fd;
}

void
tls_ca_free(struct tls_ca *ca)
{
	size_t i;

	if (ca == NULL)
		return;
	for (i = 0; i < ca->n; i++)
		entry_clear(&ca->v[i]);
	free(ca->v);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	if (ca->lockfd != -1)
		close(ca->lockfd);	/* releases the lock */
	free(ca->dir);
	free(ca);
}

static struct tls_ca *
ca_new(const char *dir)
{
	struct tls_ca *ca = xcalloc(1, sizeof *ca);

	ca->dir = xstrdup(dir);
	ca->lockfd = -1;
	return ca;
}

/* Whether path exists (as anything). */
static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

struct tls_ca *
tls_ca_create(const char *dir, const char *cn, const char *org,
    enum tls_key_type kt, int days, int force, char **cause)
{
	static const char *const files[] = {
		TLS_CA_KEY, TLS_CA_CERT, TLS_CA_INDEX, TLS_CA_CRLNUMBER
	};
	struct tls_ca *ca = ca_new(dir);
	char *final[4], *staged[4], *text, *subj, *until;
	STACK_OF(X509) *old;
	size_t i, len, nstaged = 0;
	int rv = -1;

	for (i = 0; i < 4; i++) {
		final[i] = path_in(dir, files[i]);
		staged[i] = xasprintf("%s.new", final[i]);
	}
	if (file_mkdir_p(dir, 0700, cause) == -1 ||
	    (ca->lockfd = lock_dir(dir, cause)) == -1)
		goto out;
	if (!force && (exists(final[0]) || exists(final[1]))) {
		if ((old = pki_read_certs(final[1], NULL, &text)) != NULL) {
			subj = pki_name_line(X509_get_subject_name(
			    sk_X509_value(old, 0)));
			until = pki_time_iso(X509_get0_notAfter(
			    sk_X509_value(old, 0)));
			*cause = xasprintf("%s already holds a CA (%s, valid "
			    "until %s); replacing it needs --force, and makes "
			    "everything it issued useless", dir, subj, until);
			free(subj);
			free(until);
			sk_X509_pop_free(old, X509_free);
		} else {
			*cause = xasprintf("%s already holds a CA (%s or %s "
			    "exists); replacing it needs --force", dir,
			    files[0], files[1]);
			free(text);
		}
		goto out;
	}
	if ((ca->key = tls_key_generate(kt, cause)) == NULL ||
	    (ca->cert = tls_ca_make_root(ca->key, cn, org, days, cause)) == NULL)
		goto out;

	/*
	 * Stage every file next to its final name, then rename them all:
	 * a failure while staging leaves the directory as it was, and
	 * renames within a directory do not fail for want of space.
	 */
	if (pki_write_key(staged[0], ca->key, cause) == -1)
		goto out;
	nstaged++;
	if (pki_write_cert(staged[1], ca->cert, cause) == -1)
		goto out;
	nstaged++;
	text = index_text(NULL, 0, &len);
	rv = file_write_atomic(staged[2], text, len, 0644, cause);
	free(text);
	if (rv == -1)
		goto out;
	nstaged++;
	rv = -1;
	if (file_write_atomic(staged[3], "0\n", 2, 0644, cause) == -1)
		goto out;
	nstaged++;
	for (i = 0; i < 4; i++) {
		if (rename(staged[i], final[i]) == -1) {
			*cause = xasprintf("cannot rename %s to %s: %s",
			    staged[i], final[i], strerror(errno));
			goto out;
		}
	}
	nstaged = 0;
	/* CRLs of a previous CA would not verify against this one. */
	for (i = 0; i < 2; i++) {
		text = path_in(dir, i == 0 ? TLS_CA_CRL : TLS_CA_CRL_DER);
		unlink(text);
		free(text);
	}
	rv = 0;
out:
	for (i = 0; i < nstaged; i++)
		unlink(staged[i]);
	for (i = 0; i < 4; i++) {
		free(final[i]);
		free(staged[i]);
	}
	if (rv == -1) {
		tls_ca_free(ca);
		return NULL;
	}
	return ca;
}

struct tls_ca *
tls_ca_open(const char *dir, char **cause)
{
	struct tls_ca *ca = ca_new(dir);
	char *certf = path_in(dir, TLS_CA_CERT), *keyf = path_in(dir, TLS_CA_KEY);
	STACK_OF(X509) *certs = NULL;
	int rv = -1;

	if (access(certf, F_OK) != 0) {
		*cause = xasprintf("%s holds no lab CA (%s: %s)", dir, certf,
		    strerror(errno));
		goto out;
	}
	if ((ca->lockfd = lock_dir(dir, cause)) == -1 ||
	    (certs = pki_read_certs(certf, NULL, cause)) == NULL ||
	    (ca->key = pki_read_key(keyf, cause)) == NULL)
		goto out;
	ca->cert = sk_X509_shift(certs);
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		*cause = xasprintf("the CA key %s does not match the CA "
		    "certificate %s", keyf, certf);
		goto out;
	}
	if (index_load(ca, cause) == -1)
		goto out;
	rv = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	free(certf);
	free(keyf);
	if (rv == -1) {
		tls_ca_free(ca);
		return NULL;
	}
	return ca;
}

X509 *
tls_ca_get0_cert(const struct tls_ca *ca)
{
	return ca->cert;
}

size_t
tls_ca_count(const struct tls_ca *ca)
{
	return ca->n;
}

const struct tls_ca_entry *
tls_ca_entry(const struct tls_ca *ca, size_t i)
{
	return i < ca->n ? &ca->v[i] : NULL;
}

/* The serial of x as upper-case hex, as the index keeps it. */
static char *
serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h, *out;

	if (bn == NULL || (h = BN_bn2hex(bn)) == NULL)
		fatal("out of memory");
	out = xstrdup(h);
	OPENSSL_free(h);
	BN_free(bn);
	return out;
}

/* The index entry whose serial equals hex (compared as numbers). */
static struct tls_ca_entry *
find_serial(struct tls_ca *ca, const char *hex)
{
	BIGNUM *want = NULL, *have = NULL;
	struct tls_ca_entry *e = NULL;
	size_t i;

	if (BN_hex2bn(&want, hex) == 0)
		return NULL;
	for (i = 0; i < ca->n && e == NULL; i++) {
		if (BN_hex2bn(&have, ca->v[i].serial) != 0 &&
		    BN_cmp(want, have) == 0)
			e = &ca->v[i];
		BN_free(have);
		have = NULL;
	}
	BN_free(want);
	return e;
}

X509 *
tls_ca_issue(struct tls_ca *ca, EVP_PKEY *pub, const struct tls_ca_profile *p,
    char **cause)
{
	X509 *x;
	char *hex;
	int tries;

	/* A repeated 127-bit random serial is all but impossible; checking
	 * costs nothing and keeps the index a set. */
	for (tries = 0; tries < 8; tries++) {
		if ((x = tls_ca_sign(ca->cert, ca->key, pub, p, cause)) == NULL)
			return NULL;
		hex = serial_hex(x);
		if (find_serial(ca, hex) == NULL) {
			free(hex);
			return x;
		}
		free(hex);
		X509_free(x);
	}
	*cause = xstrdup("cannot find an unused serial number");
	return NULL;
}

int
tls_ca_record(struct tls_ca *ca, X509 *x, char **cause)
{
	struct tls_ca_entry e;
	struct tm tm;

	memset(&e, 0, sizeof e);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		*cause = xstrdup("the certificate has an unreadable notAfter");
		return -1;
	}
	e.not_after = timegm(&tm);
	e.serial = serial_hex(x);
	e.subject = pki_name_line(X509_get_subject_name(x));
	ca->v = xreallocarray(ca->v, ca->n + 1, sizeof *ca->v);
	ca->v[ca->n++] = e;
	if (index_save(ca, cause) == -1) {
		entry_clear(&ca->v[--ca->n]);
		return -1;
	}
	return 0;
}

/* A serial as typed: hex digits, maybe with colons or a 0x prefix. */
static char *
clean_serial(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s)) {
			free(out);
			return NULL;
		}
		*o++ = (char)toupper((unsigned char)*s);
	}
	*o = '\0';
	if (o == out || o - out > 40) {
		free(out);
		return NULL;
	}
	return out;
}

int
tls_ca_revoke_serial(struct tls_ca *ca, const char *serial, int reason,
    const struct tls_ca_entry **ep, char **cause)
{
	struct tls_ca_entry *e;
	char *hex, *when;

	if ((hex = clean_serial(serial)) == NULL) {
		*cause = xasprintf("'%s' is not a serial number (hexadecimal, "
		    "as `sipedge-cert lab-ca list` shows it) nor a "
		    "certificate file", serial);
		return -1;
	}
	e = find_serial(ca, hex);
	free(hex);
	if (e == NULL) {
		*cause = xasprintf("no certificate with serial %s was issued by "
		    "the CA in %s", serial, ca->dir);
		return -1;
	}
	if (e->revoked_at != 0) {
		when = str_time_iso_dup(e->revoked_at);
		*cause = xasprintf("the certificate with serial %s (%s) was "
		    "already revoked at %s (%s)", e->serial, e->subject, when,
		    tls_ca_reason_name(e->reason));
		free(when);
		return -1;
	}
	e->revoked_at = time(NULL);
	e->reason = reason;
	if (index_save(ca, cause) == -1) {
		e->revoked_at = 0;
		e->reason = 0;
		return -1;
	}
	*ep = e;
	return 0;
}

int
tls_ca_revoke_cert(struct tls_ca *ca, X509 *x, const char *name, int reason,
    const struct tls_ca_entry **ep, char **cause)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca->cert);
	char *hex;
	int rv;

	if (X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca->cert)) != 0 || X509_verify(x, pub) != 1) {
		ERR_clear_error();
		*cause = xasprintf("%s was not issued by the CA in %s", name,
		    ca->dir);
		return -1;
	}
	hex = serial_hex(x);
	rv = tls_ca_revoke_serial(ca, hex, reason, ep, cause);
	free(hex);
	return rv;
}

/* The next CRL number, saved in the directory before it is used. */
static int
next_crl_number(struct tls_ca *ca, long *np, char **cause)
{
	char *path = path_in(ca->dir, TLS_CA_CRLNUMBER), *buf, *end, *text;
	long n = 0;
	size_t len;
	int rv = -1;

	if (access(path, F_OK) == 0) {
		if ((buf = pki_slurp(path, &len, cause)) == NULL)
			goto out;
		errno = 0;
		n = strtol(buf, &end, 10);
		while (*end == '\n' || *end == ' ')
			end++;
		if (errno != 0 || end == buf || *end != '\0' || n < 0 ||
		    n >= 0x7fffffffL) {
			*cause = xasprintf("%s does not hold a CRL number", path);
			free(buf);
			goto out;
		}
		free(buf);
	}
	text = xasprintf("%ld\n", n + 1);
	rv = file_write_atomic(path, text, strlen(text), 0644, cause);
	free(text);
	*np = n + 1;
out:
	free(path);
	return rv;
}

/* One revoked entry of a CRL. */
static X509_REVOKED *
crl_entry(const struct tls_ca_entry *e)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = ASN1_TIME_set(NULL, e->revoked_at);
	ASN1_ENUMERATED *why = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	if (r == NULL || t == NULL || BN_hex2bn(&bn, e->serial) == 0 ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_REVOKED_set_serialNumber(r, sn) != 1 ||
	    X509_REVOKED_set_revocationDate(r, t) != 1)
		goto out;
	/* RFC 5280 5.3.1: leave the reason out rather than say unspecified. */
	if (e->reason != CRL_REASON_UNSPECIFIED &&
	    ((why = ASN1_ENUMERATED_new()) == NULL ||
	    ASN1_ENUMERATED_set(why, e->reason) != 1 ||
	    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, why, 0, 0) != 1))
		goto out;
	ok = 1;
out:
	ASN1_ENUMERATED_free(why);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	BN_free(bn);
	if (!ok) {
		X509_REVOKED_free(r);
		return NULL;
	}
	return r;
}

X509_CRL *
tls_ca_make_crl(struct tls_ca *ca, int days, char **cause)
{
	X509_CRL *crl = NULL;
	X509_REVOKED *r;
	X509_EXTENSION *aki = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t = NULL;
	X509V3_CTX v3;
	char why[256];
	size_t i;
	long n;

	if (days < 1 || days > 3650) {
		*cause = xasprintf("a CRL valid for %d days is out of range (1 "
		    "to 3650)", days);
		return NULL;
	}
	if (next_crl_number(ca, &n, cause) == -1)
		return NULL;
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_gmtime_adj(t, 0) == NULL || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_gmtime_adj(t, days * 86400L) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto fail;
	for (i = 0; i < ca->n; i++) {
		if (ca->v[i].revoked_at == 0)
			continue;
		if ((r = crl_entry(&ca->v[i])) == NULL)
			goto fail;
		X509_CRL_add0_revoked(crl, r);
	}
	X509_CRL_sort(crl);
	X509V3_set_ctx(&v3, ca->cert, NULL, NULL, crl, 0);
	if ((num = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set(num, n) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    (aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier,
	    "keyid")) == NULL || X509_CRL_add_ext(crl, aki, -1) != 1)
		goto fail;
	if (X509_CRL_sign(crl, ca->key, EVP_sha256()) == 0)
		goto fail;
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_EXTENSION_free(aki);
	return crl;
fail:
	*cause = xasprintf("cannot build the CRL (%s)",
	    pki_ossl_reason(why, sizeof why));
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_EXTENSION_free(aki);
	X509_CRL_free(crl);
	return NULL;
}

/* --- the daemon's temporary CA -------------------------------------- */

/*
 * subjectAltName entries for the node's names plus loopback.  A name that
 * is neither a host name nor an IP address (a machine name with '_', say)
 * is left out: no certificate may carry it (util/name.c).
 */
static char **
temp_sans(const char *fqdn, char *const *aliases, size_t naliases, size_t *np)
{
	char **v = xcalloc(naliases + 4, sizeof *v);
	char *why = NULL;
	size_t n = 0, i;

	if ((v[n] = name_san_host(fqdn, &why)) != NULL)
		n++;
	free(why);
	if (strcmp(fqdn, "localhost") != 0)
		v[n++] = xstrdup("DNS:localhost");
	for (i = 0; i < naliases; i++) {
		why = NULL;
		if ((v[n] = name_san_host(aliases[i], &why)) != NULL)
			n++;
		free(why);
	}
	v[n++] = xstrdup("IP:127.0.0.1");
	v[n++] = xstrdup("IP:::1");
	*np = n;
	return v;
}

/* Whether x names this node and every alias (they may have changed since
 * the temporary certificate was made: then it is made again); names
 * temp_sans leaves out do not count. */
static int
covers_names(X509 *x, const char *fqdn, char *const *aliases, size_t naliases)
{
	size_t i;

	for (i = 0; i <= naliases; i++) {
		const char *n = i == 0 ? fqdn : aliases[i - 1];

		if (name_is_ip(n) ? X509_check_ip_asc(x, n, 0) != 1 :
		    name_dns_ok((const unsigned char *)n, strlen(n),
		    NAME_WILDCARD) && X509_check_host(x, n, 0,
		    X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
			return 0;
	}
	return 1;
}

/* Load a certificate and key pair if both exist, are valid for 30 more
 * days and match; NULLs otherwise. */
static void
load_pair(const char *certf, const char *keyf, X509 **xp, EVP_PKEY **kp)
{
	STACK_OF(X509) *certs;
	char *cause = NULL;
	time_t soon = time(NULL) + 30 * 86400L;

	*xp = NULL;
	*kp = NULL;
	if (access(certf, R_OK) != 0 || access(keyf, R_OK) != 0)
		return;
	if ((certs = pki_read_certs(certf, NULL, &cause)) == NULL) {
		free(cause);
		return;
	}
	*xp = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if ((*kp = pki_read_key(keyf, &cause)) == NULL)
		free(cause);
	if (*kp == NULL || X509_check_private_key(*xp, *kp) != 1 ||
	    X509_cmp_time(X509_get0_notAfter(*xp), &soon) <= 0) {
		ERR_clear_error();
		X509_free(*xp);
		EVP_PKEY_free(*kp);
		*xp = NULL;
		*kp = NULL;
	}
}

int
tls_temp_ensure(const char *state_dir, const char *fqdn, char *const *aliases,
    size_t naliases, char **cause)
{
	char *caf = path_in(state_dir, TLS_TEMP_CA_CERT);
	char *cak = path_in(state_dir, TLS_TEMP_CA_KEY);
	char *srvf = path_in(state_dir, TLS_TEMP_CERT);
	char *srvk = path_in(state_dir, TLS_TEMP_KEY);
	struct tls_ca_profile p;
	X509 *ca = NULL, *srv = NULL;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	char *cn = NULL, *why = NULL, **sans = NULL;
	size_t nsans = 0;
	int rv = -1;

	if (file_mkdir_p(state_dir, 0750, cause) == -1)
		goto out;
	load_pair(caf, cak, &ca, &ca_key);
	if (ca == NULL) {
		/* CN at most 64 characters: a long FQDN is cut. */
		cn = xasprintf("sipedge temporary CA %.43s", fqdn);
		if ((ca_key = tls_key_generate(TLS_KEY_EC_P256, &why)) == NULL ||
		    (ca = tls_ca_make_root(ca_key, cn, "sipedge temporary",
		    3650, &why)) == NULL) {
			*cause = xasprintf("cannot generate the temporary CA: %s",
			    why);
			goto out;
		}
		if (pki_write_key(cak, ca_key, cause) == -1 ||
		    pki_write_cert(caf, ca, cause) == -1)
			goto out;
		unlink(srvf);	/* a new CA needs a new server certificate */
	}
	load_pair(srvf, srvk, &srv, &srv_key);
	if (srv != NULL && X509_check_issued(ca, srv) == X509_V_OK &&
	    covers_names(srv, fqdn, aliases, naliases)) {
		rv = 0;
		goto out;
	}
	X509_free(srv);
	EVP_PKEY_free(srv_key);
	srv = NULL;
	memset(&p, 0, sizeof p);
	sans = temp_sans(fqdn, aliases, naliases, &nsans);
	/* The SANs carry the names; a CN holds at most 64 characters. */
	p.cn = strlen(fqdn) <= 64 ? fqdn : "sipedge temporary server";
	p.org = "sipedge temporary";
	p.sans = sans;
	p.nsans = nsans;
	p.server = p.client = 1;
	p.days = 365;
	if ((srv_key = tls_key_generate(TLS_KEY_EC_P256, &why)) == NULL ||
	    (srv = tls_ca_sign(ca, ca_key, srv_key, &p, &why)) == NULL) {
		*cause = xasprintf("cannot generate the temporary server "
		    "certificate for %s: %s", fqdn, why);
		goto out;
	}
	if (pki_write_key(srvk, srv_key, cause) == -1 ||
	    pki_write_cert(srvf, srv, cause) == -1)
		goto out;
	rv = 0;
out:
	ERR_clear_error();
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	names_free(sans, nsans);
	free(caf);
	free(cak);
	free(srvf);
	free(srvk);
	free(cn);
	free(why);
	return rv;
}
