/*
 * test_pki.c: reading, recognising, describing and writing PKI files
 * (tls_pki.c), and the checks of the server identity (tls_check.c).
 * Every input is made here with OpenSSL's own APIs at test time (no key is
 * stored in the tree): certificates, keys in every form, CRLs and CSRs,
 * then damaged copies of them.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "tls/tls_check.h"
#include "tls/tls_pki.h"
#include "util/diag.h"
#include "util/xmalloc.h"

#define DAY	86400L

static char dir[4096];
static time_t t0;			/* "now" of the certificates below */
static EVP_PKEY *ca_key, *inter_key, *leaf_key, *other_key, *rsa_key;
static X509 *ca, *inter, *leaf;		/* root, intermediate, server */

/* --- making inputs -------------------------------------------------- */

struct spec {
	const char	*cn;
	EVP_PKEY	*key;
	X509		*issuer;	/* NULL: self-signed */
	EVP_PKEY	*issuer_key;
	time_t		 not_before;
	time_t		 not_after;
	int		 is_ca;
	const char	*san;		/* NULL: no subjectAltName */
	const char	*eku;		/* NULL: no extendedKeyUsage */
};

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static X509 *
mkcert(const struct spec *s)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	time_t nb = s->not_before, na = s->not_after;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na);
	X509_set_pubkey(x, s->key);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)s->cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"sipedge tests", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, s->issuer != NULL ?
	    X509_get_subject_name(s->issuer) : n);
	X509_NAME_free(n);
	if (s->is_ca) {
		ext(x, s->issuer ? s->issuer : x, NID_basic_constraints,
		    "critical,CA:TRUE");
		ext(x, s->issuer ? s->issuer : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	}
	/* Key identifiers, as RFC 5280 s.4.2.1.1-2 requires of the path
	 * (tls_path refuses a chain without them, as peers do). */
	ext(x, x, NID_subject_key_identifier, "hash");
	if (s->issuer != NULL)
		ext(x, s->issuer, NID_authority_key_identifier, "keyid:always");
	if (s->san != NULL)
		ext(x, s->issuer ? s->issuer : x, NID_subject_alt_name, s->san);
	if (s->eku != NULL)
		ext(x, s->issuer ? s->issuer : x, NID_ext_key_usage, s->eku);
	assert_true(X509_sign(x, s->issuer_key ? s->issuer_key : s->key,
	    EVP_sha256()) > 0);
	return x;
}

/* A server certificate issued by the intermediate with the usual dates. */
static X509 *
mkleaf(EVP_PKEY *key, const char *san, const char *eku)
{
	struct spec s = { "sip1.test.invalid", key, inter, inter_key,
	    t0 - DAY, t0 + 365 * DAY, 0, san, eku };

	return mkcert(&s);
}

/* Write len bytes to dir/name; returns the path (caller frees). */
static char *
put(const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* The contents of a memory BIO as a new NUL-terminated string; frees bio. */
static char *
bio_text(BIO *bio, size_t *lenp)
{
	char *data, *out;
	long len = BIO_get_mem_data(bio, &data);

	out = xmalloc((size_t)len + 1);
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)len;
	BIO_free(bio);
	return out;
}

static char *
cert_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_X509(bio, x);
	return bio_text(bio, NULL);
}

static char *
cert_der(X509 *x, size_t *lenp)
{
	BIO *bio = BIO_new(BIO_s_mem());

	i2d_X509_bio(bio, x);
	return bio_text(bio, lenp);
}

enum keyform {
	KEY_PKCS8, KEY_TRAD, KEY_DER, KEY_ENC_PKCS8, KEY_ENC_TRAD, KEY_ENC_DER
};

static char *
key_bytes(EVP_PKEY *k, enum keyform form, size_t *lenp)
{
	BIO *bio = BIO_new(BIO_s_mem());
	const EVP_CIPHER *aes = EVP_aes_128_cbc();
	char pass[] = "secret";

	switch (form) {
	case KEY_PKCS8:
		PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
		break;
	case KEY_TRAD:
		PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0,
		    NULL, NULL);
		break;
	case KEY_DER:
		i2d_PrivateKey_bio(bio, k);
		break;
	case KEY_ENC_PKCS8:
		PEM_write_bio_PKCS8PrivateKey(bio, k, aes, NULL, 0, NULL, pass);
		break;
	case KEY_ENC_TRAD:
		PEM_write_bio_PrivateKey_traditional(bio, k, aes,
		    (unsigned char *)pass, 6, NULL, NULL);
		break;
	case KEY_ENC_DER:
		i2d_PKCS8PrivateKey_bio(bio, k, aes, NULL, 0, NULL, pass);
		break;
	}
	return bio_text(bio, lenp);
}

static X509_CRL *
mkcrl(X509 *issuer, EVP_PKEY *key)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, t0);

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, t0 + 7 * DAY);
	X509_CRL_set1_nextUpdate(crl, t);
	ASN1_TIME_free(t);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	return crl;
}

static char *
crl_bytes(X509_CRL *crl, int der, size_t *lenp)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (der)
		i2d_X509_CRL_bio(bio, crl);
	else
		PEM_write_bio_X509_CRL(bio, crl);
	return bio_text(bio, lenp);
}

static char *
csr_bytes(int der, size_t *lenp)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	BIO *bio = BIO_new(BIO_s_mem());

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"sip1.test.invalid", -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, leaf_key);
	assert_true(X509_REQ_sign(r, leaf_key, EVP_sha256()) > 0);
	if (der)
		i2d_X509_REQ_bio(bio, r);
	else
		PEM_write_bio_X509_REQ(bio, r);
	X509_NAME_free(n);
	X509_REQ_free(r);
	return bio_text(bio, lenp);
}

/* Copies of PEM text with CRLF ends, without the last newline, padded. */
static char *
crlf(const char *s)
{
	char *out = xmalloc(strlen(s) * 2 + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *
no_final_newline(const char *s)
{
	char *out = xstrdup(s);
	size_t n = strlen(out);

	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static char *
padded(const char *s)
{
	return xasprintf("\n  \t\n   %s  \n\n \t \n", s);
}

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");
	struct spec s;

	(void)state;
	snprintf(dir, sizeof dir, "%s/sipedge-pkitest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	t0 = time(NULL);
	ca_key = EVP_EC_gen("P-256");
	inter_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	/* Small, so that the test stays fast under valgrind. */
	rsa_key = EVP_RSA_gen(1024);
	if (ca_key == NULL || inter_key == NULL || leaf_key == NULL ||
	    other_key == NULL || rsa_key == NULL)
		return -1;
	s = (struct spec){ "sipedge test root", ca_key, NULL, NULL,
	    t0 - DAY, t0 + 3650 * DAY, 1, NULL, NULL };
	ca = mkcert(&s);
	s = (struct spec){ "sipedge test intermediate", inter_key, ca, ca_key,
	    t0 - DAY, t0 + 3650 * DAY, 1, NULL, NULL };
	inter = mkcert(&s);
	leaf = mkleaf(leaf_key, "DNS:sip1.test.invalid,DNS:localhost",
	    "serverAuth,clientAuth");
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rv = system(cmd);

	(void)state;
	free(cmd);
	X509_free(ca);
	X509_free(inter);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(rsa_key);
	return rv == 0 ? 0 : -1;
}

/* Assert that cause contains want, and free it. */
static void
expect_cause(char *cause, const char *want)
{
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, want);
	free(cause);
}

/* --- normalising and recognising ------------------------------------ */

static void
test_normalise(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a\nb\n", "a\nb\n" },			/* already normal */
		{ "a\r\nb\r\n", "a\nb\n" },		/* CRLF */
		{ "a\rb\r", "a\nb\n" },			/* CR alone */
		{ "a\nb", "a\nb\n" },			/* no final newline */
		{ "  a \t\n\n\t b  \n \n", "a\nb\n" },	/* spaces, blank lines */
		{ "\r\n\r\na\r\n\r\n", "a\n" },
		{ "", "" },
		{ " \t\r\n \n", "" },			/* only whitespace */
	};
	char buf[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s", cases[i].in);
		n = pki_pem_normalise(buf, strlen(buf));
		assert_int_equal(n, strlen(cases[i].out));
		assert_string_equal(buf, cases[i].out);
	}
}

static void
test_detect(void **state)
{
	char *pem = cert_pem(leaf), *pem2 = cert_pem(inter), *der, *chain, *t;
	X509_CRL *crl = mkcrl(inter, inter_key);
	size_t len;
	int f;

	(void)state;
	assert_true(pki_is_pem(pem, strlen(pem)));
	assert_int_equal(pki_detect(pem, strlen(pem)), PKI_CERT);
	chain = xasprintf("%s%s", pem, pem2);
	assert_int_equal(pki_detect(chain, strlen(chain)), PKI_CHAIN);
	free(chain);
	der = cert_der(leaf, &len);
	assert_false(pki_is_pem(der, len));
	assert_int_equal(pki_detect(der, len), PKI_CERT);
	free(der);

	t = crl_bytes(crl, 0, &len);
	assert_int_equal(pki_detect(t, len), PKI_CRL);
	free(t);
	t = crl_bytes(crl, 1, &len);
	assert_int_equal(pki_detect(t, len), PKI_CRL);
	free(t);
	t = csr_bytes(0, &len);
	assert_int_equal(pki_detect(t, len), PKI_CSR);
	free(t);
	t = csr_bytes(1, &len);
	assert_int_equal(pki_detect(t, len), PKI_CSR);
	free(t);

	for (f = KEY_PKCS8; f <= KEY_ENC_DER; f++) {
		t = key_bytes(leaf_key, (enum keyform)f, &len);
		assert_int_equal(pki_detect(t, len), f >= KEY_ENC_PKCS8 ?
		    PKI_KEY_ENCRYPTED : PKI_KEY);
		free(t);
	}
	t = key_bytes(rsa_key, KEY_TRAD, &len);
	assert_non_null(strstr(t, "BEGIN RSA PRIVATE KEY"));
	assert_int_equal(pki_detect(t, len), PKI_KEY);
	free(t);

	assert_int_equal(pki_detect("hello world\n", 12), PKI_GARBAGE);
	assert_int_equal(pki_detect("\x30\x03\x02\x01\x01", 5), PKI_GARBAGE);
	assert_int_equal(pki_detect("-----BEGIN FOO-----\n", 20), PKI_GARBAGE);

	assert_string_equal(pki_kind_name(PKI_CERT), "certificate");
	assert_string_equal(pki_kind_name(PKI_CHAIN), "certificate chain");
	assert_string_equal(pki_kind_name(PKI_CSR),
	    "certificate signing request");
	assert_string_equal(pki_kind_name(PKI_CRL),
	    "certificate revocation list");
	assert_string_equal(pki_kind_name(PKI_KEY), "private key");
	assert_string_equal(pki_kind_name(PKI_KEY_ENCRYPTED),
	    "password-protected private key");
	assert_string_equal(pki_kind_name(PKI_GARBAGE), "unrecognised data");
	X509_CRL_free(crl);
	free(pem);
	free(pem2);
}

/* --- reading ---------------------------------------------------------- */

/* Read path as certificates and check they are leaf then (maybe) inter. */
static void
expect_certs(const char *path, int n)
{
	STACK_OF(X509) *certs;
	char *cause = NULL;

	certs = pki_read_certs(path, NULL, &cause);
	if (certs == NULL)
		fail_msg("%s: %s", path, cause);
	assert_int_equal(sk_X509_num(certs), n);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), leaf), 0);
	if (n > 1)
		assert_int_equal(X509_cmp(sk_X509_value(certs, 1), inter), 0);
	sk_X509_pop_free(certs, X509_free);
}

static void
test_read_certs(void **state)
{
	char *pem = cert_pem(leaf), *pem2 = cert_pem(inter), *chain, *v, *p;
	char *crlpem, *der;
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	STACK_OF(X509) *certs;
	X509_CRL *crl = mkcrl(inter, inter_key);
	char *cause = NULL;
	size_t len;

	(void)state;
	chain = xasprintf("%s%s", pem, pem2);
	p = put("chain.pem", chain, strlen(chain));
	expect_certs(p, 2);
	free(p);

	v = crlf(chain);
	p = put("crlf.pem", v, strlen(v));
	expect_certs(p, 2);
	free(p);
	free(v);
	v = no_final_newline(chain);
	p = put("nonl.pem", v, strlen(v));
	expect_certs(p, 2);
	free(p);
	free(v);
	v = padded(chain);
	p = put("padded.pem", v, strlen(v));
	expect_certs(p, 2);
	free(p);
	free(v);

	der = cert_der(leaf, &len);
	p = put("leaf.der", der, len);
	expect_certs(p, 1);
	free(p);

	/* CRLs in the same file go to the list when one is given. */
	crlpem = crl_bytes(crl, 0, NULL);
	v = xasprintf("%s%s", chain, crlpem);
	p = put("withcrl.pem", v, strlen(v));
	certs = pki_read_certs(p, crls, &cause);
	assert_non_null(certs);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	sk_X509_pop_free(certs, X509_free);
	expect_certs(p, 2);
	free(p);
	free(v);

	/* Errors: each named. */
	p = put("empty.pem", "", 0);
	assert_null(pki_read_certs(p, NULL, &cause));
	v = xasprintf("%s is empty", p);
	expect_cause(cause, v);
	free(v);
	free(p);

	p = put("garbage.pem", "\x01\x02\x03 this is garbage\n", 21);
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "holds no certificate: it is neither PEM nor a "
	    "DER certificate");
	free(p);

	p = put("half.der", der, len / 2);
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "it is neither PEM nor a DER certificate");
	free(p);

	v = xstrndup(pem, strlen(pem) / 2);
	p = put("truncated.pem", v, strlen(v));
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "is truncated: its PEM data has a BEGIN line "
	    "without the matching END line");
	free(p);
	free(v);

	/* A damaged body between intact armour lines. */
	v = xstrdup(pem);
	memcpy(v + 40, "!!!!", 4);
	p = put("damaged.pem", v, strlen(v));
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "cannot read its PEM data");
	free(p);
	free(v);

	v = key_bytes(leaf_key, KEY_PKCS8, &len);
	p = put("key-as-cert.pem", v, len);
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "holds no certificate (no BEGIN CERTIFICATE block)");
	free(p);
	free(v);

	assert_null(pki_read_certs(dir, NULL, &cause));
	expect_cause(cause, "is a directory, not a file");
	p = xasprintf("%s/nonexistent.pem", dir);
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "No such file or directory");
	free(p);

	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	X509_CRL_free(crl);
	free(crlpem);
	free(der);
	free(chain);
	free(pem);
	free(pem2);
}

/* A file without read permission (root reads it anyway: skipped then). */
static void
test_read_unreadable(void **state)
{
	char *pem = cert_pem(leaf), *p, *cause = NULL;

	(void)state;
	if (geteuid() == 0) {
		/* cmocka's skip() prints "not ok # SKIP", which automake's TAP
		 * driver counts as a failure: say it as a TAP comment instead. */
		print_message("# test_read_unreadable: nothing checked, root "
		    "reads mode 000 files\n");
		free(pem);
		return;
	}
	p = put("unreadable.pem", pem, strlen(pem));
	assert_int_equal(chmod(p, 0), 0);
	assert_null(pki_read_certs(p, NULL, &cause));
	expect_cause(cause, "Permission denied");
	assert_null(pki_read_key(p, &cause));
	expect_cause(cause, "Permission denied");
	free(p);
	free(pem);
}

/* Read path as a key and check it is leaf_key. */
static void
expect_key(const char *path)
{
	EVP_PKEY *k;
	char *cause = NULL;

	if ((k = pki_read_key(path, &cause)) == NULL)
		fail_msg("%s: %s", path, cause);
	assert_int_equal(EVP_PKEY_eq(k, leaf_key), 1);
	EVP_PKEY_free(k);
}

static void
test_read_key(void **state)
{
	static const char *const enc_name[] = {
		"enc-pkcs8.key", "enc-trad.key", "enc.der"
	};
	char *pem, *v, *p, *cause = NULL, *want, *certpem;
	size_t len;
	int i;

	(void)state;
	pem = key_bytes(leaf_key, KEY_PKCS8, &len);
	p = put("pkcs8.key", pem, len);
	expect_key(p);
	free(p);
	v = key_bytes(leaf_key, KEY_TRAD, &len);
	assert_non_null(strstr(v, "BEGIN EC PRIVATE KEY"));
	p = put("trad.key", v, len);
	expect_key(p);
	free(p);
	free(v);
	v = key_bytes(leaf_key, KEY_DER, &len);
	p = put("key.der", v, len);
	expect_key(p);
	free(p);
	free(v);

	v = crlf(pem);
	p = put("crlf.key", v, strlen(v));
	expect_key(p);
	free(p);
	free(v);
	v = no_final_newline(pem);
	p = put("nonl.key", v, strlen(v));
	expect_key(p);
	free(p);
	free(v);
	v = padded(pem);
	p = put("padded.key", v, strlen(v));
	expect_key(p);
	free(p);
	free(v);

	/* Password-protected, in the three forms: refused with the command. */
	for (i = 0; i < 3; i++) {
		v = key_bytes(leaf_key, (enum keyform)(KEY_ENC_PKCS8 + i), &len);
		p = put(enc_name[i], v, len);
		assert_null(pki_read_key(p, &cause));
		want = xasprintf("%s is protected by a password; sipedge needs "
		    "the key stored unencrypted", p);
		assert_non_null(strstr(cause, want));
		free(want);
		want = xasprintf("Convert it with: openssl pkey -in %s -out ", p);
		expect_cause(cause, want);
		free(want);
		free(p);
		free(v);
	}
	v = key_bytes(leaf_key, KEY_ENC_TRAD, &len);
	assert_non_null(strstr(v, "Proc-Type: 4,ENCRYPTED"));
	free(v);

	p = put("empty.key", "", 0);
	assert_null(pki_read_key(p, &cause));
	expect_cause(cause, "empty.key is empty");
	free(p);
	p = put("garbage.key", "not a key at all\n", 17);
	assert_null(pki_read_key(p, &cause));
	expect_cause(cause, "holds no usable private key: it is neither PEM "
	    "nor DER");
	free(p);
	p = put("garbage-der.key", "\x30\x05\x02\x01\x01\x02\x00", 7);
	assert_null(pki_read_key(p, &cause));
	expect_cause(cause, "holds no usable private key (");
	free(p);
	v = xstrndup(pem, strlen(pem) - 30);
	p = put("truncated.key", v, strlen(v));
	assert_null(pki_read_key(p, &cause));
	expect_cause(cause, "is truncated");
	free(p);
	free(v);
	certpem = cert_pem(leaf);
	p = put("cert-as-key.pem", certpem, strlen(certpem));
	assert_null(pki_read_key(p, &cause));
	expect_cause(cause, "holds no private key (no BEGIN PRIVATE KEY block)");
	free(p);
	free(certpem);
	assert_null(pki_read_key(dir, &cause));
	expect_cause(cause, "is a directory, not a file");
	free(pem);
}

static void
test_read_crls_and_csr(void **state)
{
	X509_CRL *crl1 = mkcrl(inter, inter_key), *crl2 = mkcrl(ca, ca_key);
	STACK_OF(X509_CRL) *crls;
	X509_REQ *r;
	char *a, *b, *v, *p, *cause = NULL, *certpem;
	size_t len;

	(void)state;
	a = crl_bytes(crl1, 0, NULL);
	b = crl_bytes(crl2, 0, NULL);
	v = xasprintf("%s%s", a, b);
	p = put("two.crl", v, strlen(v));
	crls = pki_read_crls(p, &cause);
	assert_non_null(crls);
	assert_int_equal(sk_X509_CRL_num(crls), 2);
	assert_int_equal(X509_CRL_cmp(sk_X509_CRL_value(crls, 0), crl1), 0);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(p);
	free(v);
	v = crlf(a);
	p = put("crlf.crl", v, strlen(v));
	crls = pki_read_crls(p, &cause);
	assert_non_null(crls);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(p);
	free(v);
	v = crl_bytes(crl1, 1, &len);
	p = put("one.der.crl", v, len);
	crls = pki_read_crls(p, &cause);
	assert_non_null(crls);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(p);
	free(v);

	p = put("garbage.crl", "garbage\n", 8);
	assert_null(pki_read_crls(p, &cause));
	expect_cause(cause, "holds no CRL: it is neither PEM nor a DER CRL");
	free(p);
	certpem = cert_pem(ca);
	p = put("cert.crl", certpem, strlen(certpem));
	assert_null(pki_read_crls(p, &cause));
	expect_cause(cause, "holds no CRL (no BEGIN X509 CRL block)");
	free(p);
	v = xstrndup(a, strlen(a) - 20);
	p = put("truncated.crl", v, strlen(v));
	assert_null(pki_read_crls(p, &cause));
	expect_cause(cause, "is truncated");
	free(p);
	free(v);

	v = csr_bytes(0, &len);
	p = put("req.csr", v, len);
	r = pki_read_csr(p, &cause);
	assert_non_null(r);
	X509_REQ_free(r);
	free(p);
	free(v);
	v = csr_bytes(1, &len);
	p = put("req.der", v, len);
	r = pki_read_csr(p, &cause);
	assert_non_null(r);
	X509_REQ_free(r);
	free(p);
	free(v);
	p = put("cert.csr", certpem, strlen(certpem));
	assert_null(pki_read_csr(p, &cause));
	expect_cause(cause, "holds no certificate signing request");
	free(p);

	free(certpem);
	free(a);
	free(b);
	X509_CRL_free(crl1);
	X509_CRL_free(crl2);
}

/* --- descriptions ---------------------------------------------------- */

static void
test_descriptions(void **state)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	char *s, want[8];
	EVP_PKEY *ed;
	ASN1_TIME *t;
	X509 *x;
	int derlen;
	struct spec sp = { "odd.test.invalid", other_key, ca, ca_key,
	    t0 - DAY, t0 + 10 * DAY, 0,
	    "DNS:a.test.invalid,IP:192.0.2.1,IP:2001:db8::1,"
	    "URI:sip:b.test.invalid,email:ops@test.invalid",
	    "serverAuth,1.3.6.1.4.1.99999.1" };

	(void)state;
	s = pki_name_line(X509_get_subject_name(leaf));
	assert_string_equal(s, "CN=sip1.test.invalid, O=sipedge tests");
	free(s);

	t = ASN1_TIME_new();
	assert_true(ASN1_TIME_set_string(t, "20260102030405Z"));
	s = pki_time_iso(t);
	assert_string_equal(s, "2026-01-02T03:04:05Z");
	free(s);
	ASN1_TIME_free(t);
	s = pki_time_iso(NULL);
	assert_string_equal(s, "?");
	free(s);

	/* The SHA-256 of the DER, computed here separately. */
	derlen = i2d_X509(leaf, &der);
	assert_true(derlen > 0);
	assert_true(EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(),
	    NULL));
	OPENSSL_free(der);
	s = pki_fingerprint(leaf);
	assert_int_equal(strlen(s), 32 * 3 - 1);
	snprintf(want, sizeof want, "%02X:%02X", md[0], md[1]);
	assert_memory_equal(s, want, 5);
	snprintf(want, sizeof want, "%02X", md[31]);
	assert_string_equal(s + strlen(s) - 2, want);
	free(s);

	s = pki_key_desc(leaf_key);
	assert_string_equal(s, "EC P-256");
	free(s);
	s = pki_key_desc(rsa_key);
	assert_string_equal(s, "RSA 1024");
	free(s);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	s = pki_key_desc(ed);
	assert_string_equal(s, "Ed25519");
	free(s);
	EVP_PKEY_free(ed);

	x = mkcert(&sp);
	s = pki_san_line(x);
	assert_string_equal(s, "DNS:a.test.invalid, IP:192.0.2.1, "
	    "IP:2001:db8::1, URI:sip:b.test.invalid, email:ops@test.invalid");
	free(s);
	s = pki_san_line(ca);
	assert_string_equal(s, "");
	free(s);
	s = pki_eku_line(x);
	assert_string_equal(s, "serverAuth, 1.3.6.1.4.1.99999.1");
	free(s);
	assert_null(pki_eku_line(ca));
	s = pki_eku_line(leaf);
	assert_string_equal(s, "serverAuth, clientAuth");
	free(s);

	assert_int_equal(pki_has_eku(x, NID_server_auth), 1);
	assert_int_equal(pki_has_eku(x, NID_client_auth), 0);
	assert_int_equal(pki_has_eku(ca, NID_server_auth), -1);
	assert_int_equal(pki_has_eku(leaf, NID_client_auth), 1);

	assert_true(pki_seconds_left(x, t0) == 10 * DAY);
	assert_true(pki_seconds_left(x, t0 + 11 * DAY) == -DAY);
	X509_free(x);

	sp.eku = "anyExtendedKeyUsage";
	x = mkcert(&sp);
	assert_int_equal(pki_has_eku(x, NID_client_auth), 1);
	X509_free(x);
}

/* --- writing ---------------------------------------------------------- */

static void
test_write(void **state)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509_CRL *crl = mkcrl(inter, inter_key);
	struct stat st;
	char *p, *cause = NULL, *der;
	size_t len;

	(void)state;
	p = xasprintf("%s/written.key", dir);
	assert_int_equal(pki_write_key(p, leaf_key, &cause), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	expect_key(p);
	free(p);

	sk_X509_push(certs, leaf);
	sk_X509_push(certs, inter);
	p = xasprintf("%s/written.pem", dir);
	assert_int_equal(pki_write_certs(p, certs, &cause), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	expect_certs(p, 2);
	assert_int_equal(pki_write_cert(p, leaf, &cause), 0);
	expect_certs(p, 1);
	free(p);

	p = xasprintf("%s/written.crl", dir);
	assert_int_equal(pki_write_crl(p, crl, &cause), 0);
	sk_X509_CRL_pop_free(pki_read_crls(p, &cause), X509_CRL_free);
	free(p);

	der = cert_der(leaf, &len);
	p = xasprintf("%s/written.der", dir);
	assert_int_equal(pki_write_der(p, (unsigned char *)der, len, &cause), 0);
	expect_certs(p, 1);
	free(p);
	free(der);

	/* A directory that does not exist: an error, no file. */
	p = xasprintf("%s/no/such/dir/x.pem", dir);
	assert_int_equal(pki_write_cert(p, leaf, &cause), -1);
	assert_non_null(cause);
	free(cause);
	free(p);

	sk_X509_free(certs);
	X509_CRL_free(crl);
}

/* --- identity checks --------------------------------------------------- */

struct checked {
	struct diaglist	 dl;
	int		 alarms;
	char		*all;		/* every diagnostic, one per line */
};

static struct conf_zone mtls_zone = { .name = "partner",
    .type = ZONE_NEIGHBOR, .transport = TP_TLS, .port = 5061,
    .tls_verify = 1 };

/* A configuration for node sip1.test.invalid, expiry warning 30 days. */
static void
base_conf(struct conf *c)
{
	memset(c, 0, sizeof *c);
	c->fqdn = "sip1.test.invalid";
	c->expiry_warning_days = 30;
}

/* Run tls_check_identity on chain (leaf first) and key. */
static void
run_check(struct checked *r, const struct conf *c, X509 *x, X509 *x2,
    EVP_PKEY *k, X509 *trust_ca, time_t now, int temporary)
{
	STACK_OF(X509) *chain = sk_X509_new_null(), *trust = NULL;
	struct tls_check_input in;
	char *t;
	size_t i;

	sk_X509_push(chain, x);
	if (x2 != NULL)
		sk_X509_push(chain, x2);
	if (trust_ca != NULL) {
		trust = sk_X509_new_null();
		sk_X509_push(trust, trust_ca);
	}
	memset(&in, 0, sizeof in);
	in.chain = chain;
	in.key = k;
	in.trust = trust;
	in.cert_file = "/pki/server.pem";
	in.key_file = "/pki/server.key";
	in.trust_file = trust != NULL ? "/pki/trust.pem" : NULL;
	in.now = now;
	in.temporary = temporary;
	memset(&r->dl, 0, sizeof r->dl);
	r->alarms = tls_check_identity(c, &in, &r->dl);
	r->all = xstrdup("");
	for (i = 0; i < r->dl.n; i++) {
		t = xasprintf("%s%s\n", r->all, r->dl.v[i].text);
		free(r->all);
		r->all = t;
	}
	sk_X509_free(chain);
	sk_X509_free(trust);
}

static void
checked_free(struct checked *r)
{
	diag_clear(&r->dl);
	free(r->all);
}

static void
has(const struct checked *r, const char *want)
{
	if (strstr(r->all, want) == NULL)
		fail_msg("diagnostics lack \"%s\":\n%s", want, r->all);
}

static void
test_check_good(void **state)
{
	struct checked r;
	struct conf c;

	(void)state;
	base_conf(&c);
	run_check(&r, &c, leaf, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	assert_int_equal(r.alarms, 0);
	checked_free(&r);

	/* With a location, findings carry the setting's file:line. */
	{
		STACK_OF(X509) *chain = sk_X509_new_null();
		struct conf_loc loc = { "/etc/sipedge/sipedge.conf", 12 };
		struct tls_check_input in;
		struct diaglist dl = { 0 };

		sk_X509_push(chain, leaf);
		memset(&in, 0, sizeof in);
		in.chain = chain;
		in.key = other_key;
		in.cert_file = "a.pem";
		in.key_file = "b.key";
		in.key_loc = &loc;
		tls_check_identity(&c, &in, &dl);
		assert_true(dl.nerrors == 1);
		assert_string_equal(dl.v[0].text, "/etc/sipedge/sipedge.conf:12: "
		    "the private key in b.key does not match the certificate in "
		    "a.pem; install the key that was generated together with "
		    "the certificate's request");
		diag_clear(&dl);
		sk_X509_free(chain);
	}
}

static void
test_check_key(void **state)
{
	struct checked r;
	struct conf c;
	X509 *x;

	(void)state;
	base_conf(&c);
	run_check(&r, &c, leaf, inter, other_key, ca, t0, 0);
	assert_int_equal(r.dl.nerrors, 1);
	has(&r, "the private key in /pki/server.key does not match the "
	    "certificate in /pki/server.pem");
	checked_free(&r);

	/* The intermediate first: the key matches certificate 2. */
	run_check(&r, &c, inter, leaf, leaf_key, ca, t0, 0);
	has(&r, "the private key in /pki/server.key belongs to certificate 2 "
	    "of /pki/server.pem (CN=sip1.test.invalid, O=sipedge tests), not "
	    "to the first one: the server certificate must come first");
	checked_free(&r);

	x = mkleaf(rsa_key, "DNS:sip1.test.invalid", "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, rsa_key, ca, t0, 0);
	assert_int_equal(r.dl.nerrors, 1);
	has(&r, "the RSA key in /pki/server.key has 1024 bits, fewer than the "
	    "2048 that sipedge requires");
	checked_free(&r);
	X509_free(x);
}

static void
test_check_dates(void **state)
{
	struct checked r;
	struct conf c;
	char *s, *na, *nb, *want;

	(void)state;
	base_conf(&c);
	na = pki_time_iso(X509_get0_notAfter(leaf));
	nb = pki_time_iso(X509_get0_notBefore(leaf));

	run_check(&r, &c, leaf, inter, leaf_key, ca, t0 + 400 * DAY, 0);
	assert_int_equal(r.dl.nerrors, 0);
	assert_int_equal(r.alarms, TLS_ALARM_EXPIRED);
	want = xasprintf("warning: the certificate in /pki/server.pem expired "
	    "on %s; it is used anyway so that service goes on", na);
	has(&r, want);
	free(want);
	s = tls_check_alarm_text(leaf, r.alarms, t0 + 400 * DAY);
	want = xasprintf("expired on %s", na);
	assert_string_equal(s, want);
	free(want);
	free(s);
	s = tls_check_alarm_words(r.alarms);
	assert_string_equal(s, "expired");
	free(s);
	checked_free(&r);

	run_check(&r, &c, leaf, inter, leaf_key, ca, t0 - 2 * DAY, 0);
	assert_int_equal(r.dl.nerrors, 0);
	assert_int_equal(r.alarms, TLS_ALARM_NOT_YET_VALID);
	want = xasprintf("warning: the certificate in /pki/server.pem is not "
	    "valid before %s; it is used anyway", nb);
	has(&r, want);
	free(want);
	checked_free(&r);

	/* 5 days left, warning from 30 days: "in 5 days". */
	run_check(&r, &c, leaf, inter, leaf_key, ca, t0 + 360 * DAY, 0);
	assert_int_equal(r.alarms, TLS_ALARM_EXPIRING);
	want = xasprintf("warning: the certificate in /pki/server.pem expires "
	    "on %s, in 5 days (tls.expiry_warning_days is 30): renew it soon",
	    na);
	has(&r, want);
	free(want);
	s = tls_check_alarm_text(leaf, r.alarms, t0 + 360 * DAY);
	want = xasprintf("expires on %s (in 5 days)", na);
	assert_string_equal(s, want);
	free(want);
	free(s);
	checked_free(&r);

	/* 0 turns the expiry warning off; 4 days is not within it either. */
	c.expiry_warning_days = 0;
	run_check(&r, &c, leaf, inter, leaf_key, ca, t0 + 360 * DAY, 0);
	assert_int_equal(r.alarms, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	c.expiry_warning_days = 4;
	run_check(&r, &c, leaf, inter, leaf_key, ca, t0 + 360 * DAY, 0);
	assert_int_equal(r.alarms, 0);
	checked_free(&r);

	assert_null(tls_check_alarm_text(leaf, 0, t0));
	s = tls_check_alarm_words(TLS_ALARM_EXPIRED | TLS_ALARM_NOT_YET_VALID);
	assert_string_equal(s, "expired,not-yet-valid");
	free(s);
	s = tls_check_alarm_words(0);
	assert_string_equal(s, "");
	free(s);
	free(na);
	free(nb);
}

static void
test_check_eku(void **state)
{
	struct checked r;
	struct conf c;
	struct conf_zone z = mtls_zone;
	X509 *x;

	(void)state;
	base_conf(&c);
	x = mkleaf(leaf_key, "DNS:sip1.test.invalid", "clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_int_equal(r.dl.nerrors, 1);
	has(&r, "the certificate in /pki/server.pem has an extendedKeyUsage "
	    "without serverAuth (it lists: clientAuth)");
	checked_free(&r);
	X509_free(x);

	x = mkleaf(leaf_key, "DNS:sip1.test.invalid", "serverAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");		/* no zone: nobody cares */
	checked_free(&r);
	c.zones = &z;
	c.nzones = 1;
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_int_equal(r.dl.nerrors, 0);
	has(&r, "warning: the certificate in /pki/server.pem has no clientAuth "
	    "in its extendedKeyUsage (it lists: serverAuth) while zone "
	    "'partner' uses mutual TLS: peers verifying it as a client will "
	    "reject it");
	checked_free(&r);
	z.tls_verify = 0;
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	z.tls_verify = 1;
	z.transport = TP_TCP;
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	X509_free(x);

	/* No extendedKeyUsage at all: any purpose. */
	z.transport = TP_TLS;
	x = mkleaf(leaf_key, "DNS:sip1.test.invalid", NULL);
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	X509_free(x);
}

static void
test_check_names(void **state)
{
	static char *peers[] = { "sip2.test.invalid", "sip3.test.invalid" };
	struct spec cn_only = { "sip1.test.invalid", leaf_key, inter, inter_key,
	    t0 - DAY, t0 + 365 * DAY, 0, NULL, "serverAuth,clientAuth" };
	struct checked r;
	struct conf c;
	X509 *x;

	(void)state;
	base_conf(&c);
	x = mkleaf(leaf_key, "DNS:sip1.test.invalid,DNS:*.test.invalid",
	    "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_int_equal(r.dl.n, 1);
	has(&r, "warning: the certificate in /pki/server.pem names the "
	    "wildcard *.test.invalid; peers following RFC 5922 do not accept "
	    "wildcard names");
	checked_free(&r);
	X509_free(x);

	/* A wildcard does not count as the node's name. */
	x = mkleaf(leaf_key, "DNS:*.test.invalid", "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_int_equal(r.dl.n, 2);
	has(&r, "does not name sip1.test.invalid (node.fqdn)");
	checked_free(&r);
	/* ... and the temporary certificate's names are not checked. */
	run_check(&r, &c, x, NULL, leaf_key, NULL, t0, 1);
	assert_int_equal(r.dl.n, 1);
	has(&r, "names the wildcard");
	checked_free(&r);
	X509_free(x);

	c.fqdn = "node.test.invalid";
	run_check(&r, &c, leaf, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "warning: the certificate in /pki/server.pem "
	    "does not name node.test.invalid (node.fqdn) (it names "
	    "CN=sip1.test.invalid, DNS:sip1.test.invalid, DNS:localhost); "
	    "peers that check the name will refuse connections to that name\n");
	checked_free(&r);

	/* Clustered: one warning listing every missing name. */
	c.fqdn = "sip1.test.invalid";
	c.cluster_fqdn = "cluster.test.invalid";
	c.cluster_peers.v = peers;
	c.cluster_peers.n = 2;
	x = mkleaf(leaf_key, "DNS:sip1.test.invalid,DNS:sip2.test.invalid",
	    "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_int_equal(r.dl.n, 1);
	has(&r, "does not name cluster.test.invalid (node.cluster_fqdn), "
	    "sip3.test.invalid (node.cluster_peers) (it names");
	has(&r, "connections to those names");
	checked_free(&r);
	X509_free(x);

	/* sip: URIs count, and names compare without case. */
	x = mkleaf(leaf_key, "URI:sip:SIP1.test.invalid,URI:sip:cluster.test."
	    "invalid;transport=tls,URI:sip:sip2.test.invalid:5061,"
	    "URI:sip:sip3.TEST.invalid,DNS:other.test.invalid",
	    "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	X509_free(x);

	/*
	 * As peers read it (RFC 5922 s.7.1): a sip: URI identity hides the
	 * DNS names, and sips: is no identity.  One warning names the rule
	 * and what to add.
	 */
	x = mkleaf(leaf_key, "URI:sip:SIP1.test.invalid,DNS:cluster.test.invalid,"
	    "URI:sips:sip2.test.invalid,DNS:sip3.TEST.invalid",
	    "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "warning: the certificate in /pki/server.pem "
	    "does not name cluster.test.invalid (node.cluster_fqdn), "
	    "sip2.test.invalid (node.cluster_peers), sip3.test.invalid "
	    "(node.cluster_peers) (it names CN=sip1.test.invalid, "
	    "URI:sip:SIP1.test.invalid, DNS:cluster.test.invalid, "
	    "URI:sips:sip2.test.invalid, DNS:sip3.TEST.invalid); peers that "
	    "check the name will refuse connections to those names; RFC 5922 "
	    "s.7.1: a sip: URI subjectAltName (URI:sip:SIP1.test.invalid) "
	    "hides the DNS subjectAltNames, so DNS:cluster.test.invalid, "
	    "DNS:sip3.TEST.invalid do not count; add "
	    "URI:sip:cluster.test.invalid, URI:sip:sip3.test.invalid to the "
	    "certificate (tls.extra_names) or leave the sip: URI out\n");
	checked_free(&r);
	X509_free(x);

	/* A CN beside a subjectAltName, a wildcard: each rule named. */
	c.cluster_fqdn = NULL;
	x = mkleaf(leaf_key, "DNS:*.test.invalid", "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	has(&r, "does not name sip1.test.invalid (node.fqdn) (it names "
	    "CN=sip1.test.invalid, DNS:*.test.invalid); peers that check the "
	    "name will refuse connections to that name; RFC 5922 s.7.1: the "
	    "common name is not used when the certificate has "
	    "subjectAltNames (only by peers with cn_compat), so "
	    "CN=sip1.test.invalid does not count; add DNS:sip1.test.invalid to "
	    "the subjectAltNames\n");
	checked_free(&r);
	c.fqdn = "other.test.invalid";
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	has(&r, "does not name other.test.invalid (node.fqdn) (it names "
	    "CN=sip1.test.invalid, DNS:*.test.invalid); peers that check the "
	    "name will refuse connections to that name; RFC 5922 s.7.2: "
	    "wildcards are not accepted, so DNS:*.test.invalid does not count "
	    "(only peers with accept_wildcards take it)\n");
	checked_free(&r);
	X509_free(x);
	c.fqdn = "sip1.test.invalid";

	/* tls.extra_names: DNS, IP and sip: URI hosts are looked for. */
	{
		static char *extra[] = { "DNS:chat.test.invalid",
		    "IP:192.0.2.7", "URI:sip:domain.test.invalid",
		    "URI:sips:x.test.invalid", "URI:sip:bob@y.test.invalid",
		    "URI:https://z.test.invalid/", "URI:sip:[2001:db8::1]",
		    "URI:sip:192.0.2.9;transport=tls",
		    "DNS:SIP1.test.invalid" };

		c.extra_names.v = extra;
		c.extra_names.n = sizeof extra / sizeof extra[0];
		x = mkleaf(leaf_key, "DNS:sip1.test.invalid,"
		    "DNS:chat.test.invalid,URI:sip:domain.test.invalid",
		    "serverAuth,clientAuth");
		run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
		has(&r, "does not name sip1.test.invalid (node.fqdn), "
		    "chat.test.invalid (tls.extra_names), 192.0.2.7 "
		    "(tls.extra_names) (it names");
		has(&r, "so DNS:sip1.test.invalid, DNS:chat.test.invalid do "
		    "not count; add URI:sip:sip1.test.invalid, "
		    "URI:sip:chat.test.invalid to the certificate");
		assert_int_equal(r.dl.n, 1);
		checked_free(&r);
		X509_free(x);
		x = mkleaf(leaf_key, "URI:sip:sip1.test.invalid,"
		    "URI:sip:chat.test.invalid,URI:sip:domain.test.invalid,"
		    "IP:192.0.2.7", "serverAuth,clientAuth");
		run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
		assert_string_equal(r.all, "");
		checked_free(&r);
		X509_free(x);
		c.extra_names.v = NULL;
		c.extra_names.n = 0;
	}

	/* A URI with a user part is not the host's identity. */
	c.cluster_fqdn = NULL;
	x = mkleaf(leaf_key, "URI:sip:alice@sip1.test.invalid",
	    "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	has(&r, "does not name sip1.test.invalid (node.fqdn)");
	checked_free(&r);
	X509_free(x);

	/* No subjectAltName at all: the CN counts. */
	x = mkcert(&cn_only);
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	X509_free(x);

	/* An IP literal as node.fqdn is looked for in the IP names. */
	c.fqdn = "192.0.2.10";
	x = mkleaf(leaf_key, "IP:192.0.2.10", "serverAuth,clientAuth");
	run_check(&r, &c, x, inter, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	X509_free(x);
}

static void
test_check_chain(void **state)
{
	struct spec self = { "sip1.test.invalid", leaf_key, NULL, NULL,
	    t0 - DAY, t0 + 365 * DAY, 0, "DNS:sip1.test.invalid", NULL };
	struct spec other_root = { "unrelated root", other_key, NULL, NULL,
	    t0 - DAY, t0 + 365 * DAY, 1, NULL, NULL };
	struct checked r;
	struct conf c;
	X509 *x, *o;

	(void)state;
	base_conf(&c);
	run_check(&r, &c, leaf, NULL, leaf_key, ca, t0, 0);
	assert_string_equal(r.all, "warning: chain incomplete: in "
	    "/pki/server.pem, CN=sip1.test.invalid, O=sipedge tests is issued "
	    "by CN=sipedge test intermediate, O=sipedge tests, which is neither "
	    "in the chain nor in tls.trust (/pki/trust.pem); add the "
	    "intermediate CA certificates to /pki/server.pem after the server "
	    "certificate, and the root CA to the trust list\n");
	checked_free(&r);

	o = mkcert(&other_root);
	run_check(&r, &c, leaf, inter, leaf_key, o, t0, 0);
	has(&r, "CN=sipedge test intermediate, O=sipedge tests is issued by "
	    "CN=sipedge test root, O=sipedge tests, which is neither in the "
	    "chain nor in tls.trust (/pki/trust.pem)");
	checked_free(&r);

	run_check(&r, &c, leaf, inter, leaf_key, NULL, t0, 0);
	has(&r, "which is neither in the chain nor in tls.trust (no trust list "
	    "is installed)");
	checked_free(&r);
	/* The temporary certificate's chain is not checked. */
	run_check(&r, &c, leaf, NULL, leaf_key, NULL, t0, 1);
	assert_string_equal(r.all, "");
	checked_free(&r);

	/* The root in the chain file but not trusted. */
	{
		STACK_OF(X509) *chain = sk_X509_new_null(), *trust;
		struct tls_check_input in;
		struct diaglist dl = { 0 };

		trust = sk_X509_new_null();
		sk_X509_push(trust, o);
		sk_X509_push(chain, leaf);
		sk_X509_push(chain, inter);
		sk_X509_push(chain, ca);
		memset(&in, 0, sizeof in);
		in.chain = chain;
		in.key = leaf_key;
		in.trust = trust;
		in.cert_file = "s.pem";
		in.key_file = "s.key";
		in.trust_file = "t.pem";
		tls_check_identity(&c, &in, &dl);
		assert_int_equal(dl.n, 1);
		assert_non_null(strstr(dl.v[0].text, "chain incomplete: the chain "
		    "in s.pem ends at the root CA CN=sipedge test root, "
		    "O=sipedge tests, which is not in tls.trust (t.pem)"));
		diag_clear(&dl);
		sk_X509_free(chain);
		sk_X509_free(trust);
	}

	x = mkcert(&self);
	run_check(&r, &c, x, NULL, leaf_key, ca, t0, 0);
	has(&r, "chain incomplete: the certificate in /pki/server.pem "
	    "(CN=sip1.test.invalid, O=sipedge tests) is self-signed and not in "
	    "tls.trust (/pki/trust.pem)");
	checked_free(&r);
	/* A self-signed certificate that is itself trusted is complete. */
	run_check(&r, &c, x, NULL, leaf_key, x, t0, 0);
	assert_string_equal(r.all, "");
	checked_free(&r);
	X509_free(x);

	/* Dates are not the chain's business: an expired leaf is only
	 * reported once, by the date check. */
	run_check(&r, &c, leaf, inter, leaf_key, ca, t0 + 400 * DAY, 0);
	assert_int_equal(r.dl.n, 1);
	has(&r, "expired on");
	checked_free(&r);
	X509_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_read_certs),
		cmocka_unit_test(test_read_unreadable),
		cmocka_unit_test(test_read_key),
		cmocka_unit_test(test_read_crls_and_csr),
		cmocka_unit_test(test_descriptions),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_check_good),
		cmocka_unit_test(test_check_key),
		cmocka_unit_test(test_check_dates),
		cmocka_unit_test(test_check_eku),
		cmocka_unit_test(test_check_names),
		cmocka_unit_test(test_check_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
