/*
 * cert_trust.c: sipedge-cert trust: list, show, add, remove and reset the
 * trusted CA list (tls.trust, a PEM bundle that may also carry CRLs), and
 * the trust-list helpers the crl command shares (cert.h).
 *
 * Every change is computed in memory and written in one atomic rename, so
 * a refused or failed command leaves the file exactly as it was.  Nothing
 * here prints or touches a private key.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ctl/ctl_client.h"
#include "rev/rev_crl.h"
#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
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
static char *
name_cn(const X509_NAME *n)
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

/* Short form of a name for tables: the CN, else the whole name. */
static char *
name_short(const X509_NAME *n)
{
	char *cn = name_cn(n);

	return cn != NULL ? cn : pki_name_line(n);
}

/* A certificate in reports: "CN=x" (or the whole subject) and fingerprint. */
static char *
cert_label(X509 *x)
{
	char *cn = name_cn(X509_get_subject_name(x)), *fp = pki_fingerprint(x);
	char *s;

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

/* Valid / Expired / Not yet valid, now. */
static const char *
cert_status(X509 *x)
{
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		return "Not yet valid";
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		return "Expired";
	return "Valid";
}

/* Whether x says it is a CA (basicConstraints CA:TRUE). */
static int
cert_is_ca(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
}

/* The date part of an ASN1 time, "2026-11-26". */
static char *
date_only(const ASN1_TIME *t)
{
	char *s = pki_time_iso(t);

	if (strlen(s) > 10)
		s[10] = '\0';
	return s;
}

/* SHA-256 fingerprints of certs in hex, no colons, upper case. */
static char **
fingerprints(STACK_OF(X509) *certs)
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

/* Free what fingerprints() returned for n certificates. */
static void
fingerprints_free(char **fps, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(fps[i]);
	free(fps);
}

/* --- a plain text table --------------------------------------------- */

#define TABLE_MAXCOL	6

struct table {
	int	  ncol;
	int	  nrow;
	char	**cell;		/* nrow * ncol, owned */
};

/* Append a row of ncol strings (copied). */
static void
table_row(struct table *tb, ...)
{
	va_list ap;
	int i;

	tb->cell = xreallocarray(tb->cell, (size_t)(tb->nrow + 1) *
	    (size_t)tb->ncol, sizeof *tb->cell);
	va_start(ap, tb);
	for (i = 0; i < tb->ncol; i++)
		tb->cell[tb->nrow * tb->ncol + i] = xstrdup(va_arg(ap,
		    const char *));
	va_end(ap);
	tb->nrow++;
}

/* Print the table with aligned columns, then free it. */
static void
table_flush(struct table *tb)
{
	size_t w[TABLE_MAXCOL] = { 0 }, l;
	int r, i;

	for (r = 0; r < tb->nrow; r++)
		for (i = 0; i < tb->ncol; i++)
			if ((l = strlen(tb->cell[r * tb->ncol + i])) > w[i])
				w[i] = l;
	for (r = 0; r < tb->nrow; r++) {
		for (i = 0; i < tb->ncol; i++) {
			if (i + 1 < tb->ncol)
				printf("%-*s  ", (int)w[i],
				    tb->cell[r * tb->ncol + i]);
			else
				printf("%s\n", tb->cell[r * tb->ncol + i]);
			free(tb->cell[r * tb->ncol + i]);
		}
	}
	free(tb->cell);
	tb->cell = NULL;
	tb->nrow = 0;
}

/* --- selecting a certificate ---------------------------------------- */

/*
 * Resolve sel to an index of t->certs: a 1-based index (fewer than 8
 * digits), or a SHA-256 fingerprint or a unique prefix of at least 8 hex
 * digits, colons and case ignored.  -1 with *cause when malformed, unknown
 * or ambiguous.
 */
static int
select_cert(const struct cert_trust *t, char **fps, const char *sel,
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
static int
load_existing(struct conf *c, struct cert_trust *t)
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

/* --- trust list ----------------------------------------------------- */

/* trust list: the certificates as a table, then the kept CRLs. */
static int
trust_list(struct conf *c)
{
	struct cert_trust t;
	struct table tb = { 0, 0, NULL };
	int i, n, ncrl, rv;
	char num[16];

	if ((rv = load_existing(c, &t)) != CERT_OK)
		goto out;
	n = sk_X509_num(t.certs);
	ncrl = sk_X509_CRL_num(t.crls);
	if (t.is_default && n == 0) {
		printf("Trust list: the default list, which is empty: %s does "
		    "not exist yet, nor does the temporary first-start CA %s "
		    "(sipedged creates it at its first start).\n", t.path,
		    t.temp_ca);
		goto out;
	}
	if (t.is_default)
		printf("Trust list: the default list (%s does not exist yet): "
		    "the temporary first-start CA only.\n", t.path);
	else
		printf("Trust list %s: %d certificate%s, %d CRL%s.\n", t.path, n,
		    n == 1 ? "" : "s", ncrl, ncrl == 1 ? "" : "s");
	tb.ncol = 6;
	table_row(&tb, "#", "SUBJECT", "ISSUER", "EXPIRES", "STATUS",
	    "SHA-256 FINGERPRINT");
	for (i = 0; i < n; i++) {
		X509 *x = sk_X509_value(t.certs, i);
		char *sub = name_short(X509_get_subject_name(x));
		char *iss = name_short(X509_get_issuer_name(x));
		char *exp = date_only(X509_get0_notAfter(x));
		char *fp = pki_fingerprint(x);

		snprintf(num, sizeof num, "%d", i + 1);
		table_row(&tb, num, sub, iss, exp, cert_status(x), fp);
		free(sub);
		free(iss);
		free(exp);
		free(fp);
	}
	table_flush(&tb);
	if (ncrl == 0)
		goto out;
	printf("\nCRLs kept in the trust file:\n");
	tb.ncol = 3;
	table_row(&tb, "#", "ISSUER", "NEXT UPDATE");
	for (i = 0; i < ncrl; i++) {
		X509_CRL *crl = sk_X509_CRL_value(t.crls, i);
		char *iss = name_short(X509_CRL_get_issuer(crl));
		char *next = X509_CRL_get0_nextUpdate(crl) != NULL ?
		    pki_time_iso(X509_CRL_get0_nextUpdate(crl)) : xstrdup("-");

		snprintf(num, sizeof num, "%d", i + 1);
		table_row(&tb, num, iss, next);
		free(iss);
		free(next);
	}
	table_flush(&tb);
out:
	cert_trust_clear(&t);
	return rv;
}

/* --- trust show ----------------------------------------------------- */

/* keyUsage bits as RFC 5280 names, or NULL when the extension is absent. */
static char *
key_usage_line(X509 *x)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} ku[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
		{ KU_ENCIPHER_ONLY, "encipherOnly" },
		{ KU_DECIPHER_ONLY, "decipherOnly" },
	};
	uint32_t bits;
	char *out, *t;
	size_t i;

	if (!(X509_get_extension_flags(x) & EXFLAG_KUSAGE))
		return NULL;
	bits = X509_get_key_usage(x);
	out = xstrdup("");
	for (i = 0; i < sizeof ku / sizeof ku[0]; i++) {
		if (!(bits & ku[i].bit))
			continue;
		t = xasprintf("%s%s%s", out, *out ? ", " : "", ku[i].name);
		free(out);
		out = t;
	}
	return out;
}

/* basicConstraints in words. */
static char *
basic_constraints_line(X509 *x)
{
	BASIC_CONSTRAINTS *bc;
	long pathlen;
	char *s;
	int crit = 0;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ERR_clear_error();
	if (bc == NULL)
		return xstrdup("absent (not a CA)");
	if (bc->ca && bc->pathlen != NULL &&
	    (pathlen = ASN1_INTEGER_get(bc->pathlen)) >= 0)
		s = xasprintf("CA:TRUE, pathlen:%ld%s", pathlen,
		    crit ? " (critical)" : "");
	else
		s = xasprintf("CA:%s%s", bc->ca ? "TRUE" : "FALSE",
		    crit ? " (critical)" : "");
	BASIC_CONSTRAINTS_free(bc);
	return s;
}

/* The serial number in hex, as `openssl x509 -serial` prints it. */
static char *
serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex, *s;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		ERR_clear_error();
		return xstrdup("?");
	}
	s = xstrdup(hex);
	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

/* One "name: value" line of trust show. */
static void
show_field(const char *name, const char *value)
{
	printf("  %-20s %s\n", name, value);
}

/* Print every field of x that matters for a trust anchor. */
static void
show_cert(X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char *s;

	s = pki_name_line(X509_get_subject_name(x));
	show_field("Subject:", s);
	free(s);
	s = pki_name_line(X509_get_issuer_name(x));
	show_field("Issuer:", s);
	free(s);
	show_field("Self-signed:", X509_get_extension_flags(x) & EXFLAG_SS ?
	    "yes" : "no");
	s = serial_hex(x);
	show_field("Serial:", s);
	free(s);
	s = pki_time_iso(X509_get0_notBefore(x));
	show_field("Not before:", s);
	free(s);
	s = pki_time_iso(X509_get0_notAfter(x));
	show_field("Not after:", s);
	free(s);
	show_field("Status:", cert_status(x));
	s = pk != NULL ? pki_key_desc(pk) : xstrdup("unreadable");
	show_field("Key:", s);
	free(s);
	s = basic_constraints_line(x);
	show_field("Basic constraints:", s);
	free(s);
	s = key_usage_line(x);
	show_field("Key usage:", s != NULL ? s : "absent (any)");
	free(s);
	if ((s = pki_eku_line(x)) != NULL)
		show_field("Extended key usage:", s);
	free(s);
	s = pki_san_line(x);
	if (*s != '\0')
		show_field("Alternative names:", s);
	free(s);
	s = pki_fingerprint(x);
	show_field("SHA-256 fingerprint:", s);
	free(s);
	ERR_clear_error();
}

/* trust show: one certificate decoded, or as PEM. */
static int
trust_show(struct conf *c, const char *sel, int pem)
{
	struct cert_trust t;
	char **fps = NULL, *cause = NULL;
	int i, rv;
	X509 *x;

	if ((rv = load_existing(c, &t)) != CERT_OK)
		goto out;
	fps = fingerprints(t.certs);
	if ((i = select_cert(&t, fps, sel, &cause)) == -1) {
		cert_err("%s", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	x = sk_X509_value(t.certs, i);
	if (pem) {
		PEM_write_X509(stdout, x);
		goto out;
	}
	printf("Certificate %d of %d in %s%s:\n", i + 1, sk_X509_num(t.certs),
	    t.is_default ? "the default trust list, " : "",
	    t.is_default ? t.temp_ca : t.path);
	show_cert(x);
out:
	if (fps != NULL)
		fingerprints_free(fps, sk_X509_num(t.certs));
	cert_trust_clear(&t);
	return rv;
}

/* --- trust add ------------------------------------------------------ */

/* >0 when CRL a is newer than b: by CRL number when both have one. */
static int
crl_newer(X509_CRL *a, X509_CRL *b)
{
	ASN1_INTEGER *na = X509_CRL_get_ext_d2i(a, NID_crl_number, NULL, NULL);
	ASN1_INTEGER *nb = X509_CRL_get_ext_d2i(b, NID_crl_number, NULL, NULL);
	int r;

	if (na != NULL && nb != NULL)
		r = ASN1_INTEGER_cmp(na, nb);
	else
		r = ASN1_TIME_compare(X509_CRL_get0_lastUpdate(a),
		    X509_CRL_get0_lastUpdate(b));
	ASN1_INTEGER_free(na);
	ASN1_INTEGER_free(nb);
	ERR_clear_error();
	return r;
}

/* Warn about a CRL sipedged could not use or that is out of date. */
static void
warn_crl(const struct cert_trust *t, X509_CRL *crl, const char *file)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	char *iss = pki_name_line(X509_CRL_get_issuer(crl)), *why, *when;

	if (next != NULL && X509_cmp_current_time(next) < 0) {
		when = pki_time_iso(next);
		cert_err("warning: %s: the CRL of %s expired at %s (nextUpdate); "
		    "sipedged treats every certificate of that CA as revoked "
		    "until a fresh CRL arrives", file, iss, when);
		free(when);
	}
	if ((why = cert_trust_crl_problem(t, crl)) != NULL) {
		cert_err("warning: %s: sipedged cannot use the CRL of %s: %s",
		    file, iss, why);
		free(why);
	}
	free(iss);
}

/*
 * Put crl into t->crls (taking a reference), replacing an older CRL of the
 * same issuer and scope.  Prints what happened; returns 1 when the list
 * changed.
 */
static int
merge_crl(struct cert_trust *t, X509_CRL *crl, const char *file)
{
	char *iss = pki_name_line(X509_CRL_get_issuer(crl)), *when;
	int i, n = sk_X509_CRL_num(t->crls);

	for (i = 0; i < n; i++) {
		X509_CRL *old = sk_X509_CRL_value(t->crls, i);

		/* CRLs of other scopes (delta, IDP) are kept together. */
		if (!rev_crl_same_scope(old, crl))
			continue;
		if (crl_newer(crl, old) <= 0) {
			printf("skipped: CRL of %s: not newer than the one "
			    "already kept\n", iss);
			free(iss);
			return 0;
		}
		X509_CRL_up_ref(crl);
		(void)sk_X509_CRL_set(t->crls, i, crl);
		X509_CRL_free(old);
		when = pki_time_iso(X509_CRL_get0_lastUpdate(crl));
		printf("replaced: CRL of %s by the newer one of %s\n", iss,
		    when);
		free(when);
		free(iss);
		warn_crl(t, crl, file);
		return 1;
	}
	X509_CRL_up_ref(crl);
	sk_X509_CRL_push(t->crls, crl);
	printf("added: CRL of %s\n", iss);
	free(iss);
	warn_crl(t, crl, file);
	return 1;
}

/* Read the certificates and CRLs of an input file; CERT_OK or CERT_FAIL. */
static int
read_input(const char *file, STACK_OF(X509) **certs,
    STACK_OF(X509_CRL) **crls)
{
	enum pki_kind kind;
	char *buf, *cause = NULL;
	size_t len;

	*certs = NULL;
	*crls = NULL;
	if ((buf = pki_slurp(file, &len, &cause)) == NULL)
		goto fail;
	switch ((kind = pki_detect(buf, len))) {
	case PKI_CRL:
		*certs = sk_X509_new_null();
		*crls = pki_parse_crls(file, buf, len, &cause);
		break;
	case PKI_CSR:
	case PKI_KEY:
	case PKI_KEY_ENCRYPTED:
		cause = xasprintf("%s holds a %s, not a certificate or CRL to "
		    "trust", file, pki_kind_name(kind));
		break;
	default:
		*crls = sk_X509_CRL_new_null();
		*certs = pki_parse_certs(file, buf, len, *crls, &cause);
		break;
	}
	if (*certs != NULL && *crls != NULL) {
		if (pki_is_pem(buf, len) &&
		    strstr(buf, "PRIVATE KEY-----") != NULL)
			cert_err("warning: %s also holds a private key, which is "
			    "not added (a trust list holds certificates and "
			    "CRLs only)", file);
		free(buf);
		return CERT_OK;
	}
	free(buf);
fail:
	cert_err("%s", cause);
	free(cause);
	sk_X509_pop_free(*certs, X509_free);
	sk_X509_CRL_pop_free(*crls, X509_CRL_free);
	*certs = NULL;
	*crls = NULL;
	return CERT_FAIL;
}

/* Warn when a newly trusted certificate cannot do what a CA does. */
static void
warn_added(X509 *x, const char *file)
{
	char *sub = pki_name_line(X509_get_subject_name(x)), *when;

	if (!cert_is_ca(x))
		cert_err("warning: %s: %s is not a CA certificate "
		    "(basicConstraints CA:FALSE or absent), so certificates "
		    "it seems to issue will not verify against it; added "
		    "anyway", file, sub);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		when = pki_time_iso(X509_get0_notAfter(x));
		cert_err("warning: %s: %s expired at %s; it verifies nothing "
		    "until it is replaced", file, sub, when);
		free(when);
	} else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		when = pki_time_iso(X509_get0_notBefore(x));
		cert_err("warning: %s: %s is not valid before %s", file, sub,
		    when);
		free(when);
	}
	free(sub);
}

/* trust add: append what FILE holds that the list lacks, in one write. */
static int
trust_add(struct conf *c, const char *file)
{
	STACK_OF(X509) *in = NULL;
	STACK_OF(X509_CRL) *in_crls = NULL;
	struct cert_trust t;
	char **fps = NULL, **in_fps = NULL, *cause = NULL, *label;
	int i, k, dup, changed = 0, added = 0, n_before = 0, rv;

	if (cert_trust_load(c, &t, &cause) == -1) {
		cert_err("%s; nothing was added (sipedge-cert trust reset starts "
		    "again from the default list)", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	if ((rv = read_input(file, &in, &in_crls)) != CERT_OK)
		goto out;
	n_before = sk_X509_num(t.certs);
	fps = fingerprints(t.certs);
	in_fps = fingerprints(in);
	for (i = 0; i < sk_X509_num(in); i++) {
		X509 *x = sk_X509_value(in, i);

		dup = 0;
		for (k = 0; k < n_before && !dup; k++)
			dup = strcmp(fps[k], in_fps[i]) == 0;
		for (k = 0; k < i && !dup; k++)
			dup = strcmp(in_fps[k], in_fps[i]) == 0;
		label = cert_label(x);
		if (dup) {
			printf("skipped: %s: already in the trust list\n", label);
			free(label);
			continue;
		}
		printf("added: %s\n", label);
		free(label);
		warn_added(x, file);
		X509_up_ref(x);
		sk_X509_push(t.certs, x);
		changed = 1;
		added++;
	}
	/* After the certificates, so a CA added together with its CRL counts. */
	for (i = 0; i < sk_X509_CRL_num(in_crls); i++)
		changed |= merge_crl(&t, sk_X509_CRL_value(in_crls, i), file);
	if (!changed) {
		printf("Nothing to add: everything in %s is already in the trust "
		    "list; %s is unchanged.\n", file, t.is_default ?
		    "the default list" : t.path);
		goto out;
	}
	if (cert_trust_write(t.path, t.certs, t.crls, &cause) == -1) {
		cert_err("%s; the trust list was not changed", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	if (t.is_default && n_before > 0) {
		label = cert_label(sk_X509_value(t.certs, 0));
		printf("note: %s did not exist, so it starts from the default "
		    "list: the temporary first-start CA %s stays trusted "
		    "(sipedge-cert trust remove 1 once no peer needs it).\n",
		    t.path, label);
		free(label);
	} else if (t.is_default || t.missing)
		printf("note: created %s.\n", t.path);
	printf("Trust list %s: %d certificate%s (%d added), %d CRL%s.\n",
	    t.path, sk_X509_num(t.certs), sk_X509_num(t.certs) == 1 ? "" : "s",
	    added, sk_X509_CRL_num(t.crls),
	    sk_X509_CRL_num(t.crls) == 1 ? "" : "s");
	rv = cert_trust_reload(c);
out:
	if (fps != NULL)
		fingerprints_free(fps, n_before);
	if (in_fps != NULL)
		fingerprints_free(in_fps, sk_X509_num(in));
	sk_X509_pop_free(in, X509_free);
	sk_X509_CRL_pop_free(in_crls, X509_CRL_free);
	cert_trust_clear(&t);
	return rv;
}

/* --- trust remove --------------------------------------------------- */

/* Whether some certificate of certs has name as its subject. */
static int
has_subject(STACK_OF(X509) *certs, const X509_NAME *name)
{
	int i;

	for (i = 0; i < sk_X509_num(certs); i++)
		if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(certs, i)),
		    name) == 0)
			return 1;
	return 0;
}

/* trust remove: drop the selected certificates (all or none). */
static int
trust_remove(struct conf *c, int nsel, char **sel)
{
	STACK_OF(X509) *keep = sk_X509_new_null();
	STACK_OF(X509_CRL) *keep_crls = sk_X509_CRL_new_null();
	struct cert_trust t;
	char **fps = NULL, *cause = NULL, *gone = NULL, *s;
	int i, k, n = 0, bad = 0, rv;

	if ((rv = load_existing(c, &t)) != CERT_OK)
		goto out;
	n = sk_X509_num(t.certs);
	fps = fingerprints(t.certs);
	gone = xcalloc((size_t)(n > 0 ? n : 1), 1);
	/* Resolve every selector first: indexes mean the list as it was. */
	for (i = 0; i < nsel; i++) {
		if ((k = select_cert(&t, fps, sel[i], &cause)) == -1) {
			cert_err("%s", cause);
			free(cause);
			cause = NULL;
			bad = 1;
			continue;
		}
		gone[k] = 1;
	}
	if (bad) {
		cert_err("nothing was removed");
		rv = CERT_FAIL;
		goto out;
	}
	/* A certificate listed twice in the file goes with its twin. */
	for (i = 0; i < n; i++)
		for (k = 0; k < n; k++)
			if (gone[k] && strcmp(fps[i], fps[k]) == 0)
				gone[i] = 1;
	for (i = 0; i < n; i++) {
		if (gone[i])
			continue;
		X509_up_ref(sk_X509_value(t.certs, i));
		sk_X509_push(keep, sk_X509_value(t.certs, i));
	}
	if (sk_X509_num(keep) == 0) {
		cert_err("refusing to remove every certificate: sipedged cannot "
		    "load an empty trust list from %s; add the new CA first "
		    "(sipedge-cert trust add FILE) or go back to the default "
		    "list with sipedge-cert trust reset; nothing was removed",
		    t.is_default ? "the default list" : t.path);
		rv = CERT_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!gone[i])
			continue;
		s = cert_label(sk_X509_value(t.certs, i));
		printf("removed: %s\n", s);
		free(s);
	}
	/* A CRL is only of use while its CA is trusted. */
	for (i = 0; i < sk_X509_CRL_num(t.crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(t.crls, i);

		if (has_subject(keep, X509_CRL_get_issuer(crl))) {
			X509_CRL_up_ref(crl);
			sk_X509_CRL_push(keep_crls, crl);
			continue;
		}
		s = pki_name_line(X509_CRL_get_issuer(crl));
		printf("removed: CRL of %s (its CA is no longer trusted)\n", s);
		free(s);
	}
	if (cert_trust_write(t.path, keep, keep_crls, &cause) == -1) {
		cert_err("%s; the trust list was not changed", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	printf("Trust list %s: %d certificate%s, %d CRL%s.\n", t.path,
	    sk_X509_num(keep), sk_X509_num(keep) == 1 ? "" : "s",
	    sk_X509_CRL_num(keep_crls),
	    sk_X509_CRL_num(keep_crls) == 1 ? "" : "s");
	rv = cert_trust_reload(c);
out:
	if (fps != NULL)
		fingerprints_free(fps, n);
	free(gone);
	sk_X509_pop_free(keep, X509_free);
	sk_X509_CRL_pop_free(keep_crls, X509_CRL_free);
	cert_trust_clear(&t);
	return rv;
}

/* --- trust reset ---------------------------------------------------- */

/* trust reset: the temporary first-start CA only. */
static int
trust_reset(struct conf *c)
{
	STACK_OF(X509) *ca = NULL;
	struct cert_trust t;
	char *cause = NULL, *s;
	int loaded, rv = CERT_FAIL;

	/* The old list is only reported: a damaged file is what reset fixes. */
	if ((loaded = cert_trust_load(c, &t, &cause)) == -1) {
		cert_err("warning: %s; it is replaced", cause);
		free(cause);
		cause = NULL;
	}
	if (tls_temp_ensure(c->state_dir.path, c->fqdn, c->aliases.v,
	    c->aliases.n, &cause) == -1) {
		cert_err("cannot create the temporary first-start CA: %s; the "
		    "trust list was not changed", cause);
		goto out;
	}
	if ((ca = pki_read_certs(t.temp_ca, NULL, &cause)) == NULL) {
		cert_err("%s; the trust list was not changed", cause);
		goto out;
	}
	while (sk_X509_num(ca) > 1)
		X509_free(sk_X509_pop(ca));
	if (cert_trust_write(t.path, ca, NULL, &cause) == -1) {
		cert_err("%s; the trust list was not changed", cause);
		goto out;
	}
	s = cert_label(sk_X509_value(ca, 0));
	printf("Trust list %s reset to the default list: the temporary "
	    "first-start CA %s only.\n", t.path, s);
	free(s);
	if (loaded == 0 && !t.is_default && !t.missing)
		printf("It held %d certificate%s and %d CRL%s before.\n",
		    sk_X509_num(t.certs), sk_X509_num(t.certs) == 1 ? "" : "s",
		    sk_X509_CRL_num(t.crls),
		    sk_X509_CRL_num(t.crls) == 1 ? "" : "s");
	rv = cert_trust_reload(c);
out:
	free(cause);
	sk_X509_pop_free(ca, X509_free);
	cert_trust_clear(&t);
	return rv;
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
		return trust_list(c);
	if (strcmp(sub, "show") == 0)
		return trust_show(c, sel, pem);
	if (strcmp(sub, "add") == 0)
		return trust_add(c, argv[2]);
	if (strcmp(sub, "remove") == 0)
		return trust_remove(c, argc - 2, argv + 2);
	return trust_reset(c);
}
