/*
 * test_idmap.c: the id map: put, get, replace, delete (the backward
 * shift keeps every other id reachable), growth and shrinking through
 * many ids, id 0 ignored; checked against a plain array.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/idmap.h"

#define N	20000

static void
test_basic(void **state)
{
	struct idmap *m = idmap_new();
	int a, b;

	(void)state;
	assert_null(idmap_get(m, 1));
	idmap_put(m, 1, &a);
	idmap_put(m, 2, &b);
	assert_ptr_equal(idmap_get(m, 1), &a);
	assert_ptr_equal(idmap_get(m, 2), &b);
	idmap_put(m, 1, &b);
	assert_ptr_equal(idmap_get(m, 1), &b);
	assert_int_equal(idmap_count(m), 2);
	idmap_put(m, 0, &a);
	assert_null(idmap_get(m, 0));
	assert_int_equal(idmap_count(m), 2);
	idmap_del(m, 3);
	idmap_del(m, 1);
	assert_null(idmap_get(m, 1));
	assert_ptr_equal(idmap_get(m, 2), &b);
	assert_int_equal(idmap_count(m), 1);
	idmap_free(m);
	idmap_free(NULL);
}

/* Many ids in and out in a scattered order, against an array. */
static void
test_many(void **state)
{
	struct idmap *m = idmap_new();
	static char have[N + 1];
	static char obj[N + 1];
	unsigned long long id, k;
	size_t n = 0;

	(void)state;
	memset(have, 0, sizeof have);
	for (id = 1; id <= N; id++) {
		idmap_put(m, id, &obj[id]);
		have[id] = 1;
		n++;
	}
	assert_int_equal(idmap_count(m), n);
	/* Delete about two thirds, in a stride order. */
	for (k = 0; k < N; k++) {
		id = (k * 7919) % N + 1;
		if (id % 3 == 0)
			continue;
		idmap_del(m, id);
		have[id] = 0;
		n--;
	}
	assert_int_equal(idmap_count(m), n);
	for (id = 1; id <= N; id++)
		if (have[id])
			assert_ptr_equal(idmap_get(m, id), &obj[id]);
		else
			assert_null(idmap_get(m, id));
	/* Then all of them: the table shrinks and stays right. */
	for (id = 1; id <= N; id++)
		idmap_del(m, id);
	assert_int_equal(idmap_count(m), 0);
	for (id = 1; id <= N; id++)
		assert_null(idmap_get(m, id));
	idmap_put(m, 5, &obj[5]);
	assert_ptr_equal(idmap_get(m, 5), &obj[5]);
	idmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
