/*
 * rev_engine.h: the revocation verdict on a verified certificate path,
 * asynchronously.  For each certificate of the path except the trust
 * anchor: OCSP when enabled and the certificate names a responder; else,
 * or without an answer, the CRLs of its issuer (downloading the CDP when
 * allowed and no CRL is held); when no source answers, the fallback of
 * the policy for that outcome.  Fetches run on the loop (rev_fetch.h);
 * checks of the same certificate share one OCSP request and one CDP
 * download; OCSP answers are cached until nextUpdate.
 *
 * The decision for one certificate, rev_decide(), is pure and is what the
 * unit tests exercise; the rest gathers its inputs.
 */
#ifndef SE_REV_ENGINE_H
#define SE_REV_ENGINE_H

#include <time.h>

#include <openssl/x509.h>

#include "rev/rev_fetch.h"
#include "rev/rev_ocsp.h"
#include "rev/rev_settings.h"
#include "rev/rev_store.h"

enum rev_fallback {
	REV_FB_NOT_REVOKED,
	REV_FB_REVOKED
};

struct rev_policy {
	int		 enabled;	/* 0: no revocation checks at all */
	int		 use_ocsp;
	int		 use_crls;
	int		 allow_cdp;	/* download a certificate's CDP */
	int		 ocsp_nonce;
	long		 skew;		/* seconds of clock skew tolerated */
	long		 ocsp_max_age;	/* seconds; 0: nextUpdate only */
	/* What to do when no source gives an answer, by why. */
	enum rev_fallback fb_unknown;	  /* responder/CRL cannot say */
	enum rev_fallback fb_unreachable; /* fetch failed or timed out */
	enum rev_fallback fb_nosource;	  /* nothing to ask */
};

/* What was learnt about one certificate, the input of rev_decide(). */
struct rev_inputs {
	int			 ocsp_asked;	/* a responder was asked */
	int			 ocsp_unreachable; /* ... and did not answer */
	int			 ocsp_cached;	/* the answer came from cache */
	struct rev_ocsp_answer	 ocsp;		/* when asked and answered */
	int			 crl_looked;
	struct rev_crl_answer	 crl;		/* when looked */
	int			 cdp_fetched;	/* the CDP was downloaded */
	int			 cdp_unreachable;
	char			*fetch_error;	/* why a fetch failed */
};

enum rev_result {
	REV_GOOD,
	REV_REVOKED
};

struct rev_cert_verdict {
	enum rev_result	 result;
	int		 fallback;	/* 1: decided by the fallback */
	int		 listed;	/* 1: a source says it is revoked */
	const char	*source;	/* ocsp, crl, cdp, cache, fallback, off */
	char		*reason;	/* sentence; owned */
};

struct conf;
struct conf_zone;
/*
 * The policy of zone z (NULL: the global settings) from configuration c:
 * revocation.* with the zone's revocation switch and fallback overrides.
 */
void	rev_policy_from_conf(const struct conf *c, const struct conf_zone *z,
	    struct rev_policy *p);

/* The decision for one certificate. */
void	rev_decide(const struct rev_policy *p, const struct rev_inputs *in,
	    struct rev_cert_verdict *v);

/* The verdict on a whole path: revoked when any certificate is. */
struct rev_verdict {
	enum rev_result	 result;
	int		 fallback;	/* some certificate used the fallback */
	int		 depth;		/* the certificate that decided */
	int		 listed;	/* it: a source says it is revoked
					   (else expired CRL or fallback) */
	char		*subject;	/* of that certificate */
	char		*serial;	/* hex */
	const char	*source;
	char		*reason;
};
void	rev_verdict_clear(struct rev_verdict *v);

struct event_base;
struct rev_engine;
struct rev_check;

typedef void (*rev_check_cb)(const struct rev_verdict *v, void *arg);

struct rev_engine *rev_engine_new(struct event_base *base,
		    struct rev_fetcher *fetcher, struct rev_store *store);
void		 rev_engine_free(struct rev_engine *e);

/*
 * Check path (leaf first, the trust anchor last; the engine takes its own
 * references) under policy p at time now.  trust gives the responder
 * checks their chain (its verify parameters set the time).  chain: the
 * certificates the peer sent (may be NULL): beside the path and the trust
 * list, they may hold the certificate of a CRL's signer (a separate CRL
 * issuer, a CA's new key: rev_store.h).  cb runs once, on the loop,
 * possibly before this returns when nothing needs a fetch; returns NULL
 * in that case, else a handle for rev_check_cancel.
 */
struct rev_check *rev_engine_check_chain(struct rev_engine *e,
		    STACK_OF(X509) *path, STACK_OF(X509) *chain,
		    X509_STORE *trust, const struct rev_policy *p, time_t now,
		    rev_check_cb cb, void *arg);
void		 rev_check_cancel(struct rev_check *c);

/*
 * The configuration's settings from now on: the OCSP cache bound and the
 * CA file https responders must chain to.  Borrowed (rev_settings.h): rs
 * stays valid until the next call or rev_engine_free.  Before the first
 * call: 10000 entries and the system's CAs.
 */
void		 rev_engine_configure(struct rev_engine *e,
		    const struct rev_settings *rs);

/* OCSP cache size, hits and misses, for status. */
void		 rev_engine_stats(const struct rev_engine *e, size_t *entries,
		    unsigned long *hits, unsigned long *misses);

#endif
