/*
 * cert_trust.c: sipedge-cert trust: the trusted CA list (tls.trust, a PEM
 * bundle that may also carry CRLs) as a store (load, write, reload), the
 * helpers the trust commands share (labels, fingerprints, selecting a
 * certificate) and the dispatch.  The commands: cert_trust_view.c (list,
 * show) and cert_trust_edit.c (add, remove, reset); cert_crl.c shares the
 * store (cert.h).
 *
 * Every change is computed in memory and written in one atomic rename, so
 * a refused or failed command leaves the file exactly as it was.  Nothing
 * here prints or touches a private key.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ctl/ctl_client.h"
#include "rev/rev_crl.h"
#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "tools/cert_trust_int.h"
#include "util/file.h"
#include "util/xmalloc.h"

#define RELOAD_TIMEOUT_MS	10000
#define FP_MIN_PREFIX		8	/* hex digits of a fingerprint prefix */
#define FP_HEX_LEN		64	/* hex digits of a SHA-256 fingerprint */

/* The usage of the trust command. */
static void
trust_usage(FILE *f)
{
	fprintf(f, "usage: sipedge-cert trust list\n"
	    "       sipedge-cert trust show N|FINGERPRINT [--pem]\n"
	    "       sipedge-cert trust add FILE\n"
	    "       sipedge-cert trust remove N|FINGERPRINT...\n"
	    "       sipedge-cert trust reset\n");
}

/* --- shared with cert_crl.c ----------------------------------------- */

int
cert_trust_load(struct conf *c, struct cert_trust *t, char **cause)
{
	STACK_OF(X509) *ca;
	struct stat st;
	char *buf, *why = NULL;
	size_t len;

	memset(t, 0, sizeof *t);
	t->path = c->tls_trust.path;
	t->temp_ca = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_CA_CERT);
	t->crls = sk_X509_CRL_new_null();
	if (lstat(t->path, &st) == -1 && errno == ENOENT) {
		t->certs = sk_X509_new_null();
		if (!CONF_PATH_IS_DEFAULT(&c->tls_trust)) {
			t->missing = 1;
			return 0;
		}
		/* Not installed yet: sipedged trusts its temporary CA. */
		t->is_default = 1;
		if (lstat(t->temp_ca, &st) == -1 && errno == ENOENT)
			return 0;
		if ((ca = pki_read_certs(t->temp_ca, NULL, &why)) == NULL) {
			cert_err("warning: the default trust list is empty because "
			    "the temporary CA cannot be read: %s", why);
			free(why);
			return 0;
		}
		sk_X509_push(t->certs, sk_X509_shift(ca));
		sk_X509_pop_free(ca, X509_free);
		return 0;
	}
	if ((buf = pki_slurp(t->path, &len, cause)) == NULL)
		return -1;
	t->certs = pki_parse_certs(t->path, buf, len, t->crls, cause);
	free(buf);
	return t->certs == NULL ? -1 : 0;
}

void
cert_trust_clear(struct cert_trust *t)
{
	free(t->temp_ca);
	sk_X509_pop_free(t->certs, X509_free);
	sk_X509_CRL_pop_free(t->crls, X509_CRL_free);
	memset(t, 0, sizeof *t);
}

int
cert_trust_write(const char *path, STACK_OF(X509) *certs,
    STACK_OF(X509_CRL) *crls, char **cause)
{
	char *dir = xstrdup(path), *slash, *data;
	BIO *bio;
	long len;
	int i, rv = -1;

	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (file_mkdir_p(dir, 0755, cause) == -1) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto fail;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(certs, i)) != 1)
			goto fail;
	for (i = 0; i < sk_X509_CRL_num(crls); i++)
		if (PEM_write_bio_X509_CRL(bio, sk_X509_CRL_value(crls, i)) != 1)
			goto fail;
	len = BIO_get_mem_data(bio, &data);
	rv = file_write_atomic(path, data, (size_t)len, 0644, cause);
	BIO_free(bio);
	return rv;
fail:
	*cause = xasprintf("cannot encode the new contents of %s", path);
	BIO_free(bio);
	ERR_clear_error();
	return -1;
}

char *
cert_trust_crl_problem(const struct cert_trust *t, X509_CRL *crl)
{
	const X509_NAME *issuer = X509_CRL_get_issuer(crl);
	int i, named = 0, nosign = 0;
	EVP_PKEY *pk;
	X509 *x;

	for (i = 0; i < sk_X509_num(t->certs); i++) {
		x = sk_X509_value(t->certs, i);
		if (X509_NAME_cmp(X509_get_subject_name(x), issuer) != 0)
			continue;
		named = 1;
		if ((pk = X509_get0_pubkey(x)) == NULL ||
		    X509_CRL_verify(crl, pk) != 1)
			continue;
		/* No keyUsage at all reads as every bit set. */
		if (!(X509_get_key_usage(x) & KU_CRL_SIGN)) {
			nosign = 1;
			continue;
		}
		ERR_clear_error();
		return NULL;
	}
	ERR_clear_error();
	if (nosign)
		return xstrdup("the certificate of its issuer in the trust list "
		    "does not allow CRL signing (no cRLSign key usage)");
	if (named)
		return xstrdup("its signature does not verify against the "
		    "trusted CA of that name (a different or re-keyed CA?)");
	return xstrdup("its issuer is not in the trust list");
}

int
cert_trust_reload(struct conf *c)
{
	char *reply = NULL, *cause = NULL;
	size_t n;
	int rv = CERT_OK;

	switch (ctl_request(c->control_socket.path, "reload", RELOAD_TIMEOUT_MS,
	    &reply, &cause)) {
	case 0:
		n = reply != NULL ? strlen(reply) : 0;
		while (n > 0 && isspace((unsigned char)reply[n - 1]))
			reply[--n] = '\0';
		printf("sipedged reloaded%s%s\n", n > 0 ? ": " : ".",
		    n > 0 ? reply : "");
		break;
	case 1:
		n = reply != NULL ? strlen(reply) : 0;
		while (n > 0 && isspace((unsigned char)reply[n - 1]))
			reply[--n] = '\0';
		cert_err("the files were written, but sipedged refused to "
		    "reload them and keeps its previous configuration: %s",
		    n > 0 ? reply : "it gave no reason");
		rv = CERT_FAIL;
		break;
	default:
		printf("note: sipedged is not running (or not reachable: %s); "
		    "the change applies at its next start.\n",
		    cause != NULL ? cause : "no reason given");
		break;
	}
	free(reply);
	free(cause);
	return rv;
}

/* --- descriptions --------------------------------------------------- */

/* The common name of n as printable text, or NULL when it has none. */
char *
cert_trust_name_cn(const X509_NAME *n)
{
	unsigned char *u = NULL;
	char *s, *p;
	int i, len;

	if ((i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) < 0)
		return NULL;
	len = ASN1_STRING_to_UTF8(&u,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
	if (len < 0) {
		ERR_clear_error();
		return NULL;
	}
	s = xstrndup((const char *)u, (size_t)len);
	OPENSSL_free(u);
	/* Names come from outside: no control characters on the terminal. */
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* A certificate in reports: "CN=x" (or the whole subject) and fingerprint. */
char *
cert_trust_label(X509 *x)
{
	char *cn = cert_trust_name_cn(X509_get_subject_name(x));
	char *fp = pki_fingerprint(x), *s;

	if (cn != NULL)
		s = xasprintf("CN=%s (SHA256 %s)", cn, fp);
	else {
		cn = pki_name_line(X509_get_subject_name(x));
		s = xasprintf("%s (SHA256 %s)", cn, fp);
	}
	free(cn);
	free(fp);
	return s;
}

/* SHA-256 fingerprints of certs in hex, no colons, upper case. */
char **
cert_trust_fingerprints(STACK_OF(X509) *certs)
{
	int i, n = sk_X509_num(certs);
	char **fps = xcalloc((size_t)(n > 0 ? n : 1), sizeof *fps);
	char *s, *d;

	for (i = 0; i < n; i++) {
		fps[i] = pki_fingerprint(sk_X509_value(certs, i));
		for (s = d = fps[i]; *s != '\0'; s++)
			if (*s != ':')
				*d++ = *s;
		*d = '\0';
	}
	return fps;
}

/* Free what cert_trust_fingerprints() returned for n certificates. */
void
cert_trust_fingerprints_free(char **fps, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(fps[i]);
	free(fps);
}

/* --- selecting a certificate ---------------------------------------- */

/*
 * Resolve sel to an index of t->certs: a 1-based index (fewer than 8
 * digits), or a SHA-256 fingerprint or a unique prefix of at least 8 hex
 * digits, colons and case ignored.  -1 with *cause when malformed, unknown
 * or ambiguous.
 */
int
cert_trust_select(const struct cert_trust *t, char **fps, const char *sel,
    char **cause)
{
	int count = sk_X509_num(t->certs), found = -1, k;
	size_t len = strlen(sel), n = 0, i;
	char want[FP_HEX_LEN + 1];

	if (len > 0 && len < FP_MIN_PREFIX && strspn(sel, "0123456789") == len) {
		k = atoi(sel);
		if (k >= 1 && k <= count)
			return k - 1;
		if (count == 0)
			*cause = xasprintf("there is no certificate %s: the "
			    "trust list is empty", sel);
		else
			*cause = xasprintf("there is no certificate %s: the "
			    "trust list has %d (see sipedge-cert trust list)",
			    sel, count);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (sel[i] == ':')
			continue;
		if (!isxdigit((unsigned char)sel[i]) || n == FP_HEX_LEN) {
			*cause = xasprintf("'%s' is neither an index in the trust "
			    "list nor a SHA-256 fingerprint", sel);
			return -1;
		}
		want[n++] = (char)toupper((unsigned char)sel[i]);
	}
	want[n] = '\0';
	if (n < FP_MIN_PREFIX) {
		*cause = xasprintf("fingerprint '%s' is too short: give at least "
		    "%d hex digits", sel, FP_MIN_PREFIX);
		return -1;
	}
	for (k = 0; k < count; k++) {
		if (strncmp(fps[k], want, n) != 0)
			continue;
		/* The same certificate twice in the file is not ambiguous. */
		if (found != -1 && strcmp(fps[found], fps[k]) != 0) {
			*cause = xasprintf("fingerprint '%s' is ambiguous: it "
			    "matches certificates %d and %d; give more digits",
			    sel, found + 1, k + 1);
			return -1;
		}
		if (found == -1)
			found = k;
	}
	if (found == -1)
		*cause = xasprintf("no certificate in the trust list has the "
		    "fingerprint '%s'", sel);
	return found;
}

/* The message for a set tls.trust file that does not exist. */
static void
missing_err(struct conf *c)
{
	char where[256];

	cert_err("%s (tls.trust, set at %s) does not exist; create it with "
	    "sipedge-cert trust add FILE", c->tls_trust.path,
	    conf_loc_str(&c->tls_trust.loc, where, sizeof where));
}

/* Load the trust list for a command that reads it; CERT_FAIL printed. */
int
cert_trust_open(struct conf *c, struct cert_trust *t)
{
	char *cause = NULL;

	if (cert_trust_load(c, t, &cause) == -1) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	if (t->missing) {
		missing_err(c);
		return CERT_FAIL;
	}
	return CERT_OK;
}

/* --- dispatch ------------------------------------------------------- */

/* sipedge-cert trust: check the arguments, then run the command. */
int
cert_cmd_trust(struct cert_env *env, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *sel = NULL;
	struct conf *c;
	int i, pem = 0;

	if (sub == NULL)
		return cert_usage_error(trust_usage, "trust: which command? list, show, add, "
		    "remove or reset");
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		trust_usage(stdout);
		return CERT_OK;
	}
	/* Check the arguments before reading the configuration. */
	if (strcmp(sub, "list") == 0 || strcmp(sub, "reset") == 0) {
		if (argc != 2)
			return cert_usage_error(trust_usage, "trust %s takes no arguments", sub);
	} else if (strcmp(sub, "show") == 0) {
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--pem") == 0)
				pem = 1;
			else if (argv[i][0] == '-')
				return cert_usage_error(trust_usage, "trust show: unknown option %s",
				    argv[i]);
			else if (sel != NULL)
				return cert_usage_error(trust_usage, "trust show: one certificate at "
				    "a time (%s)", argv[i]);
			else
				sel = argv[i];
		}
		if (sel == NULL)
			return cert_usage_error(trust_usage, "trust show: which certificate? Give "
			    "its index or fingerprint");
	} else if (strcmp(sub, "add") == 0) {
		if (argc != 3 || argv[2][0] == '-')
			return cert_usage_error(trust_usage, "trust add takes one FILE");
	} else if (strcmp(sub, "remove") == 0) {
		if (argc < 3)
			return cert_usage_error(trust_usage, "trust remove: which certificates? "
			    "Give indexes or fingerprints");
		for (i = 2; i < argc; i++)
			if (argv[i][0] == '-')
				return cert_usage_error(trust_usage, "trust remove: unknown option "
				    "%s", argv[i]);
	} else
		return cert_usage_error(trust_usage, "trust: unknown command '%s'", sub);

	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	if (strcmp(sub, "list") == 0)
		return cert_trust_view_list(c);
	if (strcmp(sub, "show") == 0)
		return cert_trust_view_show(c, sel, pem);
	if (strcmp(sub, "add") == 0)
		return cert_trust_edit_add(c, argv[2]);
	if (strcmp(sub, "remove") == 0)
		return cert_trust_edit_remove(c, argc - 2, argv + 2);
	return cert_trust_edit_reset(c);
}
