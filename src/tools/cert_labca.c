/*
 * cert_labca.c: sipedge-cert lab-ca: a local CA for labs, tests and a
 * first run (init, issue, revoke, crl, list).  The CA itself is tls_ca.c;
 * this file parses arguments, decides file names and reports; issue is in
 * cert_labca_issue.c.  Command
 * line mistakes exit CERT_USAGE before anything is generated or written;
 * problems with files or with the CA's state exit CERT_FAIL.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "tools/cert_labca_int.h"
#include "util/file.h"
#include "util/name.h"
#include "util/xmalloc.h"

#define DEFAULT_CA_CN		"sipedge lab CA"
#define DEFAULT_CA_DAYS		3650
#define DEFAULT_CRL_DAYS	7
#define MAX_CRL_DAYS		3650

static const char usage_text[] =
    "usage: sipedge-cert [-c FILE] lab-ca init [--dir DIR] [--cn NAME] "
    "[--org ORG]\n"
    "           [--key ec|ec384|rsa2048|rsa3072|rsa4096] [--days N] "
    "[--force]\n"
    "       sipedge-cert [-c FILE] lab-ca issue --cn NAME [--org ORG] "
    "[--san NAME]...\n"
    "           [--server] [--client] [--days N] [--crl-url URL] "
    "[--ocsp-url URL]\n"
    "           [--csr FILE | --key-type TYPE] [--out PREFIX] [--force] "
    "[--dir DIR]\n"
    "       sipedge-cert [-c FILE] lab-ca revoke SERIAL|CERTFILE "
    "[--reason REASON] [--dir DIR]\n"
    "       sipedge-cert [-c FILE] lab-ca crl [--days N] [--out FILE] "
    "[--dir DIR]\n"
    "       sipedge-cert [-c FILE] lab-ca list [--dir DIR]\n"
    "See sipedge-cert(1).\n";

int
cert_labca_usage(void)
{
	fputs(usage_text, stderr);
	return CERT_USAGE;
}

/* Report a getopt failure (ch is '?' or ':') and return CERT_USAGE. */
int
cert_labca_bad_option(const struct cert_labca_opts *o, int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		cert_err("lab-ca %s: %s needs a value", o->sub, arg);
	else if (optopt != 0)
		cert_err("lab-ca %s: unknown option -%c", o->sub, optopt);
	else
		cert_err("lab-ca %s: unknown option %s", o->sub, arg);
	return cert_labca_usage();
}

/* A whole number of days from lo to hi; -1 (after a message) if not. */
int
cert_labca_days(const struct cert_labca_opts *o, const char *opt,
    const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		cert_err("lab-ca %s: %s '%s' is not a number of days from %d "
		    "to %d", o->sub, opt, s, lo, hi);
		return -1;
	}
	return (int)v;
}

/* The CA directory: --dir, else <daemon.state_dir>/lab-ca. */
char *
cert_labca_dir(struct cert_env *env, const struct cert_labca_opts *o)
{
	struct conf *c;

	if (o->dir != NULL)
		return xstrdup(o->dir);
	if ((c = cert_conf(env)) == NULL)
		return NULL;
	return xasprintf("%s/lab-ca", c->state_dir.path);
}

/* Open the CA of dir, with a hint when there is none yet. */
struct tls_ca *
cert_labca_open(struct cert_env *env, const struct cert_labca_opts *o,
    const char *dir)
{
	struct tls_ca *ca;
	char *cause = NULL, *certf = xasprintf("%s/%s", dir, TLS_CA_CERT);
	int missing = access(certf, F_OK) != 0 && errno == ENOENT;

	free(certf);
	if (missing) {
		if (o->dir != NULL)
			cause = xasprintf("lab-ca init --dir %s", o->dir);
		else if (env->conf_given)
			cause = xasprintf("-c %s lab-ca init", env->conf_path);
		else
			cause = xstrdup("lab-ca init");
		cert_err("there is no lab CA in %s; create one with: "
		    "sipedge-cert %s", dir, cause);
		free(cause);
		return NULL;
	}
	if ((ca = tls_ca_open(dir, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
	}
	return ca;
}

/* "CN=..., valid until ..." of a certificate, for reports. */
void
cert_labca_print_cert(const char *label, X509 *x)
{
	char *subj = pki_name_line(X509_get_subject_name(x));
	char *until = pki_time_iso(X509_get0_notAfter(x));

	printf("%-13s %s, valid until %s\n", label, subj, until);
	free(subj);
	free(until);
}

/* A time as 2026-11-26T17:00:00Z. */
static char *
iso(time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* --- init ----------------------------------------------------------- */

static int
cmd_init(struct cert_env *env, struct cert_labca_opts *o, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "cn", required_argument, NULL, 'n' },
		{ "org", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	enum tls_key_type kt = TLS_KEY_EC_P256;
	const char *cn = DEFAULT_CA_CN, *org = NULL;
	struct tls_ca *ca;
	char *dir, *cause = NULL, *kd;
	int ch, days = DEFAULT_CA_DAYS, force = 0;

	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->dir = optarg;
			break;
		case 'n':
			cn = optarg;
			break;
		case 'o':
			org = optarg;
			break;
		case 'k':
			if (tls_key_type_parse(optarg, &kt) == -1) {
				cert_err("lab-ca init: --key '%s' is not a key "
				    "type (%s)", optarg, TLS_KEY_TYPE_WORDS);
				return CERT_USAGE;
			}
			break;
		case 'D':
			if ((days = cert_labca_days(o, "--days", optarg, 1,
			    TLS_CA_MAX_DAYS)) == -1)
				return CERT_USAGE;
			break;
		case 'f':
			force = 1;
			break;
		default:
			return cert_labca_bad_option(o, ch, argv);
		}
	}
	if (optind != argc) {
		cert_err("lab-ca init: unexpected argument '%s'", argv[optind]);
		return cert_labca_usage();
	}
	if ((dir = cert_labca_dir(env, o)) == NULL)
		return CERT_FAIL;
	if ((ca = tls_ca_create(dir, cn, org, kt, days, force, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		free(dir);
		return CERT_FAIL;
	}
	kd = pki_key_desc(X509_get0_pubkey(tls_ca_get0_cert(ca)));
	printf("created a lab CA in %s (%s key)\n", dir, kd);
	cert_labca_print_cert("certificate:", tls_ca_get0_cert(ca));
	printf("%-13s %s/%s (give it to the peers that must trust what this "
	    "CA issues)\n", "CA file:", dir, TLS_CA_CERT);
	printf("%-13s %s/%s (mode 0600)\n", "CA key:", dir, TLS_CA_KEY);
	free(kd);
	tls_ca_free(ca);
	free(dir);
	return CERT_OK;
}

/* Make the directory of path (0755) if it is missing; 0 or -1 after a
 * message. */
int
cert_labca_out_dir(const char *path)
{
	char *copy = xstrdup(path), *cause = NULL;
	int rv;

	if ((rv = file_mkdir_p(dirname(copy), 0755, &cause)) == -1) {
		cert_err("%s", cause);
		free(cause);
	}
	free(copy);
	return rv;
}

/* --- revoke --------------------------------------------------------- */

static int
cmd_revoke(struct cert_env *env, struct cert_labca_opts *o, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const struct tls_ca_entry *e = NULL;
	STACK_OF(X509) *certs = NULL;
	struct tls_ca *ca = NULL;
	struct stat st;
	const char *what;
	char *dir = NULL, *cause = NULL;
	int ch, reason = CRL_REASON_UNSPECIFIED, rv = CERT_FAIL, r;

	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->dir = optarg;
			break;
		case 'r':
			if ((reason = tls_ca_reason_parse(optarg)) == -1) {
				cert_err("lab-ca revoke: --reason '%s' is not a "
				    "revocation reason (%s)", optarg,
				    TLS_CA_REASON_WORDS);
				return CERT_USAGE;
			}
			break;
		default:
			return cert_labca_bad_option(o, ch, argv);
		}
	}
	if (argc - optind != 1) {
		cert_err("lab-ca revoke: give one SERIAL or CERTFILE");
		return cert_labca_usage();
	}
	what = argv[optind];
	if ((dir = cert_labca_dir(env, o)) == NULL ||
	    (ca = cert_labca_open(env, o, dir)) == NULL)
		goto out;
	if (stat(what, &st) == 0) {
		if ((certs = pki_read_certs(what, NULL, &cause)) == NULL)
			goto fail;
		r = tls_ca_revoke_cert(ca, sk_X509_value(certs, 0), what, reason,
		    &e, &cause);
	} else
		r = tls_ca_revoke_serial(ca, what, reason, &e, &cause);
	if (r == -1)
		goto fail;
	printf("revoked serial %s (%s), reason %s\n", e->serial, e->subject,
	    tls_ca_reason_name(e->reason));
	printf("publish the change with: sipedge-cert lab-ca crl%s%s\n",
	    o->dir != NULL ? " --dir " : "", o->dir != NULL ? o->dir : "");
	rv = CERT_OK;
	goto out;
fail:
	cert_err("%s", cause);
	free(cause);
out:
	sk_X509_pop_free(certs, X509_free);
	tls_ca_free(ca);
	free(dir);
	return rv;
}

/* --- crl ------------------------------------------------------------ */

/* Where the DER copy of a CRL written to pem goes: .pem becomes .der,
 * any other name gets .der appended. */
static char *
der_name(const char *pem)
{
	size_t n = strlen(pem);

	if (n > 4 && strcmp(pem + n - 4, ".pem") == 0)
		return xasprintf("%.*s.der", (int)(n - 4), pem);
	return xasprintf("%s.der", pem);
}

/* 0 if path is missing or a regular file, else -1 with *cause. */
static int
not_a_file(const char *path, char **cause)
{
	struct stat st;

	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		*cause = xasprintf("cannot write %s: it is %s", path,
		    S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		return -1;
	}
	return 0;
}

/* Write the CRL as PEM and DER: both staged, then renamed. */
static int
write_crl_pair(X509_CRL *crl, const char *pemf, const char *derf,
    char **cause)
{
	char *pem_new = xasprintf("%s.new", pemf), *der_new = xasprintf("%s.new",
	    derf);
	unsigned char *der = NULL;
	int len, rv = -1;

	/* Renaming onto a directory would fail half way through the pair. */
	if (not_a_file(pemf, cause) == -1 || not_a_file(derf, cause) == -1)
		goto out;
	if ((len = i2d_X509_CRL(crl, &der)) <= 0) {
		*cause = xstrdup("cannot encode the CRL");
		goto out;
	}
	if (pki_write_crl(pem_new, crl, cause) == -1)
		goto out;
	if (pki_write_der(der_new, der, (size_t)len, cause) == -1)
		goto out;
	if (rename(der_new, derf) == -1) {
		*cause = xasprintf("cannot write %s: %s", derf, strerror(errno));
		goto out;
	}
	if (rename(pem_new, pemf) == -1) {
		*cause = xasprintf("cannot write %s: %s", pemf, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	unlink(pem_new);
	unlink(der_new);
	OPENSSL_free(der);
	free(pem_new);
	free(der_new);
	return rv;
}

static int
cmd_crl(struct cert_env *env, struct cert_labca_opts *o, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'D' },
		{ "out", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct tls_ca *ca = NULL;
	X509_CRL *crl = NULL;
	ASN1_INTEGER *num;
	const char *out = NULL;
	char *dir = NULL, *cause = NULL, *pemf = NULL, *derf = NULL, *next;
	char *issuer;
	int nrev;
	int ch, days = DEFAULT_CRL_DAYS, rv = CERT_FAIL;

	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->dir = optarg;
			break;
		case 'D':
			if ((days = cert_labca_days(o, "--days", optarg, 1,
			    MAX_CRL_DAYS)) == -1)
				return CERT_USAGE;
			break;
		case 'w':
			out = optarg;
			break;
		default:
			return cert_labca_bad_option(o, ch, argv);
		}
	}
	if (optind != argc) {
		cert_err("lab-ca crl: unexpected argument '%s'", argv[optind]);
		return cert_labca_usage();
	}
	if (out != NULL && *out == '\0') {
		cert_err("lab-ca crl: --out needs a file name");
		return cert_labca_usage();
	}
	if ((dir = cert_labca_dir(env, o)) == NULL)
		goto out;
	pemf = out != NULL ? xstrdup(out) : xasprintf("%s/%s", dir, TLS_CA_CRL);
	derf = out != NULL ? der_name(out) : xasprintf("%s/%s", dir,
	    TLS_CA_CRL_DER);
	if ((ca = cert_labca_open(env, o, dir)) == NULL ||
	    cert_labca_out_dir(pemf) == -1)
		goto out;
	if ((crl = tls_ca_make_crl(ca, days, &cause)) == NULL ||
	    write_crl_pair(crl, pemf, derf, &cause) == -1)
		goto fail;
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	next = pki_time_iso(X509_CRL_get0_nextUpdate(crl));
	issuer = pki_name_line(X509_CRL_get_issuer(crl));
	nrev = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	printf("CRL number %ld of %s: %d revoked certificate%s, next update "
	    "%s\n", num != NULL ? ASN1_INTEGER_get(num) : 0L, issuer, nrev,
	    nrev == 1 ? "" : "s", next);
	printf("wrote %s and %s\n", pemf, derf);
	ASN1_INTEGER_free(num);
	free(next);
	free(issuer);
	rv = CERT_OK;
	goto out;
fail:
	cert_err("%s", cause);
	free(cause);
out:
	X509_CRL_free(crl);
	tls_ca_free(ca);
	free(pemf);
	free(derf);
	free(dir);
	return rv;
}

/* --- list ----------------------------------------------------------- */

static int
cmd_list(struct cert_env *env, struct cert_labca_opts *o, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	const struct tls_ca_entry *e;
	struct tls_ca *ca;
	time_t now = time(NULL);
	size_t i, nvalid = 0, nrev = 0, nexp = 0;
	char *dir, *na, *ra;
	int ch;

	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (ch != 'd')
			return cert_labca_bad_option(o, ch, argv);
		o->dir = optarg;
	}
	if (optind != argc) {
		cert_err("lab-ca list: unexpected argument '%s'", argv[optind]);
		return cert_labca_usage();
	}
	if ((dir = cert_labca_dir(env, o)) == NULL)
		return CERT_FAIL;
	if ((ca = cert_labca_open(env, o, dir)) == NULL) {
		free(dir);
		return CERT_FAIL;
	}
	printf("lab CA in %s\n", dir);
	cert_labca_print_cert("CA:", tls_ca_get0_cert(ca));
	if (tls_ca_count(ca) > 0)
		printf("%-40s %-8s %-20s %s\n", "SERIAL", "STATUS", "NOT AFTER",
		    "SUBJECT");
	for (i = 0; i < tls_ca_count(ca); i++) {
		e = tls_ca_entry(ca, i);
		na = iso(e->not_after);
		printf("%-40s %-8s %-20s %s\n", e->serial, e->revoked_at ?
		    "revoked" : e->not_after < now ? "expired" : "valid", na,
		    e->subject);
		free(na);
		if (e->revoked_at) {
			ra = iso(e->revoked_at);
			printf("%-40s revoked at %s, reason %s\n", "", ra,
			    tls_ca_reason_name(e->reason));
			free(ra);
			nrev++;
		} else if (e->not_after < now)
			nexp++;
		else
			nvalid++;
	}
	printf("%zu certificate%s issued: %zu valid, %zu revoked, %zu "
	    "expired\n", tls_ca_count(ca), tls_ca_count(ca) == 1 ? "" : "s",
	    nvalid, nrev, nexp);
	tls_ca_free(ca);
	free(dir);
	return CERT_OK;
}

/* --- dispatch ------------------------------------------------------- */

int
cert_cmd_lab_ca(struct cert_env *env, int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*fn)(struct cert_env *, struct cert_labca_opts *, int,
				    char **);
	} subs[] = {
		{ "init", cmd_init },
		{ "issue", cert_labca_issue },
		{ "revoke", cmd_revoke },
		{ "crl", cmd_crl },
		{ "list", cmd_list },
	};
	struct cert_labca_opts o;
	size_t i;

	if (argc < 2) {
		cert_err("lab-ca: give a command: init, issue, revoke, crl or "
		    "list");
		return cert_labca_usage();
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return CERT_OK;
	}
	memset(&o, 0, sizeof o);
	o.sub = argv[1];
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		optind = 0;	/* getopt afresh, argv[1] as the program */
		opterr = 0;
		return subs[i].fn(env, &o, argc - 1, argv + 1);
	}
	cert_err("lab-ca: unknown command '%s' (init, issue, revoke, crl or "
	    "list)", argv[1]);
	return cert_labca_usage();
}
