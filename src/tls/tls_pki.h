/*
 * tls_pki.h: reading, recognising, describing and writing PKI files:
 * certificates, chains, private keys, CSRs and CRLs, PEM or DER (detected
 * from the content, never from the extension).  Shared by the daemon and
 * sipedge-cert.  Every failure is a sentence naming the file and what is
 * wrong with it, returned in *cause (caller frees).
 *
 * PEM input is normalised before parsing: CRLF or CR line ends, a missing
 * final newline, blank lines and spaces around the blocks are accepted.
 */
#ifndef SE_TLS_PKI_H
#define SE_TLS_PKI_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Largest PKI file read, in bytes.  CRL files may be much larger: a CA's
 * CRL of 1,000,000 entries is some 40 MB of DER, 55 MB of PEM.
 */
#define PKI_MAX_FILE	(4 * 1024 * 1024)
#define PKI_MAX_CRL_FILE	(512UL * 1024 * 1024)

/*
 * Read a whole regular file of at most PKI_MAX_FILE (pki_slurp_max: max)
 * bytes; NUL-terminated.  Errors: cannot open (with errno text), a
 * directory or other non-regular file, empty, too large.
 */
char		*pki_slurp(const char *path, size_t *lenp, char **cause);
char		*pki_slurp_max(const char *path, size_t max, size_t *lenp,
		     char **cause);

/* Whether buf holds PEM armour ("-----BEGIN "). */
int		 pki_is_pem(const char *buf, size_t len);

/*
 * Normalise PEM text in place: CRLF and CR become LF, leading and trailing
 * whitespace of each line is dropped, and the text ends in one newline
 * (buf must have room for one more byte: pki_slurp leaves it).  Returns
 * the new length.
 */
size_t		 pki_pem_normalise(char *buf, size_t len);

/*
 * Certificates from a PEM (one or more) or DER (one) file, in file order.
 * CRLs in the same PEM file are appended to crls when crls != NULL and
 * ignored otherwise.  Errors: unreadable, no certificate, truncated PEM.
 */
STACK_OF(X509)	*pki_read_certs(const char *path, STACK_OF(X509_CRL) *crls,
		     char **cause);
/* The same from memory; name is used in messages. */
STACK_OF(X509)	*pki_parse_certs(const char *name, char *buf, size_t len,
		     STACK_OF(X509_CRL) *crls, char **cause);

/*
 * The private key of a PEM (PKCS#8, traditional RSA/EC) or DER file.  An
 * encrypted key is refused with the command that converts it.
 */
EVP_PKEY	*pki_read_key(const char *path, char **cause);

/* CRLs from a PEM (one or more) or DER (one) file. */
STACK_OF(X509_CRL) *pki_read_crls(const char *path, char **cause);
STACK_OF(X509_CRL) *pki_parse_crls(const char *name, char *buf, size_t len,
		     char **cause);

/* A certificate signing request from a PEM or DER file. */
X509_REQ	*pki_read_csr(const char *path, char **cause);

/* What a file holds, for `sipedge-cert decode` and clear messages. */
enum pki_kind {
	PKI_GARBAGE,		/* none of the below */
	PKI_CERT,		/* one certificate */
	PKI_CHAIN,		/* several certificates (maybe with CRLs) */
	PKI_CSR,
	PKI_CRL,		/* one or more CRLs, no certificate */
	PKI_KEY,
	PKI_KEY_ENCRYPTED	/* password-protected private key */
};
enum pki_kind	 pki_detect(const char *buf, size_t len);
const char	*pki_kind_name(enum pki_kind k);

/* Writing: atomic (temporary file + rename); keys 0600, the rest 0644. */
int		 pki_write_certs(const char *path, STACK_OF(X509) *certs,
		     char **cause);
int		 pki_write_cert(const char *path, X509 *x, char **cause);
int		 pki_write_key(const char *path, EVP_PKEY *k, char **cause);
int		 pki_write_csr(const char *path, X509_REQ *r, char **cause);
int		 pki_write_crl(const char *path, X509_CRL *crl, char **cause);
/* DER of one object, atomically (convert --to der). */
int		 pki_write_der(const char *path, const unsigned char *der,
		     size_t len, char **cause);

/* Descriptions, each a new string the caller frees. */
char		*pki_name_line(const X509_NAME *n);	/* "CN=a, O=b" */
char		*pki_time_iso(const ASN1_TIME *t);	/* 2026-11-26T17:00:00Z */
char		*pki_fingerprint(X509 *x);		/* AA:BB:... SHA-256 */
char		*pki_key_desc(const EVP_PKEY *k);	/* "RSA 2048", "EC P-256" */
/* subjectAltName entries as "DNS:a, IP:1.2.3.4, URI:sip:b"; "" if none. */
char		*pki_san_line(X509 *x);
/* extendedKeyUsage as "serverAuth, clientAuth"; NULL when absent. */
char		*pki_eku_line(X509 *x);
/* Whether x has the EKU nid (NID_server_auth...): 1 yes, 0 no, -1 no EKU. */
int		 pki_has_eku(X509 *x, int nid);
/* Seconds from now until notAfter (negative: expired). */
long long	 pki_seconds_left(X509 *x, time_t now);

/* The first queued OpenSSL error as text (or "unrecognised data"). */
const char	*pki_ossl_reason(char *buf, size_t bufsz);

#endif
