/*
 * sipedge_cert.c: main of sipedge-cert, the certificate lifecycle tool.
 * Parses the global options and hands the rest to a subcommand (cert.h).
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "tools/cert.h"
#include "util/diag.h"
#include "util/xmalloc.h"

static const struct {
	const char	*name;
	int		(*fn)(struct cert_env *, int, char **);
	const char	*args;
} cmds[] = {
	{ "csr", cert_cmd_csr, "new|show|discard ..." },
	{ "install", cert_cmd_install,
	    "CERT [--key KEY] [--chain FILE] [--no-reload] | --temporary" },
	{ "trust", cert_cmd_trust, "list|show|add|remove|reset ..." },
	{ "crl", cert_cmd_crl, "import|remove|list ..." },
	{ "decode", cert_cmd_decode, "FILE" },
	{ "convert", cert_cmd_convert, "FILE --to pem|der [-o OUT]" },
	{ "lab-ca", cert_cmd_lab_ca, "init|issue|revoke|crl|list ..." },
	{ "credential", cert_cmd_credential, "add|remove|list USER ..." },
	{ "check", cert_cmd_check, "--trust CA.pem --chain chain.pem "
	    "[--name NAME] ..." },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sipedge-cert [-c FILE] COMMAND [ARGS...]\n"
	    "  -c FILE  the daemon's configuration (default %s)\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n"
	    "commands:\n", SE_CONFFILE);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "See sipedge-cert(1).\n");
}

void
cert_err(const char *fmt, ...)
{
	va_list ap;

	fputs("sipedge-cert: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cert_usage_error(void (*cmd_usage)(FILE *), const char *fmt, ...)
{
	va_list ap;

	fputs("sipedge-cert: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_usage(stderr);
	return CERT_USAGE;
}

int
cert_option_error(void (*cmd_usage)(FILE *), const char *cmd, char **argv,
    int ch)
{
	const char *arg = argv[optind - 1];
	char *opt;
	int rv;

	/* A long option is named as written: optopt holds its value. */
	if (strncmp(arg, "--", 2) == 0)
		opt = xstrndup(arg, strcspn(arg, "="));
	else
		opt = xasprintf("-%c", optopt);
	if (ch == ':')
		rv = cert_usage_error(cmd_usage, "%s: %s needs a value", cmd,
		    opt);
	else
		rv = cert_usage_error(cmd_usage, "%s: unknown option %s", cmd,
		    opt);
	free(opt);
	return rv;
}

struct conf *
cert_conf(struct cert_env *env)
{
	struct diaglist dl = { 0 };
	size_t i;

	if (env->conf != NULL)
		return env->conf;
	env->conf = conf_load(env->conf_path, &dl);
	for (i = 0; i < dl.n; i++)
		if (env->conf == NULL || dl.v[i].sev == DIAG_ERROR)
			fprintf(stderr, "%s\n", dl.v[i].text);
	if (env->conf == NULL)
		cert_err("cannot use configuration %s%s", env->conf_path,
		    env->conf_given ? "" : " (give another with -c FILE)");
	diag_clear(&dl);
	return env->conf;
}

int
main(int argc, char **argv)
{
	struct cert_env env = { SE_CONFFILE, 0, NULL };
	size_t i;
	int ch, rv;

	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			env.conf_path = optarg;
			env.conf_given = 1;
			break;
		case 'h':
			usage(stdout);
			return CERT_OK;
		case 'V':
			printf("sipedge-cert %s\n", PACKAGE_VERSION);
			return CERT_OK;
		default:
			usage(stderr);
			return CERT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return CERT_USAGE;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		optind = 0;	/* let the subcommand run getopt afresh */
		rv = cmds[i].fn(&env, argc, argv);
		conf_free(env.conf);
		ERR_clear_error();
		return rv;
	}
	cert_err("unknown command '%s'", argv[0]);
	usage(stderr);
	return CERT_USAGE;
}
