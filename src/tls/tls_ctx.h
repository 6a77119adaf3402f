/*
 * tls_ctx.h: the server's TLS identity (certificate chain, private key,
 * trusted CAs) loaded from files, and the SSL_CTX built from it.  When no
 * certificate is installed, the temporary one of tls_ca.h is used.
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

#endif
