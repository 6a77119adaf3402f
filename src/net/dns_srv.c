/*
 * dns_srv.c: SRV lookups over UDP on the libevent loop, and the DNS wire
 * format they need (RFC 1035 s.4, RFC 2782, RFC 6891 for the OPT record).
 *
 * Each try opens its own UDP socket, connect()ed to the nameserver it asks,
 * so the kernel picks a fresh random source port and drops datagrams from
 * anyone else; the answer's source is checked again, then its id and
 * question.  A try that times out stays open while the next server is
 * asked, so a slow answer still counts.
 *
 * No TCP fallback: a truncated answer (TC) is used for the complete
 * records it holds; with none, the lookup fails with DNS_SRV_ETRUNC.  The
 * query carries an EDNS0 OPT record (1232 bytes) so that large SRV sets
 * usually fit in one datagram.
 *
 * Everything in an answer is peer input: every length is checked against
 * the datagram, compression pointers must point strictly backwards (so
 * they cannot loop) and are followed at most DNS_MAX_HOPS times.
 * Must not: block, trust an answer it did not ask for, or resolve targets.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "net/dns_srv.h"
#include "util/xmalloc.h"

#define DNS_HDRLEN	12
#define DNS_MAXNAME	253	/* text form, without the trailing dot */
#define DNS_MAX_HOPS	32	/* compression pointers followed per name */
#define DNS_MAX_CNAMES	8	/* CNAMEs followed in an answer */
#define DNS_MAX_RRS	64	/* SRV records kept from one answer */
#define DNS_EDNS_SIZE	1232	/* UDP payload size we announce */

#define T_CNAME		5
#define T_SRV		33
#define T_OPT		41
#define C_IN		1

#define DNS_SRV_MAXTRIES	6
#define DNS_SRV_TIMEOUT_MS	2000

struct dns_try {
	struct dns_srv_req	*req;
	int			 fd;		/* -1: closed */
	struct event		*ev;
	uint16_t		 id;
	struct sockaddr_storage	 sa;		/* the server asked */
	socklen_t		 salen;
};

struct dns_srv_req {
	struct dns_srv		*d;		/* NULL once unlinked */
	struct dns_srv_req	*prev, *next;
	char			*name;
	dns_srv_cb		 cb;
	void			*arg;
	struct dns_try		 tries[DNS_SRV_MAXTRIES];
	int			 ntries;	/* started */
	int			 maxtries;
	int			 timeout_ms;
	int			 err;		/* worst answer so far */
	struct event		*timer;		/* per try; also "finish now" */
	int			 final;		/* timer fires: finish with err */
};

struct dns_srv {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct dns_srv_req	*reqs;
	int			 timeout_ms;
	int			 maxtries;	/* 0: 2 per server, at most 6 */
};

static const char *const errstr[] = {
	[DNS_SRV_OK] = "success",
	[DNS_SRV_ETIMEOUT] = "timeout: no nameserver answered",
	[DNS_SRV_ENXDOMAIN] = "no such domain (NXDOMAIN)",
	[DNS_SRV_ENODATA] = "no SRV records",
	[DNS_SRV_EMALFORMED] = "malformed DNS answer",
	[DNS_SRV_EUNAVAIL] = "service explicitly not available (SRV target \".\")",
	[DNS_SRV_ESERVFAIL] = "nameserver failure (SERVFAIL, REFUSED or other)",
	[DNS_SRV_ETRUNC] = "DNS answer truncated (no TCP fallback)",
	[DNS_SRV_ENOSERVER] = "no nameserver configured",
	[DNS_SRV_EBADNAME] = "not a valid DNS name",
	[DNS_SRV_ESOCKET] = "cannot send the DNS query",
	[DNS_SRV_EMISMATCH] = "DNS answer does not match the query",
};

const char *
dns_srv_strerror(int err)
{
	if (err < 0 || (size_t)err >= sizeof errstr / sizeof errstr[0] ||
	    errstr[err] == NULL)
		return "unknown DNS error";
	return errstr[err];
}

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
static int
name_normalize(const char *name, char *out)
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

	if (name_normalize(name, n) == -1)
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

int
dns_srv_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name,
    struct dns_srv_rr **rrsp, size_t *np)
{
	char owners[1 + DNS_MAX_CNAMES][DNS_MAXNAME + 1];
	char qn[DNS_MAXNAME + 1], got[DNS_MAXNAME + 1];
	struct dns_srv_rr *rrs = NULL, *rr;
	size_t nowners = 1, n = 0, off, rdend, ndots = 0;
	unsigned ancount, i, type, klass, rdlen, rcode;
	int tc, err;

	*rrsp = NULL;
	*np = 0;
	if (name_normalize(name, owners[0]) == -1)
		return DNS_SRV_EBADNAME;

	/* Is it the answer to our query?  If not, it is ignored. */
	if (len < DNS_HDRLEN || get16(msg) != id)
		return DNS_SRV_EMISMATCH;
	if ((msg[2] & 0x80) == 0 || (msg[2] & 0x78) != 0)	/* QR, opcode */
		return DNS_SRV_EMISMATCH;
	if (get16(msg + 4) != 1)
		return DNS_SRV_EMISMATCH;
	off = DNS_HDRLEN;
	if (read_name(msg, len, &off, qn) == -1 || off + 4 > len ||
	    strcasecmp(qn, owners[0]) != 0 || get16(msg + off) != T_SRV ||
	    get16(msg + off + 2) != C_IN)
		return DNS_SRV_EMISMATCH;
	off += 4;

	tc = (msg[2] & 0x02) != 0;
	rcode = msg[3] & 0x0f;
	if (rcode == 3)
		return DNS_SRV_ENXDOMAIN;
	if (rcode != 0)
		return DNS_SRV_ESERVFAIL;

	/*
	 * The answer section.  Records of other types and classes are
	 * skipped; CNAMEs of the name (or of a CNAME) extend the owners an
	 * SRV record may have.  In a truncated answer, the first incomplete
	 * record ends the section.
	 */
	ancount = get16(msg + 6);
	err = DNS_SRV_OK;
	for (i = 0; i < ancount; i++) {
		if (read_name(msg, len, &off, got) == -1 || off + 10 > len) {
			err = tc ? DNS_SRV_OK : DNS_SRV_EMALFORMED;
			break;
		}
		type = get16(msg + off);
		klass = get16(msg + off + 2);
		rdlen = get16(msg + off + 8);
		off += 10;
		if (off + rdlen > len) {
			err = tc ? DNS_SRV_OK : DNS_SRV_EMALFORMED;
			break;
		}
		rdend = off + rdlen;
		if (klass == C_IN && type == T_CNAME &&
		    name_in(got, owners, nowners)) {
			if (read_name(msg, rdend, &off, qn) == -1 ||
			    off != rdend) {
				err = DNS_SRV_EMALFORMED;
				break;
			}
			/* a longer chain is not followed further */
			if (nowners < 1 + DNS_MAX_CNAMES)
				memcpy(owners[nowners++], qn, sizeof qn);
		} else if (klass == C_IN && type == T_SRV &&
		    name_in(got, owners, nowners)) {
			if (rdlen < 7) {
				err = DNS_SRV_EMALFORMED;
				break;
			}
			if (n == DNS_MAX_RRS) {
				off = rdend;
				continue;
			}
			if (rrs == NULL)
				rrs = xcalloc(ancount < DNS_MAX_RRS ? ancount :
				    DNS_MAX_RRS, sizeof *rrs);
			rr = &rrs[n];
			rr->priority = get16(msg + off);
			rr->weight = get16(msg + off + 2);
			rr->port = get16(msg + off + 4);
			off += 6;
			/* target names may be compressed (RFC 2782 forbids it,
			 * servers do it): read within the whole message, but
			 * the record must end where the name does */
			if (read_name(msg, rdend, &off, rr->target) == -1 ||
			    off != rdend) {
				err = DNS_SRV_EMALFORMED;
				break;
			}
			if (rr->target[0] == '\0')
				ndots++;	/* "." : not offered */
			else
				n++;
		}
		off = rdend;
	}
	if (err == DNS_SRV_OK && n == 0)
		err = ndots > 0 ? DNS_SRV_EUNAVAIL :
		    tc ? DNS_SRV_ETRUNC : DNS_SRV_ENODATA;
	if (err != DNS_SRV_OK) {
		free(rrs);
		return err;
	}
	*rrsp = rrs;
	*np = n;
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

/* --- lookups on the loop --------------------------------------------- */

struct dns_srv *
dns_srv_new(struct event_base *base, struct evdns_base *dns)
{
	struct dns_srv *d = xcalloc(1, sizeof *d);

	d->base = base;
	d->dns = dns;
	d->timeout_ms = DNS_SRV_TIMEOUT_MS;
	return d;
}

void
dns_srv_set_timing(struct dns_srv *d, int timeout_ms, int max_tries)
{
	if (timeout_ms > 0)
		d->timeout_ms = timeout_ms;
	if (max_tries > 0)
		d->maxtries = max_tries < DNS_SRV_MAXTRIES ? max_tries :
		    DNS_SRV_MAXTRIES;
}

/* Close one try's socket (if open). */
static void
try_close(struct dns_try *t)
{
	if (t->ev != NULL) {
		event_free(t->ev);
		t->ev = NULL;
	}
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
	}
}

/* Unlink req from its resolver. */
static void
req_unlink(struct dns_srv_req *req)
{
	struct dns_srv *d = req->d;

	if (d == NULL)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		d->reqs = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	req->d = NULL;
}

/* Free req and everything it holds; no callback. */
static void
req_free(struct dns_srv_req *req)
{
	int i;

	req_unlink(req);
	for (i = 0; i < req->ntries; i++)
		try_close(&req->tries[i]);
	if (req->timer != NULL)
		event_free(req->timer);
	free(req->name);
	free(req);
}

/* End the lookup: unlink, close, call back once, free. */
static void
req_finish(struct dns_srv_req *req, int err, struct dns_srv_rr *rrs,
    size_t n)
{
	dns_srv_cb cb = req->cb;
	void *arg = req->arg;

	/* everything is released first, so the callback may free the
	 * resolver or start new lookups */
	req_free(req);
	if (err == DNS_SRV_OK)
		dns_srv_sort(rrs, n, NULL, NULL);
	cb(err, err == DNS_SRV_OK ? rrs : NULL, err == DNS_SRV_OK ? n : 0,
	    arg);
	free(rrs);
}

/* Arm the timer: a try's timeout, or 0 to finish on the next turn. */
static void
req_arm(struct dns_srv_req *req, int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(req->timer, &tv);
}

/* Finish with req->err on the next loop turn. */
static void
req_fail_later(struct dns_srv_req *req, int err)
{
	req->err = err;
	req->final = 1;
	req_arm(req, 0);
}

static int	try_start(struct dns_srv_req *req);

/* Whether any try still waits for an answer. */
static int
req_has_open(const struct dns_srv_req *req)
{
	int i;

	for (i = 0; i < req->ntries; i++)
		if (req->tries[i].fd != -1)
			return 1;
	return 0;
}

/*
 * One try is over without a usable answer: ask the next server now, or, with
 * no try left, finish when no other try is open (else at the timer).
 */
static void
req_next(struct dns_srv_req *req)
{
	if (req->ntries < req->maxtries) {
		if (try_start(req) == 0)
			return;
	}
	if (!req_has_open(req))
		req_fail_later(req, req->err);
}

/* Whether a and b are the same address and port. */
static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr *b,
    socklen_t blen)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->sa_family)
		return 0;
	if (a->ss_family == AF_INET)
		return blen >= (socklen_t)sizeof *b4 &&
		    a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return blen >= (socklen_t)sizeof *b6 &&
		    a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return 0;
}

/* A datagram (or an error) on a try's socket. */
static void
try_read(evutil_socket_t fd, short what, void *arg)
{
	struct dns_try *t = arg;
	struct dns_srv_req *req = t->req;
	struct sockaddr_storage from;
	struct dns_srv_rr *rrs;
	uint8_t buf[DNS_SRV_MAXMSG];
	socklen_t fromlen;
	ssize_t got;
	size_t n;
	int i, err;

	(void)what;
	/* a few datagrams per wakeup: spoofed junk cannot starve the loop */
	for (i = 0; i < 8; i++) {
		fromlen = sizeof from;
		got = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
		    &fromlen);
		if (got == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* ICMP unreachable and the like: this server is out */
			try_close(t);
			req_next(req);
			return;
		}
		if (!same_addr(&t->sa, (struct sockaddr *)&from, fromlen))
			continue;
		err = dns_srv_parse(buf, (size_t)got, t->id, req->name, &rrs,
		    &n);
		switch (err) {
		case DNS_SRV_EMISMATCH:
			continue;
		case DNS_SRV_OK:
		case DNS_SRV_ENXDOMAIN:
		case DNS_SRV_ENODATA:
		case DNS_SRV_EUNAVAIL:
			req_finish(req, err, rrs, n);
			return;
		default:	/* SERVFAIL, malformed, truncated: next server */
			req->err = err;
			try_close(t);
			req_next(req);
			return;
		}
	}
}

/* The per-try timer: ask the next server, or give up. */
static void
req_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_srv_req *req = arg;

	(void)fd;
	(void)what;
	if (!req->final && req->ntries < req->maxtries &&
	    try_start(req) == 0)
		return;
	req_finish(req, req->err, NULL, 0);
}

/*
 * Start the next try: the next server in turn, a new socket and id.  0,
 * or -1 (req->err set) when no try could be started before maxtries.
 */
static int
try_start(struct dns_srv_req *req)
{
	struct dns_srv *d = req->d;
	struct dns_try *t;
	uint8_t q[512];
	int nservers, len, salen;

	while (req->ntries < req->maxtries) {
		t = &req->tries[req->ntries];
		memset(t, 0, sizeof *t);
		t->req = req;
		t->fd = -1;
		nservers = evdns_base_count_nameservers(d->dns);
		if (nservers <= 0) {
			req->err = DNS_SRV_ENOSERVER;
			return -1;
		}
		salen = evdns_base_get_nameserver_addr(d->dns,
		    req->ntries % nservers, (struct sockaddr *)&t->sa,
		    sizeof t->sa);
		req->ntries++;
		if (salen <= 0 || (size_t)salen > sizeof t->sa) {
			req->err = DNS_SRV_ENOSERVER;
			continue;
		}
		t->salen = (socklen_t)salen;
		evutil_secure_rng_get_bytes(&t->id, sizeof t->id);
		len = dns_srv_query_build(t->id, req->name, q, sizeof q);
		if (len < 0) {		/* checked at lookup: cannot happen */
			req->err = DNS_SRV_EBADNAME;
			return -1;
		}
		t->fd = socket(t->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (t->fd == -1 ||
		    connect(t->fd, (struct sockaddr *)&t->sa, t->salen) == -1 ||
		    send(t->fd, q, (size_t)len, 0) != len) {
			if (req->err == DNS_SRV_ETIMEOUT)
				req->err = DNS_SRV_ESOCKET;
			try_close(t);
			continue;
		}
		t->ev = event_new(d->base, t->fd, EV_READ | EV_PERSIST,
		    try_read, t);
		event_add(t->ev, NULL);
		req_arm(req, req->timeout_ms);
		return 0;
	}
	return -1;
}

struct dns_srv_req *
dns_srv_lookup(struct dns_srv *d, const char *name, dns_srv_cb cb, void *arg)
{
	struct dns_srv_req *req = xcalloc(1, sizeof *req);
	char n[DNS_MAXNAME + 1];
	int nservers, i;

	req->d = d;
	req->next = d->reqs;
	if (d->reqs != NULL)
		d->reqs->prev = req;
	d->reqs = req;
	req->cb = cb;
	req->arg = arg;
	req->timeout_ms = d->timeout_ms;
	req->err = DNS_SRV_ETIMEOUT;
	for (i = 0; i < DNS_SRV_MAXTRIES; i++)
		req->tries[i].fd = -1;
	req->timer = evtimer_new(d->base, req_timer, req);

	nservers = evdns_base_count_nameservers(d->dns);
	if (d->maxtries > 0)
		req->maxtries = d->maxtries;
	else
		req->maxtries = nservers * 2 < DNS_SRV_MAXTRIES ?
		    nservers * 2 : DNS_SRV_MAXTRIES;
	if (name_normalize(name, n) == -1) {
		req->name = xstrdup("");
		req_fail_later(req, DNS_SRV_EBADNAME);
	} else if (nservers <= 0) {
		req->name = xstrdup(n);
		req_fail_later(req, DNS_SRV_ENOSERVER);
	} else {
		req->name = xstrdup(n);
		if (try_start(req) == -1)
			req_fail_later(req, req->err);
	}
	return req;
}

void
dns_srv_cancel(struct dns_srv_req *req)
{
	if (req != NULL)
		req_free(req);
}

void
dns_srv_free(struct dns_srv *d)
{
	if (d == NULL)
		return;
	while (d->reqs != NULL)
		req_free(d->reqs);
	free(d);
}

/* --- nameserver configuration ---------------------------------------- */

int
dns_server_is_valid(const char *s)
{
	unsigned char addr[16];
	char ip[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t len;
	char *e;
	long p;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return 0;
		len = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return 0;
		if (len == 0 || len >= sizeof ip)
			return 0;
		memcpy(ip, s + 1, len);
		ip[len] = '\0';
		if (inet_pton(AF_INET6, ip, addr) != 1)
			return 0;
	} else if (inet_pton(AF_INET6, s, addr) == 1) {
		return 1;
	} else {
		end = strchr(s, ':');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		if (end != NULL)
			port = end + 1;
		if (len == 0 || len >= sizeof ip)
			return 0;
		memcpy(ip, s, len);
		ip[len] = '\0';
		if (inet_pton(AF_INET, ip, addr) != 1)
			return 0;
	}
	if (port == NULL)
		return 1;
	if (*port < '0' || *port > '9')
		return 0;
	errno = 0;
	p = strtol(port, &e, 10);
	return errno == 0 && *e == '\0' && p >= 1 && p <= 65535;
}

int
dns_configure(struct evdns_base *dns, const struct conf_strlist *servers,
    char **cause)
{
	size_t i;

	if (servers == NULL || servers->n == 0) {
		/* back to resolv.conf's nameservers (a reload may drop the
		 * setting); its other options were applied at creation */
		evdns_base_clear_nameservers_and_suspend(dns);
		(void)evdns_base_resolv_conf_parse(dns, DNS_OPTION_NAMESERVERS,
		    "/etc/resolv.conf");
		evdns_base_resume(dns);
		return 0;
	}
	for (i = 0; i < servers->n; i++) {
		if (!dns_server_is_valid(servers->v[i])) {
			*cause = xasprintf("dns server \"%s\" is not IP, IP:port "
			    "or [IPv6]:port", servers->v[i]);
			return -1;
		}
	}
	evdns_base_clear_nameservers_and_suspend(dns);
	for (i = 0; i < servers->n; i++) {
		if (evdns_base_nameserver_ip_add(dns, servers->v[i]) != 0) {
			*cause = xasprintf("dns server \"%s\" cannot be used",
			    servers->v[i]);
			evdns_base_resume(dns);
			return -1;
		}
	}
	evdns_base_resume(dns);
	return 0;
}
