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
#include "tls/tls_check.h"
#include "util/diag.h"

/* Where a CRL kept in struct tls_identity came from. */
enum tls_crl_source {
	TLS_CRL_TRUST_FILE,	/* embedded in tls.trust */
	TLS_CRL_MANUAL		/* revocation.manual_crl */
};

/* What was loaded, for logs, status and the revocation engine. */
struct tls_identity {
	SSL_CTX		*ctx;		/* server context (also used as client) */
	int		 temporary;	/* 1: the first-start temporary certificate */
	char		*cert_file;	/* the file actually loaded */
	char		*key_file;
	char		*subject;	/* one-line subject of the leaf */
	char		*not_before;	/* validity, ISO 8601 */
	char		*not_after;
	size_t		 ntrusted;	/* CAs in the trust list */
	char		*trust_file;	/* NULL: no trust list installed */
	int		 alarms;	/* TLS_ALARM_* of tls_check.h */
	char		*alarm_text;	/* what the alarms are; NULL if none */
	/*
	 * CRLs found in the trust file, then those of the manual CRL file,
	 * unverified (the revocation engine checks their signatures);
	 * crl_source[i] is the enum tls_crl_source of crls[i].
	 */
	STACK_OF(X509_CRL) *crls;
	int		*crl_source;
	size_t		 ncrls[2];	/* by source */
	char		*manual_crl_file; /* NULL: no manual CRL */
};

enum tls_load_mode {
	TLS_LOAD_CHECK,		/* -t: never create files */
	TLS_LOAD_RUN		/* start/reload: create the temporary CA if needed */
};

/*
 * Load the identity configured in c and check it (tls_check_identity);
 * the trust list and the manual CRL are read even when no certificate is.
 * Problems go to dl with the file:line of the setting that named the file
 * (only the file when the setting was not written).  Returns NULL when dl
 * got an error.
 * In TLS_LOAD_CHECK mode with no certificate configured and no temporary
 * one yet, returns an identity with ctx == NULL (a note is added to dl).
 */
struct tls_identity	*tls_identity_load(const struct conf *c,
			    enum tls_load_mode mode, struct diaglist *dl);
void			 tls_identity_free(struct tls_identity *id);

/* How many of id's CRLs came from source (enum tls_crl_source). */
size_t			 tls_identity_ncrls(const struct tls_identity *id,
			    int source);

#endif
