/*
 * test_srctab.c: the per-source connection table: counts per IPv4
 * address and per IPv6 /64, handshakes in progress, entries gone at zero,
 * growth past many sources, and the names the log uses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sip/sip_srctab.h"

/* An IPv4 or IPv6 literal as a socket address (port 5060). */
static const struct sockaddr *
addr(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static void
test_counts(void **state)
{
	struct sip_srctab *st = sip_srctab_new();
	struct sockaddr_storage a, b;

	(void)state;
	assert_int_equal(sip_srctab_inc(st, addr("192.0.2.1", &a)), 1);
	assert_int_equal(sip_srctab_inc(st, addr("192.0.2.1", &a)), 2);
	assert_int_equal(sip_srctab_inc(st, addr("192.0.2.2", &b)), 1);
	assert_int_equal(sip_srctab_count(st, addr("192.0.2.1", &a)), 2);
	assert_int_equal(sip_srctab_sources(st), 2);
	sip_srctab_dec(st, addr("192.0.2.2", &b));
	assert_int_equal(sip_srctab_count(st, addr("192.0.2.2", &b)), 0);
	assert_int_equal(sip_srctab_sources(st), 1);
	sip_srctab_dec(st, addr("192.0.2.9", &b));	/* unknown: nothing */
	assert_int_equal(sip_srctab_sources(st), 1);
	/* Handshakes in progress, per source. */
	sip_srctab_hs_add(st, addr("192.0.2.1", &a), 1);
	sip_srctab_hs_add(st, addr("192.0.2.1", &a), 1);
	assert_int_equal(sip_srctab_hs(st, addr("192.0.2.1", &a)), 2);
	sip_srctab_hs_add(st, addr("192.0.2.1", &a), -1);
	assert_int_equal(sip_srctab_hs(st, addr("192.0.2.1", &a)), 1);
	sip_srctab_hs_add(st, addr("192.0.2.9", &b), 1);	/* no entry */
	assert_int_equal(sip_srctab_hs(st, addr("192.0.2.9", &b)), 0);
	sip_srctab_free(st);
}

/* The caller's pointer lives with the source's entry, and goes with it. */
static void
test_user(void **state)
{
	struct sip_srctab *st = sip_srctab_new();
	struct sockaddr_storage a, b;
	void **u;
	int x;

	(void)state;
	assert_null(sip_srctab_user(st, addr("192.0.2.1", &a)));
	sip_srctab_inc(st, addr("192.0.2.1", &a));
	sip_srctab_inc(st, addr("2001:db8::1", &b));
	assert_non_null(u = sip_srctab_user(st, addr("192.0.2.1", &a)));
	assert_null(*u);
	*u = &x;
	assert_ptr_equal(*sip_srctab_user(st, addr("192.0.2.1", &a)), &x);
	/* Another address of the same /64 shares the entry. */
	assert_null(*sip_srctab_user(st, addr("2001:db8::2", &b)));
	sip_srctab_dec(st, addr("192.0.2.1", &a));
	assert_null(sip_srctab_user(st, addr("192.0.2.1", &a)));
	sip_srctab_inc(st, addr("192.0.2.1", &a));
	assert_null(*sip_srctab_user(st, addr("192.0.2.1", &a)));
	sip_srctab_free(st);
}

static void
test_ipv6_prefix(void **state)
{
	struct sip_srctab *st = sip_srctab_new();
	struct sockaddr_storage a;
	char buf[64];

	(void)state;
	sip_srctab_inc(st, addr("2001:db8:1:2::1", &a));
	assert_int_equal(sip_srctab_inc(st, addr("2001:db8:1:2:ffff::7", &a)), 2);
	assert_int_equal(sip_srctab_count(st, addr("2001:db8:1:3::1", &a)), 0);
	/* The loopback is one host, not a /64 with ::2. */
	sip_srctab_inc(st, addr("::1", &a));
	assert_int_equal(sip_srctab_count(st, addr("::2", &a)), 0);
	/* An IPv4-mapped address is its IPv4 host. */
	sip_srctab_inc(st, addr("192.0.2.5", &a));
	assert_int_equal(sip_srctab_count(st, addr("::ffff:192.0.2.5", &a)), 1);
	assert_string_equal(sip_srctab_name(addr("2001:db8:1:2::1", &a), buf,
	    sizeof buf), "2001:db8:1:2::/64");
	assert_string_equal(sip_srctab_name(addr("::1", &a), buf, sizeof buf),
	    "::1");
	assert_string_equal(sip_srctab_name(addr("192.0.2.5", &a), buf,
	    sizeof buf), "192.0.2.5");
	sip_srctab_free(st);
}

static void
test_many_sources(void **state)
{
	struct sip_srctab *st = sip_srctab_new();
	struct sockaddr_storage a;
	char ip[32];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
		    i & 255);
		sip_srctab_inc(st, addr(ip, &a));
		sip_srctab_inc(st, addr(ip, &a));
	}
	assert_int_equal(sip_srctab_sources(st), 20000);
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
		    i & 255);
		assert_int_equal(sip_srctab_count(st, addr(ip, &a)), 2);
		sip_srctab_dec(st, addr(ip, &a));
		sip_srctab_dec(st, addr(ip, &a));
	}
	assert_int_equal(sip_srctab_sources(st), 0);
	sip_srctab_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_many_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
