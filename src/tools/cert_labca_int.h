/*
 * cert_labca_int.h: what the files of `sipedge-cert lab-ca` share
 * (cert_labca.c, cert_labca_issue.c); private to them.
 */
#ifndef SE_TOOLS_CERT_LABCA_INT_H
#define SE_TOOLS_CERT_LABCA_INT_H

#include <openssl/x509.h>

#include "tls/tls_ca.h"
#include "tools/cert.h"

/* What every subcommand shares. */
struct cert_labca_opts {
	const char	*sub;		/* "init", "issue"... */
	const char	*dir;		/* --dir */
};

/* The usage of lab-ca on stderr; returns CERT_USAGE. */
int		 cert_labca_usage(void);
/* Report a getopt failure (ch is '?' or ':'); returns CERT_USAGE. */
int		 cert_labca_bad_option(const struct cert_labca_opts *o, int ch,
		    char **argv);
/* A whole number of days from lo to hi; -1 (after a message) if not. */
int		 cert_labca_days(const struct cert_labca_opts *o,
		    const char *opt, const char *s, int lo, int hi);
/* The CA directory: --dir, else <daemon.state_dir>/lab-ca; NULL after a
 * message (caller frees). */
char		*cert_labca_dir(struct cert_env *env,
		    const struct cert_labca_opts *o);
/* Open the CA of dir, with a hint when there is none yet; NULL after a
 * message. */
struct tls_ca	*cert_labca_open(struct cert_env *env,
		    const struct cert_labca_opts *o, const char *dir);
/* "LABEL  CN=..., valid until ..." of a certificate on stdout. */
void		 cert_labca_print_cert(const char *label, X509 *x);
/* Make the directory of path (0755) if missing; 0 or -1 after a message. */
int		 cert_labca_out_dir(const char *path);

/* lab-ca issue (cert_labca_issue.c): the exit status. */
int		 cert_labca_issue(struct cert_env *env,
		    struct cert_labca_opts *o, int argc, char **argv);

#endif
