/*
 * rev_ocsp.h: OCSP (RFC 6960) without the network: build the request for
 * one certificate and check the responder's answer.  The fetcher carries
 * the bytes; the cache keeps answers by certificate ID until nextUpdate.
 */
#ifndef SE_REV_OCSP_H
#define SE_REV_OCSP_H

#include <stddef.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

/* One question: the certificate's ID, the request bytes, the nonce. */
struct rev_ocsp_query {
	OCSP_CERTID	*id;
	OCSP_REQUEST	*req;
	unsigned char	*der;		/* the request, DER */
	size_t		 len;
	char		*key;		/* hex of the certID, for caches */
	char		*url;		/* responder from the AIA, or NULL */
};

/*
 * Prepare the query for cert issued by issuer, with a nonce when nonce is
 * set.  url is the first http(s) OCSP responder of the certificate's AIA
 * (NULL when it names none).  0, or -1 with *cause.
 */
int	rev_ocsp_query_init(struct rev_ocsp_query *q, X509 *cert, X509 *issuer,
	    int nonce, char **cause);
void	rev_ocsp_query_clear(struct rev_ocsp_query *q);

enum rev_ocsp_status {
	REV_OCSP_GOOD,
	REV_OCSP_REVOKED,
	REV_OCSP_UNKNOWN,	/* the responder does not know the certificate */
	REV_OCSP_INVALID	/* no usable answer: see detail */
};

struct rev_ocsp_answer {
	enum rev_ocsp_status	 status;
	time_t			 revoked_at;
	int			 reason;	/* CRL reason code, -1 none */
	time_t			 this_update;
	time_t			 next_update;	/* 0: none given */
	char			*detail;	/* sentence; caller frees */
};

/*
 * Check a response (DER) to q.  path: the peer's certificates up to and
 * including the trust anchor (searched for the signer when the response
 * does not carry it, and used to build the signer's chain); trust: the trusted CAs, whose
 * verify parameters give the check time.  The signer must be the issuer
 * or a responder certificate issued by it with id-kp-OCSPSigning; the
 * answer must be for q's certificate ID, its nonce must match when both
 * carry one, thisUpdate may be at most skew seconds in the future and
 * nextUpdate at most skew seconds in the past, and when max_age > 0 the
 * answer may be at most max_age seconds old.  Fills *a (free a->detail).
 */
void	rev_ocsp_check(const struct rev_ocsp_query *q, const unsigned char *der,
	    size_t len, STACK_OF(X509) *path, X509_STORE *trust, time_t now,
	    long skew, long max_age, struct rev_ocsp_answer *a);

const char *rev_ocsp_status_name(enum rev_ocsp_status s);

#endif
