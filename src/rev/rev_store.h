/*
 * rev_store.h: the CRLs sipedge knows, from every source (the manual file,
 * the trust file, configured distribution points, certificates' CDPs),
 * each verified against its issuer before use and indexed for O(log n)
 * lookups by serial number.  Pure: no I/O; callers parse bytes with
 * rev_crl.h and hand the CRLs over.
 *
 * A CRL is verified when it is added if its issuer is among the
 * certificates given (the trust list); otherwise it is kept, unverified,
 * until a lookup brings the issuing certificate from a peer's chain (an
 * intermediate CA), and verified then.  A CRL whose signature does not
 * verify is not kept, but its refusal is: lookups name it and why.
 *
 * CRLs are kept by issuer and scope (RFC 5280 s.5.2, s.6.3): complete and
 * delta CRLs (deltaCRLIndicator), each issuingDistributionPoint.  A CRL
 * with a critical extension (or entry extension) not processed here, a
 * cRLNumber marked critical, onlyContainsAttributeCerts or a damaged
 * scope is held but never used, and named in every answer about its
 * issuer.
 */
#ifndef SE_REV_STORE_H
#define SE_REV_STORE_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

enum rev_source {
	REV_SRC_MANUAL,		/* revocation.manual_crl */
	REV_SRC_TRUST,		/* embedded in tls.trust */
	REV_SRC_DP,		/* a configured distribution point */
	REV_SRC_CDP,		/* a certificate's cRLDistributionPoints */
	REV_SRC_CLI		/* sipedge-cert check --crl */
};
const char	*rev_source_name(enum rev_source s);

struct rev_store;

struct rev_store *rev_store_new(void);
void		 rev_store_free(struct rev_store *st);

/*
 * Add crl (the store takes it on success; on failure it stays the caller's)
 * from source/origin (a file name or URL).
 * issuers: certificates that may have signed it (may be NULL).  A CRL
 * whose issuer is known but whose signature does not verify, or whose
 * issuer may not sign CRLs, is refused: -1 with *cause (the refusal is
 * remembered for lookups); unless its signature fails with every key
 * known and its authorityKeyIdentifier names another key or none (a CA's
 * new key, a separate CRL signer): that one is kept unverified like a CRL
 * of an unknown issuer, for a lookup to verify (rev_signers), at most 16
 * of them (256 MB of DER); lookups name it meanwhile and do not refuse
 * it, and it replaces no verified CRL.  A CRL of the same source, issuer and scope
 * (complete or delta, issuingDistributionPoint) that is older (by CRL
 * number, else thisUpdate) than one already held is refused too; a newer
 * one replaces it; CRLs of other scopes stay.  0 on success.
 */
int		 rev_store_add(struct rev_store *st, X509_CRL *crl,
		     enum rev_source source, const char *origin,
		     STACK_OF(X509) *issuers, char **cause);

/*
 * Certificates that came with CRLs (a CRL file, a download): candidates
 * to have signed them, a separate CRL issuer or a CA's new key after a
 * rollover.  Taken by reference; they count only once validated (below).
 */
void		 rev_store_add_certs(struct rev_store *st,
		     STACK_OF(X509) *certs);

/* Drop every CRL of source (before a reload re-adds them). */
void		 rev_store_clear_source(struct rev_store *st,
		     enum rev_source source);

enum rev_crl_status {
	REV_CRL_GOOD,		/* a current CRL of the issuer lists it not */
	REV_CRL_REVOKED,	/* listed (time, reason) */
	REV_CRL_EXPIRED,	/* every CRL of the issuer is past nextUpdate */
	REV_CRL_NONE,		/* no CRL of this issuer at all */
	REV_CRL_UNKNOWN		/* CRLs held, none usable or not every
				   reason covered: status unknown */
};

/* Longest freshestCRL URL an answer carries (longer ones are left out). */
#define REV_FRESH_URL_MAX	512

struct rev_crl_answer {
	enum rev_crl_status	 status;
	time_t			 revoked_at;	/* REVOKED */
	int			 reason;	/* CRL reason code, -1 none */
	time_t			 next_update;	/* of the CRL that answered */
	enum rev_source		 source;	/* of the CRL that answered */
	int			 delta_used;	/* GOOD: a delta CRL was applied */
	char			 fresh_url[REV_FRESH_URL_MAX];
					/* GOOD without a delta: the first
					   http(s) URL of the answering
					   complete CRL's own freshestCRL
					   (RFC 5280 s.5.2.6), or "" */
	char			*detail;	/* sentence for logs; caller frees */
};

/*
 * Look up cert, issued by issuer, at time now (RFC 5280 s.6.3.3).  The
 * CRLs that cover cert are those of its issuer, verified with issuer's
 * key, and indirect CRLs of a cRLIssuer of its distribution points; each
 * within its scope (issuingDistributionPoint: the distribution point
 * among cert's, onlyContainsUserCerts/CACerts against cert's
 * basicConstraints).  The newest fitting delta CRL is applied to each
 * complete CRL (removeFromCRL there lifts a certificateHold).  Revoked in
 * any of them wins; otherwise good when the current ones cover every
 * reason together (onlySomeReasons); expired when one is past its
 * nextUpdate and the current ones do not cover all; unknown when CRLs
 * are held but none of them can answer (each named with why in
 * a->detail); none when the issuer has no CRL.  Fills *a (free
 * a->detail).
 */
void		 rev_store_lookup(struct rev_store *st, X509 *cert,
		     X509 *issuer, time_t now, struct rev_crl_answer *a);

/*
 * Where a CRL signed by a key other than the certificate issuer's may find
 * its signer (RFC 5280 s.6.3.3 f): a certificate of the CRL's issuer
 * with that key and cRLSign, in the trust list, the peer's chain or the
 * certificates that came with CRLs, that validates to the same trust
 * anchor as the certificate (a separate CRL issuer; a CA's new key with
 * its self-issued new-with-old certificate, or the new self-signed CA
 * over an old-with-new one).
 */
struct rev_signers {
	X509_STORE	*trust;		/* the trust list */
	STACK_OF(X509)	*chain;		/* the peer's certificates */
	X509		*anchor;	/* the anchor of the certificate's path */
};
/* rev_store_lookup with such signers (sg may be NULL: none). */
void		 rev_store_lookup_signers(struct rev_store *st, X509 *cert,
		     X509 *issuer, const struct rev_signers *sg, time_t now,
		     struct rev_crl_answer *a);

/*
 * Whether a CRL from source and origin (a URL) is held, usable or not,
 * and not past its nextUpdate at now: downloading it again would bring
 * nothing new.
 */
int		 rev_store_has_current(const struct rev_store *st,
		     enum rev_source source, const char *origin, time_t now);

/* One line per CRL for `sipedge-cert crl list`, status and logs. */
struct rev_crl_info {
	char		*issuer;	/* one-line name */
	enum rev_source	 source;
	const char	*origin;
	time_t		 this_update;
	time_t		 next_update;	/* 0: none */
	size_t		 entries;
	int		 verified;	/* 0: issuer not seen yet, or unusable */
	int		 delta;		/* a delta CRL */
	const char	*unusable;	/* why it is never used, or NULL */
};
/* Call fn for each CRL held; info is valid during the call only. */
void		 rev_store_walk(struct rev_store *st,
		     void (*fn)(const struct rev_crl_info *, void *), void *arg);
size_t		 rev_store_count(const struct rev_store *st);

#endif
