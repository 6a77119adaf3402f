/*
 * rev_crl.h: turning bytes into CRLs.  A CRL source (a file, a download)
 * may hold one DER CRL, PEM text with one or more CRLs, or a gzip or ZIP
 * archive of those; the format is sniffed from the content, never from
 * a file name.  Pure: memory in, CRLs out.
 */
#ifndef SE_REV_CRL_H
#define SE_REV_CRL_H

#include <stddef.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Limit on the decompressed size of an archive (and of each member). */
#define REV_CRL_MAX_EXPANDED	(512UL * 1024 * 1024)

/* What the bytes looked like, for logs. */
enum rev_crl_format {
	REV_CRL_DER,
	REV_CRL_PEM,
	REV_CRL_GZIP,
	REV_CRL_ZIP
};
const char	*rev_crl_format_name(enum rev_crl_format f);

/*
 * Append every CRL in data to out.  name is used in messages (a file name
 * or URL).  *formatp (may be NULL) says what the outer container was.
 * Archives are opened one level deep: a ZIP member or gzip content must
 * itself be PEM or DER.  Members that are not CRLs are skipped (counted in
 * the error when nothing was found).  Returns the number of CRLs appended
 * (>= 1), or -1 with *cause: nothing recognisable, a damaged archive, or
 * more than max_expanded bytes after decompression; on -1 nothing is
 * appended (out holds what it held before).
 */
int	rev_crl_parse(const char *name, const unsigned char *data, size_t len,
	    size_t max_expanded, STACK_OF(X509_CRL) *out,
	    enum rev_crl_format *formatp, char **cause);

/*
 * Append to out the certificates in PEM data (a CRL file may carry the
 * certificate that signed its CRLs: a separate CRL issuer, a CA's new
 * key).  Returns how many; other content is skipped.
 */
int	rev_crl_parse_certs(const unsigned char *data, size_t len,
	    STACK_OF(X509) *out);

/*
 * Whether CRLs a and b have the same issuer and scope (RFC 5280 s.5.2:
 * both complete or both delta CRLs, the same issuingDistributionPoint):
 * the newer one replaces the older; CRLs of other scopes go together.
 */
int	rev_crl_same_scope(X509_CRL *a, X509_CRL *b);

/*
 * The first http(s) URL among the full names of dps (a
 * cRLDistributionPoints or freshestCRL extension), shorter than max bytes
 * and without an embedded NUL; NULL when there is none.  Frees dps (NULL
 * is fine), so that callers can pass what X509_get_ext_d2i() returned.
 */
char	*rev_crl_dp_url(STACK_OF(DIST_POINT) *dps, size_t max);

#endif
