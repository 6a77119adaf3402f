/*
 * tls_ctx.c: load certificate, key and trust list; build the SSL_CTX;
 * create the first-start temporary CA.  Every failure is a sentence that
 * names the file and what is wrong with it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/tls_ca.h"
#include "tls/tls_check.h"
#include "tls/tls_ctx.h"
#include "tls/tls_pki.h"
#include "util/file.h"
#include "util/xmalloc.h"

static char *
subject_line(X509 *x)
{
	return pki_name_line(X509_get_subject_name(x));
}

/*
 * Whether p is a default PKI path whose file does not exist: nothing is
 * installed there yet (a path set in the file must exist).
 */
static int
default_absent(const struct conf_path *p)
{
	struct stat st;

	return p->path == NULL || (CONF_PATH_IS_DEFAULT(p) &&
	    lstat(p->path, &st) == -1 && errno == ENOENT);
}

/* The handshake goes on whatever the chain; the peer gate decides. */
static int
verify_later(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

void
tls_identity_free(struct tls_identity *id)
{
	if (id == NULL)
		return;
	SSL_CTX_free(id->ctx);
	free(id->cert_file);
	free(id->key_file);
	free(id->subject);
	free(id->not_before);
	free(id->not_after);
	free(id->trust_file);
	free(id->alarm_text);
	sk_X509_CRL_pop_free(id->crls, X509_CRL_free);
	free(id->crl_source);
	free(id->manual_crl_file);
	free(id);
}

size_t
tls_identity_ncrls(const struct tls_identity *id, int source)
{
	return source == TLS_CRL_MANUAL ? id->ncrls[1] : id->ncrls[0];
}

/* An error about the file named by setting p (label), at p's line if set. */
static void
add_err(struct diaglist *dl, const struct conf_path *p, const char *label,
    char *cause)
{
	if (p != NULL && p->loc.line > 0)
		diag_add(dl, DIAG_ERROR, p->loc.file, p->loc.line, "%s: %s",
		    label, cause);
	else
		diag_add(dl, DIAG_ERROR, NULL, 0, "%s: %s", label, cause);
	free(cause);
}

/* Move the CRLs of from to the end of id's, recording their source. */
static void
keep_crls(struct tls_identity *id, STACK_OF(X509_CRL) *from, int source)
{
	size_t n;

	while (sk_X509_CRL_num(from) > 0) {
		sk_X509_CRL_push(id->crls, sk_X509_CRL_shift(from));
		n = (size_t)sk_X509_CRL_num(id->crls);
		id->crl_source = xreallocarray(id->crl_source, n,
		    sizeof *id->crl_source);
		id->crl_source[n - 1] = source;
		id->ncrls[source == TLS_CRL_MANUAL ? 1 : 0]++;
	}
}

/*
 * The trust list (with its CRLs) and the manual CRL: a default path that
 * does not exist means none; a set path must exist.
 */
static STACK_OF(X509) *
load_trust(const struct conf *c, struct tls_identity *id, struct diaglist *dl)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null(), *manual;
	STACK_OF(X509) *trust = NULL;
	char *cause = NULL;

	if (!default_absent(&c->tls_trust)) {
		trust = pki_read_certs(c->tls_trust.path, crls, &cause);
		if (trust == NULL)
			add_err(dl, &c->tls_trust, "tls.trust", cause);
		else {
			id->trust_file = xstrdup(c->tls_trust.path);
			keep_crls(id, crls, TLS_CRL_TRUST_FILE);
		}
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	if (!default_absent(&c->manual_crl)) {
		manual = pki_read_crls(c->manual_crl.path, &cause);
		if (manual == NULL)
			add_err(dl, &c->manual_crl, "revocation.manual_crl",
			    cause);
		else {
			id->manual_crl_file = xstrdup(c->manual_crl.path);
			keep_crls(id, manual, TLS_CRL_MANUAL);
			sk_X509_CRL_free(manual);
		}
	}
	return trust;
}

/*
 * The key of an installed certificate, or a sentence naming the missing
 * key file (installing only the certificate is an easy mistake).
 */
static EVP_PKEY *
load_key(const char *certf, const char *keyf, int installed, char **cause)
{
	struct stat st;

	if (installed && stat(certf, &st) == 0 && lstat(keyf, &st) == -1 &&
	    errno == ENOENT) {
		*cause = xasprintf("the certificate %s is installed but its "
		    "private key %s does not exist; install both (sipedge-cert "
		    "install), or remove the certificate to use the temporary "
		    "one", certf, keyf);
		return NULL;
	}
	return pki_read_key(keyf, cause);
}

struct tls_identity *
tls_identity_load(const struct conf *c, enum tls_load_mode mode,
    struct diaglist *dl)
{
	struct tls_identity *id = xcalloc(1, sizeof *id);
	STACK_OF(X509) *chain = NULL, *trust;
	const struct conf_path *cp = NULL, *kp = NULL;
	struct tls_check_input in;
	struct diaglist tdl = { 0 };
	char *certf = NULL, *keyf = NULL, *cause = NULL, why[256];
	size_t before = dl->nerrors;
	X509_STORE *store;
	EVP_PKEY *key = NULL;
	X509 *leaf;
	int i;

	id->crls = sk_X509_CRL_new_null();
	/* Read first, reported after the certificate and key (file order). */
	trust = load_trust(c, id, &tdl);
	if (!default_absent(&c->tls_certificate)) {
		cp = &c->tls_certificate;
		kp = &c->tls_private_key;
		certf = xstrdup(cp->path);
		keyf = xstrdup(kp->path);
	} else {
		certf = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_CERT);
		keyf = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_KEY);
		id->temporary = 1;
		if (mode == TLS_LOAD_RUN) {
			if (tls_temp_ensure(c->state_dir.path, c->fqdn,
			    c->aliases.v, c->aliases.n, &cause) == -1) {
				add_err(dl, &c->state_dir, "temporary certificate",
				    cause);
				goto out;
			}
		} else if (access(certf, R_OK) != 0) {
			diag_add(dl, DIAG_WARN, NULL, 0, "no tls.certificate is "
			    "set: a temporary CA and server certificate will be "
			    "created in %s at start", c->state_dir.path);
			goto out;
		}
	}
	id->cert_file = xstrdup(certf);
	id->key_file = xstrdup(keyf);

	if ((chain = pki_read_certs(certf, NULL, &cause)) == NULL)
		add_err(dl, cp, "tls.certificate", cause);
	if ((key = load_key(certf, keyf, !id->temporary, &cause)) == NULL)
		add_err(dl, kp, "tls.private_key", cause);
	diag_move(dl, &tdl);
	if (chain == NULL || key == NULL || dl->nerrors != before)
		goto out;

	memset(&in, 0, sizeof in);
	in.chain = chain;
	in.key = key;
	in.trust = trust;
	in.cert_file = certf;
	in.key_file = keyf;
	in.cert_loc = cp != NULL ? &cp->loc : NULL;
	in.key_loc = kp != NULL ? &kp->loc : NULL;
	in.now = time(NULL);
	in.trust_file = id->trust_file;
	in.temporary = id->temporary;
	id->alarms = tls_check_identity(c, &in, dl);
	if (dl->nerrors != before)
		goto out;
	leaf = sk_X509_value(chain, 0);
	id->alarm_text = tls_check_alarm_text(leaf, id->alarms, in.now);
	id->subject = subject_line(leaf);
	id->not_before = pki_time_iso(X509_get0_notBefore(leaf));
	id->not_after = pki_time_iso(X509_get0_notAfter(leaf));

	id->ctx = SSL_CTX_new(TLS_method());
	SSL_CTX_set_security_level(id->ctx, c->security_level);
	SSL_CTX_set_min_proto_version(id->ctx, c->tls_min_version == 1 ?
	    TLS1_3_VERSION : TLS1_2_VERSION);
	/*
	 * Ask TLS clients for a certificate without requiring one, and let
	 * every handshake finish: the peer gate checks the chain with the
	 * zone's policy afterwards and refuses with a reason in the log.  No
	 * session resumption, so every connection shows its whole chain.
	 */
	SSL_CTX_set_verify(id->ctx, SSL_VERIFY_PEER, verify_later);
	SSL_CTX_set_session_cache_mode(id->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(id->ctx, 0);
	SSL_CTX_set_options(id->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * An idle connection keeps no record buffers: OpenSSL frees its read
	 * and write buffers (about 34 KB) whenever they are empty and takes
	 * them again for the next record (contrib/bench/README.md: waves).
	 */
	SSL_CTX_set_mode(id->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate(id->ctx, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(id->ctx, key) != 1) {
		diag_add(dl, DIAG_ERROR, cp ? cp->loc.file : NULL,
		    cp ? cp->loc.line : 0, "tls.certificate: %s cannot be used "
		    "at security level %d (%s)", certf, c->security_level,
		    pki_ossl_reason(why, sizeof why));
		goto out;
	}
	for (i = 1; i < sk_X509_num(chain); i++)
		SSL_CTX_add1_chain_cert(id->ctx, sk_X509_value(chain, i));

	store = SSL_CTX_get_cert_store(id->ctx);
	if (trust != NULL) {
		for (i = 0; i < sk_X509_num(trust); i++)
			X509_STORE_add_cert(store, sk_X509_value(trust, i));
		id->ntrusted = (size_t)sk_X509_num(trust);
	}
	if (trust == NULL) {
		/* No trust list installed: the default list is the temporary
		 * first-start CA (what `sipedge-cert trust reset` writes), so
		 * nodes of a lab can verify each other's first certificates. */
		char *caf = xasprintf("%s/%s", c->state_dir.path,
		    TLS_TEMP_CA_CERT);
		STACK_OF(X509) *ca = pki_read_certs(caf, NULL, &cause);

		if (ca != NULL) {
			X509_STORE_add_cert(store, sk_X509_value(ca, 0));
			id->ntrusted++;
			sk_X509_pop_free(ca, X509_free);
		} else
			free(cause);
		free(caf);
	}
out:
	diag_move(dl, &tdl);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(trust, X509_free);
	EVP_PKEY_free(key);
	free(certf);
	free(keyf);
	if (dl->nerrors != before) {
		tls_identity_free(id);
		return NULL;
	}
	return id;
}
