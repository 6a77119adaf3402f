/*
 * cert_install.c: sipedge-cert install CERT [--key KEY] [--chain FILE]
 * [--no-reload].  Puts a signed server certificate and its chain in place
 * (tls.certificate) with its private key (tls.private_key): the key of
 * the pending CSR, or --key when no CSR is pending.  Runs the daemon's own
 * identity checks first and writes nothing when one fails; keeps a copy of
 * what it replaces; then asks the running daemon to reload.
 *
 * Order of the writes, and why.  The daemon reads the certificate and the
 * key together (at start and reload), so no order avoids a moment where
 * they do not match; the order is chosen so that a crash in between leaves
 * something harmless and repairable:
 *   1. the backups: copies of the current certificate and key, each
 *      written atomically, next to them (server.pem.bak-20261126T170000Z);
 *   2. the key: on a first install a key without a certificate changes
 *      nothing (a default tls.certificate that does not exist means "not
 *      installed": the temporary certificate is used), where a certificate
 *      without its key would stop the next start;
 *   3. the certificate and chain: from here on the pair is complete;
 *   4. the pending CSR and key are removed, last, so that an install cut
 *      short can simply be run again.
 * When replacing, a crash between 2 and 3 leaves a key that does not match
 * the old certificate: a reload is refused (naming both files, the daemon
 * keeps serving) and `install` run again, or the backups, repair it.  A
 * failure to write the certificate puts the previous key back at once.
 *
 * install --temporary goes back to the temporary certificate of the first
 * start: a fresh one is made first (tls_temp_ensure), then the installed
 * certificate and key are moved aside (backed up, then removed, the
 * certificate first: a key alone is not used), then the daemon reloads.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "ctl/ctl_client.h"
#include "tls/tls_ca.h"
#include "tls/tls_check.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "util/diag.h"
#include "util/file.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define RELOAD_TIMEOUT_MS	10000

/* One file being replaced: where it goes and what was there. */
struct target {
	const char	*path;		/* tls.certificate or tls.private_key */
	mode_t		 mode;
	char		*old;		/* previous content, NULL: none */
	size_t		 oldlen;
	char		*backup;	/* where the previous content was saved */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: sipedge-cert install CERT [--key KEY] [--chain FILE] "
	    "[--no-reload]\n"
	    "       sipedge-cert install --temporary [--no-reload]\n");
}

/* Whether p is a default path whose file does not exist (not installed). */
static int
default_absent(const struct conf_path *p)
{
	struct stat st;

	return p->path == NULL || (CONF_PATH_IS_DEFAULT(p) &&
	    lstat(p->path, &st) == -1 && errno == ENOENT);
}

/* Append the certificates of add to chain, skipping ones already there. */
static void
merge_chain(STACK_OF(X509) *chain, STACK_OF(X509) *add)
{
	int i, j, dup;

	for (i = 0; i < sk_X509_num(add); i++) {
		X509 *x = sk_X509_value(add, i);

		for (dup = 0, j = 0; j < sk_X509_num(chain) && !dup; j++)
			dup = X509_cmp(sk_X509_value(chain, j), x) == 0;
		if (!dup && X509_up_ref(x) == 1)
			sk_X509_push(chain, x);
	}
}

/*
 * The key pair check: the first certificate of chain must be the one for
 * key.  Says which one is when it is elsewhere in CERT.
 */
static int
check_pair(STACK_OF(X509) *chain, EVP_PKEY *key, const char *cert_in,
    const char *key_in, int pending, const char *generated)
{
	int i, at = -1;

	if (X509_check_private_key(sk_X509_value(chain, 0), key) == 1)
		return 0;
	for (i = 1; i < sk_X509_num(chain) && at == -1; i++)
		if (X509_check_private_key(sk_X509_value(chain, i), key) == 1)
			at = i;
	ERR_clear_error();
	if (at != -1)
		cert_err("the certificate for the key %s is number %d in %s or "
		    "the chain, not the first: put the server certificate "
		    "first, then its chain", key_in, at + 1, cert_in);
	else if (pending)
		cert_err("%s does not belong to the pending CSR (generated at "
		    "%s): its public key is not the one of %s; was it issued "
		    "for another request?", cert_in, generated, key_in);
	else
		cert_err("the key in %s does not match the certificate in %s",
		    key_in, cert_in);
	return -1;
}

/*
 * Read what t->path holds now and save a copy next to it, named with the
 * time stamp (and a number when that name is taken).  Nothing to do when
 * there is no file.  -1 when it cannot be read or saved: nothing is
 * installed then.
 */
static int
backup(struct target *t, const char *stamp)
{
	struct stat st;
	char *cause = NULL;
	int i;

	if (lstat(t->path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		cert_err("cannot use %s: %s", t->path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return 0;	/* nothing worth keeping */
	if ((t->old = pki_slurp(t->path, &t->oldlen, &cause)) == NULL) {
		cert_err("cannot keep a copy of %s: %s; nothing was installed",
		    t->path, cause);
		free(cause);
		return -1;
	}
	t->backup = xasprintf("%s.bak-%s", t->path, stamp);
	for (i = 1; lstat(t->backup, &st) == 0 && i < 100; i++) {
		free(t->backup);
		t->backup = xasprintf("%s.bak-%s.%d", t->path, stamp, i);
	}
	if (file_write_atomic(t->backup, t->old, t->oldlen, t->mode,
	    &cause) == -1) {
		cert_err("cannot keep a copy of %s: %s; nothing was installed",
		    t->path, cause);
		free(cause);
		free(t->backup);
		t->backup = NULL;
		return -1;
	}
	return 0;
}

/* Put the previous content of t back (or remove t when there was none). */
static void
restore(const struct target *t)
{
	char *cause = NULL;

	if (t->old == NULL) {
		if (unlink(t->path) == -1 && errno != ENOENT)
			cert_err("cannot remove %s: %s; remove it by hand",
			    t->path, strerror(errno));
		return;
	}
	if (file_write_atomic(t->path, t->old, t->oldlen, t->mode,
	    &cause) == -1) {
		cert_err("cannot put the previous %s back: %s; copy %s to it",
		    t->path, cause, t->backup);
		free(cause);
	}
}

static void
target_clear(struct target *t)
{
	if (t->old != NULL)
		OPENSSL_cleanse(t->old, t->oldlen);
	free(t->old);
	free(t->backup);
}

/* How to go back to what was there before, for a refused reload. */
static void
print_rollback(const struct target *cert, const struct target *key)
{
	const struct target *v[2] = { cert, key };
	int i;

	fprintf(stderr, "sipedge-cert: the new files stay installed; to go "
	    "back to the previous ones:\n");
	for (i = 0; i < 2; i++) {
		if (v[i]->backup != NULL)
			fprintf(stderr, "  mv %s %s\n", v[i]->backup,
			    v[i]->path);
		else if (access(v[i]->path, F_OK) == 0)
			fprintf(stderr, "  rm %s\n", v[i]->path);
	}
}

/* Print each line of text on f, indented. */
static void
print_lines(FILE *f, const char *text)
{
	const char *p = text, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		fprintf(f, "  %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/*
 * Ask the daemon to reload and report.  CERT_OK when it reloaded or is
 * not running (the files are used at its next start), CERT_FAIL when it
 * refused or could not be asked.
 */
static int
ask_reload(const struct conf *c, const struct target *cert,
    const struct target *key)
{
	char *reply = NULL, *cause = NULL;
	int rv, err;

	if (c->control_socket.path == NULL) {
		printf("no daemon.control_socket: reload sipedged to use the "
		    "new certificate\n");
		return CERT_OK;
	}
	rv = ctl_request(c->control_socket.path, "reload", RELOAD_TIMEOUT_MS,
	    &reply, &cause);
	err = errno;
	switch (rv) {
	case 0:
		printf("sipedged reloaded: ok\n");
		print_lines(stdout, reply);
		free(reply);
		return CERT_OK;
	case 1:
		cert_err("sipedged refused the reload and keeps serving the "
		    "previous certificate:");
		print_lines(stderr, reply);
		print_rollback(cert, key);
		free(reply);
		return CERT_FAIL;
	}
	if (err == ENOENT || err == ECONNREFUSED) {
		printf("sipedged is not running; the certificate is used at its "
		    "next start\n");
		free(cause);
		return CERT_OK;
	}
	cert_err("%s; the certificate is installed but sipedged was not "
	    "reloaded: reload it (SIGHUP) to use it", cause);
	free(cause);
	return CERT_FAIL;
}

/* One install: what was asked, what was read, what is replaced. */
struct install {
	struct conf	*c;
	const char	*cert_in, *key_in, *chain_in;
	const char	*key_from;	/* the pending key or key_in */
	int		 no_reload, temporary, pending;
	char		*csr_path, *pkey_path;	/* the pending CSR's files */
	char		*generated;	/* when the pending CSR was made */
	STACK_OF(X509)	*chain, *trust;
	EVP_PKEY	*pkey;
	struct target	 cert, key;
	time_t		 now;
	char		 stamp[64];	/* of the backups */
};

/* The command line into in: -1 to go on, or the exit status. */
static int
parse_args(struct install *in, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "chain", required_argument, NULL, 'C' },
		{ "no-reload", no_argument, NULL, 'n' },
		{ "temporary", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': in->key_in = optarg; break;
		case 'C': in->chain_in = optarg; break;
		case 'n': in->no_reload = 1; break;
		case 't': in->temporary = 1; break;
		case 'h':
			usage(stdout);
			return CERT_OK;
		default:
			usage(stderr);
			return CERT_USAGE;
		}
	}
	if (in->temporary && (optind != argc || in->key_in != NULL ||
	    in->chain_in != NULL))
		return cert_usage_error(usage, "install --temporary takes no "
		    "CERT, --key or --chain: it makes a new temporary "
		    "certificate");
	if (!in->temporary && optind != argc - 1) {
		usage(stderr);
		return CERT_USAGE;
	}
	in->cert_in = in->temporary ? NULL : argv[optind];
	return -1;
}

/* Whose key: the pending CSR's, or --key.  0, or -1 after a message. */
static int
pick_key(struct install *in)
{
	struct stat st_csr, st_key;
	int have_csr, have_key;

	in->csr_path = xasprintf("%s/csr/pending.csr", in->c->state_dir.path);
	in->pkey_path = xasprintf("%s/csr/pending.key", in->c->state_dir.path);
	have_csr = lstat(in->csr_path, &st_csr) == 0;
	have_key = lstat(in->pkey_path, &st_key) == 0;
	in->pending = have_csr || have_key;
	if (in->pending)
		in->generated = str_time_iso_dup(have_csr ? st_csr.st_mtime :
		    st_key.st_mtime);
	if (in->pending && in->key_in != NULL) {
		cert_err("a CSR is pending (%s, generated at %s): its key is "
		    "used; discard it with `sipedge-cert csr discard` to "
		    "install a separate key", have_csr ? in->csr_path :
		    in->pkey_path, in->generated);
		return -1;
	}
	if (in->pending && !have_key) {
		cert_err("the pending CSR %s (generated at %s) has no key: %s "
		    "is missing; make a new CSR with `sipedge-cert csr new "
		    "--replace`, or discard it with `sipedge-cert csr discard` "
		    "and give the key with --key", in->csr_path, in->generated,
		    in->pkey_path);
		return -1;
	}
	if (!in->pending && in->key_in == NULL) {
		cert_err("no CSR is pending (%s does not exist): give the "
		    "certificate's private key with --key KEY", in->csr_path);
		return -1;
	}
	in->key_from = in->pending ? in->pkey_path : in->key_in;
	return 0;
}

/* Read everything; any unreadable file stops here.  0, or -1. */
static int
read_inputs(struct install *in)
{
	STACK_OF(X509) *more;
	char *cause = NULL;

	if ((in->chain = pki_read_certs(in->cert_in, NULL, &cause)) == NULL)
		goto fail;
	if (in->chain_in != NULL) {
		if ((more = pki_read_certs(in->chain_in, NULL, &cause)) == NULL)
			goto fail;
		merge_chain(in->chain, more);
		sk_X509_pop_free(more, X509_free);
	}
	if ((in->pkey = pki_read_key(in->key_from, &cause)) == NULL)
		goto fail;
	if (check_pair(in->chain, in->pkey, in->cert_in, in->key_from,
	    in->pending, in->generated) == -1)
		return -1;
	if (!default_absent(&in->c->tls_trust) && (in->trust = pki_read_certs(
	    in->c->tls_trust.path, NULL, &cause)) == NULL) {
		cert_err("tls.trust: %s; fix the trust list first (the daemon "
		    "would refuse it at the reload)", cause);
		free(cause);
		return -1;
	}
	return 0;
fail:
	cert_err("%s", cause);
	free(cause);
	return -1;
}

/* The daemon's own checks of the new identity.  0, or -1 (all printed). */
static int
run_checks(struct install *in)
{
	struct diaglist dl = { 0 };
	struct tls_check_input ci;
	size_t i;
	int rv = 0;

	memset(&ci, 0, sizeof ci);
	ci.chain = in->chain;
	ci.key = in->pkey;
	ci.trust = in->trust;		/* NULL: no trust list installed */
	ci.trust_file = in->trust != NULL ? in->c->tls_trust.path : NULL;
	ci.cert_file = in->cert_in;
	ci.key_file = in->key_from;
	ci.now = in->now;
	tls_check_identity(in->c, &ci, &dl);
	for (i = 0; i < dl.n; i++)
		fprintf(stderr, "%s\n", dl.v[i].text);
	if (dl.nerrors > 0) {
		cert_err("%s was not installed: %zu error%s above; nothing was "
		    "written", in->cert_in, dl.nerrors, dl.nerrors == 1 ? "" :
		    "s");
		rv = -1;
	}
	diag_clear(&dl);
	return rv;
}

/* The directories of the certificate and key, then the backups. */
static int
prepare(struct install *in)
{
	char *dir, *slash, *cause = NULL;
	int i;

	for (i = 0; i < 2; i++) {
		dir = xstrdup(i == 0 ? in->cert.path : in->key.path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (file_mkdir_p(dir, 0755, &cause) == -1) {
				cert_err("%s; nothing was installed", cause);
				free(cause);
				free(dir);
				return -1;
			}
		}
		free(dir);
	}
	if (backup(&in->cert, in->stamp) == -1 ||
	    backup(&in->key, in->stamp) == -1)
		return -1;
	return 0;
}

/* The key, then the certificate (see the top of the file); then the
 * pending CSR is done.  0, or -1 after a message. */
static int
write_files(struct install *in)
{
	char *cause = NULL;
	const char *done[2] = { in->pkey_path, in->csr_path };
	int i;

	if (pki_write_key(in->key.path, in->pkey, &cause) == -1) {
		cert_err("%s; nothing was installed", cause);
		free(cause);
		return -1;
	}
	if (pki_write_certs(in->cert.path, in->chain, &cause) == -1) {
		cert_err("%s; nothing was installed (the previous key is put "
		    "back)", cause);
		free(cause);
		restore(&in->key);
		return -1;
	}
	for (i = 0; in->pending && i < 2; i++)
		if (unlink(done[i]) == -1 && errno != ENOENT)
			cert_err("warning: cannot remove %s: %s; remove it with "
			    "`sipedge-cert csr discard`", done[i],
			    strerror(errno));
	return 0;
}

/* What was installed and what was kept. */
static void
report(struct install *in)
{
	X509 *leaf = sk_X509_value(in->chain, 0);
	char *s1 = pki_name_line(X509_get_subject_name(leaf));
	char *s2 = pki_time_iso(X509_get0_notAfter(leaf));
	char more[64] = "";
	int n = sk_X509_num(in->chain);

	if (n > 1)
		snprintf(more, sizeof more, ", with %d chain certificate%s",
		    n - 1, n == 2 ? "" : "s");
	printf("installed %s as %s (%s, expires %s%s)\n", in->cert_in,
	    in->cert.path, s1, s2, more);
	printf("installed the key %s as %s\n", in->pending ?
	    "of the pending CSR" : in->key_in, in->key.path);
	free(s1);
	free(s2);
	if (in->cert.backup != NULL)
		printf("previous certificate saved as %s\n", in->cert.backup);
	if (in->key.backup != NULL)
		printf("previous key saved as %s\n", in->key.backup);
	if (in->pending)
		printf("the pending CSR is done: %s removed\n", in->csr_path);
	fflush(stdout);
}

/* Reload the daemon, unless --no-reload; the exit status. */
static int
finish(struct install *in, const char *what)
{
	if (in->no_reload) {
		printf("sipedged was not asked to reload (--no-reload); %s is "
		    "used at its next reload or start\n", what);
		return CERT_OK;
	}
	return ask_reload(in->c, &in->cert, &in->key);
}

/* Free what an install holds. */
static void
install_clear(struct install *in)
{
	sk_X509_pop_free(in->chain, X509_free);
	sk_X509_pop_free(in->trust, X509_free);
	EVP_PKEY_free(in->pkey);
	target_clear(&in->cert);
	target_clear(&in->key);
	free(in->csr_path);
	free(in->pkey_path);
	free(in->generated);
}

/*
 * install --temporary: a new temporary server certificate, made as at the
 * first start, then the installed certificate and key moved aside (kept
 * as backups) so that the daemon falls back to the temporary one.
 * Refused when tls.certificate is set: the daemon uses the temporary
 * certificate only while the default certificate file does not exist.
 */
static int
make_temporary(struct install *in)
{
	const struct conf *c = in->c;
	char where[256], *srv, *key, *cause = NULL;

	if (!CONF_PATH_IS_DEFAULT(&c->tls_certificate)) {
		cert_err("tls.certificate is set (%s): sipedged uses the "
		    "temporary certificate only when it is not; remove "
		    "tls.certificate and tls.private_key from the "
		    "configuration, then run install --temporary again",
		    conf_loc_str(&c->tls_certificate.loc, where, sizeof where));
		return -1;
	}
	/* A fresh server certificate; the temporary CA is kept while it is
	 * valid, so peers that trust it keep trusting this node. */
	srv = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_CERT);
	key = xasprintf("%s/%s", c->state_dir.path, TLS_TEMP_KEY);
	unlink(srv);
	unlink(key);
	free(srv);
	free(key);
	if (tls_temp_ensure(c->state_dir.path, c->fqdn, c->aliases.v,
	    c->aliases.n, &cause) == -1) {
		cert_err("%s; the installed certificate was not changed",
		    cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Move the installed certificate, then its key, aside (0, or -1). */
static int
move_aside(struct install *in)
{
	struct target *v[2] = { &in->cert, &in->key };
	int i;

	/* The certificate first: without it the key is not used. */
	for (i = 0; i < 2; i++) {
		if (backup(v[i], in->stamp) == -1)
			return -1;
		if (v[i]->backup != NULL && unlink(v[i]->path) == -1 &&
		    errno != ENOENT) {
			cert_err("cannot remove %s: %s (a copy is in %s)",
			    v[i]->path, strerror(errno), v[i]->backup);
			return -1;
		}
	}
	return 0;
}

/* What install --temporary did, and the way back. */
static void
report_temporary(const struct install *in)
{
	char *srvf = xasprintf("%s/%s", in->c->state_dir.path, TLS_TEMP_CERT);
	char *caf = xasprintf("%s/%s", in->c->state_dir.path, TLS_TEMP_CA_CERT);
	STACK_OF(X509) *x;
	char *cause = NULL, *s1, *s2;

	if ((x = pki_read_certs(srvf, NULL, &cause)) != NULL) {
		s1 = pki_name_line(X509_get_subject_name(sk_X509_value(x, 0)));
		s2 = pki_time_iso(X509_get0_notAfter(sk_X509_value(x, 0)));
		printf("made a new temporary certificate %s (%s, expires %s), "
		    "issued by the temporary CA %s\n", srvf, s1, s2, caf);
		free(s1);
		free(s2);
		sk_X509_pop_free(x, X509_free);
	}
	free(cause);
	if (in->cert.backup != NULL)
		printf("the installed certificate %s was moved to %s\n",
		    in->cert.path, in->cert.backup);
	if (in->key.backup != NULL)
		printf("the installed key %s was moved to %s\n", in->key.path,
		    in->key.backup);
	if (in->cert.backup == NULL)
		printf("no certificate was installed (%s does not exist): the "
		    "temporary certificate was in use already\n", in->cert.path);
	else
		printf("to go back: sipedge-cert install %s --key %s\n",
		    in->cert.backup, in->key.backup != NULL ? in->key.backup :
		    "KEY");
	printf("peers that verify this node must trust %s\n", caf);
	fflush(stdout);
	free(srvf);
	free(caf);
}

/* install --temporary: the exit status. */
static int
install_temporary(struct install *in)
{
	if (make_temporary(in) == -1 || move_aside(in) == -1)
		return CERT_FAIL;
	report_temporary(in);
	return finish(in, "the temporary certificate");
}

int
cert_cmd_install(struct cert_env *env, int argc, char **argv)
{
	struct install in;
	int rv;

	memset(&in, 0, sizeof in);
	in.cert.mode = 0644;
	in.key.mode = 0600;
	if ((rv = parse_args(&in, argc, argv)) != -1)
		return rv;
	if ((in.c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	in.cert.path = in.c->tls_certificate.path;
	in.key.path = in.c->tls_private_key.path;
	in.now = time(NULL);
	strftime(in.stamp, sizeof in.stamp, "%Y%m%dT%H%M%SZ",
	    gmtime(&in.now));
	if (in.temporary)
		rv = install_temporary(&in);
	else if (pick_key(&in) == -1 || read_inputs(&in) == -1 ||
	    run_checks(&in) == -1 || prepare(&in) == -1 ||
	    write_files(&in) == -1)
		rv = CERT_FAIL;
	else {
		report(&in);
		rv = finish(&in, "the certificate");
	}
	install_clear(&in);
	return rv;
}
