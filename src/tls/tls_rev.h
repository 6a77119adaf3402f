/*
 * tls_rev.h: the inputs of the revocation decision, built from one
 * configuration: the trust store peer chains are verified against, and
 * the CRLs of every configured source (CRLs embedded in tls.trust, the
 * manual CRL, the cached copies of revocation.distribution_points).  The
 * daemon's gate and `sipedge-cert check --zone` both build them here, so
 * that the check applies exactly the daemon's inputs (sipedge.conf(5),
 * revocation).  Reads only the small files the configuration names; no
 * network, no event loop.
 */
#ifndef SE_TLS_REV_H
#define SE_TLS_REV_H

#include <openssl/x509.h>

#include "conf/conf.h"
#include "rev/rev_store.h"
#include "tls/tls_ctx.h"

/* Which sources tls_rev_load puts into the store. */
#define TLS_REV_IDENTITY	0x01	/* tls.trust's CRLs, manual_crl */
#define TLS_REV_DP_CACHE	0x02	/* the distribution points' cache */

/* Told about each CRL the store refused: where it came from, and why. */
typedef void (*tls_rev_refused_cb)(const char *origin, const char *reason,
		    void *arg);

/*
 * The store peer chains are verified against: the trust store of id's
 * context (a new reference), or an empty store when id is NULL or has no
 * context (nothing can then be verified).  Never NULL; X509_STORE_free.
 */
X509_STORE	*tls_rev_trust(struct tls_identity *id);

/*
 * The cache directory of the distribution points:
 * <daemon.state_dir>/crl-cache.  Caller frees.
 */
char		*tls_rev_dp_cache_dir(const struct conf *c);

/*
 * Put into st the CRLs of the sources in what (TLS_REV_*), each verified
 * against the CAs of trust on the way in (or later, against a peer's
 * intermediate, rev_store.h):
 *  TLS_REV_IDENTITY: the CRLs id read from tls.trust and
 *   revocation.manual_crl replace every REV_SRC_TRUST and REV_SRC_MANUAL
 *   CRL of st; the store takes its own reference to each of id's CRLs
 *   (id is not changed).  id may be NULL (no CRLs then).
 *  TLS_REV_DP_CACHE: the last good copy of each of c's distribution
 *   points that sipedged keeps in tls_rev_dp_cache_dir(c) replaces every
 *   REV_SRC_DP CRL of st (the daemon itself loads them through rev_dp.h,
 *   with the same code, and then keeps them fresh).
 * Each CRL refused goes to refused (may be NULL).  Returns the number of
 * CRLs taken.
 */
size_t		 tls_rev_load(struct rev_store *st, const struct conf *c,
		    const struct tls_identity *id, X509_STORE *trust, int what,
		    tls_rev_refused_cb refused, void *arg);

#endif
