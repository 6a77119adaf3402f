/*
 * tls_ca.h: a small certificate authority.  The daemon's temporary
 * first-start CA and `sipedge-cert lab-ca` use the same code: key
 * generation, a self-signed root, certificates for a key or a CSR, and,
 * for a CA kept in a directory, an index of what it issued, revocation
 * and CRLs.
 *
 * Every failure is a sentence in *cause (caller frees).  Files are written
 * atomically; keys are mode 0600.  Nothing here is meant for the event
 * loop: key generation and file locking may take a while.
 */
#ifndef SE_TLS_CA_H
#define SE_TLS_CA_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* --- keys ----------------------------------------------------------- */

enum tls_key_type {
	TLS_KEY_EC_P256,	/* the default */
	TLS_KEY_EC_P384,
	TLS_KEY_RSA2048,
	TLS_KEY_RSA3072,
	TLS_KEY_RSA4096
};

/* The words tls_key_type_parse() takes, for messages and usage. */
#define TLS_KEY_TYPE_WORDS	"ec, ec384, rsa2048, rsa3072 or rsa4096"

/* "ec" (P-256), "ec384", "rsa2048"...: 0, or -1 when s names no type. */
int		 tls_key_type_parse(const char *s, enum tls_key_type *tp);

/* A new private key; NULL with *cause on failure.  Caller frees. */
EVP_PKEY	*tls_key_generate(enum tls_key_type t, char **cause);

/* --- certificates --------------------------------------------------- */

/* What goes into a certificate tls_ca_sign() makes. */
struct tls_ca_profile {
	const char	*cn;		/* subject CN (required, <= 64 chars) */
	const char	*org;		/* subject O, or NULL */
	char *const	*sans;		/* subjectAltName entries (below) */
	size_t		 nsans;
	int		 server;	/* EKU serverAuth */
	int		 client;	/* EKU clientAuth; neither: both */
	int		 days;		/* validity from now */
	const char	*crl_url;	/* CRL distribution point, or NULL */
	const char	*ocsp_url;	/* OCSP responder (AIA), or NULL */
	const X509_NAME	*subject;	/* the whole subject (a CSR's), or
					 * NULL: O=org, CN=cn; cn is still
					 * required and read for the SANs */
};

/* Longest validity, in days, of a CA or an issued certificate. */
#define TLS_CA_MAX_DAYS		36500

/*
 * A self-signed CA certificate for key: subject CN (and O when org is
 * not NULL), basicConstraints CA:TRUE, keyUsage keyCertSign and cRLSign,
 * a random 128-bit serial, valid from an hour ago for days.  NULL with
 * *cause.  Caller frees.
 */
X509		*tls_ca_make_root(EVP_PKEY *key, const char *cn, const char *org,
		     int days, char **cause);

/*
 * A certificate for the public key pub, signed by ca / ca_key, as profile
 * p says: CA:FALSE, keyUsage digitalSignature (plus keyEncipherment for
 * RSA), the EKU, SANs (the CN first when it is a DNS name or an IP
 * address that p->sans lacks), CDP and AIA.  Refused: an RSA key under 2048 bits, a
 * bad SAN or URL, a validity past the CA's own.  NULL with *cause.
 */
X509		*tls_ca_sign(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub,
		     const struct tls_ca_profile *p, char **cause);

/* What a certificate signing request asks for. */
struct tls_ca_csr_names {
	char		*cn;		/* subject CN, or NULL */
	char		*org;		/* subject O, or NULL */
	char		**sans;		/* "DNS:x", "IP:x", "URI:x" (other */
	size_t		 nsans;		/* types are left out) */
};

/*
 * The public key of a certificate signing request whose signature
 * verifies (name is the file, for messages), and in *names what it asks
 * for (free with tls_ca_csr_names_clear()).  NULL with *cause.  Caller
 * frees the key.
 */
EVP_PKEY	*tls_ca_csr_key(X509_REQ *req, const char *name,
		     struct tls_ca_csr_names *names, char **cause);
void		 tls_ca_csr_names_clear(struct tls_ca_csr_names *names);

/* --- a CA kept in a directory ---------------------------------------- */

/* Files of a CA directory. */
#define TLS_CA_CERT		"ca.pem"	/* the CA certificate */
#define TLS_CA_KEY		"ca.key"	/* its key, 0600 */
#define TLS_CA_INDEX		"index.txt"	/* what it issued */
#define TLS_CA_CRLNUMBER	"crlnumber"	/* the last CRL number */
#define TLS_CA_CRL		"crl.pem"	/* the last CRL, PEM */
#define TLS_CA_CRL_DER		"crl.der"	/* the same, DER */
#define TLS_CA_LOCK		".lock"		/* flock(2) while open */

/* One certificate the CA issued (a line of the index). */
struct tls_ca_entry {
	char		*serial;	/* upper-case hex, as openssl prints it */
	char		*subject;	/* "CN=a, O=b" */
	time_t		 not_after;
	time_t		 revoked_at;	/* 0 while not revoked */
	int		 reason;	/* CRL_REASON_*, when revoked */
};

struct tls_ca;

/*
 * Create a CA in dir (made 0700 if missing): a new key of type kt, a
 * self-signed certificate, an empty index.  Refused when dir already
 * holds a CA unless force is set; then the old CA, its index and its CRL
 * files are replaced.  NULL with *cause.
 */
struct tls_ca	*tls_ca_create(const char *dir, const char *cn, const char *org,
		     enum tls_key_type kt, int days, int force, char **cause);

/*
 * Open the CA in dir: its certificate, key and index, holding an
 * exclusive lock on the directory until tls_ca_free().  NULL with *cause
 * (no CA there, a damaged index, key and certificate that do not match).
 */
struct tls_ca	*tls_ca_open(const char *dir, char **cause);
void		 tls_ca_free(struct tls_ca *ca);

/* The CA certificate (borrowed) and the index entries. */
X509		*tls_ca_get0_cert(const struct tls_ca *ca);
size_t		 tls_ca_count(const struct tls_ca *ca);
const struct tls_ca_entry *tls_ca_entry(const struct tls_ca *ca, size_t i);

/* tls_ca_sign() with this CA.  The certificate is not yet recorded. */
X509		*tls_ca_issue(struct tls_ca *ca, EVP_PKEY *pub,
		     const struct tls_ca_profile *p, char **cause);
/* Record an issued certificate in the index.  0, or -1 with *cause. */
int		 tls_ca_record(struct tls_ca *ca, X509 *x, char **cause);

/* The words tls_ca_reason_parse() takes. */
#define TLS_CA_REASON_WORDS	"unspecified, keyCompromise, cACompromise, " \
	"affiliationChanged, superseded, cessationOfOperation, " \
	"certificateHold, privilegeWithdrawn or aACompromise"
/* A CRL reason name (as in RFC 5280) to CRL_REASON_*; -1 if unknown. */
int		 tls_ca_reason_parse(const char *s);
const char	*tls_ca_reason_name(int reason);

/*
 * Revoke the certificate with this serial (hex; colons and a 0x prefix
 * allowed) for reason.  Refused: not a serial, not issued by this CA,
 * already revoked.  The entry is returned in *ep.  0, or -1 with *cause.
 */
int		 tls_ca_revoke_serial(struct tls_ca *ca, const char *serial,
		     int reason, const struct tls_ca_entry **ep, char **cause);
/* The same for a certificate (name is its file, for messages). */
int		 tls_ca_revoke_cert(struct tls_ca *ca, X509 *x, const char *name,
		     int reason, const struct tls_ca_entry **ep, char **cause);

/*
 * A new CRL listing every revoked certificate, with the next CRL number
 * (saved in the directory) and nextUpdate days from now.  NULL with
 * *cause.  Caller frees.
 */
X509_CRL	*tls_ca_make_crl(struct tls_ca *ca, int days, char **cause);

/* --- the daemon's temporary CA -------------------------------------- */

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
