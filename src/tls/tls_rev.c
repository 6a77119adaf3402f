/*
 * tls_rev.c: the trust store and CRL sources of a configuration, for the
 * daemon's gate and for `sipedge-cert check --zone` alike.  It must not
 * fetch anything: distribution points are read from the cache the daemon
 * writes (rev_dp.h), never downloaded here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rev/rev_dp.h"
#include "tls/tls_rev.h"
#include "util/xmalloc.h"

X509_STORE *
tls_rev_trust(struct tls_identity *id)
{
	X509_STORE *st;

	if (id != NULL && id->ctx != NULL &&
	    (st = SSL_CTX_get_cert_store(id->ctx)) != NULL) {
		X509_STORE_up_ref(st);
		return st;
	}
	return X509_STORE_new();
}

char *
tls_rev_dp_cache_dir(const struct conf *c)
{
	return xasprintf("%s/%s", c->state_dir.path, REV_DP_CACHE_DIR);
}

/*
 * The CRLs of the identity: trust file and manual CRL.  The store takes
 * its own reference to each; id keeps its CRLs (a snapshot is never
 * changed once built).
 */
static size_t
load_identity(struct rev_store *st, const struct tls_identity *id,
    STACK_OF(X509) *issuers, tls_rev_refused_cb refused, void *arg)
{
	char *cause = NULL;
	const char *origin;
	size_t taken = 0;
	int k;

	rev_store_clear_source(st, REV_SRC_TRUST);
	rev_store_clear_source(st, REV_SRC_MANUAL);
	if (id == NULL)
		return 0;
	for (k = 0; k < sk_X509_CRL_num(id->crls); k++) {
		X509_CRL *crl = sk_X509_CRL_value(id->crls, k);
		int manual = id->crl_source[k] == TLS_CRL_MANUAL;

		origin = manual ? id->manual_crl_file : id->trust_file;
		X509_CRL_up_ref(crl);
		if (rev_store_add(st, crl, manual ? REV_SRC_MANUAL :
		    REV_SRC_TRUST, origin, issuers, &cause) == 0) {
			taken++;
			continue;
		}
		if (refused != NULL)
			refused(origin != NULL ? origin : "tls.trust", cause,
			    arg);
		free(cause);
		cause = NULL;
		X509_CRL_free(crl);
	}
	return taken;
}

/* The cached copies of the distribution points, as sipedged loads them. */
static size_t
load_dp_cache(struct rev_store *st, const struct conf *c,
    STACK_OF(X509) *issuers, tls_rev_refused_cb refused, void *arg)
{
	char *dir = tls_rev_dp_cache_dir(c), *path, *why = NULL;
	size_t i, taken = 0;

	rev_store_clear_source(st, REV_SRC_DP);
	for (i = 0; i < c->rev_dps.n; i++) {
		path = rev_dp_cache_file(dir, c->rev_dps.v[i]);
		taken += rev_dp_load_file(st, path, c->rev_dps.v[i], issuers,
		    refused, arg, &why);
		if (why == NULL && access(path, F_OK) != 0)
			why = xasprintf("%s: no copy in %s: sipedged has not "
			    "fetched this distribution point yet, so its CRLs "
			    "are not used (sipedge-ctl crl update fetches it)",
			    c->rev_dps.v[i], dir);
		if (why != NULL && refused != NULL)
			refused(c->rev_dps.v[i], why, arg);
		free(why);
		why = NULL;
		free(path);
	}
	free(dir);
	return taken;
}

size_t
tls_rev_load(struct rev_store *st, const struct conf *c,
    const struct tls_identity *id, X509_STORE *trust, int what,
    tls_rev_refused_cb refused, void *arg)
{
	STACK_OF(X509) *issuers = trust != NULL ?
	    X509_STORE_get1_all_certs(trust) : sk_X509_new_null();
	size_t taken = 0;

	if (what & TLS_REV_IDENTITY)
		taken += load_identity(st, id, issuers, refused, arg);
	if (what & TLS_REV_DP_CACHE)
		taken += load_dp_cache(st, c, issuers, refused, arg);
	sk_X509_pop_free(issuers, X509_free);
	return taken;
}
