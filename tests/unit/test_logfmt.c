/*
 * test_logfmt.c: reading back what log.c writes (every escape of
 * log_quote round-trips), garbage refused, cut lines, and the times that
 * sipedge-ctl log --since and --until take.
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

#include "util/log.h"
#include "util/logfmt.h"

static void
test_line(void **state)
{
	const char *line = "ts=2026-11-26T17:00:00.123Z level=warn module=tls "
	    "event=\"handshake failed\" peer=127.0.0.1:5061 reason=\"a \\\"b\\\" "
	    "\\\\ c\"";
	struct logfmt lf = { NULL, 0 };
	const struct logfmt_field *f;

	(void)state;
	assert_int_equal(logfmt_parse(line, strlen(line), &lf), 0);
	assert_int_equal(lf.n, 6);
	assert_string_equal(lf.v[0].key, "ts");
	assert_string_equal(lf.v[0].val, "2026-11-26T17:00:00.123Z");
	assert_non_null(f = logfmt_get(&lf, "event"));
	assert_string_equal(f->val, "handshake failed");
	assert_non_null(f = logfmt_get(&lf, "reason"));
	assert_string_equal(f->val, "a \"b\" \\ c");
	assert_string_equal(logfmt_get(&lf, "peer")->val, "127.0.0.1:5061");
	assert_null(logfmt_get(&lf, "zone"));
	logfmt_clear(&lf);
	assert_int_equal(lf.n, 0);
}

/* Whatever log_quote writes, logfmt_parse gives back byte for byte. */
static void
test_roundtrip(void **state)
{
	static const char *const vals[] = {
		"", "plain", "two words", "a=b", "q\"q", "back\\slash",
		"l1\nl2\r\tt", "\x1b[31m", "M\xc3\xbcller", "caf\xe9",
	};
	struct logfmt lf = { NULL, 0 };
	char q[256], line[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		log_quote(q, sizeof q, vals[i], strlen(vals[i]));
		snprintf(line, sizeof line, "k=%s x=1", q);
		assert_int_equal(logfmt_parse(line, strlen(line), &lf), 0);
		assert_int_equal(lf.n, 2);
		assert_int_equal(lf.v[0].vlen, strlen(vals[i]));
		assert_memory_equal(lf.v[0].val, vals[i], strlen(vals[i]));
		assert_string_equal(lf.v[1].val, "1");
	}
	/* A NUL byte inside a value survives, with its length. */
	log_quote(q, sizeof q, "a\0b", 3);
	snprintf(line, sizeof line, "k=%s", q);
	assert_int_equal(logfmt_parse(line, strlen(line), &lf), 0);
	assert_int_equal(lf.v[0].vlen, 3);
	assert_memory_equal(lf.v[0].val, "a\0b", 3);
	logfmt_clear(&lf);
}

static void
test_garbage(void **state)
{
	struct logfmt lf = { NULL, 0 };

	(void)state;
	assert_int_equal(logfmt_parse("not a log line", 14, &lf), -1);
	assert_int_equal(lf.n, 0);
	assert_int_equal(logfmt_parse("=x", 2, &lf), -1);
	assert_int_equal(logfmt_parse("k=v junk", 8, &lf), -1);
	assert_int_equal(lf.n, 0);
	/* A line cut inside a quoted value keeps what it has. */
	assert_int_equal(logfmt_parse("k=\"abc\\", 7, &lf), 0);
	assert_string_equal(lf.v[0].val, "abc\\");
	/* A bad \x escape is kept as text, nothing read past the end. */
	assert_int_equal(logfmt_parse("k=\"\\x4\"", 7, &lf), 0);
	assert_string_equal(lf.v[0].val, "x4");
	assert_int_equal(logfmt_parse("", 0, &lf), 0);
	assert_int_equal(lf.n, 0);
	logfmt_clear(&lf);
}

static void
test_time(void **state)
{
	long long ms, now = 1790000000000LL;

	(void)state;
	assert_int_equal(logfmt_time("2026-11-26T17:00:00.123Z", 0, &ms), 0);
	assert_true(ms == 1795712400123LL);
	assert_int_equal(logfmt_time("2026-11-26T17:00:00Z", 0, &ms), 0);
	assert_true(ms == 1795712400000LL);
	assert_int_equal(logfmt_time("2026-11-26T17:00:00", 0, &ms), 0);
	assert_true(ms == 1795712400000LL);
	assert_int_equal(logfmt_time("2026-11-26T17:00Z", 0, &ms), 0);
	assert_true(ms == 1795712400000LL);
	assert_int_equal(logfmt_time("2026-11-26", 0, &ms), 0);
	assert_true(ms == 1795651200000LL);
	assert_int_equal(logfmt_time("10m", now, &ms), 0);
	assert_true(ms == now - 600000);
	assert_int_equal(logfmt_time("2h", now, &ms), 0);
	assert_true(ms == now - 7200000);
	assert_int_equal(logfmt_time("30s", now, &ms), 0);
	assert_true(ms == now - 30000);
	assert_int_equal(logfmt_time("1d", now, &ms), 0);
	assert_true(ms == now - 86400000);
	assert_int_equal(logfmt_time("10", now, &ms), -1);
	assert_int_equal(logfmt_time("10x", now, &ms), -1);
	assert_int_equal(logfmt_time("10mm", now, &ms), -1);
	assert_int_equal(logfmt_time("m", now, &ms), -1);
	assert_int_equal(logfmt_time("2026-13-01", 0, &ms), -1);
	assert_int_equal(logfmt_time("2026-11-26T25:00Z", 0, &ms), -1);
	assert_int_equal(logfmt_time("2026-11-26T17:00:00.Z", 0, &ms), -1);
	assert_int_equal(logfmt_time("2026-11-26 17:00", 0, &ms), -1);
	assert_int_equal(logfmt_time("yesterday", 0, &ms), -1);
	assert_int_equal(logfmt_time("", 0, &ms), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
