/*
 * sip_transport.c: the transport object (profiles, limits, counters),
 * message delivery and refusals, sending, and stopping.  Listeners and
 * accepting are in sip_listener.c, stream connections in sip_conn.c and
 * their input in sip_stream.c; the records they share are in
 * sip_transport_int.h.
 *
 * Never blocks: sockets are non-blocking and every send is queued.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>

#include "conf/conf.h"
#include "sip/sip_hs.h"
#include "sip/sip_msg.h"
#include "sip/sip_srctab.h"
#include "sip/sip_transport_int.h"
#include "util/idmap.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define FD_MARGIN_MIN	32	/* descriptors kept for all but connections */

static void refused_log_cb(evutil_socket_t, short, void *);

/* --- profiles ------------------------------------------------------- */

struct sip_profile *
sip_profile_new(SSL_CTX *ctx, size_t max_message_size, int read_timeout,
    int idle_timeout, int handshake_timeout, const char *server_name)
{
	struct sip_profile *p = xcalloc(1, sizeof *p);

	p->refs = 1;
	if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
		p->server_ctx = ctx;
	p->max_message_size = max_message_size;
	p->read_timeout = read_timeout;
	p->idle_timeout = idle_timeout;
	p->handshake_timeout = handshake_timeout;
	p->server_name = xstrdup(server_name);
	p->max_headers = SIP_MAX_HEADERS;
	return p;
}

void
sip_profile_set_max_headers(struct sip_profile *p, size_t n)
{
	p->max_headers = n;
}

void
sip_profile_ref(struct sip_profile *p)
{
	p->refs++;
}

void
sip_profile_unref(struct sip_profile *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	SSL_CTX_free(p->server_ctx);
	free(p->server_name);
	free(p);
}

/* --- transport ------------------------------------------------------ */

struct sip_transport *
sip_transport_new(struct event_base *base, sip_message_cb cb, void *arg)
{
	struct sip_transport *t = xcalloc(1, sizeof *t);

	t->base = base;
	t->byid = idmap_new();
	t->cb = cb;
	t->cb_arg = arg;
	t->max_total = (size_t)-1;
	event_set_log_callback(sip_listener_libevent_log);
	t->fd_base = -1;
	t->src = sip_srctab_new();
	/* Given up when descriptors run out, to shed the backlog with. */
	t->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	t->refused_ev = evtimer_new(base, refused_log_cb, t);
	t->dead_ev = event_new(base, -1, 0, sip_conn_dead_cb, t);
	t->out_ev = event_new(base, -1, 0, sip_out_cb, t);
	t->exhausted_ev = evtimer_new(base, sip_listener_exhausted_cb, t);
	sip_msg_init();
	return t;
}

void
sip_transport_set_profile(struct sip_transport *t, struct sip_profile *p)
{
	sip_profile_ref(p);
	sip_profile_unref(t->profile);
	t->profile = p;
}

unsigned long long
sip_transport_closed(const struct sip_transport *t)
{
	/* Every connection made has an id; those not open any more closed. */
	return t->next_id - t->nconns;
}

size_t
sip_transport_nconns(const struct sip_transport *t)
{
	return t->nconns;
}

const char *
sip_bad_name(enum sip_bad k)
{
	static const char *const names[SIP_BAD_NKINDS] = {
		"garbage", "too_large", "bad_length", "no_length",
		"too_many_fields", "unparseable", "invalid", "crlf_flood",
		"incomplete"
	};

	return (unsigned)k < SIP_BAD_NKINDS ? names[k] : "?";
}

/* --- messages ------------------------------------------------------- */

/*
 * Count a refused message of kind k and log it (peer, reason, the response
 * sent if any, the start line).
 */
void
sip_transport_log_bad(struct sip_transport *t, enum sip_bad k,
    const struct sip_origin *o, const char *reason, int status, const char *msg, size_t len)
{
	struct log_line l;

	t->bad[k]++;
	log_begin(&l, LOG_LVL_WARN, "sip", "bad message");
	log_kvs(&l, "peer", o->peer_str);
	log_kvs(&l, "transport", conf_transport_name(o->transport));
	log_kvs(&l, "reason", reason);
	log_kvs(&l, "kind", sip_bad_name(k));
	if (status)
		log_kv(&l, "response", "%d", status);
	if (msg != NULL) {
		const char *eol = memchr(msg, '\n', len);
		size_t n = eol ? (size_t)(eol - msg) : len;

		if (n > 0 && msg[n - 1] == '\r')
			n--;
		log_kvn(&l, "start_line", msg, n > 200 ? 200 : n);
	}
	if (o->conn != NULL)
		log_kv(&l, "conn", "%llu", o->conn->id);
	log_end(&l);
}

/* Answer a message we refuse, from its raw text; log why either way. */
void
sip_transport_refuse(struct sip_transport *t, enum sip_bad k,
    const struct sip_origin *o, struct sip_profile *p, const char *msg, size_t len, int status,
    const char *reason)
{
	struct sip_src src = { o->peer_ip, o->peer_port };
	size_t rlen;
	char *resp;

	resp = sip_msg_raw_response(msg, len, status, &src, p->server_name,
	    reason, &rlen);
	sip_transport_log_bad(t, k, o, reason, resp ? status : 0, msg, len);
	if (resp != NULL) {
		sip_transport_reply(o, resp, rlen);
		free(resp);
	}
}

/* Parse, check, and deliver one framed message (with its text in o). */
void
sip_transport_deliver(struct sip_transport *t, struct sip_origin *o,
    struct sip_profile *p, const char *msg, size_t len)
{
	struct sip_src src = { o->peer_ip, o->peer_port };
	osip_message_t *m;
	char why[256], *resp, tag[17];
	const char *hdrs[5];
	size_t rlen;
	int status;

	/* What libosip2 would spend on it, in one linear pass first. */
	if ((status = sip_msg_scan(msg, len, p->max_headers,
	    SIP_MSG_MAX_PARAMS, why, sizeof why)) != 0) {
		sip_transport_refuse(t, SIP_BAD_TOO_MANY, o, p, msg, len,
		    status, why);
		return;
	}
	if ((m = t->lean != NULL && len > 4 && memcmp(msg, "SIP/", 4) == 0 &&
	    t->lean(o, t->cb_arg) ? sip_msg_parse_lean(msg, len) :
	    sip_msg_parse(msg, len)) == NULL) {
		status = sip_msg_parse_error(msg, len, why, sizeof why);
		sip_transport_refuse(t, SIP_BAD_UNPARSEABLE, o, p, msg, len,
		    status, why);
		return;
	}
	if ((status = sip_msg_check(m, why, sizeof why)) != 0) {
		if (MSG_IS_REQUEST(m) && strcmp(m->sip_method, "ACK") != 0 &&
		    m->from != NULL && m->to != NULL && m->call_id != NULL &&
		    m->cseq != NULL && osip_list_size(&m->vias) > 0) {
			char *w = xasprintf("399 %s \"%s\"", p->server_name, why);

			hdrs[0] = "Warning";
			hdrs[1] = w;
			hdrs[2] = "Server";
			hdrs[3] = "sipedge/" PACKAGE_VERSION;
			hdrs[4] = NULL;
			str_random_hex(tag, 16);	/* s.19.3: fresh each time */
			resp = sip_msg_response(m, &src, status, NULL, tag, hdrs,
			    &rlen);
			free(w);
			sip_transport_log_bad(t, SIP_BAD_INVALID, o, why,
			    resp ? status : 0, msg, len);
			if (resp != NULL) {
				sip_transport_reply(o, resp, rlen);
				free(resp);
			}
		} else
			sip_transport_refuse(t, SIP_BAD_INVALID, o, p, msg, len,
			    status, why);
		osip_message_free(m);
		return;
	}
	o->raw = msg;
	o->rawlen = len;
	o->keep = &m;
	t->cb(o, m, t->cb_arg);
	o->raw = NULL;
	o->rawlen = 0;
	o->keep = NULL;
	if (m != NULL)		/* not taken */
		osip_message_free(m);
}

void
sip_transport_set_lean(struct sip_transport *t, sip_lean_cb lean)
{
	t->lean = lean;
}

osip_message_t *
sip_origin_take(const struct sip_origin *o, const osip_message_t *m)
{
	osip_message_t *r;

	if (o->keep == NULL || *o->keep == NULL || *o->keep != m)
		return NULL;
	r = *o->keep;
	*o->keep = NULL;
	return r;
}

void
sip_transport_set_gate(struct sip_transport *t, sip_gate_cb gate,
    sip_conn_closed_cb closed, void *arg)
{
	t->gate = gate;
	t->gate_closed = closed;
	t->gate_arg = arg;
}

/* Fill o for peer (and the local address of socket fd when fd >= 0). */
void
sip_transport_fill_origin(struct sip_origin *o, int transport, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;

	memset(o, 0, sizeof *o);
	o->transport = transport;
	if (peerlen > sizeof o->peer)
		peerlen = sizeof o->peer;	/* not IP: not a SIP peer */
	memcpy(&o->peer, peer, peerlen);
	o->peerlen = peerlen;
	net_addr_str(peer, o->peer_str, sizeof o->peer_str);
	net_addr_ip(peer, o->peer_ip, sizeof o->peer_ip, &o->peer_port);
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		net_addr_ip((struct sockaddr *)&local, o->local_ip,
		    sizeof o->local_ip, &o->local_port);
}

/* An outbound connection's local address, once it is connected. */
/* --- limits --------------------------------------------------------- */

static const char *const refusal_names[SIP_REFUSED_N] = {
	"max_connections", "per_source", "handshakes", "descriptors"
};
static const char *const deadline_names[SIP_DEADLINE_N] = {
	"connect", "handshake", "gate", "partial", "idle", "flush"
};

const char *
sip_refusal_name(int reason)
{
	return reason >= 0 && reason < SIP_REFUSED_N ? refusal_names[reason] :
	    "?";
}

const char *
sip_deadline_name(int deadline)
{
	return deadline >= 0 && deadline < SIP_DEADLINE_N ?
	    deadline_names[deadline] : "?";
}

/*
 * Descriptors in use now, roughly: the lowest free one (they are handed
 * out lowest first, and few holes are left at start).
 */
static long
fds_in_use(const struct sip_transport *t)
{
	int fd;

	if (t->reserve_fd < 0 ||
	    (fd = fcntl(t->reserve_fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return 16;
	close(fd);
	return fd;
}

void
sip_transport_set_limits(struct sip_transport *t, const struct sip_limits *l)
{
	struct rlimit rl;
	size_t total = l->max_connections != 0 ? l->max_connections :
	    (size_t)-1, margin = 0, nofile = 0;
	struct log_line ll;

	if (t->fd_base < 0)
		t->fd_base = fds_in_use(t);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		/* Connections stop before the kernel's limit: the rest is
		 * for listeners, the log, fetches, DNS and the control
		 * socket. */
		nofile = (size_t)rl.rlim_cur;
		margin = (size_t)t->fd_base + (nofile / 64 > FD_MARGIN_MIN ?
		    nofile / 64 : FD_MARGIN_MIN);
		if (nofile <= margin)
			total = 1;
		else if (nofile - margin < total)
			total = nofile - margin;
	}
	if (total == t->max_total && l->max_per_source ==
	    t->limits.max_per_source && l->max_handshakes ==
	    t->limits.max_handshakes)
		return;
	t->limits = *l;
	t->max_total = total;
	log_begin(&ll, LOG_LVL_INFO, "net", "connection limits");
	log_kv(&ll, "max_connections", "%zu", total);
	log_kv(&ll, "configured", "%zu", l->max_connections);
	log_kv(&ll, "per_source", "%zu", l->max_per_source);
	log_kv(&ll, "handshakes", "%zu", l->max_handshakes);
	if (nofile != 0) {
		log_kv(&ll, "descriptors", "%zu", nofile);
		log_kv(&ll, "reserved", "%zu", margin);
	} else
		log_kvs(&ll, "descriptors", "unlimited");
	log_end(&ll);
}

void
sip_transport_stats(const struct sip_transport *t,
    struct sip_transport_stats *st)
{
	struct sip_hs_stats hs;

	memset(st, 0, sizeof *st);
	st->connections = t->nconns;
	st->inbound = t->ninbound;
	st->handshakes = t->nhandshakes;
	st->sources = sip_srctab_sources(t->src);
	st->max_connections = t->max_total;
	st->max_per_source = t->limits.max_per_source;
	st->max_handshakes = t->limits.max_handshakes;
	sip_hs_stats(t->hs, &hs);
	st->hs_threads = hs.threads;
	st->hs_in_flight = hs.in_flight;
	st->hs_done = hs.done;
	st->hs_failed = hs.failed;
	st->hs_cancelled = hs.cancelled;
	memcpy(st->refused, t->refused, sizeof st->refused);
	memcpy(st->deadlines, t->deadlines, sizeof st->deadlines);
	memcpy(st->bad, t->bad, sizeof st->bad);
	st->accept_paused = t->exhausted;
}

/* One line for the refusals since the last, then the interval restarts. */
static void
refused_log(struct sip_transport *t)
{
	struct timeval tv = { REFUSED_LOG_INTERVAL, 0 };
	struct log_line l;
	int i;

	log_begin(&l, LOG_LVL_WARN, "net", "connections refused");
	for (i = 0; i < SIP_REFUSED_N; i++) {
		log_kv(&l, refusal_names[i], "%lu", t->win[i]);
		t->win[i] = 0;
	}
	log_kvs(&l, "top_source", t->top);
	log_kv(&l, "interval", "%d", REFUSED_LOG_INTERVAL);
	log_end(&l);
	t->top_votes = 0;
	evtimer_add(t->refused_ev, &tv);
}

static void
refused_log_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < SIP_REFUSED_N; i++)
		if (t->win[i] != 0) {
			refused_log(t);
			return;
		}
}

/*
 * Count a refused connection from sa; the first of a quiet spell is
 * logged at once, the rest in one line per interval with the source
 * refused most (majority vote: exact when one source dominates).
 */
void
sip_transport_refused(struct sip_transport *t, enum sip_refusal why,
    const struct sockaddr *sa)
{
	char src[sizeof t->top];

	t->refused[why]++;
	t->win[why]++;
	sip_srctab_name(sa, src, sizeof src);
	if (t->top_votes == 0) {
		snprintf(t->top, sizeof t->top, "%s", src);
		t->top_votes = 1;
	} else if (strcmp(t->top, src) == 0)
		t->top_votes++;
	else
		t->top_votes--;
	if (!evtimer_pending(t->refused_ev, NULL))
		refused_log(t);
}

/* Close an accepted socket at once, with a reset: no TIME_WAIT here. */
/* --- sending -------------------------------------------------------- */

int
sip_transport_reply(const struct sip_origin *o, const char *buf, size_t len)
{
	struct sip_conn *c = o->conn;

	if (o->transport == TP_UDP) {
		if (o->listener == NULL)
			return -1;
		if (sendto(o->listener->fd, buf, len, 0,
		    (const struct sockaddr *)&o->peer, o->peerlen) < 0) {
			log_event(LOG_LVL_WARN, "sip", "send failed", "peer",
			    o->peer_str, "transport", "udp", "reason",
			    strerror(errno), NULL);
			return -1;
		}
		return 0;
	}
	if (c == NULL || c->magic != CONN_MAGIC || c->state == CONN_CLOSING ||
	    c->bev == NULL)
		return -1;
	return sip_out_queue(c, buf, len);
}

/* By id in constant time: a flow token is looked up per message. */
struct sip_conn *
sip_transport_conn(struct sip_transport *t, unsigned long long id)
{
	struct sip_conn *c = idmap_get(t->byid, id);

	return c != NULL && c->state == CONN_OPEN ? c : NULL;
}

const struct sip_origin *
sip_conn_origin(const struct sip_conn *c)
{
	return &c->origin;
}

int
sip_conn_outbound(const struct sip_conn *c)
{
	return c->outbound;
}

const char *
sip_conn_zone(const struct sip_conn *c)
{
	return c->zone;
}

const char *
sip_conn_expected(const struct sip_conn *c)
{
	return c->expected;
}

unsigned long long
sip_conn_id(const struct sip_conn *c)
{
	return c->id;
}

int
sip_conn_transport(const struct sip_conn *c)
{
	return c->transport;
}

int
sip_conn_usable(const struct sip_conn *c)
{
	return c->state == CONN_OPEN;
}

void
sip_conn_last_crlf(const struct sip_conn *c, struct timeval *tv)
{
	*tv = c->crlf_at;
}

int
sip_conn_tls_info(const struct sip_conn *c, const char **version,
    const char **cipher)
{
	SSL *ssl;

	if (c->transport != TP_TLS || c->bev == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL)
		return -1;
	*version = SSL_get_version(ssl);
	*cipher = SSL_get_cipher_name(ssl);
	return 0;
}

/*
 * The inbound connections the gate authenticated, listed per source in
 * the source table (sip_srctab_user), so that the flow to a zone peer is
 * found among its source's connections, not among all of them.
 */
static void
flows_add(struct sip_conn *c)
{
	void **head;

	if (c->in_flows || c->outbound || !c->src_counted ||
	    (head = sip_srctab_user(c->t->src,
	    (struct sockaddr *)&c->origin.peer)) == NULL)
		return;
	c->flow_next = *head;
	*head = c;
	c->in_flows = 1;
}

/* Take c off its source's flow list (when freed). */
void
sip_transport_flows_del(struct sip_conn *c)
{
	struct sip_conn **pp;
	void **head;

	if (!c->in_flows || (head = sip_srctab_user(c->t->src,
	    (struct sockaddr *)&c->origin.peer)) == NULL)
		return;
	for (pp = (struct sip_conn **)head; *pp != NULL;
	    pp = &(*pp)->flow_next)
		if (*pp == c) {
			*pp = c->flow_next;
			break;
		}
	c->in_flows = 0;
}

void
sip_conn_set_authenticated(struct sip_conn *c, const char *zone,
    const char *identity)
{
	free(c->auth_zone);
	free(c->auth_id);
	c->auth_zone = zone != NULL ? xstrdup(zone) : NULL;
	c->auth_id = identity != NULL ? xstrdup(identity) : NULL;
	if (zone != NULL && identity != NULL)
		flows_add(c);
}

static int
same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return 0;
}

struct sip_conn *
sip_transport_find_flow(struct sip_transport *t, const struct sockaddr *sa,
    const char *zone, const char *identity)
{
	struct sip_conn *c;
	void **head = sip_srctab_user(t->src, sa);

	for (c = head != NULL ? *head : NULL; c != NULL; c = c->flow_next)
		if (!c->outbound && c->state == CONN_OPEN &&
		    c->auth_zone != NULL && strcmp(c->auth_zone, zone) == 0 &&
		    c->auth_id != NULL && strcmp(c->auth_id, identity) == 0 &&
		    same_ip((struct sockaddr *)&c->origin.peer, sa))
			return c;
	return NULL;
}

/* The first UDP listener of family af (AF_UNSPEC: any). */
static struct sip_listener *
udp_listener(struct sip_transport *t, int af)
{
	struct sip_listener *l;
	unsigned char b[16];

	for (l = t->listeners; l != NULL; l = l->next) {
		if (l->transport != TP_UDP)
			continue;
		if (af == AF_UNSPEC ||
		    inet_pton(af, l->address, b) == 1)
			return l;
	}
	return NULL;
}

int
sip_transport_send_udp(struct sip_transport *t, const struct sockaddr *sa,
    socklen_t sl, const char *buf, size_t len)
{
	struct sip_listener *l = udp_listener(t, sa->sa_family);
	char peer[NET_ADDRSTRLEN];

	if (l == NULL)
		return -1;
	if (sendto(l->fd, buf, len, 0, sa, sl) < 0) {
		net_addr_str(sa, peer, sizeof peer);
		log_event(LOG_LVL_WARN, "sip", "send failed", "peer", peer,
		    "transport", "udp", "reason", strerror(errno), NULL);
		return -1;
	}
	return 0;
}

int
sip_transport_listens(struct sip_transport *t, const char *ip, int port)
{
	struct sip_listener *l;

	for (l = t->listeners; l != NULL; l = l->next)
		if (l->port == port && strcasecmp(l->address, ip) == 0)
			return 1;
	return 0;
}

int
sip_transport_local(struct sip_transport *t, int transport, int af,
    char *ip, size_t ipsz, int *port)
{
	struct sip_listener *l;
	unsigned char b[16];

	for (l = t->listeners; l != NULL; l = l->next) {
		if (l->transport != transport)
			continue;
		if (af != AF_UNSPEC && inet_pton(af, l->address, b) != 1)
			continue;
		snprintf(ip, ipsz, "%s", l->address);
		*port = l->port;
		return 0;
	}
	return -1;
}

/* --- stopping ------------------------------------------------------- */

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;

	if (t->done != NULL && t->nconns == 0) {
		void (*done)(void *) = t->done;

		t->done = NULL;
		done(t->done_arg);
	}
}

void
sip_transport_shutdown(struct sip_transport *t, void (*done)(void *),
    void *arg)
{
	struct sip_conn *c, *next;

	t->stopping = 1;
	t->done = done;
	t->done_arg = arg;
	if (t->done_ev == NULL)
		t->done_ev = event_new(t->base, -1, 0, done_cb, t);
	while (t->listeners != NULL)
		sip_listener_close(t->listeners);
	for (c = t->conns; c != NULL; c = next) {
		next = c->next;
		sip_conn_close_level(c, LOG_LVL_DEBUG, "shutting down");
	}
	if (t->nconns == 0)
		event_active(t->done_ev, EV_TIMEOUT, 0);
}

void
sip_transport_free(struct sip_transport *t)
{
	if (t == NULL)
		return;
	while (t->listeners != NULL)
		sip_listener_close(t->listeners);
	while (t->conns != NULL)
		sip_conn_free(t->conns);
	sip_hs_free(t->hs);		/* joins the workers */
	sip_conn_hs_shared_free(t);
	event_free(t->dead_ev);
	event_free(t->out_ev);
	if (t->done_ev != NULL)
		event_free(t->done_ev);
	event_free(t->refused_ev);
	event_free(t->exhausted_ev);
	sip_srctab_free(t->src);
	idmap_free(t->byid);
	if (t->reserve_fd >= 0)
		close(t->reserve_fd);
	sip_profile_unref(t->profile);
	free(t);
}
