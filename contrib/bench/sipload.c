/*
 * sipload.c: a SIP load generator for the benchmarks (issue 14), over TLS
 * (mutual when given a certificate) or TCP, on libevent and OpenSSL.
 *
 *   uac: offers OPTIONS requests, or INVITE/ACK/BYE calls, at a fixed
 *        rate (a libevent timer releases what is due, never a busy loop)
 *        on one persistent connection or a new connection per call, with
 *        at most N in flight; it reports what it sent, what completed,
 *        what failed and why, latency percentiles per transaction and per
 *        call, and a last line of key=value pairs for scripts.
 *   uas: answers whatever arrives, without state: OPTIONS, BYE and any
 *        other request 200, INVITE 180 then 200 (the To tag derived from
 *        the Call-ID and From, the Via, Record-Route, Call-ID and CSeq
 *        lines copied, its own Contact), ACK nothing.
 *
 * The UAC's ACK and BYE go to the remote target (the 200's Contact) along
 * the route set (the 200's Record-Route reversed), sent on the connection
 * to the proxy, so a record-routing proxy sees ordinary in-dialog
 * requests.  Memory is bounded (the slots of the calls in flight, at most
 * 64 KiB of unframed input and 4 MiB of unsent output per connection,
 * fixed histograms) and so is time (a transaction timeout, a duration, a
 * last wait for what is in flight).  Not part of sipedged: a measuring
 * tool, see contrib/bench/README.md.  Exit status: 0 when nothing failed,
 * 1 when something did, 2 on a usage or setup error.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_MSG		65535		/* largest message accepted */
#define MAX_OUT		(4u << 20)	/* unsent output before a connection is dropped */
#define MAX_LINES	32		/* Via or Record-Route lines kept per message */
#define MAX_UAS_CONNS	4096		/* connections a UAS holds at once */
#define HIST_SUB	64		/* histogram sub-buckets per power of two */
#define HIST_N		(40 * HIST_SUB)

enum role { ROLE_UAC, ROLE_UAS };
enum scen { SC_OPTIONS, SC_CALL };
enum state { ST_FREE, ST_CONNECTING, ST_OPTIONS, ST_INVITE, ST_BYE };
enum why { WHY_TIMEOUT, WHY_NON2XX, WHY_CONN, WHY_OTHER, WHY_N };

static const char *const why_name[WHY_N] = { "timeout", "non2xx", "conn", "other" };

/* A latency histogram in microseconds, about 1.5% precision. */
struct hist {
	uint64_t n;
	uint64_t max;
	uint64_t sum;
	uint64_t b[HIST_N];
};

struct slot;

/* One connection: to the proxy (uac) or from it (uas). */
struct conn {
	struct bufferevent *bev;
	struct slot *owner;		/* new-connection mode: its call */
	struct conn *prev, *next;	/* uas: the list of open connections */
	int up;
	char via[80];			/* our address for Via and Contact */
	char buf[MAX_MSG + 1];		/* the message being handled */
};

/* One call (or OPTIONS request) in flight. */
struct slot {
	enum state st;
	unsigned gen;
	int cseq;
	uint64_t t_call, t_txn, deadline;
	struct conn *conn;		/* new-connection mode */
	char totag[128];
	char target[256];
	char route[1024];
};

/* What the command line asked for. */
struct opts {
	enum role role;
	enum scen scen;
	int tls;
	int newconn;
	int resume;
	int quiet;
	double rate;
	long count;
	double duration;
	int maxout;
	double timeout;
	const char *target, *listen, *bind, *uri;
	const char *cert, *key, *ca;
};

/* A parsed message: pointers into the connection's buffer. */
struct msg {
	const char *start;
	size_t start_len;
	int status;			/* 0 for a request */
	const char *via[MAX_LINES], *rr[MAX_LINES];
	size_t via_len[MAX_LINES], rr_len[MAX_LINES];
	int nvia, nrr;
	const char *from, *to, *callid, *cseq, *contact, *fromline, *callidline, *cseqline;
	size_t from_len, to_len, callid_len, cseq_len, contact_len, fromline_len,
	    callidline_len, cseqline_len;
};

static struct {
	struct opts o;
	struct event_base *base;
	SSL_CTX *ctx;
	SSL_SESSION *session;
	struct sockaddr_storage dst;
	int dstlen;
	struct sockaddr_storage src;
	int srclen;
	char uri[256];
	unsigned run;
	struct slot *slots;
	int *freelist, nfree;
	struct conn *shared;		/* persistent mode */
	struct conn *uas_conns;
	int nuas_conns;
	uint64_t t0, t_end_start, stop_at;
	long due_total, started, sent, completed, throttled, failed[WHY_N];
	long txns, resumed, handshakes;
	long requests, invites, acks, byes, options, others, accepted, refused_conns;
	struct hist h_txn, h_call, h_hs;
	int stopping;
	int exit_code;
	struct event *tick, *sweep, *sigint, *sigterm;
} g;

/* Microseconds on the monotonic clock. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The bucket of value v: exact below 128, then 64 linear sub-buckets per
 * power of two (bucket e * 64 + (v >> e) for the e that puts v >> e in
 * [64, 128)). */
static int
hist_bucket(uint64_t v)
{
	int e = 0;

	while ((v >> e) >= 2 * HIST_SUB)
		e++;
	if (e == 0)
		return (int)v;
	return e * HIST_SUB + (int)(v >> e) < HIST_N ? e * HIST_SUB + (int)(v >> e) : HIST_N - 1;
}

/* The lowest value of bucket i (the inverse of hist_bucket). */
static uint64_t
hist_value(int i)
{
	if (i < 2 * HIST_SUB)
		return (uint64_t)i;
	return ((uint64_t)(i % HIST_SUB) + HIST_SUB) << (i / HIST_SUB - 1);
}

/* Record one latency of v microseconds. */
static void
hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_bucket(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* The p-th percentile (0..100) of h in microseconds, 0 when empty. */
static uint64_t
hist_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	int i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen >= want)
			return hist_value(i) < h->max ? hist_value(i) : h->max;
	}
	return h->max;
}

/* Print "NAME_p50_us=... NAME_max_us=..." for h on f. */
static void
hist_kv(FILE *f, const char *name, const struct hist *h)
{
	fprintf(f, " %s_n=%" PRIu64 " %s_p50_us=%" PRIu64 " %s_p90_us=%" PRIu64
	    " %s_p99_us=%" PRIu64 " %s_max_us=%" PRIu64, name, h->n, name,
	    hist_pct(h, 50), name, hist_pct(h, 90), name, hist_pct(h, 99),
	    name, h->max);
}

/* Print one human-readable latency line for h on f. */
static void
hist_line(FILE *f, const char *name, const struct hist *h)
{
	if (h->n == 0)
		return;
	fprintf(f, "%-12s n=%-8" PRIu64 " p50 %8.3f ms  p90 %8.3f ms  p99 %8.3f ms  max %8.3f ms\n",
	    name, h->n, hist_pct(h, 50) / 1000.0, hist_pct(h, 90) / 1000.0,
	    hist_pct(h, 99) / 1000.0, h->max / 1000.0);
}

/* Parse "IP:PORT" or "[IPv6]:PORT" into ss; 0 or -1. */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, int *len)
{
	int l = (int)sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (evutil_parse_sockaddr_port(s, (struct sockaddr *)ss, &l) != 0)
		return -1;
	if (((struct sockaddr_in *)ss)->sin_port == 0)
		return -1;
	*len = l;
	return 0;
}

/* Print the address of socket fd (its local side when local) as
 * "IP:PORT" into out. */
static void
sock_name(int fd, int local, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int port;

	snprintf(out, outlen, "127.0.0.1:5060");
	if ((local ? getsockname(fd, (struct sockaddr *)&ss, &l) :
	    getpeername(fd, (struct sockaddr *)&ss, &l)) != 0)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, outlen, "[%s]:%d", host, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, outlen, "%s:%d", host, port);
	}
}

/* No Nagle on fd: a 180 and its 200, an ACK and its BYE leave at once. */
static void
no_delay(int fd)
{
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Print OpenSSL's error queue on stderr after msg. */
static void
ssl_fail(const char *msg)
{
	unsigned long e;
	char buf[256];

	fprintf(stderr, "sipload: %s\n", msg);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "  %s\n", buf);
	}
}

/* The TLS context of our role: certificate and key when given, peers
 * verified against the CA when given (a UAS then demands a client
 * certificate); 0 or -1. */
static int
tls_setup(void)
{
	const struct opts *o = &g.o;

	g.ctx = SSL_CTX_new(o->role == ROLE_UAS ? TLS_server_method() : TLS_client_method());
	if (g.ctx == NULL) {
		ssl_fail("SSL_CTX_new failed");
		return -1;
	}
	SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
	if (o->cert != NULL &&
	    (SSL_CTX_use_certificate_chain_file(g.ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g.ctx, o->key ? o->key : o->cert, SSL_FILETYPE_PEM) != 1)) {
		ssl_fail("cannot load the certificate or key");
		return -1;
	}
	if (o->role == ROLE_UAS && o->cert == NULL) {
		fprintf(stderr, "sipload: a TLS uas needs --cert and --key\n");
		return -1;
	}
	if (o->ca != NULL) {
		if (SSL_CTX_load_verify_locations(g.ctx, o->ca, NULL) != 1) {
			ssl_fail("cannot load the CA file");
			return -1;
		}
		SSL_CTX_set_verify(g.ctx, SSL_VERIFY_PEER | (o->role == ROLE_UAS ?
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	}
	if (o->role == ROLE_UAC) {
		SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF);
		if (!o->resume)
			SSL_CTX_set_options(g.ctx, SSL_OP_NO_TICKET);
	} else {
		SSL_CTX_set_session_id_context(g.ctx, (const unsigned char *)"sipload", 7);
	}
	return 0;
}

/* ------------------------------------------------------------ parsing */

/* Whether header line [p, p+n) has name long or short (case-insensitive);
 * on a match *val and *vlen are its value, trimmed. */
static int
hdr_is(const char *p, size_t n, const char *lng, const char *shrt,
    const char **val, size_t *vlen)
{
	const char *colon = memchr(p, ':', n);
	size_t nl;
	const char *v, *e;

	if (colon == NULL)
		return 0;
	nl = (size_t)(colon - p);
	while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
		nl--;
	if (!((nl == strlen(lng) && strncasecmp(p, lng, nl) == 0) ||
	    (shrt != NULL && nl == strlen(shrt) && strncasecmp(p, shrt, nl) == 0)))
		return 0;
	v = colon + 1;
	e = p + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*val = v;
	*vlen = (size_t)(e - v);
	return 1;
}

/* Split the header block buf (NUL-terminated, ending with CRLF CRLF) into
 * m; 0 or -1 for what is not a SIP message we can answer. */
static int
msg_parse(const char *buf, struct msg *m)
{
	const char *p = buf, *eol, *v;
	size_t n, vl;

	memset(m, 0, sizeof(*m));
	eol = strstr(p, "\r\n");
	if (eol == NULL)
		return -1;
	m->start = p;
	m->start_len = (size_t)(eol - p);
	if (strncmp(p, "SIP/2.0 ", 8) == 0)
		m->status = atoi(p + 8);
	for (p = eol + 2; (eol = strstr(p, "\r\n")) != NULL && eol != p; p = eol + 2) {
		n = (size_t)(eol - p);
		if (hdr_is(p, n, "Via", "v", &v, &vl)) {
			if (m->nvia < MAX_LINES) {
				m->via[m->nvia] = p;
				m->via_len[m->nvia++] = n;
			}
		} else if (hdr_is(p, n, "Record-Route", NULL, &v, &vl)) {
			if (m->nrr < MAX_LINES) {
				m->rr[m->nrr] = v;
				m->rr_len[m->nrr++] = vl;
			}
		} else if (hdr_is(p, n, "From", "f", &m->from, &m->from_len)) {
			m->fromline = p;
			m->fromline_len = n;
		} else if (hdr_is(p, n, "To", "t", &m->to, &m->to_len)) {
			/* the value is all we need */
		} else if (hdr_is(p, n, "Call-ID", "i", &m->callid, &m->callid_len)) {
			m->callidline = p;
			m->callidline_len = n;
		} else if (hdr_is(p, n, "CSeq", NULL, &m->cseq, &m->cseq_len)) {
			m->cseqline = p;
			m->cseqline_len = n;
		} else if (hdr_is(p, n, "Contact", "m", &v, &vl)) {
			m->contact = v;
			m->contact_len = vl;
		}
	}
	if (m->nvia == 0 || m->from == NULL || m->to == NULL || m->callid == NULL ||
	    m->cseq == NULL)
		return -1;
	return 0;
}

/* The value of parameter name (";name=") in [v, v+n) after any <...>,
 * copied to out; 0 or -1 when absent or too long. */
static int
param_get(const char *v, size_t n, const char *name, char *out, size_t outlen)
{
	const char *e = v + n, *gt = memchr(v, '>', n), *p;
	size_t nl = strlen(name), l;

	for (p = gt ? gt : v; p < e; p++) {
		if (*p != ';')
			continue;
		p++;
		while (p < e && *p == ' ')
			p++;
		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			p += nl + 1;
			for (l = 0; p + l < e && p[l] != ';' && p[l] != ' ' && p[l] != ','; l++)
				;
			if (l == 0 || l >= outlen)
				return -1;
			memcpy(out, p, l);
			out[l] = '\0';
			return 0;
		}
	}
	return -1;
}

/* The URI of a name-addr or addr-spec [v, v+n) into out; 0 or -1. */
static int
uri_of(const char *v, size_t n, char *out, size_t outlen)
{
	const char *lt = memchr(v, '<', n), *gt;
	size_t l;

	if (lt != NULL) {
		gt = memchr(lt, '>', (size_t)(v + n - lt));
		if (gt == NULL)
			return -1;
		v = lt + 1;
		l = (size_t)(gt - v);
	} else {
		for (l = 0; l < n && v[l] != ';' && v[l] != ','; l++)
			;
	}
	if (l == 0 || l >= outlen)
		return -1;
	memcpy(out, v, l);
	out[l] = '\0';
	return 0;
}

/* A stable To tag for the dialog of m (FNV-1a of Call-ID and From). */
static unsigned long
tag_of(const struct msg *m)
{
	unsigned long h = 2166136261u;
	size_t i;

	for (i = 0; i < m->callid_len; i++)
		h = (h ^ (unsigned char)m->callid[i]) * 16777619u;
	for (i = 0; i < m->from_len; i++)
		h = (h ^ (unsigned char)m->from[i]) * 16777619u;
	return h & 0xffffffffu;
}

/* --------------------------------------------------------- connections */

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void slot_fail(struct slot *s, enum why why);

/* Write n bytes to c; -1 when its output is over the bound. */
static int
conn_write(struct conn *c, const char *p, size_t n)
{
	if (c == NULL || !c->up ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > MAX_OUT)
		return -1;
	return bufferevent_write(c->bev, p, n);
}

/* Free c (and its TLS session after a polite close_notify). */
static void
conn_free(struct conn *c)
{
	SSL *ssl;

	if (c == NULL)
		return;
	if (g.o.tls && c->bev != NULL && (ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL) {
		/* The newest session (a TLS 1.3 resumption brings a new ticket). */
		if (g.o.role == ROLE_UAC && g.o.resume && c->up) {
			SSL_SESSION *sess = SSL_get1_session(ssl);

			if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
				SSL_SESSION_free(g.session);
				g.session = sess;
			} else {
				SSL_SESSION_free(sess);
			}
		}
		if (c->up)
			SSL_shutdown(ssl);
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (g.o.role == ROLE_UAS) {
		if (c->prev != NULL)
			c->prev->next = c->next;
		else if (g.uas_conns == c)
			g.uas_conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		g.nuas_conns--;
	}
	free(c);
}

/* A bufferevent on fd (-1: not yet connected) for our transport. */
static struct bufferevent *
bev_new(int fd, int accepting)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (!g.o.tls)
		return bufferevent_socket_new(g.base, fd, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(g.ctx);
	if (ssl == NULL)
		return NULL;
	if (!accepting && g.o.resume && g.session != NULL)
		SSL_set_session(ssl, g.session);
	bev = bufferevent_openssl_socket_new(g.base, fd, ssl, accepting ?
	    BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Open a connection to the target (owned by call s, or shared when s is
 * NULL); NULL on an immediate failure. */
static struct conn *
conn_open(struct slot *s)
{
	struct conn *c = calloc(1, sizeof(*c));
	int fd = -1;

	if (c == NULL)
		return NULL;
	c->owner = s;
	if (g.o.bind != NULL) {
		fd = socket(g.src.ss_family, SOCK_STREAM, 0);
		if (fd < 0 || evutil_make_socket_nonblocking(fd) != 0 ||
		    bind(fd, (struct sockaddr *)&g.src, (socklen_t)g.srclen) != 0) {
			if (fd >= 0)
				close(fd);
			free(c);
			return NULL;
		}
	}
	c->bev = bev_new(fd, 0);
	if (c->bev == NULL) {
		if (fd >= 0)
			close(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&g.dst, g.dstlen) != 0) {
		bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	no_delay(bufferevent_getfd(c->bev));
	return c;
}

/* ---------------------------------------------------------------- UAC */

/* Append "NAME: value" for the route set to out; its length. */
static int
route_hdr(const struct slot *s, char *out, size_t outlen)
{
	if (s->route[0] == '\0')
		return 0;
	return snprintf(out, outlen, "Route: %s\r\n", s->route);
}

/* Send request method of call s (index i) with CSeq cseq; for an ACK to a
 * non-2xx (ack_fail) along the INVITE's own path.  0 or -1. */
static int
uac_send(struct slot *s, int i, const char *method, int cseq, int ack_fail)
{
	char buf[4096], route[1100];
	struct conn *c = g.o.newconn ? s->conn : g.shared;
	const char *tp = g.o.tls ? "TLS" : "TCP";
	int in_dialog = s->totag[0] != '\0' && !ack_fail;
	int n, branch = ack_fail ? 2 : cseq * 2 + (strcmp(method, "ACK") == 0);

	if (c == NULL)
		return -1;
	route[0] = '\0';
	if (in_dialog)
		route_hdr(s, route, sizeof(route));
	n = snprintf(buf, sizeof(buf),
	    "%s %s SIP/2.0\r\n"
	    "Via: SIP/2.0/%s %s;branch=z9hG4bK-sl%x-%d-%u-%d;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "%s"
	    "From: <sip:sipload@sipload.invalid>;tag=sl%x-%d-%u\r\n"
	    "To: <%s>%s%s\r\n"
	    "Call-ID: sl-%d-%u-%x@sipload.invalid\r\n"
	    "CSeq: %d %s\r\n"
	    "%s%s%s%s"
	    "User-Agent: sipload\r\n"
	    "Content-Length: 0\r\n\r\n",
	    method, in_dialog ? s->target : g.uri, tp, c->via, g.run, i, s->gen, branch,
	    route, g.run, i, s->gen, g.uri, s->totag[0] ? ";tag=" : "", s->totag,
	    i, s->gen, g.run, cseq, method,
	    strcmp(method, "INVITE") == 0 ? "Contact: <sip:sipload@" : "",
	    strcmp(method, "INVITE") == 0 ? c->via : "",
	    strcmp(method, "INVITE") == 0 ? (g.o.tls ? ";transport=tls" : ";transport=tcp") : "",
	    strcmp(method, "INVITE") == 0 ? ">\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return conn_write(c, buf, (size_t)n);
}

/* The first request of call s (OPTIONS or INVITE) now that its connection
 * is up. */
static void
uac_begin(struct slot *s)
{
	int i = (int)(s - g.slots);
	uint64_t t = now_us();

	s->st = g.o.scen == SC_OPTIONS ? ST_OPTIONS : ST_INVITE;
	s->cseq = 1;
	s->t_txn = t;
	s->deadline = t + (uint64_t)(g.o.timeout * 1e6);
	if (uac_send(s, i, s->st == ST_OPTIONS ? "OPTIONS" : "INVITE", 1, 0) != 0) {
		slot_fail(s, WHY_CONN);
		return;
	}
	g.sent++;
}

/* Release call s: its connection closed (new-connection mode), its slot
 * back on the free list. */
static void
slot_release(struct slot *s)
{
	struct conn *c = s->conn;

	s->conn = NULL;
	s->st = ST_FREE;
	s->gen++;
	g.freelist[g.nfree++] = (int)(s - g.slots);
	if (c != NULL) {
		c->owner = NULL;
		conn_free(c);
	}
}

/* Call s failed for reason why. */
static void
slot_fail(struct slot *s, enum why why)
{
	if (s->st == ST_FREE)
		return;
	g.failed[why]++;
	slot_release(s);
}

/* Start one call now: a slot, and its connection or the shared one. */
static void
call_start(void)
{
	struct slot *s;

	if (g.nfree == 0) {
		g.throttled++;
		return;
	}
	s = &g.slots[g.freelist[--g.nfree]];
	s->totag[0] = s->target[0] = s->route[0] = '\0';
	s->t_call = now_us();
	s->deadline = s->t_call + (uint64_t)(g.o.timeout * 1e6);
	s->st = ST_CONNECTING;
	if (!g.o.newconn) {
		if (g.shared == NULL || !g.shared->up) {
			slot_fail(s, WHY_CONN);
			return;
		}
		uac_begin(s);
		return;
	}
	s->conn = conn_open(s);
	if (s->conn == NULL)
		slot_fail(s, WHY_CONN);
}

/* The route set of a 2xx to an INVITE: its Record-Route entries reversed
 * into s->route; 0 or -1 when it does not fit. */
static int
route_set(struct slot *s, const struct msg *m)
{
	const char *ent[64];
	size_t len[64];
	int n = 0, i, depth, q;
	size_t off = 0, k, st;

	for (i = 0; i < m->nrr; i++) {
		const char *v = m->rr[i];

		depth = q = 0;
		for (st = 0, k = 0; k <= m->rr_len[i]; k++) {
			char ch = k < m->rr_len[i] ? v[k] : ',';

			if (ch == '"')
				q = !q;
			else if (!q && ch == '<')
				depth++;
			else if (!q && ch == '>')
				depth--;
			else if (!q && depth == 0 && ch == ',') {
				while (st < k && v[st] == ' ')
					st++;
				if (n == 64)
					return -1;
				ent[n] = v + st;
				len[n++] = k - st;
				st = k + 1;
			}
		}
	}
	s->route[0] = '\0';
	for (i = n - 1; i >= 0; i--) {
		int w = snprintf(s->route + off, sizeof(s->route) - off, "%s%.*s",
		    off ? ", " : "", (int)len[i], ent[i]);

		if (w < 0 || (size_t)w >= sizeof(s->route) - off)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* A 2xx to our INVITE: ACK it along the dialog's route, then BYE. */
static void
uac_invite_ok(struct slot *s, int i, const struct msg *m)
{
	uint64_t t = now_us();

	if (param_get(m->to, m->to_len, "tag", s->totag, sizeof(s->totag)) != 0 ||
	    m->contact == NULL ||
	    uri_of(m->contact, m->contact_len, s->target, sizeof(s->target)) != 0 ||
	    route_set(s, m) != 0) {
		slot_fail(s, WHY_OTHER);
		return;
	}
	hist_add(&g.h_txn, t - s->t_txn);
	g.txns++;
	if (uac_send(s, i, "ACK", 1, 0) != 0 || uac_send(s, i, "BYE", 2, 0) != 0) {
		slot_fail(s, WHY_CONN);
		return;
	}
	s->st = ST_BYE;
	s->cseq = 2;
	s->t_txn = t;
	s->deadline = t + (uint64_t)(g.o.timeout * 1e6);
}

/* A final response m for call s (index i). */
static void
uac_final(struct slot *s, int i, const struct msg *m)
{
	uint64_t t = now_us();

	if (s->st == ST_INVITE && m->status < 300) {
		uac_invite_ok(s, i, m);
		return;
	}
	if (s->st == ST_INVITE) {
		/* The ACK of a non-2xx goes hop by hop: the INVITE's branch. */
		if (param_get(m->to, m->to_len, "tag", s->totag, sizeof(s->totag)) == 0)
			uac_send(s, i, "ACK", 1, 1);
		slot_fail(s, WHY_NON2XX);
		return;
	}
	if (m->status >= 300) {
		slot_fail(s, WHY_NON2XX);
		return;
	}
	hist_add(&g.h_txn, t - s->t_txn);
	hist_add(&g.h_call, t - s->t_call);
	g.txns++;
	g.completed++;
	slot_release(s);
}

/* A response m on a UAC connection: find its call by the Call-ID
 * "sl-INDEX-GEN-RUN@..." and move it on.  Returns 1 when the connection
 * was freed. */
static int
uac_response(struct conn *c, const struct msg *m)
{
	unsigned gen, run;
	int i, n = 0;
	struct slot *s;
	char method[16];

	if (m->status == 0)
		return 0;		/* no requests expected: ignore */
	if (sscanf(m->callid, "sl-%d-%u-%x@%n", &i, &gen, &run, &n) != 3 || n == 0 ||
	    run != g.run || i < 0 || i >= g.o.maxout)
		return 0;
	s = &g.slots[i];
	if (s->gen != gen || s->st < ST_OPTIONS || m->status < 200 ||
	    (g.o.newconn && s->conn != c))
		return 0;
	if (sscanf(m->cseq, "%*d %15s", method) != 1 ||
	    strcmp(method, s->st == ST_OPTIONS ? "OPTIONS" : s->st == ST_INVITE ? "INVITE" : "BYE") != 0)
		return 0;
	uac_final(s, i, m);
	return g.o.newconn && s->st == ST_FREE;	/* released with its connection */
}

/* ---------------------------------------------------------------- UAS */

/* Send the response code/reason to request m on c, the To tag added, the
 * Record-Route lines and our Contact included when dialog is set. */
static int
uas_reply(struct conn *c, const struct msg *m, int code, const char *reason,
    int dialog)
{
	char buf[8192];
	size_t off = 0;
	int w, i, has_tag;
	char tmp[128];

#define ADD(...) do { \
		w = snprintf(buf + off, sizeof(buf) - off, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= sizeof(buf) - off) \
			return -1; \
		off += (size_t)w; \
	} while (0)
	ADD("SIP/2.0 %d %s\r\n", code, reason);
	for (i = 0; i < m->nvia; i++)
		ADD("%.*s\r\n", (int)m->via_len[i], m->via[i]);
	ADD("%.*s\r\n", (int)m->fromline_len, m->fromline);
	has_tag = param_get(m->to, m->to_len, "tag", tmp, sizeof(tmp)) == 0;
	if (has_tag)
		ADD("To: %.*s\r\n", (int)m->to_len, m->to);
	else
		ADD("To: %.*s;tag=uas%lx\r\n", (int)m->to_len, m->to, tag_of(m));
	ADD("%.*s\r\n%.*s\r\n", (int)m->callidline_len, m->callidline,
	    (int)m->cseqline_len, m->cseqline);
	if (dialog) {
		for (i = 0; i < m->nrr; i++)
			ADD("Record-Route: %.*s\r\n", (int)m->rr_len[i], m->rr[i]);
		ADD("Contact: <sip:uas@%s;transport=%s>\r\n", c->via, g.o.tls ? "tls" : "tcp");
	}
	ADD("Server: sipload\r\nContent-Length: 0\r\n\r\n");
#undef ADD
	return conn_write(c, buf, off);
}

/* A request m on a UAS connection: answered at once, never kept. */
static void
uas_request(struct conn *c, const struct msg *m)
{
	const char *sp = memchr(m->start, ' ', m->start_len);
	size_t ml = sp ? (size_t)(sp - m->start) : m->start_len;

	if (m->status != 0)
		return;			/* a response: nothing to do */
	g.requests++;
	if (ml == 3 && memcmp(m->start, "ACK", 3) == 0) {
		g.acks++;
		return;
	}
	if (ml == 6 && memcmp(m->start, "INVITE", 6) == 0) {
		g.invites++;
		if (uas_reply(c, m, 180, "Ringing", 1) != 0 || uas_reply(c, m, 200, "OK", 1) != 0)
			g.failed[WHY_OTHER]++;
		return;
	}
	if (ml == 3 && memcmp(m->start, "BYE", 3) == 0)
		g.byes++;
	else if (ml == 7 && memcmp(m->start, "OPTIONS", 7) == 0)
		g.options++;
	else
		g.others++;
	if (uas_reply(c, m, 200, "OK", 0) != 0)
		g.failed[WHY_OTHER]++;
}

/* A new connection on the UAS listener. */
static void
uas_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct conn *c;

	if (g.nuas_conns >= MAX_UAS_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
		g.refused_conns++;
		close(fd);
		return;
	}
	c->bev = bev_new(fd, 1);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		g.refused_conns++;
		return;
	}
	no_delay(fd);
	g.accepted++;
	g.nuas_conns++;
	c->next = g.uas_conns;
	if (c->next != NULL)
		c->next->prev = c;
	g.uas_conns = c;
	c->up = !g.o.tls;
	sock_name(fd, 1, c->via, sizeof(c->via));
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------- events */

/* Frame the next message of c's input into c->buf: its length, 0 when it
 * is not complete yet, -1 when the stream is broken. */
static long
frame_next(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr pos;
	size_t have, hlen, total;
	const char *head, *cl, *e;
	long clen = 0;

	for (;;) {
		unsigned char two[2];

		if (evbuffer_copyout(in, two, 2) == 2 && two[0] == '\r' && two[1] == '\n')
			evbuffer_drain(in, 2);	/* keepalive CRLFs */
		else
			break;
	}
	have = evbuffer_get_length(in);
	pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (pos.pos < 0)
		return have > MAX_MSG ? -1 : 0;
	hlen = (size_t)pos.pos + 4;
	head = (const char *)evbuffer_pullup(in, (ssize_t)hlen);
	if (head == NULL || hlen > MAX_MSG)
		return -1;
	memcpy(c->buf, head, hlen);
	c->buf[hlen] = '\0';
	for (cl = strstr(c->buf, "\r\n"); cl != NULL && cl[2] != '\r'; cl = e) {
		const char *v;
		size_t vl;

		cl += 2;
		e = strstr(cl, "\r\n");
		if (e == NULL)
			break;
		if (hdr_is(cl, (size_t)(e - cl), "Content-Length", "l", &v, &vl)) {
			clen = strtol(v, NULL, 10);
			break;
		}
	}
	if (clen < 0 || hlen + (size_t)clen > MAX_MSG)
		return -1;
	total = hlen + (size_t)clen;
	if (have < total)
		return 0;
	evbuffer_drain(in, total);
	return (long)total;
}

/* Input on c: every whole message handled by our role. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct msg m;
	long n;

	while ((n = frame_next(c)) > 0) {
		if (msg_parse(c->buf, &m) != 0)
			continue;
		if (g.o.role == ROLE_UAS) {
			uas_request(c, &m);
		} else if (uac_response(c, &m)) {
			return;		/* c was its call's and is gone */
		}
	}
	if (n < 0)		/* a broken stream: as if the peer closed it */
		conn_event_cb(bev, BEV_EVENT_ERROR, c);
}

/* Connected, or closed, or failed: c moves on or goes away. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	int i;

	if (what & BEV_EVENT_CONNECTED) {
		c->up = 1;
		sock_name(bufferevent_getfd(bev), 1, c->via, sizeof(c->via));
		if (g.o.tls && g.o.role == ROLE_UAC) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			g.handshakes++;
			if (ssl != NULL && SSL_session_reused(ssl))
				g.resumed++;
		}
		if (c->owner != NULL) {
			hist_add(&g.h_hs, now_us() - c->owner->t_call);
			uac_begin(c->owner);
		}
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (g.o.role == ROLE_UAS) {
		conn_free(c);
		return;
	}
	if (c->owner != NULL) {
		slot_fail(c->owner, WHY_CONN);
		return;
	}
	/* The persistent connection is gone: every call on it with it. */
	c->up = 0;
	for (i = 0; i < g.o.maxout; i++)
		if (g.slots[i].st != ST_FREE)
			slot_fail(&g.slots[i], WHY_CONN);
	if (!g.stopping && !g.o.quiet)
		fprintf(stderr, "sipload: the connection to the proxy is lost\n");
	g.stopping = 1;
}

/* The pacing timer: start the calls due by now at the offered rate; once
 * all are started, wait for those in flight, then stop. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t t = now_us();
	long due;

	if (!g.stopping && g.o.duration > 0 && t >= g.t0 + (uint64_t)(g.o.duration * 1e6))
		g.stopping = 1;
	if (!g.stopping) {
		due = (long)((double)(t - g.t0) * g.o.rate / 1e6) + 1;
		if (g.o.count > 0 && due > g.o.count)
			due = g.o.count;
		while (g.started < due && !g.stopping) {
			g.started++;
			call_start();
		}
		if (g.o.count > 0 && g.started >= g.o.count)
			g.stopping = 1;
	}
	if (g.stopping && g.t_end_start == 0)
		g.t_end_start = t;
	if (g.stopping && (g.nfree == g.o.maxout ||
	    t > g.t_end_start + (uint64_t)(g.o.timeout * 1e6) + 1000000u))
		event_base_loopexit(g.base, NULL);
}

/* The timeout sweep: calls whose transaction is overdue fail. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t t = now_us();
	int i;

	if (g.o.role == ROLE_UAS) {
		if (g.stop_at != 0 && t >= g.stop_at)
			event_base_loopexit(g.base, NULL);
		return;
	}
	for (i = 0; i < g.o.maxout; i++)
		if (g.slots[i].st != ST_FREE && t > g.slots[i].deadline)
			slot_fail(&g.slots[i], WHY_TIMEOUT);
}

/* SIGINT or SIGTERM: a UAS stops, a UAC stops offering and drains. */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (g.o.role == ROLE_UAS || g.stopping)
		event_base_loopexit(g.base, NULL);
	g.stopping = 1;
}

/* -------------------------------------------------------------- report */

/* Print the UAC's report: a table, then the key=value line. */
static void
uac_report(double elapsed)
{
	struct rusage ru;
	long failed = 0;
	int i;

	for (i = 0; i < WHY_N; i++)
		failed += g.failed[i];
	getrusage(RUSAGE_SELF, &ru);
	if (!g.o.quiet) {
		printf("sipload uac: %s over %s, %s connection, offered %.1f/s for %.2f s\n",
		    g.o.scen == SC_CALL ? "INVITE..BYE calls" : "OPTIONS",
		    g.o.tls ? "TLS" : "TCP", g.o.newconn ? "a new" : "one persistent",
		    g.o.rate, elapsed);
		printf("started %ld, sent %ld, completed %ld, failed %ld (timeout %ld, non-2xx %ld, "
		    "connection/TLS %ld, other %ld), throttled %ld\n", g.started - g.throttled,
		    g.sent, g.completed, failed, g.failed[WHY_TIMEOUT], g.failed[WHY_NON2XX],
		    g.failed[WHY_CONN], g.failed[WHY_OTHER], g.throttled);
		hist_line(stdout, "transaction", &g.h_txn);
		hist_line(stdout, g.o.scen == SC_CALL ? "call" : "request", &g.h_call);
		hist_line(stdout, "handshake", &g.h_hs);
	}
	printf("sipload role=uac scenario=%s transport=%s conn=%s rate=%.1f elapsed_s=%.3f"
	    " started=%ld sent=%ld completed=%ld failed=%ld",
	    g.o.scen == SC_CALL ? "call" : "options", g.o.tls ? "tls" : "tcp",
	    g.o.newconn ? "new" : "persistent", g.o.rate, elapsed,
	    g.started - g.throttled, g.sent, g.completed, failed);
	for (i = 0; i < WHY_N; i++)
		printf(" failed_%s=%ld", why_name[i], g.failed[i]);
	printf(" throttled=%ld transactions=%ld achieved_per_s=%.1f handshakes=%ld resumed=%ld",
	    g.throttled, g.txns, elapsed > 0 ? (double)g.completed / elapsed : 0.0,
	    g.handshakes, g.resumed);
	hist_kv(stdout, "txn", &g.h_txn);
	hist_kv(stdout, "call", &g.h_call);
	hist_kv(stdout, "hs", &g.h_hs);
	printf(" cpu_s=%.3f\n", (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	g.exit_code = failed > 0 || g.completed < g.started - g.throttled ? 1 : 0;
}

/* Print the UAS's report line. */
static void
uas_report(void)
{
	printf("sipload role=uas transport=%s accepted=%ld refused=%ld requests=%ld"
	    " invites=%ld acks=%ld byes=%ld options=%ld others=%ld failed=%ld\n",
	    g.o.tls ? "tls" : "tcp", g.accepted, g.refused_conns, g.requests, g.invites,
	    g.acks, g.byes, g.options, g.others, g.failed[WHY_OTHER]);
	g.exit_code = g.failed[WHY_OTHER] > 0;
}

/* ---------------------------------------------------------------- main */

/* Print the usage on f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sipload --role uac --target IP:PORT [--scenario options|call]\n"
	    "               [--transport tls|tcp] [--rate N] [--count N] [--duration S]\n"
	    "               [--max-outstanding N] [--timeout S] [--new-conn] [--resume]\n"
	    "               [--bind IP] [--uri URI] [--cert F] [--key F] [--ca F] [--quiet]\n"
	    "       sipload --role uas --listen IP:PORT [--transport tls|tcp]\n"
	    "               [--cert F] [--key F] [--ca F] [--duration S]\n");
}

/* Parse argv into g.o; 0 or -1 (after a message). */
static int
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "role", 1, NULL, 'r' }, { "scenario", 1, NULL, 's' },
		{ "transport", 1, NULL, 'p' }, { "rate", 1, NULL, 'R' },
		{ "count", 1, NULL, 'n' }, { "duration", 1, NULL, 'T' },
		{ "max-outstanding", 1, NULL, 'm' }, { "timeout", 1, NULL, 'o' },
		{ "new-conn", 0, NULL, 'N' }, { "resume", 0, NULL, 'S' },
		{ "target", 1, NULL, 'd' }, { "listen", 1, NULL, 'l' },
		{ "bind", 1, NULL, 'b' }, { "uri", 1, NULL, 'u' },
		{ "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' }, { "ca", 1, NULL, 'a' },
		{ "quiet", 0, NULL, 'q' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct opts *o = &g.o;
	int ch;

	o->tls = 1;
	o->rate = 100;
	o->maxout = 1000;
	o->timeout = 5;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': o->role = strcmp(optarg, "uas") == 0 ? ROLE_UAS : ROLE_UAC;
			if (strcmp(optarg, "uas") != 0 && strcmp(optarg, "uac") != 0)
				goto bad;
			break;
		case 's': o->scen = strcmp(optarg, "call") == 0 ? SC_CALL : SC_OPTIONS;
			if (strcmp(optarg, "call") != 0 && strcmp(optarg, "options") != 0)
				goto bad;
			break;
		case 'p': o->tls = strcmp(optarg, "tls") == 0;
			if (!o->tls && strcmp(optarg, "tcp") != 0)
				goto bad;
			break;
		case 'R': o->rate = strtod(optarg, NULL); break;
		case 'n': o->count = strtol(optarg, NULL, 10); break;
		case 'T': o->duration = strtod(optarg, NULL); break;
		case 'm': o->maxout = atoi(optarg); break;
		case 'o': o->timeout = strtod(optarg, NULL); break;
		case 'N': o->newconn = 1; break;
		case 'S': o->resume = 1; break;
		case 'd': o->target = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'b': o->bind = optarg; break;
		case 'u': o->uri = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'a': o->ca = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(stdout); exit(0);
		default: goto bad;
		}
	}
	if (optind != argc || o->rate <= 0 || o->rate > 1e6 || o->maxout < 1 ||
	    o->maxout > 1000000 || o->timeout <= 0 || o->timeout > 3600 ||
	    o->duration < 0 || o->duration > 86400 || o->count < 0 ||
	    (o->role == ROLE_UAC && (o->target == NULL || (o->count == 0 && o->duration == 0))) ||
	    (o->role == ROLE_UAS && o->listen == NULL))
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* The UAC's setup: addresses, the request-URI, the slots, the shared
 * connection when persistent; 0 or -1. */
static int
uac_setup(void)
{
	int i;
	char tmp[64];

	if (parse_addr(g.o.target, &g.dst, &g.dstlen) != 0) {
		fprintf(stderr, "sipload: bad --target %s\n", g.o.target);
		return -1;
	}
	if (g.o.bind != NULL) {
		snprintf(tmp, sizeof(tmp), "%s", g.o.bind);	/* no port: any */
		g.srclen = (int)sizeof(g.src);
		if (evutil_parse_sockaddr_port(tmp, (struct sockaddr *)&g.src, &g.srclen) != 0) {
			fprintf(stderr, "sipload: bad --bind %s\n", g.o.bind);
			return -1;
		}
	}
	snprintf(g.uri, sizeof(g.uri), "%s", g.o.uri ? g.o.uri : "sip:bench@sipload.invalid");
	g.slots = calloc((size_t)g.o.maxout, sizeof(*g.slots));
	g.freelist = calloc((size_t)g.o.maxout, sizeof(*g.freelist));
	if (g.slots == NULL || g.freelist == NULL)
		return -1;
	for (i = g.o.maxout - 1; i >= 0; i--)
		g.freelist[g.nfree++] = i;
	if (!g.o.newconn) {
		uint64_t until = now_us() + (uint64_t)(g.o.timeout * 1e6);

		g.shared = conn_open(NULL);
		if (g.shared == NULL) {
			fprintf(stderr, "sipload: cannot connect to %s\n", g.o.target);
			return -1;
		}
		while (!g.shared->up && !g.stopping && now_us() < until)
			event_base_loop(g.base, EVLOOP_ONCE);
		if (!g.shared->up) {
			fprintf(stderr, "sipload: no connection to %s\n", g.o.target);
			ssl_fail("connect failed");
			return -1;
		}
		g.stopping = 0;
	}
	return 0;
}

/* The UAS's listener; NULL on failure. */
static struct evconnlistener *
uas_setup(void)
{
	struct sockaddr_storage ss;
	int len;
	struct evconnlistener *l;

	if (parse_addr(g.o.listen, &ss, &len) != 0) {
		fprintf(stderr, "sipload: bad --listen %s\n", g.o.listen);
		return NULL;
	}
	l = evconnlistener_new_bind(g.base, uas_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024, (struct sockaddr *)&ss, len);
	if (l == NULL)
		fprintf(stderr, "sipload: cannot listen on %s: %s\n", g.o.listen, strerror(errno));
	if (g.o.duration > 0)
		g.stop_at = now_us() + (uint64_t)(g.o.duration * 1e6);
	return l;
}

/* Everything freed, for leak checkers. */
static void
cleanup(struct evconnlistener *l)
{
	int i;

	if (l != NULL)
		evconnlistener_free(l);
	while (g.uas_conns != NULL)
		conn_free(g.uas_conns);
	for (i = 0; g.slots != NULL && i < g.o.maxout; i++)
		if (g.slots[i].conn != NULL) {
			g.slots[i].conn->owner = NULL;
			conn_free(g.slots[i].conn);
		}
	conn_free(g.shared);
	free(g.slots);
	free(g.freelist);
	SSL_SESSION_free(g.session);
	SSL_CTX_free(g.ctx);
	if (g.tick != NULL)
		event_free(g.tick);
	event_free(g.sweep);
	event_free(g.sigint);
	event_free(g.sigterm);
	event_base_free(g.base);
}

/* Run the role asked for; the exit status (see the top). */
int
main(int argc, char **argv)
{
	struct evconnlistener *l = NULL;
	struct timeval tv_sweep = { 0, 50000 }, tv_tick = { 0, 10000 };
	uint64_t start;

	if (parse_args(argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	g.base = event_base_new();
	g.run = (unsigned)getpid() ^ (unsigned)now_us();
	if (g.base == NULL || (g.o.tls && tls_setup() != 0))
		return 2;
	g.sigint = evsignal_new(g.base, SIGINT, signal_cb, NULL);
	g.sigterm = evsignal_new(g.base, SIGTERM, signal_cb, NULL);
	g.sweep = event_new(g.base, -1, EV_PERSIST, sweep_cb, NULL);
	evsignal_add(g.sigint, NULL);
	evsignal_add(g.sigterm, NULL);
	event_add(g.sweep, &tv_sweep);
	if (g.o.role == ROLE_UAS) {
		if ((l = uas_setup()) == NULL) {
			cleanup(l);
			return 2;
		}
		fflush(stdout);
		event_base_dispatch(g.base);
		uas_report();
	} else {
		if (uac_setup() != 0) {
			cleanup(l);
			return 2;
		}
		/* A tick per call at most, at least every 10 ms, at most every 1 ms. */
		tv_tick.tv_usec = (long)(1e6 / g.o.rate);
		if (tv_tick.tv_usec < 1000)
			tv_tick.tv_usec = 1000;
		if (tv_tick.tv_usec > 10000)
			tv_tick.tv_usec = 10000;
		g.tick = event_new(g.base, -1, EV_PERSIST, tick_cb, NULL);
		event_add(g.tick, &tv_tick);
		start = g.t0 = now_us();
		tick_cb(-1, 0, NULL);
		event_base_dispatch(g.base);
		uac_report((double)(now_us() - start) / 1e6);
	}
	fflush(stdout);
	cleanup(l);
	return g.exit_code;
}
