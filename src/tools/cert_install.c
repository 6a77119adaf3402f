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
	    "[--no-reload]\n");
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
		else
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

int
cert_cmd_install(struct cert_env *env, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "chain", required_argument, NULL, 'C' },
		{ "no-reload", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct target cert = { NULL, 0644, NULL, 0, NULL };
	struct target key = { NULL, 0600, NULL, 0, NULL };
	const char *cert_in, *key_in = NULL, *chain_in = NULL, *key_from;
	char *csr_path = NULL, *pkey_path = NULL, *generated = NULL;
	char *cause = NULL, *dir, *slash, *s1, *s2, stamp[64];
	STACK_OF(X509) *chain = NULL, *more = NULL, *trust = NULL;
	EVP_PKEY *pkey = NULL;
	struct diaglist dl = { 0 };
	struct tls_check_input in;
	struct stat st_csr, st_key;
	int ch, no_reload = 0, pending, have_csr, have_key, rv = CERT_FAIL;
	struct conf *c;
	size_t i;
	time_t now;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			key_in = optarg;
			break;
		case 'C':
			chain_in = optarg;
			break;
		case 'n':
			no_reload = 1;
			break;
		case 'h':
			usage(stdout);
			return CERT_OK;
		default:
			usage(stderr);
			return CERT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CERT_USAGE;
	}
	cert_in = argv[optind];
	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	cert.path = c->tls_certificate.path;
	key.path = c->tls_private_key.path;

	/* Whose key: the pending CSR's, or --key. */
	csr_path = xasprintf("%s/csr/pending.csr", c->state_dir.path);
	pkey_path = xasprintf("%s/csr/pending.key", c->state_dir.path);
	have_csr = lstat(csr_path, &st_csr) == 0;
	have_key = lstat(pkey_path, &st_key) == 0;
	pending = have_csr || have_key;
	if (pending)
		generated = str_time_iso_dup(have_csr ? st_csr.st_mtime :
		    st_key.st_mtime);
	if (pending && key_in != NULL) {
		cert_err("a CSR is pending (%s, generated at %s): its key is "
		    "used; discard it with `sipedge-cert csr discard` to "
		    "install a separate key", have_csr ? csr_path : pkey_path,
		    generated);
		goto out;
	}
	if (pending && !have_key) {
		cert_err("the pending CSR %s (generated at %s) has no key: %s "
		    "is missing; make a new CSR with `sipedge-cert csr new "
		    "--replace`, or discard it with `sipedge-cert csr discard` "
		    "and give the key with --key", csr_path, generated,
		    pkey_path);
		goto out;
	}
	if (!pending && key_in == NULL) {
		cert_err("no CSR is pending (%s does not exist): give the "
		    "certificate's private key with --key KEY", csr_path);
		goto out;
	}
	key_from = pending ? pkey_path : key_in;

	/* Read everything; any unreadable file stops here. */
	if ((chain = pki_read_certs(cert_in, NULL, &cause)) == NULL) {
		cert_err("%s", cause);
		goto out;
	}
	if (chain_in != NULL) {
		if ((more = pki_read_certs(chain_in, NULL, &cause)) == NULL) {
			cert_err("%s", cause);
			goto out;
		}
		merge_chain(chain, more);
	}
	if ((pkey = pki_read_key(key_from, &cause)) == NULL) {
		cert_err("%s", cause);
		goto out;
	}
	if (check_pair(chain, pkey, cert_in, key_from, pending, generated) == -1)
		goto out;
	if (!default_absent(&c->tls_trust)) {
		if ((trust = pki_read_certs(c->tls_trust.path, NULL,
		    &cause)) == NULL) {
			cert_err("tls.trust: %s; fix the trust list first (the "
			    "daemon would refuse it at the reload)", cause);
			goto out;
		}
	}

	/* The daemon's own checks. */
	now = time(NULL);
	memset(&in, 0, sizeof in);
	in.chain = chain;
	in.key = pkey;
	in.trust = trust;		/* NULL: no trust list installed */
	in.trust_file = trust != NULL ? c->tls_trust.path : NULL;
	in.cert_file = cert_in;
	in.key_file = key_from;
	in.now = now;
	tls_check_identity(c, &in, &dl);
	for (i = 0; i < dl.n; i++)
		fprintf(stderr, "%s\n", dl.v[i].text);
	if (dl.nerrors > 0) {
		cert_err("%s was not installed: %zu error%s above; nothing was "
		    "written", cert_in, dl.nerrors, dl.nerrors == 1 ? "" : "s");
		goto out;
	}

	/* Directories, then the backups; nothing is replaced yet. */
	for (i = 0; i < 2; i++) {
		dir = xstrdup(i == 0 ? cert.path : key.path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (file_mkdir_p(dir, 0755, &cause) == -1) {
				cert_err("%s; nothing was installed", cause);
				free(dir);
				goto out;
			}
		}
		free(dir);
	}
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
	if (backup(&cert, stamp) == -1 || backup(&key, stamp) == -1)
		goto out;

	/* The key, then the certificate (see the top of the file). */
	if (pki_write_key(key.path, pkey, &cause) == -1) {
		cert_err("%s; nothing was installed", cause);
		goto out;
	}
	if (pki_write_certs(cert.path, chain, &cause) == -1) {
		cert_err("%s; nothing was installed (the previous key is put "
		    "back)", cause);
		restore(&key);
		goto out;
	}
	if (pending) {
		if (unlink(pkey_path) == -1 && errno != ENOENT)
			cert_err("warning: cannot remove %s: %s; remove it with "
			    "`sipedge-cert csr discard`", pkey_path,
			    strerror(errno));
		if (unlink(csr_path) == -1 && errno != ENOENT)
			cert_err("warning: cannot remove %s: %s; remove it with "
			    "`sipedge-cert csr discard`", csr_path,
			    strerror(errno));
	}

	s1 = pki_name_line(X509_get_subject_name(sk_X509_value(chain, 0)));
	s2 = pki_time_iso(X509_get0_notAfter(sk_X509_value(chain, 0)));
	if (sk_X509_num(chain) > 1)
		snprintf(stamp, sizeof stamp, ", with %d chain certificate%s",
		    sk_X509_num(chain) - 1, sk_X509_num(chain) == 2 ? "" : "s");
	else
		stamp[0] = '\0';
	printf("installed %s as %s (%s, expires %s%s)\n", cert_in, cert.path,
	    s1, s2, stamp);
	printf("installed the key %s as %s\n", pending ? "of the pending CSR" :
	    key_in, key.path);
	free(s1);
	free(s2);
	if (cert.backup != NULL)
		printf("previous certificate saved as %s\n", cert.backup);
	if (key.backup != NULL)
		printf("previous key saved as %s\n", key.backup);
	if (pending)
		printf("the pending CSR is done: %s removed\n", csr_path);
	fflush(stdout);

	if (no_reload) {
		printf("sipedged was not asked to reload (--no-reload); the "
		    "certificate is used at its next reload or start\n");
		rv = CERT_OK;
	} else
		rv = ask_reload(c, &cert, &key);
out:
	diag_clear(&dl);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(more, X509_free);
	sk_X509_pop_free(trust, X509_free);
	EVP_PKEY_free(pkey);
	target_clear(&cert);
	target_clear(&key);
	free(csr_path);
	free(pkey_path);
	free(generated);
	free(cause);
	return rv;
}
