/*
 * cert_trust_int.h: what the files of `sipedge-cert trust` share
 * (cert_trust.c, cert_trust_view.c, cert_trust_edit.c); private to them.
 * The store itself (load, write, reload) is in cert.h, shared with crl.
 */
#ifndef SE_TOOLS_CERT_TRUST_INT_H
#define SE_TOOLS_CERT_TRUST_INT_H

#include <openssl/x509.h>

#include "conf/conf.h"
#include "tools/cert.h"

/* The common name of n as printable text, or NULL (caller frees). */
char	*cert_trust_name_cn(const X509_NAME *n);
/* "CN=x (SHA256 fp)" or the whole subject and fingerprint (caller frees). */
char	*cert_trust_label(X509 *x);
/*
 * SHA-256 fingerprints of certs in hex, no colons, upper case; free with
 * cert_trust_fingerprints_free(fps, number of certs).
 */
char	**cert_trust_fingerprints(STACK_OF(X509) *certs);
void	 cert_trust_fingerprints_free(char **fps, int n);
/*
 * Resolve sel to an index of t->certs: a 1-based index (fewer than 8
 * digits), or a SHA-256 fingerprint or a unique prefix of at least 8 hex
 * digits, colons and case ignored (fps from cert_trust_fingerprints).
 * -1 with *cause when malformed, unknown or ambiguous.
 */
int	 cert_trust_select(const struct cert_trust *t, char **fps,
	    const char *sel, char **cause);
/*
 * Load the trust list for a command that reads it: CERT_OK, or CERT_FAIL
 * after a message (unreadable, or a set tls.trust that does not exist).
 */
int	 cert_trust_open(struct conf *c, struct cert_trust *t);

/* The commands; each returns its exit status (cert.h). */
int	 cert_trust_view_list(struct conf *c);
int	 cert_trust_view_show(struct conf *c, const char *sel, int pem);
int	 cert_trust_edit_add(struct conf *c, const char *file);
int	 cert_trust_edit_remove(struct conf *c, int nsel, char **sel);
int	 cert_trust_edit_reset(struct conf *c);

#endif
