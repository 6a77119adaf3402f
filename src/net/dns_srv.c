/*
 * dns_srv.c: SRV lookups over UDP on the libevent loop, and the
 * nameservers they ask; the DNS wire format they need (RFC 1035 s.4, RFC
 * 2782, RFC 6891 for the OPT record) is in dns_srv_msg.c.
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
 * Everything in an answer is peer input (dns_srv_msg.c checks it).
 * Must not: block, trust an answer it did not ask for, or resolve targets.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "net/dns_srv.h"
#include "net/dns_srv_int.h"
#include "util/xmalloc.h"

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
	if (dns_srv_name_normalize(name, n) == -1) {
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
