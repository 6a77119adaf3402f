/*
 * crlmake.c: makes the CRLs `openssl ca` cannot, for
 * tests/integ/crl_scope.sh: indirect CRLs, whose entries carry the
 * certificateIssuer extension.  Not installed.
 *
 *   crlmake -c SIGNER.pem -k SIGNER.key -o OUT.pem [-n NUMBER] [-i]
 *           [-d URI] [-e SERIAL[:REASON[:ISSUER.pem]]]...
 *
 * The CRL is in the name of SIGNER.pem's subject and signed with
 * SIGNER.key (SHA-256), thisUpdate an hour ago, nextUpdate in a week,
 * cRLNumber NUMBER (default 1).  -i adds a critical
 * issuingDistributionPoint with indirectCRL, -d its distribution point
 * (a URI).  Each -e lists a serial (hex, as `openssl ca` numbers them)
 * with a reason code (a number; none when left out or -1); ISSUER.pem
 * puts a certificateIssuer extension naming that certificate's subject
 * on the entry (it holds for the entries after it too, RFC 5280 s.5.3.3).
 * Entries stay in the order given.  Exit 0, or 1 with a message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* Print why on stderr and exit 1. */
static void
die(const char *why, const char *what)
{
	fprintf(stderr, "crlmake: %s%s%s\n", why, what != NULL ? ": " : "",
	    what != NULL ? what : "");
	exit(1);
}

/* The first certificate in PEM file path. */
static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die("cannot open", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die("no certificate in", path);
	return x;
}

/* Add entry spec ("SERIAL[:REASON[:ISSUER.pem]]") to crl. */
static void
add_entry(X509_CRL *crl, char *spec, const ASN1_TIME *when)
{
	X509_REVOKED *r = X509_REVOKED_new();
	char *reason = strchr(spec, ':'), *issuer = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial;

	if (reason != NULL) {
		*reason++ = '\0';
		if ((issuer = strchr(reason, ':')) != NULL)
			*issuer++ = '\0';
	}
	if (BN_hex2bn(&bn, spec) == 0)
		die("bad serial", spec);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	X509_REVOKED_set_serialNumber(r, serial);
	X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)when);
	if (reason != NULL && *reason != '\0' && atoi(reason) >= 0) {
		ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

		ASN1_ENUMERATED_set(e, atoi(reason));
		X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
		ASN1_ENUMERATED_free(e);
	}
	if (issuer != NULL && *issuer != '\0') {
		X509 *x = read_cert(issuer);
		GENERAL_NAMES *gns = GENERAL_NAMES_new();
		GENERAL_NAME *g = GENERAL_NAME_new();

		GENERAL_NAME_set0_value(g, GEN_DIRNAME,
		    X509_NAME_dup(X509_get_subject_name(x)));
		sk_GENERAL_NAME_push(gns, g);
		X509_REVOKED_add1_ext_i2d(r, NID_certificate_issuer, gns, 1, 0);
		GENERAL_NAMES_free(gns);
		X509_free(x);
	}
	X509_CRL_add0_revoked(crl, r);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
}

int
main(int argc, char **argv)
{
	const char *certf = NULL, *keyf = NULL, *outf = NULL, *uri = NULL;
	long number = 1;
	int ch, indirect = 0, i, nent = 0;
	char **ents = calloc((size_t)argc + 1, sizeof *ents);
	X509 *signer;
	EVP_PKEY *key;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t;
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	FILE *f;

	while ((ch = getopt(argc, argv, "c:k:o:n:id:e:")) != -1) {
		switch (ch) {
		case 'c': certf = optarg; break;
		case 'k': keyf = optarg; break;
		case 'o': outf = optarg; break;
		case 'n': number = atol(optarg); break;
		case 'i': indirect = 1; break;
		case 'd': uri = optarg; break;
		case 'e': ents[nent++] = optarg; break;
		default: die("usage: crlmake -c CERT -k KEY -o OUT [-n N] [-i] "
		    "[-d URI] [-e SERIAL[:REASON[:ISSUER.pem]]]...", NULL);
		}
	}
	if (certf == NULL || keyf == NULL || outf == NULL)
		die("-c, -k and -o are needed", NULL);
	signer = read_cert(certf);
	if ((f = fopen(keyf, "r")) == NULL)
		die("cannot open", keyf);
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL)
		die("no key in", keyf);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(signer));
	t = ASN1_TIME_set(NULL, time(NULL) - 3600);
	X509_CRL_set1_lastUpdate(crl, t);
	for (i = 0; i < nent; i++)
		add_entry(crl, ents[i], t);
	ASN1_TIME_set(t, time(NULL) + 7 * 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	ASN1_INTEGER_set(num, number);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	if (indirect || uri != NULL) {
		ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

		idp->indirectCRL = indirect;
		if (uri != NULL) {
			GENERAL_NAME *g = GENERAL_NAME_new();
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();

			ASN1_STRING_set(s, uri, -1);
			GENERAL_NAME_set0_value(g, GEN_URI, s);
			idp->distpoint = DIST_POINT_NAME_new();
			idp->distpoint->type = 0;
			idp->distpoint->name.fullname = GENERAL_NAMES_new();
			sk_GENERAL_NAME_push(idp->distpoint->name.fullname, g);
		}
		X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp,
		    1, 0);
		ISSUING_DIST_POINT_free(idp);
	}
	if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0)
		die("cannot sign the CRL", NULL);
	if ((f = fopen(outf, "w")) == NULL || !PEM_write_X509_CRL(f, crl))
		die("cannot write", outf);
	fclose(f);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	X509_free(signer);
	EVP_PKEY_free(key);
	free(ents);
	return 0;
}
