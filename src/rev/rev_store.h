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
 * verify is dropped and the lookup says so.
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
 * issuer may not sign CRLs, is refused: -1 with *cause.  A CRL from the
 * same issuer and source that is older (by CRL number, else thisUpdate)
 * than one already held is refused too; a newer one replaces it.  0 on
 * success.
 */
int		 rev_store_add(struct rev_store *st, X509_CRL *crl,
		     enum rev_source source, const char *origin,
		     STACK_OF(X509) *issuers, char **cause);

/* Drop every CRL of source (before a reload re-adds them). */
void		 rev_store_clear_source(struct rev_store *st,
		     enum rev_source source);

enum rev_crl_status {
	REV_CRL_GOOD,		/* a current CRL of the issuer lists it not */
	REV_CRL_REVOKED,	/* listed (time, reason) */
	REV_CRL_EXPIRED,	/* every CRL of the issuer is past nextUpdate */
	REV_CRL_NONE,		/* no usable CRL for this issuer */
	REV_CRL_UNSUPPORTED	/* only delta/indirect/partitioned CRLs */
};

struct rev_crl_answer {
	enum rev_crl_status	 status;
	time_t			 revoked_at;	/* REVOKED */
	int			 reason;	/* CRL reason code, -1 none */
	time_t			 next_update;	/* of the CRL that answered */
	enum rev_source		 source;	/* of the CRL that answered */
	char			*detail;	/* sentence for logs; caller frees */
};

/*
 * Look up cert, issued by issuer, at time now.  Revoked in any current CRL
 * of that issuer wins; otherwise good if at least one is current; expired
 * if all are past their nextUpdate.  Fills *a (free a->detail).
 */
void		 rev_store_lookup(struct rev_store *st, X509 *cert,
		     X509 *issuer, time_t now, struct rev_crl_answer *a);

/* One line per CRL for `sipedge-cert crl list`, status and logs. */
struct rev_crl_info {
	char		*issuer;	/* one-line name */
	enum rev_source	 source;
	const char	*origin;
	time_t		 this_update;
	time_t		 next_update;	/* 0: none */
	size_t		 entries;
	int		 verified;	/* 0: issuer not seen yet */
};
/* Call fn for each CRL held; info is valid during the call only. */
void		 rev_store_walk(struct rev_store *st,
		     void (*fn)(const struct rev_crl_info *, void *), void *arg);
size_t		 rev_store_count(const struct rev_store *st);

const char	*rev_reason_name(int reason);

#endif
