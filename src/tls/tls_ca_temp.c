/*
 * tls_ca_temp.c: the daemon's temporary first-start CA and server
 * certificate in the state directory, made (or reused while still valid
 * and covering the names asked for) with tls_ca.c.  Key files are mode
 * 0600 and every write is atomic.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "util/file.h"
#include "util/name.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Free the n strings of v, and v. */
static void
sans_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * subjectAltName entries for the node's names plus loopback.  A name that
 * is neither a host name nor an IP address (a machine name with '_', say)
 * is left out: no certificate may carry it (util/name.c).
 */
static char **
temp_sans(const char *fqdn, char *const *aliases, size_t naliases, size_t *np)
{
	char **v = xcalloc(naliases + 4, sizeof *v);
	char *why = NULL;
	size_t n = 0, i;

	if ((v[n] = name_san_host(fqdn, &why)) != NULL)
		n++;
	free(why);
	if (strcmp(fqdn, "localhost") != 0)
		v[n++] = xstrdup("DNS:localhost");
	for (i = 0; i < naliases; i++) {
		why = NULL;
		if ((v[n] = name_san_host(aliases[i], &why)) != NULL)
			n++;
		free(why);
	}
	v[n++] = xstrdup("IP:127.0.0.1");
	v[n++] = xstrdup("IP:::1");
	*np = n;
	return v;
}

/* Whether x names this node and every alias (they may have changed since
 * the temporary certificate was made: then it is made again); names
 * temp_sans leaves out do not count. */
static int
covers_names(X509 *x, const char *fqdn, char *const *aliases, size_t naliases)
{
	size_t i;

	for (i = 0; i <= naliases; i++) {
		const char *n = i == 0 ? fqdn : aliases[i - 1];

		if (name_is_ip(n) ? X509_check_ip_asc(x, n, 0) != 1 :
		    name_dns_ok((const unsigned char *)n, strlen(n),
		    NAME_WILDCARD) && X509_check_host(x, n, 0,
		    X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
			return 0;
	}
	return 1;
}

/* Load a certificate and key pair if both exist, are valid for 30 more
 * days and match; NULLs otherwise. */
static void
load_pair(const char *certf, const char *keyf, X509 **xp, EVP_PKEY **kp)
{
	STACK_OF(X509) *certs;
	char *cause = NULL;
	time_t soon = time(NULL) + 30 * 86400L;

	*xp = NULL;
	*kp = NULL;
	if (access(certf, R_OK) != 0 || access(keyf, R_OK) != 0)
		return;
	if ((certs = pki_read_certs(certf, NULL, &cause)) == NULL) {
		free(cause);
		return;
	}
	*xp = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if ((*kp = pki_read_key(keyf, &cause)) == NULL)
		free(cause);
	if (*kp == NULL || X509_check_private_key(*xp, *kp) != 1 ||
	    X509_cmp_time(X509_get0_notAfter(*xp), &soon) <= 0) {
		ERR_clear_error();
		X509_free(*xp);
		EVP_PKEY_free(*kp);
		*xp = NULL;
		*kp = NULL;
	}
}

int
tls_temp_ensure(const char *state_dir, const char *fqdn, char *const *aliases,
    size_t naliases, char **cause)
{
	char *caf = xasprintf("%s/%s", state_dir, TLS_TEMP_CA_CERT);
	char *cak = xasprintf("%s/%s", state_dir, TLS_TEMP_CA_KEY);
	char *srvf = xasprintf("%s/%s", state_dir, TLS_TEMP_CERT);
	char *srvk = xasprintf("%s/%s", state_dir, TLS_TEMP_KEY);
	struct tls_ca_profile p;
	X509 *ca = NULL, *srv = NULL;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	char *cn = NULL, *why = NULL, **sans = NULL;
	size_t nsans = 0;
	int rv = -1;

	if (file_mkdir_p(state_dir, 0750, cause) == -1)
		goto out;
	load_pair(caf, cak, &ca, &ca_key);
	if (ca == NULL) {
		/* CN at most 64 characters: a long FQDN is cut. */
		cn = xasprintf("sipedge temporary CA %.43s", fqdn);
		if ((ca_key = tls_key_generate(TLS_KEY_EC_P256, &why)) == NULL ||
		    (ca = tls_ca_make_root(ca_key, cn, "sipedge temporary",
		    3650, &why)) == NULL) {
			*cause = xasprintf("cannot generate the temporary CA: %s",
			    why);
			goto out;
		}
		if (pki_write_key(cak, ca_key, cause) == -1 ||
		    pki_write_cert(caf, ca, cause) == -1)
			goto out;
		unlink(srvf);	/* a new CA needs a new server certificate */
	}
	load_pair(srvf, srvk, &srv, &srv_key);
	if (srv != NULL && X509_check_issued(ca, srv) == X509_V_OK &&
	    covers_names(srv, fqdn, aliases, naliases)) {
		rv = 0;
		goto out;
	}
	X509_free(srv);
	EVP_PKEY_free(srv_key);
	srv = NULL;
	memset(&p, 0, sizeof p);
	sans = temp_sans(fqdn, aliases, naliases, &nsans);
	/* The SANs carry the names; a CN holds at most 64 characters. */
	p.cn = strlen(fqdn) <= 64 ? fqdn : "sipedge temporary server";
	p.org = "sipedge temporary";
	p.sans = sans;
	p.nsans = nsans;
	p.server = p.client = 1;
	p.days = 365;
	if ((srv_key = tls_key_generate(TLS_KEY_EC_P256, &why)) == NULL ||
	    (srv = tls_ca_sign(ca, ca_key, srv_key, &p, &why)) == NULL) {
		*cause = xasprintf("cannot generate the temporary server "
		    "certificate for %s: %s", fqdn, why);
		goto out;
	}
	if (pki_write_key(srvk, srv_key, cause) == -1 ||
	    pki_write_cert(srvf, srv, cause) == -1)
		goto out;
	rv = 0;
out:
	ERR_clear_error();
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	sans_free(sans, nsans);
	free(caf);
	free(cak);
	free(srvf);
	free(srvk);
	free(cn);
	free(why);
	return rv;
}
