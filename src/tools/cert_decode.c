/*
 * cert_decode.c: sipedge-cert decode and convert.  decode prints any
 * certificate, chain, CSR, CRL or private key in readable form, recognised
 * from the content (never the extension); convert rewrites one as PEM or
 * DER.  Key material is never printed: decode shows a key's type and size
 * only, and convert writes a key to a file of mode 0600, never to stdout.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls/tls_csr.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "util/file.h"
#include "util/xmalloc.h"

/* One "  label:  value" line, aligned like tls_csr_text(). */
#define LINE(label, value)	printf("  %-20s %s\n", label, value)

static void
decode_usage(FILE *f)
{
	fprintf(f, "usage: sipedge-cert decode FILE\n");
}

static void
convert_usage(FILE *f)
{
	fprintf(f, "usage: sipedge-cert convert FILE --to pem|der [-o OUT]\n");
}

/* "s" for plurals. */
static const char *
plural(long n)
{
	return n == 1 ? "" : "s";
}

/* --- certificates --------------------------------------------------- */

/* An ASN.1 integer in hex, as `openssl x509 -serial` prints it. */
static char *
serial_hex(const ASN1_INTEGER *ai)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *hex, *out;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		ERR_clear_error();
		return xstrdup("?");
	}
	out = xstrdup(hex);
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

/* An ASN.1 integer in decimal (a CRL number). */
static char *
dec_integer(const ASN1_INTEGER *ai)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *dec, *out;

	if (bn == NULL || (dec = BN_bn2dec(bn)) == NULL) {
		BN_free(bn);
		ERR_clear_error();
		return xstrdup("?");
	}
	out = xstrdup(dec);
	OPENSSL_free(dec);
	BN_free(bn);
	return out;
}

/* "Valid (expires in 3 days)", "Expired (2 days ago)", "Not yet valid ...". */
static char *
validity_status(X509 *x, time_t now)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, now);
	int days = 0, secs = 0;
	char *out;

	if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
		ASN1_TIME_diff(&days, &secs, t, X509_get0_notBefore(x));
		out = xasprintf("Not yet valid (starts in %d day%s)", days,
		    plural(days));
	} else if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
		ASN1_TIME_diff(&days, &secs, X509_get0_notAfter(x), t);
		out = xasprintf("Expired (%d day%s ago)", days, plural(days));
	} else {
		ASN1_TIME_diff(&days, &secs, t, X509_get0_notAfter(x));
		out = xasprintf("Valid (expires in %d day%s)", days,
		    plural(days));
	}
	ASN1_TIME_free(t);
	return out;
}

/* basicConstraints: "yes", "yes (path length 0)", "no". */
static char *
ca_line(X509 *x)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints,
	    NULL, NULL);
	char *out;

	ERR_clear_error();
	if (bc == NULL)
		return xstrdup("no (no basicConstraints)");
	if (!bc->ca)
		out = xstrdup("no");
	else if (bc->pathlen != NULL)
		out = xasprintf("yes (path length %ld)",
		    ASN1_INTEGER_get(bc->pathlen));
	else
		out = xstrdup("yes");
	BASIC_CONSTRAINTS_free(bc);
	return out;
}

/* Append item to a ", "-separated list (taking neither). */
static void
list_add(char **list, const char *item)
{
	char *t = xasprintf("%s%s%s", *list ? *list : "", *list ? ", " : "",
	    item);

	free(*list);
	*list = t;
}

/* The URIs of the CRL distribution points; NULL when there are none. */
static char *
cdp_line(X509 *x)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x,
	    NID_crl_distribution_points, NULL, NULL);
	char *out = NULL, *v;
	int i, j;

	ERR_clear_error();
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0) {
			list_add(&out, "(a distribution point without a URI)");
			continue;
		}
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		    j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);

			if (g->type != GEN_URI)
				continue;
			v = xasprintf("%.*s", ASN1_STRING_length(g->d.uniformResourceIdentifier),
			    (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier));
			list_add(&out, v);
			free(v);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return out;
}

/* The OCSP responder URLs of authorityInfoAccess; NULL when none. */
static char *
ocsp_line(X509 *x)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(x);
	char *out = NULL;
	int i;

	for (i = 0; i < sk_OPENSSL_STRING_num(urls); i++)
		list_add(&out, sk_OPENSSL_STRING_value(urls, i));
	X509_email_free(urls);
	ERR_clear_error();
	return out;
}

static void
print_cert(X509 *x, int n, int total, time_t now)
{
	char *subject = pki_name_line(X509_get_subject_name(x));
	char *issuer = pki_name_line(X509_get_issuer_name(x));
	char *serial = serial_hex(X509_get0_serialNumber(x));
	char *from = pki_time_iso(X509_get0_notBefore(x));
	char *until = pki_time_iso(X509_get0_notAfter(x));
	char *status = validity_status(x, now);
	EVP_PKEY *k = X509_get0_pubkey(x);
	char *key = k != NULL ? pki_key_desc(k) : xstrdup("(unreadable)");
	char *san = pki_san_line(x), *ku = tls_csr_ku_line(x);
	char *eku = pki_eku_line(x), *ca = ca_line(x), *cdp = cdp_line(x);
	char *ocsp = ocsp_line(x), *fp = pki_fingerprint(x);

	if (total > 1)
		printf("Certificate %d of %d\n", n, total);
	else
		printf("Certificate\n");
	LINE("subject:", subject);
	LINE("issuer:", strcmp(subject, issuer) == 0 ?
	    "the subject itself (self-signed)" : issuer);
	LINE("serial:", serial);
	LINE("not before:", from);
	LINE("not after:", until);
	LINE("status:", status);
	LINE("key:", key);
	LINE("names:", *san ? san : "(none)");
	LINE("key usage:", ku ? ku : "(not restricted)");
	LINE("extended key usage:", eku ? eku : "(not restricted)");
	LINE("CA:", ca);
	LINE("CRL distribution:", cdp ? cdp : "(none)");
	LINE("OCSP:", ocsp ? ocsp : "(none)");
	LINE("SHA-256 fingerprint:", fp);
	free(subject);
	free(issuer);
	free(serial);
	free(from);
	free(until);
	free(status);
	free(key);
	free(san);
	free(ku);
	free(eku);
	free(ca);
	free(cdp);
	free(ocsp);
	free(fp);
}

/* --- CRLs ----------------------------------------------------------- */

/* RFC 5280 section 5.3.1 CRLReason names. */
static const char *
reason_name(long r)
{
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise",
		"affiliationChanged", "superseded", "cessationOfOperation",
		"certificateHold", NULL, "removeFromCRL", "privilegeWithdrawn",
		"aACompromise"
	};

	if (r >= 0 && r < (long)(sizeof names / sizeof names[0]) &&
	    names[r] != NULL)
		return names[r];
	return "unknown reason";
}

static void
print_crl(X509_CRL *crl, int n, int total, time_t now)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	char *issuer = pki_name_line(X509_CRL_get_issuer(crl));
	char *this = pki_time_iso(X509_CRL_get0_lastUpdate(crl));
	char *nexts = next ? pki_time_iso(next) : NULL, *t;
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	ASN1_ENUMERATED *reason;
	int i, count = sk_X509_REVOKED_num(revs);

	ERR_clear_error();
	if (count < 0)
		count = 0;
	if (total > 1)
		printf("Certificate revocation list %d of %d\n", n, total);
	else
		printf("Certificate revocation list\n");
	LINE("issuer:", issuer);
	LINE("this update:", this);
	if (next == NULL)
		LINE("next update:", "(none given)");
	else if (X509_cmp_time(next, &now) < 0) {
		t = xasprintf("%s (passed: this CRL has expired)", nexts);
		LINE("next update:", t);
		free(t);
	} else
		LINE("next update:", nexts);
	t = num ? dec_integer(num) : xstrdup("(none)");
	LINE("CRL number:", t);
	free(t);
	t = xasprintf("%d certificate%s", count, plural(count));
	LINE("revoked:", t);
	free(t);
	for (i = 0; i < count; i++) {
		X509_REVOKED *rev = sk_X509_REVOKED_value(revs, i);
		char *serial = serial_hex(X509_REVOKED_get0_serialNumber(rev));
		char *date = pki_time_iso(X509_REVOKED_get0_revocationDate(rev));

		reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL,
		    NULL);
		ERR_clear_error();
		printf("    serial %s  revoked %s  %s\n", serial, date,
		    reason ? reason_name(ASN1_ENUMERATED_get(reason)) :
		    "(no reason given)");
		ASN1_ENUMERATED_free(reason);
		free(serial);
		free(date);
	}
	ASN1_INTEGER_free(num);
	free(issuer);
	free(this);
	free(nexts);
}

/* --- decode --------------------------------------------------------- */

/* Certificates (and the CRLs a PEM bundle may carry with them). */
static int
decode_certs(const char *path, char *buf, size_t len, int pem)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	STACK_OF(X509) *certs;
	char *cause = NULL;
	time_t now = time(NULL);
	int i, n, ncrl;

	/* Look before normalising: the key armour is what we look for. */
	int has_key = pem && memmem(buf, len, "PRIVATE KEY-----", 16) != NULL;

	if ((certs = pki_parse_certs(path, buf, len, crls, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		sk_X509_CRL_free(crls);
		return CERT_FAIL;
	}
	n = sk_X509_num(certs);
	ncrl = sk_X509_CRL_num(crls);
	if (n > 1)
		printf("%s: certificate chain of %d certificates (%s)\n", path, n,
		    pem ? "PEM" : "DER");
	else
		printf("%s: certificate (%s)\n", path, pem ? "PEM" : "DER");
	if (ncrl > 0)
		printf("It also holds %d CRL%s, shown after the certificate%s.\n",
		    ncrl, plural(ncrl), plural(n));
	if (has_key)
		printf("It also holds a private key, which is not shown.\n");
	for (i = 0; i < n; i++) {
		printf("\n");
		print_cert(sk_X509_value(certs, i), i + 1, n, now);
	}
	for (i = 0; i < ncrl; i++) {
		printf("\n");
		print_crl(sk_X509_CRL_value(crls, i), i + 1, ncrl, now);
	}
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return CERT_OK;
}

static int
decode_crls(const char *path, char *buf, size_t len, int pem)
{
	STACK_OF(X509_CRL) *crls;
	char *cause = NULL;
	time_t now = time(NULL);
	int i, n;

	if ((crls = pki_parse_crls(path, buf, len, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	n = sk_X509_CRL_num(crls);
	if (n > 1)
		printf("%s: %d certificate revocation lists (PEM)\n", path, n);
	else
		printf("%s: certificate revocation list (%s)\n", path,
		    pem ? "PEM" : "DER");
	for (i = 0; i < n; i++) {
		printf("\n");
		print_crl(sk_X509_CRL_value(crls, i), i + 1, n, now);
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return CERT_OK;
}

static int
decode_csr(const char *path, int pem)
{
	char *cause = NULL, *text;
	X509_REQ *r;

	if ((r = pki_read_csr(path, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	text = tls_csr_text(r);
	printf("%s: certificate signing request (%s)\n\n"
	    "Certificate signing request\n%s", path, pem ? "PEM" : "DER", text);
	free(text);
	X509_REQ_free(r);
	return CERT_OK;
}

static int
decode_key(const char *path, int pem)
{
	char *cause = NULL, *desc;
	EVP_PKEY *k;

	if ((k = pki_read_key(path, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	desc = pki_key_desc(k);
	printf("%s: private key (%s)\n\nPrivate key\n", path,
	    pem ? "PEM" : "DER");
	LINE("type and size:", desc);
	printf("  (the key material itself is never shown)\n");
	free(desc);
	EVP_PKEY_free(k);
	return CERT_OK;
}

int
cert_cmd_decode(struct cert_env *env, int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	enum pki_kind kind;
	char *buf, *cause = NULL;
	const char *path;
	size_t len;
	int ch, pem, rv;

	(void)env;
	optind = 0;
	opterr = 0;
	if ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1)
		return cert_option_error(decode_usage, "decode", argv, ch);
	if (optind == argc)
		return cert_usage_error(decode_usage, "decode: name the FILE to "
		    "decode");
	if (optind + 1 < argc)
		return cert_usage_error(decode_usage, "decode: one FILE at a time "
		    "('%s' is one too many)", argv[optind + 1]);
	path = argv[optind];
	if ((buf = pki_slurp(path, &len, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	kind = pki_detect(buf, len);
	pem = pki_is_pem(buf, len);
	switch (kind) {
	case PKI_CERT:
	case PKI_CHAIN:
		rv = decode_certs(path, buf, len, pem);
		break;
	case PKI_CRL:
		rv = decode_crls(path, buf, len, pem);
		break;
	case PKI_CSR:
		rv = decode_csr(path, pem);
		break;
	case PKI_KEY:
		rv = decode_key(path, pem);
		break;
	case PKI_KEY_ENCRYPTED:
		printf("%s: password-protected private key (%s)\n\n"
		    "The key is protected by a password, so nothing more of it "
		    "is shown.\nsipedged needs it unencrypted: openssl pkey -in "
		    "%s -out server.key\n", path, pem ? "PEM" : "DER", path);
		rv = CERT_OK;
		break;
	default:
		cert_err("%s holds no certificate, certificate chain, CSR, CRL "
		    "or private key that sipedge-cert can read (%s)", path,
		    pem ? "its PEM blocks are of no such type" :
		    "it is neither PEM nor DER of one of them");
		rv = CERT_FAIL;
		break;
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rv;
}

/* --- convert -------------------------------------------------------- */

/*
 * The DER of one object into out; refuses a file of several objects, for
 * DER has no way to hold more than one.  0, or -1 after saying why.
 */
static int
convert_der_one(const char *path, STACK_OF(X509) *certs,
    STACK_OF(X509_CRL) *crls, BIO *out)
{
	int ncert = certs ? sk_X509_num(certs) : 0;
	int ncrl = crls ? sk_X509_CRL_num(crls) : 0;
	char why[256], *what;

	if (ncert + ncrl > 1) {
		if (ncrl == 0)
			what = xasprintf("a chain of %d certificates", ncert);
		else if (ncert == 0)
			what = xasprintf("%d CRLs", ncrl);
		else
			what = xasprintf("%d certificate%s and %d CRL%s", ncert,
			    plural(ncert), ncrl, plural(ncrl));
		cert_err("%s holds %s, and a DER file holds only one: convert "
		    "it to PEM, or split it first", path, what);
		free(what);
		return -1;
	}
	if ((ncert == 1 ? i2d_X509_bio(out, sk_X509_value(certs, 0)) :
	    i2d_X509_CRL_bio(out, sk_X509_CRL_value(crls, 0))) != 1) {
		cert_err("cannot encode %s as DER: %s", path,
		    pki_ossl_reason(why, sizeof why));
		return -1;
	}
	return 0;
}

/* Certificates (certs may be NULL), then CRLs, as PEM; 0 or -1. */
static int
pem_all(BIO *out, STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls)
{
	int i, ok = 0;

	for (i = 0; i < sk_X509_num(certs); i++)
		if (PEM_write_bio_X509(out, sk_X509_value(certs, i)) != 1)
			ok = -1;
	for (i = 0; i < sk_X509_CRL_num(crls); i++)
		if (PEM_write_bio_X509_CRL(out, sk_X509_CRL_value(crls, i)) != 1)
			ok = -1;
	return ok;
}

/*
 * Encode the file's content as PEM or DER into out.  *secret is set for a
 * private key.  CERT_OK or CERT_FAIL after saying why.
 */
static int
convert_encode(const char *path, char *buf, size_t len, int to_der,
    BIO *out, int *secret)
{
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *certs = NULL;
	char *cause = NULL, why[256];
	EVP_PKEY *k = NULL;
	X509_REQ *r = NULL;
	int ok = -1;

	*secret = 0;
	switch (pki_detect(buf, len)) {
	case PKI_CERT:
	case PKI_CHAIN:
		crls = sk_X509_CRL_new_null();
		if ((certs = pki_parse_certs(path, buf, len, crls, &cause)) ==
		    NULL)
			break;
		if (to_der) {
			if ((ok = convert_der_one(path, certs, crls, out)) == -1)
				goto quiet;
		} else
			ok = pem_all(out, certs, crls);
		break;
	case PKI_CRL:
		if ((crls = pki_parse_crls(path, buf, len, &cause)) == NULL)
			break;
		if (to_der) {
			if ((ok = convert_der_one(path, NULL, crls, out)) == -1)
				goto quiet;
		} else
			ok = pem_all(out, NULL, crls);
		break;
	case PKI_CSR:
		if ((r = pki_read_csr(path, &cause)) == NULL)
			break;
		ok = (to_der ? i2d_X509_REQ_bio(out, r) :
		    PEM_write_bio_X509_REQ(out, r)) == 1 ? 0 : -1;
		break;
	case PKI_KEY:
	case PKI_KEY_ENCRYPTED:
		*secret = 1;
		/* pki_read_key explains a password-protected key. */
		if ((k = pki_read_key(path, &cause)) == NULL)
			break;
		/* Unencrypted PKCS#8 either way: what sipedged reads. */
		ok = (to_der ? i2d_PKCS8PrivateKey_bio(out, k, NULL, NULL, 0,
		    NULL, NULL) : PEM_write_bio_PrivateKey(out, k, NULL, NULL, 0,
		    NULL, NULL)) == 1 ? 0 : -1;
		break;
	case PKI_GARBAGE:
		cause = xasprintf("%s holds no certificate, certificate chain, "
		    "CSR, CRL or private key that sipedge-cert can convert",
		    path);
		break;
	}
	if (ok == -1) {
		if (cause != NULL)
			cert_err("%s", cause);
		else
			cert_err("cannot encode %s as %s: %s", path,
			    to_der ? "DER" : "PEM",
			    pki_ossl_reason(why, sizeof why));
	}
quiet:
	free(cause);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return ok == 0 ? CERT_OK : CERT_FAIL;
}

/* Write all of data to stdout; -1 with errno on failure. */
static int
write_stdout(const char *data, size_t len)
{
	if (len > 0 && fwrite(data, 1, len, stdout) != len)
		return -1;
	return fflush(stdout) == 0 ? 0 : -1;
}

/*
 * The arguments of convert: -1 to go on with *to_der, *outpath (NULL:
 * standard output) and *path set, or the exit status after a message.
 */
static int
convert_parse(int argc, char **argv, int *to_der, const char **outpath,
    const char **path)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *to = NULL;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to = optarg;
			break;
		case 'o':
			*outpath = optarg;
			break;
		default:
			return cert_option_error(convert_usage, "convert", argv, ch);
		}
	}
	if (optind == argc)
		return cert_usage_error(convert_usage, "convert: name the FILE to "
		    "convert");
	if (optind + 1 < argc)
		return cert_usage_error(convert_usage, "convert: one FILE at a time "
		    "('%s' is one too many)", argv[optind + 1]);
	if (to == NULL)
		return cert_usage_error(convert_usage, "convert: say which format "
		    "with --to pem or --to der");
	if (strcasecmp(to, "pem") != 0 && strcasecmp(to, "der") != 0)
		return cert_usage_error(convert_usage, "convert: --to %s is not a "
		    "format: use pem or der", to);
	if (*outpath != NULL && **outpath == '\0')
		return cert_usage_error(convert_usage, "convert: -o needs a file "
		    "name");
	*to_der = strcasecmp(to, "der") == 0;
	*path = argv[optind];
	return -1;
}

/* Put the converted data where it goes; CERT_OK, or CERT_FAIL said. */
static int
convert_write(const char *path, const char *outpath, const char *data,
    size_t dlen, int to_der, int secret)
{
	char *cause = NULL;

	if (outpath == NULL && secret) {
		cert_err("%s is a private key, and sipedge-cert never prints a "
		    "key: give -o FILE (written with mode 0600)", path);
		return CERT_FAIL;
	}
	if (outpath == NULL && to_der && isatty(STDOUT_FILENO)) {
		cert_err("refusing to write binary DER to a terminal: give -o "
		    "FILE or redirect the output");
		return CERT_FAIL;
	}
	if (outpath == NULL) {
		if (write_stdout(data, dlen) == -1) {
			cert_err("cannot write the %s of %s to standard output: "
			    "%s", to_der ? "DER" : "PEM", path, strerror(errno));
			return CERT_FAIL;
		}
		return CERT_OK;
	}
	if (file_write_atomic(outpath, data, dlen, secret ? 0600 : 0644,
	    &cause) == -1) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	printf("wrote %s (%s, mode %s)\n", outpath, to_der ? "DER" : "PEM",
	    secret ? "0600" : "0644");
	return CERT_OK;
}

int
cert_cmd_convert(struct cert_env *env, int argc, char **argv)
{
	const char *outpath = NULL, *path = NULL;
	char *buf = NULL, *cause = NULL, *data;
	int to_der = 0, secret = 0, rv;
	size_t len = 0;
	long dlen;
	BIO *out = NULL;

	(void)env;
	if ((rv = convert_parse(argc, argv, &to_der, &outpath, &path)) != -1)
		return rv;
	rv = CERT_FAIL;
	if ((buf = pki_slurp(path, &len, &cause)) == NULL) {
		cert_err("%s", cause);
		goto out;
	}
	out = BIO_new(BIO_s_mem());
	if ((rv = convert_encode(path, buf, len, to_der, out, &secret)) ==
	    CERT_OK) {
		dlen = BIO_get_mem_data(out, &data);
		rv = convert_write(path, outpath, data, (size_t)dlen, to_der,
		    secret);
	}
out:
	if (out != NULL) {
		dlen = BIO_get_mem_data(out, &data);
		if (secret && dlen > 0)
			OPENSSL_cleanse(data, (size_t)dlen);
		BIO_free(out);
	}
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	free(cause);
	return rv;
}
