/*
 * cert_trust_view.c: sipedge-cert trust list and trust show: the trust
 * list as a table, one certificate decoded or as PEM.  Reads only.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "tools/cert_trust_int.h"
#include "util/xmalloc.h"

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

/* Short form of a name for tables: the CN, else the whole name. */
static char *
name_short(const X509_NAME *n)
{
	char *cn = cert_trust_name_cn(n);

	return cn != NULL ? cn : pki_name_line(n);
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

/* --- trust list ----------------------------------------------------- */

/* trust list: the certificates as a table, then the kept CRLs. */
int
cert_trust_view_list(struct conf *c)
{
	struct cert_trust t;
	struct table tb = { 0, 0, NULL };
	int i, n, ncrl, rv;
	char num[16];

	if ((rv = cert_trust_open(c, &t)) != CERT_OK)
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
int
cert_trust_view_show(struct conf *c, const char *sel, int pem)
{
	struct cert_trust t;
	char **fps = NULL, *cause = NULL;
	int i, rv;
	X509 *x;

	if ((rv = cert_trust_open(c, &t)) != CERT_OK)
		goto out;
	fps = cert_trust_fingerprints(t.certs);
	if ((i = cert_trust_select(&t, fps, sel, &cause)) == -1) {
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
		cert_trust_fingerprints_free(fps, sk_X509_num(t.certs));
	cert_trust_clear(&t);
	return rv;
}
