/*
 * cert_cred.c: sipedge-cert credential: the SIP digest credentials of
 * traversal clients (auth.credentials_file).  The file holds HA1 hashes
 * (MD5 and SHA-256 for each user, RFC 7616), never a password; it is
 * rewritten in one atomic rename with mode 0600, and the running daemon
 * is asked to reload it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "proxy/digest.h"
#include "tools/cert.h"
#include "util/file.h"
#include "util/xmalloc.h"

static void
cred_usage(FILE *f)
{
	fprintf(f, "usage: sipedge-cert credential add USER [--realm REALM] "
	    "[--password-file FILE]\n"
	    "       sipedge-cert credential remove USER [--realm REALM]\n"
	    "       sipedge-cert credential list\n");
}

/* The lines of the credentials file (none when it does not exist). */
static int
read_lines(const char *path, char ***linesp, size_t *np)
{
	char buf[2048], **v = NULL;
	size_t n = 0;
	FILE *fp;

	*linesp = NULL;
	*np = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		cert_err("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof buf, fp) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xstrdup(buf);
	}
	fclose(fp);
	*linesp = v;
	*np = n;
	return 0;
}

static void
free_lines(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

/* Whether line is a credential of user (in realm, when realm is set). */
static int
line_is(const char *line, const char *user, const char *realm)
{
	char u[256], r[256];

	if (sscanf(line, "%255s %255s", u, r) != 2 || u[0] == '#')
		return 0;
	return strcmp(u, user) == 0 && (realm == NULL || strcmp(r, realm) == 0);
}

/* Write lines (minus the dropped, NULL ones) and extra, mode 0600. */
static int
write_lines(const char *path, char **v, size_t n, const char *extra)
{
	size_t i, len = 0;
	char *buf, *p, *cause = NULL;
	int rv;

	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			len += strlen(v[i]) + 1;
	len += extra != NULL ? strlen(extra) : 0;
	p = buf = xmalloc(len + 1);
	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			p += sprintf(p, "%s\n", v[i]);
	if (extra != NULL)
		p += sprintf(p, "%s", extra);
	rv = file_write_atomic(path, buf, len, 0600, &cause);
	explicit_bzero(buf, len);
	free(buf);
	if (rv == -1) {
		cert_err("cannot write %s: %s", path, cause);
		free(cause);
	}
	return rv;
}

/* The password: the first line of file, of stdin, or typed twice. */
static char *
get_password(const char *file)
{
	struct termios old, quiet;
	char a[1024], b[1024];
	FILE *fp = stdin;
	int tty = file == NULL && isatty(STDIN_FILENO);

	if (file != NULL && (fp = fopen(file, "r")) == NULL) {
		cert_err("cannot read %s: %s", file, strerror(errno));
		return NULL;
	}
	if (tty) {
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fprintf(stderr, "Password: ");
	}
	a[0] = b[0] = '\0';
	if (fgets(a, sizeof a, fp) == NULL)
		a[0] = '\0';
	if (tty) {
		fprintf(stderr, "\nAgain: ");
		if (fgets(b, sizeof b, fp) == NULL)
			b[0] = '\0';
		fprintf(stderr, "\n");
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	}
	if (file != NULL)
		fclose(fp);
	a[strcspn(a, "\r\n")] = '\0';
	b[strcspn(b, "\r\n")] = '\0';
	if (tty && strcmp(a, b) != 0) {
		cert_err("the two passwords differ; nothing was changed");
		explicit_bzero(a, sizeof a);
		explicit_bzero(b, sizeof b);
		return NULL;
	}
	explicit_bzero(b, sizeof b);
	if (a[0] == '\0') {
		cert_err("the password is empty; nothing was changed");
		return NULL;
	}
	return xstrdup(a);
}

static int
valid_token(const char *s)
{
	return *s != '\0' && strcspn(s, " \t:\"#") == strlen(s);
}

static int
cred_add(struct conf *c, const char *user, const char *realm,
    const char *pwfile)
{
	const char *path = c->auth_credentials.path;
	char md5[DIGEST_HEX_MAX], sha[DIGEST_HEX_MAX], *pw, *extra, **v;
	size_t n, i, dropped = 0;
	int rv;

	if ((pw = get_password(pwfile)) == NULL)
		return CERT_FAIL;
	if (read_lines(path, &v, &n) == -1) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
		return CERT_FAIL;
	}
	for (i = 0; i < n; i++)
		if (line_is(v[i], user, realm)) {
			explicit_bzero(v[i], strlen(v[i]));
			free(v[i]);
			v[i] = NULL;
			dropped++;
		}
	digest_ha1(0, user, realm, pw, md5);
	digest_ha1(1, user, realm, pw, sha);
	explicit_bzero(pw, strlen(pw));
	free(pw);
	extra = xasprintf("%s %s MD5 %s\n%s %s SHA-256 %s\n", user, realm, md5,
	    user, realm, sha);
	explicit_bzero(md5, sizeof md5);
	explicit_bzero(sha, sizeof sha);
	rv = write_lines(path, v, n, extra);
	explicit_bzero(extra, strlen(extra));
	free(extra);
	free_lines(v, n);
	if (rv == -1)
		return CERT_FAIL;
	printf("%s credential %s in realm %s in %s (MD5 and SHA-256 hashes, "
	    "mode 0600).\n", dropped > 0 ? "Replaced the" : "Added a", user,
	    realm, path);
	return cert_trust_reload(c);
}

static int
cred_remove(struct conf *c, const char *user, const char *realm)
{
	const char *path = c->auth_credentials.path;
	size_t n, i, dropped = 0;
	char **v;
	int rv;

	if (read_lines(path, &v, &n) == -1)
		return CERT_FAIL;
	for (i = 0; i < n; i++)
		if (line_is(v[i], user, realm)) {
			free(v[i]);
			v[i] = NULL;
			dropped++;
		}
	if (dropped == 0) {
		cert_err("%s has no credential for %s%s%s", path, user,
		    realm != NULL ? " in realm " : "", realm != NULL ? realm : "");
		free_lines(v, n);
		return CERT_FAIL;
	}
	rv = write_lines(path, v, n, NULL);
	free_lines(v, n);
	if (rv == -1)
		return CERT_FAIL;
	printf("Removed %zu line%s for %s from %s.\n", dropped,
	    dropped == 1 ? "" : "s", user, path);
	return cert_trust_reload(c);
}

static int
cred_list(struct conf *c)
{
	const char *path = c->auth_credentials.path;
	char u[256], r[256], a[32];
	size_t n, i, shown = 0;
	char **v;

	if (read_lines(path, &v, &n) == -1)
		return CERT_FAIL;
	for (i = 0; i < n; i++) {
		if (sscanf(v[i], "%255s %255s %31s", u, r, a) != 3 ||
		    u[0] == '#')
			continue;
		printf("%s %s %s\n", u, r, a);	/* never the hash */
		shown++;
	}
	if (shown == 0)
		printf("no credentials in %s\n", path);
	free_lines(v, n);
	return CERT_OK;
}

int
cert_cmd_credential(struct cert_env *env, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "realm", required_argument, NULL, 'r' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *realm = NULL, *pwfile = NULL, *sub;
	struct conf *c;
	int ch;

	if (argc < 2)
		return cert_usage_error(cred_usage, "credential needs add, "
		    "remove or list");
	sub = argv[1];
	argc--;		/* getopt afresh over "SUB [USER] [OPTIONS]" */
	argv++;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			realm = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 'h':
			cred_usage(stdout);
			return CERT_OK;
		default:
			return cert_option_error(cred_usage, "credential", argv,
			    ch);
		}
	}
	if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return cert_usage_error(cred_usage, "credential list "
			    "takes no arguments");
		if ((c = cert_conf(env)) == NULL)
			return CERT_FAIL;
		return cred_list(c);
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0)
		return cert_usage_error(cred_usage, "unknown credential "
		    "command '%s'", sub);
	if (optind + 1 != argc)
		return cert_usage_error(cred_usage, "credential %s needs one "
		    "USER", sub);
	if (!valid_token(argv[optind]))
		return cert_usage_error(cred_usage, "'%s' is not a user name "
		    "(no spaces, ':', '\"' or '#')", argv[optind]);
	if (realm != NULL && !valid_token(realm))
		return cert_usage_error(cred_usage, "'%s' is not a realm "
		    "(no spaces, ':', '\"' or '#')", realm);
	if (pwfile != NULL && strcmp(sub, "remove") == 0)
		return cert_usage_error(cred_usage, "credential remove takes "
		    "no --password-file");
	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	if (strcmp(sub, "add") == 0)
		return cred_add(c, argv[optind], realm != NULL ? realm :
		    c->auth_realm, pwfile);
	return cred_remove(c, argv[optind], realm);
}
