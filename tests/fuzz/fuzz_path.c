/*
 * fuzz_path.c: libFuzzer harness for path building and the RFC 5280 rules
 * (tls_path_build()).  Input: a purpose byte (0 none, 1 server, 2 client),
 * a 16-bit trust mask (bit i: certificate i goes to the trust list; the
 * peer's certificate is 0), a time byte (0: a fixed time, 1: the leaf's
 * notAfter, 2: one second after it, else the leaf's notBefore), then
 * certificates, each a 16-bit big-endian length and that much DER (at most
 * 24; what does not parse is skipped).  The first certificate that parses
 * is the peer's, the rest untrusted unless the mask says trusted.  The
 * verdict must follow tls_path.h: a path exactly when accepted, a reason
 * exactly when refused, the path from the peer's certificate to one of
 * the trust list within the bounds, the work within the bounds, and no
 * control bytes in the reason.  FUZZ_VERBOSE=1 prints the verdicts.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_path.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seconds since the epoch of t, or 0. */
static time_t
epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_path_params p;
	struct tls_path_stats st;
	STACK_OF(X509) *chain, *trusted, *path = NULL;
	X509_STORE *store;
	char *reason = NULL;
	unsigned mask, ncert = 0;
	int ok, k, found;
	uint8_t when;
	const char *q;

	if (size < 4)
		return 0;
	memset(&p, 0, sizeof p);
	p.purpose = data[0] % 3 == 1 ? X509_PURPOSE_SSL_SERVER :
	    data[0] % 3 == 2 ? X509_PURPOSE_SSL_CLIENT : 0;
	p.auth_level = 1;
	mask = (unsigned)data[1] << 8 | data[2];
	when = data[3];
	data += 4;
	size -= 4;
	chain = sk_X509_new_null();
	trusted = sk_X509_new_null();
	store = X509_STORE_new();
	while (size >= 2 && ncert < 24) {
		size_t n = (size_t)data[0] << 8 | data[1];
		const unsigned char *der = data + 2;
		X509 *x;

		if (n > size - 2)
			n = size - 2;
		data += 2 + n;
		size -= 2 + n;
		if ((x = d2i_X509(NULL, &der, (long)n)) == NULL)
			continue;
		if (ncert < 16 && (mask >> ncert & 1) != 0) {
			X509_STORE_add_cert(store, x);
			X509_up_ref(x);
			sk_X509_push(trusted, x);
		}
		sk_X509_push(chain, x);
		ncert++;
	}
	ERR_clear_error();
	if (ncert == 0)
		goto out;
	p.trust = store;
	p.now = 1800000000;
	if (when == 1)
		p.now = epoch(X509_get0_notAfter(sk_X509_value(chain, 0)));
	else if (when == 2)
		p.now = epoch(X509_get0_notAfter(sk_X509_value(chain, 0))) + 1;
	else if (when > 2)
		p.now = epoch(X509_get0_notBefore(sk_X509_value(chain, 0)));
	ok = tls_path_build(chain, &p, &path, &reason, &st);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%s: %s (%d signatures, %d paths)\n",
		    ok ? "accepted" : "refused", ok ? "" : reason, st.sigs,
		    st.paths);
	if (ok != (path != NULL) || ok == (reason != NULL))
		abort();
	if (st.sigs > TLS_PATH_MAX_SIGS || st.paths > TLS_PATH_MAX_PATHS)
		abort();
	if (ok) {
		if (sk_X509_num(path) < 1 || sk_X509_num(path) > TLS_PATH_MAX_LEN ||
		    X509_cmp(sk_X509_value(path, 0), sk_X509_value(chain, 0)) != 0)
			abort();
		for (found = 0, k = 0; k < sk_X509_num(trusted); k++)
			if (X509_cmp(sk_X509_value(trusted, k),
			    sk_X509_value(path, sk_X509_num(path) - 1)) == 0)
				found = 1;
		if (!found)
			abort();
	} else
		for (q = reason; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				abort();
	free(reason);
	sk_X509_pop_free(path, X509_free);
out:
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(trusted, X509_free);
	X509_STORE_free(store);
	ERR_clear_error();
	return 0;
}
