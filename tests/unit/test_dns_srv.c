/*
 * test_dns_srv.c: the DNS wire format of net/dns_srv on crafted byte
 * arrays: queries, good answers (compressed or not, CNAMEs, truncated),
 * answers that are not ours (id, question), malformed and looping ones,
 * every prefix and random corruptions of a good answer; the RFC 2782
 * order; server address syntax.  Each message is parsed from a heap copy
 * of exactly its length, so valgrind or ASan see any read past its end.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "net/dns_srv.h"
#include "util/xmalloc.h"

#define QNAME	"_sips._tcp.example.com"
#define ID	0x4a3b
/* 60 bytes: five of them make a name longer than 255 */
#define LONGLABEL \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A message being written. */
struct msg {
	uint8_t	b[8192];
	size_t	n;
};

static void
u8(struct msg *m, unsigned v)
{
	assert_true(m->n < sizeof m->b);
	m->b[m->n++] = (uint8_t)v;
}

static void
u16(struct msg *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}

static void
u32(struct msg *m, unsigned long v)
{
	u16(m, (unsigned)(v >> 16));
	u16(m, (unsigned)(v & 0xffff));
}

/* Labels of the dotted name, without the root byte ("" writes nothing). */
static void
labels(struct msg *m, const char *name)
{
	const char *p = name, *dot;
	size_t l;

	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		u8(m, (unsigned)l);
		memcpy(m->b + m->n, p, l);
		m->n += l;
		p += l;
		if (*p == '.')
			p++;
	}
}

/* An uncompressed name with its root byte. */
static void
name(struct msg *m, const char *n)
{
	labels(m, n);
	u8(m, 0);
}

/* A compression pointer to off. */
static void
ptr(struct msg *m, unsigned off)
{
	u16(m, 0xc000 | off);
}

/* Header: id, flags (QR set unless noted), counts. */
static void
header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	u16(m, id);
	u16(m, flags);
	u16(m, qd);
	u16(m, an);
	u16(m, 0);
	u16(m, 0);
}

/* The question QNAME SRV IN (at offset 12). */
static void
question(struct msg *m)
{
	name(m, QNAME);
	u16(m, 33);
	u16(m, 1);
}

/* A standard response header and the question; an answers follow. */
static void
response(struct msg *m, unsigned rcode, unsigned an)
{
	header(m, ID, 0x8180 | rcode, 1, an);
	question(m);
}

/* Owner (a pointer to the question), type, class IN, TTL, rdlength. */
static void
rr_head(struct msg *m, unsigned type, unsigned rdlen)
{
	ptr(m, 12);
	u16(m, type);
	u16(m, 1);
	u32(m, 300);
	u16(m, rdlen);
}

/* An SRV record owned by the question name, target uncompressed. */
static void
srv(struct msg *m, unsigned prio, unsigned weight, unsigned port,
    const char *target)
{
	size_t tl = target[0] == '\0' ? 1 : strlen(target) + 2;

	rr_head(m, 33, (unsigned)(6 + tl));
	u16(m, prio);
	u16(m, weight);
	u16(m, port);
	name(m, target);
}

/* Parse m (len bytes of it) from an exact-size heap copy. */
static int
parse_len(const struct msg *m, size_t len, struct dns_srv_rr **rrs,
    size_t *n)
{
	uint8_t *copy = xmalloc(len > 0 ? len : 1);
	int err;

	memcpy(copy, m->b, len);
	err = dns_srv_parse(copy, len, ID, QNAME, rrs, n);
	free(copy);
	if (err != DNS_SRV_OK) {
		assert_null(*rrs);
		assert_int_equal(*n, 0);
	}
	return err;
}

static int
parse(const struct msg *m, struct dns_srv_rr **rrs, size_t *n)
{
	return parse_len(m, m->n, rrs, n);
}

/* The error of parsing m, records freed. */
static int
parse_err(const struct msg *m)
{
	struct dns_srv_rr *rrs;
	size_t n;
	int err = parse(m, &rrs, &n);

	free(rrs);
	return err;
}

static void
test_query_build(void **state)
{
	static const uint8_t want[] = {
		0x4a, 0x3b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		5, '_', 's', 'i', 'p', 's', 4, '_', 't', 'c', 'p',
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 33, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0
	};
	uint8_t buf[600], buf2[600];
	char big[300];
	int len;

	(void)state;
	len = dns_srv_query_build(ID, QNAME, buf, sizeof buf);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	/* a trailing dot is the same name */
	assert_int_equal(dns_srv_query_build(ID, QNAME ".", buf2, sizeof buf2),
	    len);
	assert_memory_equal(buf, buf2, (size_t)len);
	/* exactly enough room, and one byte less */
	assert_int_equal(dns_srv_query_build(ID, QNAME, buf2, sizeof want),
	    len);
	assert_int_equal(dns_srv_query_build(ID, QNAME, buf2,
	    sizeof want - 1), -1);

	assert_int_equal(dns_srv_query_build(ID, "", buf, sizeof buf), -1);
	assert_int_equal(dns_srv_query_build(ID, ".", buf, sizeof buf), -1);
	assert_int_equal(dns_srv_query_build(ID, "a..b", buf, sizeof buf), -1);
	assert_int_equal(dns_srv_query_build(ID, ".a", buf, sizeof buf), -1);
	assert_int_equal(dns_srv_query_build(ID, "a b.c", buf, sizeof buf), -1);
	assert_int_equal(dns_srv_query_build(ID, "a\\.b", buf, sizeof buf), -1);
	/* 63-byte labels pass, 64 do not */
	memset(big, 'a', 63);
	strcpy(big + 63, ".com");
	assert_true(dns_srv_query_build(ID, big, buf, sizeof buf) > 0);
	memset(big, 'a', 64);
	strcpy(big + 64, ".com");
	assert_int_equal(dns_srv_query_build(ID, big, buf, sizeof buf), -1);
	/* 253 characters pass, 254 do not */
	memset(big, 'a', sizeof big);
	for (len = 50; len < 254; len += 51)
		big[len] = '.';
	big[253] = '\0';
	assert_true(dns_srv_query_build(ID, big, buf, sizeof buf) > 0);
	big[253] = 'a';
	big[254] = '\0';
	assert_int_equal(dns_srv_query_build(ID, big, buf, sizeof buf), -1);
}

static void
test_good_answer(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t n;

	(void)state;
	response(&m, 0, 2);
	srv(&m, 10, 60, 5061, "sip1.example.com");
	srv(&m, 20, 0, 5062, "sip2.example.com");
	assert_int_equal(parse(&m, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(rrs[0].priority, 10);
	assert_int_equal(rrs[0].weight, 60);
	assert_int_equal(rrs[0].port, 5061);
	assert_string_equal(rrs[0].target, "sip1.example.com");
	assert_int_equal(rrs[1].priority, 20);
	assert_int_equal(rrs[1].port, 5062);
	assert_string_equal(rrs[1].target, "sip2.example.com");
	free(rrs);

	/* the name asked for with a trailing dot, the answer in upper case */
	header(&m, ID, 0x8580, 1, 1);
	name(&m, "_SIPS._TCP.Example.COM");
	u16(&m, 33);
	u16(&m, 1);
	srv(&m, 0, 0, 65535, "a");
	{
		uint8_t *c = xmalloc(m.n);

		memcpy(c, m.b, m.n);
		assert_int_equal(dns_srv_parse(c, m.n, ID, QNAME ".", &rrs,
		    &n), DNS_SRV_OK);
		free(c);
	}
	assert_int_equal(n, 1);
	assert_int_equal(rrs[0].port, 65535);
	assert_string_equal(rrs[0].target, "a");
	free(rrs);
}

static void
test_compression(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t n, rd;

	(void)state;
	/* target "sip1" + pointer to "example.com" inside the question
	 * (offset 12 + 6 + 5 = 23) */
	response(&m, 0, 2);
	rr_head(&m, 33, 6 + 5 + 2);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 5061);
	labels(&m, "sip1");
	ptr(&m, 23);
	/* a second record whose target points at the first target (with
	 * its own pointer: a chain of two) */
	rd = m.n - 7;		/* "sip1" of the first record */
	rr_head(&m, 33, 6 + 2);
	u16(&m, 2);
	u16(&m, 1);
	u16(&m, 5062);
	ptr(&m, (unsigned)rd);
	assert_int_equal(parse(&m, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rrs[0].target, "sip1.example.com");
	assert_string_equal(rrs[1].target, "sip1.example.com");
	free(rrs);
}

static void
test_cname(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t n, alias;
	int i;

	(void)state;
	response(&m, 0, 3);
	rr_head(&m, 5, (unsigned)strlen("srv.provider.example") + 2);
	alias = m.n;
	name(&m, "srv.provider.example");
	/* an SRV of the alias (owner compressed) and one of a stranger */
	ptr(&m, (unsigned)alias);
	u16(&m, 33);
	u16(&m, 1);
	u32(&m, 60);
	u16(&m, 6 + 3);
	u16(&m, 5);
	u16(&m, 5);
	u16(&m, 5061);
	name(&m, "x");
	name(&m, "other.example");
	u16(&m, 33);
	u16(&m, 1);
	u32(&m, 60);
	u16(&m, 6 + 3);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "y");
	assert_int_equal(parse(&m, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rrs[0].target, "x");
	free(rrs);

	/* only a stranger's SRV record: none of ours */
	response(&m, 0, 1);
	name(&m, "other.example");
	u16(&m, 33);
	u16(&m, 1);
	u32(&m, 60);
	u16(&m, 6 + 3);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "y");
	assert_int_equal(parse_err(&m), DNS_SRV_ENODATA);

	/* a chain of 12 CNAMEs: the first 8 are followed, not more */
	response(&m, 0, 13);
	for (i = 0; i < 12; i++) {
		char a[16];

		if (i == 0)
			ptr(&m, 12);
		else {
			snprintf(a, sizeof a, "c%d.example", i - 1);
			name(&m, a);
		}
		u16(&m, 5);
		u16(&m, 1);
		u32(&m, 60);
		snprintf(a, sizeof a, "c%d.example", i);
		u16(&m, (unsigned)strlen(a) + 2);
		name(&m, a);
	}
	name(&m, "c11.example");
	u16(&m, 33);
	u16(&m, 1);
	u32(&m, 60);
	u16(&m, 6 + 3);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "z");
	assert_int_equal(parse_err(&m), DNS_SRV_ENODATA);
}

static void
test_rcodes_and_empty(void **state)
{
	struct msg m;

	(void)state;
	response(&m, 3, 0);
	assert_int_equal(parse_err(&m), DNS_SRV_ENXDOMAIN);
	response(&m, 2, 0);
	assert_int_equal(parse_err(&m), DNS_SRV_ESERVFAIL);
	response(&m, 5, 0);
	assert_int_equal(parse_err(&m), DNS_SRV_ESERVFAIL);
	response(&m, 0, 0);
	assert_int_equal(parse_err(&m), DNS_SRV_ENODATA);
	/* an A record under the name only */
	response(&m, 0, 1);
	rr_head(&m, 1, 4);
	u32(&m, 0x7f000001);
	assert_int_equal(parse_err(&m), DNS_SRV_ENODATA);
	/* records of other classes are skipped */
	response(&m, 0, 1);
	ptr(&m, 12);
	u16(&m, 33);
	u16(&m, 3);		/* CHAOS */
	u32(&m, 0);
	u16(&m, 6 + 3);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "x");
	assert_int_equal(parse_err(&m), DNS_SRV_ENODATA);
}

static void
test_dot_target(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t n;

	(void)state;
	response(&m, 0, 1);
	srv(&m, 0, 0, 0, "");
	assert_int_equal(parse_err(&m), DNS_SRV_EUNAVAIL);
	/* with real records beside it, "." is dropped */
	response(&m, 0, 2);
	srv(&m, 0, 0, 0, "");
	srv(&m, 5, 5, 5061, "sip.example.com");
	assert_int_equal(parse(&m, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rrs[0].target, "sip.example.com");
	free(rrs);
	assert_int_not_equal(DNS_SRV_EUNAVAIL, DNS_SRV_ENODATA);
}

static void
test_not_ours(void **state)
{
	struct msg m;

	(void)state;
	response(&m, 0, 1);
	srv(&m, 1, 1, 1, "a");
	m.b[1] ^= 1;				/* wrong id */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[1] ^= 1;
	m.b[2] &= 0x7f;				/* a query, not a response */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[2] |= 0x80 | 0x08;			/* opcode 1 */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[2] &= (uint8_t)~0x08;
	assert_int_equal(parse_err(&m), DNS_SRV_OK);
	m.b[14] = 'S';				/* "_Sips": same name */
	assert_int_equal(parse_err(&m), DNS_SRV_OK);
	m.b[14] = 'x';				/* "_xips": another name */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[14] = 's';
	m.b[12 + 24 + 1] = 1;			/* qtype A */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[12 + 24 + 1] = 33;
	m.b[12 + 24 + 3] = 3;			/* qclass CH */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[12 + 24 + 3] = 1;
	m.b[5] = 0;				/* no question */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[5] = 2;				/* two questions */
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.b[5] = 1;
	assert_int_equal(parse_err(&m), DNS_SRV_OK);
	/* shorter than a header; a question that ends early */
	m.n = 11;
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	m.n = 12 + 24 + 3;
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
	/* a question name that loops on itself */
	header(&m, ID, 0x8180, 1, 0);
	ptr(&m, 12);
	u16(&m, 33);
	u16(&m, 1);
	assert_int_equal(parse_err(&m), DNS_SRV_EMISMATCH);
}

static void
test_malformed(void **state)
{
	struct msg m;
	size_t at;
	int i;

	(void)state;
	/* ANCOUNT says 2, one is there */
	response(&m, 0, 2);
	srv(&m, 1, 1, 1, "a");
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* rdlength past the end */
	response(&m, 0, 1);
	srv(&m, 1, 1, 1, "a");
	m.b[m.n - 10] = 0x40;
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* SRV rdata shorter than 7 bytes */
	response(&m, 0, 1);
	rr_head(&m, 33, 6);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* target longer than rdlength says (runs into the next record) */
	response(&m, 0, 2);
	rr_head(&m, 33, 6 + 2);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "a");
	srv(&m, 1, 1, 1, "b");
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* target shorter than rdlength */
	response(&m, 0, 1);
	rr_head(&m, 33, 6 + 4);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "a");
	u8(&m, 0);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* target pointing at itself */
	response(&m, 0, 1);
	rr_head(&m, 33, 6 + 2);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	ptr(&m, (unsigned)m.n);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* two names pointing at each other: the first is an SRV target
	 * "a" + pointer to the second, the second is "b" + pointer back */
	response(&m, 0, 2);
	rr_head(&m, 33, 6 + 4);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	at = m.n;
	labels(&m, "a");
	ptr(&m, (unsigned)m.n + 20);	/* the second record's target */
	rr_head(&m, 33, 6 + 4);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	assert_int_equal(m.n, at + 22);
	labels(&m, "b");
	ptr(&m, (unsigned)at);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* a forward pointer (to a valid name further on) */
	response(&m, 0, 1);
	rr_head(&m, 33, 6 + 2 + 3);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	ptr(&m, (unsigned)m.n + 2);
	name(&m, "a");
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* an owner name pointing forward, at a copy of the question name
	 * inside the next record's data */
	response(&m, 0, 2);
	at = m.n + 12 + 9 + 12;		/* the TXT record's data */
	ptr(&m, (unsigned)at);
	u16(&m, 33);
	u16(&m, 1);
	u32(&m, 0);
	u16(&m, 6 + 3);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	name(&m, "a");
	rr_head(&m, 16, 24);
	assert_int_equal(m.n, at);
	name(&m, QNAME);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* SRV data of 2 bytes at the very end of the message */
	response(&m, 0, 1);
	rr_head(&m, 33, 2);
	u16(&m, 1);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* a pointer past the end */
	response(&m, 0, 1);
	rr_head(&m, 33, 6 + 2);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 1);
	ptr(&m, 0x3fff);
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	/* reserved label types 0x40 and 0x80 */
	for (i = 0; i < 2; i++) {
		response(&m, 0, 1);
		rr_head(&m, 33, 6 + 3);
		u16(&m, 1);
		u16(&m, 1);
		u16(&m, 1);
		u8(&m, i == 0 ? 0x41 : 0x81);
		u8(&m, 'a');
		u8(&m, 0);
		assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	}
	/* a label with a dot or a space in it */
	for (i = 0; i < 2; i++) {
		response(&m, 0, 1);
		srv(&m, 1, 1, 1, "ab.example");
		m.b[m.n - 10] = i == 0 ? '.' : ' ';
		assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	}
	/* a name of more than 255 bytes built from pointers: five names of
	 * 60 bytes each ending in a pointer to the previous one */
	response(&m, 0, 1);
	rr_head(&m, 16, 0);	/* TXT, placeholder rdlength */
	{
		size_t rdstart = m.n, prev = 0, here;
		int k;

		for (k = 0; k < 5; k++) {
			here = m.n;
			labels(&m, LONGLABEL);
			if (k == 0)
				u8(&m, 0);
			else
				ptr(&m, (unsigned)prev);
			prev = here;
		}
		m.b[rdstart - 2] = (uint8_t)((m.n - rdstart) >> 8);
		m.b[rdstart - 1] = (uint8_t)(m.n - rdstart);
		/* an SRV record whose owner is the last long name */
		m.b[7] = 2;
		ptr(&m, (unsigned)prev);
		u16(&m, 33);
		u16(&m, 1);
		u32(&m, 0);
		u16(&m, 6 + 3);
		u16(&m, 1);
		u16(&m, 1);
		u16(&m, 1);
		name(&m, "a");
		assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
	}
	/* a label length running past the end of the message */
	response(&m, 0, 1);
	srv(&m, 1, 1, 1, "a");
	m.b[m.n - 3] = 9;
	assert_int_equal(parse_err(&m), DNS_SRV_EMALFORMED);
}

static void
test_truncated(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t n, cut;

	(void)state;
	/* TC: the complete first record is used, the cut second ignored */
	header(&m, ID, 0x8380, 1, 2);
	question(&m);
	srv(&m, 1, 1, 5061, "sip1.example.com");
	cut = m.n;
	srv(&m, 2, 1, 5061, "sip2.example.com");
	assert_int_equal(parse_len(&m, m.n - 5, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rrs[0].target, "sip1.example.com");
	free(rrs);
	/* TC with nothing complete */
	assert_int_equal(parse_len(&m, cut - 1, &rrs, &n), DNS_SRV_ETRUNC);
	header(&m, ID, 0x8380, 1, 0);
	question(&m);
	assert_int_equal(parse_err(&m), DNS_SRV_ETRUNC);
}

/* Every prefix of a good answer parses to an error, never past its end. */
static void
test_every_prefix(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t len, n;
	int err;

	(void)state;
	response(&m, 0, 2);
	srv(&m, 10, 60, 5061, "sip1.example.com");
	rr_head(&m, 33, 6 + 5 + 2);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 5061);
	labels(&m, "sip2");
	ptr(&m, 23);
	for (len = 0; len < m.n; len++) {
		err = parse_len(&m, len, &rrs, &n);
		if (len < 12 + 24 + 4)
			assert_int_equal(err, DNS_SRV_EMISMATCH);
		else
			assert_int_equal(err, DNS_SRV_EMALFORMED);
	}
	assert_int_equal(parse_len(&m, m.n, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rrs[1].target, "sip2.example.com");
	free(rrs);
}

static uint32_t
lcg(void *arg)
{
	uint32_t *s = arg;

	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Random corruption of a good answer: no crash, sane records if any. */
static void
test_corruption(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg good, m;
	uint32_t seed = 7;
	size_t n, i, k, len;
	int round, ok = 0;

	(void)state;
	response(&good, 0, 3);
	srv(&good, 10, 60, 5061, "sip1.example.com");
	srv(&good, 20, 0, 5062, "sip2.example.com");
	rr_head(&good, 33, 6 + 5 + 2);
	u16(&good, 1);
	u16(&good, 1);
	u16(&good, 5061);
	labels(&good, "sip3");
	ptr(&good, 23);
	for (round = 0; round < 3000; round++) {
		m = good;
		for (k = 0; k < 1 + lcg(&seed) % 4; k++) {
			/* mostly after the header and question, so that
			 * the records are what gets damaged */
			i = 40 + lcg(&seed) % (m.n - 40);
			if (lcg(&seed) % 8 == 0)
				i = lcg(&seed) % m.n;
			m.b[i] = (uint8_t)lcg(&seed);
		}
		len = m.n - (lcg(&seed) % 4 == 0 ? lcg(&seed) % 20 : 0);
		if (parse_len(&m, len, &rrs, &n) == DNS_SRV_OK) {
			ok++;
			assert_true(n >= 1 && n <= 3);
			for (i = 0; i < n; i++) {
				assert_true(strlen(rrs[i].target) >= 1);
				assert_true(strlen(rrs[i].target) <= 253);
				assert_true(rrs[i].port <= 65535);
			}
			free(rrs);
		}
	}
	/* some corruptions hit only TTLs or values */
	assert_true(ok > 0);
}

static void
test_many_records(void **state)
{
	struct dns_srv_rr *rrs;
	struct msg m;
	size_t n;
	int i;

	(void)state;
	response(&m, 0, 80);
	for (i = 0; i < 80; i++)
		srv(&m, (unsigned)i, 1, 5061, "h.example");
	assert_int_equal(parse(&m, &rrs, &n), DNS_SRV_OK);
	assert_int_equal(n, 64);
	assert_int_equal(rrs[63].priority, 63);
	free(rrs);
}

static uint32_t
fixed(void *arg)
{
	return *(uint32_t *)arg;
}

static void
set(struct dns_srv_rr *r, unsigned prio, unsigned weight, const char *t)
{
	memset(r, 0, sizeof *r);
	r->priority = prio;
	r->weight = weight;
	snprintf(r->target, sizeof r->target, "%s", t);
}

static void
test_sort(void **state)
{
	struct dns_srv_rr r[6];
	uint32_t v;
	int i, heavy = 0;

	(void)state;
	set(&r[0], 20, 5, "late");
	set(&r[1], 10, 10, "B");
	set(&r[2], 10, 90, "C");
	set(&r[3], 10, 0, "A");
	set(&r[4], 5, 0, "first");
	/* r = 0 always picks the first left: the weight 0 record leads
	 * its priority, B and C follow in either order */
	v = 0;
	dns_srv_sort(r, 5, fixed, &v);
	assert_string_equal(r[0].target, "first");
	assert_string_equal(r[1].target, "A");
	assert_true(strcmp(r[2].target, "B") == 0 ||
	    strcmp(r[2].target, "C") == 0);
	assert_string_equal(r[4].target, "late");

	set(&r[0], 10, 0, "A");
	set(&r[1], 10, 10, "B");
	set(&r[2], 10, 90, "C");
	/* r = 5 of 100: A runs 0, B 10 >= 5: B; then 5 of 90: A 0, C 90: C */
	v = 5;
	dns_srv_sort(r, 3, fixed, &v);
	assert_string_equal(r[0].target, "B");
	assert_string_equal(r[1].target, "C");
	assert_string_equal(r[2].target, "A");
	/* r = 50 of 100 picks C, then 50 of 10 (mod 11 = 6) picks B */
	set(&r[0], 10, 0, "A");
	set(&r[1], 10, 10, "B");
	set(&r[2], 10, 90, "C");
	v = 50;
	dns_srv_sort(r, 3, fixed, &v);
	assert_string_equal(r[0].target, "C");
	assert_string_equal(r[1].target, "B");
	assert_string_equal(r[2].target, "A");

	/* the secure generator: weight 99 comes first nearly always */
	for (i = 0; i < 2000; i++) {
		set(&r[0], 1, 1, "light");
		set(&r[1], 1, 99, "heavy");
		dns_srv_sort(r, 2, NULL, NULL);
		heavy += strcmp(r[0].target, "heavy") == 0;
	}
	assert_true(heavy > 1850 && heavy < 2000);
	dns_srv_sort(r, 0, NULL, NULL);
	dns_srv_sort(r, 1, NULL, NULL);
}

static void
test_strerror_and_servers(void **state)
{
	int i, j;

	(void)state;
	for (i = DNS_SRV_OK; i <= DNS_SRV_EMISMATCH; i++)
		for (j = i + 1; j <= DNS_SRV_EMISMATCH; j++)
			assert_string_not_equal(dns_srv_strerror(i),
			    dns_srv_strerror(j));
	assert_non_null(strstr(dns_srv_strerror(DNS_SRV_ENXDOMAIN), "NXDOMAIN"));
	assert_non_null(strstr(dns_srv_strerror(DNS_SRV_ETIMEOUT), "timeout"));
	assert_string_equal(dns_srv_strerror(-1), "unknown DNS error");
	assert_string_equal(dns_srv_strerror(999), "unknown DNS error");

	assert_true(dns_server_is_valid("127.0.0.1"));
	assert_true(dns_server_is_valid("127.0.0.1:5353"));
	assert_true(dns_server_is_valid("::1"));
	assert_true(dns_server_is_valid("[::1]"));
	assert_true(dns_server_is_valid("[2001:db8::1]:53"));
	assert_false(dns_server_is_valid(""));
	assert_false(dns_server_is_valid("ns.example"));
	assert_false(dns_server_is_valid("127.0.0.1:"));
	assert_false(dns_server_is_valid("127.0.0.1:0"));
	assert_false(dns_server_is_valid("127.0.0.1:65536"));
	assert_false(dns_server_is_valid("127.0.0.1:53x"));
	assert_false(dns_server_is_valid("127.0.0.1:-1"));
	assert_false(dns_server_is_valid("[::1]x"));
	assert_false(dns_server_is_valid("[::1"));
	assert_false(dns_server_is_valid("[]:53"));
	assert_false(dns_server_is_valid("[127.0.0.1]:53"));
}

/* dns_configure on an evdns_base (no query is sent). */
static void
test_configure(void **state)
{
	char *v[] = { "127.0.0.1:5353", "127.0.0.2" }, *bad[] = { "ns.example" };
	struct conf_strlist two = { v, 2 }, wrong = { bad, 1 }, none = { NULL, 0 };
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0), *ref;
	char *cause = NULL;
	int i, found = 0;

	(void)state;
	assert_int_equal(dns_configure(dns, &two, &cause), 0);
	assert_int_equal(evdns_base_count_nameservers(dns), 2);
	for (i = 0; i < 2; i++) {
		assert_true(evdns_base_get_nameserver_addr(dns, i,
		    (struct sockaddr *)&ss, sizeof ss) > 0);
		assert_int_equal(ss.ss_family, AF_INET);
		if (ntohs(s4->sin_port) == 5353 &&
		    ntohl(s4->sin_addr.s_addr) == 0x7f000001)
			found |= 1;
		if (ntohs(s4->sin_port) == 53 &&
		    ntohl(s4->sin_addr.s_addr) == 0x7f000002)
			found |= 2;
	}
	assert_int_equal(found, 3);
	/* a bad entry: refused, the servers stay */
	assert_int_equal(dns_configure(dns, &wrong, &cause), -1);
	assert_non_null(strstr(cause, "\"ns.example\" is not IP"));
	free(cause);
	assert_int_equal(evdns_base_count_nameservers(dns), 2);
	/* an empty list: resolv.conf's servers, as a fresh base has them */
	assert_int_equal(dns_configure(dns, &none, &cause), 0);
	ref = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	assert_non_null(ref);
	assert_int_equal(evdns_base_count_nameservers(dns),
	    evdns_base_count_nameservers(ref));
	evdns_base_free(ref, 0);
	evdns_base_free(dns, 0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_build),
		cmocka_unit_test(test_good_answer),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_rcodes_and_empty),
		cmocka_unit_test(test_dot_target),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_strerror_and_servers),
		cmocka_unit_test(test_configure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
