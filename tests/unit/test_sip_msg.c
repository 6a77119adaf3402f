/*
 * test_sip_msg.c: the checks libosip2 does not make, and response building.
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

#include "sip/sip_msg.h"
#include "util/xmalloc.h"

static char *
msg(const char *start, const char *cseq, const char *extra)
{
	return xasprintf("%s\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKx;rport\r\n"
	    "From: <sip:a@example.com>;tag=f1\r\nTo: <sip:b@example.com>\r\n"
	    "Call-ID: c1@example.com\r\nCSeq: %s\r\n%s"
	    "Content-Length: 0\r\n\r\n", start, cseq, extra);
}

/* Status sip_msg_check gives the message; 0 when acceptable. */
static int
check(const char *start, const char *cseq, const char *extra, char *why)
{
	char *text = msg(start, cseq, extra);
	osip_message_t *m = sip_msg_parse(text, strlen(text));
	int st;

	free(text);
	if (m == NULL)
		return -1;
	st = sip_msg_check(m, why, 256);
	osip_message_free(m);
	return st;
}

static void
test_check(void **state)
{
	char why[256];

	assert_int_equal(check("OPTIONS sip:example.com SIP/2.0", "1 OPTIONS", "", why), 0);
	assert_int_equal(check("OPTIONS sip:example.com SIP/2.0", "1 INVITE", "", why), 400);
	assert_string_equal(why, "CSeq method INVITE does not match the request method OPTIONS");
	assert_int_equal(check("OPTIONS sip:example.com SIP/3.0", "1 OPTIONS", "", why), 505);
	assert_int_equal(check("OPTIONS http://example.com SIP/2.0", "1 OPTIONS", "", why), 416);
	assert_int_equal(check("OPTIONS sip:example.com SIP/2.0", "99999999999 OPTIONS", "",
	    why), 400);
	assert_int_equal(check("OPTIONS sip:example.com SIP/2.0", "1 OPTIONS",
	    "Max-Forwards: 300\r\n", why), 400);
	assert_int_equal(check("OPTIONS sip:example.com SIP/2.0", "1 OPTIONS",
	    "Max-Forwards: 70\r\nMax-Forwards: 69\r\n", why), 400);
	assert_string_equal(why, "Max-Forwards appears more than once");
	assert_int_equal(check("OPTIONS sip:example.com SIP/2.0", "1 OPTIONS",
	    "Max-Forwards: 0\r\n", why), 0);
	assert_int_equal(check("SIP/2.0 200 OK", "1 OPTIONS", "", why), 0);
}

static void
test_check_missing_headers(void **state)
{
	const char *no_callid = "OPTIONS sip:x.example SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@x.example>;tag=1\r\nTo: <sip:x.example>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	const char *no_via = "OPTIONS sip:x.example SIP/2.0\r\nFrom: <sip:a@x.example>;tag=1\r\n"
	    "To: <sip:x.example>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	osip_message_t *m;
	char why[256];

	m = sip_msg_parse(no_callid, strlen(no_callid));
	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 400);
	assert_string_equal(why, "Call-ID header is missing");
	osip_message_free(m);
	m = sip_msg_parse(no_via, strlen(no_via));
	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 400);
	assert_string_equal(why, "Via header is missing");
	osip_message_free(m);
}

static void
test_response(void **state)
{
	char *text = msg("OPTIONS sip:example.com SIP/2.0", "7 OPTIONS", "");
	osip_message_t *m = sip_msg_parse(text, strlen(text));
	const char *hdrs[] = { "Allow", "INVITE, OPTIONS", NULL };
	struct sip_src src = { "198.51.100.9", 40000 };
	size_t len;
	char *r;

	assert_non_null(m);
	r = sip_msg_response(m, &src, 200, NULL, "tt", hdrs, &len);
	assert_non_null(r);
	assert_int_equal(strlen(r), len);
	assert_memory_equal(r, "SIP/2.0 200 OK\r\n", 16);
	/* RFC 3261 s.18.2.1 received, RFC 3581 rport filled in. */
	assert_non_null(strstr(r, "received=198.51.100.9"));
	assert_non_null(strstr(r, "rport=40000"));
	assert_non_null(strstr(r, "To: <sip:b@example.com>;tag=tt"));
	assert_non_null(strstr(r, "CSeq: 7 OPTIONS"));
	assert_non_null(strstr(r, "Call-ID: c1@example.com"));
	assert_non_null(strstr(r, "Allow: INVITE, OPTIONS"));
	assert_non_null(strstr(r, "Content-Length: 0"));
	free(r);
	osip_message_free(m);
	free(text);
}

static void
test_raw_response(void **state)
{
	const char *bad = "OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
	    "f: <sip:a@x>;tag=1\r\nt: <sip:x>\r\ni: abc\r\nCSeq: 1 OPTIONS\r\n"
	    "X-Junk: \"\r\n\r\n";
	size_t len;
	char *r;

	r = sip_msg_raw_response(bad, strlen(bad), 400, "edge.example.com",
	    "a \"quoted\" reason", &len);
	assert_non_null(r);
	assert_memory_equal(r, "SIP/2.0 400 Bad Request\r\n", 25);
	assert_non_null(strstr(r, "v: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"));
	assert_non_null(strstr(r, "t: <sip:x>;tag=sipedge-err\r\n"));
	assert_non_null(strstr(r, "Warning: 399 edge.example.com \"a 'quoted' reason\"\r\n"));
	assert_null(strstr(r, "X-Junk"));
	assert_int_equal(len, strlen(r));
	free(r);
	/* Never for ACK, never for responses, not without Call-ID. */
	assert_null(sip_msg_raw_response("ACK sip:x SIP/2.0\r\n\r\n", 21, 400, "h",
	    NULL, &len));
	assert_null(sip_msg_raw_response("SIP/2.0 200 OK\r\n\r\n", 18, 400, "h",
	    NULL, &len));
	assert_null(sip_msg_raw_response("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n",
	    33, 400, "h", NULL, &len));
}

static void
test_uri_host(void **state)
{
	const char *names[] = { "Edge.Example.com", "127.0.0.1" };
	char *text = msg("OPTIONS sip:edge.example.COM. SIP/2.0", "1 OPTIONS", "");
	osip_message_t *m = sip_msg_parse(text, strlen(text));

	assert_int_equal(sip_msg_uri_host_is(m, names, 2), 1);
	assert_int_equal(sip_msg_uri_host_is(m, names + 1, 1), 0);
	osip_message_free(m);
	free(text);
	text = msg("OPTIONS sip:edge.example.com.evil SIP/2.0", "1 OPTIONS", "");
	m = sip_msg_parse(text, strlen(text));
	assert_int_equal(sip_msg_uri_host_is(m, names, 2), 0);
	osip_message_free(m);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_missing_headers),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_raw_response),
		cmocka_unit_test(test_uri_host),
	};

	sip_msg_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
