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

static void
test_out_of_range(void **state)
{
	char *d = load("listen = ( { transport = \"tcp\"; address = \"127.0.0.1\";"
	    " port = 70000; } );\nsip: { max_message_size = 10; };\n", NULL);

	expect(d, 1, "listen[0].port = 70000 is out of range (1 to 65535)");
	expect(d, 2, "sip.max_message_size = 10 is out of range (1024 to 1048576)");
	free(d);
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
	    "\"URI:sip:a.example\", \"a.example\" ]; };\n", NULL);
	expect(d, 3, "tls.extra_names[3] = \"a.example\" must be DNS:name");
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
	d = load(LISTEN "revocation: {\n distribution_points = [ \"ftp://x/c.crl\" ]; };\n",
	    NULL);
	expect(d, 3, "revocation.distribution_points[0] = \"ftp://x/c.crl\" must be "
	    "an http:// or https:// URL");
	free(d);
	d = load(LISTEN "revocation: { fallback = \"maybe\"; };\n", NULL);
	expect(d, 2, "revocation.fallback = \"maybe\" is not one of: "
	    "treat-as-not-revoked, treat-as-revoked");
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
	free(put("zones/a-edge.conf", "name = \"edge\";\ntype = \"traversal-server\";\n"));
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
		cmocka_unit_test(test_default_ports),
		cmocka_unit_test(test_unknown_key_with_hint),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bad_words_and_addresses),
		cmocka_unit_test(test_missing_required_and_duplicates),
		cmocka_unit_test(test_empty_and_syntax),
		cmocka_unit_test(test_unreadable_main_file),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_revocation_settings),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_tls_file_errors),
		cmocka_unit_test(test_temporary_identity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
