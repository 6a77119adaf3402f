/*
 * cert.h: the subcommands of sipedge-cert.  Each takes the environment and
 * its own arguments (argv[0] is the subcommand name), prints what it did
 * on stdout and every problem as one sentence on stderr, and returns an
 * exit status: CERT_OK, CERT_FAIL (bad input, refused, not found) or
 * CERT_USAGE (wrong arguments).
 */
#ifndef SE_TOOLS_CERT_H
#define SE_TOOLS_CERT_H

#include <openssl/x509.h>

#include <stdio.h>

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

/*
 * A wrong argument: "sipedge-cert: " + the sentence, then usage(stderr);
 * returns CERT_USAGE.
 */
int		 cert_usage_error(void (*usage)(FILE *), const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
/*
 * The same for what getopt_long returned as '?' (unknown option) or ':'
 * (missing value) in command cmd; names the option as written.
 */
int		 cert_option_error(void (*usage)(FILE *), const char *cmd,
		     char **argv, int ch);

int	cert_cmd_csr(struct cert_env *env, int argc, char **argv);
int	cert_cmd_install(struct cert_env *env, int argc, char **argv);
int	cert_cmd_trust(struct cert_env *env, int argc, char **argv);
int	cert_cmd_crl(struct cert_env *env, int argc, char **argv);
int	cert_cmd_decode(struct cert_env *env, int argc, char **argv);
int	cert_cmd_convert(struct cert_env *env, int argc, char **argv);
int	cert_cmd_lab_ca(struct cert_env *env, int argc, char **argv);
int	cert_cmd_check(struct cert_env *env, int argc, char **argv);
int	cert_cmd_credential(struct cert_env *env, int argc, char **argv);

/*
 * The trust list as sipedged would use it (cert_trust.c), shared by the
 * trust and crl commands.
 */
struct cert_trust {
	const char		*path;		/* tls.trust */
	int			 is_default;	/* default file absent: the default list */
	int			 missing;	/* a set tls.trust that does not exist */
	char			*temp_ca;	/* <state_dir>/temp-ca.pem */
	STACK_OF(X509)		*certs;		/* in file order */
	STACK_OF(X509_CRL)	*crls;		/* embedded in the trust file */
};

/*
 * Load the trust list of c into t.  When the default file does not exist
 * the list is the temporary first-start CA alone (if it exists).  0, or -1
 * with *cause (caller frees) when the trust file cannot be read; t is then
 * still safe to pass to cert_trust_clear().
 */
int	cert_trust_load(struct conf *c, struct cert_trust *t, char **cause);
void	cert_trust_clear(struct cert_trust *t);
/*
 * Write certificates then CRLs as PEM to path, atomically; the directory
 * is created (0755) if missing.  0, or -1 with *cause.
 */
int	cert_trust_write(const char *path, STACK_OF(X509) *certs,
	    STACK_OF(X509_CRL) *crls, char **cause);
/*
 * Why sipedged could not use crl with trust list t (issuer not trusted,
 * signature does not verify, issuer not allowed to sign CRLs): a sentence
 * fragment the caller frees, or NULL when it verifies.
 */
char	*cert_trust_crl_problem(const struct cert_trust *t, X509_CRL *crl);
/*
 * Ask the running sipedged to reload after a change and print the result.
 * Returns CERT_OK (reloaded, or not running: the change applies at its
 * next start) or CERT_FAIL (it refused the new files).
 */
int	cert_trust_reload(struct conf *c);

#endif
