/*
 * digest.h: SIP digest authentication (RFC 3261 s.22, RFC 7616 hashes:
 * SHA-256, and MD5 for compatibility), as pure functions.  The server
 * keeps HA1 hashes, never passwords; its nonces are stateless (a
 * timestamp and an HMAC under a key made at start), so a nonce can be
 * checked without remembering it and expires by itself.
 */
#ifndef SE_DIGEST_H
#define SE_DIGEST_H

#include <stddef.h>
#include <time.h>

/* Hex digest of the longest hash (SHA-256) and its NUL. */
#define DIGEST_HEX_MAX	65

/* HA1 = H(user ":" realm ":" password), lower-case hex. */
void	digest_ha1(int sha256, const char *user, const char *realm,
	    const char *password, char out[DIGEST_HEX_MAX]);
/*
 * The response: H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(A2)) with
 * qop, or H(HA1 ":" nonce ":" H(A2)) without (qop NULL); A2 is
 * method ":" uri.
 */
void	digest_response(int sha256, const char *ha1, const char *nonce,
	    const char *nc, const char *cnonce, const char *qop,
	    const char *method, const char *uri, char out[DIGEST_HEX_MAX]);

/* A nonce for time now: "<hex seconds>.<32 hex of HMAC-SHA256>". */
void	digest_nonce(const unsigned char *key, size_t keylen, time_t now,
	    char *buf, size_t bufsz);
/* 0 a nonce we made at most max_age seconds ago, 1 an older one (stale),
 * -1 not ours. */
int	digest_nonce_check(const unsigned char *key, size_t keylen,
	    const char *nonce, time_t now, int max_age);

/* The parameters of a Digest challenge or credentials header value. */
struct digest_params {
	char	*username;
	char	*realm;
	char	*nonce;
	char	*uri;
	char	*response;
	char	*algorithm;	/* NULL: MD5 (RFC 3261) */
	char	*cnonce;
	char	*qop;		/* challenge: the offered list */
	char	*nc;
	char	*opaque;
	int	 stale;
};
/*
 * Parse `Digest name=value, name="quoted value", ...`: 0, or -1 when it
 * is not a Digest value or is malformed.  Unknown parameters are ignored.
 */
int	digest_parse(const char *value, struct digest_params *p);
void	digest_params_clear(struct digest_params *p);
/* 1 when algorithm names SHA-256, 0 for MD5 (or none), -1 otherwise. */
int	digest_algorithm(const char *algorithm);
/* Constant-time comparison of two hex strings. */
int	digest_equal(const char *a, const char *b);

#endif
