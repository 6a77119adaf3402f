/*
 * test_frame.c: Content-Length framing on streams and datagrams.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sip/sip_frame.h"

#define HDRS "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"

static enum frame_result
fs(const char *s, size_t max, struct frame *f)
{
	return sip_frame_stream(s, strlen(s), max, f);
}

static void
test_whole_message(void **state)
{
	const char *m = HDRS "Content-Length: 4\r\n\r\nbody";
	struct frame f;

	assert_int_equal(fs(m, 65535, &f), FRAME_MESSAGE);
	assert_int_equal(f.skip, 0);
	assert_int_equal(f.body_len, 4);
	assert_int_equal(f.total, strlen(m));
	assert_int_equal(f.has_length, 1);
}

static void
test_two_messages_back_to_back(void **state)
{
	const char *m = HDRS "l: 2\r\n\r\nabOPTIONS sip:x SIP/2.0\r\n";
	struct frame f;

	assert_int_equal(fs(m, 65535, &f), FRAME_MESSAGE);
	assert_int_equal(f.body_len, 2);	/* compact form "l" */
	assert_memory_equal(m + f.total - 2, "ab", 2);
}

static void
test_need_more(void **state)
{
	struct frame f;

	assert_int_equal(fs("OPTIONS sip:x SIP/2.0\r\nVia: x", 65535, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(fs(HDRS "Content-Length: 10\r\n\r\nshort", 65535, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(fs("OPTI", 65535, &f), FRAME_NEED_MORE);
	assert_int_equal(fs("\r\n", 65535, &f), FRAME_NEED_MORE);
}

static void
test_keepalive_and_leading_crlf(void **state)
{
	struct frame f;
	const char *m = "\r\n" HDRS "Content-Length: 0\r\n\r\n";

	assert_int_equal(fs("\r\n\r\n", 65535, &f), FRAME_KEEPALIVE);
	assert_int_equal(f.skip, 4);
	assert_int_equal(fs(m, 65535, &f), FRAME_MESSAGE);
	assert_int_equal(f.skip, 2);
	assert_int_equal(f.skip + f.total, strlen(m));
}

static void
test_missing_content_length(void **state)
{
	struct frame f;

	assert_int_equal(fs(HDRS "\r\n", 65535, &f), FRAME_MESSAGE);
	assert_int_equal(f.has_length, 0);
	assert_int_equal(f.body_len, 0);
}

static void
test_bad_content_length(void **state)
{
	struct frame f;

	assert_int_equal(fs(HDRS "Content-Length: ten\r\n\r\n", 65535, &f),
	    FRAME_ERROR);
	assert_int_equal(f.error, FRAME_BAD_LENGTH);
	assert_int_equal(fs(HDRS "Content-Length: 1\r\nl: 2\r\n\r\nab", 65535, &f),
	    FRAME_ERROR);
	assert_int_equal(fs(HDRS "Content-Length: -1\r\n\r\n", 65535, &f),
	    FRAME_ERROR);
	/* The same value twice is harmless. */
	assert_int_equal(fs(HDRS "Content-Length: 2\r\nl: 2\r\n\r\nab", 65535, &f),
	    FRAME_MESSAGE);
	/* A header that merely starts with "l" is not Content-Length. */
	assert_int_equal(fs(HDRS "Location: 5\r\nContent-Length: 0\r\n\r\n",
	    65535, &f), FRAME_MESSAGE);
	assert_int_equal(f.body_len, 0);
}

static void
test_too_large(void **state)
{
	char big[3000];
	struct frame f;

	/* Header section with no end within the maximum. */
	memset(big, 'a', sizeof big);
	memcpy(big, HDRS "X-Long: ", strlen(HDRS "X-Long: "));
	big[sizeof big - 1] = '\0';
	assert_int_equal(fs(big, 2048, &f), FRAME_ERROR);
	assert_int_equal(f.error, FRAME_TOO_LARGE);
	/* Content-Length beyond the maximum is refused before the body arrives. */
	assert_int_equal(fs(HDRS "Content-Length: 99999\r\n\r\n", 2048, &f),
	    FRAME_ERROR);
	assert_int_equal(f.error, FRAME_TOO_LARGE);
}

static void
test_garbage(void **state)
{
	static const char bin[] = { 0x16, 0x03, 0x01, 0x00, (char)0xa5, 0x01 };
	struct frame f;

	/* A TLS ClientHello on a TCP port. */
	assert_int_equal(sip_frame_stream(bin, sizeof bin, 65535, &f), FRAME_ERROR);
	assert_int_equal(f.error, FRAME_GARBAGE);
	assert_int_equal(fs("GET / HTTP/1.1\r\n", 65535, &f), FRAME_ERROR);
	assert_int_equal(fs("hello world\r\n", 65535, &f), FRAME_ERROR);
	assert_int_equal(fs("SIP/2.0 abc OK\r\n", 65535, &f), FRAME_ERROR);
	/* Unknown versions still look like SIP: refused later with 505. */
	assert_int_equal(fs("OPTIONS sip:x SIP/3.0\r\n\r\n", 65535, &f),
	    FRAME_MESSAGE);
	/* Responses frame too. */
	assert_int_equal(fs("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
	    65535, &f), FRAME_MESSAGE);
}

static void
test_utf8_reason(void **state)
{
	const char *m = "SIP/2.0 486 Besetzt \xc3\xa4\r\nContent-Length: 0\r\n\r\n";
	const char *noreason = "SIP/2.0 100 \r\nContent-Length: 0\r\n\r\n";
	struct frame f;

	/* RFC 3261 s.25: reason-phrase allows UTF8-NONASCII. */
	assert_int_equal(fs(m, 65535, &f), FRAME_MESSAGE);
	assert_int_equal(sip_frame_datagram(m, strlen(m), 65535, &f),
	    FRAME_MESSAGE);
	assert_int_equal(fs(noreason, 65535, &f), FRAME_MESSAGE);
	/* Not in a request line, nor control bytes in a reason. */
	assert_int_equal(fs("OPTIONS sip:\xc3\xa4 SIP/2.0\r\n", 65535, &f),
	    FRAME_ERROR);
	assert_int_equal(fs("SIP/2.0 486 Busy\x01\r\n", 65535, &f),
	    FRAME_ERROR);
}

/* Feed m one byte at a time, as a slow peer would; the result at the end. */
static enum frame_result
trickle(const char *m, size_t len, size_t max, struct frame_scan *st,
    struct frame *f)
{
	enum frame_result r = FRAME_NEED_MORE;
	size_t n;

	for (n = 1; n <= len; n++) {
		r = sip_frame_stream_from(m, n, max, st, f);
		if (r != FRAME_NEED_MORE)
			break;
	}
	return r;
}

static void
test_resume(void **state)
{
	const char *m = HDRS "X-A: 1\r\nContent-Length: 4\r\n\r\nbody";
	struct frame_scan st = { 0, 0 };
	struct frame f;

	/* Byte by byte, the same result as all at once. */
	assert_int_equal(trickle(m, strlen(m), 65535, &st, &f), FRAME_MESSAGE);
	assert_int_equal(f.total, strlen(m));
	assert_int_equal(f.body_len, 4);
	assert_int_equal(st.resume, 0);	/* cleared for the next message */
	/* A start line cut between CR and LF is not garbage. */
	memset(&st, 0, sizeof st);
	assert_int_equal(sip_frame_stream_from(HDRS, 32, 65535, &st, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(sip_frame_stream_from(HDRS, 33, 65535, &st, &f),
	    FRAME_NEED_MORE);
	/* The empty line split over reads ("\n" | "\r\n"). */
	memset(&st, 0, sizeof st);
	assert_int_equal(sip_frame_stream_from(m, strlen(HDRS "X-A: 1\r\n"
	    "Content-Length: 4\r\n"), 65535, &st, &f), FRAME_NEED_MORE);
	assert_int_equal(sip_frame_stream_from(m, strlen(m), 65535, &st, &f),
	    FRAME_MESSAGE);
	/* Leading CRLFs drained by the caller between calls. */
	memset(&st, 0, sizeof st);
	assert_int_equal(sip_frame_stream_from("\r\nOPTIONS sip:x", 15, 65535,
	    &st, &f), FRAME_NEED_MORE);
	assert_int_equal(f.skip, 2);
	assert_int_equal(sip_frame_stream_from(m, 20, 65535, &st, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(sip_frame_stream_from(m, strlen(m), 65535, &st, &f),
	    FRAME_MESSAGE);
	/* Binary data arriving after a good start is still found. */
	memset(&st, 0, sizeof st);
	assert_int_equal(sip_frame_stream_from("OPTIONS sip", 11, 65535, &st,
	    &f), FRAME_NEED_MORE);
	assert_int_equal(sip_frame_stream_from("OPTIONS sip\x01x", 13, 65535,
	    &st, &f), FRAME_ERROR);
	assert_int_equal(f.error, FRAME_GARBAGE);
}

static void
test_bare_line_feeds(void **state)
{
	static char lf[70000];
	struct frame f;

	/* All of it is skip: the caller drains it (and counts it). */
	memset(lf, '\n', sizeof lf);
	assert_int_equal(sip_frame_stream(lf, sizeof lf, 2048, &f),
	    FRAME_NEED_MORE);
	assert_int_equal(f.skip, sizeof lf);
}

static void
test_datagram(void **state)
{
	const char *m = HDRS "Content-Length: 2\r\n\r\nabEXTRA";
	const char *nocl = HDRS "\r\nbody";
	struct frame f;

	assert_int_equal(sip_frame_datagram(m, strlen(m), 65535, &f), FRAME_MESSAGE);
	assert_int_equal(f.body_len, 2);	/* extra bytes dropped */
	assert_int_equal(sip_frame_datagram(nocl, strlen(nocl), 65535, &f),
	    FRAME_MESSAGE);
	assert_int_equal(f.body_len, 4);	/* no length: rest of packet */
	m = HDRS "Content-Length: 20\r\n\r\nab";
	assert_int_equal(sip_frame_datagram(m, strlen(m), 65535, &f), FRAME_ERROR);
	assert_int_equal(f.error, FRAME_SHORT_BODY);
	assert_int_equal(sip_frame_datagram("\r\n\r\n", 4, 65535, &f),
	    FRAME_KEEPALIVE);
	assert_int_equal(sip_frame_datagram("\x01\x02garbage", 9, 65535, &f),
	    FRAME_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_message),
		cmocka_unit_test(test_two_messages_back_to_back),
		cmocka_unit_test(test_need_more),
		cmocka_unit_test(test_keepalive_and_leading_crlf),
		cmocka_unit_test(test_missing_content_length),
		cmocka_unit_test(test_bad_content_length),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_utf8_reason),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_bare_line_feeds),
		cmocka_unit_test(test_datagram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
