/*
 * tls_ca_dir.c: a CA kept in a directory (`sipedge-cert lab-ca`): its
 * certificate and key, an index of what it issued, revocation and CRLs,
 * under an exclusive lock on the directory.  A change is written to a
 * temporary file and renamed, so the directory is never left half
 * changed.  Certificates are made by tls_ca.c.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "util/file.h"
#include "util/name.h"
#include "util/str.h"
#include "util/xmalloc.h"

struct tls_ca {
	char			*dir;
	X509			*cert;
	EVP_PKEY		*key;
	struct tls_ca_entry	*v;	/* the index, in issue order */
	size_t			 n;
	int			 lockfd;
};

static const struct {
	const char	*name;
	int		 reason;
} reasons[] = {
	{ "unspecified", CRL_REASON_UNSPECIFIED },
	{ "keyCompromise", CRL_REASON_KEY_COMPROMISE },
	{ "cACompromise", CRL_REASON_CA_COMPROMISE },
	{ "affiliationChanged", CRL_REASON_AFFILIATION_CHANGED },
	{ "superseded", CRL_REASON_SUPERSEDED },
	{ "cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION },
	{ "certificateHold", CRL_REASON_CERTIFICATE_HOLD },
	{ "privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN },
	{ "aACompromise", CRL_REASON_AA_COMPROMISE },
};

int
tls_ca_reason_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcasecmp(s, reasons[i].name) == 0)
			return reasons[i].reason;
	return -1;
}

const char *
tls_ca_reason_name(int reason)
{
	size_t i;

	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].reason == reason)
			return reasons[i].name;
	return "unspecified";
}

static char *
path_in(const char *dir, const char *file)
{
	return xasprintf("%s/%s", dir, file);
}

/* Whether s is a serial as the index stores it: upper-case hex. */
static int
is_index_serial(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s) || islower((unsigned char)*s))
			return 0;
	return 1;
}

static void
entry_clear(struct tls_ca_entry *e)
{
	free(e->serial);
	free(e->subject);
}

/*
 * The index: '#' comments, then one line per certificate with six
 * tab-separated fields: V (valid) or R (revoked), the serial in hex,
 * notAfter, the revocation time or '-', the reason or '-', the subject.
 */
static int
index_load(struct tls_ca *ca, char **cause)
{
	char *path = path_in(ca->dir, TLS_CA_INDEX), *line = NULL, *s, *f[6];
	struct tls_ca_entry e;
	size_t cap = 0, nf;
	ssize_t len;
	int lineno = 0, rv = -1;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		for (s = line, nf = 0; nf < 6 && s != NULL; nf++)
			f[nf] = strsep(&s, nf < 5 ? "\t" : "");
		memset(&e, 0, sizeof e);
		if (nf != 6 || f[5] == NULL || (strcmp(f[0], "V") != 0 &&
		    strcmp(f[0], "R") != 0) || !is_index_serial(f[1]) ||
		    str_time_parse_iso(f[2], &e.not_after) == -1 ||
		    (f[0][0] == 'V' && (strcmp(f[3], "-") != 0 ||
		    strcmp(f[4], "-") != 0)) ||
		    (f[0][0] == 'R' && (str_time_parse_iso(f[3], &e.revoked_at) == -1 ||
		    (e.reason = tls_ca_reason_parse(f[4])) == -1))) {
			*cause = xasprintf("%s:%d: damaged entry (expected V or R, "
			    "serial, notAfter, revocation time, reason and "
			    "subject, separated by tabs)", path, lineno);
			goto out;
		}
		e.serial = xstrdup(f[1]);
		e.subject = xstrdup(f[5]);
		ca->v = xreallocarray(ca->v, ca->n + 1, sizeof *ca->v);
		ca->v[ca->n++] = e;
	}
	if (ferror(fp)) {
		*cause = xasprintf("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	fclose(fp);
	free(line);
	free(path);
	return rv;
}

/* The index file's text for entries v[0..n). */
static char *
index_text(const struct tls_ca_entry *v, size_t n, size_t *lenp)
{
	char *buf = NULL, *na, *ra;
	size_t len = 0, i;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		fatal("open_memstream: %s", strerror(errno));
	fprintf(fp, "# sipedge lab CA index, written by sipedge-cert.\n"
	    "# status (V valid, R revoked), serial, notAfter, revocation "
	    "time, reason, subject\n");
	for (i = 0; i < n; i++) {
		na = str_time_iso_dup(v[i].not_after);
		ra = v[i].revoked_at ? str_time_iso_dup(v[i].revoked_at) : xstrdup("-");
		fprintf(fp, "%s\t%s\t%s\t%s\t%s\t%s\n", v[i].revoked_at ? "R" :
		    "V", v[i].serial, na, ra, v[i].revoked_at ?
		    tls_ca_reason_name(v[i].reason) : "-", v[i].subject);
		free(na);
		free(ra);
	}
	if (fclose(fp) != 0)
		fatal("open_memstream: %s", strerror(errno));
	*lenp = len;
	return buf;
}

static int
index_save(struct tls_ca *ca, char **cause)
{
	char *path = path_in(ca->dir, TLS_CA_INDEX), *text;
	size_t len;
	int rv;

	text = index_text(ca->v, ca->n, &len);
	rv = file_write_atomic(path, text, len, 0644, cause);
	free(text);
	free(path);
	return rv;
}

/*
 * Take the directory's lock, waiting up to 10 seconds for another
 * sipedge-cert to finish with it.  The descriptor, or -1 with *cause.
 */
static int
lock_dir(const char *dir, char **cause)
{
	char *path = path_in(dir, TLS_CA_LOCK);
	int fd, i;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; i++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || i == 100) {
			*cause = xasprintf("cannot lock %s: %s", path,
			    errno == EWOULDBLOCK ? "another sipedge-cert is "
			    "still using this CA" : strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		usleep(100000);	/* sipedge-cert only: no event loop here */
	}
	free(path);
	return fd;
}

void
tls_ca_free(struct tls_ca *ca)
{
	size_t i;

	if (ca == NULL)
		return;
	for (i = 0; i < ca->n; i++)
		entry_clear(&ca->v[i]);
	free(ca->v);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	if (ca->lockfd != -1)
		close(ca->lockfd);	/* releases the lock */
	free(ca->dir);
	free(ca);
}

static struct tls_ca *
ca_new(const char *dir)
{
	struct tls_ca *ca = xcalloc(1, sizeof *ca);

	ca->dir = xstrdup(dir);
	ca->lockfd = -1;
	return ca;
}

/* Whether path exists (as anything). */
static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The refusal to replace the CA in dir, whose certificate is certf. */
static char *
refuse_replace(const char *dir, const char *certf)
{
	STACK_OF(X509) *old;
	char *text, *subj, *until, *out;

	if ((old = pki_read_certs(certf, NULL, &text)) == NULL) {
		free(text);
		return xasprintf("%s already holds a CA (%s or %s exists); "
		    "replacing it needs --force", dir, TLS_CA_KEY, TLS_CA_CERT);
	}
	subj = pki_name_line(X509_get_subject_name(sk_X509_value(old, 0)));
	until = pki_time_iso(X509_get0_notAfter(sk_X509_value(old, 0)));
	out = xasprintf("%s already holds a CA (%s, valid until %s); replacing "
	    "it needs --force, and makes everything it issued useless", dir,
	    subj, until);
	free(subj);
	free(until);
	sk_X509_pop_free(old, X509_free);
	return out;
}

/*
 * Write the files of a new CA to staged[] (key, certificate, empty index,
 * CRL number), counting in *nstaged those written.  0, or -1 with *cause.
 */
static int
stage_files(struct tls_ca *ca, char *const *staged, size_t *nstaged,
    char **cause)
{
	char *text;
	size_t len;
	int rv;

	if (pki_write_key(staged[0], ca->key, cause) == -1)
		return -1;
	(*nstaged)++;
	if (pki_write_cert(staged[1], ca->cert, cause) == -1)
		return -1;
	(*nstaged)++;
	text = index_text(NULL, 0, &len);
	rv = file_write_atomic(staged[2], text, len, 0644, cause);
	free(text);
	if (rv == -1)
		return -1;
	(*nstaged)++;
	if (file_write_atomic(staged[3], "0\n", 2, 0644, cause) == -1)
		return -1;
	(*nstaged)++;
	return 0;
}

/*
 * Stage every file next to its final name, then rename them all: a
 * failure while staging leaves the directory as it was, and renames
 * within a directory do not fail for want of space.  The CRLs of a
 * previous CA, which would not verify against this one, are removed.
 * 0, or -1 with *cause.
 */
static int
install_files(struct tls_ca *ca, const char *dir, char *const *final,
    char *const *staged, char **cause)
{
	size_t i, nstaged = 0;
	char *crl;
	int rv = -1;

	if (stage_files(ca, staged, &nstaged, cause) == -1)
		goto out;
	for (i = 0; i < 4; i++) {
		if (rename(staged[i], final[i]) == -1) {
			*cause = xasprintf("cannot rename %s to %s: %s",
			    staged[i], final[i], strerror(errno));
			goto out;
		}
	}
	nstaged = 0;
	for (i = 0; i < 2; i++) {
		crl = path_in(dir, i == 0 ? TLS_CA_CRL : TLS_CA_CRL_DER);
		unlink(crl);
		free(crl);
	}
	rv = 0;
out:
	for (i = 0; i < nstaged; i++)
		unlink(staged[i]);
	return rv;
}

struct tls_ca *
tls_ca_create(const char *dir, const char *cn, const char *org,
    enum tls_key_type kt, int days, int force, char **cause)
{
	static const char *const files[] = {
		TLS_CA_KEY, TLS_CA_CERT, TLS_CA_INDEX, TLS_CA_CRLNUMBER
	};
	struct tls_ca *ca = ca_new(dir);
	char *final[4], *staged[4];
	size_t i;
	int rv = -1;

	for (i = 0; i < 4; i++) {
		final[i] = path_in(dir, files[i]);
		staged[i] = xasprintf("%s.new", final[i]);
	}
	if (file_mkdir_p(dir, 0700, cause) == -1 ||
	    (ca->lockfd = lock_dir(dir, cause)) == -1)
		goto out;
	if (!force && (exists(final[0]) || exists(final[1]))) {
		*cause = refuse_replace(dir, final[1]);
		goto out;
	}
	if ((ca->key = tls_key_generate(kt, cause)) == NULL ||
	    (ca->cert = tls_ca_make_root(ca->key, cn, org, days,
	    cause)) == NULL ||
	    install_files(ca, dir, final, staged, cause) == -1)
		goto out;
	rv = 0;
out:
	for (i = 0; i < 4; i++) {
		free(final[i]);
		free(staged[i]);
	}
	if (rv == -1) {
		tls_ca_free(ca);
		return NULL;
	}
	return ca;
}

struct tls_ca *
tls_ca_open(const char *dir, char **cause)
{
	struct tls_ca *ca = ca_new(dir);
	char *certf = path_in(dir, TLS_CA_CERT), *keyf = path_in(dir, TLS_CA_KEY);
	STACK_OF(X509) *certs = NULL;
	int rv = -1;

	if (access(certf, F_OK) != 0) {
		*cause = xasprintf("%s holds no lab CA (%s: %s)", dir, certf,
		    strerror(errno));
		goto out;
	}
	if ((ca->lockfd = lock_dir(dir, cause)) == -1 ||
	    (certs = pki_read_certs(certf, NULL, cause)) == NULL ||
	    (ca->key = pki_read_key(keyf, cause)) == NULL)
		goto out;
	ca->cert = sk_X509_shift(certs);
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		*cause = xasprintf("the CA key %s does not match the CA "
		    "certificate %s", keyf, certf);
		goto out;
	}
	if (index_load(ca, cause) == -1)
		goto out;
	rv = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	free(certf);
	free(keyf);
	if (rv == -1) {
		tls_ca_free(ca);
		return NULL;
	}
	return ca;
}

X509 *
tls_ca_get0_cert(const struct tls_ca *ca)
{
	return ca->cert;
}

size_t
tls_ca_count(const struct tls_ca *ca)
{
	return ca->n;
}

const struct tls_ca_entry *
tls_ca_entry(const struct tls_ca *ca, size_t i)
{
	return i < ca->n ? &ca->v[i] : NULL;
}

/* The serial of x as upper-case hex, as the index keeps it. */
static char *
serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h, *out;

	if (bn == NULL || (h = BN_bn2hex(bn)) == NULL)
		fatal("out of memory");
	out = xstrdup(h);
	OPENSSL_free(h);
	BN_free(bn);
	return out;
}

/* The index entry whose serial equals hex (compared as numbers). */
static struct tls_ca_entry *
find_serial(struct tls_ca *ca, const char *hex)
{
	BIGNUM *want = NULL, *have = NULL;
	struct tls_ca_entry *e = NULL;
	size_t i;

	if (BN_hex2bn(&want, hex) == 0)
		return NULL;
	for (i = 0; i < ca->n && e == NULL; i++) {
		if (BN_hex2bn(&have, ca->v[i].serial) != 0 &&
		    BN_cmp(want, have) == 0)
			e = &ca->v[i];
		BN_free(have);
		have = NULL;
	}
	BN_free(want);
	return e;
}

X509 *
tls_ca_issue(struct tls_ca *ca, EVP_PKEY *pub, const struct tls_ca_profile *p,
    char **cause)
{
	X509 *x;
	char *hex;
	int tries;

	/* A repeated 127-bit random serial is all but impossible; checking
	 * costs nothing and keeps the index a set. */
	for (tries = 0; tries < 8; tries++) {
		if ((x = tls_ca_sign(ca->cert, ca->key, pub, p, cause)) == NULL)
			return NULL;
		hex = serial_hex(x);
		if (find_serial(ca, hex) == NULL) {
			free(hex);
			return x;
		}
		free(hex);
		X509_free(x);
	}
	*cause = xstrdup("cannot find an unused serial number");
	return NULL;
}

int
tls_ca_record(struct tls_ca *ca, X509 *x, char **cause)
{
	struct tls_ca_entry e;
	struct tm tm;

	memset(&e, 0, sizeof e);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		*cause = xstrdup("the certificate has an unreadable notAfter");
		return -1;
	}
	e.not_after = timegm(&tm);
	e.serial = serial_hex(x);
	e.subject = pki_name_line(X509_get_subject_name(x));
	ca->v = xreallocarray(ca->v, ca->n + 1, sizeof *ca->v);
	ca->v[ca->n++] = e;
	if (index_save(ca, cause) == -1) {
		entry_clear(&ca->v[--ca->n]);
		return -1;
	}
	return 0;
}

/* A serial as typed: hex digits, maybe with colons or a 0x prefix. */
static char *
clean_serial(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s)) {
			free(out);
			return NULL;
		}
		*o++ = (char)toupper((unsigned char)*s);
	}
	*o = '\0';
	if (o == out || o - out > 40) {
		free(out);
		return NULL;
	}
	return out;
}

int
tls_ca_revoke_serial(struct tls_ca *ca, const char *serial, int reason,
    const struct tls_ca_entry **ep, char **cause)
{
	struct tls_ca_entry *e;
	char *hex, *when;

	if ((hex = clean_serial(serial)) == NULL) {
		*cause = xasprintf("'%s' is not a serial number (hexadecimal, "
		    "as `sipedge-cert lab-ca list` shows it) nor a "
		    "certificate file", serial);
		return -1;
	}
	e = find_serial(ca, hex);
	free(hex);
	if (e == NULL) {
		*cause = xasprintf("no certificate with serial %s was issued by "
		    "the CA in %s", serial, ca->dir);
		return -1;
	}
	if (e->revoked_at != 0) {
		when = str_time_iso_dup(e->revoked_at);
		*cause = xasprintf("the certificate with serial %s (%s) was "
		    "already revoked at %s (%s)", e->serial, e->subject, when,
		    tls_ca_reason_name(e->reason));
		free(when);
		return -1;
	}
	e->revoked_at = time(NULL);
	e->reason = reason;
	if (index_save(ca, cause) == -1) {
		e->revoked_at = 0;
		e->reason = 0;
		return -1;
	}
	*ep = e;
	return 0;
}

int
tls_ca_revoke_cert(struct tls_ca *ca, X509 *x, const char *name, int reason,
    const struct tls_ca_entry **ep, char **cause)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca->cert);
	char *hex;
	int rv;

	if (X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca->cert)) != 0 || X509_verify(x, pub) != 1) {
		ERR_clear_error();
		*cause = xasprintf("%s was not issued by the CA in %s", name,
		    ca->dir);
		return -1;
	}
	hex = serial_hex(x);
	rv = tls_ca_revoke_serial(ca, hex, reason, ep, cause);
	free(hex);
	return rv;
}

/* The next CRL number, saved in the directory before it is used. */
static int
next_crl_number(struct tls_ca *ca, long *np, char **cause)
{
	char *path = path_in(ca->dir, TLS_CA_CRLNUMBER), *buf, *end, *text;
	long n = 0;
	size_t len;
	int rv = -1;

	if (access(path, F_OK) == 0) {
		if ((buf = pki_slurp(path, &len, cause)) == NULL)
			goto out;
		errno = 0;
		n = strtol(buf, &end, 10);
		while (*end == '\n' || *end == ' ')
			end++;
		if (errno != 0 || end == buf || *end != '\0' || n < 0 ||
		    n >= 0x7fffffffL) {
			*cause = xasprintf("%s does not hold a CRL number", path);
			free(buf);
			goto out;
		}
		free(buf);
	}
	text = xasprintf("%ld\n", n + 1);
	rv = file_write_atomic(path, text, strlen(text), 0644, cause);
	free(text);
	*np = n + 1;
out:
	free(path);
	return rv;
}

/* One revoked entry of a CRL. */
static X509_REVOKED *
crl_entry(const struct tls_ca_entry *e)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = ASN1_TIME_set(NULL, e->revoked_at);
	ASN1_ENUMERATED *why = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	if (r == NULL || t == NULL || BN_hex2bn(&bn, e->serial) == 0 ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_REVOKED_set_serialNumber(r, sn) != 1 ||
	    X509_REVOKED_set_revocationDate(r, t) != 1)
		goto out;
	/* RFC 5280 5.3.1: leave the reason out rather than say unspecified. */
	if (e->reason != CRL_REASON_UNSPECIFIED &&
	    ((why = ASN1_ENUMERATED_new()) == NULL ||
	    ASN1_ENUMERATED_set(why, e->reason) != 1 ||
	    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, why, 0, 0) != 1))
		goto out;
	ok = 1;
out:
	ASN1_ENUMERATED_free(why);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	BN_free(bn);
	if (!ok) {
		X509_REVOKED_free(r);
		return NULL;
	}
	return r;
}

X509_CRL *
tls_ca_make_crl(struct tls_ca *ca, int days, char **cause)
{
	X509_CRL *crl = NULL;
	X509_REVOKED *r;
	X509_EXTENSION *aki = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t = NULL;
	X509V3_CTX v3;
	char why[256];
	size_t i;
	long n;

	if (days < 1 || days > 3650) {
		*cause = xasprintf("a CRL valid for %d days is out of range (1 "
		    "to 3650)", days);
		return NULL;
	}
	if (next_crl_number(ca, &n, cause) == -1)
		return NULL;
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_gmtime_adj(t, 0) == NULL || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_gmtime_adj(t, days * 86400L) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto fail;
	for (i = 0; i < ca->n; i++) {
		if (ca->v[i].revoked_at == 0)
			continue;
		if ((r = crl_entry(&ca->v[i])) == NULL)
			goto fail;
		X509_CRL_add0_revoked(crl, r);
	}
	X509_CRL_sort(crl);
	X509V3_set_ctx(&v3, ca->cert, NULL, NULL, crl, 0);
	if ((num = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set(num, n) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    (aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier,
	    "keyid")) == NULL || X509_CRL_add_ext(crl, aki, -1) != 1)
		goto fail;
	if (X509_CRL_sign(crl, ca->key, EVP_sha256()) == 0)
		goto fail;
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_EXTENSION_free(aki);
	return crl;
fail:
	*cause = xasprintf("cannot build the CRL (%s)",
	    pki_ossl_reason(why, sizeof why));
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_EXTENSION_free(aki);
	X509_CRL_free(crl);
	return NULL;
}
