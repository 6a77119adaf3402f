/*
 * test_conf.c: configuration validation, one case per class of error, and
 * the certificate-file errors found when the TLS identity is loaded.
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
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "tls/tls_ca.h"
#include "tls/tls_ctx.h"
#include "util/xmalloc.h"

static char dir[4096];

#define LISTEN "listen = ( { transport = \"tls\"; address = \"127.0.0.1\"; port = 15061; } );\n"

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof dir, "%s/sipedge-conftest-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rv = system(cmd);

	free(cmd);
	return rv == 0 ? 0 : -1;
}

/* Write dir/name with text; returns the path (caller frees). */
static char *
put(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as the main file; return the diagnostics joined by newlines. */
static char *
load(const char *text, struct conf **cp)
{
	char *path = put("main.conf", text), *all = xstrdup(""), *t;
	struct diaglist dl = { 0 };
	struct conf *c;
	size_t i;

	c = conf_load(path, &dl);
	for (i = 0; i < dl.n; i++) {
		t = xasprintf("%s%s\n", all, dl.v[i].text);
		free(all);
		all = t;
	}
	if (dl.nerrors > 0)
		assert_null(c);
	diag_clear(&dl);
	if (cp != NULL)
		*cp = c;
	else
		conf_free(c);
	free(path);
	return all;
}

/* The diagnostics contain "main.conf:LINE: " followed by what. */
static void
expect(const char *diags, int line, const char *what)
{
	char *want = xasprintf("main.conf:%d: %s", line, what);

	if (strstr(diags, want) == NULL)
		fail_msg("wanted \"%s\" in:\n%s", want, diags);
	free(want);
}

static void
test_valid_and_defaults(void **state)
{
	struct conf *c;
	char *want;
	char *d = load("sip: { read_timeout = 3; };\n" LISTEN, &c);

	assert_string_equal(d, "");
	assert_non_null(c);
	assert_int_equal(c->read_timeout, 3);
	assert_int_equal(c->max_message_size, 65535);
	assert_int_equal(c->max_headers, 256);
	assert_int_equal(c->max_transactions, 100000);
	assert_int_equal(c->handshake_timeout, 10);
	assert_int_equal(c->nlisten, 1);
	assert_int_equal(c->listen[0].transport, TP_TLS);
	assert_non_null(c->fqdn);	/* from the host name */
	/* PKI paths default next to the main file, marked as defaults. */
	want = xasprintf("%s/pki/server.pem", dir);
	assert_string_equal(c->tls_certificate.path, want);
	assert_true(CONF_PATH_IS_DEFAULT(&c->tls_certificate));
	free(want);
	want = xasprintf("%s/pki/manual.crl", dir);
	assert_string_equal(c->manual_crl.path, want);
	free(want);
	assert_int_equal(c->expiry_warning_days, 30);
	assert_int_equal(c->log_rate_burst, 10);
	assert_int_equal(c->log_rate_interval, 1);
	conf_free(c);
	free(d);
}

/* log.rate_limit_*: set, and their ranges. */
static void
test_log_rate_limit(void **state)
{
	struct conf *c;
	char *d = load(LISTEN "log: { rate_limit_burst = 0; "
	    "rate_limit_interval = 60; };\n", &c);

	assert_string_equal(d, "");
	assert_int_equal(c->log_rate_burst, 0);
	assert_int_equal(c->log_rate_interval, 60);
	conf_free(c);
	free(d);
	d = load(LISTEN "log: {\n  rate_limit_interval = 0;\n"
	    "  rate_limit_burst = -1;\n};\n", NULL);
	expect(d, 3, "log.rate_limit_interval = 0 is out of range (1 to 3600)");
	expect(d, 4, "log.rate_limit_burst = -1 is out of range (0 to 1000000)");
	free(d);
}

/* tls.resumption and tls.ticket_rotation: defaults, set, range. */
static void
test_tls_resumption(void **state)
{
	struct conf *c;
	char *d = load(LISTEN, &c);

	assert_string_equal(d, "");
	assert_int_equal(c->tls_resumption, 1);
	assert_int_equal(c->tls_ticket_interval, 3600);
	conf_free(c);
	free(d);
	d = load(LISTEN "tls: { resumption = false; ticket_rotation = 600; };\n",
	    &c);
	assert_string_equal(d, "");
	assert_int_equal(c->tls_resumption, 0);
	assert_int_equal(c->tls_ticket_interval, 600);
	conf_free(c);
	free(d);
	d = load(LISTEN "tls: {\n  ticket_rotation = 0;\n};\n", NULL);
	expect(d, 3, "tls.ticket_rotation = 0 is out of range (1 to 86400)");
	free(d);
}

/* tls.handshake_threads: -1 (one per CPU) by default, 0 to 1024 set. */
static void
test_handshake_threads(void **state)
{
	struct conf *c;
	char *d = load(LISTEN, &c);

	(void)state;
	assert_string_equal(d, "");
	assert_int_equal(c->handshake_threads, -1);
	conf_free(c);
	free(d);
	d = load("tls: { handshake_threads = 0; };\n" LISTEN, &c);
	assert_string_equal(d, "");
	assert_int_equal(c->handshake_threads, 0);
	conf_free(c);
	free(d);
	d = load("tls: { handshake_threads = 2; };\n" LISTEN, &c);
	assert_int_equal(c->handshake_threads, 2);
	conf_free(c);
	free(d);
	d = load("tls: { handshake_threads = 1025; };\n" LISTEN, NULL);
	expect(d, 1, "tls.handshake_threads = 1025 is out of range (-1 to "
	    "1024)");
	free(d);
	d = load("tls: { handshake_threads = -2; };\n" LISTEN, NULL);
	expect(d, 1, "tls.handshake_threads = -2 is out of range (-1 to "
	    "1024)");
	free(d);
}

static void
test_connection_limits(void **state)
{
	struct conf *c;
	char *d = load("sip: { max_connections = 5000; "
	    "max_connections_per_source = 7; };\n" LISTEN, &c);

	assert_string_equal(d, "");
	assert_int_equal(c->max_connections, 5000);
	assert_int_equal(c->max_conns_per_source, 7);
	assert_int_equal(c->max_handshakes, 1000);	/* default */
	conf_free(c);
	free(d);
	d = load("sip: { max_handshakes = 0; max_connections = 0; };\n"
	    LISTEN, NULL);
	expect(d, 1, "sip.max_handshakes = 0 is out of range (1 to 1000000)");
	expect(d, 1, "sip.max_connections = 0 is out of range (1 to 16777216)");
	free(d);
	d = load("sip: { };\n" LISTEN, &c);
	assert_int_equal(c->max_connections, 200000);
	assert_int_equal(c->max_conns_per_source, 1000);
	conf_free(c);
	free(d);
}

static void
test_default_ports(void **state)
{
	struct conf *c;
	char *d = load("listen = ( { transport = \"tls\"; address = \"::1\"; },\n"
	    "{ transport = \"udp\"; address = \"127.0.0.1\"; } );\n", &c);

	assert_string_equal(d, "");
	assert_int_equal(c->listen[0].port, 5061);
	assert_int_equal(c->listen[1].port, 5060);
	conf_free(c);
	free(d);
}

static void
test_unknown_key_with_hint(void **state)
{
	char *d = load(LISTEN "sip: {\n  max_mesage_size = 2048;\n};\n", NULL);

	expect(d, 3, "unknown setting 'max_mesage_size' in sip (did you mean "
	    "'max_message_size'?)");
	free(d);
	d = load(LISTEN "tsl: { };\n", NULL);
	expect(d, 2, "unknown setting 'tsl' (did you mean 'tls'?)");
	free(d);
}

static void
test_wrong_type(void **state)
{
	char *d = load("listen = ( { transport = \"tls\"; address = \"127.0.0.1\";"
	    " port = \"abc\"; } );\nlog: { syslog = 1; };\n", NULL);

	expect(d, 1, "listen[0].port must be an integer, not a string");
	expect(d, 2, "log.syslog must be true or false, not an integer");
	free(d);
}

/* daemon.control_group: a group of this system, resolved to its gid. */
static void
test_control_group(void **state)
{
	struct conf *c;
	char *d = load(LISTEN "daemon: {\n  control_group = \"root\";\n};\n",
	    &c);

	assert_string_equal(d, "");
	assert_string_equal(c->control_group, "root");
	assert_int_equal(c->control_gid, 0);
	conf_free(c);
	free(d);
	d = load(LISTEN, &c);
	assert_null(c->control_group);
	assert_int_equal(c->control_gid, -1);
	conf_free(c);
	free(d);
	d = load(LISTEN "daemon: {\n  control_group = \"no-such-group-x\";\n"
	    "};\n", NULL);
	expect(d, 3, "daemon.control_group = \"no-such-group-x\" is not a "
	    "group of this system");
	free(d);
}

static void
test_out_of_range(void **state)
{
	char *d = load("listen = ( { transport = \"tcp\"; address = \"127.0.0.1\";"
	    " port = 70000; } );\nsip: { max_message_size = 10; };\n", NULL);

	expect(d, 1, "listen[0].port = 70000 is out of range (1 to 65535)");
	expect(d, 2, "sip.max_message_size = 10 is out of range (1024 to 1048576)");
	free(d);
	d = load(LISTEN "sip: {\n  max_transactions = 9;\n};\n", NULL);
	expect(d, 3, "sip.max_transactions = 9 is out of range (10 to 10000000)");
	free(d);
	/* The header field cap: 16 to 1024, set or refused. */
	d = load(LISTEN "sip: {\n  max_headers = 15;\n};\n", NULL);
	expect(d, 3, "sip.max_headers = 15 is out of range (16 to 1024)");
	free(d);
	d = load(LISTEN "sip: {\n  max_headers = 1025;\n};\n", NULL);
	expect(d, 3, "sip.max_headers = 1025 is out of range (16 to 1024)");
	free(d);
	{
		struct conf *c;

		d = load(LISTEN "sip: { max_headers = 1024; "
		    "max_transactions = 10; };\n", &c);
		assert_string_equal(d, "");
		assert_int_equal(c->max_headers, 1024);
		assert_int_equal(c->max_transactions, 10);
		conf_free(c);
		free(d);
	}
}

static void
test_bad_words_and_addresses(void **state)
{
	char *d = load("listen = ( { transport = \"sctp\"; address = \"example.com\"; } );\n"
	    "log: { level = \"verbose\"; };\n", NULL);

	expect(d, 1, "listen[0].transport = \"sctp\" is not one of: udp, tcp, tls");
	expect(d, 1, "listen[0].address: 'example.com' is not an IPv4 or IPv6 address");
	expect(d, 2, "log.level = \"verbose\" is not one of: debug, info, notice, warn, error");
	free(d);
}

static void
test_missing_required_and_duplicates(void **state)
{
	char *d = load("listen = ( { address = \"127.0.0.1\"; },\n"
	    "{ transport = \"udp\"; address = \"127.0.0.1\"; port = 5060; },\n"
	    "{ transport = \"udp\"; address = \"127.0.0.1\"; } );\n", NULL);

	expect(d, 1, "listen[0]: required setting 'transport' is missing");
	expect(d, 3, "listen[2] duplicates the listener at line 2");
	free(d);
}

static void
test_empty_and_syntax(void **state)
{
	char *d = load("", NULL);

	assert_non_null(strstr(d, "main.conf: file is empty"));
	free(d);
	d = load("# only a comment\n", NULL);
	assert_non_null(strstr(d, "no settings"));
	free(d);
	d = load(LISTEN "sip: { read_timeout = 3 \n", NULL);
	expect(d, 3, "syntax error");
	free(d);
	d = load("log: { level = \"info\"; };\n", NULL);
	assert_non_null(strstr(d, "no listeners"));
	free(d);
}

static void
test_unreadable_main_file(void **state)
{
	struct diaglist dl = { 0 };
	char *path = xasprintf("%s/nope.conf", dir);

	assert_null(conf_load(path, &dl));
	assert_int_equal(dl.nerrors, 1);
	assert_non_null(strstr(dl.v[0].text, "nope.conf: cannot open: No such file"));
	diag_clear(&dl);
	free(path);
	/* A directory is not a configuration file. */
	assert_null(conf_load(dir, &dl));
	assert_non_null(strstr(dl.v[0].text, "not a regular file"));
	diag_clear(&dl);
}

static void
test_relative_paths(void **state)
{
	struct conf *c;
	char *d = load(LISTEN "tls: { certificate = \"pki/a.pem\"; private_key = "
	    "\"/abs/a.key\"; };\ndaemon: { state_dir = \"st\"; };\n", &c);
	char *want = xasprintf("%s/pki/a.pem", dir);

	assert_string_equal(d, "");
	assert_string_equal(c->tls_certificate.path, want);
	assert_string_equal(c->tls_private_key.path, "/abs/a.key");
	assert_int_equal(c->tls_certificate.loc.line, 2);
	free(want);
	want = xasprintf("%s/st", dir);
	assert_string_equal(c->state_dir.path, want);
	free(want);
	conf_free(c);
	free(d);
	d = load(LISTEN "tls: { extra_names = [ \"DNS:a.example\", \"IP:192.0.2.1\",\n"
	    "\"URI:sip:a.example\", \"a.example\", \"DNS:a_b.example\",\n"
	    "\"FOO:x\", \"URI:sip:x_y\" ]; };\n", NULL);
	expect(d, 3, "tls.extra_names[4]: \"a_b.example\" is not a host name: "
	    "it has the character '_'; only letters, digits, hyphens and dots "
	    "are allowed (an underscore belongs to service labels such as "
	    "_sip._tcp, never to a host name, RFC 1123)");
	expect(d, 4, "tls.extra_names[5]: \"FOO:x\": \"FOO\" is not a name "
	    "type; write DNS:name, IP:address or URI:scheme:value");
	expect(d, 4, "tls.extra_names[6]: the SIP URI \"sip:x_y\" has a host");
	assert_null(strstr(d, "extra_names[3]"));
	free(d);
	/* Good entries are kept in canonical form, bare ones typed. */
	d = load(LISTEN "tls: { extra_names = [ \"sip:a.example\", "
	    "\"Edge.Example\", \"ip:2001:DB8::1\", \"dns:X.example\" ]; };\n", &c);
	assert_string_equal(d, "");
	assert_int_equal(c->extra_names.n, 4);
	assert_string_equal(c->extra_names.v[0], "URI:sip:a.example");
	assert_string_equal(c->extra_names.v[1], "DNS:edge.example");
	assert_string_equal(c->extra_names.v[2], "IP:2001:db8::1");
	assert_string_equal(c->extra_names.v[3], "DNS:x.example");
	conf_free(c);
	free(d);
}

static void
test_revocation_settings(void **state)
{
	struct conf *c;
	char *d;

	(void)state;
	d = load(LISTEN "revocation: { update_time = \"04:30\"; fallback = "
	    "\"treat-as-revoked\";\n distribution_points = "
	    "[ \"https://crl.example/ca.crl\" ]; };\n", &c);
	assert_string_equal(d, "");
	assert_int_equal(c->rev_update_minute, 270);
	assert_int_equal(c->rev_fallback, 1);
	assert_int_equal(c->rev_mode, 1);
	assert_int_equal(c->rev_timeout, 5);
	assert_int_equal(c->rev_dps.n, 1);
	conf_free(c);
	free(d);
	d = load(LISTEN "revocation: { update_time = \"25:00\"; };\n", NULL);
	expect(d, 2, "revocation.update_time = \"25:00\" must be HH:MM");
	free(d);
	d = load(LISTEN "revocation: {\n distribution_points = [ \"ftp://x/c.crl\",\n"
	    "\"http://ca.example/a b.crl\" ]; };\n", NULL);
	expect(d, 3, "revocation.distribution_points[0]: \"ftp://x/c.crl\" is "
	    "not an http:// or https:// URL");
	expect(d, 4, "revocation.distribution_points[1]: the URL "
	    "\"http://ca.example/a b.crl\" has a space");
	free(d);
	d = load(LISTEN "revocation: { fallback = \"maybe\"; };\n", NULL);
	expect(d, 2, "revocation.fallback = \"maybe\" is not one of: "
	    "treat-as-not-revoked, treat-as-revoked");
	free(d);
}

static void
test_dns_servers(void **state)
{
	struct conf *c;
	char *d;

	(void)state;
	d = load(LISTEN, &c);
	assert_string_equal(d, "");
	assert_int_equal(c->dns_servers.n, 0);	/* resolv.conf */
	conf_free(c);
	free(d);
	d = load(LISTEN "dns: { servers = [ \"127.0.0.1:5353\", \"192.0.2.1\",\n"
	    "\"::1\", \"[2001:db8::1]\", \"[::1]:53\" ]; };\n", &c);
	assert_string_equal(d, "");
	assert_int_equal(c->dns_servers.n, 5);
	assert_string_equal(c->dns_servers.v[0], "127.0.0.1:5353");
	conf_free(c);
	free(d);
	d = load(LISTEN "dns: { servers = [ \"127.0.0.1\",\n\"ns.example\",\n"
	    "\"127.0.0.1:0\", \"[::1]x\", \"1.2.3.4:99999\", \"::1:53x\" ]; };\n",
	    NULL);
	expect(d, 3, "dns.servers[1] = \"ns.example\" must be an IP address");
	expect(d, 4, "dns.servers[2] = \"127.0.0.1:0\" must be");
	expect(d, 4, "dns.servers[3] = \"[::1]x\" must be");
	expect(d, 4, "dns.servers[4] = \"1.2.3.4:99999\" must be");
	expect(d, 4, "dns.servers[5] = \"::1:53x\" must be");
	free(d);
	d = load(LISTEN "dns: { servers = \"127.0.0.1\"; };\n", NULL);
	expect(d, 2, "dns.servers must be a list of strings");
	free(d);
}

static void
test_zones(void **state)
{
	struct conf *c;
	char *zd = xasprintf("%s/zones", dir), *p, *d;

	mkdir(zd, 0755);
	free(put("zones/b-partner.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.1\", "
	    "\"sip.example.com\" ];\n"));
	free(put("zones/a-edge.conf", "name = \"edge\";\ntype = \"traversal-server\";\n"
	    "port = 7001;\npeer_name = \"inside.example.com\";\n"
	    "username = \"inside\";\n"));
	p = put("credentials", "# user realm algorithm ha1\ninside r MD5 "
	    "0123456789abcdef0123456789abcdef\n");
	chmod(p, 0600);
	free(p);
	free(put("zones/README.txt", "not a zone\n"));
	d = load(LISTEN, &c);
	assert_non_null(c);
	assert_int_equal(c->nzones, 2);
	assert_string_equal(c->zones[0].name, "edge");		/* name order */
	assert_string_equal(c->zones[1].name, "b-partner");	/* from file name */
	assert_int_equal(c->zones[1].peers.n, 2);
	assert_int_equal(c->zones[1].port, 5061);
	assert_int_equal(c->zones[1].tls_verify, 1);
	assert_non_null(strstr(d, "README.txt: warning: ignored: zone files must end in .conf"));
	conf_free(c);
	free(d);

	/* An error inside a zone file names that file and line. */
	p = put("zones/c-bad.conf", "type = \"neighbor\";\npeers = [ \"a\" ];\n"
	    "transport = \"sctp\";\n");
	d = load(LISTEN, NULL);
	if (strstr(d, "zones/c-bad.conf:3: transport = \"sctp\" is not one of") == NULL)
		fail_msg("zone error not reported with file:line:\n%s", d);
	free(d);
	unlink(p);
	free(p);
	p = put("zones/c-bad.conf", "type = \"neighbor\";\npeers = [ \"1\", \"2\", "
	    "\"3\", \"4\", \"5\", \"6\", \"7\" ];\n");
	d = load(LISTEN, NULL);
	assert_non_null(strstr(d, "zones/c-bad.conf:2: peers has 7 entries; at most 6"));
	free(d);
	unlink(p);
	free(p);
	p = put("zones/c-bad.conf", "type = \"neighbor\";\n");
	d = load(LISTEN, NULL);
	assert_non_null(strstr(d, "needs at least one address in peers"));
	free(d);
	unlink(p);
	free(p);

	/* An explicitly configured zones directory must exist. */
	d = load(LISTEN "daemon: { zones_dir = \"nowhere\"; };\n", NULL);
	expect(d, 2, "daemon.zones_dir: cannot read");
	free(d);
	p = xasprintf("rm -rf '%s'", zd);
	assert_int_equal(system(p), 0);
	free(p);
	free(zd);
}

/* Search rules: a valid list, sorted by priority, and every field's errors. */
static void
test_search_rules(void **state)
{
	struct conf *c;
	char *zd = xasprintf("%s/zones", dir), *p, *d;

	(void)state;
	mkdir(zd, 0755);
	free(put("zones/partner.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.1\" ];\n"));
	free(put("zones/inside.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.2\" ];\n"));

	d = load(LISTEN "search_rules = (\n"
	    "  { priority = 200; match = \"any\"; target_zone = \"inside\"; },\n"
	    "  { priority = 10; name = \"uk numbers\"; match = \"regex\";\n"
	    "    pattern = \"([+]44|0)([0-9]+)@.*\"; rewrite = \"+44\\\\2@uk.example\";\n"
	    "    source_zone = \"default\"; methods = [ \"INVITE\", \"MESSAGE\" ];\n"
	    "    target_zone = \"partner\"; on_match = \"continue\"; },\n"
	    "  { priority = 20; match = \"prefix\"; pattern = \"9\"; rewrite = \"\";\n"
	    "    source_zone = \"inside\"; target_zone = \"partner\"; }\n);\n", &c);
	assert_string_equal(d, "");
	free(d);
	assert_int_equal(c->nrules, 3);
	assert_int_equal(c->rules[0].priority, 10);
	assert_string_equal(c->rules[0].name, "uk numbers");
	assert_int_equal(c->rules[0].match, RULE_REGEX);
	assert_non_null(c->rules[0].re);
	assert_int_equal(c->rules[0].re->re_nsub, 2);
	assert_string_equal(c->rules[0].rewrite, "+44\\2@uk.example");
	assert_int_equal(c->rules[0].methods.n, 2);
	assert_int_equal(c->rules[0].on_match, RULE_CONTINUE);
	assert_int_equal(c->rules[0].loc.line, 4);
	assert_int_equal(c->rules[1].priority, 20);
	assert_string_equal(c->rules[1].rewrite, "");
	assert_int_equal(c->rules[1].on_match, RULE_STOP);	/* default */
	assert_null(c->rules[2].pattern);
	assert_null(c->rules[2].re);
	assert_null(c->rules[2].source_zone);
	conf_free(c);

	/* The list and its entries. */
	d = load(LISTEN "search_rules = { priority = 1; };\n", NULL);
	expect(d, 2, "search_rules must be a list of groups");
	free(d);
	d = load(LISTEN "search_rule = ( );\n", NULL);
	expect(d, 2, "unknown setting 'search_rule' (did you mean 'search_rules'?)");
	free(d);
	d = load(LISTEN "search_rules = ( 5 );\n", NULL);
	expect(d, 2, "search_rules[0] must be a group { ... }");
	free(d);
	d = load(LISTEN "search_rules = (\n{ match = \"any\"; },\n"
	    "{ priority = 0; match = \"all\"; target_zone = \"inside\"; },\n"
	    "{ priority = 5; match = \"any\"; target_zone = \"inside\"; on_match = \"next\"; "
	    "patern = \"x\"; }\n);\n", NULL);
	expect(d, 3, "search_rules[0]: required setting 'priority' is missing");
	expect(d, 3, "search_rules[0]: required setting 'target_zone' is missing");
	expect(d, 4, "search_rules[1].priority = 0 is out of range (1 to 65535)");
	expect(d, 4, "search_rules[1].match = \"all\" is not one of: any, exact, "
	    "prefix, suffix, regex");
	expect(d, 5, "search_rules[2].on_match = \"next\" is not one of: stop, continue");
	expect(d, 5, "unknown setting 'patern' in search_rules[2] (did you mean 'pattern'?)");
	free(d);

	/* Priorities are unique. */
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 7; match = \"any\"; target_zone = \"inside\"; },\n"
	    "{ priority = 7; match = \"any\"; target_zone = \"partner\"; }\n);\n", NULL);
	expect(d, 4, "search_rules[1].priority = 7 is already used by the rule at "
	    "line 3; priorities must be unique");
	free(d);

	/* Patterns. */
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; pattern = \"x\"; target_zone = \"inside\"; },\n"
	    "{ priority = 2; match = \"prefix\"; target_zone = \"inside\"; },\n"
	    "{ priority = 3; match = \"exact\"; pattern = \"sip:bob@example.com\"; target_zone = \"inside\"; },\n"
	    "{ priority = 4; match = \"regex\"; pattern = \"^SIPS:.*\"; target_zone = \"inside\"; },\n"
	    "{ priority = 5; match = \"regex\"; pattern = \"(a\"; target_zone = \"inside\"; },\n"
	    "{ priority = 6; match = \"suffix\"; pattern = \"@a b\"; target_zone = \"inside\"; },\n"
	    "{ priority = 8; match = \"exact\"; pattern = \"bob@example.com:5060\"; target_zone = \"inside\"; },\n"
	    "{ priority = 9; match = \"prefix\"; pattern = \"\"; target_zone = \"inside\"; }\n"
	    ");\n", NULL);
	expect(d, 3, "search_rules[0].pattern is not used with match = \"any\"");
	expect(d, 4, "search_rules[1]: match = \"prefix\" needs a pattern");
	expect(d, 5, "search_rules[2].pattern = \"sip:bob@example.com\" starts with a "
	    "URI scheme, but rules match the request-URI without it (user@host): "
	    "leave out \"sip:\"");
	expect(d, 6, "search_rules[3].pattern = \"^SIPS:.*\" starts with a URI scheme");
	assert_non_null(strstr(d, "leave out \"SIPS:\""));
	expect(d, 7, "search_rules[4].pattern = \"(a\" is not a valid regular "
	    "expression: Unmatched ( or \\(");
	expect(d, 8, "search_rules[5].pattern = \"@a b\" must not contain spaces");
	expect(d, 9, "search_rules[6].pattern = \"bob@example.com:5060\" can never "
	    "match: the alias of a request-URI is user@host or host, without a port");
	expect(d, 10, "search_rules[7].pattern must not be empty");
	free(d);

	/* Rewrites. */
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; rewrite = \"x@y\"; target_zone = \"inside\"; },\n"
	    "{ priority = 2; match = \"regex\"; pattern = \"(a)(b)@.*\";\n"
	    "  rewrite = \"\\\\3@x\"; target_zone = \"inside\"; },\n"
	    "{ priority = 3; match = \"prefix\"; pattern = \"0\"; rewrite = \"\\\\1\"; target_zone = \"inside\"; },\n"
	    "{ priority = 4; match = \"suffix\"; pattern = \"@a\"; rewrite = \"@b\\\\\"; target_zone = \"inside\"; },\n"
	    "{ priority = 5; match = \"suffix\"; pattern = \"@a\"; rewrite = \"@<b>\"; target_zone = \"inside\"; },\n"
	    "{ priority = 6; match = \"exact\"; pattern = \"a@b\"; rewrite = \"a@b@c\"; target_zone = \"inside\"; },\n"
	    "{ priority = 7; match = \"regex\"; pattern = \"a\"; rewrite = \"\"; target_zone = \"inside\"; },\n"
	    "{ priority = 8; match = \"regex\"; pattern = \"(a)@(.*)\"; rewrite = \"\\\\2\"; target_zone = \"inside\"; }\n"
	    ");\n", NULL);
	expect(d, 3, "search_rules[0].rewrite cannot be used with match = \"any\"");
	expect(d, 5, "search_rules[1].rewrite = \"\\3@x\" refers to \\3, but the "
	    "pattern has 2 groups");
	expect(d, 6, "search_rules[2].rewrite = \"\\1\" refers to \\1, but only a "
	    "regex pattern has groups (match is \"prefix\")");
	expect(d, 7, "search_rules[3].rewrite = \"@b\\\": a backslash must be "
	    "followed by a digit");
	expect(d, 8, "search_rules[4].rewrite = \"@<b>\" must not contain spaces");
	expect(d, 9, "search_rules[5].rewrite = \"a@b@c\" is not an alias");
	expect(d, 10, "search_rules[6].rewrite must not be empty with match = \"regex\"");
	if (strstr(d, "search_rules[7]") != NULL)
		fail_msg("a valid rewrite was refused:\n%s", d);
	free(d);

	/* Methods. */
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; target_zone = \"inside\";\n"
	    "  methods = [ \"INVITE\", \"invite\", \"IN VITE\", \"FOO-BAR\" ]; }\n"
	    ");\n", NULL);
	expect(d, 4, "search_rules[0].methods: \"invite\" matches no request: "
	    "method names are case-sensitive (write \"INVITE\")");
	expect(d, 4, "search_rules[0].methods: \"IN VITE\" is not a method name");
	if (strstr(d, "FOO-BAR") != NULL)
		fail_msg("an extension method was refused:\n%s", d);
	free(d);

	/* Zones: known ones, "default" as a source only, hints. */
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; source_zone = \"partnr\"; target_zone = \"insid\"; },\n"
	    "{ priority = 2; match = \"any\"; source_zone = \"elsewhere\";\n"
	    "  target_zone = \"default\"; },\n"
	    "{ priority = 3; match = \"any\"; target_zone = \"nowhere\"; }\n"
	    ");\n", NULL);
	expect(d, 3, "search_rules[0].source_zone = \"partnr\" is not a zone (did "
	    "you mean 'partner'?)");
	expect(d, 3, "search_rules[0].target_zone = \"insid\" is not a zone (did "
	    "you mean 'inside'?)");
	expect(d, 4, "search_rules[1].source_zone = \"elsewhere\" is not a zone of ");
	expect(d, 5, "search_rules[1].target_zone cannot be \"default\"");
	expect(d, 6, "search_rules[2].target_zone = \"nowhere\" is not a zone of ");
	free(d);

	/* A zone file with errors is reported once, not again by the rules. */
	p = put("zones/broken.conf", "type = \"neighbour\";\n");
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; target_zone = \"broken\"; }\n);\n", NULL);
	assert_non_null(strstr(d, "zones/broken.conf:1: type = \"neighbour\" is not one of"));
	if (strstr(d, "search_rules") != NULL)
		fail_msg("a rule naming a zone with errors was reported:\n%s", d);
	free(d);
	unlink(p);
	free(p);
	p = put("zones/broken.conf", "peers = [ \"192.0.2.9\" ];\ntype = = \"neighbor\";\n");
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; target_zone = \"broken\"; }\n);\n", NULL);
	assert_non_null(strstr(d, "zones/broken.conf:2: syntax error"));
	if (strstr(d, "search_rules") != NULL)
		fail_msg("a rule naming an unreadable zone was reported:\n%s", d);
	free(d);
	unlink(p);
	free(p);

	/* "default" is not a zone file's name. */
	p = put("zones/default.conf", "type = \"traversal-server\";\n");
	d = load(LISTEN, NULL);
	assert_non_null(strstr(d, "zones/default.conf:1: zone name 'default' is "
	    "reserved for traffic from no zone's peers"));
	free(d);
	unlink(p);
	free(p);

	p = xasprintf("rm -rf '%s'", zd);
	assert_int_equal(system(p), 0);
	free(p);
	free(zd);

	/* Without zone files, the message says so. */
	d = load(LISTEN "search_rules = (\n"
	    "{ priority = 1; match = \"any\"; target_zone = \"partner\"; }\n);\n", NULL);
	expect(d, 3, "search_rules[0].target_zone = \"partner\" is not a zone: "
	    "there are no zone files in ");
	free(d);
}

/* Loading, failing and freeing rules again and again leaks nothing. */
static void
test_search_rules_reload(void **state)
{
	struct conf *c;
	char *zd = xasprintf("%s/zones", dir), *d;
	int i;

	(void)state;
	mkdir(zd, 0755);
	free(put("zones/partner.conf", "type = \"neighbor\";\npeers = [ \"192.0.2.1\" ];\n"));
	for (i = 0; i < 3; i++) {
		d = load(LISTEN "search_rules = (\n"
		    "{ priority = 1; match = \"regex\"; pattern = \"(.*)@(.*)\";"
		    " rewrite = \"\\\\1@x\"; target_zone = \"partner\"; },\n"
		    "{ priority = 2; match = \"regex\"; pattern = \"[0-9]+@.*\";"
		    " target_zone = \"partner\"; }\n);\n", &c);
		assert_string_equal(d, "");
		free(d);
		conf_free(c);
		/* Compiled, then the load fails on another rule. */
		d = load(LISTEN "search_rules = (\n"
		    "{ priority = 1; match = \"regex\"; pattern = \"(.*)@(.*)\";"
		    " target_zone = \"partner\"; },\n"
		    "{ priority = 2; match = \"regex\"; pattern = \"[\";"
		    " target_zone = \"partner\"; },\n"
		    "{ priority = 3; match = \"regex\"; pattern = \"x\";"
		    " target_zone = \"nowhere\"; }\n);\n", NULL);
		expect(d, 4, "search_rules[1].pattern = \"[\" is not a valid regular "
		    "expression");
		free(d);
	}
	d = xasprintf("rm -rf '%s'", zd);
	assert_int_equal(system(d), 0);
	free(d);
	free(zd);
}

static void
test_tls_file_errors(void **state)
{
	struct diaglist dl = { 0 };
	struct conf *c;
	char *d;

	d = load(LISTEN "tls: {\n certificate = \"nope.pem\";\n private_key = "
	    "\"nope.key\";\n};\n", &c);
	assert_string_equal(d, "");
	free(d);
	assert_null(tls_identity_load(c, TLS_LOAD_CHECK, &dl));
	assert_true(dl.nerrors >= 2);
	assert_non_null(strstr(dl.v[0].text, "main.conf:3: tls.certificate: cannot open"));
	assert_non_null(strstr(dl.v[0].text, "nope.pem: No such file"));
	assert_non_null(strstr(dl.v[1].text, "main.conf:4: tls.private_key:"));
	diag_clear(&dl);
	conf_free(c);

	/* Empty and garbage files are named as such. */
	free(put("empty.pem", ""));
	free(put("junk.key", "this is not a key\n"));
	d = load(LISTEN "tls: { certificate = \"empty.pem\"; private_key = "
	    "\"junk.key\"; };\n", &c);
	free(d);
	assert_null(tls_identity_load(c, TLS_LOAD_CHECK, &dl));
	assert_non_null(strstr(dl.v[0].text, "empty.pem is empty"));
	assert_non_null(strstr(dl.v[1].text, "junk.key holds no usable private key"));
	diag_clear(&dl);
	conf_free(c);

	/* Encrypted keys are refused with the command that converts them. */
	free(put("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n"
	    "-----END ENCRYPTED PRIVATE KEY-----\n"));
	d = load(LISTEN "tls: { certificate = \"empty.pem\"; private_key = "
	    "\"enc.key\"; };\n", &c);
	free(d);
	assert_null(tls_identity_load(c, TLS_LOAD_CHECK, &dl));
	assert_non_null(strstr(dl.v[1].text, "protected by a password"));
	assert_non_null(strstr(dl.v[1].text, "openssl pkey -in"));
	diag_clear(&dl);
	conf_free(c);
}

static void
test_temporary_identity(void **state)
{
	struct diaglist dl = { 0 };
	struct conf *c;
	struct tls_identity *id;
	struct stat st;
	char *d, *key;

	d = load(LISTEN "daemon: { state_dir = \"state\"; };\n", &c);
	free(d);
	/* -t creates nothing and says what will happen. */
	id = tls_identity_load(c, TLS_LOAD_CHECK, &dl);
	assert_non_null(id);
	assert_null(id->ctx);
	assert_int_equal(dl.nerrors, 0);
	assert_non_null(strstr(dl.v[0].text, "temporary CA"));
	tls_identity_free(id);
	diag_clear(&dl);
	/* A start creates the CA and a server certificate; the key is 0600. */
	id = tls_identity_load(c, TLS_LOAD_RUN, &dl);
	assert_non_null(id);
	assert_non_null(id->ctx);
	assert_int_equal(id->temporary, 1);
	key = xasprintf("%s/state/%s", dir, TLS_TEMP_KEY);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(key);
	tls_identity_free(id);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_defaults),
		cmocka_unit_test(test_handshake_threads),
		cmocka_unit_test(test_connection_limits),
		cmocka_unit_test(test_default_ports),
		cmocka_unit_test(test_log_rate_limit),
		cmocka_unit_test(test_tls_resumption),
		cmocka_unit_test(test_unknown_key_with_hint),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_control_group),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bad_words_and_addresses),
		cmocka_unit_test(test_missing_required_and_duplicates),
		cmocka_unit_test(test_empty_and_syntax),
		cmocka_unit_test(test_unreadable_main_file),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_revocation_settings),
		cmocka_unit_test(test_dns_servers),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_search_rules),
		cmocka_unit_test(test_search_rules_reload),
		cmocka_unit_test(test_tls_file_errors),
		cmocka_unit_test(test_temporary_identity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
