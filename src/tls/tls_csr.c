/*
 * tls_csr.c: check what an operator asks a certificate request to say,
 * generate its key, build and sign it, and describe a request.  Works in
 * memory only; the tool around it reads and writes the files.  Never
 * prints or logs key material.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_csr.h"
#include "tls/tls_pki.h"
#include "util/name.h"
#include "util/xmalloc.h"

static const struct {
	const char	*word;
	int		 rsa_bits;	/* 0: EC */
	const char	*curve;
} key_types[] = {
	{ "rsa2048", 2048, NULL },
	{ "rsa3072", 3072, NULL },
	{ "rsa4096", 4096, NULL },
	{ "ec256", 0, "P-256" },
	{ "ec384", 0, "P-384" },
};

/* Index of word in key_types, or -1. */
static int
key_index(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof key_types / sizeof key_types[0]; i++)
		if (strcmp(word, key_types[i].word) == 0)
			return (int)i;
	return -1;
}

int
tls_csr_key_is_valid(const char *word)
{
	return key_index(word) != -1;
}

/* --- subject -------------------------------------------------------- */

/* Characters (not bytes) of UTF-8 text s. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* One subject field: present means non-empty, printable, short enough. */
static int
field_check(const char *opt, const char *v, size_t max, char **cause)
{
	const char *p;

	if (v == NULL)
		return 0;
	if (*v == '\0') {
		*cause = xasprintf("%s is empty; leave the option out instead",
		    opt);
		return -1;
	}
	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*cause = xasprintf("%s \"%s\" has a control character",
			    opt, v);
			return -1;
		}
	}
	if (utf8_chars(v) > max) {
		*cause = xasprintf("%s \"%s\" is %zu characters long; at most %zu "
		    "are allowed", opt, v, utf8_chars(v), max);
		return -1;
	}
	return 0;
}

/*
 * An email address for the subject: printable ASCII (an IA5String),
 * local@domain with a host name as the domain, at most 255 characters
 * (ub-emailaddress-length).
 */
static int
email_check(const char *v, char **cause)
{
	const char *at = v != NULL ? strrchr(v, '@') : NULL, *p;

	if (v == NULL)
		return 0;
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			break;
	if (*p != '\0' || at == NULL || at == v || strlen(v) > 255 ||
	    strchr(v, '@') != at || !name_dns_ok((const unsigned char *)at + 1,
	    strlen(at + 1), 0)) {
		*cause = xasprintf("--email \"%s\" is not an email address: give "
		    "local@domain in ASCII, such as pki@example.com", v);
		return -1;
	}
	return 0;
}

int
tls_csr_subject_check(const struct tls_csr_subject *s, char **cause)
{
	/* Upper bounds from X.520 (RFC 5280 appendix A, ub-*). */
	if (s->c != NULL && (strlen(s->c) != 2 ||
	    !isalpha((unsigned char)s->c[0]) ||
	    !isalpha((unsigned char)s->c[1]))) {
		*cause = xasprintf("--c \"%s\" is not a country code: give "
		    "exactly two letters, such as DE or US", s->c);
		return -1;
	}
	if (s->cn == NULL) {
		*cause = xstrdup("the request has no common name");
		return -1;
	}
	if (field_check("--st", s->st, 128, cause) == -1 ||
	    field_check("--l", s->l, 128, cause) == -1 ||
	    field_check("--o", s->o, 64, cause) == -1 ||
	    field_check("--ou", s->ou, 64, cause) == -1 ||
	    field_check("--cn", s->cn, 64, cause) == -1 ||
	    email_check(s->email, cause) == -1)
		return -1;
	return 0;
}

/* --- key and request ------------------------------------------------ */

EVP_PKEY *
tls_csr_keygen(const char *word, char **cause)
{
	EVP_PKEY *k;
	char why[256];
	int i;

	if ((i = key_index(word)) == -1) {
		*cause = xasprintf("unknown key type %s (use one of %s)", word,
		    TLS_CSR_KEY_WORDS);
		return NULL;
	}
	if (key_types[i].rsa_bits != 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)key_types[i].rsa_bits);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[i].curve);
	if (k == NULL)
		*cause = xasprintf("cannot generate a %s key: %s", word,
		    pki_ossl_reason(why, sizeof why));
	return k;
}

/* Append field=v to name when v is set. */
static int
name_add(X509_NAME *name, const char *field, const char *v)
{
	if (v == NULL)
		return 0;
	return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
	    (const unsigned char *)v, -1, -1, 0) == 1 ? 0 : -1;
}

/* A GENERAL_NAME for a canonical entry (name_san_parse). */
static GENERAL_NAME *
general_name(const char *entry)
{
	unsigned char addr[16];
	GENERAL_NAME *g;
	ASN1_STRING *s;
	int type, alen = 0;

	if (strncmp(entry, "IP:", 3) == 0) {
		if ((alen = name_ip_parse(entry + 3, addr)) == 0)
			return NULL;
		s = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(s, addr, alen);
		type = GEN_IPADD;
	} else if (strncmp(entry, "DNS:", 4) == 0 ||
	    strncmp(entry, "URI:", 4) == 0) {
		s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, entry + 4, -1);
		type = entry[0] == 'D' ? GEN_DNS : GEN_URI;
	} else
		return NULL;
	g = GENERAL_NAME_new();
	GENERAL_NAME_set0_value(g, type, s);
	return g;
}

/* The requested extensions: names, key usage, extended key usage. */
static STACK_OF(X509_EXTENSION) *
make_exts(EVP_PKEY *k, char *const *sans, size_t nsans)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	X509_EXTENSION *ku, *eku;
	GENERAL_NAME *g;
	size_t i;

	for (i = 0; i < nsans; i++) {
		if ((g = general_name(sans[i])) == NULL)
			goto fail;
		sk_GENERAL_NAME_push(gens, g);
	}
	if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_APPEND) != 1)
		goto fail;
	/* keyEncipherment only means something for RSA key transport. */
	ku = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ?
	    "critical,digitalSignature,keyEncipherment" :
	    "critical,digitalSignature");
	eku = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage,
	    "serverAuth,clientAuth");
	if (ku == NULL || eku == NULL) {
		X509_EXTENSION_free(ku);
		X509_EXTENSION_free(eku);
		goto fail;
	}
	sk_X509_EXTENSION_push(exts, ku);
	sk_X509_EXTENSION_push(exts, eku);
	GENERAL_NAMES_free(gens);
	return exts;
fail:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return NULL;
}

X509_REQ *
tls_csr_make(EVP_PKEY *k, const struct tls_csr_subject *s, char *const *sans,
    size_t nsans, char **cause)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_REQ *r = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	char country[3] = "", why[256];

	if (tls_csr_subject_check(s, cause) == -1)
		goto fail_quiet;
	if (nsans == 0) {
		*cause = xstrdup("the request has no subject alternative name");
		goto fail_quiet;
	}
	if (s->c != NULL) {
		country[0] = (char)toupper((unsigned char)s->c[0]);
		country[1] = (char)toupper((unsigned char)s->c[1]);
	}
	/* The usual order, most general first: C, ST, L, O, OU, CN; then
	 * emailAddress, where `openssl req` puts it. */
	if (name_add(name, "C", s->c ? country : NULL) == -1 ||
	    name_add(name, "ST", s->st) == -1 ||
	    name_add(name, "L", s->l) == -1 ||
	    name_add(name, "O", s->o) == -1 ||
	    name_add(name, "OU", s->ou) == -1 ||
	    name_add(name, "CN", s->cn) == -1 ||
	    name_add(name, "emailAddress", s->email) == -1) {
		*cause = xasprintf("cannot put the subject into the request: %s",
		    pki_ossl_reason(why, sizeof why));
		goto fail_quiet;
	}
	if (X509_REQ_set_version(r, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(r, name) != 1 ||
	    X509_REQ_set_pubkey(r, k) != 1 ||
	    (exts = make_exts(k, sans, nsans)) == NULL ||
	    X509_REQ_add_extensions(r, exts) != 1 ||
	    X509_REQ_sign(r, k, EVP_sha256()) <= 0) {
		*cause = xasprintf("cannot build the certificate signing "
		    "request: %s", pki_ossl_reason(why, sizeof why));
		goto fail_quiet;
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	return r;
fail_quiet:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(r);
	ERR_clear_error();
	return NULL;
}

/* --- description ---------------------------------------------------- */

X509 *
tls_csr_preview(X509_REQ *r)
{
	STACK_OF(X509_EXTENSION) *exts;
	EVP_PKEY *pub;
	X509 *x = X509_new();
	int i, ok = 1;

	exts = X509_REQ_get_extensions(r);
	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_subject_name(x, X509_REQ_get_subject_name(r)) != 1 ||
	    X509_set_issuer_name(x, X509_REQ_get_subject_name(r)) != 1)
		ok = 0;
	if (ok && (pub = X509_REQ_get0_pubkey(r)) != NULL)
		ok = X509_set_pubkey(x, pub) == 1;
	for (i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++)
		ok = X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1) == 1;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Whether r's signature verifies with its own public key: 1 or 0. */
static int
tls_csr_signature_is_ok(X509_REQ *r)
{
	EVP_PKEY *k = X509_REQ_get0_pubkey(r);
	int ok = k != NULL && X509_REQ_verify(r, k) == 1;

	ERR_clear_error();
	return ok;
}

char *
tls_csr_ku_line(X509 *x)
{
	static const char *const bits[] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment",
		"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly"
	};
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	char *out, *t;
	size_t i;

	ERR_clear_error();
	if (ku == NULL)
		return NULL;
	out = xstrdup("");
	for (i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		if (!ASN1_BIT_STRING_get_bit(ku, (int)i))
			continue;
		t = xasprintf("%s%s%s", out, *out ? ", " : "", bits[i]);
		free(out);
		out = t;
	}
	ASN1_BIT_STRING_free(ku);
	return out;
}

/*
 * A certificate that only carries r's requested extensions, so the
 * describers of tls_pki.h read a request's names and usages as they read
 * a certificate's.
 */
static X509 *
scratch_cert(X509_REQ *r)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(r);
	X509 *x = X509_new();
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return x;
}

char *
tls_csr_text(X509_REQ *r)
{
	EVP_PKEY *k = X509_REQ_get0_pubkey(r);
	X509 *x = scratch_cert(r);
	char *subject = pki_name_line(X509_REQ_get_subject_name(r));
	char *key = k != NULL ? pki_key_desc(k) : xstrdup("(none)");
	char *san = pki_san_line(x), *ku = tls_csr_ku_line(x);
	char *eku = pki_eku_line(x), *out;

	out = xasprintf(
	    "  %-20s %s\n"
	    "  %-20s %s\n"
	    "  %-20s %s\n"
	    "  %-20s %s\n"
	    "  %-20s %s\n"
	    "  %-20s %s\n",
	    "subject:", subject,
	    "key:", key,
	    "names:", *san ? san : "(none)",
	    "key usage:", ku ? ku : "(none requested)",
	    "extended key usage:", eku ? eku : "(none requested)",
	    "signature:", tls_csr_signature_is_ok(r) ? "ok" :
	    "does not verify: the request is damaged or was altered");
	free(subject);
	free(key);
	free(san);
	free(ku);
	free(eku);
	X509_free(x);
	return out;
}
