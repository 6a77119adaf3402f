/*
 * cert_csr.c: sipedge-cert csr new|show|discard.  One certificate signing
 * request may be pending at a time: <state_dir>/csr/pending.csr with its
 * key pending.key (mode 0600), until `install` consumes them or `csr
 * discard` deletes them.  The key is never printed; the request is, so it
 * can be pasted into a CA's web form.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "tls/tls_check.h"
#include "tls/tls_csr.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "util/file.h"
#include "util/name.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Where the pending request lives. */
struct pending {
	char	*dir;
	char	*csr;
	char	*key;
};

/* subjectAltName entries in canonical form, in order, without repeats. */
struct names {
	char	**v;
	size_t	  n;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sipedge-cert [-c FILE] csr new [--key %s]\n"
	    "           [--c XX] [--st STATE] [--l LOCALITY] [--o ORG] "
	    "[--ou UNIT] [--cn NAME]\n"
	    "           [--email ADDRESS] [--san TYPE:VALUE]... [--replace]\n"
	    "       sipedge-cert [-c FILE] csr show [--pem]\n"
	    "       sipedge-cert [-c FILE] csr discard\n", TLS_CSR_KEY_WORDS);
}

static void
pending_paths(struct conf *c, struct pending *p)
{
	p->dir = xasprintf("%s/%s", c->state_dir.path, TLS_CSR_DIR);
	p->csr = xasprintf("%s/%s", p->dir, TLS_CSR_FILE);
	p->key = xasprintf("%s/%s", p->dir, TLS_CSR_KEY);
}

static void
pending_free(struct pending *p)
{
	free(p->dir);
	free(p->csr);
	free(p->key);
}

/* "sipedge-cert" or "sipedge-cert -c FILE", for commands we suggest. */
static char *
self_cmd(const struct cert_env *env)
{
	if (env->conf_given)
		return xasprintf("sipedge-cert -c %s", env->conf_path);
	return xstrdup("sipedge-cert");
}

/* The sentence for "no request pending"; always CERT_FAIL. */
static int
none_pending(const struct cert_env *env, const struct pending *p,
    const char *what)
{
	char *self = self_cmd(env);

	cert_err("no certificate signing request is pending (%s does not "
	    "exist)%s; make one with: %s csr new", p->csr, what, self);
	free(self);
	return CERT_FAIL;
}

/* --- csr new -------------------------------------------------------- */

/* Add a canonical entry unless it is there already; takes e. */
static void
names_add(struct names *nl, char *e)
{
	size_t i;

	for (i = 0; i < nl->n; i++) {
		if (strcmp(nl->v[i], e) == 0) {
			free(e);
			return;
		}
	}
	nl->v = xreallocarray(nl->v, nl->n + 1, sizeof *nl->v);
	nl->v[nl->n++] = e;
}

static void
names_free(struct names *nl)
{
	size_t i;

	for (i = 0; i < nl->n; i++)
		free(nl->v[i]);
	free(nl->v);
}

/* A host name or IP literal from a node setting; -1 after saying why not. */
static int
names_add_host(struct names *nl, const struct conf *c, const char *setting,
    const char *v)
{
	char *e, *cause = NULL;

	if ((e = name_san_host(v, &cause)) != NULL) {
		names_add(nl, e);
		return 0;
	}
	cert_err("%s in %s cannot go into a certificate: %s", setting,
	    c->main_file, cause);
	free(cause);
	return -1;
}

/*
 * The subjectAltName list: node.fqdn, node.cluster_fqdn, every
 * node.cluster_peers and tls.extra_names entry, then the --san entries
 * (already canonical), in that order without repeats.
 */
static int
names_collect(struct names *nl, const struct conf *c, struct names *cli)
{
	char *e, *cause, what[64];
	size_t i;

	if (c->fqdn != NULL && names_add_host(nl, c, "node.fqdn", c->fqdn) == -1)
		return -1;
	if (c->cluster_fqdn != NULL && names_add_host(nl, c,
	    "node.cluster_fqdn", c->cluster_fqdn) == -1)
		return -1;
	for (i = 0; i < c->cluster_peers.n; i++) {
		snprintf(what, sizeof what, "node.cluster_peers[%zu]", i);
		if (names_add_host(nl, c, what, c->cluster_peers.v[i]) == -1)
			return -1;
	}
	for (i = 0; i < c->extra_names.n; i++) {
		cause = NULL;
		if ((e = name_san_parse(c->extra_names.v[i], &cause)) ==
		    NULL) {
			cert_err("tls.extra_names[%zu] in %s: %s", i,
			    c->main_file, cause);
			free(cause);
			return -1;
		}
		names_add(nl, e);
	}
	for (i = 0; i < cli->n; i++)
		names_add(nl, xstrdup(cli->v[i]));
	return 0;
}

/*
 * Put key and request in place.  Both are written beside their final names
 * first; then the old request (the mark of a pending one) goes, the key is
 * renamed, and the request last, so no moment shows a request whose key is
 * not the one beside it.
 */
static int
pending_write(const struct pending *p, EVP_PKEY *k, X509_REQ *r,
    char **cause)
{
	char *knew = xasprintf("%s.new", p->key), *cnew = xasprintf("%s.new",
	    p->csr);
	int rv = -1;

	if (file_mkdir_p(p->dir, 0700, cause) == -1)
		goto out;
	if (chmod(p->dir, 0700) == -1) {
		*cause = xasprintf("cannot set the mode of %s to 0700: %s",
		    p->dir, strerror(errno));
		goto out;
	}
	if (pki_write_key(knew, k, cause) == -1 ||
	    pki_write_csr(cnew, r, cause) == -1)
		goto out;
	if (unlink(p->csr) == -1 && errno != ENOENT) {
		*cause = xasprintf("cannot remove the previous request %s: %s",
		    p->csr, strerror(errno));
		goto out;
	}
	if (rename(knew, p->key) == -1) {
		*cause = xasprintf("cannot rename %s to %s: %s", knew, p->key,
		    strerror(errno));
		goto out;
	}
	if (rename(cnew, p->csr) == -1) {
		*cause = xasprintf("cannot rename %s to %s: %s", cnew, p->csr,
		    strerror(errno));
		unlink(p->key);
		goto out;
	}
	rv = 0;
out:
	if (rv == -1) {
		unlink(knew);
		unlink(cnew);
	}
	free(knew);
	free(cnew);
	return rv;
}

/* What csr new prints on stderr once both files are in place. */
static void
new_summary(const struct cert_env *env, const struct pending *p,
    EVP_PKEY *k, X509_REQ *r, const struct names *nl, int replaced)
{
	char *key = pki_key_desc(k), *self = self_cmd(env);
	char *subject = pki_name_line(X509_REQ_get_subject_name(r));
	char *names = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < nl->n; i++) {
		t = xasprintf("%s%s%s", names, i ? ", " : "", nl->v[i]);
		free(names);
		names = t;
	}
	fprintf(stderr,
	    "sipedge-cert: %s a new %s key and certificate signing request\n"
	    "  %-10s %s\n"
	    "  %-10s %s\n"
	    "  %-10s %s\n"
	    "  %-10s %s (mode 0600; it stays there and is never printed)\n"
	    "Give the request printed above to your CA (%s csr show --pem "
	    "prints it again),\nthen install the certificate it returns with: "
	    "%s install CERT\n",
	    replaced ? "replaced the pending request with" : "made", key,
	    "subject:", subject, "names:", names, "request:", p->csr,
	    "key:", p->key, self, self);
	free(names);
	free(key);
	free(self);
	free(subject);
}

/*
 * Warn when a certificate issued from r would be refused by peers under
 * one of the names it is made for (the configured names, every --san, the
 * common name): the check `sipedged -t` and `install` make, by the rules
 * peers apply (tls_check_names).
 */
static void
warn_names(const struct conf *c, X509_REQ *r, const struct names *cli,
    const char *cn, const char *cn_from)
{
	struct tls_own_names on = { NULL, 0 };
	struct diaglist dl = { 0 };
	char *e, *cause = NULL;
	X509 *x;
	size_t i;

	if ((x = tls_csr_preview(r)) == NULL)
		return;
	tls_own_names_from_conf(&on, c);
	for (i = 0; i < cli->n; i++)
		tls_own_names_add(&on, cli->v[i], "--san");
	/* The common name counts when it is a host name (it is then in
	 * the subjectAltName too), as names_collect's caller adds it. */
	if ((e = name_san_host(cn, &cause)) != NULL)
		tls_own_names_add(&on, e, cn_from);
	free(e);
	free(cause);
	tls_check_names(x, &on, "a certificate issued from this request", NULL,
	    &dl);
	for (i = 0; i < dl.n; i++)
		cert_err("%s", dl.v[i].text);
	diag_clear(&dl);
	tls_own_names_clear(&on);
	X509_free(x);
}

/* Longest a common name may be (X.520 ub-common-name). */
#define CN_MAX	64

/*
 * The subject fields given on the command line, checked before anything
 * is read: the common name may still come from the configuration.
 */
static int
given_subject_check(const struct tls_csr_subject *s, char **cause)
{
	struct tls_csr_subject given = *s;

	if (given.cn == NULL)
		given.cn = "placeholder";
	return tls_csr_subject_check(&given, cause);
}

/* What csr new was asked for and what it builds. */
struct csr_args {
	struct tls_csr_subject	 s;
	struct names		 cli;		/* --san, canonical */
	const char		*keyword;	/* --key */
	const char		*cn_from;	/* where the CN came from */
	int			 replace;
};

/* The command line into a: -1 to go on, or the exit status. */
static int
new_parse(struct csr_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "c", required_argument, NULL, 'C' },
		{ "st", required_argument, NULL, 'S' },
		{ "l", required_argument, NULL, 'L' },
		{ "o", required_argument, NULL, 'O' },
		{ "ou", required_argument, NULL, 'U' },
		{ "cn", required_argument, NULL, 'N' },
		{ "email", required_argument, NULL, 'E' },
		{ "san", required_argument, NULL, 'a' },
		{ "replace", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	char *cause = NULL, *e;
	int ch, rv;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k': a->keyword = optarg; break;
		case 'C': a->s.c = optarg; break;
		case 'S': a->s.st = optarg; break;
		case 'L': a->s.l = optarg; break;
		case 'O': a->s.o = optarg; break;
		case 'U': a->s.ou = optarg; break;
		case 'N': a->s.cn = optarg; break;
		case 'E': a->s.email = optarg; break;
		case 'a':
			if ((e = name_san_parse(optarg, &cause)) == NULL) {
				rv = cert_usage_error(usage, "csr new: --san: %s",
				    cause);
				free(cause);
				return rv;
			}
			names_add(&a->cli, e);
			break;
		case 'r': a->replace = 1; break;
		default:
			return cert_option_error(usage, "csr new", argv, ch);
		}
	}
	if (optind < argc)
		return cert_usage_error(usage, "csr new: unexpected argument '%s'",
		    argv[optind]);
	if (!tls_csr_key_is_valid(a->keyword))
		return cert_usage_error(usage, "csr new: --key %s is not a key "
		    "type: use one of " TLS_CSR_KEY_WORDS, a->keyword);
	if (given_subject_check(&a->s, &cause) == -1) {
		rv = cert_usage_error(usage, "csr new: %s", cause);
		free(cause);
		return rv;
	}
	return -1;
}

/* Refuse a second pending request unless --replace; *had: one exists. */
static int
new_check_pending(const struct cert_env *env, const struct pending *p,
    int replace, int *had)
{
	struct stat st;
	char *when, *self;

	*had = stat(p->csr, &st) == 0;
	if (!*had || replace)
		return 0;
	when = str_time_iso_dup(st.st_mtime);
	self = self_cmd(env);
	cert_err("a certificate signing request is already pending (%s, "
	    "generated at %s); only one may be in progress: see it with `%s "
	    "csr show`, drop it with `%s csr discard`, or make a new one in "
	    "its place with `%s csr new --replace`", p->csr, when, self, self,
	    self);
	free(when);
	free(self);
	return -1;
}

/*
 * The common name (from the configuration unless --cn) and the names:
 * the configured ones, --san, and the CN when it is a host name (peers
 * that follow RFC 5922 read only subjectAltName when it has a DNS name,
 * so a CN missing from it would go unseen).  0, or -1 after a message.
 */
static int
new_names(struct csr_args *a, const struct conf *c, struct names *nl)
{
	char *e, *cause = NULL;
	size_t i;

	if (a->s.cn == NULL) {
		a->cn_from = c->cluster_fqdn ? "node.cluster_fqdn" : "node.fqdn";
		a->s.cn = c->cluster_fqdn ? c->cluster_fqdn : c->fqdn;
		if (a->s.cn == NULL || strlen(a->s.cn) > CN_MAX) {
			cert_err("%s \"%s\" cannot be the common name (at most %d "
			    "characters); give one with --cn NAME", a->cn_from,
			    a->s.cn ? a->s.cn : "", CN_MAX);
			return -1;
		}
	}
	if (names_collect(nl, c, &a->cli) == -1)
		return -1;
	if ((e = name_san_host(a->s.cn, &cause)) != NULL)
		names_add(nl, e);
	free(cause);
	for (i = 0; i < nl->n; i++)
		if (strncmp(nl->v[i], "DNS:*", 5) == 0)
			cert_err("warning: %s is a wildcard name; SIP peers that "
			    "follow RFC 5922 will not accept it", nl->v[i]);
	return 0;
}

/* Make the key and request, put them in place and print the request. */
static int
new_make(const struct cert_env *env, const struct conf *c,
    const struct csr_args *a, const struct pending *p,
    const struct names *nl, int had_pending)
{
	char *cause = NULL;
	X509_REQ *r = NULL;
	EVP_PKEY *k = NULL;
	int rv = CERT_FAIL;

	if ((k = tls_csr_keygen(a->keyword, &cause)) == NULL ||
	    (r = tls_csr_make(k, &a->s, nl->v, nl->n, &cause)) == NULL) {
		cert_err("%s", cause);
		goto out;
	}
	warn_names(c, r, &a->cli, a->s.cn, a->cn_from);
	if (pending_write(p, k, r, &cause) == -1) {
		cert_err("%s; no request was made", cause);
		goto out;
	}
	if (PEM_write_X509_REQ(stdout, r) != 1 || fflush(stdout) != 0) {
		cert_err("cannot print the request (it is in %s): %s", p->csr,
		    strerror(errno));
		goto out;
	}
	new_summary(env, p, k, r, nl, had_pending);
	rv = CERT_OK;
out:
	free(cause);
	EVP_PKEY_free(k);
	X509_REQ_free(r);
	return rv;
}

static int
csr_new(struct cert_env *env, int argc, char **argv)
{
	struct csr_args a;
	struct names nl = { NULL, 0 };
	struct pending p = { NULL, NULL, NULL };
	struct conf *c;
	int had_pending, rv = CERT_FAIL;

	memset(&a, 0, sizeof a);
	a.keyword = TLS_CSR_KEY_DEFAULT;
	a.cn_from = "--cn";
	if ((rv = new_parse(&a, argc, argv)) != -1)
		goto out;
	rv = CERT_FAIL;
	if ((c = cert_conf(env)) == NULL)
		goto out;
	pending_paths(c, &p);
	if (new_check_pending(env, &p, a.replace, &had_pending) == -1 ||
	    new_names(&a, c, &nl) == -1)
		goto out;
	rv = new_make(env, c, &a, &p, &nl, had_pending);
out:
	names_free(&a.cli);
	names_free(&nl);
	pending_free(&p);
	return rv;
}

/* --- csr show, csr discard ------------------------------------------ */

static int
csr_show(struct cert_env *env, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pem", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct pending p = { NULL, NULL, NULL };
	char *cause = NULL, *when, *text;
	int ch, pem = 0, rv = CERT_FAIL;
	struct stat st;
	X509_REQ *r = NULL;
	struct conf *c;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (ch != 'p')
			return cert_option_error(usage, "csr show", argv, ch);
		pem = 1;
	}
	if (optind < argc)
		return cert_usage_error(usage, "csr show: unexpected argument '%s'",
		    argv[optind]);
	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	pending_paths(c, &p);
	if (stat(p.csr, &st) == -1 && errno == ENOENT) {
		rv = none_pending(env, &p, "");
		goto out;
	}
	if ((r = pki_read_csr(p.csr, &cause)) == NULL) {
		cert_err("%s", cause);
		goto out;
	}
	if (pem) {
		if (PEM_write_X509_REQ(stdout, r) != 1 || fflush(stdout) != 0) {
			cert_err("cannot print %s: %s", p.csr, strerror(errno));
			goto out;
		}
		rv = CERT_OK;
		goto out;
	}
	when = str_time_iso_dup(st.st_mtime);
	text = tls_csr_text(r);
	printf("Pending certificate signing request\n"
	    "  %-20s %s\n"
	    "  %-20s %s%s\n"
	    "  %-20s %s\n"
	    "%s",
	    "file:", p.csr,
	    "private key:", p.key, access(p.key, F_OK) == 0 ? "" :
	    " (missing: this request cannot be installed; make a new one "
	    "with csr new --replace)",
	    "generated at:", when, text);
	free(when);
	free(text);
	rv = CERT_OK;
out:
	free(cause);
	X509_REQ_free(r);
	pending_free(&p);
	return rv;
}

static int
csr_discard(struct cert_env *env, int argc, char **argv)
{
	struct pending p = { NULL, NULL, NULL };
	const char *files[2];
	int i, deleted = 0, rv = CERT_OK;
	struct conf *c;

	if (argc > 1)
		return cert_usage_error(usage, "csr discard: unexpected argument '%s'",
		    argv[1]);
	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	pending_paths(c, &p);
	files[0] = p.csr;
	files[1] = p.key;
	for (i = 0; i < 2; i++) {
		if (unlink(files[i]) == 0) {
			printf("deleted %s\n", files[i]);
			deleted++;
		} else if (errno != ENOENT) {
			cert_err("cannot delete %s: %s", files[i],
			    strerror(errno));
			rv = CERT_FAIL;
		}
	}
	if (deleted == 0 && rv == CERT_OK)
		rv = none_pending(env, &p, ", so there is nothing to discard");
	pending_free(&p);
	return rv;
}

int
cert_cmd_csr(struct cert_env *env, int argc, char **argv)
{
	if (argc < 2) {
		cert_err("csr: say what to do: new, show or discard");
		usage(stderr);
		return CERT_USAGE;
	}
	if (strcmp(argv[1], "new") == 0)
		return csr_new(env, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return csr_show(env, argc - 1, argv + 1);
	if (strcmp(argv[1], "discard") == 0)
		return csr_discard(env, argc - 1, argv + 1);
	return cert_usage_error(usage, "csr: unknown subcommand '%s' (new, show or "
	    "discard)", argv[1]);
}
