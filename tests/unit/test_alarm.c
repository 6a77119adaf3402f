/*
 * test_alarm.c: alarms are raised once, updated in place, cleared by key
 * or prefix, and listed oldest first.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/alarm.h"

static char seen[1024];

static void
collect(const struct alarm_info *i, void *arg)
{
	(void)arg;
	strncat(seen, i->key, sizeof seen - strlen(seen) - 1);
	strncat(seen, "=", sizeof seen - strlen(seen) - 1);
	strncat(seen, i->text, sizeof seen - strlen(seen) - 1);
	strncat(seen, ";", sizeof seen - strlen(seen) - 1);
}

static const char *
list(void)
{
	seen[0] = '\0';
	alarm_walk(collect, NULL);
	return seen;
}

static void
test_raise_update_clear(void **state)
{
	(void)state;
	alarm_reset();
	assert_int_equal(alarm_count(), 0);
	alarm_raise("zone a", "zone %s is down", "a");
	alarm_raise("zone a", "zone %s is down", "a");	/* no duplicate */
	alarm_raise("crl-dp x", "failing");
	assert_int_equal(alarm_count(), 2);
	assert_string_equal(list(), "zone a=zone a is down;crl-dp x=failing;");
	alarm_raise("zone a", "zone a is down again");	/* updated in place */
	assert_string_equal(list(), "zone a=zone a is down again;crl-dp x=failing;");
	alarm_clear("zone a");
	alarm_clear("zone nosuch");
	assert_string_equal(list(), "crl-dp x=failing;");
	alarm_reset();
}

static void
test_clear_prefix(void **state)
{
	(void)state;
	alarm_reset();
	alarm_raise("trusted-ca CN=a", "expired");
	alarm_raise("server-certificate", "expiring");
	alarm_raise("trusted-ca CN=b", "expired");
	alarm_clear_prefix("trusted-ca ");
	assert_string_equal(list(), "server-certificate=expiring;");
	alarm_reset();
	assert_int_equal(alarm_count(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raise_update_clear),
		cmocka_unit_test(test_clear_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
