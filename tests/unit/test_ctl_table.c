/*
 * test_ctl_table.c: the tables of the control socket's answers, one
 * description written both ways: the text words, an empty value left out
 * or shown as "none", new lines, plurals, word booleans, lists and
 * groups, alignment, and the JSON of the same rows (arrays, a single
 * object or null, members inline, a nested table).
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

#include "ctl/ctl_reply.h"
#include "ctl/ctl_table.h"

static const struct ctl_col cols[] = {
	{ "name",	CTL_STR,  "",		NULL, NULL, 0, 0 },
	{ "port",	CTL_INT,  ":",		NULL, NULL, 0, 0 },
	{ "address",	CTL_STR,  " address ",	NULL, "-", 0, 0 },
	{ "reason",	CTL_STR,  ": ",		NULL, NULL, CTL_OMIT, 0 },
	{ "hidden",	CTL_STR,  NULL,		NULL, NULL, 0, 0 },
	{ "at",		CTL_TIME, NULL,		NULL, NULL, CTL_NULL, 0 },
	{ NULL,		CTL_STR,  "  note ",	NULL, NULL,
	    CTL_LINE | CTL_OMIT, 0 },
};
static const struct ctl_table_def rows = {
	"peers", CTL_ROWS, "none", CTL_COLS(cols)
};

static const struct ctl_col rec_cols[] = {
	{ "uptime",	CTL_INT,  "uptime: ",	" second", NULL,
	    CTL_LINE | CTL_PLURAL, 0 },
	{ "temporary",	CTL_BOOL, "temporary: ", NULL, NULL, CTL_LINE, 0 },
	{ "expired",	CTL_BOOL, " EXPIRED",	NULL, NULL, CTL_WORD, 0 },
	{ "alarms",	CTL_LIST, "alarms: ",	"; ", "none", CTL_LINE, 0 },
	{ "heap",	CTL_GROUP, "heap:",	NULL, " none", CTL_LINE, 0 },
	{ "rate",	CTL_PCT,  "rate ",	NULL, "-", CTL_LINE, 0 },
	{ "help",	CTL_STR,  " ",		NULL, NULL, 0, 12 },
};
static const struct ctl_table_def record = {
	NULL, CTL_INLINE, NULL, CTL_COLS(rec_cols)
};
static const struct ctl_table_def one = {
	"one", CTL_ONE, NULL, CTL_COLS(cols)
};

/* The body of reply r once finished (ok), malloc'd. */
static char *
body(struct ctl_reply *r)
{
	struct evbuffer *b = ctl_reply_finish(r, 0);
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	ctl_reply_free(r);
	return s;
}

/* Two peer rows: one with everything, one with empty values. */
static void
peer_rows(struct ctl_table *t)
{
	ctl_table_row(t);
	ctl_table_str(t, "a");
	ctl_table_int(t, 5061);
	ctl_table_str(t, "192.0.2.1");
	ctl_table_str(t, "refused");
	ctl_table_str(t, "x");
	ctl_table_time(t, 86400);
	ctl_table_str(t, "see the log");
	ctl_table_row_end(t);
	ctl_table_row(t);
	ctl_table_str(t, "b");
	ctl_table_int(t, 5060);
	ctl_table_str(t, "");
	ctl_table_str(t, NULL);
	ctl_table_str(t, "");
	ctl_table_time(t, 0);
	ctl_table_str(t, "");
	ctl_table_row_end(t);
}

static void
test_rows(void **state)
{
	struct ctl_reply *r;
	struct ctl_table t;
	char *s;

	(void)state;
	r = ctl_reply_new(0);
	ctl_table_begin(&t, r, &rows);
	peer_rows(&t);
	assert_int_equal(ctl_table_rows(&t), 2);
	ctl_table_end(&t);
	s = body(r);
	assert_string_equal(s, "a:5061 address 192.0.2.1: refused\n"
	    "  note see the log\n"
	    "b:5060 address -\n");
	free(s);

	r = ctl_reply_new(1);
	ctl_table_begin(&t, r, &rows);
	peer_rows(&t);
	ctl_table_end(&t);
	s = body(r);
	assert_string_equal(s, "{\"peers\":[{\"name\":\"a\",\"port\":5061,"
	    "\"address\":\"192.0.2.1\",\"reason\":\"refused\",\"hidden\":\"x\","
	    "\"at\":\"1970-01-02T00:00:00Z\"},{\"name\":\"b\",\"port\":5060,"
	    "\"address\":\"\",\"reason\":null,\"hidden\":\"\",\"at\":null}],"
	    "\"ok\":true}\n");
	free(s);
}

static void
test_empty(void **state)
{
	struct ctl_reply *r;
	struct ctl_table t;
	char *s;

	(void)state;
	r = ctl_reply_new(0);
	ctl_table_begin(&t, r, &rows);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &one);
	ctl_table_end(&t);
	s = body(r);
	assert_string_equal(s, "none\n");
	free(s);

	r = ctl_reply_new(1);
	ctl_table_begin(&t, r, &rows);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &one);
	ctl_table_end(&t);
	s = body(r);
	assert_string_equal(s, "{\"peers\":[],\"one\":null,\"ok\":true}\n");
	free(s);
}

/* The record row, inline, then a nested table of one row. */
static void
record_row(struct ctl_reply *r, long long up, int yes, double rate)
{
	struct ctl_table t, n;

	ctl_table_begin(&t, r, &record);
	ctl_table_row(&t);
	ctl_table_int(&t, up);
	ctl_table_bool(&t, yes);
	ctl_table_bool(&t, yes);
	ctl_table_open(&t);
	if (yes) {
		ctl_table_item(&t, "one");
		ctl_table_item(&t, "two");
	}
	ctl_table_close(&t);
	ctl_table_open(&t);
	if (yes)
		ctl_table_pair(&t, "trims", 3);
	ctl_table_close(&t);
	ctl_table_pct(&t, rate);
	ctl_table_str(&t, "aligned");
	ctl_table_begin(&n, r, &one);
	ctl_table_row(&n);
	ctl_table_str(&n, "c");
	ctl_table_int(&n, 1);
	ctl_table_str(&n, "z");
	ctl_table_str(&n, "");
	ctl_table_str(&n, "");
	ctl_table_time(&n, 0);
	ctl_table_str(&n, NULL);
	ctl_table_row_end(&n);
	ctl_table_end(&n);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
}

static void
test_record(void **state)
{
	struct ctl_reply *r;
	char *s;

	(void)state;
	r = ctl_reply_new(0);
	record_row(r, 1, 1, 12.25);
	record_row(r, 2, 0, -1);
	s = body(r);
	assert_string_equal(s, "uptime: 1 second\n"
	    "temporary: yes EXPIRED\n"
	    "alarms: one; two\n"
	    "heap: trims 3\n"
	    "rate 12.2%   aligned\n"
	    "c:1 address z\n"
	    "uptime: 2 seconds\n"
	    "temporary: no\n"
	    "alarms: none\n"
	    "heap: none\n"
	    "rate -       aligned\n"
	    "c:1 address z\n");
	free(s);

	r = ctl_reply_new(1);
	record_row(r, 0, 0, -1);
	s = body(r);
	assert_string_equal(s, "{\"uptime\":0,\"temporary\":false,"
	    "\"expired\":false,\"alarms\":[],\"heap\":{},\"rate\":null,"
	    "\"help\":\"aligned\",\"one\":{\"name\":\"c\",\"port\":1,"
	    "\"address\":\"z\",\"reason\":\"\",\"hidden\":\"\",\"at\":null},"
	    "\"ok\":true}\n");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
