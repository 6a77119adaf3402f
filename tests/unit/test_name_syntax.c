/*
 * test_name_syntax.c: the one name syntax (util/name.c): host names with
 * and without wildcards and nameConstraints dots, the underscore refused
 * with one sentence, IP literals and their canonical text, URIs (sip and
 * sips hosts checked), http(s) URLs, and subjectAltName entries typed and
 * bare, to their canonical form.
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

#include "util/name.h"

/* Host names: each row gives plain, wildcard-allowed, domain-allowed. */
static void
test_dns(void **state)
{
	static const struct {
		const char	*s;
		int		 plain, wild, dom;
	} t[] = {
		{ "sip.example.com", 1, 1, 1 },
		{ "a", 1, 1, 1 },
		{ "localhost", 1, 1, 1 },
		{ "0day.example", 1, 1, 1 },
		{ "xn--bcher-kva.example", 1, 1, 1 },
		{ "A-B.Example.COM", 1, 1, 1 },
		{ "a1.b2", 1, 1, 1 },
		{ "sip_1.example.com", 0, 0, 0 },
		{ "_sip._tcp.example.com", 0, 0, 0 },
		{ "-a.example", 0, 0, 0 },
		{ "a-.example", 0, 0, 0 },
		{ "a..example", 0, 0, 0 },
		{ ".example.com", 0, 0, 1 },
		{ "..example.com", 0, 0, 0 },
		{ "example.com.", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ " ", 0, 0, 0 },
		{ ".", 0, 0, 0 },
		{ "*.example.com", 0, 1, 0 },
		{ "*", 0, 0, 0 },
		{ "*.", 0, 0, 0 },
		{ "a.*.example", 0, 0, 0 },
		{ "f*.example", 0, 0, 0 },
		{ "**.example", 0, 0, 0 },
		{ "a b.example", 0, 0, 0 },
		{ "caf\xc3\xa9.example", 0, 0, 0 },
		{ "192.0.2.1", 0, 0, 0 },
		{ "192.0.2.001", 0, 0, 0 },
		{ "host.123", 0, 0, 0 },
		{ "123.host", 1, 1, 1 },
		{ "a:b", 0, 0, 0 },
	};
	char big[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		const unsigned char *u = (const unsigned char *)t[i].s;
		size_t n = strlen(t[i].s);

		if (name_dns_ok(u, n, 0) != t[i].plain)
			fail_msg("'%s' plain: wanted %d", t[i].s, t[i].plain);
		if (name_dns_ok(u, n, NAME_WILDCARD) != t[i].wild)
			fail_msg("'%s' wildcard: wanted %d", t[i].s, t[i].wild);
		if (name_dns_ok(u, n, NAME_DOMAIN) != t[i].dom)
			fail_msg("'%s' domain: wanted %d", t[i].s, t[i].dom);
	}
	assert_int_equal(name_dns_ok((const unsigned char *)"a\0b", 3, 0), 0);
	memset(big, 'a', 64);
	assert_int_equal(name_dns_ok((unsigned char *)big, 63, 0), 1);
	assert_int_equal(name_dns_ok((unsigned char *)big, 64, 0), 0);
	for (i = 0; i < sizeof big; i++)
		big[i] = i % 2 == 0 ? 'a' : '.';
	assert_int_equal(name_dns_ok((unsigned char *)big, 253, 0), 1);
	assert_int_equal(name_dns_ok((unsigned char *)big, 255, 0), 0);
}

/* Whether name_host_check(s, flags) fails with a sentence holding want. */
static void
host_says(const char *s, int flags, const char *want)
{
	char *cause = NULL;

	if (name_host_check(s, flags, &cause) != -1)
		fail_msg("'%s' accepted", s);
	if (strstr(cause, want) == NULL)
		fail_msg("'%s': '%s' lacks '%s'", s, cause, want);
	free(cause);
}

/* Each problem has its sentence, naming the value. */
static void
test_host_sentences(void **state)
{
	char *cause = NULL;

	(void)state;
	assert_int_equal(name_host_check("sip.example.com", 0, &cause), 0);
	assert_null(cause);
	host_says("a_b.example.com", NAME_WILDCARD, "\"a_b.example.com\" is not "
	    "a host name: it has the character '_'; only letters, digits, "
	    "hyphens and dots are allowed (an underscore belongs to service "
	    "labels such as _sip._tcp, never to a host name, RFC 1123)");
	host_says("a!b", 0, "it has the character '!'; only letters, digits, "
	    "hyphens and dots are allowed");
	host_says("a\tb", 0, "control character");
	host_says("", 0, "the host name is empty");
	host_says("a..b", 0, "empty label");
	host_says("a.b.", 0, "ends with a dot");
	host_says("-a", 0, "starts or ends with a hyphen");
	host_says("caf\xc3\xa9", 0, "xn--");
	host_says("a.*.b", NAME_WILDCARD, "whole leftmost label");
	host_says("*.b", 0, "is a wildcard; a single host name is needed");
	host_says("10.0.0.300", 0, "last label is all digits");
}

/* IP literals: both families, canonical text, no brackets. */
static void
test_ip(void **state)
{
	unsigned char a[16];
	char *s;

	(void)state;
	assert_int_equal(name_ip_parse("192.0.2.1", a), 4);
	assert_int_equal(a[0], 192);
	assert_int_equal(name_ip_parse("2001:db8::1", a), 16);
	assert_int_equal(name_ip_parse("::ffff:192.0.2.1", NULL), 16);
	assert_int_equal(name_ip_parse("[2001:db8::1]", NULL), 0);
	assert_int_equal(name_ip_parse("192.0.2", NULL), 0);
	assert_int_equal(name_ip_parse("192.0.2.1.5", NULL), 0);
	assert_int_equal(name_ip_parse("example.com", NULL), 0);
	assert_int_equal(name_ip_parse("", NULL), 0);
	assert_true(name_is_ip("::1"));
	assert_false(name_is_ip("localhost"));
	s = name_ip_canonical("2001:DB8:0:0::1");
	assert_string_equal(s, "2001:db8::1");
	free(s);
	assert_null(name_ip_canonical("1.2.3"));
}

/* Whether name_uri_check(s) gives rv, and for -1 a sentence with want. */
static void
uri_is(const char *s, int rv, const char *want)
{
	char *cause = NULL;

	if (name_uri_check(s, &cause) != rv)
		fail_msg("'%s': wanted %d (%s)", s, rv, cause ? cause : "");
	if (rv == -1 && strstr(cause, want) == NULL)
		fail_msg("'%s': '%s' lacks '%s'", s, cause, want);
	free(cause);
}

/* URIs: scheme and bytes for all; the host of sip and sips ones. */
static void
test_uri(void **state)
{
	(void)state;
	uri_is("sip:example.com", 0, NULL);
	uri_is("SIP:Example.COM:5061;transport=tls", 0, NULL);
	uri_is("sips:sip.example.com", 0, NULL);
	uri_is("sip:alice@example.com", 0, NULL);
	uri_is("sip:192.0.2.1", 0, NULL);
	uri_is("sip:[2001:db8::1]:5061", 0, NULL);
	uri_is("https://x.example/a_b?c", 0, NULL);
	uri_is("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", 0, NULL);
	uri_is("tel:+1-201-555-0123", 0, NULL);
	uri_is("sip:a_b.example.com", -1, "the SIP URI \"sip:a_b.example.com\" "
	    "has a host that is not a host name or IP address: \"a_b.example."
	    "com\" is not a host name: it has the character '_'");
	uri_is("sip:*.example.com", -1, "is a wildcard");
	uri_is("sip:[192.0.2.1]", -1, "is not sip:host");
	uri_is("sip:[2001:db8::1", -1, "is not sip:host");
	uri_is("sip:example.com:", -1, "is not sip:host");
	uri_is("sip:example.com:1234567", -1, "is not sip:host");
	uri_is("sip:example.com/x", -1, "the character '/'");
	uri_is("sip:alice@", -1, "the host name is empty");
	uri_is("example.com", -1, "must be scheme:value");
	uri_is("sip:", -1, "must be scheme:value");
	uri_is("1sip:x", -1, "must start with a scheme");
	uri_is(":x", -1, "must start with a scheme");
	uri_is("http://a b", -1, "percent-encode");
	uri_is("http://a\x7f", -1, "percent-encode");
}

/* http(s) URLs for distribution points and OCSP responders. */
static void
test_url(void **state)
{
	char *cause = NULL;

	(void)state;
	assert_int_equal(name_url_check("http://ca.example/x.crl", &cause), 0);
	assert_int_equal(name_url_check("HTTPS://ca.example", &cause), 0);
	assert_int_equal(name_url_check("ftp://ca.example/x.crl", &cause), -1);
	assert_non_null(strstr(cause, "is not an http:// or https:// URL"));
	free(cause);
	assert_int_equal(name_url_check("http:///x.crl", &cause), -1);
	assert_non_null(strstr(cause, "names no host"));
	free(cause);
	assert_int_equal(name_url_check("http://ca.example/a b", &cause), -1);
	assert_non_null(strstr(cause, "%XX"));
	free(cause);
}

/* Whether entry parses to want (NULL: refused with a sentence holding why). */
static void
san_is(const char *entry, const char *want, const char *why)
{
	char *cause = NULL, *e = name_san_parse(entry, &cause);

	if (want != NULL) {
		if (e == NULL || strcmp(e, want) != 0)
			fail_msg("'%s': got '%s' (%s), wanted '%s'", entry,
			    e ? e : "NULL", cause ? cause : "", want);
	} else {
		if (e != NULL)
			fail_msg("'%s' accepted as '%s'", entry, e);
		if (strstr(cause, why) == NULL)
			fail_msg("'%s': '%s' lacks '%s'", entry, cause, why);
	}
	free(e);
	free(cause);
}

/* subjectAltName entries, typed and bare, to their canonical form. */
static void
test_san(void **state)
{
	char *cause = NULL, *e;

	(void)state;
	san_is("DNS:Sip.Example.COM", "DNS:sip.example.com", NULL);
	san_is("dns:*.example.com", "DNS:*.example.com", NULL);
	san_is("IP:2001:DB8::1", "IP:2001:db8::1", NULL);
	san_is("ip:192.0.2.7", "IP:192.0.2.7", NULL);
	san_is("URI:sip:Example.com", "URI:sip:Example.com", NULL);
	san_is("uri:https://x.example/", "URI:https://x.example/", NULL);
	san_is("URI:mailto:a@b.example", "URI:mailto:a@b.example", NULL);
	/* Bare: the form says the type. */
	san_is("Extra.Example.com", "DNS:extra.example.com", NULL);
	san_is("127.0.0.1", "IP:127.0.0.1", NULL);
	san_is("2001:db8::1", "IP:2001:db8::1", NULL);
	san_is("sip:example.com", "URI:sip:example.com", NULL);
	san_is("SIPS:example.com", "URI:SIPS:example.com", NULL);
	/* Refused. */
	san_is("DNS:a_b.example.com", NULL, "\"a_b.example.com\" is not a host "
	    "name: it has the character '_'");
	san_is("a_b.example.com", NULL, "\"a_b.example.com\" is not a host "
	    "name: it has the character '_'");
	san_is("DNS:", NULL, "the host name is empty");
	san_is("DNS:a:b", NULL, "the character ':'");
	san_is("IP:[::1]", NULL, "\"[::1]\" is not an IPv4 or IPv6 address");
	san_is("IP:example.com", NULL, "is not an IPv4 or IPv6 address");
	san_is("URI:example.com", NULL, "must be scheme:value");
	san_is("URI:sip:a_b.example", NULL, "the SIP URI");
	san_is("FOO:bar", NULL, "\"FOO\" is not a name type; write DNS:name, "
	    "IP:address or URI:scheme:value");
	san_is("email:a@b.c", NULL, "is not a name type");
	san_is("a..b", NULL, "empty label");
	/* A host setting: no URI, no other type. */
	e = name_san_host("Node.Example.com", &cause);
	assert_string_equal(e, "DNS:node.example.com");
	free(e);
	e = name_san_host("::1", &cause);
	assert_string_equal(e, "IP:::1");
	free(e);
	assert_null(name_san_host("sip:x.example", &cause));
	assert_non_null(strstr(cause, "neither a host name nor an IP address"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_host_sentences),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_san),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
