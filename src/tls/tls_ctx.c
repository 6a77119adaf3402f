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

#include "tls/tls_ctx.h"
#include "util/file.h"
#include "util/xmalloc.h"

#define MAX_PKI_FILE	(4 * 1024 * 1024)

/* Read a whole small file; NULL with *cause on failure. */
static char *
slurp(const char *path, size_t *lenp, char **cause)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*cause = xasprintf("%s is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size == 0) {
		*cause = xasprintf("%s is empty", path);
		close(fd);
		return NULL;
	}
	if (st.st_size > MAX_PKI_FILE) {
		*cause = xasprintf("%s is too large (%lld bytes) for a "
		    "certificate or key file", path, (long long)st.st_size);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*lenp = off;
	return buf;
}

static int
is_pem(const char *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

/* The first OpenSSL error as text, for messages. */
static const char *
ossl_reason(char *buf, size_t bufsz)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, bufsz, "unrecognised data");
	else
		ERR_error_string_n(e, buf, bufsz);
	ERR_clear_error();
	return buf;
}

/* Certificates (and CRLs when crls != NULL) from a PEM or DER file. */
static STACK_OF(X509) *
read_certs(const char *path, STACK_OF(X509_CRL) *crls, char **cause)
{
	STACK_OF(X509_INFO) *infos;
	STACK_OF(X509) *certs;
	X509_INFO *xi;
	const unsigned char *p;
	char *buf, why[256];
	size_t len;
	BIO *bio;
	X509 *x;
	int i;

	if ((buf = slurp(path, &len, cause)) == NULL)
		return NULL;
	certs = sk_X509_new_null();
	if (!is_pem(buf, len)) {
		p = (const unsigned char *)buf;
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
			*cause = xasprintf("%s holds no certificate: neither PEM "
			    "nor DER (%s)", path, ossl_reason(why, sizeof why));
			goto fail;
		}
		sk_X509_push(certs, x);
		free(buf);
		return certs;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos == NULL) {
		*cause = xasprintf("%s: cannot read PEM data (%s); the file may "
		    "be truncated", path, ossl_reason(why, sizeof why));
		goto fail;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 != NULL) {
			sk_X509_push(certs, xi->x509);
			xi->x509 = NULL;
		}
		if (xi->crl != NULL && crls != NULL) {
			sk_X509_CRL_push(crls, xi->crl);
			xi->crl = NULL;
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (sk_X509_num(certs) == 0) {
		*cause = xasprintf("%s holds no certificate", path);
		goto fail;
	}
	free(buf);
	return certs;
fail:
	free(buf);
	sk_X509_pop_free(certs, X509_free);
	return NULL;
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	*(int *)u = 1;
	return 0;
}

/* The private key from a PEM or DER file; refuses encrypted keys clearly. */
static EVP_PKEY *
read_key(const char *path, char **cause)
{
	const unsigned char *p;
	EVP_PKEY *k = NULL;
	char *buf, why[256];
	size_t len;
	int asked = 0;
	BIO *bio;

	if ((buf = slurp(path, &len, cause)) == NULL)
		return NULL;
	if (is_pem(buf, len)) {
		if (memmem(buf, len, "ENCRYPTED", 9) != NULL) {
			*cause = xasprintf("%s is protected by a password; the key "
			    "must be stored unencrypted (mode 0600). Convert it with: "
			    "openssl pkey -in %s -out server.key", path, path);
			goto out;
		}
		bio = BIO_new_mem_buf(buf, (int)len);
		k = PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked);
		BIO_free(bio);
	} else {
		p = (const unsigned char *)buf;
		k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	if (k == NULL)
		*cause = xasprintf("%s holds no usable private key (%s)", path,
		    asked ? "it is protected by a password" :
		    ossl_reason(why, sizeof why));
out:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return k;
}

static char *
asn1_time_iso(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return xstrdup("?");
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static char *
subject_line(X509 *x)
{
	char *s = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	char *out = xstrdup(s ? s : "?");

	OPENSSL_free(s);
	return out;
}

void
tls_identity_free(struct tls_identity *id)
{
	if (id == NULL)
		return;
	SSL_CTX_free(id->ctx);
	free(id->cert_file);
	free(id->subject);
	free(id->not_after);
	free(id);
}

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

struct tls_identity *
tls_identity_load(const struct conf *c, enum tls_load_mode mode,
    struct diaglist *dl)
{
	struct tls_identity *id = xcalloc(1, sizeof *id);
	STACK_OF(X509) *chain = NULL, *trust = NULL;
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	const struct conf_path *cp = NULL, *kp = NULL;
	char *certf = NULL, *keyf = NULL, *cause = NULL, why[256];
	size_t before = dl->nerrors;
	X509_STORE *store;
	EVP_PKEY *key = NULL;
	X509 *leaf;
	int i;

	if (c->tls_certificate.path != NULL) {
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

	if ((chain = read_certs(certf, NULL, &cause)) == NULL)
		add_err(dl, cp, "tls.certificate", cause);
	if ((key = read_key(keyf, &cause)) == NULL)
		add_err(dl, kp, "tls.private_key", cause);
	if (c->tls_trust.path != NULL &&
	    (trust = read_certs(c->tls_trust.path, crls, &cause)) == NULL)
		add_err(dl, &c->tls_trust, "tls.trust", cause);
	if (chain == NULL || key == NULL || dl->nerrors != before)
		goto out;

	leaf = sk_X509_value(chain, 0);
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		diag_add(dl, DIAG_ERROR, kp ? kp->loc.file : NULL,
		    kp ? kp->loc.line : 0, "tls.private_key: the key in %s does "
		    "not match the certificate in %s", keyf, certf);
		goto out;
	}
	id->subject = subject_line(leaf);
	id->not_after = asn1_time_iso(X509_get0_notAfter(leaf));

	id->ctx = SSL_CTX_new(TLS_method());
	SSL_CTX_set_security_level(id->ctx, c->security_level);
	SSL_CTX_set_min_proto_version(id->ctx, c->tls_min_version == 1 ?
	    TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_options(id->ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(id->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (SSL_CTX_use_certificate(id->ctx, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(id->ctx, key) != 1) {
		diag_add(dl, DIAG_ERROR, cp ? cp->loc.file : NULL,
		    cp ? cp->loc.line : 0, "tls.certificate: %s cannot be used "
		    "at security level %d (%s)", certf, c->security_level,
		    ossl_reason(why, sizeof why));
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
	if (id->temporary) {
		/* Trust our own temporary CA, so that loopback tests and the
		 * node itself can verify the temporary certificate. */
		char *caf = xasprintf("%s/%s", c->state_dir.path,
		    TLS_TEMP_CA_CERT);
		STACK_OF(X509) *ca = read_certs(caf, NULL, &cause);

		if (ca != NULL) {
			X509_STORE_add_cert(store, sk_X509_value(ca, 0));
			id->ntrusted++;
			sk_X509_pop_free(ca, X509_free);
		} else
			free(cause);
		free(caf);
	}
out:
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(trust, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	EVP_PKEY_free(key);
	free(certf);
	free(keyf);
	if (dl->nerrors != before) {
		tls_identity_free(id);
		return NULL;
	}
	return id;
}

/* --- temporary CA --------------------------------------------------- */

static int
write_pem(const char *path, X509 *x, EVP_PKEY *k, char **cause)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rv;

	if (x != NULL)
		PEM_write_bio_X509(bio, x);
	else
		PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &data);
	rv = file_write_atomic(path, data, (size_t)len, x ? 0644 : 0600, cause);
	BIO_free(bio);
	return rv;
}

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
	if ((certs = read_certs(certf, NULL, &cause)) == NULL) {
		free(cause);
		return;
	}
	*xp = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if ((*kp = read_key(keyf, &cause)) == NULL)
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
		if (write_pem(cak, NULL, ca_key, cause) == -1 ||
		    write_pem(caf, ca, NULL, cause) == -1)
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
	if (write_pem(srvk, NULL, srv_key, cause) == -1 ||
	    write_pem(srvf, srv, NULL, cause) == -1)
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
