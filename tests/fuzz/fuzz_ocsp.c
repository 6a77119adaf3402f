/*
 * fuzz_ocsp.c: libFuzzer harness for OCSP responses checked against a
 * fixed question (rev_ocsp_check()).  A small CA, a leaf and two
 * responder certificates are made at start-up, with the query for the
 * leaf (with a nonce).  The input's first byte picks the mode:
 *  - even: the rest is the response DER, as a responder would send it;
 *  - odd: the rest describes a response that the harness builds and
 *    signs (status, signer, certificate IDs, times, nonce, reason), so
 *    that the checks after the signature see fuzzed values too.
 * Every answer must come with a detail sentence; a GOOD or REVOKED one
 * only from a signer the CA authorised.  FUZZ_VERBOSE=1 prints the
 * verdict (to check a new seed).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "fuzz_pki.h"
#include "rev/rev_ocsp.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *ca_key, *resp_key, *rogue_key;
static X509 *ca, *leaf, *other, *responder, *noeku, *rogue;
static STACK_OF(X509) *path;
static X509_STORE *trust;
static struct rev_ocsp_query query;
static OCSP_CERTID *other_id;

/* The CA, the leaf and its query, the responders, the trust store. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const ca_ext[] = {
		"basicConstraints", "critical,CA:TRUE",
		"keyUsage", "critical,keyCertSign,cRLSign", NULL
	};
	static const char *const leaf_ext[] = {
		"authorityInfoAccess", "OCSP;URI:http://ocsp.example/",
		"subjectAltName", "DNS:leaf.example", NULL
	};
	static const char *const resp_ext[] = {
		"extendedKeyUsage", "OCSPSigning", NULL
	};
	EVP_PKEY *k;
	char *cause = NULL;

	(void)argc;
	(void)argv;
	ca_key = fuzz_key();
	ca = fuzz_cert("Fuzz CA", 1, ca_key, NULL, NULL, ca_ext);
	k = fuzz_key();
	leaf = fuzz_cert("leaf.example", 0x1234, k, ca, ca_key, leaf_ext);
	other = fuzz_cert("other.example", 0x1235, k, ca, ca_key, leaf_ext);
	EVP_PKEY_free(k);
	resp_key = fuzz_key();
	responder = fuzz_cert("Fuzz OCSP", 7, resp_key, ca, ca_key, resp_ext);
	noeku = fuzz_cert("Fuzz no EKU", 8, resp_key, ca, ca_key, NULL);
	rogue_key = fuzz_key();
	rogue = fuzz_cert("Fuzz CA", 1, rogue_key, NULL, NULL, ca_ext);
	path = sk_X509_new_null();
	sk_X509_push(path, leaf);
	sk_X509_push(path, ca);
	trust = X509_STORE_new();
	X509_STORE_add_cert(trust, ca);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(trust), FUZZ_NOW);
	if (rev_ocsp_query_init(&query, leaf, ca, 1, &cause) == -1)
		abort();
	other_id = OCSP_cert_to_id(EVP_sha1(), other, ca);
	return 0;
}

/* Input bytes, read in order; zeros once they run out. */
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

/* The next four bytes, big-endian, as a signed offset. */
static int32_t
s32(struct rd *r)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | u8(r);
	return (int32_t)v;
}

/*
 * A time: an offset from FUZZ_NOW, or (flag) up to 20 raw bytes taken as
 * the GeneralizedTime's text, valid or not.
 */
static ASN1_GENERALIZEDTIME *
fuzz_time(struct rd *r)
{
	ASN1_GENERALIZEDTIME *t;
	unsigned kind = u8(r), n;

	if (kind % 4 == 3) {
		t = ASN1_GENERALIZEDTIME_new();
		n = u8(r) % 21;
		if (n > r->n)
			n = (unsigned)r->n;
		ASN1_STRING_set(t, r->p, (int)n);
		r->p += n;
		r->n -= n;
		return t;
	}
	return ASN1_GENERALIZEDTIME_adj(NULL, FUZZ_NOW, 0, s32(r));
}

/* The DER of a response built from the input, or NULL. */
static unsigned char *
build(struct rd *r, int *lenp)
{
	OCSP_BASICRESP *bs;
	OCSP_RESPONSE *resp;
	OCSP_CERTID *id;
	ASN1_GENERALIZEDTIME *thisupd, *nextupd, *rev;
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *signer;
	EVP_PKEY *skey;
	unsigned char *der = NULL;
	unsigned rstatus = u8(r) % 8, how = u8(r), nsingle, i, st;
	unsigned long flags = 0;
	int reason;

	if (rstatus != 0 && rstatus != 7) {
		/* Not successful: no body (4 is unused in RFC 6960). */
		resp = OCSP_response_create((int)rstatus, NULL);
		*lenp = i2d_OCSP_RESPONSE(resp, &der);
		OCSP_RESPONSE_free(resp);
		sk_X509_free(certs);
		return der;
	}
	bs = OCSP_BASICRESP_new();
	nsingle = 1 + u8(r) % 3;
	for (i = 0; i < nsingle; i++) {
		unsigned which = u8(r);

		id = OCSP_CERTID_dup(which % 3 == 2 ? other_id : query.id);
		st = u8(r) % 3;
		reason = (int)u8(r) - 2;
		thisupd = fuzz_time(r);
		nextupd = u8(r) % 4 == 0 ? NULL : fuzz_time(r);
		rev = st == V_OCSP_CERTSTATUS_REVOKED ? fuzz_time(r) : NULL;
		if (OCSP_basic_add1_status(bs, id, (int)st, reason, rev,
		    thisupd, nextupd) == NULL)
			ERR_clear_error();
		OCSP_CERTID_free(id);
		ASN1_GENERALIZEDTIME_free(thisupd);
		ASN1_GENERALIZEDTIME_free(nextupd);
		ASN1_GENERALIZEDTIME_free(rev);
	}
	switch (how % 3) {
	case 0:
		OCSP_copy_nonce(bs, query.req);
		break;
	case 1:
		OCSP_basic_add1_nonce(bs, (unsigned char *)"fuzzfuzz", 8);
		break;
	}
	switch ((how >> 2) % 4) {
	case 0:
		signer = ca;
		skey = ca_key;
		break;
	case 1:
		signer = responder;
		skey = resp_key;
		break;
	case 2:
		signer = noeku;
		skey = resp_key;
		break;
	default:
		signer = rogue;
		skey = rogue_key;
		break;
	}
	if (how & 0x10)
		flags |= OCSP_NOCERTS;
	if (how & 0x20)
		flags |= OCSP_RESPID_KEY;
	if (how & 0x40)
		sk_X509_push(certs, ca);
	if (OCSP_basic_sign(bs, signer, skey, EVP_sha256(), certs, flags) != 1)
		ERR_clear_error();
	resp = OCSP_response_create(rstatus == 7 ? 0 : (int)rstatus, bs);
	*lenp = i2d_OCSP_RESPONSE(resp, &der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	sk_X509_free(certs);
	ERR_clear_error();
	return der;
}

/* One response, raw or built, checked. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rev_ocsp_answer a;
	struct rd r = { data, size };
	unsigned char *der = NULL, *copy;
	unsigned mode;
	long skew, max_age;
	int len = 0;

	if (size == 0)
		return 0;
	mode = u8(&r);
	skew = (long)(mode >> 1) * 60;
	max_age = (mode & 0x80) ? 3600 : 0;
	if (mode & 1) {
		if ((der = build(&r, &len)) == NULL || len <= 0) {
			OPENSSL_free(der);
			return 0;
		}
		rev_ocsp_check(&query, der, (size_t)len, path, trust, FUZZ_NOW,
		    skew, max_age, &a);
		OPENSSL_free(der);
	} else {
		/* An exact copy: a read past the end is an ASan report. */
		copy = malloc(r.n + 1);
		if (copy == NULL)
			abort();
		memcpy(copy, r.p, r.n);
		rev_ocsp_check(&query, copy, r.n, path, trust, FUZZ_NOW, 300,
		    0, &a);
		free(copy);
	}
	if (a.detail == NULL)
		abort();
	if (getenv("FUZZ_VERBOSE") != NULL)	/* to check a seed */
		fprintf(stderr, "fuzz_ocsp: %s: %s\n",
		    rev_ocsp_status_name(a.status), a.detail);
	free(a.detail);
	ERR_clear_error();
	return 0;
}
