/*
 * rev_crl.c: sniff and unpack CRL data: DER, PEM, gzip (zlib) and ZIP
 * (minizip, reading from memory through its I/O callbacks, so a download
 * never touches the disk before it is known to be good).
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <unzip.h>
#include <zlib.h>

#include "rev/rev_crl.h"
#include "util/xmalloc.h"

const char *
rev_crl_format_name(enum rev_crl_format f)
{
	switch (f) {
	case REV_CRL_DER:	return "der";
	case REV_CRL_PEM:	return "pem";
	case REV_CRL_GZIP:	return "gzip";
	case REV_CRL_ZIP:	return "zip";
	}
	return "?";
}

static int
is_gzip(const unsigned char *p, size_t len)
{
	return len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8;
}

static int
is_zip(const unsigned char *p, size_t len)
{
	return len >= 4 && p[0] == 'P' && p[1] == 'K' &&
	    ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6));
}

static int
is_pem(const unsigned char *p, size_t len)
{
	return memmem(p, len, "-----BEGIN ", 11) != NULL;
}

/* PEM or DER CRLs (no archive) into out; the count found. */
static int
parse_plain(const unsigned char *data, size_t len, STACK_OF(X509_CRL) *out)
{
	STACK_OF(X509_INFO) *infos;
	const unsigned char *p = data;
	X509_CRL *crl;
	BIO *bio;
	int i, n = 0;

	if (len > INT32_MAX)
		return 0;
	if (!is_pem(data, len)) {
		if (len < 2 || data[0] != 0x30 ||
		    (crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL) {
			ERR_clear_error();
			return 0;
		}
		sk_X509_CRL_push(out, crl);
		return 1;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->crl != NULL) {
			sk_X509_CRL_push(out, xi->crl);
			xi->crl = NULL;
			n++;
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	return n;
}

/* gunzip data into a new buffer of at most max bytes. */
static unsigned char *
gunzip(const unsigned char *data, size_t len, size_t max, size_t *outlen,
    char **why)
{
	z_stream zs;
	unsigned char *out = NULL;
	size_t cap = 0, used = 0;
	int rc;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 32) != Z_OK) {	/* +32: gzip header */
		*why = xstrdup("cannot start zlib");
		return NULL;
	}
	zs.next_in = (unsigned char *)(uintptr_t)data;
	zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	do {
		if (used == cap) {
			if (cap >= max) {
				*why = xasprintf("it expands to more than %zu "
				    "bytes", max);
				goto fail;
			}
			cap = cap == 0 ? len * 4 + 4096 : cap * 2;
			if (cap > max)
				cap = max;
			out = xrealloc(out, cap);
		}
		zs.next_out = out + used;
		zs.avail_out = (uInt)(cap - used > UINT32_MAX ? UINT32_MAX :
		    cap - used);
		rc = inflate(&zs, Z_NO_FLUSH);
		used = (size_t)(zs.next_out - out);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			*why = xasprintf("damaged gzip data (%s)",
			    zs.msg != NULL ? zs.msg : "inflate failed");
			goto fail;
		}
		if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
			*why = xstrdup("truncated gzip data");
			goto fail;
		}
	} while (1);
	inflateEnd(&zs);
	*outlen = used;
	return out;
fail:
	inflateEnd(&zs);
	free(out);
	return NULL;
}

/* --- minizip over a memory buffer ----------------------------------- */

struct membuf {
	const unsigned char	*data;
	size_t			 len;
	size_t			 pos;
};

static voidpf ZCALLBACK
mem_open(voidpf opaque, const void *filename, int mode)
{
	struct membuf *m = opaque;

	(void)filename;
	if ((mode & ZLIB_FILEFUNC_MODE_WRITE) != 0)
		return NULL;
	m->pos = 0;
	return m;
}

static uLong ZCALLBACK
mem_read(voidpf opaque, voidpf stream, void *buf, uLong size)
{
	struct membuf *m = stream;
	size_t n = m->len - m->pos;

	(void)opaque;
	if (n > size)
		n = size;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (uLong)n;
}

static uLong ZCALLBACK
mem_write(voidpf opaque, voidpf stream, const void *buf, uLong size)
{
	(void)opaque;
	(void)stream;
	(void)buf;
	(void)size;
	return 0;
}

static ZPOS64_T ZCALLBACK
mem_tell(voidpf opaque, voidpf stream)
{
	(void)opaque;
	return ((struct membuf *)stream)->pos;
}

static long ZCALLBACK
mem_seek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin)
{
	struct membuf *m = stream;
	ZPOS64_T base;

	(void)opaque;
	switch (origin) {
	case ZLIB_FILEFUNC_SEEK_SET:	base = 0; break;
	case ZLIB_FILEFUNC_SEEK_CUR:	base = m->pos; break;
	case ZLIB_FILEFUNC_SEEK_END:	base = m->len; break;
	default:			return -1;
	}
	if (base + off > m->len)
		return -1;
	m->pos = (size_t)(base + off);
	return 0;
}

static int ZCALLBACK
mem_close(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

static int ZCALLBACK
mem_error(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

/* Every member of a ZIP archive that holds CRLs; -1 with *why. */
static int
parse_zip(const unsigned char *data, size_t len, size_t max,
    STACK_OF(X509_CRL) *out, int *nmembers, char **why)
{
	struct membuf m = { data, len, 0 };
	zlib_filefunc64_def io;
	unz_file_info64 info;
	unsigned char *buf;
	size_t total = 0;
	unzFile z;
	int rc, n = 0, got;

	memset(&io, 0, sizeof io);
	io.zopen64_file = mem_open;
	io.zread_file = mem_read;
	io.zwrite_file = mem_write;
	io.ztell64_file = mem_tell;
	io.zseek64_file = mem_seek;
	io.zclose_file = mem_close;
	io.zerror_file = mem_error;
	io.opaque = &m;
	if ((z = unzOpen2_64("memory", &io)) == NULL) {
		*why = xstrdup("damaged ZIP archive (no central directory)");
		return -1;
	}
	*nmembers = 0;
	for (rc = unzGoToFirstFile(z); rc == UNZ_OK; rc = unzGoToNextFile(z)) {
		if (unzGetCurrentFileInfo64(z, &info, NULL, 0, NULL, 0, NULL,
		    0) != UNZ_OK)
			break;
		(*nmembers)++;
		if (info.uncompressed_size == 0)
			continue;	/* a directory entry */
		if (info.uncompressed_size > max - total) {
			*why = xasprintf("it expands to more than %zu bytes",
			    max);
			unzClose(z);
			return -1;
		}
		if (unzOpenCurrentFile(z) != UNZ_OK) {
			*why = xstrdup("damaged ZIP archive (cannot open a "
			    "member; encrypted?)");
			unzClose(z);
			return -1;
		}
		buf = xmalloc((size_t)info.uncompressed_size);
		got = unzReadCurrentFile(z, buf,
		    (unsigned)info.uncompressed_size);
		if (unzCloseCurrentFile(z) != UNZ_OK ||
		    got != (int)info.uncompressed_size) {
			free(buf);
			*why = xstrdup("damaged ZIP archive (a member fails its "
			    "CRC or is truncated)");
			unzClose(z);
			return -1;
		}
		total += (size_t)info.uncompressed_size;
		n += parse_plain(buf, (size_t)info.uncompressed_size, out);
		free(buf);
	}
	unzClose(z);
	if (rc != UNZ_END_OF_LIST_OF_FILE && rc != UNZ_OK) {
		*why = xstrdup("damaged ZIP archive");
		return -1;
	}
	return n;
}

int
rev_crl_parse_certs(const unsigned char *data, size_t len, STACK_OF(X509) *out)
{
	BIO *b;
	X509 *x;
	int n = 0;

	if (len == 0 || len > INT_MAX || !is_pem(data, len))
		return 0;
	b = BIO_new_mem_buf(data, (int)len);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		sk_X509_push(out, x);
		n++;
	}
	BIO_free(b);
	ERR_clear_error();
	return n;
}

/* The DER of crl's extension nid (NULL: none); *len its length. */
static const unsigned char *
ext_der(X509_CRL *crl, int nid, int *len)
{
	int i = X509_CRL_get_ext_by_NID(crl, nid, -1);
	ASN1_OCTET_STRING *v;

	*len = 0;
	if (i < 0)
		return NULL;
	v = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i));
	*len = ASN1_STRING_length(v);
	return ASN1_STRING_get0_data(v);
}

int
rev_crl_same_scope(X509_CRL *a, X509_CRL *b)
{
	const unsigned char *ia, *ib;
	int la, lb;

	if (X509_NAME_cmp(X509_CRL_get_issuer(a), X509_CRL_get_issuer(b)) != 0)
		return 0;
	if ((X509_CRL_get_ext_by_NID(a, NID_delta_crl, -1) >= 0) !=
	    (X509_CRL_get_ext_by_NID(b, NID_delta_crl, -1) >= 0))
		return 0;
	ia = ext_der(a, NID_issuing_distribution_point, &la);
	ib = ext_der(b, NID_issuing_distribution_point, &lb);
	return la == lb && (la == 0 || memcmp(ia, ib, (size_t)la) == 0);
}

int
rev_crl_parse(const char *name, const unsigned char *data, size_t len,
    size_t max_expanded, STACK_OF(X509_CRL) *out,
    enum rev_crl_format *formatp, char **cause)
{
	enum rev_crl_format fmt;
	unsigned char *inner;
	size_t innerlen;
	char *why = NULL;
	int n, members = 0, start = sk_X509_CRL_num(out);

	if (len == 0) {
		*cause = xasprintf("%s is empty", name);
		return -1;
	}
	if (is_gzip(data, len)) {
		fmt = REV_CRL_GZIP;
		if ((inner = gunzip(data, len, max_expanded, &innerlen,
		    &why)) == NULL) {
			*cause = xasprintf("%s: gzip content not usable: %s",
			    name, why);
			free(why);
			return -1;
		}
		n = parse_plain(inner, innerlen, out);
		free(inner);
		if (n == 0) {
			*cause = xasprintf("%s is gzip data holding no CRL (PEM "
			    "or DER)", name);
			return -1;
		}
	} else if (is_zip(data, len)) {
		fmt = REV_CRL_ZIP;
		if ((n = parse_zip(data, len, max_expanded, out, &members,
		    &why)) == -1) {
			/* Members before the bad one may have given CRLs. */
			while (sk_X509_CRL_num(out) > start)
				X509_CRL_free(sk_X509_CRL_pop(out));
			*cause = xasprintf("%s: ZIP content not usable: %s",
			    name, why);
			free(why);
			return -1;
		}
		if (n == 0) {
			*cause = xasprintf("%s is a ZIP archive of %d file%s, "
			    "none of them a CRL (PEM or DER)", name, members,
			    members == 1 ? "" : "s");
			return -1;
		}
	} else {
		fmt = is_pem(data, len) ? REV_CRL_PEM : REV_CRL_DER;
		if ((n = parse_plain(data, len, out)) == 0) {
			*cause = xasprintf("%s holds no CRL: it is not PEM, DER, "
			    "gzip or ZIP data%s", name, fmt == REV_CRL_PEM ?
			    " (no complete BEGIN X509 CRL block)" : "");
			return -1;
		}
	}
	if (formatp != NULL)
		*formatp = fmt;
	return n;
}

char *
rev_crl_dp_url(STACK_OF(DIST_POINT) *dps, size_t max)
{
	char *out = NULL;
	int i, j, len;

	for (i = 0; i < sk_DIST_POINT_num(dps) && out == NULL; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname)
		    && out == NULL; j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);
			const char *u;

			if (g->type != GEN_URI)
				continue;
			u = (const char *)ASN1_STRING_get0_data(g->d.ia5);
			len = ASN1_STRING_length(g->d.ia5);
			if (len > 0 && (size_t)len < max &&
			    (size_t)len == strlen(u) &&
			    (strncasecmp(u, "http://", 7) == 0 ||
			    strncasecmp(u, "https://", 8) == 0))
				out = xstrndup(u, (size_t)len);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return out;
}
