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
#include "tls/tls_ticket.h"
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

/*
 * The handshake goes on whatever the chain: the peer gate builds and
 * checks the path with the zone's policy afterwards (tls_path), so
 * OpenSSL's own X509_verify_cert in the handshake would only be done
 * twice (about 0.1 ms of a new connection).  The peer still proves it
 * holds the key of the certificate it sent (CertificateVerify), which
 * libssl checks whatever this returns.
 */
static int
verify_later(X509_STORE_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
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

/* What tls_identity_load() works on, from step to step. */
struct idload {
	const struct conf	*c;
	struct tls_identity	*id;
	struct diaglist		*dl;
	const struct conf_path	*cp;	/* tls.certificate; NULL: temporary */
	const struct conf_path	*kp;	/* tls.private_key; NULL: temporary */
	char			*certf;
	char			*keyf;
	STACK_OF(X509)		*chain;
	STACK_OF(X509)		*trust;
	EVP_PKEY		*key;
};

/*
 * The certificate and key files to load: the configured ones, else the
 * temporary ones in the state directory, which a run makes when needed
 * and a check only announces when they are not there yet.  0, or -1 when
 * there is nothing to load.
 */
static int
pick_files(struct idload *ld, enum tls_load_mode mode)
{
	const struct conf *c = ld->c;
	char *cause = NULL;

	if (!default_absent(&c->tls_certificate)) {
		ld->cp = &c->tls_certificate;
		ld->kp = &c->tls_private_key;
		ld->certf = xstrdup(ld->cp->path);
		ld->keyf = xstrdup(ld->kp->path);
		return 0;
	}
	ld->certf = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_CERT);
	ld->keyf = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_KEY);
	ld->id->temporary = 1;
	if (mode == TLS_LOAD_RUN) {
		if (tls_temp_ensure(c->state_dir.path, c->fqdn, c->aliases.v,
		    c->aliases.n, &cause) == -1) {
			add_err(ld->dl, &c->state_dir, "temporary certificate",
			    cause);
			return -1;
		}
	} else if (access(ld->certf, R_OK) != 0) {
		diag_add(ld->dl, DIAG_WARN, NULL, 0, "no tls.certificate is "
		    "set: a temporary CA and server certificate will be "
		    "created in %s at start", c->state_dir.path);
		return -1;
	}
	return 0;
}

/*
 * Check the identity loaded (tls_check.c) and keep what status shows of
 * it: alarms, subject, validity.  0, or -1 when it has errors.
 */
static int
check_loaded(struct idload *ld, size_t before)
{
	struct tls_identity *id = ld->id;
	struct tls_check_input in;
	X509 *leaf;

	memset(&in, 0, sizeof in);
	in.chain = ld->chain;
	in.key = ld->key;
	in.trust = ld->trust;
	in.cert_file = ld->certf;
	in.key_file = ld->keyf;
	in.cert_loc = ld->cp != NULL ? &ld->cp->loc : NULL;
	in.key_loc = ld->kp != NULL ? &ld->kp->loc : NULL;
	in.now = time(NULL);
	in.trust_file = id->trust_file;
	in.temporary = id->temporary;
	id->alarms = tls_check_identity(ld->c, &in, ld->dl);
	if (ld->dl->nerrors != before)
		return -1;
	leaf = sk_X509_value(ld->chain, 0);
	id->alarm_text = tls_check_alarm_text(leaf, id->alarms, in.now);
	id->subject = subject_line(leaf);
	id->not_before = pki_time_iso(X509_get0_notBefore(leaf));
	id->not_after = pki_time_iso(X509_get0_notAfter(leaf));
	return 0;
}

/* The SSL_CTX of the identity, its certificate, key and chain in it.
 * 0, or -1 when they cannot be used at the security level. */
static int
make_ctx(struct idload *ld)
{
	const struct conf *c = ld->c;
	SSL_CTX *ctx;
	char why[256];
	int i;

	ctx = ld->id->ctx = SSL_CTX_new(TLS_method());
	SSL_CTX_set_security_level(ctx, c->security_level);
	SSL_CTX_set_min_proto_version(ctx, c->tls_min_version == 1 ?
	    TLS1_3_VERSION : TLS1_2_VERSION);
	/*
	 * Ask TLS clients for a certificate without requiring one, and let
	 * every handshake finish: the peer gate checks the chain with the
	 * zone's policy afterwards and refuses with a reason in the log.
	 * Sessions resume only from tickets of peers the gate accepted under
	 * the policy still in force (tls_ticket.h), and the gate checks a
	 * resumed peer again with the chain it recorded.
	 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, verify_later, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	tls_ticket_setup(ctx, c->tls_resumption, c->tls_ticket_interval);
	/*
	 * An idle connection keeps no record buffers: OpenSSL frees its read
	 * and write buffers (about 34 KB) whenever they are empty and takes
	 * them again for the next record (contrib/bench/README.md: waves).
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate(ctx, sk_X509_value(ld->chain, 0)) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, ld->key) != 1) {
		diag_add(ld->dl, DIAG_ERROR, ld->cp ? ld->cp->loc.file : NULL,
		    ld->cp ? ld->cp->loc.line : 0, "tls.certificate: %s cannot "
		    "be used at security level %d (%s)", ld->certf,
		    c->security_level, pki_ossl_reason(why, sizeof why));
		return -1;
	}
	for (i = 1; i < sk_X509_num(ld->chain); i++)
		SSL_CTX_add1_chain_cert(ctx, sk_X509_value(ld->chain, i));
	return 0;
}

/*
 * The trust list into the SSL_CTX's store.  With no trust list installed
 * the default list is the temporary first-start CA (what `sipedge-cert
 * trust reset` writes), so nodes of a lab can verify each other's first
 * certificates.
 */
static void
add_trust(struct idload *ld)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ld->id->ctx);
	STACK_OF(X509) *ca;
	char *caf, *cause = NULL;
	int i;

	if (ld->trust != NULL) {
		for (i = 0; i < sk_X509_num(ld->trust); i++)
			X509_STORE_add_cert(store, sk_X509_value(ld->trust, i));
		ld->id->ntrusted = (size_t)sk_X509_num(ld->trust);
		return;
	}
	caf = xasprintf("%s/%s", ld->c->state_dir.path, TLS_TEMP_CA_CERT);
	if ((ca = pki_read_certs(caf, NULL, &cause)) != NULL) {
		X509_STORE_add_cert(store, sk_X509_value(ca, 0));
		ld->id->ntrusted++;
		sk_X509_pop_free(ca, X509_free);
	} else
		free(cause);
	free(caf);
}

struct tls_identity *
tls_identity_load(const struct conf *c, enum tls_load_mode mode,
    struct diaglist *dl)
{
	struct idload ld;
	struct diaglist tdl = { 0 };
	char *cause = NULL;
	size_t before = dl->nerrors;

	memset(&ld, 0, sizeof ld);
	ld.c = c;
	ld.dl = dl;
	ld.id = xcalloc(1, sizeof *ld.id);
	ld.id->crls = sk_X509_CRL_new_null();
	/* Read first, reported after the certificate and key (file order). */
	ld.trust = load_trust(c, ld.id, &tdl);
	if (pick_files(&ld, mode) == -1)
		goto out;
	ld.id->cert_file = xstrdup(ld.certf);
	ld.id->key_file = xstrdup(ld.keyf);

	if ((ld.chain = pki_read_certs(ld.certf, NULL, &cause)) == NULL)
		add_err(dl, ld.cp, "tls.certificate", cause);
	if ((ld.key = load_key(ld.certf, ld.keyf, !ld.id->temporary,
	    &cause)) == NULL)
		add_err(dl, ld.kp, "tls.private_key", cause);
	diag_move(dl, &tdl);
	if (ld.chain == NULL || ld.key == NULL || dl->nerrors != before)
		goto out;
	if (check_loaded(&ld, before) == -1 || make_ctx(&ld) == -1)
		goto out;
	add_trust(&ld);
out:
	diag_move(dl, &tdl);
	sk_X509_pop_free(ld.chain, X509_free);
	sk_X509_pop_free(ld.trust, X509_free);
	EVP_PKEY_free(ld.key);
	free(ld.certf);
	free(ld.keyf);
	if (dl->nerrors != before) {
		tls_identity_free(ld.id);
		return NULL;
	}
	return ld.id;
}
