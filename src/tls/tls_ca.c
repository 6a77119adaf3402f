/*
 * tls_ca.c: a small certificate authority: the daemon's temporary
 * first-start CA and `sipedge-cert lab-ca` share this code.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
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
#include "util/xmalloc.h"

/* --- temporary CA --------------------------------------------------- */

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A new certificate for key, signed by issuer_key (self-signed if no issuer). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    long days, int is_ca, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn;

	X509_set_version(x, 2);
	RAND_bytes(serial, sizeof serial);
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
	X509_set_pubkey(x, key);
	name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"sipedge temporary", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	if (issuer == NULL)
		issuer = x;
	if (add_ext(x, issuer, NID_subject_key_identifier, "hash") == -1 ||
	    add_ext(x, issuer, NID_authority_key_identifier, "keyid") == -1)
		goto fail;
	if (is_ca) {
		if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") == -1 ||
		    add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") == -1)
			goto fail;
	} else {
		if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
		    add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment") == -1 ||
		    add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth") == -1 ||
		    add_ext(x, issuer, NID_subject_alt_name, san) == -1)
			goto fail;
	}
	if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int
is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* subjectAltName value for the node's names plus loopback. */
static char *
san_for(const char *fqdn, char *const *aliases, size_t naliases)
{
	char *san = xasprintf("%s:%s", is_ip(fqdn) ? "IP" : "DNS", fqdn), *t;
	size_t i;

	if (strcmp(fqdn, "localhost") != 0) {
		t = xasprintf("%s,DNS:localhost", san);
		free(san);
		san = t;
	}
	for (i = 0; i < naliases; i++) {
		t = xasprintf("%s,%s:%s", san, is_ip(aliases[i]) ? "IP" : "DNS",
		    aliases[i]);
		free(san);
		san = t;
	}
	t = xasprintf("%s,IP:127.0.0.1,IP:::1", san);
	free(san);
	return t;
}

/* Whether x names this node and every alias (they may have changed since
 * the temporary certificate was made: then it is made again). */
static int
covers_names(X509 *x, const char *fqdn, char *const *aliases, size_t naliases)
{
	size_t i;

	for (i = 0; i <= naliases; i++) {
		const char *n = i == 0 ? fqdn : aliases[i - 1];

		if (is_ip(n) ? X509_check_ip_asc(x, n, 0) != 1 :
		    X509_check_host(x, n, 0, X509_CHECK_FLAG_NO_WILDCARDS,
		    NULL) != 1)
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
	X509 *ca = NULL, *srv = NULL;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	char *cn = NULL, *san = NULL;
	int rv = -1;

	if (file_mkdir_p(state_dir, 0750, cause) == -1)
		goto out;
	load_pair(caf, cak, &ca, &ca_key);
	if (ca == NULL) {
		ca_key = EVP_EC_gen("P-256");
		cn = xasprintf("sipedge temporary CA %s", fqdn);
		if (ca_key == NULL || (ca = make_cert(ca_key, cn, NULL, NULL,
		    3650, 1, NULL)) == NULL) {
			*cause = xstrdup("cannot generate the temporary CA");
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
	san = san_for(fqdn, aliases, naliases);
	srv_key = EVP_EC_gen("P-256");
	if (srv_key == NULL || (srv = make_cert(srv_key, fqdn, ca, ca_key, 365,
	    0, san)) == NULL) {
		*cause = xasprintf("cannot generate the temporary server "
		    "certificate for %s", san);
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
	free(caf);
	free(cak);
	free(srvf);
	free(srvk);
	free(cn);
	free(san);
	return rv;
}
