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

/* The parts of a good request, to build the cases from. */
#define M_RL	"OPTIONS sip:example.com SIP/2.0\r\n"
#define M_VIA	"Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKx;rport\r\n"
#define M_FROM	"From: <sip:a@example.com>;tag=f1\r\n"
#define M_TO	"To: <sip:b@example.com>\r\n"
#define M_CID	"Call-ID: c1@example.com\r\n"
#define M_CSEQ	"CSeq: 1 OPTIONS\r\n"
#define M_HDRS	M_VIA M_FROM M_TO M_CID M_CSEQ

/*
 * Where a case is decided: libosip2 refuses it (PARSE: sip_msg_parse()
 * returns NULL and sip_msg_parse_error() explains), or it parses and
 * sip_msg_check() decides (CHECK).  This records libosip2 5.3's quirks.
 */
enum stage { CHECK, PARSE };

static const struct check_case {
	const char	*name;
	const char	*text;		/* a blank line is appended */
	enum stage	 stage;
	int		 status;	/* 0: accepted */
	const char	*why;		/* the exact reason, when refused */
} cases[] = {
	/* Accepted. */
	{ "a plain OPTIONS", M_RL M_HDRS, CHECK, 0, NULL },
	{ "the version compares without case (s.7.1)",
	    "OPTIONS sip:example.com sip/2.0\r\n" M_HDRS, CHECK, 0, NULL },
	{ "no Max-Forwards: a proxy adds one (s.16.6 step 3)", M_RL M_HDRS, CHECK,
	    0, NULL },
	{ "Max-Forwards 0 is valid (the proxy answers 483)",
	    M_RL M_HDRS "Max-Forwards: 0\r\n", CHECK, 0, NULL },
	{ "Max-Forwards 255", M_RL M_HDRS "Max-Forwards: 255\r\n", CHECK, 0, NULL },
	{ "Max-Forwards after another header is no repeat",
	    M_RL M_HDRS "Accept: application/sdp\r\nMax-Forwards: 70\r\n", CHECK, 0,
	    NULL },
	{ "Via without branch (RFC 2543)", M_RL "Via: SIP/2.0/UDP 192.0.2.7\r\n"
	    M_FROM M_TO M_CID M_CSEQ, CHECK, 0, NULL },
	{ "Via with an IPv6 reference",
	    M_RL "Via: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK1\r\n"
	    M_FROM M_TO M_CID M_CSEQ, CHECK, 0, NULL },
	{ "Via host name with a final dot",
	    M_RL "Via: SIP / 2.0 / TLS edge-1.example.com.:5061;branch=z9hG4bK1\r\n"
	    M_FROM M_TO M_CID M_CSEQ, CHECK, 0, NULL },
	{ "compact header names",
	    M_RL "v: SIP/2.0/UDP 192.0.2.7\r\nf: <sip:a@example.com>;tag=1\r\n"
	    "t: sip:b@example.com\r\ni: abc\r\n" M_CSEQ "l: 0\r\n", CHECK, 0, NULL },
	{ "To and From may use other schemes (s.8.1.1.2)",
	    M_RL M_VIA "From: <http://example.com/a>;tag=1\r\nTo: <tel:+15551234>\r\n"
	    M_CID M_CSEQ, CHECK, 0, NULL },
	{ "sips request-URI with user, IPv6 host and port",
	    "OPTIONS sips:bob@[2001:db8::2]:5061 SIP/2.0\r\n" M_HDRS, CHECK, 0, NULL },
	{ "CSeq number 2**31-1", M_RL M_VIA M_FROM M_TO M_CID "CSeq: 2147483647 OPTIONS\r\n",
	    CHECK, 0, NULL },
	{ "Expires 2**32-1", M_RL M_HDRS "Expires: 4294967295\r\n", CHECK, 0, NULL },
	{ "a response", "SIP/2.0 200 OK\r\n" M_HDRS, CHECK, 0, NULL },
	{ "ACK with CSeq method ACK", "ACK sip:b@example.com SIP/2.0\r\n"
	    M_VIA M_FROM M_TO M_CID "CSeq: 1 ACK\r\n", CHECK, 0, NULL },
	{ "an unknown method is proxied (s.16.3 step 1)",
	    "FOO sip:b@example.com SIP/2.0\r\n" M_VIA M_FROM M_TO M_CID "CSeq: 1 FOO\r\n",
	    CHECK, 0, NULL },
	{ "Proxy-Require is the proxy's to judge", M_RL M_HDRS
	    "Proxy-Require: foo, bar\r\nRequire: baz\r\n", CHECK, 0, NULL },

	/* Request line and version. */
	{ "SIP/3.0", "OPTIONS sip:example.com SIP/3.0\r\n" M_HDRS, CHECK, 505,
	    "SIP version 'SIP/3.0' is not supported (only SIP/2.0)" },
	{ "a response in SIP/1.0", "SIP/1.0 200 OK\r\n" M_HDRS, CHECK, 505,
	    "SIP version 'SIP/1.0' is not supported (only SIP/2.0)" },
	{ "status code 99", "SIP/2.0 99 Odd\r\n" M_HDRS, CHECK, 400,
	    "status code 99 is not from 100 to 699" },
	{ "status code 700", "SIP/2.0 700 Odd\r\n" M_HDRS, CHECK, 400,
	    "status code 700 is not from 100 to 699" },
	{ "method not a token", "OPT@ONS sip:example.com SIP/2.0\r\n" M_VIA M_FROM M_TO
	    M_CID "CSeq: 1 OPT@ONS\r\n", CHECK, 400,
	    "request method 'OPT@ONS' is not a token" },
	{ "tel request-URI", "OPTIONS tel:+15551234 SIP/2.0\r\n" M_HDRS, CHECK, 416,
	    "request-URI scheme 'tel' is not supported (only sip and sips)" },
	{ "urn request-URI", "OPTIONS urn:service:sos SIP/2.0\r\n" M_HDRS, CHECK,
	    416, "request-URI scheme 'urn' is not supported (only sip and sips)" },
	{ "request-URI host with a bang", "OPTIONS sip:exa!mple.com SIP/2.0\r\n"
	    M_HDRS, CHECK, 400,
	    "request-URI host 'exa!mple.com' is not a host name or IP address" },
	{ "request-URI with two @", "OPTIONS sip:a@b@example.com SIP/2.0\r\n"
	    M_HDRS, CHECK, 400,
	    "request-URI host 'b@example.com' is not a host name or IP address" },
	{ "request-URI port 99999", "OPTIONS sip:example.com:99999 SIP/2.0\r\n"
	    M_HDRS, CHECK, 400,
	    "request-URI port '99999' is not a number from 1 to 65535" },
	{ "request-URI IPv4 part 300", "OPTIONS sip:192.0.2.300 SIP/2.0\r\n" M_HDRS,
	    CHECK, 400,
	    "request-URI host '192.0.2.300' is not a host name or IP address" },
	{ "two spaces in the request line: libosip2 skips one",
	    "OPTIONS  sip:example.com SIP/2.0\r\n" M_HDRS, CHECK, 0, NULL },
	{ "request line without version", "OPTIONS sip:example.com\r\n" M_HDRS,
	    PARSE, 400, "request line 'OPTIONS sip:example.com' is not a method, "
	    "a request-URI and a SIP version separated by single spaces" },
	{ "request line with four parts", "OPTIONS sip:example.com SIP/2.0 x\r\n"
	    M_HDRS, PARSE, 400, "request line 'OPTIONS sip:example.com SIP/2.0 x' "
	    "is not a method, a request-URI and a SIP version separated by single "
	    "spaces" },
	{ "request-URI sip: alone", "OPTIONS sip: SIP/2.0\r\n" M_HDRS, PARSE, 400,
	    "request-URI 'sip:' cannot be parsed" },

	{ "a response in SIP/3.0 with two From", "SIP/3.0 200 OK\r\n" M_HDRS
	    "From: <sip:c@example.com>;tag=2\r\n", PARSE, 505,
	    "SIP version 'SIP/3.0' is not supported (only SIP/2.0)" },
	{ "a status code of two digits", "SIP/2.0 20 OK\r\n" M_HDRS, CHECK, 400,
	    "status code 20 is not from 100 to 699" },
	{ "a status line without code", "SIP/2.0 OK\r\n" M_HDRS, PARSE, 400,
	    "status line 'SIP/2.0 OK' is not SIP/2.0, a 3-digit code and a "
	    "reason phrase" },

	/* Mandatory headers (s.8.1.1). */
	{ "no Via", M_RL M_FROM M_TO M_CID M_CSEQ, CHECK, 400,
	    "Via header is missing or empty" },
	{ "no From", M_RL M_VIA M_TO M_CID M_CSEQ, CHECK, 400,
	    "From header is missing or empty" },
	{ "empty From", M_RL M_VIA "From: \r\n" M_TO M_CID M_CSEQ, CHECK, 400,
	    "From header is missing or empty" },
	{ "no To", M_RL M_VIA M_FROM M_CID M_CSEQ, CHECK, 400,
	    "To header is missing or empty" },
	{ "no Call-ID", M_RL M_VIA M_FROM M_TO M_CSEQ, CHECK, 400,
	    "Call-ID header is missing or empty" },
	{ "no CSeq", M_RL M_VIA M_FROM M_TO M_CID, CHECK, 400,
	    "CSeq header is missing or empty" },

	/* Single-value headers (s.7.3.1). */
	{ "two From", M_RL M_HDRS "From: <sip:c@example.com>;tag=2\r\n", PARSE, 400,
	    "From header appears more than once" },
	{ "To long and compact", M_RL M_HDRS "t: <sip:c@example.com>\r\n", PARSE, 400,
	    "To header appears more than once" },
	{ "two Call-ID", M_RL M_HDRS "i: other\r\n", PARSE, 400,
	    "Call-ID header appears more than once" },
	{ "two CSeq", M_RL M_HDRS "CSeq: 2 OPTIONS\r\n", PARSE, 400,
	    "CSeq header appears more than once" },
	{ "two equal Content-Length", M_RL M_HDRS "Content-Length: 0\r\n"
	    "Content-Length: 0\r\n", PARSE, 400,
	    "Content-Length header appears more than once" },
	{ "two Content-Type", M_RL M_HDRS "Content-Type: text/plain\r\n"
	    "c: application/sdp\r\n", PARSE, 400,
	    "Content-Type header appears more than once" },
	{ "two Max-Forwards", M_RL M_HDRS "Max-Forwards: 70\r\nMax-Forwards: 69\r\n",
	    CHECK, 400, "Max-Forwards header appears more than once" },
	{ "two Expires", M_RL M_HDRS "Expires: 10\r\nAccept: text/plain\r\n"
	    "Expires: 10\r\n", CHECK, 400, "Expires header appears more than once" },
	{ "SIP/3.0 comes before a repeated From",
	    "OPTIONS sip:example.com SIP/3.0\r\n" M_HDRS "From: <sip:c@x.example>\r\n",
	    PARSE, 505, "SIP version 'SIP/3.0' is not supported (only SIP/2.0)" },

	/* Numbers (s.20). */
	{ "CSeq number 2**31", M_RL M_VIA M_FROM M_TO M_CID "CSeq: 2147483648 OPTIONS\r\n",
	    CHECK, 400,
	    "CSeq number '2147483648' is not an integer from 0 to 2147483647" },
	{ "CSeq number 2**65", M_RL M_VIA M_FROM M_TO M_CID
	    "CSeq: 36893488147419103232 OPTIONS\r\n", CHECK, 400,
	    "CSeq number '36893488147419103232' is not an integer from 0 to "
	    "2147483647" },
	{ "CSeq number -1", M_RL M_VIA M_FROM M_TO M_CID "CSeq: -1 OPTIONS\r\n", CHECK, 400,
	    "CSeq number '-1' is not an integer from 0 to 2147483647" },
	{ "CSeq without number", M_RL M_VIA M_FROM M_TO M_CID "CSeq: OPTIONS\r\n", PARSE,
	    400, "CSeq header 'OPTIONS' cannot be parsed" },
	{ "Max-Forwards 256", M_RL M_HDRS "Max-Forwards: 256\r\n", CHECK, 400,
	    "Max-Forwards '256' is not an integer from 0 to 255" },
	{ "Max-Forwards ten", M_RL M_HDRS "Max-Forwards: ten\r\n", CHECK, 400,
	    "Max-Forwards 'ten' is not an integer from 0 to 255" },
	{ "Max-Forwards as a list", M_RL M_HDRS "Max-Forwards: 70, 69\r\n", CHECK, 400,
	    "Max-Forwards '70, 69' is not an integer from 0 to 255" },
	{ "double quotes never reach a reason", M_RL M_HDRS "Max-Forwards: \"7\"\r\n",
	    CHECK, 400, "Max-Forwards '?7?' is not an integer from 0 to 255" },
	{ "Expires 2**32", M_RL M_HDRS "Expires: 4294967296\r\n", CHECK, 400,
	    "Expires '4294967296' is not an integer from 0 to 4294967295" },
	{ "Expires as an RFC 2543 date", M_RL M_HDRS
	    "Expires: Thu, 01 Dec 1994 16:00:00 GMT\r\n", CHECK, 400,
	    "Expires 'Thu, 01 Dec 1994 16:00:00 GMT' is not an integer from 0 to "
	    "4294967295" },
	{ "Min-Expires negative", "SIP/2.0 423 Interval Too Brief\r\n" M_HDRS
	    "Min-Expires: -5\r\n", CHECK, 400,
	    "Min-Expires '-5' is not an integer from 0 to 4294967295" },
	{ "Content-Length not a number", M_RL M_HDRS "Content-Length: abc\r\n", CHECK,
	    400, "Content-Length 'abc' is not an integer from 0 to 4294967295" },

	/* CSeq method (s.8.1.1.5). */
	{ "CSeq method differs", M_RL M_VIA M_FROM M_TO M_CID "CSeq: 1 INVITE\r\n", CHECK,
	    400, "CSeq method INVITE does not match the request method OPTIONS" },
	{ "CSeq method differs in case", M_RL M_VIA M_FROM M_TO M_CID "CSeq: 1 options\r\n",
	    CHECK, 400,
	    "CSeq method options does not match the request method OPTIONS" },
	{ "ACK with CSeq method INVITE", "ACK sip:b@example.com SIP/2.0\r\n"
	    M_VIA M_FROM M_TO M_CID "CSeq: 1 INVITE\r\n", CHECK, 400,
	    "CSeq method INVITE does not match the request method ACK" },
	{ "CANCEL with CSeq method INVITE", "CANCEL sip:b@example.com SIP/2.0\r\n"
	    M_VIA M_FROM M_TO M_CID "CSeq: 1 INVITE\r\n", CHECK, 400,
	    "CSeq method INVITE does not match the request method CANCEL" },
	{ "CSeq method of two words", M_RL M_VIA M_FROM M_TO M_CID "CSeq: 1 OPTIONS x\r\n",
	    CHECK, 400, "CSeq method 'OPTIONS x' is not a token" },

	/* Call-ID, From, To (s.20.8, s.20.20, s.20.39). */
	{ "Call-ID with a space", M_RL M_VIA M_FROM M_TO "Call-ID: a b\r\n" M_CSEQ, CHECK, 400,
	    "Call-ID 'a b' is not a word or word@word" },
	{ "From without a URI", M_RL M_VIA "From: garbage;tag=1\r\n" M_TO M_CID M_CSEQ, PARSE,
	    400, "From header 'garbage;tag=1' cannot be parsed" },
	{ "From host with a bang", M_RL M_VIA "From: <sip:a@exa!mple.com>;tag=1\r\n" M_TO
	    M_CID M_CSEQ, CHECK, 400,
	    "From URI host 'exa!mple.com' is not a host name or IP address" },
	{ "From host with an underscore", M_RL M_VIA "From: <sip:a@h_x.example>;tag=1\r\n"
	    M_TO M_CID M_CSEQ, CHECK, 400,
	    "From URI host 'h_x.example' is not a host name or IP address" },
	{ "To port 0", M_RL M_VIA M_FROM "To: <sip:b@example.com:0>\r\n" M_CID M_CSEQ, CHECK,
	    400, "To URI port '0' is not a number from 1 to 65535" },
	{ "To <>", M_RL M_VIA M_FROM "To: <>\r\n" M_CID M_CSEQ, PARSE, 400,
	    "To header '<>' cannot be parsed" },
	{ "To without its >", M_RL M_VIA M_FROM "To: <sip:b@example.com\r\n" M_CID M_CSEQ,
	    PARSE, 400, "To header '<sip:b@example.com' cannot be parsed" },

	/* Via (s.20.42). */
	{ "Via sent-by host with @ and !", M_RL "Via: SIP/2.0/UDP h@x!y\r\n" M_FROM M_TO
	    M_CID M_CSEQ, CHECK, 400,
	    "Via sent-by host 'h@x!y' is not a host name or IP address" },
	{ "Via sent-by IPv4 part 300", M_RL "Via: SIP/2.0/UDP 192.0.2.300\r\n" M_FROM M_TO
	    M_CID M_CSEQ, CHECK, 400,
	    "Via sent-by host '192.0.2.300' is not a host name or IP address" },
	{ "Via sent-by port 99999", M_RL "Via: SIP/2.0/UDP h.example:99999\r\n" M_FROM
	    M_TO M_CID M_CSEQ, CHECK, 400,
	    "Via sent-by port '99999' is not a number from 1 to 65535" },
	{ "Via sent-by port abc", M_RL "Via: SIP/2.0/UDP h.example:abc\r\n" M_FROM M_TO
	    M_CID M_CSEQ, CHECK, 400,
	    "Via sent-by port 'abc' is not a number from 1 to 65535" },
	{ "second Via bad", M_RL M_VIA "Via: SIP/2.0/UDP h.example:0\r\n" M_FROM M_TO M_CID
	    M_CSEQ, CHECK, 400, "Via sent-by port '0' is not a number from 1 to 65535" },
	{ "Via SIP/3.0", M_RL "Via: SIP/3.0/UDP h.example\r\n" M_FROM M_TO M_CID M_CSEQ,
	    CHECK, 400, "Via protocol version '3.0' is not 2.0" },
	{ "Via without protocol", M_RL "Via: 192.0.2.7\r\n" M_FROM M_TO M_CID M_CSEQ, PARSE,
	    400, "Via header '192.0.2.7' cannot be parsed" },
	{ "Via without host", M_RL "Via: SIP/2.0/UDP ;branch=z9hG4bK2\r\n" M_FROM M_TO M_CID
	    M_CSEQ, PARSE, 400, "Via header 'SIP/2.0/UDP ;branch=z9hG4bK2' cannot be "
	    "parsed" },

	/* Option tags (s.19.2), other lines. */
	{ "Proxy-Require option with a space", M_RL M_HDRS "Proxy-Require: a b\r\n",
	    CHECK, 400, "Proxy-Require option 'a b' is not a token" },
	{ "Require option with a slash", M_RL M_HDRS "Require: a/b\r\n", CHECK, 400,
	    "Require option 'a/b' is not a token" },
	{ "Content-Type without subtype", M_RL M_HDRS "Content-Type: garbage\r\n", PARSE,
	    400, "Content-Type header 'garbage' cannot be parsed" },
	{ "a header line without colon", M_RL M_HDRS "Garbage line\r\n", PARSE, 400,
	    "header line 'Garbage line' has no colon" },
};

/*
 * Status the pipeline of sip_transport gives text, parsed by parse (the
 * whole or the lean parse); why gets the reason.
 */
static int
decide_by(osip_message_t *(*parse)(const char *, size_t), const char *text,
    enum stage *stage, char *why, size_t whysz)
{
	osip_message_t *m = parse(text, strlen(text));
	int st;

	why[0] = '\0';
	if (m == NULL) {
		*stage = PARSE;
		return sip_msg_parse_error(text, strlen(text), why, whysz);
	}
	*stage = CHECK;
	st = sip_msg_check(m, why, whysz);
	osip_message_free(m);
	return st;
}

/* The same through sip_msg_parse(). */
static int
decide(const char *text, enum stage *stage, char *why, size_t whysz)
{
	return decide_by(sip_msg_parse, text, stage, why, whysz);
}

static void
test_check_table(void **state)
{
	const struct check_case *c;
	enum stage stage;
	char why[256], *text;
	size_t i;
	int st, failed = 0;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		c = &cases[i];
		text = xasprintf("%s\r\n", c->text);
		st = decide(text, &stage, why, sizeof why);
		free(text);
		if (st != c->status || stage != c->stage ||
		    (c->why != NULL && strcmp(why, c->why) != 0)) {
			print_error("case '%s': got %s %d \"%s\", expected %s %d "
			    "\"%s\"\n", c->name, stage == PARSE ? "parse" : "check",
			    st, why, c->stage == PARSE ? "parse" : "check", c->status,
			    c->why ? c->why : "");
			failed++;
		}
		if (strchr(why, '"') != NULL || strchr(why, '\\') != NULL) {
			print_error("case '%s': reason has a quote\n", c->name);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/*
 * Every case of the table, as a response (its request line made a status
 * line): the lean parse decides as the whole one, since every field
 * sip_msg_check() reads is parsed; requests are parsed whole by both.
 */
static void
test_lean_same_verdicts(void **state)
{
	char why[256], why_lean[256], *text;
	enum stage stage, stage_lean;
	size_t i, rl = strlen(M_RL), n = 0;
	int st, st_lean, failed = 0, pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			if (pass == 1 && strncmp(cases[i].text, M_RL, rl) != 0)
				continue;
			text = pass == 0 ? xasprintf("%s\r\n", cases[i].text) :
			    xasprintf("SIP/2.0 200 OK\r\n%s\r\n", cases[i].text + rl);
			st = decide(text, &stage, why, sizeof why);
			st_lean = decide_by(sip_msg_parse_lean, text,
			    &stage_lean, why_lean, sizeof why_lean);
			free(text);
			n++;
			if (st != st_lean || stage != stage_lean ||
			    strcmp(why, why_lean) != 0) {
				print_error("case '%s'%s: whole %d \"%s\", lean %d "
				    "\"%s\"\n", cases[i].name, pass ? " as a response" :
				    "", st, why, st_lean, why_lean);
				failed++;
			}
		}
	assert_true(n > 60);
	assert_int_equal(failed, 0);
}

/* A response through a proxy, with the Contact host given. */
#define LEAN_RESP(contact) "SIP/2.0 200 OK\r\n" \
	"Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKp1,\r\n" \
	"  SIP/2.0/TLS 192.0.2.7:5061;branch=z9hG4bKx\r\n" \
	"Record-Route: <sip:192.0.2.1;lr>\r\n" \
	"Contact: " contact "\r\n" \
	"X-Folded: one,\r\n two\r\n" \
	"From: <sip:a@example.com>;tag=f1\r\n" \
	"t: <sip:b@example.com>;tag=t9\r\n" \
	"Call-ID: c1@example.com\r\n" \
	"CSeq: 7 INVITE\r\nMax-Forwards: 70\r\n" \
	"Content-Length: 0\r\n\r\n"

/*
 * A lean response: what the transaction layer and the checks read is
 * there, the rest (Record-Route, Contact, unknown fields, folded or not)
 * is not parsed, so that a field the relay never reads cannot make it
 * drop the response; a request through the same call is parsed whole.
 */
static void
test_lean(void **state)
{
	osip_message_t *m, *full;
	osip_generic_param_t *tag = NULL;
	osip_via_t *v;
	char *good = xstrdup(LEAN_RESP("<sip:uas@192.0.2.9>"));
	char *bad = xstrdup(LEAN_RESP("<sip:@>"));
	char *req = msg("INVITE sip:b@example.com SIP/2.0", "1 INVITE",
	    "Contact: <sip:a@192.0.2.7>\r\n"), why[256];

	m = sip_msg_parse_lean(good, strlen(good));
	assert_non_null(m);
	assert_true(sip_msg_is_lean(m));
	assert_int_equal(sip_msg_check(m, why, sizeof why), 0);
	assert_int_equal(m->status_code, 200);
	assert_int_equal(osip_list_size(&m->vias), 2);
	v = osip_list_get(&m->vias, 0);
	assert_string_equal(v->host, "192.0.2.1");
	assert_string_equal(m->cseq->method, "INVITE");
	assert_string_equal(m->call_id->number, "c1");
	assert_int_equal(osip_to_get_tag(m->to, &tag), 0);
	assert_string_equal(tag->gvalue, "t9");
	assert_int_equal(osip_list_size(&m->record_routes), 0);
	assert_int_equal(osip_list_size(&m->contacts), 0);
	assert_int_equal(osip_list_size(&m->headers), 1);	/* Max-Forwards */
	osip_message_free(m);
	full = sip_msg_parse(good, strlen(good));
	assert_non_null(full);
	assert_false(sip_msg_is_lean(full));
	assert_int_equal(osip_list_size(&full->record_routes), 1);
	assert_int_equal(osip_list_size(&full->contacts), 1);
	osip_message_free(full);

	/* A Contact libosip2 refuses: the relay passes it on. */
	assert_null(sip_msg_parse(bad, strlen(bad)));
	m = sip_msg_parse_lean(bad, strlen(bad));
	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 0);
	osip_message_free(m);

	m = sip_msg_parse_lean(req, strlen(req));
	assert_non_null(m);
	assert_false(sip_msg_is_lean(m));
	assert_int_equal(osip_list_size(&m->contacts), 1);
	osip_message_free(m);
	free(good);
	free(bad);
	free(req);
}

/* A short buffer gets a cut sentence, never an overflow. */
static void
test_check_short_buffer(void **state)
{
	char *text = msg("OPTIONS sip:example.com SIP/2.0", "1 INVITE", "");
	osip_message_t *m = sip_msg_parse(text, strlen(text));
	char why[8];

	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 400);
	assert_string_equal(why, "CSeq me");
	osip_message_free(m);
	free(text);
}

static void
test_unsupported(void **state)
{
	char *text = msg("OPTIONS sip:example.com SIP/2.0", "1 OPTIONS",
	    "Proxy-Require: foo, bar\r\nRequire: x\r\nProxy-Require: FOO\r\n"
	    "Proxy-Require: baz\r\n");
	osip_message_t *m = sip_msg_parse(text, strlen(text));
	const char *some[] = { "bar", "Baz" };
	char *u;

	assert_non_null(m);
	u = sip_msg_unsupported(m, "Proxy-Require", NULL, 0);
	assert_string_equal(u, "foo, bar, baz");	/* FOO listed once */
	free(u);
	u = sip_msg_unsupported(m, "Proxy-Require", some, 2);
	assert_string_equal(u, "foo");
	free(u);
	u = sip_msg_unsupported(m, "Require", NULL, 0);
	assert_string_equal(u, "x");
	free(u);
	assert_null(sip_msg_unsupported(m, "Supported", NULL, 0));
	osip_message_free(m);
	free(text);
	text = msg("OPTIONS sip:example.com SIP/2.0", "1 OPTIONS",
	    "Proxy-Require: \r\n");
	m = sip_msg_parse(text, strlen(text));
	assert_non_null(m);
	assert_null(sip_msg_unsupported(m, "Proxy-Require", NULL, 0));
	osip_message_free(m);
	free(text);
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

/* The 400 sip_msg_raw_response() makes of bad has the lines want, in
   one piece, and neither of the two texts not1 and not2. */
static void
echoes(const char *bad, const char *want, const char *not1, const char *not2)
{
	size_t len;
	char *r = sip_msg_raw_response(bad, strlen(bad), 400, NULL, "h", NULL,
	    &len);

	assert_non_null(r);
	assert_non_null(strstr(r, want));
	assert_null(strstr(r, not1));
	assert_null(strstr(r, not2));
	free(r);
}

static void
test_raw_response(void **state)
{
	const char *bad = "OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
	    "f: <sip:a@x>;tag=1\r\nt: <sip:x>\r\ni: abc\r\nCSeq: 1 OPTIONS\r\n"
	    "X-Junk: \"\r\n\r\n";
	size_t len;
	char *r;

	r = sip_msg_raw_response(bad, strlen(bad), 400, NULL, "edge.example.com",
	    "a \"quoted\" reason", &len);
	assert_non_null(r);
	assert_memory_equal(r, "SIP/2.0 400 Bad Request\r\n", 25);
	assert_non_null(strstr(r, "v: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"));
	assert_non_null(strstr(r, "t: <sip:x>;tag="));
	assert_non_null(strstr(r, "Warning: 399 edge.example.com \"a 'quoted' reason\"\r\n"));
	assert_null(strstr(r, "X-Junk"));
	assert_int_equal(len, strlen(r));
	free(r);
	/* Of a repeated single-value header, only the first is echoed. */
	echoes("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
	    "Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\n"
	    "From: <sip:z@x>;tag=2\r\nTo: <sip:x>;tag=3\r\ni: abc\r\n"
	    "Call-ID: def\r\nCSeq: 1 OPTIONS\r\n\r\n",
	    "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
	    "Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\n"
	    "To: <sip:x>;tag=3\r\ni: abc\r\nCSeq: 1 OPTIONS\r\n", "tag=2", "def");
	/*
	 * Folded lines (s.7.3.1) of an echoed header are echoed with it: the
	 * top Via's second value and the To tag on a continuation line (no
	 * second tag); those of a header not echoed are not.
	 */
	echoes("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1,\r\n"
	    "  SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\n"
	    "To: <sip:x>\r\n\t;tag=3\r\nX-Folded: a,\r\n b\r\ni: abc\r\n"
	    "CSeq: 1\r\n OPTIONS\r\nMax-Forwards: 1x\r\n\r\n",
	    "Via: SIP/2.0/UDP a;branch=z9hG4bK1,\r\n"
	    "  SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\n"
	    "To: <sip:x>\r\n\t;tag=3\r\ni: abc\r\nCSeq: 1\r\n OPTIONS\r\n",
	    "tag=3;tag=", " b\r\n");
	/* Never for ACK, never for responses, not without Call-ID. */
	assert_null(sip_msg_raw_response("ACK sip:x SIP/2.0\r\n\r\n", 21, 400, NULL,
	    "h", NULL, &len));
	assert_null(sip_msg_raw_response("SIP/2.0 200 OK\r\n\r\n", 18, 400, NULL,
	    "h", NULL, &len));
	assert_null(sip_msg_raw_response("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n",
	    33, 400, NULL, "h", NULL, &len));
}

/* A request of M_HDRS plus n copies of line; caller frees. */
static char *
with_lines(const char *line, int n)
{
	size_t ll = strlen(line), i;
	char *extra = xmalloc(ll * (size_t)n + 1), *text;

	for (i = 0; i < (size_t)n; i++)
		memcpy(extra + i * ll, line, ll);
	extra[ll * (size_t)n] = '\0';
	text = xasprintf(M_RL M_HDRS "%sContent-Length: 0\r\n\r\n", extra);
	free(extra);
	return text;
}

static void
test_scan(void **state)
{
	char why[256], *t;

	/* M_HDRS has 5 fields and Content-Length 1: 250 more make 256. */
	t = with_lines("Require: a\r\n", 250);
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 64, why, sizeof why), 0);
	free(t);
	t = with_lines("Require: a\r\n", 251);
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 64, why, sizeof why),
	    400);
	assert_string_equal(why, "too many header fields: about 257, the "
	    "limit is 256");
	free(t);
	/* Commas between values count; in quotes and brackets they do not. */
	t = with_lines("Supported: a, b, c, d\r\n", 63);	/* 6 + 252 */
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 64, why, sizeof why),
	    400);
	free(t);
	t = with_lines("X-Q: \"a,b,c,d,e,f\" <sip:a,b,c@x>\r\n", 250);
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 64, why, sizeof why), 0);
	free(t);
	/* Parameters per value (URI parameters and headers included). */
	t = with_lines("Contact: <sip:a@x;p;p;p?h=1&h=2>;q=1;r\r\n", 10);
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 7, why, sizeof why), 0);
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 6, why, sizeof why),
	    400);
	assert_string_equal(why, "more than 6 parameters in one value (line 7)");
	free(t);
	/* In a quoted string they are text. */
	t = with_lines("Subject: \";;;;;;;;;;\"\r\n", 1);
	assert_int_equal(sip_msg_scan(t, strlen(t), 256, 2, why, sizeof why), 0);
	free(t);
	/* Continuation lines count (libosip2 unfolds each), as do commas. */
	t = with_lines("X-F: a,\r\n b,\r\n\tc\r\n", 1);	/* 6 + 5 */
	assert_int_equal(sip_msg_scan(t, strlen(t), 11, 64, why, sizeof why), 0);
	assert_int_equal(sip_msg_scan(t, strlen(t), 10, 64, why, sizeof why),
	    400);
	free(t);

	/* The body is not counted. */
	t = xasprintf(M_RL M_HDRS "Content-Length: 9\r\n\r\na,b,c,d;e");
	assert_int_equal(sip_msg_scan(t, strlen(t), 6, 2, why, sizeof why), 0);
	free(t);
}

static void
test_many_fields_one_walk(void **state)
{
	char why[256], *t, *u;
	osip_message_t *m;

	/* The bad option tag after 250 good ones is found, and named. */
	t = with_lines("Proxy-Require: a\r\n", 249);
	u = xasprintf("%.*sProxy-Require: b c\r\nContent-Length: 0\r\n\r\n",
	    (int)(strstr(t, "Content-Length") - t), t);
	m = sip_msg_parse(u, strlen(u));
	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 400);
	assert_string_equal(why, "Proxy-Require option 'b c' is not a token");
	osip_message_free(m);
	free(u);
	free(t);
	/* A repeated Max-Forwards among many headers. */
	t = with_lines("Max-Forwards: 70\r\nX: y\r\n", 2);
	m = sip_msg_parse(t, strlen(t));
	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 400);
	assert_string_equal(why, "Max-Forwards header appears more than once");
	osip_message_free(m);
	free(t);
	/* The Unsupported list of 200 Proxy-Require rows, each tag once. */
	t = with_lines("Proxy-Require: x\r\nProxy-Require: y\r\n", 100);
	m = sip_msg_parse(t, strlen(t));
	assert_non_null(m);
	u = sip_msg_unsupported(m, "Proxy-Require", NULL, 0);
	assert_string_equal(u, "x, y");
	free(u);
	osip_message_free(m);
	free(t);
}

static void
test_body_opaque(void **state)
{
	const char *body = "--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
	    "--b1\r\nContent-Type: multipart/mixed;boundary=b2\r\n\r\n"
	    "--b2--\r\n--b1--\r\n";
	char why[256], *t;
	osip_message_t *m;

	t = xasprintf("MESSAGE sip:a@example.com SIP/2.0\r\n" M_VIA M_FROM M_TO
	    M_CID "CSeq: 1 MESSAGE\r\nContent-Type: multipart/mixed;"
	    "boundary=b1\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
	    body);
	m = sip_msg_parse(t, strlen(t));
	assert_non_null(m);
	assert_int_equal(osip_list_size(&m->bodies), 0);	/* never parsed */
	assert_non_null(m->content_type);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 0);
	osip_message_free(m);
	/* Any body, any length: the header section alone is parsed. */
	assert_int_equal(sip_msg_header_len(t, strlen(t)), strlen(t) -
	    strlen(body));
	free(t);
	t = xasprintf("INVITE sip:a@example.com SIP/2.0\r\n" M_VIA M_FROM M_TO
	    M_CID "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
	    "l: 150\r\n\r\nv=0\r\n");
	m = sip_msg_parse(t, strlen(t));
	assert_non_null(m);
	assert_int_equal(osip_list_size(&m->bodies), 0);
	osip_message_free(m);
	free(t);
}

static void
test_escaped_nul(void **state)
{
	/* RFC 4475 s.3.1.1.2: BEL, NUL and DEL escaped in a quoted string. */
	static const char text[] = "OPTIONS sip:example.com SIP/2.0\r\n" M_VIA
	    M_FROM "To: \"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" "
	    "<sip:b@example.com>\r\n" M_CID M_CSEQ "Content-Length: 0\r\n\r\n";
	char why[256];
	osip_message_t *m;

	m = sip_msg_parse(text, sizeof text - 1);
	assert_non_null(m);
	assert_int_equal(sip_msg_check(m, why, sizeof why), 0);
	assert_non_null(m->cseq);	/* parsed past the NUL */
	osip_message_free(m);
}

static void
test_raw_response_via_and_tag(void **state)
{
	const char *bad = "OPTIONS sip:x SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1;rport, "
	    "SIP/2.0/UDP b;branch=z9hG4bK0\r\nVia: SIP/2.0/UDP c\r\n"
	    "f: \"a\x01\" <sip:a@x>;tag=1\r\nt: <sip:x>\r\ni: abc\r\n"
	    "CSeq: 1 OPTIONS\r\nNo colon\r\n\r\n";
	struct sip_src src = { "198.51.100.1", 40000 };
	struct sip_src same = { "192.0.2.7", 5060 };
	const char *t1, *t2;
	size_t len;
	char *r, *r2;

	r = sip_msg_raw_response(bad, strlen(bad), 400, &src, "h", NULL, &len);
	assert_non_null(r);
	/* received and rport on the first element of the top Via only. */
	assert_non_null(strstr(r, "Via: SIP/2.0/UDP 192.0.2.7:5060;branch="
	    "z9hG4bK1;rport=40000;received=198.51.100.1, SIP/2.0/UDP b;"
	    "branch=z9hG4bK0\r\nVia: SIP/2.0/UDP c\r\n"));
	/* A control byte becomes '?', and the message is still answered. */
	assert_non_null(strstr(r, "f: \"a?\" <sip:a@x>;tag=1\r\n"));
	/* A fresh random To tag each time. */
	r2 = sip_msg_raw_response(bad, strlen(bad), 400, &src, "h", NULL, &len);
	assert_non_null(r2);
	t1 = strstr(r, "t: <sip:x>;tag=");
	t2 = strstr(r2, "t: <sip:x>;tag=");
	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_equal(strcspn(t1 + 15, "\r"), 16);
	assert_memory_not_equal(t1 + 15, t2 + 15, 16);
	free(r);
	free(r2);
	/* From the sent-by address without rport: no received. */
	bad = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;"
	    "branch=z9hG4bK1\r\nf: <sip:a@x>;tag=1\r\nt: <sip:x>\r\n"
	    "i: abc\r\nCSeq: 1 OPTIONS\r\n\r\n";
	r = sip_msg_raw_response(bad, strlen(bad), 400, &same, "h", NULL, &len);
	assert_non_null(r);
	assert_non_null(strstr(r, "Via: SIP/2.0/UDP 192.0.2.7:5060;branch="
	    "z9hG4bK1\r\n"));
	free(r);
	/* rport with a value and received already there: left as they are. */
	bad = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;rport=1;"
	    "received=192.0.2.1\r\nf: <sip:a@x>;tag=1\r\nt: <sip:x>\r\n"
	    "i: abc\r\nCSeq: 1 OPTIONS\r\n\r\n";
	r = sip_msg_raw_response(bad, strlen(bad), 400, &src, "h", NULL, &len);
	assert_non_null(r);
	assert_non_null(strstr(r, "Via: SIP/2.0/UDP h;rport=1;"
	    "received=192.0.2.1\r\n"));
	free(r);
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
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_lean_same_verdicts),
		cmocka_unit_test(test_lean),
		cmocka_unit_test(test_check_short_buffer),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_raw_response),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_many_fields_one_walk),
		cmocka_unit_test(test_body_opaque),
		cmocka_unit_test(test_escaped_nul),
		cmocka_unit_test(test_raw_response_via_and_tag),
		cmocka_unit_test(test_uri_host),
	};

	sip_msg_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
