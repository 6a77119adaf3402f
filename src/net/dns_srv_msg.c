/*
 * dns_srv_msg.c: the DNS wire format SRV lookups need (RFC 1035 s.4,
 * RFC 2782, RFC 6891 for the OPT record): names, the query, the answer
 * read back, and the RFC 2782 order of the records.  Pure: no socket, no
 * loop (dns_srv.c does the lookups).
 *
 * Everything in an answer is peer input: every length is checked against
 * the datagram, compression pointers must point strictly backwards (so
 * they cannot loop) and are followed at most DNS_MAX_HOPS times.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/util.h>

#include "net/dns_srv.h"
#include "net/dns_srv_int.h"
#include "util/xmalloc.h"

#define DNS_HDRLEN	12
#define DNS_MAX_HOPS	32	/* compression pointers followed per name */
#define DNS_MAX_CNAMES	8	/* CNAMEs followed in an answer */
#define DNS_MAX_RRS	64	/* SRV records kept from one answer */
#define DNS_EDNS_SIZE	1232	/* UDP payload size we announce */

#define T_CNAME		5
#define T_SRV		33
#define T_OPT		41
#define C_IN		1

/* --- names ----------------------------------------------------------- */

/* Whether byte c may appear in a label as we print and compare names. */
static int
label_char_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

/*
 * name without one trailing dot into out (DNS_MAXNAME + 1 bytes): 0, or -1
 * when it is empty, too long, or has an empty, long or odd label.
 */
int
dns_srv_name_normalize(const char *name, char *out)
{
	size_t len = strlen(name), i, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_MAXNAME)
		return -1;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!label_char_ok((unsigned char)name[i]) || ++label > 63)
			return -1;
	}
	if (label == 0)
		return -1;
	memcpy(out, name, len);
	out[len] = '\0';
	return 0;
}

/*
 * Read the (possibly compressed) name at *off of msg into out (at least
 * DNS_MAXNAME + 1 bytes; "" for the root) and move *off past it as it is
 * written there (up to and including its first pointer).  0, or -1 when it
 * runs past len, uses a reserved label type, a pointer that does not point
 * strictly before every place already read, more than DNS_MAX_HOPS
 * pointers, more than 255 bytes, or a byte we do not print.
 */
static int
read_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
	size_t p = *off, lowest = *off, end = 0, wire = 1, o = 0, ptr, i;
	int hops = 0;
	unsigned c;

	for (;;) {
		if (p >= len)
			return -1;
		c = msg[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return -1;
			ptr = ((size_t)(c & 0x3f) << 8) | msg[p + 1];
			if (hops == 0)
				end = p + 2;
			if (ptr >= lowest || ++hops > DNS_MAX_HOPS)
				return -1;
			lowest = p = ptr;
			continue;
		}
		if ((c & 0xc0) != 0)
			return -1;
		if (c == 0) {
			p++;
			break;
		}
		if (p + 1 + c > len)
			return -1;
		wire += 1 + c;
		if (wire > 255)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < c; i++) {
			if (!label_char_ok(msg[p + 1 + i]))
				return -1;
			out[o++] = (char)msg[p + 1 + i];
		}
		p += 1 + c;
	}
	out[o] = '\0';
	*off = hops > 0 ? end : p;
	return 0;
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int
dns_srv_query_build(uint16_t id, const char *name, uint8_t *buf,
    size_t bufsz)
{
	char n[DNS_MAXNAME + 1];
	const char *lab, *dot;
	size_t o, ll;

	if (dns_srv_name_normalize(name, n) == -1)
		return -1;
	/* header, name (len + 2 bytes), qtype, qclass, OPT record */
	if (bufsz < DNS_HDRLEN + strlen(n) + 2 + 4 + 11)
		return -1;
	memset(buf, 0, DNS_HDRLEN);
	put16(buf, id);
	buf[2] = 0x01;			/* RD: recursion desired */
	put16(buf + 4, 1);		/* QDCOUNT */
	put16(buf + 10, 1);		/* ARCOUNT: the OPT record */
	o = DNS_HDRLEN;
	for (lab = n; ; lab = dot + 1) {
		dot = strchr(lab, '.');
		ll = dot != NULL ? (size_t)(dot - lab) : strlen(lab);
		buf[o++] = (uint8_t)ll;
		memcpy(buf + o, lab, ll);
		o += ll;
		if (dot == NULL)
			break;
	}
	buf[o++] = 0;
	put16(buf + o, T_SRV);
	put16(buf + o + 2, C_IN);
	o += 4;
	/* OPT: root name, type, UDP size as class, TTL 0 (no DO), no data */
	buf[o++] = 0;
	put16(buf + o, T_OPT);
	put16(buf + o + 2, DNS_EDNS_SIZE);
	memset(buf + o + 4, 0, 6);
	o += 10;
	return (int)o;
}

/* Whether name is one of the n names in set (case-insensitive). */
static int
name_in(const char *name, char set[][DNS_MAXNAME + 1], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(name, set[i]) == 0)
			return 1;
	return 0;
}

/* What dns_srv_parse() gathers from the answer section. */
struct answer {
	char			 owners[1 + DNS_MAX_CNAMES][DNS_MAXNAME + 1];
	size_t			 nowners;	/* the name, then its CNAMEs */
	unsigned		 ancount;
	struct dns_srv_rr	*rrs;
	size_t			 n;		/* targets offered */
	size_t			 ndots;		/* "." targets: none offered */
};

/*
 * Whether msg is the answer to our query for owner (id, QR, opcode, the
 * question) and how it went (RCODE): DNS_SRV_OK with *offp just after the
 * question, or the error.  An answer to another query is ignored.
 */
static int
check_header(const uint8_t *msg, size_t len, uint16_t id, const char *owner,
    size_t *offp)
{
	char qn[DNS_MAXNAME + 1];
	size_t off = DNS_HDRLEN;
	unsigned rcode;

	if (len < DNS_HDRLEN || get16(msg) != id)
		return DNS_SRV_EMISMATCH;
	if ((msg[2] & 0x80) == 0 || (msg[2] & 0x78) != 0)	/* QR, opcode */
		return DNS_SRV_EMISMATCH;
	if (get16(msg + 4) != 1)
		return DNS_SRV_EMISMATCH;
	if (read_name(msg, len, &off, qn) == -1 || off + 4 > len ||
	    strcasecmp(qn, owner) != 0 || get16(msg + off) != T_SRV ||
	    get16(msg + off + 2) != C_IN)
		return DNS_SRV_EMISMATCH;
	*offp = off + 4;
	rcode = msg[3] & 0x0f;
	if (rcode == 3)
		return DNS_SRV_ENXDOMAIN;
	if (rcode != 0)
		return DNS_SRV_ESERVFAIL;
	return DNS_SRV_OK;
}

/* A CNAME record's data (off to rdend): one more owner, within bounds. */
static int
read_cname(const uint8_t *msg, size_t off, size_t rdend, struct answer *a)
{
	char qn[DNS_MAXNAME + 1];

	if (read_name(msg, rdend, &off, qn) == -1 || off != rdend)
		return DNS_SRV_EMALFORMED;
	/* a longer chain is not followed further */
	if (a->nowners < 1 + DNS_MAX_CNAMES)
		memcpy(a->owners[a->nowners++], qn, sizeof qn);
	return DNS_SRV_OK;
}

/* An SRV record's data (off to rdend): one more record, within bounds. */
static int
read_srv(const uint8_t *msg, size_t off, size_t rdend, struct answer *a)
{
	struct dns_srv_rr *rr;

	if (rdend - off < 7)
		return DNS_SRV_EMALFORMED;
	if (a->n == DNS_MAX_RRS)
		return DNS_SRV_OK;
	if (a->rrs == NULL)
		a->rrs = xcalloc(a->ancount < DNS_MAX_RRS ? a->ancount :
		    DNS_MAX_RRS, sizeof *a->rrs);
	rr = &a->rrs[a->n];
	rr->priority = get16(msg + off);
	rr->weight = get16(msg + off + 2);
	rr->port = get16(msg + off + 4);
	off += 6;
	/* target names may be compressed (RFC 2782 forbids it, servers do
	 * it): read within the whole message, but the record must end where
	 * the name does */
	if (read_name(msg, rdend, &off, rr->target) == -1 || off != rdend)
		return DNS_SRV_EMALFORMED;
	if (rr->target[0] == '\0')
		a->ndots++;	/* "." : not offered */
	else
		a->n++;
	return DNS_SRV_OK;
}

/*
 * The answer section, from off.  Records of other types and classes are
 * skipped; CNAMEs of the name (or of a CNAME) extend the owners an SRV
 * record may have.  In a truncated answer (tc), the first incomplete
 * record ends the section.
 */
static int
read_answers(const uint8_t *msg, size_t len, size_t off, int tc,
    struct answer *a)
{
	char got[DNS_MAXNAME + 1];
	unsigned i, type, klass, rdlen;
	size_t rdend;
	int err;

	for (i = 0; i < a->ancount; i++) {
		if (read_name(msg, len, &off, got) == -1 || off + 10 > len)
			return tc ? DNS_SRV_OK : DNS_SRV_EMALFORMED;
		type = get16(msg + off);
		klass = get16(msg + off + 2);
		rdlen = get16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			return tc ? DNS_SRV_OK : DNS_SRV_EMALFORMED;
		rdend = off + rdlen;
		err = DNS_SRV_OK;
		if (klass == C_IN && type == T_CNAME &&
		    name_in(got, a->owners, a->nowners))
			err = read_cname(msg, off, rdend, a);
		else if (klass == C_IN && type == T_SRV &&
		    name_in(got, a->owners, a->nowners))
			err = read_srv(msg, off, rdend, a);
		if (err != DNS_SRV_OK)
			return err;
		off = rdend;
	}
	return DNS_SRV_OK;
}

int
dns_srv_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name,
    struct dns_srv_rr **rrsp, size_t *np)
{
	struct answer a;
	size_t off;
	int tc, err;

	*rrsp = NULL;
	*np = 0;
	memset(&a, 0, sizeof a);
	a.nowners = 1;
	if (dns_srv_name_normalize(name, a.owners[0]) == -1)
		return DNS_SRV_EBADNAME;
	if ((err = check_header(msg, len, id, a.owners[0], &off)) != DNS_SRV_OK)
		return err;
	tc = (msg[2] & 0x02) != 0;
	a.ancount = get16(msg + 6);
	err = read_answers(msg, len, off, tc, &a);
	if (err == DNS_SRV_OK && a.n == 0)
		err = a.ndots > 0 ? DNS_SRV_EUNAVAIL :
		    tc ? DNS_SRV_ETRUNC : DNS_SRV_ENODATA;
	if (err != DNS_SRV_OK) {
		free(a.rrs);
		return err;
	}
	*rrsp = a.rrs;
	*np = a.n;
	return DNS_SRV_OK;
}

/* --- RFC 2782 order -------------------------------------------------- */

static int
prio_cmp(const void *a, const void *b)
{
	const struct dns_srv_rr *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	/* weight 0 first, as RFC 2782 places them for the running sums */
	if ((x->weight == 0) != (y->weight == 0))
		return x->weight == 0 ? -1 : 1;
	return 0;
}

static uint32_t
secure_rnd(void *arg)
{
	uint32_t r;

	(void)arg;
	evutil_secure_rng_get_bytes(&r, sizeof r);
	return r;
}

void
dns_srv_sort(struct dns_srv_rr *rrs, size_t n, uint32_t (*rnd)(void *),
    void *arg)
{
	struct dns_srv_rr pick;
	size_t lo, hi, k, m;
	unsigned long sum, run, r;

	if (rnd == NULL)
		rnd = secure_rnd;
	if (n > 1)
		qsort(rrs, n, sizeof *rrs, prio_cmp);
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && rrs[hi].priority == rrs[lo].priority;
		    hi++)
			;
		/* choose position k among [k, hi) by weight, keeping the
		 * order of those not chosen yet */
		for (k = lo; k + 1 < hi; k++) {
			sum = 0;
			for (m = k; m < hi; m++)
				sum += rrs[m].weight;
			r = sum > 0 ? rnd(arg) % (sum + 1) : 0;
			run = 0;
			for (m = k; m < hi; m++) {
				run += rrs[m].weight;
				if (run >= r)
					break;
			}
			if (m == hi)
				m = hi - 1;	/* cannot happen: run == sum >= r */
			if (m != k) {
				pick = rrs[m];
				memmove(&rrs[k + 1], &rrs[k],
				    (m - k) * sizeof *rrs);
				rrs[k] = pick;
			}
		}
	}
}
