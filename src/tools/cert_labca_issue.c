/*
 * cert_labca_issue.c: sipedge-cert lab-ca issue: a certificate for a new
 * key or for a CSR.  With --csr the request's whole subject is kept (C,
 * ST, L, O, OU, CN, emailAddress...; --cn and --org replace theirs) while
 * the CA's profile decides the rest: names, usages, validity, CDP, AIA.
 * Writes the files, then records the certificate, so the index lists only
 * what was handed out.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "tools/cert_labca_int.h"
#include "util/name.h"
#include "util/xmalloc.h"

#define DEFAULT_CERT_DAYS	365

/* What `issue` was asked for. */
struct issue_args {
	struct tls_ca_profile	 p;
	char			**sans;		/* --san */
	size_t			 nsans;
	const char		*csr;
	const char		*out;
	enum tls_key_type	 kt;
	int			 kt_given;
	int			 force;
};

/* One issue: the arguments and what is built from them. */
struct issue {
	struct issue_args	 a;
	struct tls_ca_csr_names	 want;		/* what the CSR asks for */
	X509_NAME		*subject;	/* the CSR's, adjusted */
	char			**sans;		/* the CSR's, then --san */
	size_t			 nsans;
	EVP_PKEY		*pub;		/* the CSR's key, or NULL */
	EVP_PKEY		*key;		/* a new key, or NULL */
	X509			*x;
	char			*certf, *keyf, *chainf;
	char			*written[3];	/* removed if the issue fails */
	size_t			 nwritten;
};

/* A file name made of the CN: letters, digits, '.', '-' and '_' only. */
static char *
prefix_from_cn(const char *cn)
{
	char *p = xstrdup(cn), *s;

	for (s = p; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		    *s == '_'))
			*s = '_';
	if (*p == '.')
		*p = '_';
	return p;
}

/* Add s to the list v[0..*np) unless it is there already. */
static void
add_name(char ***vp, size_t *np, const char *s)
{
	size_t i;

	for (i = 0; i < *np; i++)
		if (strcasecmp((*vp)[i], s) == 0)
			return;
	*vp = xreallocarray(*vp, *np + 1, sizeof **vp);
	(*vp)[(*np)++] = xstrdup(s);
}

/* Free a list add_name() made. */
static void
free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An option that takes a checked value: 0, or -1 after a message. */
static int
issue_value(struct cert_labca_opts *o, struct issue_args *a, int ch,
    const char *v)
{
	char *cause = NULL, *e;

	if (ch == 's') {
		if ((e = name_san_parse(v, &cause)) == NULL) {
			cert_err("lab-ca issue: --san: %s", cause);
			free(cause);
			return -1;
		}
		add_name(&a->sans, &a->nsans, e);
		free(e);
		return 0;
	}
	if (ch == 'D')
		return (a->p.days = cert_labca_days(o, "--days", v, 1,
		    TLS_CA_MAX_DAYS)) == -1 ? -1 : 0;
	if (ch == 'k') {
		if (tls_key_type_parse(v, &a->kt) == -1) {
			cert_err("lab-ca issue: --key-type '%s' is not a key "
			    "type (%s)", v, TLS_KEY_TYPE_WORDS);
			return -1;
		}
		a->kt_given = 1;
		return 0;
	}
	if (name_url_check(v, &cause) == -1) {
		cert_err("lab-ca issue: %s: %s", ch == 'r' ? "--crl-url" :
		    "--ocsp-url", cause);
		free(cause);
		return -1;
	}
	if (ch == 'r')
		a->p.crl_url = v;
	else
		a->p.ocsp_url = v;
	return 0;
}

/* The options of issue into o and a: 0, or -1 after a message. */
static int
issue_options(struct cert_labca_opts *o, struct issue_args *a, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "cn", required_argument, NULL, 'n' },
		{ "org", required_argument, NULL, 'o' },
		{ "san", required_argument, NULL, 's' },
		{ "server", no_argument, NULL, 'S' },
		{ "client", no_argument, NULL, 'C' },
		{ "days", required_argument, NULL, 'D' },
		{ "crl-url", required_argument, NULL, 'r' },
		{ "ocsp-url", required_argument, NULL, 'O' },
		{ "csr", required_argument, NULL, 'q' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'w' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->dir = optarg; break;
		case 'n': a->p.cn = optarg; break;
		case 'o': a->p.org = optarg; break;
		case 'S': a->p.server = 1; break;
		case 'C': a->p.client = 1; break;
		case 'q': a->csr = optarg; break;
		case 'w': a->out = optarg; break;
		case 'f': a->force = 1; break;
		case 's':
		case 'D':
		case 'k':
		case 'r':
		case 'O':
			if (issue_value(o, a, ch, optarg) == -1)
				return -1;
			break;
		default:
			cert_labca_bad_option(o, ch, argv);
			return -1;
		}
	}
	return 0;
}

/* Parse the arguments of issue; -1 after a message (and the usage, for
 * a malformed command line). */
static int
issue_parse(struct cert_labca_opts *o, struct issue_args *a, int argc,
    char **argv)
{
	a->p.days = DEFAULT_CERT_DAYS;
	a->kt = TLS_KEY_EC_P256;
	if (issue_options(o, a, argc, argv) == -1)
		return -1;
	if (optind != argc) {
		cert_err("lab-ca issue: unexpected argument '%s'", argv[optind]);
		cert_labca_usage();
		return -1;
	}
	if (a->csr != NULL && a->kt_given) {
		cert_err("lab-ca issue: --csr and --key-type exclude each other "
		    "(with --csr the key is the requester's)");
		cert_labca_usage();
		return -1;
	}
	if (a->csr == NULL && a->p.cn == NULL) {
		cert_err("lab-ca issue: --cn NAME is required (or --csr FILE "
		    "whose subject has a CN)");
		cert_labca_usage();
		return -1;
	}
	if ((a->p.cn != NULL && strlen(a->p.cn) > 64) ||
	    (a->p.org != NULL && strlen(a->p.org) > 64)) {
		cert_err("lab-ca issue: --cn and --org take at most 64 "
		    "characters");
		return -1;
	}
	if (a->out != NULL && *a->out == '\0') {
		cert_err("lab-ca issue: --out needs a file name prefix");
		return -1;
	}
	return 0;
}

/*
 * Put v as the only nid entry of n: where the first one was (the others
 * removed), else before the first entry of nid_before, else last.  0, or
 * -1 (v is not UTF-8).
 */
static int
set_entry(X509_NAME *n, int nid, int nid_before, const char *v)
{
	int at = X509_NAME_get_index_by_NID(n, nid, -1), i;

	while ((i = X509_NAME_get_index_by_NID(n, nid, -1)) >= 0)
		X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, i));
	if (at < 0)
		at = X509_NAME_get_index_by_NID(n, nid_before, -1);
	return X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8,
	    (const unsigned char *)v, -1, at, 0) == 1 ? 0 : -1;
}

/*
 * The key and subject of the CSR (whose signature must hold): its whole
 * subject, with --cn and --org put in; the names it asks for, then
 * --san.  0, or -1 after a message.
 */
static int
from_csr(struct issue *is)
{
	struct issue_args *a = &is->a;
	X509_REQ *req;
	char *cause = NULL;
	size_t i;

	if ((req = pki_read_csr(a->csr, &cause)) == NULL ||
	    (is->pub = tls_ca_csr_key(req, a->csr, &is->want, &cause)) ==
	    NULL) {
		cert_err("%s", cause);
		free(cause);
		X509_REQ_free(req);
		return -1;
	}
	is->subject = X509_NAME_dup(X509_REQ_get_subject_name(req));
	X509_REQ_free(req);
	if (a->p.cn == NULL && (a->p.cn = is->want.cn) == NULL) {
		cert_err("%s has no CN in its subject: give --cn NAME", a->csr);
		return -1;
	}
	if (is->subject == NULL || (a->p.cn != is->want.cn &&
	    set_entry(is->subject, NID_commonName, NID_undef, a->p.cn) ==
	    -1) || (a->p.org != NULL && set_entry(is->subject,
	    NID_organizationName, NID_commonName, a->p.org) == -1)) {
		ERR_clear_error();
		cert_err("cannot put --cn or --org into the subject of %s (they "
		    "must be UTF-8)", a->csr);
		return -1;
	}
	if (a->p.org == NULL)
		a->p.org = is->want.org;	/* checked as before */
	a->p.subject = is->subject;
	for (i = 0; i < is->want.nsans; i++)
		add_name(&is->sans, &is->nsans, is->want.sans[i]);
	return 0;
}

/* The output names: --out, or made of the CN. */
static void
out_names(struct issue *is)
{
	const struct issue_args *a = &is->a;
	char *prefix;

	prefix = a->out != NULL ? xstrdup(a->out) : prefix_from_cn(a->p.cn);
	is->certf = xasprintf("%s.pem", prefix);
	is->keyf = xasprintf("%s.key", prefix);
	is->chainf = xasprintf("%s-chain.pem", prefix);
	free(prefix);
}

/* Refuse to overwrite an output file without --force.  0, or -1. */
static int
refuse_existing(const struct issue *is)
{
	const char *t;
	int i;

	for (i = 0; i < 3 && !is->a.force; i++) {
		t = i == 0 ? is->certf : i == 1 ? is->keyf : is->chainf;
		if (i == 1 && is->pub != NULL)
			continue;	/* no key is written */
		if (access(t, F_OK) == 0) {
			cert_err("%s already exists; choose another --out "
			    "PREFIX or give --force to replace it", t);
			return -1;
		}
	}
	return 0;
}

/*
 * Write the key (when new), the certificate and the chain, then record
 * the certificate; what this run wrote is listed for removal on failure.
 * 0, or -1 with *cause.
 */
static int
write_issued(struct issue *is, struct tls_ca *ca, char **cause)
{
	STACK_OF(X509) *chain;
	int r;

	if (is->key != NULL) {
		if (pki_write_key(is->keyf, is->key, cause) == -1)
			return -1;
		is->written[is->nwritten++] = is->keyf;
	}
	if (pki_write_cert(is->certf, is->x, cause) == -1)
		return -1;
	is->written[is->nwritten++] = is->certf;
	chain = sk_X509_new_null();
	sk_X509_push(chain, is->x);
	sk_X509_push(chain, tls_ca_get0_cert(ca));
	r = pki_write_certs(is->chainf, chain, cause);
	sk_X509_free(chain);
	if (r == -1)
		return -1;
	is->written[is->nwritten++] = is->chainf;
	if (tls_ca_record(ca, is->x, cause) == -1)
		return -1;
	is->nwritten = 0;	/* handed out: kept */
	return 0;
}

/* What was issued and where it went. */
static void
print_issued(const struct issue *is, struct tls_ca *ca)
{
	char *t = pki_san_line(is->x);
	char *kd = pki_key_desc(X509_get0_pubkey(is->x));

	printf("issued serial %s\n", tls_ca_entry(ca, tls_ca_count(ca) -
	    1)->serial);
	cert_labca_print_cert("certificate:", is->x);
	printf("%-13s %s\n", "names:", *t ? t : "(none)");
	free(t);
	t = pki_eku_line(is->x);
	printf("%-13s %s\n", "usage:", t ? t : "(any)");
	free(t);
	printf("%-13s %s%s\n", "key:", kd, is->key != NULL ? " (new)" :
	    " (from the CSR)");
	free(kd);
	if (is->a.p.crl_url != NULL)
		printf("%-13s %s\n", "CRL:", is->a.p.crl_url);
	if (is->a.p.ocsp_url != NULL)
		printf("%-13s %s\n", "OCSP:", is->a.p.ocsp_url);
	printf("%-13s %s\n", "wrote:", is->certf);
	if (is->key != NULL)
		printf("%-13s %s (private key, mode 0600)\n", "", is->keyf);
	printf("%-13s %s (certificate + CA)\n", "", is->chainf);
}

/* Free what an issue holds; remove what a failed one wrote. */
static void
issue_clear(struct issue *is)
{
	size_t i;

	for (i = 0; i < is->nwritten; i++)
		unlink(is->written[i]);
	X509_free(is->x);
	X509_NAME_free(is->subject);
	EVP_PKEY_free(is->key);
	EVP_PKEY_free(is->pub);
	free_names(is->a.sans, is->a.nsans);
	free_names(is->sans, is->nsans);
	tls_ca_csr_names_clear(&is->want);
	free(is->certf);
	free(is->keyf);
	free(is->chainf);
}

/* Make the certificate with ca and put it in place: the exit status. */
static int
issue_with(struct issue *is, struct tls_ca *ca)
{
	char *cause = NULL;

	if ((is->pub == NULL && (is->key = tls_key_generate(is->a.kt,
	    &cause)) == NULL) ||
	    (is->x = tls_ca_issue(ca, is->pub != NULL ? is->pub : is->key,
	    &is->a.p, &cause)) == NULL ||
	    write_issued(is, ca, &cause) == -1) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	print_issued(is, ca);
	return CERT_OK;
}

int
cert_labca_issue(struct cert_env *env, struct cert_labca_opts *o, int argc,
    char **argv)
{
	struct issue is;
	struct tls_ca *ca = NULL;
	char *dir = NULL;
	size_t i;
	int rv = CERT_FAIL;

	memset(&is, 0, sizeof is);
	if (issue_parse(o, &is.a, argc, argv) == -1) {
		rv = CERT_USAGE;
		goto out;
	}
	if ((dir = cert_labca_dir(env, o)) == NULL ||
	    (is.a.csr != NULL && from_csr(&is) == -1))
		goto out;
	for (i = 0; i < is.a.nsans; i++)
		add_name(&is.sans, &is.nsans, is.a.sans[i]);
	is.a.p.sans = is.sans;
	is.a.p.nsans = is.nsans;
	out_names(&is);
	if ((ca = cert_labca_open(env, o, dir)) == NULL ||
	    cert_labca_out_dir(is.certf) == -1 || refuse_existing(&is) == -1)
		goto out;
	rv = issue_with(&is, ca);
out:
	issue_clear(&is);
	tls_ca_free(ca);
	free(dir);
	return rv;
}
