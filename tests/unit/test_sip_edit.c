/*
 * test_sip_edit.c: line edits on a SIP message's text: folded lines,
 * compact names, comma-combined values (commas inside quoted strings and
 * <...> are not separators), exact bytes of what is not edited, body
 * untouched.
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

#include "sip/sip_edit.h"

#define START	"INVITE sip:bob@b.example SIP/2.0\r\n"
#define BODY	"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"

/* The output of e, checked against want, and e freed. */
static void
expect(struct sip_edit *e, const char *want)
{
	size_t len = 0;
	char *out = sip_edit_output(e, &len);

	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
	sip_edit_free(e);
}

static struct sip_edit *
edit(const char *msg)
{
	struct sip_edit *e = sip_edit_new(msg, strlen(msg));

	assert_non_null(e);
	return e;
}

static void
test_unchanged_is_exact(void **state)
{
	/* Odd case, odd spacing, LF-only lines, a body with CRLFs. */
	const char *m = START "X-Sipedge-Test :  a  b \r\nmax-FORWARDS:70\n"
	    "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\nContent-Length: 36\r\n\r\n"
	    BODY;
	struct sip_edit *e = edit(m);

	assert_int_equal(sip_edit_body_len(e), strlen(BODY));
	expect(e, m);
}

static void
test_not_a_head(void **state)
{
	const char *cont = START " folded before any header\r\n\r\n";
	const char *noend = START "Via: x\r\nTo: y\r\n";

	assert_null(sip_edit_new("no line end", 11));
	assert_null(sip_edit_new(noend, strlen(noend)));
	assert_null(sip_edit_new(cont, strlen(cont)));
}

static void
test_start_line(void **state)
{
	struct sip_edit *e = edit(START "To: <sip:b>\r\n\r\n");

	sip_edit_start_line(e, "INVITE sip:bob@10.0.0.1 SIP/2.0");
	expect(e, "INVITE sip:bob@10.0.0.1 SIP/2.0\r\nTo: <sip:b>\r\n\r\n");
}

static void
test_insert_and_append(void **state)
{
	struct sip_edit *e = edit(START "From: a\r\nVia: v1\r\nv: v2\r\n"
	    "Content-Length: 0\r\n\r\n");

	sip_edit_insert(e, NULL, "Record-Route: <sip:p;lr>");
	sip_edit_insert(e, "via", "Via: ours");
	sip_edit_insert(e, "Route", "Max-Forwards: 70");	/* none: top */
	sip_edit_append(e, "X-Last: 1");
	expect(e, START "Max-Forwards: 70\r\nRecord-Route: <sip:p;lr>\r\n"
	    "From: a\r\nVia: ours\r\nVia: v1\r\nv: v2\r\n"
	    "Content-Length: 0\r\nX-Last: 1\r\n\r\n");
}

static void
test_compact_names(void **state)
{
	struct sip_edit *e = edit(START "v: a\r\ni: id\r\nVIA: b\r\n"
	    "l: 0\r\nm: <sip:c>\r\n\r\n");

	assert_int_equal(sip_edit_count(e, "Via"), 2);
	assert_int_equal(sip_edit_count(e, "v"), 2);
	assert_int_equal(sip_edit_count(e, "call-id"), 1);
	assert_int_equal(sip_edit_count(e, "Contact"), 1);
	assert_int_equal(sip_edit_count(e, "Content-Length"), 1);
	assert_int_equal(sip_edit_count(e, "To"), 0);
	assert_int_equal(sip_edit_delete(e, "via"), 2);
	assert_int_equal(sip_edit_delete(e, "i"), 1);
	expect(e, START "l: 0\r\nm: <sip:c>\r\n\r\n");
}

static void
test_name_spacing(void **state)
{
	struct sip_edit *e = edit(START "Max-Forwards : 70\r\n"
	    "Max-Forwards\t:\t69\r\nTo: x\r\n\r\n");
	const char *mf[] = { "Max-Forwards: 69" };
	const char *v;
	size_t n;

	v = sip_edit_first_value(e, "max-forwards", &n);
	assert_non_null(v);
	assert_int_equal(n, 2);
	assert_memory_equal(v, "70", 2);
	sip_edit_replace(e, "Max-Forwards", mf, 1);
	expect(e, START "Max-Forwards: 69\r\nTo: x\r\n\r\n");
}

static void
test_replace_keeps_place(void **state)
{
	struct sip_edit *e = edit(START "From: a\r\nRoute: <sip:1;lr>\r\n"
	    "To: b\r\nRoute: <sip:2>\r\n\r\n");
	const char *r[] = { "Route: <sip:x;lr>", "Route: <sip:y>" };

	sip_edit_replace(e, "Route", r, 2);
	expect(e, START "From: a\r\nRoute: <sip:x;lr>\r\nRoute: <sip:y>\r\n"
	    "To: b\r\n\r\n");
	e = edit(START "From: a\r\n\r\n");
	sip_edit_replace(e, "Max-Forwards", r, 1);	/* none: at the top */
	expect(e, START "Route: <sip:x;lr>\r\nFrom: a\r\n\r\n");
}

static void
test_folded_lines(void **state)
{
	const char *m = START "Subject: a\r\n  folded\r\n\tsubject\r\n"
	    "Via: SIP/2.0/TCP p1;branch=z9hG4bKa,\r\n"
	    "     SIP/2.0/UDP p2;branch=z9hG4bKb\r\nTo: b\r\n\r\n";
	struct sip_edit *e = edit(m);
	const char *v;
	size_t n;

	assert_int_equal(sip_edit_count(e, "Subject"), 1);
	assert_int_equal(sip_edit_count(e, "Via"), 1);
	v = sip_edit_first_value(e, "Via", &n);
	assert_int_equal(n, strlen("SIP/2.0/TCP p1;branch=z9hG4bKa"));
	assert_memory_equal(v, "SIP/2.0/TCP p1;branch=z9hG4bKa", n);
	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	expect(e, START "Subject: a\r\n  folded\r\n\tsubject\r\n"
	    "Via: SIP/2.0/UDP p2;branch=z9hG4bKb\r\nTo: b\r\n\r\n");

	e = edit(m);
	assert_int_equal(sip_edit_delete(e, "Subject"), 1);
	expect(e, START "Via: SIP/2.0/TCP p1;branch=z9hG4bKa,\r\n"
	    "     SIP/2.0/UDP p2;branch=z9hG4bKb\r\nTo: b\r\n\r\n");
}

static void
test_combined_via(void **state)
{
	const char *m = START "Via: SIP/2.0/TLS a;branch=z9hG4bK1 , "
	    "SIP/2.0/TCP b;branch=z9hG4bK2,SIP/2.0/UDP c\r\n"
	    "Via: SIP/2.0/UDP d\r\nContent-Length: 36\r\n\r\n" BODY;
	struct sip_edit *e = edit(m);

	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	expect(e, START "Via: SIP/2.0/TCP b;branch=z9hG4bK2,SIP/2.0/UDP c\r\n"
	    "Via: SIP/2.0/UDP d\r\nContent-Length: 36\r\n\r\n" BODY);

	e = edit(m);
	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	expect(e, START "Via: SIP/2.0/UDP d\r\nContent-Length: 36\r\n\r\n"
	    BODY);

	e = edit(m);
	assert_int_equal(sip_edit_replace_first(e, "Via",
	    "SIP/2.0/TLS a;branch=z9hG4bK1;received=10.0.0.9", 47), 0);
	expect(e, START "Via: SIP/2.0/TLS a;branch=z9hG4bK1;received=10.0.0.9"
	    " , SIP/2.0/TCP b;branch=z9hG4bK2,SIP/2.0/UDP c\r\n"
	    "Via: SIP/2.0/UDP d\r\nContent-Length: 36\r\n\r\n" BODY);

	e = edit(START "To: x\r\n\r\n");
	assert_int_equal(sip_edit_remove_first(e, "Via"), -1);
	assert_int_equal(sip_edit_replace_first(e, "Via", "x", 1), -1);
	assert_int_equal(sip_edit_remove_last(e, "Route"), -1);
	assert_null(sip_edit_first_value(e, "Via", &(size_t){ 0 }));
	expect(e, START "To: x\r\n\r\n");
}

static void
test_quoted_commas(void **state)
{
	/* Commas inside a quoted string and inside <...> separate nothing. */
	const char *m = START "Via: SIP/2.0/UDP a;x=\"1,2\\\",3\";branch=z9hG4bK1,"
	    " SIP/2.0/UDP b\r\nRoute: \"A, B\" <sip:p1;lr>, <sip:p2,x;lr>, "
	    "<sip:p3;lr>\r\n\r\n";
	struct sip_edit *e = edit(m);
	const char *v;
	size_t n;

	v = sip_edit_first_value(e, "Route", &n);
	assert_int_equal(n, strlen("\"A, B\" <sip:p1;lr>"));
	assert_memory_equal(v, "\"A, B\" <sip:p1;lr>", n);
	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	assert_int_equal(sip_edit_remove_first(e, "Route"), 0);
	expect(e, START "Via: SIP/2.0/UDP b\r\n"
	    "Route: <sip:p2,x;lr>, <sip:p3;lr>\r\n\r\n");

	e = edit(m);
	assert_int_equal(sip_edit_remove_last(e, "Route"), 0);
	assert_int_equal(sip_edit_remove_last(e, "Route"), 0);
	expect(e, START "Via: SIP/2.0/UDP a;x=\"1,2\\\",3\";branch=z9hG4bK1,"
	    " SIP/2.0/UDP b\r\nRoute: \"A, B\" <sip:p1;lr>\r\n\r\n");
}

static void
test_remove_last_across_lines(void **state)
{
	struct sip_edit *e = edit(START "Route: <sip:1>\r\nTo: x\r\n"
	    "Route: <sip:2>\r\n\r\n");

	assert_int_equal(sip_edit_remove_last(e, "Route"), 0);
	expect(e, START "Route: <sip:1>\r\nTo: x\r\n\r\n");
}

static void
test_body_untouched(void **state)
{
	/* A body that looks like headers (and a Via) is not edited. */
	const char *body = "Via: SIP/2.0/UDP evil\r\nRoute: <sip:e>\r\n";
	char m[256], want[256];
	struct sip_edit *e;

	snprintf(m, sizeof m, START "Via: SIP/2.0/UDP a\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	snprintf(want, sizeof want, START "Via: SIP/2.0/UDP ours\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	e = edit(m);
	assert_int_equal(sip_edit_body_len(e), strlen(body));
	assert_int_equal(sip_edit_remove_first(e, "Via"), 0);
	assert_int_equal(sip_edit_remove_first(e, "Via"), -1);
	assert_int_equal(sip_edit_delete(e, "Route"), 0);
	sip_edit_insert(e, "Via", "Via: SIP/2.0/UDP ours");
	expect(e, want);
}

static void
test_binary_body(void **state)
{
	/* NUL bytes in the body survive: lengths, not strings. */
	const char m[] = START "Content-Length: 4\r\n\r\na\0b\0";
	struct sip_edit *e = sip_edit_new(m, sizeof m - 1);
	size_t len;
	char *out;

	assert_non_null(e);
	sip_edit_insert(e, NULL, "Via: x");
	out = sip_edit_output(e, &len);
	assert_int_equal(len, sizeof m - 1 + strlen("Via: x\r\n"));
	assert_memory_equal(out + len - 4, "a\0b\0", 4);
	free(out);
	sip_edit_free(e);
}

/*
 * Past the lines and bytes an edit holds inside itself: 40 header lines
 * (the array moves to the heap) and 60 inserted lines of 30 bytes (the
 * arena runs out); the output is every line in order all the same.
 */
static void
test_many_lines(void **state)
{
	const char *repl[] = { "X-H39: replaced" };
	char msg[4096], line[64], *want, *w;
	size_t n = 0, k;
	struct sip_edit *e;
	int i;

	n += (size_t)snprintf(msg + n, sizeof msg - n, "%s", START);
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, "X-H%d: %d\r\n",
		    i, i);
	snprintf(msg + n, sizeof msg - n, "Content-Length: 0\r\n\r\n");
	e = edit(msg);
	for (i = 0; i < 60; i++) {
		snprintf(line, sizeof line, "Record-Route: <sip:p%02d.example;lr>",
		    i);
		sip_edit_insert(e, "X-H0", line);
	}
	sip_edit_replace(e, "X-H39", repl, 1);
	want = malloc(8192);
	assert_non_null(want);
	w = want + sprintf(want, "%s", START);
	for (i = 0; i < 60; i++)
		w += sprintf(w, "Record-Route: <sip:p%02d.example;lr>\r\n", i);
	for (i = 0; i < 39; i++)
		w += sprintf(w, "X-H%d: %d\r\n", i, i);
	k = (size_t)sprintf(w, "X-H39: replaced\r\nContent-Length: 0\r\n\r\n");
	assert_true(k > 0);
	expect(e, want);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_is_exact),
		cmocka_unit_test(test_not_a_head),
		cmocka_unit_test(test_start_line),
		cmocka_unit_test(test_insert_and_append),
		cmocka_unit_test(test_compact_names),
		cmocka_unit_test(test_name_spacing),
		cmocka_unit_test(test_replace_keeps_place),
		cmocka_unit_test(test_folded_lines),
		cmocka_unit_test(test_combined_via),
		cmocka_unit_test(test_quoted_commas),
		cmocka_unit_test(test_remove_last_across_lines),
		cmocka_unit_test(test_body_untouched),
		cmocka_unit_test(test_binary_body),
		cmocka_unit_test(test_many_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
