/*
 * tls_path.h: certification path building and the RFC 5280 rules that
 * OpenSSL 3.0 does not apply by itself.  The search tries every candidate
 * issuer (trust list first, then the peer's certificates) depth first,
 * bounded in length, candidates and signature checks, so that cross-signed
 * and same-name CAs are followed and hostile chains stay cheap; every
 * certificate of the trust list is an anchor, self-signed or not.  Each
 * complete candidate path goes through our rules, then through
 * X509_verify_cert restricted to exactly that path (X509_V_FLAG_X509_STRICT,
 * PARTIAL_CHAIN).  Pure: no I/O; the daemon's gate and `sipedge-cert check`
 * reach it through tls_peer_verify().
 */
#ifndef SE_TLS_PATH_H
#define SE_TLS_PATH_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define TLS_PATH_MAX_LEN	10	/* certificates, leaf and anchor included */
#define TLS_PATH_MAX_ISSUERS	16	/* candidate issuers weighed per certificate */
#define TLS_PATH_MAX_SIGS	128	/* signature checks per search (a key
					   over 4096 bits counts bits/2048) */
#define TLS_PATH_MAX_PATHS	8	/* complete candidate paths verified */

/* Where a DNS name appears: its allowed forms differ. */
enum tls_path_dns {
	TLS_PATH_DNS_SAN,	/* host name; "*" allowed as the whole first label */
	TLS_PATH_DNS_CONSTRAINT	/* host name, one leading "." allowed */
};

struct tls_path_params {
	X509_STORE	*trust;		/* the anchors; NULL: none */
	time_t		 now;		/* the check time */
	int		 purpose;	/* X509_PURPOSE_SSL_SERVER/_CLIENT; 0: none */
	int		 auth_level;	/* OpenSSL security level 0..5 */
	int		 min_rsa_bits;	/* 0: 2048 */
	int		 leaf_dates_judged; /* the caller judges the first
					   certificate's validity dates
					   (sipedged -t): not checked here */
};

struct tls_path_stats {
	int		 sigs;		/* signatures checked */
	int		 paths;		/* complete paths verified */
};

/*
 * Whether s[0..len) is a DNS name in the preferred name syntax (RFC 1034
 * s.3.5 as relaxed by RFC 1123 s.2.1: letters, digits and inner hyphens,
 * labels of 1 to 63, 253 in all, no trailing dot) in the given form.
 * Returns 1 or 0.
 */
int	tls_path_dns_ok(const unsigned char *s, size_t len,
	    enum tls_path_dns form);

/*
 * The first rule that certificate x, at depth of a path of npath
 * certificates, breaks at time now: validity (notBefore and notAfter both
 * inclusive), then, unless the path is the certificate alone, the RFC 5280
 * structure rules (basicConstraints, key identifiers, keyUsage,
 * nameConstraints, subjectAltName), then purpose (0: none) and the RSA key
 * size (min_bits).  Returns a sentence naming the certificate, its depth
 * and the rule (the caller frees it), or NULL when x passes.
 */
char	*tls_path_cert_problem(X509 *x, int depth, int npath, time_t now,
	    int purpose, int min_bits);

/*
 * Build and verify a path for chain (the peer's certificate first, then
 * untrusted certificates in any order) under p.  Returns 1 with *path (leaf
 * .. anchor, the caller frees it) or 0 with *reason (the caller frees it):
 * the rule that failed on the first candidate path, or the certificate
 * whose issuer is missing.  st, when not NULL, receives the work done.
 */
int	tls_path_build(STACK_OF(X509) *chain, const struct tls_path_params *p,
	    STACK_OF(X509) **path, char **reason, struct tls_path_stats *st);

#endif
