/*
 * test_log.c: logfmt quoting and line building.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/log.h"

static void
check_quote(const char *in, size_t len, const char *want)
{
	char buf[256];
	size_t n = log_quote(buf, sizeof buf, in, len);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void
test_bare(void **state)
{
	check_quote("127.0.0.1:5060", 14, "127.0.0.1:5060");
	check_quote("TLSv1.3", 7, "TLSv1.3");
}

static void
test_quoted(void **state)
{
	check_quote("", 0, "\"\"");
	check_quote("certificate has expired", 23, "\"certificate has expired\"");
	check_quote("a=b", 3, "\"a=b\"");
	check_quote("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
	check_quote("back\\slash", 10, "\"back\\\\slash\"");
}

static void
test_control_bytes(void **state)
{
	check_quote("a\nb", 3, "\"a\\nb\"");
	check_quote("a\r\n", 3, "\"a\\r\\n\"");
	check_quote("t\tab", 4, "\"t\\tab\"");
	check_quote("nul\0x", 5, "\"nul\\x00x\"");
	check_quote("\x1b[31m", 5, "\"\\x1b[31m\"");
	check_quote("del\x7f", 4, "\"del\\x7f\"");
}

static void
test_utf8(void **state)
{
	/* Valid UTF-8 passes (quoted, as it is not plain ASCII). */
	check_quote("M\xc3\xbcller", 7, "\"M\xc3\xbcller\"");
	check_quote("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");
	/* Invalid: lone continuation, truncated sequence, overlong, surrogate. */
	check_quote("\x80", 1, "\"\\x80\"");
	check_quote("a\xc3", 2, "\"a\\xc3\"");
	check_quote("\xc0\xaf", 2, "\"\\xc0\\xaf\"");
	check_quote("\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\"");
	check_quote("\xff\xfe", 2, "\"\\xff\\xfe\"");
}

static void
test_truncation(void **state)
{
	char small[8];
	size_t n = log_quote(small, sizeof small, "hello world", 11);

	assert_int_equal(n, 13);		/* needed length, like snprintf */
	assert_int_equal(strlen(small), 7);	/* cut, NUL-terminated */
}

static void
test_line(void **state)
{
	struct log_line l;
	char *cause = NULL;

	assert_int_equal(log_configure(NULL, 0, 0, 0, LOG_LVL_INFO, &cause), 0);
	log_begin(&l, LOG_LVL_WARN, "tls", "handshake failed");
	log_kvs(&l, "peer", "127.0.0.1:40312");
	log_kvs(&l, "reason", "certificate has expired");
	log_kv(&l, "n", "%d", 42);
	assert_non_null(strstr(l.buf, " level=warn module=tls event=\"handshake "
	    "failed\" peer=127.0.0.1:40312 reason=\"certificate has expired\" n=42"));
	assert_memory_equal(l.buf, "ts=", 3);
	/* One-word events are quoted too, so grep 'event="x"' always works. */
	log_begin(&l, LOG_LVL_INFO, "daemon", "started");
	assert_non_null(strstr(l.buf, "event=\"started\""));
	/* Filtered levels build nothing. */
	log_begin(&l, LOG_LVL_DEBUG, "sip", "detail");
	log_kvs(&l, "k", "v");
	assert_int_equal(l.enabled, 0);
	assert_int_equal(l.len, 0);
}

/*
 * The timestamp: 2026-11-26T17:00:00.123Z in UTC, the clock's time (its
 * date and time are made once a second: two lines across a second both
 * carry their own).
 */
static void
test_timestamp(void **state)
{
	struct log_line l;
	char *cause = NULL, want[32];
	struct timeval before, after;
	struct tm tm;
	int i, j;

	assert_int_equal(log_configure(NULL, 0, 0, 0, LOG_LVL_INFO, &cause), 0);
	for (i = 0; i < 3; i++) {
		gettimeofday(&before, NULL);
		log_begin(&l, LOG_LVL_INFO, "daemon", "tick");
		gettimeofday(&after, NULL);
		assert_memory_equal(l.buf + 26, "Z level=info module=daemon ",
		    27);
		for (j = 0; j < 23; j++)
			if ("0000-00-00T00:00:00.000"[j] == '0')
				assert_true(l.buf[3 + j] >= '0' &&
				    l.buf[3 + j] <= '9');
			else
				assert_int_equal(l.buf[3 + j],
				    "0000-00-00T00:00:00.000"[j]);
		if (before.tv_sec == after.tv_sec) {
			gmtime_r(&before.tv_sec, &tm);
			strftime(want, sizeof want, "ts=%Y-%m-%dT%H:%M:%S.", &tm);
			assert_memory_equal(l.buf, want, 23);
			assert_true(atoi(l.buf + 23) >= before.tv_usec / 1000 &&
			    atoi(l.buf + 23) <= after.tv_usec / 1000);
		}
		usleep(600000);		/* the next one in another second */
	}
}

static void
test_long_value_stays_one_line(void **state)
{
	struct log_line l;
	char big[8000];

	memset(big, '"', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_configure(NULL, 0, 0, 0, LOG_LVL_DEBUG, NULL);
	log_begin(&l, LOG_LVL_INFO, "sip", "big");
	log_kvs(&l, "v", big);
	assert_true(l.len < LOG_LINE_MAX);
	assert_null(memchr(l.buf, '\n', l.len));
	/* The value is still closed by a quote, not an escape. */
	assert_int_equal(l.buf[l.len - 1], '"');
	assert_int_not_equal(l.buf[l.len - 2], '\\');
}

static void
test_file_sink_and_reopen(void **state)
{
	const char *t = getenv("TMPDIR");
	char dir[4096], path[4200], moved[4200];
	char buf[512];
	char *cause = NULL;
	FILE *f;

	snprintf(dir, sizeof dir, "%s/sipedge-logtest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/a.log", dir);
	snprintf(moved, sizeof moved, "%s/a.log.1", dir);
	assert_int_equal(log_configure(path, 0, 0, 0, LOG_LVL_INFO, &cause), 0);
	log_event(LOG_LVL_INFO, "daemon", "one", "k", "v 1", NULL);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(log_reopen(&cause), 1);
	log_event(LOG_LVL_INFO, "daemon", "two", NULL);
	log_close();
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_non_null(strstr(buf, "event=\"two\""));
	fclose(f);
	f = fopen(moved, "r");
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_non_null(strstr(buf, "event=\"one\" k=\"v 1\"\n"));
	fclose(f);
	unlink(path);
	unlink(moved);
	rmdir(dir);
	/* An unopenable file is an error with a reason, old sinks kept. */
	assert_int_equal(log_configure("/nonexistent-dir/x.log", 0, 0, 0,
	    LOG_LVL_INFO, &cause), -1);
	assert_non_null(strstr(cause, "/nonexistent-dir/x.log"));
	free(cause);
}

static void
test_levels(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("verbose", &l), -1);
	assert_string_equal(log_level_name(LOG_LVL_NOTICE), "notice");
}

/* A clock the rate-limit tests move by hand. */
static double fake_now_s = 1000.0;

static double
fake_now(void)
{
	return fake_now_s;
}

/* The log file's text so far (a static buffer). */
static const char *
slurp(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* How many times needle occurs in hay. */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Counters of one kind, through log_limit_walk. */
struct kind_counts {
	const char		*event;
	unsigned long long	 total;
	unsigned long long	 suppressed;
};

static void
walk_cb(const struct log_limit_info *i, void *arg)
{
	struct kind_counts *k = arg;

	if (strcmp(i->event, k->event) == 0) {
		k->total = i->total;
		k->suppressed = i->suppressed;
	}
}

/* The fake loop of the batching test: how often it was kicked. */
static int kicks;

static void
kick(void *arg)
{
	assert_ptr_equal(arg, &kicks);
	kicks++;
}

/*
 * Batching: nothing reaches the file before log_flush(), one kick per
 * empty-to-non-empty, every line once and in order, an error line and a
 * full buffer write what is queued first, log_reopen writes into the old
 * file, log_batch_stop goes back to a write per line.
 */
static void
test_batch(void **state)
{
	const char *t = getenv("TMPDIR"), *text, *p;
	char dir[4096], path[4200], moved[4200], want[64];
	char *cause = NULL;
	int i, n;

	snprintf(dir, sizeof dir, "%s/sipedge-logtest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/b.log", dir);
	snprintf(moved, sizeof moved, "%s/b.log.1", dir);
	assert_int_equal(log_configure(path, 0, 0, 0, LOG_LVL_INFO, &cause), 0);
	log_batch_start(kick, &kicks);
	log_event(LOG_LVL_INFO, "t", "a", NULL);
	log_event(LOG_LVL_INFO, "t", "b", NULL);
	assert_int_equal(kicks, 1);
	assert_string_equal(slurp(path), "");
	log_flush();
	assert_int_equal(count(slurp(path), "module=t"), 2);
	log_event(LOG_LVL_INFO, "t", "c", NULL);
	assert_int_equal(kicks, 2);
	log_event(LOG_LVL_ERROR, "t", "d", NULL);	/* at once, after c */
	text = slurp(path);
	assert_non_null(p = strstr(text, "event=\"c\""));
	assert_non_null(strstr(p, "event=\"d\""));
	/* A burst beyond the buffer: all there, in order, once. */
	for (i = 0; i < 2000; i++)
		log_event(LOG_LVL_INFO, "t", "burst", "i", i % 2 ? "1" : "0",
		    NULL);
	log_event(LOG_LVL_INFO, "t", "e", NULL);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(log_reopen(&cause), 1);	/* e goes to the old file */
	log_event(LOG_LVL_INFO, "t", "f", NULL);
	log_batch_stop();
	log_event(LOG_LVL_INFO, "t", "g", NULL);	/* at once */
	text = slurp(path);
	assert_int_equal(count(text, "module=t"), 2);
	assert_non_null(p = strstr(text, "event=\"f\""));
	assert_non_null(strstr(p, "event=\"g\""));
	text = slurp(moved);
	assert_int_equal(count(text, "event=\"burst\""), 2000);
	for (p = text, n = 0; (p = strstr(p, "event=\"burst\"")) != NULL;
	    p++, n++) {
		snprintf(want, sizeof want, "event=\"burst\" i=%d\n", n % 2);
		assert_memory_equal(p, want, strlen(want));
	}
	assert_non_null(strstr(text, "event=\"e\""));
	assert_true(strstr(text, "event=\"e\"") > strstr(text, "i=1\n"));
	log_close();
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

static void
test_rate_limit(void **state)
{
	const char *t = getenv("TMPDIR");
	char dir[4096], path[4200];
	struct kind_counts kc = { "bad message", 0, 0 };
	struct log_line l;
	const char *text;
	int i;

	snprintf(dir, sizeof dir, "%s/sipedge-logtest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/r.log", dir);
	assert_int_equal(log_configure(path, 0, 0, 0, LOG_LVL_INFO, NULL), 0);
	log_limit_set_clock(fake_now);
	log_limit_configure(10, 1);
	log_limit_register("sip", "bad message", LOG_LVL_DEBUG);
	log_limit_register("sip", "connection closed", LOG_LVL_WARN);

	/* 1000 in one interval: 10 written, then nothing until it ends. */
	for (i = 0; i < 1000; i++) {
		fake_now_s = 1000.0 + i * 0.0005;
		log_event(LOG_LVL_WARN, "sip", "bad message", "n", "x", NULL);
	}
	/* log_begin users are limited the same way. */
	log_begin(&l, LOG_LVL_WARN, "sip", "bad message");
	log_kvs(&l, "via", "begin");
	log_end(&l);
	text = slurp(path);
	assert_int_equal(count(text, "event=\"bad message\""), 10);
	assert_null(strstr(text, "suppressed"));
	/* The flush before the interval is over writes nothing... */
	fake_now_s = 1000.9;
	log_flush_suppressed();
	assert_null(strstr(slurp(path), "suppressed"));
	/* ... after it, one line with the counts. */
	fake_now_s = 1001.0;
	log_flush_suppressed();
	text = slurp(path);
	assert_int_equal(count(text, "event=\"similar events suppressed\""), 1);
	assert_non_null(strstr(text, "level=warn module=sip event=\"similar "
	    "events suppressed\" kind=\"bad message\" suppressed=991 "
	    "logged=10 interval=1 total=1001\n"));
	log_flush_suppressed();		/* nothing more to say */
	assert_int_equal(count(slurp(path), "suppressed="), 1);

	/* The next interval writes 10 again. */
	for (i = 0; i < 30; i++)
		log_event(LOG_LVL_WARN, "sip", "bad message", NULL);
	assert_int_equal(count(slurp(path), "event=\"bad message\""), 20);

	/* An event met after its interval ended flushes the summary first. */
	fake_now_s = 1003.0;
	log_event(LOG_LVL_WARN, "sip", "bad message", "n", "late", NULL);
	text = slurp(path);
	assert_non_null(strstr(text, "suppressed=20 logged=10 interval=1 "
	    "total=1031\n"));
	assert_non_null(strstr(strstr(text, "suppressed=20"), "n=late"));

	/* Below its level a kind is not limited; other events never are. */
	for (i = 0; i < 50; i++) {
		log_event(LOG_LVL_INFO, "sip", "connection closed", NULL);
		log_event(LOG_LVL_WARN, "sip", "other", NULL);
		log_event(LOG_LVL_WARN, "tls", "bad message", NULL);
	}
	text = slurp(path);
	assert_int_equal(count(text, "event=\"connection closed\""), 50);
	assert_int_equal(count(text, "event=\"other\""), 50);
	assert_int_equal(count(text, "module=tls event=\"bad message\""), 50);

	/* Filtered by level: not written, still counted. */
	log_limit_register("sip", "dbg", LOG_LVL_DEBUG);
	for (i = 0; i < 5; i++)
		log_event(LOG_LVL_DEBUG, "sip", "dbg", NULL);
	kc.event = "dbg";
	log_limit_walk(walk_cb, &kc);
	assert_int_equal(kc.total, 5);

	/* True totals: every event, and how many were not written. */
	kc.event = "bad message";
	log_limit_walk(walk_cb, &kc);
	assert_int_equal(kc.total, 1032);
	assert_int_equal(kc.suppressed, 1011);

	/* At exit, what is pending is flushed whether the interval is over
	 * or not (the late event was the first of this interval). */
	for (i = 0; i < 15; i++)
		log_event(LOG_LVL_WARN, "sip", "bad message", NULL);
	log_flush_suppressed_all();
	assert_non_null(strstr(slurp(path), "suppressed=6 logged=10 interval=1 "
	    "total=1047\n"));

	/* burst 0: no limit. */
	log_limit_configure(0, 1);
	for (i = 0; i < 40; i++)
		log_event(LOG_LVL_WARN, "sip", "bad message", "off", "1", NULL);
	assert_int_equal(count(slurp(path), "off=1"), 40);

	log_limit_reset();
	log_limit_set_clock(NULL);
	log_limit_configure(LOG_LIMIT_BURST, LOG_LIMIT_INTERVAL);
	log_close();
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_long_value_stays_one_line),
		cmocka_unit_test(test_file_sink_and_reopen),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
