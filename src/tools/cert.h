/*
 * cert.h: the subcommands of sipedge-cert.  Each takes the environment and
 * its own arguments (argv[0] is the subcommand name), prints what it did
 * on stdout and every problem as one sentence on stderr, and returns an
 * exit status: CERT_OK, CERT_FAIL (bad input, refused, not found) or
 * CERT_USAGE (wrong arguments).
 */
#ifndef SE_TOOLS_CERT_H
#define SE_TOOLS_CERT_H

#include "conf/conf.h"

#define CERT_OK		0
#define CERT_FAIL	1
#define CERT_USAGE	2

struct cert_env {
	const char	*conf_path;	/* -c FILE, or the installed default */
	int		 conf_given;	/* -c was given */
	struct conf	*conf;		/* loaded by cert_conf() on first use */
};

/*
 * The daemon's configuration, loaded on first use.  On errors prints each
 * as file:line: message and returns NULL (the caller returns CERT_FAIL).
 */
struct conf	*cert_conf(struct cert_env *env);

/* "sipedge-cert: " + message + newline on stderr. */
void		 cert_err(const char *fmt, ...)
		     __attribute__((format(printf, 1, 2)));

int	cert_cmd_csr(struct cert_env *env, int argc, char **argv);
int	cert_cmd_install(struct cert_env *env, int argc, char **argv);
int	cert_cmd_trust(struct cert_env *env, int argc, char **argv);
int	cert_cmd_crl(struct cert_env *env, int argc, char **argv);
int	cert_cmd_decode(struct cert_env *env, int argc, char **argv);
int	cert_cmd_convert(struct cert_env *env, int argc, char **argv);
int	cert_cmd_lab_ca(struct cert_env *env, int argc, char **argv);

#endif
