/*
 * bench_crl.c: how sipedge copes with a large CRL.  For each size asked
 * for, a CA and a CRL of that many entries (16-byte random serials,
 * revocation dates spread over three years, a reason code on one entry in
 * four) are made in memory with OpenSSL and DER-encoded; then, separately
 * timed: the DER parse (d2i, what rev_crl_parse does), the signature check
 * alone, rev_store_add (signature check, index build, the OpenSSL object
 * freed), and random lookups (half listed, half not) through
 * rev_store_lookup.  Memory: the peak RSS (getrusage) and the RSS and
 * malloc'd bytes with the parsed CRL and with only the index, beside the
 * size of the DER.  For comparison, a streaming loader sipedge does not
 * have (entries decoded one at a time, never the whole object).  Last,
 * rev_crl_parse of the same CRL as DER, PEM and gzip.
 *
 * Every size runs in a child process of its own so its peak RSS is its
 * own, and the CRL is generated in a grandchild and handed over through a
 * pipe, so generating it does not count either.
 *
 * Not part of `make check`: `make bench` builds it; see README.md.
 * Every lookup answer is checked, so a wrong index fails the run (exit 1).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "rev/rev_crl.h"
#include "rev/rev_store.h"
#include "util/xmalloc.h"

#define SERIAL_LEN	16
#define MISS_BASE	(UINT64_C(1) << 62)	/* unlisted serials from here */

static long	nlookups = 1000000;

static void
die(const char *what)
{
	fprintf(stderr, "bench_crl: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* splitmix64: a counter-based generator, so any serial can be recomputed. */
static uint64_t
mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* The serial of entry i (i >= MISS_BASE: a serial that is not listed). */
static void
serial_bytes(uint64_t i, unsigned char out[SERIAL_LEN])
{
	uint64_t a = mix(2 * i), b = mix(2 * i + 1);
	int k;

	for (k = 0; k < 8; k++) {
		out[k] = (unsigned char)(a >> (8 * k));
		out[8 + k] = (unsigned char)(b >> (8 * k));
	}
	/* Positive and exactly 16 bytes long, as CAs issue them. */
	out[0] &= 0x7f;
	if (out[0] == 0)
		out[0] = 0x5a;
}

static double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stopwatch: wall and CPU seconds. */
struct watch {
	double	wall, cpu;
};

static void
watch_start(struct watch *w)
{
	w->wall = now_wall();
	w->cpu = now_cpu();
}

static void
watch_stop(struct watch *w)
{
	w->wall = now_wall() - w->wall;
	w->cpu = now_cpu() - w->cpu;
}

/* Resident set size now, in bytes (Linux /proc; 0 elsewhere). */
static size_t
rss_now(void)
{
	unsigned long size, res;
	FILE *f;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* Peak resident set size so far, in bytes. */
static size_t
rss_peak(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (size_t)ru.ru_maxrss * 1024;	/* kilobytes on Linux */
}

/* Bytes handed out by malloc and not freed (glibc only; 0 elsewhere). */
static size_t
heap_now(void)
{
#ifdef __GLIBC__
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#else
	return 0;
#endif
}

static double
mb(size_t n)
{
	return (double)n / (1024.0 * 1024.0);
}

/*
 * One memory line: RSS and malloc'd bytes now, and what was added since
 * base (malloc'd bytes then, DER included), in all and per entry.
 * mallinfo2 says nothing under valgrind: no difference is shown then.
 */
static void
grown(const char *what, size_t rss, size_t heap, size_t base,
    const char *part, size_t n)
{
	printf("    %-17s %8.1f %8.1f", what, mb(rss), mb(heap));
	if (heap > base)
		printf(" (%s: %.1f MB, %.0f bytes/entry)", part,
		    mb(heap - base), (double)(heap - base) / (double)n);
	printf("\n");
}

/* A self-signed CA allowed to sign CRLs. */
static X509 *
make_ca(EVP_PKEY **keyp)
{
	EVP_PKEY *key;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;

	if ((key = EVP_EC_gen("P-256")) == NULL || x == NULL || n == NULL)
		die("CA key");
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"sipedge bench", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Big CRL CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE")) == NULL)
		die("basicConstraints");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
	    "critical,keyCertSign,cRLSign")) == NULL)
		die("keyUsage");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		die("X509_sign");
	*keyp = key;
	return x;
}

/* The DER of a CRL of ca with n entries; *lenp its length. */
static unsigned char *
make_crl(X509 *ca, EVP_PKEY *key, size_t n, time_t now, int *lenp)
{
	static const int reasons[] = { 1, 3, 4, 5 };
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t;
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	unsigned char serial[SERIAL_LEN], *der = NULL;
	size_t i;

	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	t = ASN1_TIME_set(NULL, now - 3600);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, now + 7 * 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	ASN1_INTEGER_set(num, 42);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	ASN1_INTEGER_free(num);
	for (i = 0; i < n; i++) {
		X509_REVOKED *rv = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		uint64_t h = mix(i ^ UINT64_C(0x5eed));

		serial_bytes(i, serial);
		if (rv == NULL || s == NULL ||
		    ASN1_STRING_set(s, serial, SERIAL_LEN) != 1)
			die("X509_REVOKED");
		X509_REVOKED_set_serialNumber(rv, s);
		ASN1_INTEGER_free(s);
		ASN1_TIME_set(t, now - 3600 - (time_t)(h % (3 * 365 * 86400)));
		X509_REVOKED_set_revocationDate(rv, t);
		if (i % 4 == 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ASN1_ENUMERATED_set(e, reasons[(h >> 40) % 4]);
			X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, e, 0, 0);
			ASN1_ENUMERATED_free(e);
		}
		if (X509_CRL_add0_revoked(crl, rv) != 1)
			die("X509_CRL_add0_revoked");
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(crl);	/* as CAs do; the index does not need it */
	if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0)
		die("X509_CRL_sign");
	if ((*lenp = i2d_X509_CRL(crl, &der)) <= 0)
		die("i2d_X509_CRL");
	X509_CRL_free(crl);
	return der;
}

static void
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, c, len)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		c += w;
		len -= (size_t)w;
	}
}

/*
 * The CRL's DER, generated in a child process and read back, so that the
 * memory OpenSSL needs to build and sign it never shows in our peak RSS.
 */
static unsigned char *
crl_from_child(X509 *ca, EVP_PKEY *key, size_t n, time_t now, size_t *lenp)
{
	unsigned char *der = NULL, *buf = NULL;
	size_t cap = 0, len = 0;
	ssize_t r;
	pid_t pid;
	int fds[2], st, dlen;
	uint64_t hdr;

	if (pipe(fds) == -1)
		die("pipe");
	fflush(NULL);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		close(fds[0]);
		der = make_crl(ca, key, n, now, &dlen);
		hdr = (uint64_t)dlen;
		write_all(fds[1], &hdr, sizeof hdr);
		write_all(fds[1], der, (size_t)dlen);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 1 << 20 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		if ((r = read(fds[0], buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fds[0]);
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || len < sizeof hdr)
		die("the CRL generator");
	memcpy(&hdr, buf, sizeof hdr);
	if (hdr != len - sizeof hdr)
		die("reading the CRL");
	/* Exactly the DER, in a buffer of its own size. */
	*lenp = (size_t)hdr;
	der = xmalloc(*lenp);
	memcpy(der, buf + sizeof hdr, *lenp);
	free(buf);
	return der;
}

/* gzip of data, as a CRL distribution point might serve it. */
static unsigned char *
gzip_of(const unsigned char *data, size_t len, size_t *outlen)
{
	z_stream zs;
	unsigned char *out;
	size_t cap;

	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2");
	cap = deflateBound(&zs, (uLong)len) + 64;
	out = xmalloc(cap);
	zs.next_in = (unsigned char *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		die("deflate");
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* --- what a streaming loader would cost (sipedge does not have one) --- */

/* One DER header at *pp within end: tag and content length, *pp after it. */
static int
der_next(const unsigned char **pp, const unsigned char *end, int *tag,
    long *len)
{
	int xclass, rc;

	rc = ASN1_get_object(pp, len, tag, &xclass, end - *pp);
	if ((rc & 0x80) != 0 || *len > end - *pp)
		return -1;
	if (xclass == V_ASN1_CONTEXT_SPECIFIC)
		*tag |= 0x1000;	/* keep [0] apart from universal tags */
	return 0;
}

/* The tag of the next element, without moving. */
static int
der_peek(const unsigned char *p, const unsigned char *end)
{
	long len;
	int tag;

	if (p >= end || der_next(&p, end, &tag, &len) == -1)
		return -1;
	return tag;
}

struct sent {
	uint64_t	head;
	int64_t		when;
	uint32_t	off;
	uint8_t		len;
	int8_t		reason;
};

/*
 * The signature checked over the raw tbsCertList and the entries decoded
 * one at a time (d2i_X509_REVOKED) into an index like rev_store's, so the
 * whole OpenSSL object never exists.  Returns the entries indexed, or -1.
 */
static long
stream_index(const unsigned char *der, size_t derlen, EVP_PKEY *pk)
{
	const unsigned char *p = der, *end = der + derlen, *tbs, *tend, *q;
	struct sent *v;
	unsigned char *arena;
	size_t cap, used = 0;
	long len, n = 0, nmax;
	int tag, ok;
	EVP_MD_CTX *md;

	if (der_next(&p, end, &tag, &len) == -1 || tag != V_ASN1_SEQUENCE)
		return -1;
	end = p + len;
	tbs = p;
	if (der_next(&p, end, &tag, &len) == -1 || tag != V_ASN1_SEQUENCE)
		return -1;
	tend = p + len;
	/* signatureAlgorithm, then the signature BIT STRING. */
	q = tend;
	if (der_next(&q, end, &tag, &len) == -1)
		return -1;
	q += len;
	if (der_next(&q, end, &tag, &len) == -1 || tag != V_ASN1_BIT_STRING ||
	    len < 2)
		return -1;
	md = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(md, q + 1, (size_t)len - 1, tbs,
	    (size_t)(tend - tbs)) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	/* version, signature, issuer, thisUpdate, nextUpdate: skipped. */
	if (der_peek(p, tend) == V_ASN1_INTEGER) {
		der_next(&p, tend, &tag, &len);
		p += len;
	}
	for (ok = 0; ok < 3; ok++) {
		if (der_next(&p, tend, &tag, &len) == -1)
			return -1;
		p += len;
	}
	tag = der_peek(p, tend);
	if (tag == V_ASN1_UTCTIME || tag == V_ASN1_GENERALIZEDTIME) {
		der_next(&p, tend, &tag, &len);
		p += len;
	}
	if (der_peek(p, tend) != V_ASN1_SEQUENCE)
		return 0;
	der_next(&p, tend, &tag, &len);
	end = p + len;
	nmax = len / 16 + 1;		/* an entry takes 16 bytes at least */
	v = xcalloc((size_t)nmax, sizeof *v);
	cap = (size_t)nmax * 8 + 16;
	arena = xmalloc(cap);
	while (p < end) {
		X509_REVOKED *rv = d2i_X509_REVOKED(NULL, &p, end - p);
		const ASN1_INTEGER *sn;
		ASN1_ENUMERATED *e;
		struct tm tm;
		size_t sl, k;

		if (rv == NULL || n == nmax) {
			X509_REVOKED_free(rv);
			n = -1;
			break;
		}
		sn = X509_REVOKED_get0_serialNumber(rv);
		sl = (size_t)ASN1_STRING_length(sn);
		if (used + sl > cap) {
			cap = cap * 2 + sl;
			arena = xrealloc(arena, cap);
		}
		for (k = 0; k < 8; k++)
			v[n].head = v[n].head << 8 | (k < sl ?
			    ASN1_STRING_get0_data(sn)[k] : 0);
		if (sl > 8) {
			memcpy(arena + used, ASN1_STRING_get0_data(sn) + 8,
			    sl - 8);
			v[n].off = (uint32_t)used;
			used += sl - 8;
		}
		v[n].len = (uint8_t)sl;
		if (ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(rv),
		    &tm) == 1)
			v[n].when = (int64_t)timegm(&tm);
		v[n].reason = -1;
		if (X509_REVOKED_get0_extensions(rv) != NULL && (e =
		    X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL,
		    NULL)) != NULL) {
			v[n].reason = (int8_t)ASN1_ENUMERATED_get(e);
			ASN1_ENUMERATED_free(e);
		}
		X509_REVOKED_free(rv);
		n++;
	}
	free(v);
	free(arena);
	return n;
}

/* Time rev_crl_parse on data (one CRL expected); prints one line. */
static void
time_parse(const char *what, const unsigned char *data, size_t len)
{
	STACK_OF(X509_CRL) *out = sk_X509_CRL_new_null();
	enum rev_crl_format fmt;
	struct watch w;
	char *cause = NULL;

	watch_start(&w);
	if (rev_crl_parse(what, data, len, REV_CRL_MAX_EXPANDED, out, &fmt,
	    &cause) != 1) {
		fprintf(stderr, "bench_crl: %s\n", cause != NULL ? cause :
		    "more than one CRL");
		exit(1);
	}
	watch_stop(&w);
	printf("  rev_crl_parse %-4s  %8.1f MB %8.3f s wall %8.3f s cpu "
	    "(sniffed as %s)\n", what, mb(len), w.wall, w.cpu,
	    rev_crl_format_name(fmt));
	sk_X509_CRL_pop_free(out, X509_CRL_free);
}

/* One size, in a process of its own.  Returns the exit status. */
static int
run(size_t n)
{
	EVP_PKEY *key;
	X509 *ca, *leaf;
	X509_CRL *crl;
	STACK_OF(X509) *issuers;
	struct rev_store *st;
	struct rev_crl_answer a;
	struct watch w_d2i, w_ver, w_add, w_look, w_base, w_trim, w_stream;
	const unsigned char *p;
	unsigned char *der, *gz, serial[SERIAL_LEN];
	ASN1_INTEGER *sn;
	size_t len, gzlen, pemlen, rss_base, heap_base, rss_der, rss_crl;
	size_t heap_crl, rss_idx, heap_idx, rss_trim, peak, peak_stream;
	char *cause = NULL, *pem;
	long i, wrong = 0, hits = 0;
	time_t now = time(NULL);
	uint64_t r;
	BIO *bio;

	ca = make_ca(&key);
	rss_base = rss_now();
	heap_base = heap_now();
	der = crl_from_child(ca, key, n, now, &len);
	rss_der = rss_now();

	/* 0. For comparison: a loader that never builds the whole object. */
	watch_start(&w_stream);
	if (stream_index(der, len, X509_get0_pubkey(ca)) != (long)n)
		die("the streaming loader");
	watch_stop(&w_stream);
	peak_stream = rss_peak();

	/* 1. Parse: what rev_crl_parse does for DER. */
	watch_start(&w_d2i);
	p = der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		die("d2i_X509_CRL");
	watch_stop(&w_d2i);
	rss_crl = rss_now();
	heap_crl = heap_now();
	if ((size_t)sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) != n)
		die("counting the entries");

	/* 2. The signature alone (rev_store_add checks it again). */
	watch_start(&w_ver);
	if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1)
		die("X509_CRL_verify");
	watch_stop(&w_ver);

	/* 3. rev_store_add: signature, index, OpenSSL object freed. */
	st = rev_store_new();
	issuers = sk_X509_new_null();
	sk_X509_push(issuers, ca);
	watch_start(&w_add);
	if (rev_store_add(st, crl, REV_SRC_CLI, "bench", issuers,
	    &cause) == -1) {
		fprintf(stderr, "bench_crl: %s\n", cause);
		return 1;
	}
	watch_stop(&w_add);
	rss_idx = rss_now();
	heap_idx = heap_now();
	peak = rss_peak();
	watch_start(&w_trim);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	watch_stop(&w_trim);
	rss_trim = rss_now();

	/* 4. Lookups: a certificate of the CA whose serial changes. */
	leaf = X509_new();
	X509_set_issuer_name(leaf, X509_get_subject_name(ca));
	sn = X509_get_serialNumber(leaf);
	/* The loop without the lookup: drawing and setting the serial. */
	watch_start(&w_base);
	for (i = 0; i < nlookups; i++) {
		r = mix((uint64_t)i ^ UINT64_C(0xfeed));
		serial_bytes((r & 1) ? (r >> 1) % n : MISS_BASE + (r >> 1),
		    serial);
		ASN1_STRING_set(sn, serial, SERIAL_LEN);
	}
	watch_stop(&w_base);
	watch_start(&w_look);
	for (i = 0; i < nlookups; i++) {
		r = mix((uint64_t)i ^ UINT64_C(0xfeed));
		serial_bytes((r & 1) ? (r >> 1) % n : MISS_BASE + (r >> 1),
		    serial);
		ASN1_STRING_set(sn, serial, SERIAL_LEN);
		rev_store_lookup(st, leaf, ca, now, &a);
		if (a.status != ((r & 1) ? REV_CRL_REVOKED : REV_CRL_GOOD))
			wrong++;
		hits += a.status == REV_CRL_REVOKED;
		free(a.detail);
	}
	watch_stop(&w_look);

	printf("%zu entries: DER %.1f MB (%.1f bytes/entry)\n", n, mb(len),
	    (double)len / (double)n);
	printf("  d2i_X509_CRL        %8.3f s wall %8.3f s cpu\n", w_d2i.wall,
	    w_d2i.cpu);
	printf("  X509_CRL_verify     %8.3f s wall %8.3f s cpu\n", w_ver.wall,
	    w_ver.cpu);
	printf("  rev_store_add       %8.3f s wall %8.3f s cpu "
	    "(verify + index + free)\n", w_add.wall, w_add.cpu);
	printf("  lookups             %8.0f ns wall %8.0f ns cpu per lookup "
	    "(%ld: %ld listed, %ld not; loop overhead %.0f ns removed)\n",
	    (w_look.wall - w_base.wall) * 1e9 / (double)nlookups,
	    (w_look.cpu - w_base.cpu) * 1e9 / (double)nlookups, nlookups,
	    hits, nlookups - hits, w_base.cpu * 1e9 / (double)nlookups);
	printf("  memory, MB          %8s %8s\n", "RSS", "malloc'd");
	printf("    before the CRL    %8.1f %8.1f\n", mb(rss_base),
	    mb(heap_base));
	printf("    DER read          %8.1f\n", mb(rss_der));
	grown("X509_CRL parsed", rss_crl, heap_crl, heap_base + len, "object",
	    n);
	grown("index only", rss_idx, heap_idx, heap_base + len, "index", n);
	printf("    after malloc_trim %8.1f          (malloc_trim took "
	    "%.3f s)\n", mb(rss_trim), w_trim.wall);
	printf("    peak RSS          %8.1f (%.1f x the DER, %.1f MB above "
	    "the start)\n", mb(peak), (double)(peak - rss_base) /
	    (double)len, mb(peak - rss_base));
	printf("  for comparison, a streaming loader (verify the raw "
	    "tbsCertList, d2i_X509_REVOKED one by one):\n"
	    "                      %8.3f s wall %8.3f s cpu, peak RSS %.1f MB "
	    "(%.1f MB above the start)\n", w_stream.wall, w_stream.cpu,
	    mb(peak_stream), mb(peak_stream - rss_base));
	fflush(stdout);
	if (wrong != 0) {
		fprintf(stderr, "bench_crl: %ld lookups gave the wrong "
		    "answer\n", wrong);
		return 1;
	}

	/* 5. The same CRL through rev_crl_parse as DER, PEM and gzip. */
	time_parse("der", der, len);
	bio = BIO_new(BIO_s_mem());
	if (PEM_write_bio(bio, "X509 CRL", "", der, (long)len) <= 0)
		die("PEM_write_bio");
	pemlen = (size_t)BIO_get_mem_data(bio, &pem);
	time_parse("pem", (unsigned char *)pem, pemlen);
	BIO_free(bio);
	gz = gzip_of(der, len, &gzlen);
	time_parse("gzip", gz, gzlen);
	free(gz);
	fflush(stdout);

	rev_store_free(st);
	X509_free(leaf);
	sk_X509_free(issuers);
	X509_free(ca);
	EVP_PKEY_free(key);
	free(der);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_crl [-l lookups] [entries ...]\n"
	    "       (default: 10000 100000 1000000)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const size_t dflt[] = { 10000, 100000, 1000000 };
	size_t *sizes, nsizes, k;
	char *end;
	pid_t pid;
	int ch, st, rv = 0;

	while ((ch = getopt(argc, argv, "l:")) != -1) {
		switch (ch) {
		case 'l':
			nlookups = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || nlookups < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	nsizes = argc > 0 ? (size_t)argc : sizeof dflt / sizeof dflt[0];
	sizes = xcalloc(nsizes, sizeof *sizes);
	for (k = 0; k < nsizes; k++) {
		if (argc == 0) {
			sizes[k] = dflt[k];
			continue;
		}
		sizes[k] = (size_t)strtoull(argv[k], &end, 10);
		if (*argv[k] == '\0' || *end != '\0' || sizes[k] < 1 ||
		    sizes[k] > 100000000)
			usage();
	}
	for (k = 0; k < nsizes; k++) {
		fflush(NULL);
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			rv = run(sizes[k]);
			free(sizes);
			_exit(rv);
		}
		if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rv = 1;
	}
	free(sizes);
	return rv;
}
