/*
 * test_mpool.c: the block cache in front of malloc: blocks of every size
 * hold what is written to them, freed blocks are reused by their class
 * only while the cache is on and up to its bound, realloc keeps the
 * contents across classes and to and from large blocks, turning the cache
 * off gives everything back, and another thread never caches; libosip2
 * parsing and printing a message through it.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <osipparser2/osip_parser.h>

#include "util/mpool.h"

/* Every size up to 2 KB holds its bytes; all of it freed again. */
static void
test_sizes(void **state)
{
	char *p[2049];
	size_t i;

	(void)state;
	mpool_cache(1);
	for (i = 0; i <= 2048; i++) {
		p[i] = mpool_alloc(i);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], (int)(i & 0xff), i);
	}
	for (i = 0; i <= 2048; i++) {
		if (i > 0) {
			assert_int_equal((unsigned char)p[i][0], i & 0xff);
			assert_int_equal((unsigned char)p[i][i - 1], i & 0xff);
		}
		mpool_free(p[i]);
	}
	mpool_free(NULL);
	mpool_cache(0);
	assert_int_equal(mpool_cached(), 0);
}

/* A freed block comes back for its class, not for another. */
static void
test_reuse(void **state)
{
	void *a, *b, *c;

	(void)state;
	mpool_cache(1);
	a = mpool_alloc(40);
	mpool_free(a);
	assert_int_equal(mpool_cached(), 1);
	c = mpool_alloc(100);		/* another class: a new block */
	assert_ptr_not_equal(c, a);
	b = mpool_alloc(33);		/* 33..48: a's class */
	assert_ptr_equal(b, a);
	assert_int_equal(mpool_cached(), 0);
	mpool_free(b);
	mpool_free(c);
	a = mpool_alloc(4096);		/* large blocks are not kept */
	mpool_free(a);
	assert_int_equal(mpool_cached(), 2);
	mpool_cache(0);
	assert_int_equal(mpool_cached(), 0);
	a = mpool_alloc(40);		/* off: nothing kept */
	mpool_free(a);
	assert_int_equal(mpool_cached(), 0);
}

/* The lists keep a bounded number of bytes per class. */
static void
test_bound(void **state)
{
	enum { N = 20000 };
	void **p = calloc(N, sizeof *p);
	size_t i;

	(void)state;
	assert_non_null(p);
	mpool_cache(1);
	for (i = 0; i < N; i++)
		p[i] = mpool_alloc(16);
	for (i = 0; i < N; i++)
		mpool_free(p[i]);
	assert_true(mpool_cached() > 100);
	assert_true(mpool_cached() * 32 <= 64 * 1024);
	mpool_cache(0);
	free(p);
}

/* realloc keeps the contents, growing and shrinking, small and large. */
static void
test_resize(void **state)
{
	size_t sizes[] = { 10, 16, 17, 500, 512, 513, 5000, 700, 3, 0, 30 };
	char *p = NULL;
	size_t i, j, have = 0;

	(void)state;
	mpool_cache(1);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		p = mpool_realloc(p, sizes[i]);
		assert_non_null(p);
		for (j = 0; j < have && j < sizes[i]; j++)
			assert_int_equal((unsigned char)p[j], j & 0x7f);
		for (j = 0; j < sizes[i]; j++)
			p[j] = (char)(j & 0x7f);
		have = sizes[i];
	}
	mpool_free(p);
	mpool_cache(0);
}

/* Another thread's frees go to malloc, whatever this thread does. */
static void *
other_thread(void *arg)
{
	void *p = mpool_alloc(24);

	mpool_free(p);
	mpool_free(arg);	/* a block of the main thread */
	return (void *)(uintptr_t)mpool_cached();
}

static void
test_thread(void **state)
{
	pthread_t th;
	void *ret, *b;

	(void)state;
	mpool_cache(1);
	b = mpool_alloc(24);
	assert_int_equal(pthread_create(&th, NULL, other_thread, b), 0);
	assert_int_equal(pthread_join(th, &ret), 0);
	assert_int_equal((uintptr_t)ret, 0);
	assert_int_equal(mpool_cached(), 0);
	mpool_cache(0);
}

/* libosip2 on the cache: a message parsed, printed and freed, twice. */
static void
test_osip(void **state)
{
	static const char msg[] =
	    "OPTIONS sip:bob@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK776asdhds;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "To: <sip:bob@example.org>\r\n"
	    "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
	    "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	    "CSeq: 63104 OPTIONS\r\n"
	    "Contact: <sip:alice@pc33.example.com;transport=tls>\r\n"
	    "Content-Length: 0\r\n\r\n";
	osip_message_t *m;
	char *text;
	size_t len, kept;
	int round;

	(void)state;
	osip_set_allocators(mpool_alloc, mpool_realloc, mpool_free);
	mpool_cache(1);
	parser_init();
	for (round = 0; round < 2; round++) {
		assert_int_equal(osip_message_init(&m), 0);
		assert_int_equal(osip_message_parse(m, msg, sizeof msg - 1), 0);
		assert_string_equal(m->call_id->number, "a84b4c76e66710");
		assert_int_equal(osip_message_to_str(m, &text, &len), 0);
		assert_non_null(strstr(text, "branch=z9hG4bK776asdhds"));
		osip_free(text);
		osip_message_free(m);
		kept = mpool_cached();
		assert_true(kept > 20);	/* the message's blocks, kept */
	}
	mpool_cache(0);
	osip_set_allocators(NULL, NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_osip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
