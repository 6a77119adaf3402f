/*
 * fuzz_crl.c: libFuzzer harness for CRL bytes: rev_crl_parse() (DER, PEM,
 * gzip, ZIP, as a download or a file would bring them), then every CRL
 * found into a rev_store twice: as it is, with a CA of the harness as a
 * possible issuer (its signature fails unless it is that CA's), and
 * re-signed by that CA under its name, so that the index, the ordering
 * and the lookups see the fuzzed entries and extensions.  Then lookups
 * of a few certificates of that CA.  FUZZ_VERBOSE=1 prints the answers
 * (to check a new seed).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "fuzz_pki.h"
#include "rev/rev_crl.h"
#include "rev/rev_store.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well below REV_CRL_MAX_EXPANDED, so that bombs stay cheap here. */
#define MAX_EXPANDED	(4UL * 1024 * 1024)
#define NLEAF		4

static EVP_PKEY *ca_key;
static X509 *ca;
static X509 *leaf[NLEAF];
static STACK_OF(X509) *issuers;

/* The CA, its key and the leaves the lookups ask about. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const ca_ext[] = {
		"basicConstraints", "critical,CA:TRUE",
		"keyUsage", "critical,keyCertSign,cRLSign", NULL
	};
	/* Serials the seeds list (make-seeds.sh), and one they do not. */
	static const long serials[NLEAF] = { 0x1234, 5, 0x1235, 0x7fffffffL };
	EVP_PKEY *k;
	int i;

	(void)argc;
	(void)argv;
	ca_key = fuzz_key();
	ca = fuzz_cert("Fuzz CA", 1, ca_key, NULL, NULL, ca_ext);
	k = fuzz_key();
	for (i = 0; i < NLEAF; i++)
		leaf[i] = fuzz_cert("leaf.example", serials[i], k, ca, ca_key,
		    NULL);
	EVP_PKEY_free(k);
	issuers = sk_X509_new_null();
	sk_X509_push(issuers, ca);
	return 0;
}

/* A copy of crl under the CA's name and signature, or NULL. */
static X509_CRL *
resign(X509_CRL *crl)
{
	X509_CRL *c = X509_CRL_dup(crl);

	if (c == NULL)
		return NULL;
	if (X509_CRL_set_issuer_name(c, X509_get_subject_name(ca)) != 1 ||
	    X509_CRL_sign(c, ca_key, EVP_sha256()) <= 0) {
		X509_CRL_free(c);
		return NULL;
	}
	return c;
}

/* Add crl to the store; the harness frees it when the store refuses it. */
static void
add(struct rev_store *st, X509_CRL *crl, enum rev_source src,
    STACK_OF(X509) *iss)
{
	char *cause = NULL;

	if (crl == NULL)
		return;
	if (rev_store_add(st, crl, src, "fuzz.crl", iss, &cause) == -1) {
		if (cause == NULL)
			abort();	/* -1 comes with a cause */
		free(cause);
		X509_CRL_free(crl);
	}
}

/* Count the CRLs rev_store_walk() shows. */
static void
walk_cb(const struct rev_crl_info *info, void *arg)
{
	size_t *n = arg;

	if (info->issuer == NULL || info->origin == NULL)
		abort();
	(*n)++;
}

/* Parse, store twice, look up, walk, clear. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509_CRL) *out = sk_X509_CRL_new_null();
	enum rev_crl_format fmt;
	struct rev_crl_answer a;
	struct rev_store *st;
	char *cause = NULL;
	size_t walked = 0;
	int i, n;

	n = rev_crl_parse("fuzz.crl", data, size, MAX_EXPANDED, out, &fmt,
	    &cause);
	if (n == -1) {
		if (cause == NULL || sk_X509_CRL_num(out) != 0)
			abort();
		free(cause);
		sk_X509_CRL_free(out);
		ERR_clear_error();
		return 0;
	}
	if (n < 1 || n != sk_X509_CRL_num(out))
		abort();
	(void)rev_crl_format_name(fmt);

	st = rev_store_new();
	for (i = 0; i < n; i++) {
		X509_CRL *crl = sk_X509_CRL_value(out, i);

		/* Re-signed: verified now (odd) or at lookup (even). */
		add(st, resign(crl), REV_SRC_MANUAL, i % 2 ? issuers : NULL);
		add(st, crl, i % 2 ? REV_SRC_DP : REV_SRC_CDP, issuers);
	}
	sk_X509_CRL_free(out);
	for (i = 0; i < NLEAF; i++) {
		rev_store_lookup(st, leaf[i], ca, FUZZ_NOW, &a);
		if (a.detail == NULL)
			abort();
		if (getenv("FUZZ_VERBOSE") != NULL)	/* to check a seed */
			fprintf(stderr, "fuzz_crl: %s: %d CRLs: %s\n",
			    rev_crl_format_name(fmt), n, a.detail);
		free(a.detail);
	}
	rev_store_walk(st, walk_cb, &walked);
	if (walked != rev_store_count(st))
		abort();
	rev_store_clear_source(st, REV_SRC_MANUAL);
	rev_store_lookup(st, leaf[0], ca, FUZZ_NOW, &a);
	free(a.detail);
	rev_store_free(st);
	ERR_clear_error();
	return 0;
}
