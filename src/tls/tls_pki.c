/*
 * tls_pki.c: read, recognise, describe and write certificates, keys, CSRs
 * and CRLs.  Input is untrusted operator data: every path that fails says
 * which file and what is wrong with it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls/tls_pki.h"
#include "util/file.h"
#include "util/xmalloc.h"

char *
pki_slurp(const char *path, size_t *lenp, char **cause)
{
	return pki_slurp_max(path, PKI_MAX_FILE, lenp, cause);
}

char *
pki_slurp_max(const char *path, size_t max, size_t *lenp, char **cause)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*cause = xasprintf("%s is %s, not a file", path,
		    S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size == 0) {
		*cause = xasprintf("%s is empty", path);
		close(fd);
		return NULL;
	}
	if ((unsigned long long)st.st_size > max) {
		*cause = xasprintf("%s is too large (%lld bytes) for a "
		    "certificate, key or CRL file", path, (long long)st.st_size);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 2);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*cause = xasprintf("cannot read %s: %s", path,
			    strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*lenp = off;
	return buf;
}

int
pki_is_pem(const char *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

size_t
pki_pem_normalise(char *buf, size_t len)
{
	size_t in = 0, out = 0, start, end;

	while (in < len) {
		start = in;
		while (in < len && buf[in] != '\n' && buf[in] != '\r')
			in++;
		end = in;
		if (in < len && buf[in] == '\r')
			in++;
		if (in < len && buf[in] == '\n')
			in++;
		while (start < end && isspace((unsigned char)buf[start]))
			start++;
		while (end > start && isspace((unsigned char)buf[end - 1]))
			end--;
		if (start == end)
			continue;
		memmove(buf + out, buf + start, end - start);
		out += end - start;
		buf[out++] = '\n';
	}
	buf[out] = '\0';
	return out;
}

const char *
pki_ossl_reason(char *buf, size_t bufsz)
{
	unsigned long e = ERR_peek_last_error();
	const char *r;

	if (e == 0 || (r = ERR_reason_error_string(e)) == NULL)
		snprintf(buf, bufsz, "unrecognised data");
	else
		snprintf(buf, bufsz, "%s", r);
	ERR_clear_error();
	return buf;
}

/*
 * Whether PEM text has more BEGIN lines than END lines: the file was cut
 * short.  OpenSSL's own reasons for it ("bad end line", "unsupported") do
 * not say so.
 */
static int
pem_truncated(const char *buf, size_t len)
{
	const char *s, *end = buf + len;
	int begins = 0, ends = 0;

	for (s = buf; (s = memmem(s, (size_t)(end - s), "-----BEGIN ", 11))
	    != NULL; s += 11)
		begins++;
	for (s = buf; (s = memmem(s, (size_t)(end - s), "-----END ", 9))
	    != NULL; s += 9)
		ends++;
	return begins > ends;
}

static char *
truncated_cause(const char *name)
{
	return xasprintf("%s is truncated: its PEM data has a BEGIN line "
	    "without the matching END line", name);
}

/* Leading bytes of a DER SEQUENCE: the only thing DER input can start with. */
static int
is_der_sequence(const char *buf, size_t len)
{
	return len >= 2 && (unsigned char)buf[0] == 0x30;
}

STACK_OF(X509) *
pki_parse_certs(const char *name, char *buf, size_t len,
    STACK_OF(X509_CRL) *crls, char **cause)
{
	STACK_OF(X509_INFO) *infos;
	STACK_OF(X509) *certs = sk_X509_new_null();
	const unsigned char *p;
	X509_INFO *xi;
	char why[256];
	BIO *bio;
	X509 *x;
	int i;

	if (!pki_is_pem(buf, len)) {
		p = (const unsigned char *)buf;
		if (!is_der_sequence(buf, len) ||
		    (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
			ERR_clear_error();
			*cause = xasprintf("%s holds no certificate: it is "
			    "neither PEM nor a DER certificate", name);
			goto fail;
		}
		sk_X509_push(certs, x);
		return certs;
	}
	len = pki_pem_normalise(buf, len);
	if (pem_truncated(buf, len)) {
		*cause = truncated_cause(name);
		goto fail;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos == NULL) {
		*cause = xasprintf("%s: cannot read its PEM data (%s); the file "
		    "may be truncated or damaged", name,
		    pki_ossl_reason(why, sizeof why));
		goto fail;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 != NULL) {
			sk_X509_push(certs, xi->x509);
			xi->x509 = NULL;
		}
		if (xi->crl != NULL && crls != NULL) {
			sk_X509_CRL_push(crls, xi->crl);
			xi->crl = NULL;
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	if (sk_X509_num(certs) == 0) {
		*cause = xasprintf("%s holds no certificate (no BEGIN "
		    "CERTIFICATE block)", name);
		goto fail;
	}
	return certs;
fail:
	sk_X509_pop_free(certs, X509_free);
	return NULL;
}

STACK_OF(X509) *
pki_read_certs(const char *path, STACK_OF(X509_CRL) *crls, char **cause)
{
	STACK_OF(X509) *certs;
	size_t len;
	char *buf;

	if ((buf = pki_slurp(path, &len, cause)) == NULL)
		return NULL;
	certs = pki_parse_certs(path, buf, len, crls, cause);
	free(buf);
	return certs;
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

static int
pem_encrypted_key(const char *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN ENCRYPTED PRIVATE KEY", 32) != NULL ||
	    (memmem(buf, len, "PRIVATE KEY-----", 16) != NULL &&
	    memmem(buf, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL);
}

/* Whether DER data is an encrypted PKCS#8 key. */
static int
der_encrypted_key(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);

	ERR_clear_error();
	if (sig == NULL)
		return 0;
	X509_SIG_free(sig);
	return p == (const unsigned char *)buf + len;
}

EVP_PKEY *
pki_read_key(const char *path, char **cause)
{
	const unsigned char *p;
	EVP_PKEY *k = NULL;
	char *buf, why[256];
	size_t len, cap;
	int asked = 0;
	BIO *bio;

	if ((buf = pki_slurp(path, &len, cause)) == NULL)
		return NULL;
	cap = len;
	if (pki_is_pem(buf, len) ? pem_encrypted_key(buf, len) :
	    der_encrypted_key(buf, len)) {
		*cause = xasprintf("%s is protected by a password; sipedge needs "
		    "the key stored unencrypted (and readable by it only, mode "
		    "0600). Convert it with: openssl pkey -in %s -out "
		    "server.key && chmod 600 server.key", path, path);
		goto out;
	}
	if (pki_is_pem(buf, len)) {
		len = pki_pem_normalise(buf, len);
		if (pem_truncated(buf, len)) {
			*cause = truncated_cause(path);
			goto out;
		}
		bio = BIO_new_mem_buf(buf, (int)len);
		k = PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked);
		BIO_free(bio);
	} else if (!is_der_sequence(buf, len)) {
		*cause = xasprintf("%s holds no usable private key: it is "
		    "neither PEM nor DER", path);
		goto out;
	} else {
		p = (const unsigned char *)buf;
		k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	if (k == NULL) {
		if (asked)
			*cause = xasprintf("%s is protected by a password; sipedge "
			    "needs the key stored unencrypted. Convert it with: "
			    "openssl pkey -in %s -out server.key", path, path);
		else if (pki_is_pem(buf, len) &&
		    memmem(buf, len, "PRIVATE KEY-----", 16) == NULL)
			*cause = xasprintf("%s holds no private key (no BEGIN "
			    "PRIVATE KEY block)", path);
		else
			*cause = xasprintf("%s holds no usable private key (%s); "
			    "the file may be truncated or damaged", path,
			    pki_ossl_reason(why, sizeof why));
	}
out:
	ERR_clear_error();
	OPENSSL_cleanse(buf, cap);
	free(buf);
	return k;
}

STACK_OF(X509_CRL) *
pki_parse_crls(const char *name, char *buf, size_t len, char **cause)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	STACK_OF(X509_INFO) *infos;
	const unsigned char *p;
	X509_CRL *crl;
	X509_INFO *xi;
	char why[256];
	BIO *bio;
	int i;

	if (!pki_is_pem(buf, len)) {
		p = (const unsigned char *)buf;
		if (!is_der_sequence(buf, len) ||
		    (crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL) {
			ERR_clear_error();
			*cause = xasprintf("%s holds no CRL: it is neither PEM "
			    "nor a DER CRL", name);
			sk_X509_CRL_free(crls);
			return NULL;
		}
		sk_X509_CRL_push(crls, crl);
		return crls;
	}
	len = pki_pem_normalise(buf, len);
	if (pem_truncated(buf, len)) {
		*cause = truncated_cause(name);
		sk_X509_CRL_free(crls);
		return NULL;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos == NULL) {
		*cause = xasprintf("%s: cannot read its PEM data (%s); the file "
		    "may be truncated or damaged", name,
		    pki_ossl_reason(why, sizeof why));
		sk_X509_CRL_free(crls);
		return NULL;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->crl != NULL) {
			sk_X509_CRL_push(crls, xi->crl);
			xi->crl = NULL;
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	if (sk_X509_CRL_num(crls) == 0) {
		*cause = xasprintf("%s holds no CRL (no BEGIN X509 CRL block)",
		    name);
		sk_X509_CRL_free(crls);
		return NULL;
	}
	return crls;
}

STACK_OF(X509_CRL) *
pki_read_crls(const char *path, char **cause)
{
	STACK_OF(X509_CRL) *crls;
	size_t len;
	char *buf;

	if ((buf = pki_slurp_max(path, PKI_MAX_CRL_FILE, &len, cause)) == NULL)
		return NULL;
	crls = pki_parse_crls(path, buf, len, cause);
	free(buf);
	return crls;
}

X509_REQ *
pki_read_csr(const char *path, char **cause)
{
	const unsigned char *p;
	X509_REQ *r = NULL;
	char *buf, why[256];
	size_t len;
	BIO *bio;

	if ((buf = pki_slurp(path, &len, cause)) == NULL)
		return NULL;
	if (pki_is_pem(buf, len)) {
		len = pki_pem_normalise(buf, len);
		if (pem_truncated(buf, len)) {
			*cause = truncated_cause(path);
			free(buf);
			return NULL;
		}
		bio = BIO_new_mem_buf(buf, (int)len);
		r = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else if (is_der_sequence(buf, len)) {
		p = (const unsigned char *)buf;
		r = d2i_X509_REQ(NULL, &p, (long)len);
	}
	if (r == NULL)
		*cause = xasprintf("%s holds no certificate signing request (%s)",
		    path, pki_ossl_reason(why, sizeof why));
	free(buf);
	return r;
}

/* --- detection ------------------------------------------------------ */

static enum pki_kind
detect_der(const char *buf, size_t len)
{
	const unsigned char *p;
	enum pki_kind k = PKI_GARBAGE;
	X509 *x;
	X509_REQ *r;
	X509_CRL *c;
	EVP_PKEY *pk;

	if (!is_der_sequence(buf, len))
		return PKI_GARBAGE;
	p = (const unsigned char *)buf;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		X509_free(x);
		k = PKI_CERT;
		goto out;
	}
	p = (const unsigned char *)buf;
	if ((c = d2i_X509_CRL(NULL, &p, (long)len)) != NULL) {
		X509_CRL_free(c);
		k = PKI_CRL;
		goto out;
	}
	p = (const unsigned char *)buf;
	if ((r = d2i_X509_REQ(NULL, &p, (long)len)) != NULL) {
		X509_REQ_free(r);
		k = PKI_CSR;
		goto out;
	}
	if (der_encrypted_key(buf, len)) {
		k = PKI_KEY_ENCRYPTED;
		goto out;
	}
	p = (const unsigned char *)buf;
	if ((pk = d2i_AutoPrivateKey(NULL, &p, (long)len)) != NULL) {
		EVP_PKEY_free(pk);
		k = PKI_KEY;
	}
out:
	ERR_clear_error();
	return k;
}

enum pki_kind
pki_detect(const char *buf, size_t len)
{
	int ncert = 0;
	const char *s, *end = buf + len;

	if (!pki_is_pem(buf, len))
		return detect_der(buf, len);
	for (s = buf; (s = memmem(s, (size_t)(end - s), "-----BEGIN ", 11))
	    != NULL; s += 11) {
		const char *t = s + 11;
		size_t left = (size_t)(end - t);

		if (left >= 12 && (memcmp(t, "CERTIFICATE-", 12) == 0 ||
		    (left >= 17 && memcmp(t, "X509 CERTIFICATE-", 17) == 0) ||
		    (left >= 20 && memcmp(t, "TRUSTED CERTIFICATE-", 20) == 0)))
			ncert++;
	}
	if (ncert > 1)
		return PKI_CHAIN;
	if (ncert == 1)
		return PKI_CERT;
	if (memmem(buf, len, "-----BEGIN CERTIFICATE REQUEST", 30) != NULL ||
	    memmem(buf, len, "-----BEGIN NEW CERTIFICATE REQUEST", 34) != NULL)
		return PKI_CSR;
	if (memmem(buf, len, "-----BEGIN X509 CRL", 19) != NULL)
		return PKI_CRL;
	if (pem_encrypted_key(buf, len))
		return PKI_KEY_ENCRYPTED;
	if (memmem(buf, len, "PRIVATE KEY-----", 16) != NULL)
		return PKI_KEY;
	return PKI_GARBAGE;
}

const char *
pki_kind_name(enum pki_kind k)
{
	switch (k) {
	case PKI_CERT:		return "certificate";
	case PKI_CHAIN:		return "certificate chain";
	case PKI_CSR:		return "certificate signing request";
	case PKI_CRL:		return "certificate revocation list";
	case PKI_KEY:		return "private key";
	case PKI_KEY_ENCRYPTED:	return "password-protected private key";
	case PKI_GARBAGE:	break;
	}
	return "unrecognised data";
}

/* --- writing -------------------------------------------------------- */

static int
write_bio(const char *path, BIO *bio, mode_t mode, char **cause)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int rv;

	rv = file_write_atomic(path, data, (size_t)len, mode, cause);
	if (mode == 0600)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return rv;
}

int
pki_write_certs(const char *path, STACK_OF(X509) *certs, char **cause)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int i;

	for (i = 0; i < sk_X509_num(certs); i++)
		PEM_write_bio_X509(bio, sk_X509_value(certs, i));
	return write_bio(path, bio, 0644, cause);
}

int
pki_write_cert(const char *path, X509 *x, char **cause)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_X509(bio, x);
	return write_bio(path, bio, 0644, cause);
}

int
pki_write_key(const char *path, EVP_PKEY *k, char **cause)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	return write_bio(path, bio, 0600, cause);
}

int
pki_write_csr(const char *path, X509_REQ *r, char **cause)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_X509_REQ(bio, r);
	return write_bio(path, bio, 0644, cause);
}

int
pki_write_crl(const char *path, X509_CRL *crl, char **cause)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_X509_CRL(bio, crl);
	return write_bio(path, bio, 0644, cause);
}

int
pki_write_der(const char *path, const unsigned char *der, size_t len,
    char **cause)
{
	return file_write_atomic(path, (const char *)der, len, 0644, cause);
}

/* --- descriptions --------------------------------------------------- */

char *
pki_name_line(const X509_NAME *n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	/* RFC 2253 escaping, in certificate order, ", " between RDNs (the
	 * separator bits are replaced, not added to: both would be "; "). */
	X509_NAME_print_ex(bio, n, 0, (XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV &
	    ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SEP_MASK) | XN_FLAG_SEP_CPLUS_SPC);
	len = BIO_get_mem_data(bio, &data);
	out = len > 0 ? xstrndup(data, (size_t)len) : xstrdup("(empty)");
	BIO_free(bio);
	return out;
}

char *
pki_time_iso(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return xstrdup("?");
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *
pki_fingerprint(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *out;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		return xstrdup("?");
	out = xmalloc(n * 3 + 1);
	for (i = 0; i < n; i++)
		snprintf(out + i * 3, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return out;
}

char *
pki_key_desc(const EVP_PKEY *k)
{
	char group[64];
	size_t glen = 0;

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		return xasprintf("RSA %d", EVP_PKEY_get_bits(k));
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(k, "group", group,
		    sizeof group, &glen) == 1) {
			const char *nist = EC_curve_nid2nist(OBJ_sn2nid(group));

			return xasprintf("EC %s", nist ? nist : group);
		}
		return xasprintf("EC %d", EVP_PKEY_get_bits(k));
	case EVP_PKEY_ED25519:
		return xstrdup("Ed25519");
	case EVP_PKEY_ED448:
		return xstrdup("Ed448");
	}
	return xasprintf("%s %d", OBJ_nid2sn(EVP_PKEY_get_base_id(k)),
	    EVP_PKEY_get_bits(k));
}

char *
pki_san_line(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	char *out = xstrdup(""), *t, ip[64];
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		char *v = NULL;

		switch (g->type) {
		case GEN_DNS:
		case GEN_URI:
		case GEN_EMAIL:
			s = g->d.ia5;
			v = xasprintf("%s:%.*s", g->type == GEN_DNS ? "DNS" :
			    g->type == GEN_URI ? "URI" : "email",
			    ASN1_STRING_length(s),
			    (const char *)ASN1_STRING_get0_data(s));
			break;
		case GEN_IPADD:
			s = g->d.ip;
			if (ASN1_STRING_length(s) == 4)
				inet_ntop(AF_INET, ASN1_STRING_get0_data(s), ip,
				    sizeof ip);
			else if (ASN1_STRING_length(s) == 16)
				inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), ip,
				    sizeof ip);
			else
				snprintf(ip, sizeof ip, "?");
			v = xasprintf("IP:%s", ip);
			break;
		default:
			v = xstrdup("other:?");
			break;
		}
		t = xasprintf("%s%s%s", out, *out ? ", " : "", v);
		free(out);
		free(v);
		out = t;
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return out;
}

char *
pki_eku_line(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL);
	char *out, *t, buf[128];
	int i;

	ERR_clear_error();
	if (eku == NULL)
		return NULL;
	out = xstrdup("");
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(o);

		if (nid != NID_undef)
			snprintf(buf, sizeof buf, "%s", OBJ_nid2sn(nid));
		else
			OBJ_obj2txt(buf, sizeof buf, o, 1);
		t = xasprintf("%s%s%s", out, *out ? ", " : "", buf);
		free(out);
		out = t;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return out;
}

int
pki_has_eku(X509 *x, int nid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL);
	int i, found = 0;

	ERR_clear_error();
	if (eku == NULL)
		return -1;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		int n = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));

		if (n == nid || n == NID_anyExtendedKeyUsage)
			found = 1;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

long long
pki_seconds_left(X509 *x, time_t now)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, now);
	int days = 0, secs = 0;

	ASN1_TIME_diff(&days, &secs, t, X509_get0_notAfter(x));
	ASN1_TIME_free(t);
	return (long long)days * 86400 + secs;
}
