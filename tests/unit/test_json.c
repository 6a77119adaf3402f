/*
 * test_json.c: the JSON writer: structure, commas and keys, escaping of
 * control characters, UTF-8 passed through, bytes that are not UTF-8
 * replaced, numbers.
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

#include "util/json.h"

/* One string value, escaped, as the whole document. */
static void
check_string(const char *in, size_t len, const char *want)
{
	struct json *j = json_new();

	json_stringn(j, NULL, in, len);
	assert_true(json_is_complete(j));
	assert_string_equal(json_text(j, NULL), want);
	json_free(j);
}

static void
test_structure(void **state)
{
	struct json *j = json_new();
	size_t len;

	(void)state;
	json_object_begin(j, NULL);
	assert_int_equal(json_members(j), 0);
	json_string(j, "a", "x");
	json_int(j, "b", -5);
	json_uint(j, "c", 18446744073709551615ULL);
	json_bool(j, "d", 1);
	json_bool(j, "e", 0);
	json_null(j, "f");
	json_string(j, "g", NULL);
	json_array_begin(j, "h");
	json_int(j, NULL, 1);
	json_object_begin(j, NULL);
	json_object_end(j);
	json_array_begin(j, NULL);
	json_array_end(j);
	json_array_end(j);
	assert_int_equal(json_members(j), 8);
	assert_false(json_is_complete(j));
	json_object_end(j);
	assert_true(json_is_complete(j));
	assert_string_equal(json_text(j, &len), "{\"a\":\"x\",\"b\":-5,"
	    "\"c\":18446744073709551615,\"d\":true,\"e\":false,\"f\":null,"
	    "\"g\":null,\"h\":[1,{},[]]}");
	assert_int_equal(len, strlen(json_text(j, NULL)));
	json_free(j);
}

static void
test_escapes(void **state)
{
	(void)state;
	check_string("", 0, "\"\"");
	check_string("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
	check_string("a\\b", 3, "\"a\\\\b\"");
	check_string("l1\nl2\r\t", 7, "\"l1\\nl2\\r\\t\"");
	check_string("\b\f", 2, "\"\\b\\f\"");
	check_string("nul\0x", 5, "\"nul\\u0000x\"");
	check_string("\x1b[31m", 5, "\"\\u001b[31m\"");
	check_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	/* '/' needs no escape; a key is escaped like a value. */
	check_string("a/b", 3, "\"a/b\"");
}

static void
test_key_escaped(void **state)
{
	struct json *j = json_new();

	(void)state;
	json_object_begin(j, NULL);
	json_string(j, "k\"\n", "v");
	json_object_end(j);
	assert_string_equal(json_text(j, NULL), "{\"k\\\"\\n\":\"v\"}");
	json_free(j);
}

static void
test_utf8(void **state)
{
	(void)state;
	/* Valid sequences of 2, 3 and 4 bytes pass unchanged. */
	check_string("M\xc3\xbcller", 7, "\"M\xc3\xbcller\"");
	check_string("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");
	check_string("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
	/* Not UTF-8: a lone continuation, a cut sequence, an overlong form,
	 * a surrogate, Latin-1: each bad byte becomes U+FFFD. */
	check_string("\x80", 1, "\"\xef\xbf\xbd\"");
	check_string("a\xc3", 2, "\"a\xef\xbf\xbd\"");
	check_string("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_string("\xed\xa0\x80", 3,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_string("caf\xe9", 4, "\"caf\xef\xbf\xbd\"");
}

static void
test_double(void **state)
{
	struct json *j = json_new();
	double zero = 0.0;

	(void)state;
	json_array_begin(j, NULL);
	json_double(j, NULL, 75.0, 1);
	json_double(j, NULL, 2.0 / 3.0 * 100, 1);
	json_double(j, NULL, zero / zero, 1);
	json_array_end(j);
	assert_string_equal(json_text(j, NULL), "[75.0,66.7,null]");
	json_free(j);
}

static void
test_escape_append(void **state)
{
	char *buf = NULL;
	size_t used = 0, cap = 0;

	(void)state;
	json_escape(&buf, &used, &cap, "x\"", 2);
	json_escape(&buf, &used, &cap, "\n", 1);
	assert_string_equal(buf, "x\\\"\\n");
	assert_int_equal(used, 5);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_key_escaped),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_escape_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
