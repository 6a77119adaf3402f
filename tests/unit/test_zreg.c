/*
 * test_zreg.c: the zone registry built from a real configuration file
 * (conf_load), and the one classification of an inbound connection: a
 * connection we opened, a traversal-server port, an IP literal peer, a
 * peer by the address its name resolved to, the transport filter, the
 * default zone; and the references that count on an owner.
 */
#include "config.h"

#include <arpa/inet.h>
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
#include "proxy/zreg.h"
#include "util/xmalloc.h"

static char dir[4096];

/* Write dir/name. */
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

/* A directory with a main file and four zones. */
static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char *zd;

	(void)state;
	snprintf(dir, sizeof dir, "%s/sipedge-zregtest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	zd = xasprintf("%s/zones", dir);
	mkdir(zd, 0755);
	free(zd);
	put("zones/partner.conf", "type = \"neighbor\";\ntransport = \"tls\";\n"
	    "peers = [ \"192.0.2.1\", \"partner.example\" ];\n");
	put("zones/named.conf", "type = \"neighbor\";\ntransport = \"tls\";\n"
	    "peer_name = \"sip.named.example\";\nport = 5071;\n"
	    "peers = [ \"192.0.2.2\" ];\n");
	put("zones/plain.conf", "type = \"neighbor\";\ntransport = \"udp\";\n"
	    "peers = [ \"192.0.2.3\" ];\n");
	put("zones/inside.conf", "type = \"traversal-server\";\n"
	    "username = \"inside\";\npeer_name = \"inside.example\";\n"
	    "port = 15070;\n");
	put("main.conf", "listen = ( { transport = \"tls\"; address = "
	    "\"127.0.0.1\"; port = 15061; } );\n"
	    "default_zone: { peer_names = [ \"a.example\" ]; };\n");
	return 0;
}

/* Remove the directory. */
static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rv = system(cmd);

	(void)state;
	free(cmd);
	return rv == 0 ? 0 : -1;
}

/* The configuration of dir/main.conf. */
static struct conf *
load(void)
{
	struct diaglist dl = { 0 };
	char *path = xasprintf("%s/main.conf", dir);
	struct conf *c;
	size_t i;

	c = conf_load(path, &dl);
	for (i = 0; i < dl.n; i++)
		print_message("%s\n", dl.v[i].text);
	assert_non_null(c);
	diag_clear(&dl);
	free(path);
	return c;
}

/* An IPv4 address. */
static struct sockaddr_in
v4(const char *ip)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

/* A zreg_resolved_fn: partner.example resolved to 198.51.100.7. */
static const char *
resolved(void *arg, const struct sockaddr *sa, const char **zone)
{
	struct sockaddr_in want = v4("198.51.100.7");

	(void)arg;
	*zone = NULL;
	if (memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
	    &want.sin_addr, 4) != 0)
		return NULL;
	*zone = "partner";
	return "partner.example";
}

/* Classify an inbound connection from ip over transport tp. */
static void
from(const struct zreg *zr, const char *ip, int tp, struct zreg_class *cl)
{
	struct sockaddr_in sin = v4(ip);
	struct zreg_in in;

	memset(&in, 0, sizeof in);
	in.peer = (struct sockaddr *)&sin;
	in.transport = tp;
	in.resolved = resolved;
	zreg_classify(zr, &in, cl);
}

/* The zones as configured, with ports, expected names and policies. */
static void
test_build(void **state)
{
	struct conf *c = load();
	struct zreg *zr = zreg_new(c);
	const struct zreg_zone *z;

	(void)state;
	assert_int_equal(zr->n, 4);
	z = zreg_find(zr, "named");
	assert_non_null(z);
	assert_int_equal(z->port, 5071);
	assert_string_equal(zreg_expected(z, "192.0.2.2"), "sip.named.example");
	z = zreg_find(zr, "partner");
	assert_int_equal(z->port, 5061);
	assert_string_equal(zreg_expected(z, "partner.example"),
	    "partner.example");
	assert_null(zreg_find(zr, "default"));
	assert_string_equal(zr->def.name, "default");
	assert_int_equal(zr->def.npeers, 1);
	assert_true(zreg_same_peers(zreg_find(zr, "partner"),
	    zreg_find(zr, "partner")));
	assert_false(zreg_same_peers(zreg_find(zr, "partner"),
	    zreg_find(zr, "named")));
	zreg_free(zr);
	conf_free(c);
}

/* By address: IP literals, resolved names, the transport, the default. */
static void
test_by_address(void **state)
{
	struct conf *c = load();
	struct zreg *zr = zreg_new(c);
	struct zreg_class cl;

	(void)state;
	from(zr, "192.0.2.1", TP_TLS, &cl);
	assert_string_equal(cl.name, "partner");
	assert_string_equal(cl.expected, "192.0.2.1");
	from(zr, "192.0.2.2", TP_TLS, &cl);
	assert_string_equal(cl.name, "named");
	assert_string_equal(cl.expected, "sip.named.example");
	from(zr, "198.51.100.7", TP_TLS, &cl);
	assert_string_equal(cl.name, "partner");
	assert_string_equal(cl.peer, "partner.example");
	assert_string_equal(cl.expected, "partner.example");
	/* A UDP zone's peer over TLS is nobody's; over any transport, its. */
	from(zr, "192.0.2.3", TP_TLS, &cl);
	assert_null(cl.zone);
	assert_string_equal(cl.name, "default");
	assert_null(cl.expected);
	from(zr, "192.0.2.3", -1, &cl);
	assert_string_equal(cl.name, "plain");
	from(zr, "203.0.113.9", -1, &cl);
	assert_null(cl.zone);
	assert_string_equal(cl.name, "default");
	zreg_free(zr);
	conf_free(c);
}

/* A connection we opened, and one on a traversal-server zone's port. */
static void
test_outbound_and_listener(void **state)
{
	struct conf *c = load();
	struct zreg *zr = zreg_new(c);
	struct sockaddr_in sin = v4("192.0.2.1");
	struct zreg_in in;
	struct zreg_class cl;

	(void)state;
	memset(&in, 0, sizeof in);
	in.peer = (struct sockaddr *)&sin;
	in.transport = TP_TLS;
	in.outbound = 1;
	in.outbound_zone = "named";
	in.outbound_expected = "sip.named.example";
	zreg_classify(zr, &in, &cl);
	assert_string_equal(cl.name, "named");
	assert_string_equal(cl.expected, "sip.named.example");
	in.outbound_zone = NULL;
	in.outbound_expected = NULL;
	zreg_classify(zr, &in, &cl);
	assert_string_equal(cl.name, "default");
	assert_null(cl.zone);
	memset(&in, 0, sizeof in);
	in.peer = (struct sockaddr *)&sin;
	in.transport = TP_TLS;
	in.listener_zone = "inside";
	zreg_classify(zr, &in, &cl);
	assert_string_equal(cl.name, "inside");
	assert_string_equal(cl.expected, "inside.example");
	assert_false(cl.gone);
	in.listener_zone = "removed";
	zreg_classify(zr, &in, &cl);
	assert_true(cl.gone);
	assert_null(cl.zone);
	zreg_free(zr);
	conf_free(c);
}

static int holds;

/* An owner's hold and release: count. */
static void
hold(void *owner)
{
	(void)owner;
	holds++;
}

static void
release(void *owner)
{
	(void)owner;
	holds--;
}

/* References count on the owner; unref clears the holder's pointer. */
static void
test_refs(void **state)
{
	struct conf *c = load();
	struct zreg *zr = zreg_new(c);
	const struct zreg *a, *b = NULL;

	(void)state;
	a = zreg_ref(zr);	/* no owner: nothing counted */
	zreg_unref(&a);
	assert_null(a);
	zreg_set_owner(zr, zr, hold, release);
	a = zreg_ref(zr);
	b = zreg_ref(zr);
	assert_int_equal(holds, 2);
	zreg_unref(&a);
	zreg_unref(&b);
	zreg_unref(&b);		/* NULL: nothing */
	assert_int_equal(holds, 0);
	zreg_free(zr);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_by_address),
		cmocka_unit_test(test_outbound_and_listener),
		cmocka_unit_test(test_refs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
