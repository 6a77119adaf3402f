/*
 * tls_ctx.h: the server's TLS identity (certificate chain, private key,
 * trusted CAs) loaded from files, and the SSL_CTX built from it.  When no
 * certificate is configured, a temporary CA and a server certificate for
 * this node's names are created in the state directory on first start.
 * Loading reads small files only; no network.  OpenSSL stays in tls/.
 */
#ifndef SE_TLS_CTX_H
#define SE_TLS_CTX_H

#include <openssl/ssl.h>

#include "conf/conf.h"
#include "util/diag.h"

/* What was loaded, for logs and status. */
struct tls_identity {
	SSL_CTX		*ctx;		/* server context (also used as client) */
	int		 temporary;	/* 1: the first-start temporary certificate */
	char		*cert_file;	/* the file actually loaded */
	char		*subject;	/* one-line subject of the leaf */
	char		*not_after;	/* expiry, ISO 8601 */
	size_t		 ntrusted;	/* CAs in the trust list */
};

enum tls_load_mode {
	TLS_LOAD_CHECK,		/* -t: never create files */
	TLS_LOAD_RUN		/* start/reload: create the temporary CA if needed */
};

/*
 * Load the identity configured in c.  Problems go to dl with the file:line
 * of the setting that named the file.  Returns NULL when dl got an error.
 * In TLS_LOAD_CHECK mode with no certificate configured and no temporary
 * one yet, returns an identity with ctx == NULL (a note is added to dl).
 */
struct tls_identity	*tls_identity_load(const struct conf *c,
			    enum tls_load_mode mode, struct diaglist *dl);
void			 tls_identity_free(struct tls_identity *id);

/*
 * Create (or reuse, when still valid) the temporary CA and server
 * certificate in state_dir for the names given.  Writes are atomic and key
 * files are mode 0600.  0, or -1 with *cause (caller frees).
 */
int			 tls_temp_ensure(const char *state_dir, const char *fqdn,
			    char *const *aliases, size_t naliases, char **cause);

/* File names of the temporary material inside the state directory. */
#define TLS_TEMP_CA_CERT	"temp-ca.pem"
#define TLS_TEMP_CA_KEY		"temp-ca.key"
#define TLS_TEMP_CERT		"temp-server.pem"
#define TLS_TEMP_KEY		"temp-server.key"

#endif
