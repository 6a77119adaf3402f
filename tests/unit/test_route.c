/*
 * test_route.c: search rules over request-URIs.  The rules are loaded by
 * conf_load from a real file (so the patterns are compiled as the daemon
 * compiles them); each case walks the targets as if every one failed.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "proxy/route.h"
#include "util/xmalloc.h"

static char dir[4096];

static void
put(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char *zd;

	(void)state;
	snprintf(dir, sizeof dir, "%s/sipedge-routetest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	zd = xasprintf("%s/zones", dir);
	mkdir(zd, 0755);
	free(zd);
	put("zones/partner.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.1\" ];\n");
	put("zones/backup.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.2\" ];\n");
	put("zones/inside.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.3\" ];\n");
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rv = system(cmd);

	(void)state;
	free(cmd);
	return rv == 0 ? 0 : -1;
}

/* A configuration with these search rules (text inside the list). */
static struct conf *
load_rules(const char *text)
{
	struct diaglist dl = { 0 };
	struct conf *c;
	char *main = xasprintf("listen = ( { transport = \"tls\"; address = "
	    "\"127.0.0.1\"; port = 15061; } );\nsearch_rules = (\n%s\n);\n",
	    text), *path = xasprintf("%s/main.conf", dir);
	size_t i;

	put("main.conf", main);
	c = conf_load(path, &dl);
	for (i = 0; i < dl.n; i++)
		print_message("%s\n", dl.v[i].text);
	assert_int_equal(dl.nerrors, 0);
	assert_non_null(c);
	diag_clear(&dl);
	free(main);
	free(path);
	return c;
}

/*
 * Every target of a search, as if each failed: "zone uri" lines.  The
 * last line is "count N" (route_count); a rule skipped on the way adds
 * "skipped: why".
 */
static char *
walk(const struct conf *c, const char *ruri, const char *src,
    const char *method)
{
	struct route_target t;
	struct route *r;
	char *cause = NULL, *all = xstrdup(""), *s;

	r = route_new(c, ruri, src, method, &cause);
	if (r == NULL)
		fail_msg("route_new(%s): %s", ruri, cause);
	for (;;) {
		int more = route_next(r, &t);

		if (route_skipped(r) != NULL) {
			s = xasprintf("%sskipped: %s\n", all, route_skipped(r));
			free(all);
			all = s;
		}
		if (!more)
			break;
		assert_int_equal(t.rewritten, strcmp(t.uri, ruri) != 0);
		s = xasprintf("%s%s %s\n", all, t.zone, t.uri);
		free(all);
		all = s;
	}
	s = xasprintf("%scount %zu\n", all, route_count(r));
	free(all);
	route_free(r);
	return s;
}

static void
expect_walk(const struct conf *c, const char *ruri, const char *src,
    const char *method, const char *want)
{
	char *got = walk(c, ruri, src, method);

	if (strcmp(got, want) != 0)
		fail_msg("%s from %s (%s):\nwanted:\n%sgot:\n%s", ruri, src,
		    method, want, got);
	free(got);
}

static void
expect_alias(const char *ruri, const char *alias)
{
	struct conf c;
	struct route *r;
	char *cause = NULL;

	memset(&c, 0, sizeof c);
	r = route_new(&c, ruri, CONF_DEFAULT_ZONE, "INVITE", &cause);
	if (r == NULL)
		fail_msg("route_new(%s): %s", ruri, cause);
	assert_string_equal(route_alias(r), alias);
	route_free(r);
}

static void
expect_bad(const char *ruri, const char *cause_part)
{
	struct conf c;
	char *cause = NULL;

	memset(&c, 0, sizeof c);
	assert_null(route_new(&c, ruri, CONF_DEFAULT_ZONE, "INVITE", &cause));
	assert_non_null(cause);
	if (strstr(cause, cause_part) == NULL)
		fail_msg("%s: wanted \"%s\" in \"%s\"", ruri, cause_part, cause);
	free(cause);
}

/* What the rules match: user@host, host in lower case, nothing else. */
static void
test_alias(void **state)
{
	(void)state;
	expect_alias("sip:+4412345@Example.COM:5061;user=phone",
	    "+4412345@example.com");
	expect_alias("sips:alice:secret@example.com", "alice@example.com");
	expect_alias("SIP:Example.com;transport=tls", "example.com");
	expect_alias("sip:Bob@[2001:DB8::1]:5060;lr", "Bob@[2001:db8::1]");
	expect_alias("sip:123;phone-context=x@gw.example?subject=hi",
	    "123;phone-context=x@gw.example");
	expect_alias("sip:%2B44@example.com", "%2B44@example.com");

	expect_bad("tel:+4412345", "is not a sip or sips URI");
	expect_bad("example.com", "has no scheme");
	expect_bad("sip:@example.com", "empty user part");
	expect_bad("sip::pw@example.com", "empty user part");
	expect_bad("sip:bob@[2001:db8::1", "unterminated IPv6 reference");
	expect_bad("sip:", "has no valid host");
	expect_bad("sip:bob@", "has no valid host");
	expect_bad("sip:bob@;user=phone", "has no valid host");
	expect_bad("sip:bob@[::1]x", "has no valid host");
}

/* No rules: no target, count 0 (the proxy answers 404). */
static void
test_no_rules(void **state)
{
	struct conf c;

	(void)state;
	memset(&c, 0, sizeof c);
	expect_walk(&c, "sip:a@b", CONF_DEFAULT_ZONE, "INVITE", "count 0\n");
}

/* exact, prefix, suffix: user part with case, host without. */
static void
test_exact_prefix_suffix(void **state)
{
	struct conf *c = load_rules(
	    "{ priority = 10; match = \"exact\"; pattern = \"alice@Example.com\";"
	    " target_zone = \"partner\"; on_match = \"continue\"; },\n"
	    "{ priority = 20; match = \"prefix\"; pattern = \"+44\";"
	    " target_zone = \"backup\"; on_match = \"continue\"; },\n"
	    "{ priority = 30; match = \"suffix\"; pattern = \"@Inside.Example\";"
	    " target_zone = \"inside\"; on_match = \"continue\"; },\n"
	    "{ priority = 40; match = \"suffix\"; pattern = \"example\";"
	    " target_zone = \"inside\"; on_match = \"continue\"; }");

	(void)state;
	expect_walk(c, "sip:alice@EXAMPLE.COM;user=phone", "default", "INVITE",
	    "partner sip:alice@EXAMPLE.COM;user=phone\ncount 1\n");
	/* The user part is case-sensitive (RFC 3261 s.19.1.4). */
	expect_walk(c, "sip:Alice@example.com", "default", "INVITE",
	    "count 0\n");
	/* Exact means the whole alias. */
	expect_walk(c, "sip:alice@example.com.evil", "default", "INVITE",
	    "count 0\n");
	expect_walk(c, "sip:+4412345@gw.example", "default", "INVITE",
	    "backup sip:+4412345@gw.example\n"
	    "inside sip:+4412345@gw.example\ncount 2\n");
	expect_walk(c, "sip:0044123@gw.example", "default", "INVITE",
	    "inside sip:0044123@gw.example\ncount 1\n");
	/* Suffix "@Inside.Example" and suffix "example" both match the host;
	 * the second gives the same zone and URI, so it is not tried again. */
	expect_walk(c, "sips:bob@INSIDE.example:5061", "default", "INVITE",
	    "inside sips:bob@INSIDE.example:5061\n"
	    "skipped: rule 40: zone inside was already tried with "
	    "sips:bob@INSIDE.example:5061\ncount 1\n");
	/* A host-only URI: the alias is the host. */
	expect_walk(c, "sip:inside.example", "default", "OPTIONS",
	    "inside sip:inside.example\ncount 1\n");
	conf_free(c);
}

/* Regular expressions match the whole alias, leftmost-longest. */
static void
test_regex(void **state)
{
	struct conf *c = load_rules(
	    "{ priority = 10; match = \"regex\"; pattern = \"alice\";"
	    " target_zone = \"partner\"; on_match = \"continue\"; },\n"
	    "{ priority = 20; match = \"regex\"; pattern = \"(x|x@h)\";"
	    " target_zone = \"partner\"; on_match = \"continue\"; },\n"
	    "{ priority = 30; match = \"regex\"; pattern ="
	    " \"([+]44|0)?([0-9]+)@(.*)\"; rewrite = \"+44\\\\2@uk.\\\\3\";"
	    " target_zone = \"backup\"; on_match = \"continue\"; },\n"
	    "{ priority = 40; match = \"regex\"; pattern = \"[a-z]+@.*\";"
	    " rewrite = \"\\\\0\"; target_zone = \"inside\"; }");

	(void)state;
	/* "alice" alone is not the alias "alice@example.com". */
	expect_walk(c, "sip:alice@example.com", "default", "MESSAGE",
	    "inside sip:alice@example.com\ncount 1\n");
	expect_walk(c, "sip:alice", "default", "MESSAGE",
	    "partner sip:alice\ncount 1\n");
	/* POSIX: the longest alternative, so the whole alias matches. */
	expect_walk(c, "sip:x@h", "default", "MESSAGE",
	    "partner sip:x@h\ninside sip:x@h\ncount 2\n");
	/* Groups; the host was matched in lower case; the parameters stay,
	 * the port goes with the old host. */
	expect_walk(c, "sip:+44201@Gw.Example:5070;user=phone", "default",
	    "INVITE", "backup sip:+44201@uk.gw.example;user=phone\ncount 1\n");
	expect_walk(c, "sip:0201@gw.example", "default", "INVITE",
	    "backup sip:+44201@uk.gw.example\ncount 1\n");
	/* A group that took no part gives nothing. */
	expect_walk(c, "sip:201@gw.example", "default", "INVITE",
	    "backup sip:+44201@uk.gw.example\ncount 1\n");
	conf_free(c);
}

/* Prefix and suffix rewrites replace what they matched. */
static void
test_rewrite_prefix_suffix(void **state)
{
	struct conf *c = load_rules(
	    "{ priority = 1; match = \"prefix\"; pattern = \"9\"; rewrite = \"\";"
	    " target_zone = \"partner\"; on_match = \"continue\"; },\n"
	    "{ priority = 2; match = \"suffix\"; pattern = \"@Partner.Example\";"
	    " rewrite = \"@sbc.partner.example\"; target_zone = \"backup\";"
	    " on_match = \"continue\"; },\n"
	    "{ priority = 3; match = \"exact\"; pattern = \"[2001:db8::1]\";"
	    " rewrite = \"[2001:db8::2]:5080\"; target_zone = \"inside\"; }");

	(void)state;
	/* Same host: the port stays. */
	expect_walk(c, "sip:9123@10.0.0.1:5070;user=phone", "default", "INVITE",
	    "partner sip:123@10.0.0.1:5070;user=phone\ncount 1\n");
	/* Another host: the port goes, the parameters stay. */
	expect_walk(c, "sips:bob@PARTNER.example:5062;transport=tls", "inside",
	    "INVITE", "backup sips:bob@sbc.partner.example;transport=tls\n"
	    "count 1\n");
	/* The rewrite's own port is used. */
	expect_walk(c, "sip:[2001:DB8::1]:5060;lr", "inside", "OPTIONS",
	    "inside sip:[2001:db8::2]:5080;lr\ncount 1\n");
	/* Both prefix and suffix. */
	expect_walk(c, "sip:9bob@partner.example", "default", "INVITE",
	    "partner sip:bob@partner.example\n"
	    "backup sip:9bob@sbc.partner.example\ncount 2\n");
	conf_free(c);
}

/* A rewrite that gives no alias fails its rule like a failed target. */
static void
test_bad_rewrite(void **state)
{
	struct conf *c = load_rules(
	    "{ priority = 1; match = \"regex\"; pattern = \"([0-9]*)[a-z]*@(.*)\";"
	    " rewrite = \"\\\\1@\\\\2\"; target_zone = \"partner\";"
	    " on_match = \"continue\"; },\n"
	    "{ priority = 2; name = \"strip\"; match = \"prefix\"; pattern = \"x\";"
	    " rewrite = \"\"; target_zone = \"backup\"; },\n"
	    "{ priority = 3; match = \"any\"; target_zone = \"inside\"; }");

	(void)state;
	/* An empty user part, then a continue rule: the next rule goes on. */
	expect_walk(c, "sip:bob@h.example", "default", "INVITE",
	    "skipped: rule 1 rewrote \"bob@h.example\" to \"@h.example\", "
	    "which is not user@host or host\n"
	    "inside sip:bob@h.example\ncount 1\n");
	/* A stop rule whose rewrite fails ends the search. */
	expect_walk(c, "sip:x@h.example", "default", "INVITE",
	    "skipped: rule 2 (strip) rewrote \"x@h.example\" to \"@h.example\", "
	    "which is not user@host or host\ncount 0\n");
	conf_free(c);
}

/* Source zone and method filters; stop and continue; priority order. */
static void
test_filters_and_order(void **state)
{
	/* Written out of order: the priorities decide. */
	struct conf *c = load_rules(
	    "{ priority = 300; match = \"any\"; target_zone = \"inside\"; },\n"
	    "{ priority = 100; match = \"suffix\"; pattern = \"@partner.example\";"
	    " source_zone = \"default\"; methods = [ \"INVITE\", \"OPTIONS\" ];"
	    " target_zone = \"partner\"; on_match = \"continue\"; },\n"
	    "{ priority = 200; match = \"suffix\"; pattern = \"@partner.example\";"
	    " source_zone = \"default\"; target_zone = \"backup\";"
	    " on_match = \"stop\"; },\n"
	    "{ priority = 50; match = \"any\"; source_zone = \"partner\";"
	    " target_zone = \"inside\"; }");

	(void)state;
	assert_int_equal(c->nrules, 4);
	assert_int_equal(c->rules[0].priority, 50);
	assert_int_equal(c->rules[3].priority, 300);
	/* continue, then stop: the any rule at 300 is never reached. */
	expect_walk(c, "sip:a@partner.example", "default", "INVITE",
	    "partner sip:a@partner.example\nbackup sip:a@partner.example\n"
	    "count 2\n");
	/* The method filter leaves out rule 100. */
	expect_walk(c, "sip:a@partner.example", "default", "MESSAGE",
	    "backup sip:a@partner.example\ncount 1\n");
	/* Methods are case-sensitive tokens. */
	expect_walk(c, "sip:a@partner.example", "default", "invite",
	    "backup sip:a@partner.example\ncount 1\n");
	/* From the partner zone only rule 50 applies; it stops. */
	expect_walk(c, "sip:a@partner.example", "partner", "INVITE",
	    "inside sip:a@partner.example\ncount 1\n");
	/* From another zone, the source-filtered rules do not apply. */
	expect_walk(c, "sip:a@partner.example", "backup", "INVITE",
	    "inside sip:a@partner.example\ncount 1\n");
	expect_walk(c, "sip:a@elsewhere.example", "default", "INVITE",
	    "inside sip:a@elsewhere.example\ncount 1\n");
	conf_free(c);
}

/* A target stays valid until route_free, and route_next after the end. */
static void
test_iterator(void **state)
{
	struct conf *c = load_rules(
	    "{ priority = 1; match = \"any\"; target_zone = \"partner\";"
	    " on_match = \"continue\"; },\n"
	    "{ priority = 2; match = \"prefix\"; pattern = \"b\"; rewrite = \"\";"
	    " target_zone = \"backup\"; }");
	struct route_target t1, t2, t3;
	struct route *r;
	char *cause = NULL;

	(void)state;
	r = route_new(c, "sip:bob@h", "default", "BYE", &cause);
	assert_non_null(r);
	assert_int_equal(route_count(r), 0);
	assert_int_equal(route_next(r, &t1), 1);
	assert_int_equal(route_next(r, &t2), 1);
	assert_string_equal(t1.zone, "partner");
	assert_string_equal(t1.uri, "sip:bob@h");
	assert_false(t1.rewritten);
	assert_ptr_equal(t1.rule, &c->rules[0]);
	assert_string_equal(t2.zone, "backup");
	assert_string_equal(t2.uri, "sip:ob@h");
	assert_true(t2.rewritten);
	assert_int_equal(route_next(r, &t3), 0);
	assert_int_equal(route_next(r, &t3), 0);
	assert_int_equal(route_count(r), 2);
	assert_null(route_skipped(r));
	route_free(r);
	route_free(NULL);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_no_rules),
		cmocka_unit_test(test_exact_prefix_suffix),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_rewrite_prefix_suffix),
		cmocka_unit_test(test_bad_rewrite),
		cmocka_unit_test(test_filters_and_order),
		cmocka_unit_test(test_iterator),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
