/*
 * fuzz_pki.h: small certificates for the harnesses, made at start-up
 * with keys generated then (nothing secret is committed).
 */
#ifndef SE_FUZZ_PKI_H
#define SE_FUZZ_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A new P-256 key; aborts on failure. */
EVP_PKEY	*fuzz_key(void);

/*
 * A certificate for key named CN=cn, serial, signed by issuer/ikey (both
 * NULL: self-signed).  ext: NULL-ended list of "name", "value" pairs for
 * X509V3_EXT_conf_nid style extensions ("basicConstraints",
 * "critical,CA:TRUE").  Valid from 2020 to 2040.  Aborts on failure.
 */
X509		*fuzz_cert(const char *cn, long serial, EVP_PKEY *key,
		    X509 *issuer, EVP_PKEY *ikey, const char *const *ext);

/* The fixed "now" of the harnesses: 2030-01-01T00:00:00Z. */
#define FUZZ_NOW	((time_t)1893456000)

#endif
