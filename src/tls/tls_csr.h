/*
 * tls_csr.h: the OpenSSL half of `sipedge-cert csr`: checking the subject
 * and subjectAltName entries an operator gives, generating the key,
 * building and signing the request, and describing a request in readable
 * lines.  No files here: the caller reads and writes them (tls_pki.h).
 */
#ifndef SE_TLS_CSR_H
#define SE_TLS_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The pending request inside daemon.state_dir: made by `csr new`. */
#define TLS_CSR_DIR	"csr"		/* mode 0700 */
#define TLS_CSR_FILE	"pending.csr"	/* PEM, 0644 */
#define TLS_CSR_KEY	"pending.key"	/* PEM, 0600 */

/* The key types `csr new --key` takes, for usage messages. */
#define TLS_CSR_KEY_WORDS	"rsa2048|rsa3072|rsa4096|ec256|ec384"
#define TLS_CSR_KEY_DEFAULT	"rsa2048"

/* Subject fields, each NULL when absent; cn is required. */
struct tls_csr_subject {
	const char	*c;	/* country: two letters */
	const char	*st;	/* state or province */
	const char	*l;	/* locality */
	const char	*o;	/* organisation */
	const char	*ou;	/* organisational unit */
	const char	*cn;	/* common name */
	const char	*email;	/* emailAddress (PKCS #9): a contact for
				 * the CA, not a name peers check */
};

/* Whether word is one of TLS_CSR_KEY_WORDS: 1 or 0. */
int		 tls_csr_key_is_valid(const char *word);

/*
 * Check the subject fields: country exactly two ASCII letters (either
 * case; the request carries it upper-cased), no empty field, no control
 * characters, lengths within the X.520 bounds, the email an ASCII
 * local@domain of at most 255 characters.  0, or -1 with *cause naming
 * the option of the field (--c, --st, ..., --email).
 */
int		 tls_csr_subject_check(const struct tls_csr_subject *s,
		     char **cause);

/*
 * Generate a key of type word (TLS_CSR_KEY_WORDS).  NULL with *cause on
 * failure.  The caller frees it with EVP_PKEY_free.
 */
EVP_PKEY	*tls_csr_keygen(const char *word, char **cause);

/*
 * Build a request for key k: subject s (checked; C, ST, L, O, OU, CN,
 * then emailAddress), subjectAltName from
 * sans (canonical entries from name_san_parse, at least one), keyUsage
 * digitalSignature (+ keyEncipherment for RSA), extendedKeyUsage
 * serverAuth and clientAuth, signed with SHA-256.  NULL with *cause.
 */
X509_REQ	*tls_csr_make(EVP_PKEY *k, const struct tls_csr_subject *s,
		     char *const *sans, size_t nsans, char **cause);

/*
 * Readable lines about r, each "  label:  value\n": subject, key type and
 * size, subject alternative names, key usage, extended key usage and
 * whether the signature verifies.  A new string the caller frees.
 */
char		*tls_csr_text(X509_REQ *r);

/*
 * What a CA that copies the request would issue: an unsigned certificate
 * with r's subject, public key and requested extensions (subjectAltName
 * included), for checks of its names (tls_check_names) only; it is never
 * written or used for TLS.  NULL when r's extensions cannot be read.
 * The caller frees it with X509_free.
 */
X509		*tls_csr_preview(X509_REQ *r);

/*
 * keyUsage of a certificate as "digitalSignature, keyEncipherment"; NULL
 * when absent.  Used for requests (through their extensions) and by
 * `sipedge-cert decode` for certificates.  A new string the caller frees.
 */
char		*tls_csr_ku_line(X509 *x);

#endif
