/*
 * rev_dp.h: CRLs from configured distribution points
 * (revocation.distribution_points), fetched at start and every day at
 * revocation.update_time (UTC) on the event loop, with conditional GET
 * (ETag, Last-Modified).  The last good copy of each is kept in a cache
 * directory, so a restart does not depend on the network; a failed fetch
 * keeps the last good CRLs and says so in the log.  The content may be a
 * CRL (PEM or DER) or a gzip or ZIP archive of CRLs (rev_crl.h sniffs).
 */
#ifndef SE_REV_DP_H
#define SE_REV_DP_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "rev/rev_fetch.h"
#include "rev/rev_settings.h"
#include "rev/rev_store.h"

struct event_base;
struct rev_dp;

/* Called after new CRLs from url went into the store. */
typedef void (*rev_dp_updated_cb)(const char *url, void *arg);

struct rev_dp	*rev_dp_new(struct event_base *base, struct rev_fetcher *f,
		    struct rev_store *st, rev_dp_updated_cb cb, void *arg);
void		 rev_dp_free(struct rev_dp *dp);

/*
 * The distribution points of a (new) configuration, from rs (borrowed,
 * rev_settings.h: valid until the next call or rev_dp_free): the URLs,
 * the minute of the day (UTC) of the daily update, the cache directory
 * and the CA file https points must chain to; and the certificates that
 * may have signed the CRLs (references taken).  A new set of URLs is
 * loaded from the cache at once and fetched now; an unchanged set keeps
 * its schedule.  The environment variable SIPEDGE_TEST_DP_INTERVAL
 * (seconds) replaces the daily schedule: a hook for tests.
 */
void		 rev_dp_configure(struct rev_dp *dp,
		    const struct rev_settings *rs, STACK_OF(X509) *issuers);
/* The cache directory's name inside daemon.state_dir. */
#define REV_DP_CACHE_DIR	"crl-cache"

/* The cached copy of url in cache_dir (<hash>.crl); caller frees. */
char		*rev_dp_cache_file(const char *cache_dir, const char *url);

/* Told about each CRL of a copy that the store refused, and why. */
typedef void (*rev_dp_refused_cb)(const char *url, const char *reason,
		    void *arg);

/*
 * Put the CRLs of the cached copy path of url into st (source
 * REV_SRC_DP, origin url), verified against issuers (may be NULL): what
 * sipedged does with a point's cache when the point is configured, and
 * what `sipedge-cert check --zone` does to use the same CRLs.  Each CRL
 * the store refuses goes to refused (may be NULL).  Returns the number of
 * CRLs taken; 0 with *why (caller frees) when the copy holds none that is
 * usable, 0 with *why NULL when there is no copy.
 */
size_t		 rev_dp_load_file(struct rev_store *st, const char *path,
		    const char *url, STACK_OF(X509) *issuers,
		    rev_dp_refused_cb refused, void *arg, char **why);

/* Fetch every distribution point now. */
void		 rev_dp_update_now(struct rev_dp *dp);

struct rev_dp_info {
	const char	*url;
	time_t		 last_attempt, last_success, next;
	size_t		 crls;		/* from the last good copy */
	const char	*error;		/* of the last attempt, or "" */
};
void		 rev_dp_walk(struct rev_dp *dp,
		    void (*fn)(const struct rev_dp_info *, void *), void *arg);

#endif
