/*
 * fuzz_pki.c: keys and certificates for the harnesses, made in memory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "fuzz_pki.h"

/* A P-256 key. */
EVP_PKEY *
fuzz_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		abort();
	return k;
}

/* A certificate as fuzz_pki.h says. */
X509 *
fuzz_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *ikey, const char *const *ext)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	size_t i;

	if (x == NULL || name == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)1577836800);	/* 2020 */
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)2208988800);	/* 2040 */
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; ext != NULL && ext[i] != NULL; i += 2) {
		e = X509V3_EXT_conf(NULL, &ctx, ext[i], ext[i + 1]);
		if (e == NULL) {
			fprintf(stderr, "fuzz_cert: bad extension %s=%s\n",
			    ext[i], ext[i + 1]);
			abort();
		}
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) <= 0)
		abort();
	return x;
}
