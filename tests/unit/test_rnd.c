/*
 * test_rnd.c: the buffered keystream (util/rnd.c) and str_random_hex;
 * str_join and str_int, which the proxy builds its lines with.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/rnd.h"
#include "util/str.h"

#define SPAN	(256 * 1024)	/* many refills of the 4 KiB pool */

/* Order 16-byte blocks for qsort. */
static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Over many refills: no 16-byte block twice, every byte value about
 * as often as the others, and odd sizes across pool edges work. */
static void
test_stream(void **state)
{
	unsigned char *buf = malloc(SPAN), *p;
	unsigned long freq[256] = { 0 };
	size_t i, n;

	assert_non_null(buf);
	for (p = buf, n = 1; p < buf + SPAN; p += n, n = n % 97 + 1)
		rnd_bytes(p, p + n <= buf + SPAN ? n : (size_t)(buf + SPAN - p));
	for (i = 0; i < SPAN; i++)
		freq[buf[i]]++;
	/* SPAN / 256 = 1024 per value; 6 sigma is about 190. */
	for (i = 0; i < 256; i++)
		assert_true(freq[i] > 800 && freq[i] < 1250);
	qsort(buf, SPAN / 16, 16, cmp16);
	for (i = 1; i < SPAN / 16; i++)
		assert_int_not_equal(memcmp(buf + (i - 1) * 16, buf + i * 16,
		    16), 0);
	free(buf);
}

/* A reset stream is a new one, not the old one again. */
static void
test_reset(void **state)
{
	unsigned char a[32], b[32];

	rnd_reset();
	rnd_bytes(a, sizeof a);
	rnd_reset();
	rnd_bytes(b, sizeof b);
	assert_int_not_equal(memcmp(a, b, sizeof a), 0);
	rnd_bytes(NULL, 0);
}

/* A forked child does not hand out what the parent hands out next. */
static void
test_fork(void **state)
{
	unsigned char mine[32], child[32], first;
	int fds[2], status;
	pid_t pid;

	rnd_bytes(&first, 1);	/* the pool is filled before the fork */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		rnd_bytes(child, sizeof child);
		_exit(write(fds[1], child, sizeof child) == sizeof child ?
		    0 : 1);
	}
	close(fds[1]);
	rnd_bytes(mine, sizeof mine);
	assert_int_equal(read(fds[0], child, sizeof child), sizeof child);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_not_equal(memcmp(mine, child, sizeof mine), 0);
}

/* n lowercase hex digits, NUL-terminated; two tags differ. */
static void
test_hex(void **state)
{
	char a[41], b[41];
	size_t i;

	memset(a, 'X', sizeof a);
	str_random_hex(a, 16);
	assert_int_equal(strlen(a), 16);
	for (i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	str_random_hex(a, 39);
	assert_int_equal(strlen(a), 39);
	str_random_hex(b, 39);
	assert_string_not_equal(a, b);
}

/* str_join: in the buffer when it fits with its NUL, else malloc'd. */
static void
test_join(void **state)
{
	char buf[8], big[300], *s;
	size_t n = 99;

	(void)state;
	s = str_join(buf, sizeof buf, &n, "ab", "", "cde", (char *)NULL);
	assert_ptr_equal(s, buf);
	assert_string_equal(s, "abcde");
	assert_int_equal(n, 5);
	s = str_join(buf, sizeof buf, &n, "abcd", "efg", (char *)NULL);
	assert_ptr_equal(s, buf);		/* 7 bytes and the NUL */
	s = str_join(buf, sizeof buf, &n, "abcd", "efgh", (char *)NULL);
	assert_ptr_not_equal(s, buf);
	assert_string_equal(s, "abcdefgh");
	assert_int_equal(n, 8);
	free(s);
	s = str_join(NULL, 0, NULL, (char *)NULL);
	assert_string_equal(s, "");
	free(s);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	s = str_join(buf, sizeof buf, &n, "<", big, ">", (char *)NULL);
	assert_int_equal(n, sizeof big + 1);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[n - 1], '>');
	free(s);
}

/* str_int: what %lld prints. */
static void
test_int(void **state)
{
	static const long long v[] = { 0, 1, -1, 9, 10, 69, 5060, 65535,
	    -2147483648LL, LLONG_MAX, LLONG_MIN };
	char a[24], b[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		snprintf(b, sizeof b, "%lld", v[i]);
		assert_string_equal(str_int(v[i], a), b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_int),
	};
	int rv = cmocka_run_group_tests(tests, NULL, NULL);

	rnd_reset();
	return rv;
}
