/*
 * test_rev_crl.c: rev_crl_parse sniffs DER, PEM, gzip and ZIP CRL data by
 * content and refuses garbage, damaged archives and decompression bombs.
 * The CRLs are made here with OpenSSL; the archives with zlib and
 * minizip's writer, independent of the reader under test.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <zip.h>
#include <zlib.h>

#include "rev/rev_crl.h"
#include "util/xmalloc.h"

struct blob {
	unsigned char	*p;
	size_t		 len;
};

static EVP_PKEY *key;

/* A CRL of issuer CN=cn with nrevoked entries, signed by key. */
static X509_CRL *
make_crl(const char *cn, int nrevoked)
{
	X509_CRL *crl = X509_CRL_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
	int i;

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, name);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_adj(t, time(NULL), 7, 0);
	X509_CRL_set1_nextUpdate(crl, t);
	for (i = 0; i < nrevoked; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *serial = ASN1_INTEGER_new();

		ASN1_INTEGER_set(serial, 1000 + i);
		X509_REVOKED_set_serialNumber(r, serial);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(serial);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	ASN1_TIME_free(t);
	return crl;
}

static struct blob
der_of(X509_CRL *crl)
{
	struct blob b = { NULL, 0 };
	int n = i2d_X509_CRL(crl, &b.p);

	assert_true(n > 0);
	b.len = (size_t)n;
	return b;
}

static struct blob
pem_of(X509_CRL **crls, int n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	struct blob b;
	char *data;
	long len;
	int i;

	for (i = 0; i < n; i++)
		PEM_write_bio_X509_CRL(bio, crls[i]);
	len = BIO_get_mem_data(bio, &data);
	b.p = xmalloc((size_t)len);
	memcpy(b.p, data, (size_t)len);
	b.len = (size_t)len;
	BIO_free(bio);
	return b;
}

static struct blob
gzip_of(const unsigned char *p, size_t len)
{
	struct blob b;
	z_stream zs;

	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	b.len = deflateBound(&zs, len) + 64;
	b.p = xmalloc(b.len);
	zs.next_in = (unsigned char *)(uintptr_t)p;
	zs.avail_in = (uInt)len;
	zs.next_out = b.p;
	zs.avail_out = (uInt)b.len;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	b.len = zs.total_out;
	deflateEnd(&zs);
	return b;
}

static void
slurp_into(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b->p = xmalloc((size_t)n);
	assert_int_equal(fread(b->p, 1, (size_t)n, f), (size_t)n);
	b->len = (size_t)n;
	fclose(f);
}

/* A ZIP archive of the named members. */
static struct blob
zip_of(int n, const char **names, struct blob *members)
{
	const char *t = getenv("TMPDIR");
	char path[4096];
	struct blob b;
	zipFile z;
	int i, fd;

	snprintf(path, sizeof path, "%s/sipedge-zip-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_non_null(z = zipOpen(path, APPEND_STATUS_CREATE));
	for (i = 0; i < n; i++) {
		assert_int_equal(zipOpenNewFileInZip(z, names[i], NULL, NULL, 0,
		    NULL, 0, NULL, Z_DEFLATED, 6), ZIP_OK);
		assert_int_equal(zipWriteInFileInZip(z, members[i].p,
		    (unsigned)members[i].len), ZIP_OK);
		assert_int_equal(zipCloseFileInZip(z), ZIP_OK);
	}
	assert_int_equal(zipClose(z, NULL), ZIP_OK);
	slurp_into(path, &b);
	unlink(path);
	return b;
}

/* Parse b and return the count (or -1), checking issuers in order. */
static int
parse(struct blob b, enum rev_crl_format *fmt, char **cause,
    const char *first_cn)
{
	STACK_OF(X509_CRL) *out = sk_X509_CRL_new_null();
	int n = rev_crl_parse("test.crl", b.p, b.len, 1024 * 1024, out, fmt,
	    cause);

	if (n > 0 && first_cn != NULL) {
		char buf[256];

		X509_NAME_get_text_by_NID(X509_CRL_get_issuer(
		    sk_X509_CRL_value(out, 0)), NID_commonName, buf, sizeof buf);
		assert_string_equal(buf, first_cn);
	}
	if (n > 0)
		assert_int_equal(sk_X509_CRL_num(out), n);
	sk_X509_CRL_pop_free(out, X509_CRL_free);
	return n;
}

static int
setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	return key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

static void
test_der_and_pem(void **state)
{
	X509_CRL *crls[2] = { make_crl("CA one", 3), make_crl("CA two", 0) };
	struct blob der = der_of(crls[0]), pem = pem_of(crls, 2);
	enum rev_crl_format fmt;
	char *cause = NULL;

	(void)state;
	assert_int_equal(parse(der, &fmt, &cause, "CA one"), 1);
	assert_int_equal(fmt, REV_CRL_DER);
	assert_int_equal(parse(pem, &fmt, &cause, "CA one"), 2);
	assert_int_equal(fmt, REV_CRL_PEM);
	assert_string_equal(rev_crl_format_name(fmt), "pem");
	X509_CRL_free(crls[0]);
	X509_CRL_free(crls[1]);
	OPENSSL_free(der.p);
	free(pem.p);
}

static void
test_gzip(void **state)
{
	X509_CRL *crl = make_crl("CA gz", 10);
	struct blob der = der_of(crl), pem = pem_of(&crl, 1);
	struct blob gz = gzip_of(der.p, der.len), gzp = gzip_of(pem.p, pem.len);
	enum rev_crl_format fmt;
	char *cause = NULL;

	(void)state;
	assert_int_equal(parse(gz, &fmt, &cause, "CA gz"), 1);
	assert_int_equal(fmt, REV_CRL_GZIP);
	assert_int_equal(parse(gzp, &fmt, &cause, "CA gz"), 1);
	/* Truncated gzip: an error that says so, not a crash. */
	gz.len /= 2;
	assert_int_equal(parse(gz, &fmt, &cause, NULL), -1);
	assert_non_null(strstr(cause, "gzip"));
	free(cause);
	X509_CRL_free(crl);
	OPENSSL_free(der.p);
	free(pem.p);
	free(gz.p);
	free(gzp.p);
}

static void
test_zip(void **state)
{
	X509_CRL *a = make_crl("CA zip a", 2), *b = make_crl("CA zip b", 1);
	struct blob m[3] = { der_of(a), pem_of(&b, 1), { NULL, 0 } };
	const char *names[3] = { "a.crl", "b.pem", "README.txt" };
	struct blob z, zbad;
	enum rev_crl_format fmt;
	char *cause = NULL;

	(void)state;
	m[2].p = (unsigned char *)xstrdup("not a CRL\n");
	m[2].len = 10;
	z = zip_of(3, names, m);
	assert_int_equal(parse(z, &fmt, &cause, "CA zip a"), 2);
	assert_int_equal(fmt, REV_CRL_ZIP);
	/* Only the text member: the message counts the members. */
	zbad = zip_of(1, &names[2], &m[2]);
	assert_int_equal(parse(zbad, &fmt, &cause, NULL), -1);
	assert_non_null(strstr(cause, "ZIP archive of 1 file, none of them"));
	free(cause);
	free(zbad.p);
	/* Damaged: the central directory cut off. */
	z.len -= 30;
	assert_int_equal(parse(z, &fmt, &cause, NULL), -1);
	assert_non_null(strstr(cause, "ZIP"));
	free(cause);
	X509_CRL_free(a);
	X509_CRL_free(b);
	OPENSSL_free(m[0].p);
	free(m[1].p);
	free(m[2].p);
	free(z.p);
}

static void
test_bomb_refused(void **state)
{
	unsigned char *zeros = xcalloc(1, 4 * 1024 * 1024);
	struct blob gz = gzip_of(zeros, 4 * 1024 * 1024);
	const char *name = "big.bin";
	struct blob member = { zeros, 4 * 1024 * 1024 }, z;
	enum rev_crl_format fmt;
	char *cause = NULL;

	(void)state;
	/* parse() allows 1 MiB expanded. */
	assert_int_equal(parse(gz, &fmt, &cause, NULL), -1);
	assert_non_null(strstr(cause, "expands to more than"));
	free(cause);
	z = zip_of(1, &name, &member);
	assert_int_equal(parse(z, &fmt, &cause, NULL), -1);
	assert_non_null(strstr(cause, "expands to more than"));
	free(cause);
	free(zeros);
	free(gz.p);
	free(z.p);
}

/*
 * A ZIP whose first member is a CRL and whose second fails (too big
 * here; a bad CRC does the same): -1, and nothing of it is left in the
 * caller's stack, whose earlier entries stay.  The callers free only the
 * stack on -1, so CRLs appended before the failure leaked (found by
 * tests/fuzz/fuzz_crl).
 */
static void
test_zip_failure_appends_nothing(void **state)
{
	X509_CRL *a = make_crl("CA zip a", 2), *mine = make_crl("CA mine", 0);
	unsigned char *zeros = xcalloc(1, 2 * 1024 * 1024);
	const char *names[2] = { "a.crl", "big.bin" };
	struct blob m[2] = { der_of(a), { zeros, 2 * 1024 * 1024 } }, z;
	STACK_OF(X509_CRL) *out = sk_X509_CRL_new_null();
	char *cause = NULL;

	(void)state;
	z = zip_of(2, names, m);
	sk_X509_CRL_push(out, mine);
	assert_int_equal(rev_crl_parse("test.zip", z.p, z.len, 1024 * 1024,
	    out, NULL, &cause), -1);
	assert_non_null(strstr(cause, "expands to more than"));
	assert_int_equal(sk_X509_CRL_num(out), 1);
	assert_ptr_equal(sk_X509_CRL_value(out, 0), mine);
	free(cause);
	sk_X509_CRL_pop_free(out, X509_CRL_free);
	X509_CRL_free(a);
	OPENSSL_free(m[0].p);
	free(zeros);
	free(z.p);
}

static void
test_garbage(void **state)
{
	struct blob b = { (unsigned char *)"hello world\n", 12 };
	struct blob pem = { (unsigned char *)
	    "-----BEGIN X509 CRL-----\nMIIB\n", 30 };
	struct blob der = { (unsigned char *)"\x30\x03\x02\x01\x01", 5 };
	struct blob empty = { (unsigned char *)"", 0 };
	enum rev_crl_format fmt;
	char *cause = NULL;

	(void)state;
	assert_int_equal(parse(b, &fmt, &cause, NULL), -1);
	assert_string_equal(cause, "test.crl holds no CRL: it is not PEM, DER, "
	    "gzip or ZIP data");
	free(cause);
	assert_int_equal(parse(pem, &fmt, &cause, NULL), -1);
	assert_non_null(strstr(cause, "no complete BEGIN X509 CRL block"));
	free(cause);
	assert_int_equal(parse(der, &fmt, &cause, NULL), -1);
	free(cause);
	assert_int_equal(parse(empty, &fmt, &cause, NULL), -1);
	assert_string_equal(cause, "test.crl is empty");
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_and_pem),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_zip),
		cmocka_unit_test(test_bomb_refused),
		cmocka_unit_test(test_zip_failure_appends_nothing),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
