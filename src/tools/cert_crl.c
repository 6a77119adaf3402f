/*
 * cert_crl.c: sipedge-cert crl: import and remove the manual CRL
 * (revocation.manual_crl) and list every CRL sipedged reads from files:
 * the manual one, those kept in the trust file and those it downloaded.
 * The manual CRL is replaced in one atomic rename; a CRL that does not
 * parse never replaces it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls/tls_pki.h"
#include "tls/tls_rev.h"
#include "tools/cert.h"
#include "util/xmalloc.h"

/* The usage of the crl command. */
static void
crl_usage(FILE *f)
{
	fprintf(f, "usage: sipedge-cert crl import FILE\n"
	    "       sipedge-cert crl remove\n"
	    "       sipedge-cert crl list\n");
}

/* Number of revoked certificates a CRL lists. */
static int
crl_entries(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *r = X509_CRL_get_REVOKED(crl);

	return r != NULL ? sk_X509_REVOKED_num(r) : 0;
}

/* Whether the CRL is past its nextUpdate (one without it never expires). */
static int
crl_expired(X509_CRL *crl)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

	return next != NULL && X509_cmp_current_time(next) < 0;
}

/* nextUpdate as ISO text, "-" when the CRL has none. */
static char *
crl_next(X509_CRL *crl)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

	return next != NULL ? pki_time_iso(next) : xstrdup("-");
}

/* --- crl import ----------------------------------------------------- */

/* crl import: check FILE, warn, then replace the manual CRL. */
static int
crl_import(struct conf *c, const char *file)
{
	STACK_OF(X509_CRL) *crls;
	struct cert_trust t;
	const char *path = c->manual_crl.path;
	char *cause = NULL, *iss, *this, *next, *why;
	int i, existed, checked, rv;

	if ((crls = pki_read_crls(file, &cause)) == NULL) {
		cert_err("%s; the manual CRL was not changed", cause);
		free(cause);
		return CERT_FAIL;
	}
	if ((checked = cert_trust_load(c, &t, &cause)) == -1) {
		cert_err("warning: cannot check the CRL against the trust "
		    "list: %s", cause);
		free(cause);
		cause = NULL;
	}
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);

		iss = pki_name_line(X509_CRL_get_issuer(crl));
		if (crl_expired(crl)) {
			next = crl_next(crl);
			cert_err("warning: %s: the CRL of %s expired at %s "
			    "(nextUpdate); sipedged treats every certificate of "
			    "that CA as revoked until a fresh CRL is imported",
			    file, iss, next);
			free(next);
		}
		if (X509_cmp_current_time(X509_CRL_get0_lastUpdate(crl)) > 0) {
			this = pki_time_iso(X509_CRL_get0_lastUpdate(crl));
			cert_err("warning: %s: the CRL of %s is dated in the "
			    "future (thisUpdate %s); check the clocks", file,
			    iss, this);
			free(this);
		}
		if (checked == 0 &&
		    (why = cert_trust_crl_problem(&t, crl)) != NULL) {
			cert_err("warning: %s: sipedged cannot use the CRL of "
			    "%s: %s; it is installed anyway, for when that CA "
			    "is trusted", file, iss, why);
			free(why);
		}
		free(iss);
	}
	existed = access(path, F_OK) == 0;
	if (cert_trust_write(path, NULL, crls, &cause) == -1) {
		cert_err("%s; the manual CRL was not changed", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	printf("Imported %d CRL%s from %s as the manual CRL %s%s:\n",
	    sk_X509_CRL_num(crls), sk_X509_CRL_num(crls) == 1 ? "" : "s", file,
	    path, existed ? " (replacing the previous one)" : "");
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);

		iss = pki_name_line(X509_CRL_get_issuer(crl));
		this = pki_time_iso(X509_CRL_get0_lastUpdate(crl));
		next = crl_next(crl);
		printf("  issuer %s, thisUpdate %s, nextUpdate %s, %d entr%s\n",
		    iss, this, next, crl_entries(crl),
		    crl_entries(crl) == 1 ? "y" : "ies");
		free(iss);
		free(this);
		free(next);
	}
	rv = cert_trust_reload(c);
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	cert_trust_clear(&t);
	return rv;
}

/* --- crl remove ----------------------------------------------------- */

/* crl remove: delete the manual CRL. */
static int
crl_remove(struct conf *c)
{
	const char *path = c->manual_crl.path;

	if (unlink(path) == -1) {
		if (errno == ENOENT)
			cert_err("there is no manual CRL to remove: %s does not "
			    "exist", path);
		else
			cert_err("cannot remove the manual CRL %s: %s", path,
			    strerror(errno));
		return CERT_FAIL;
	}
	printf("Removed the manual CRL %s.\n", path);
	return cert_trust_reload(c);
}

/* --- crl list ------------------------------------------------------- */

struct crl_row {
	X509_CRL	*crl;
	const char	*source;	/* manual, trust file, downloaded */
	char		*file;
};

struct crl_rows {
	struct crl_row	*v;
	size_t		 n;
};

/* Add every CRL of crls (references taken) from file. */
static void
rows_add(struct crl_rows *rows, STACK_OF(X509_CRL) *crls, const char *source,
    const char *file)
{
	int i;

	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);

		rows->v = xreallocarray(rows->v, rows->n + 1, sizeof *rows->v);
		X509_CRL_up_ref(crl);
		rows->v[rows->n].crl = crl;
		rows->v[rows->n].source = source;
		rows->v[rows->n].file = xstrdup(file);
		rows->n++;
	}
}

/* qsort comparison of two strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The *.crl files of the download cache, sorted; their count in *np.
 * NULL with *np 0 when the directory does not exist.
 */
static char **
cache_files(const char *dir, size_t *np)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, l;
	DIR *d;

	*np = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l <= 4 || strcmp(de->d_name + l - 4, ".crl") != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, cmp_str);
	*np = n;
	return v;
}

/* The manual CRL's rows; CERT_OK or CERT_FAIL (unreadable, said). */
static int
list_manual(const struct conf *c, struct crl_rows *rows)
{
	STACK_OF(X509_CRL) *crls;
	struct stat st;
	char *cause = NULL;

	if (lstat(c->manual_crl.path, &st) == -1 && errno == ENOENT) {
		printf("Manual CRL:  none (%s does not exist)\n",
		    c->manual_crl.path);
		return CERT_OK;
	}
	if ((crls = pki_read_crls(c->manual_crl.path, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_FAIL;
	}
	printf("Manual CRL:  %s (%d)\n", c->manual_crl.path,
	    sk_X509_CRL_num(crls));
	rows_add(rows, crls, "manual", c->manual_crl.path);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return CERT_OK;
}

/* The rows of the CRLs sipedged downloaded; CERT_OK or CERT_FAIL. */
static int
list_downloaded(const struct conf *c, struct crl_rows *rows)
{
	STACK_OF(X509_CRL) *crls;
	struct stat st;
	char *cause = NULL, *dir, **files;
	size_t i, nfiles;
	int rv = CERT_OK;

	dir = tls_rev_dp_cache_dir(c);
	files = cache_files(dir, &nfiles);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		printf("Downloaded:  %s (%zu file%s)\n", dir, nfiles,
		    nfiles == 1 ? "" : "s");
	for (i = 0; i < nfiles; i++) {
		if ((crls = pki_read_crls(files[i], &cause)) == NULL) {
			cert_err("%s", cause);
			free(cause);
			cause = NULL;
			rv = CERT_FAIL;
		} else {
			rows_add(rows, crls, "downloaded", files[i]);
			sk_X509_CRL_pop_free(crls, X509_CRL_free);
		}
		free(files[i]);
	}
	free(files);
	free(dir);
	return rv;
}

/* The table of every CRL found. */
static void
print_rows(const struct crl_rows *rows)
{
	char *iss, *this, *next;
	size_t i;

	if (rows->n == 0) {
		printf("\nNo CRLs.\n");
		return;
	}
	printf("\n%-10s  %-20s  %-20s  %7s  %-7s  %s\n", "SOURCE",
	    "THIS UPDATE", "NEXT UPDATE", "ENTRIES", "EXPIRED", "ISSUER");
	for (i = 0; i < rows->n; i++) {
		X509_CRL *crl = rows->v[i].crl;

		iss = pki_name_line(X509_CRL_get_issuer(crl));
		this = pki_time_iso(X509_CRL_get0_lastUpdate(crl));
		next = crl_next(crl);
		printf("%-10s  %-20s  %-20s  %7d  %-7s  %s\n",
		    rows->v[i].source, this, next, crl_entries(crl),
		    crl_expired(crl) ? "yes" : "no", iss);
		free(iss);
		free(this);
		free(next);
	}
}

/* What the table cannot show: CRLs sipedged will not be able to use. */
static void
warn_unusable(const struct cert_trust *t, const struct crl_rows *rows)
{
	char *iss, *why;
	size_t i;

	for (i = 0; i < rows->n; i++) {
		if ((why = cert_trust_crl_problem(t, rows->v[i].crl)) == NULL)
			continue;
		iss = pki_name_line(X509_CRL_get_issuer(rows->v[i].crl));
		cert_err("warning: %s: sipedged cannot use the CRL of %s: %s",
		    rows->v[i].file, iss, why);
		free(iss);
		free(why);
	}
}

/* crl list: every CRL sipedged reads from files, as a table. */
static int
crl_list(struct conf *c)
{
	struct crl_rows rows = { NULL, 0 };
	struct cert_trust t;
	char *cause = NULL;
	size_t i;
	int rv, checked;

	rv = list_manual(c, &rows);
	/* CRLs kept in the trust file. */
	if ((checked = cert_trust_load(c, &t, &cause)) == -1) {
		cert_err("%s", cause);
		free(cause);
		rv = CERT_FAIL;
	} else if (t.is_default || t.missing)
		printf("Trust file:  none (%s does not exist)\n", t.path);
	else {
		printf("Trust file:  %s (%d)\n", t.path,
		    sk_X509_CRL_num(t.crls));
		rows_add(&rows, t.crls, "trust file", t.path);
	}
	if (list_downloaded(c, &rows) != CERT_OK)
		rv = CERT_FAIL;
	print_rows(&rows);
	if (checked == 0)
		warn_unusable(&t, &rows);
	for (i = 0; i < rows.n; i++) {
		X509_CRL_free(rows.v[i].crl);
		free(rows.v[i].file);
	}
	free(rows.v);
	cert_trust_clear(&t);
	ERR_clear_error();
	return rv;
}

/* --- dispatch ------------------------------------------------------- */

/* sipedge-cert crl: check the arguments, then run the command. */
int
cert_cmd_crl(struct cert_env *env, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	struct conf *c;

	if (sub == NULL)
		return cert_usage_error(crl_usage, "crl: which command? import, remove or list");
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		crl_usage(stdout);
		return CERT_OK;
	}
	/* Check the arguments before reading the configuration. */
	if (strcmp(sub, "import") == 0) {
		if (argc != 3 || argv[2][0] == '-')
			return cert_usage_error(crl_usage, "crl import takes one FILE");
	} else if (strcmp(sub, "remove") == 0 || strcmp(sub, "list") == 0) {
		if (argc != 2)
			return cert_usage_error(crl_usage, "crl %s takes no arguments", sub);
	} else
		return cert_usage_error(crl_usage, "crl: unknown command '%s'", sub);

	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	if (strcmp(sub, "import") == 0)
		return crl_import(c, argv[2]);
	if (strcmp(sub, "remove") == 0)
		return crl_remove(c);
	return crl_list(c);
}
