/*
 * link.c: the outbound link state machine (see link.h), the one place
 * where this node resolves and connects to a peer it keeps a connection
 * to: neighbor zones (zone.c) and the traversal client (trav.c).
 *
 *   idle -> resolving -> connecting -> tls -> ready -> up
 *                  \           \         \       \      \
 *                   `-----------`---------`-------`------`-> backoff -> resolving ...
 *   up -> draining -> idle (a removed zone keeps its connection a while)
 *
 * Never blocks: names are resolved with evdns (and dns_srv for SRV), the
 * connection is made by the transport on the loop, every wait has a timer.
 * A lookup it cancelled still calls back (evdns) with EVUTIL_EAI_CANCEL,
 * possibly after the link is freed: that callback touches nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/rand.h>

#include "conf/conf.h"
#include "net/dns_srv.h"
#include "net/net_addr.h"
#include "proxy/link.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define LINK_MAGIC	0x6c696e6bU

struct link {
	unsigned int		 magic;
	struct link_opts	 o;		/* strings below are our copies */
	char			*zone;
	char			**peers;
	size_t			 npeers;
	size_t			 pi;		/* the peer tried or used */
	char			*expected;
	enum link_state		 state;
	int			 port;		/* this attempt's (SRV may say) */
	char			*via;		/* the SRV target, or NULL */
	struct sockaddr_storage	 ss;		/* the last resolved address */
	socklen_t		 sl;
	char			 addr[NET_ADDRSTRLEN + 8];
	struct evdns_getaddrinfo_request *dnsreq;
	int			 dns_done;
	struct dns_srv_req	*srvreq;
	struct sip_conn		*conn;
	unsigned long long	 conn_id;	/* this attempt's, for the log */
	struct event		*retry;
	struct event		*ka;		/* CRLF ping */
	struct event		*pong;		/* its deadline */
	struct event		*stable_ev;	/* LINK_STABLE_SECS after up */
	struct timeval		 ping_at;	/* oldest ping not answered */
	int			 stable;
	time_t			 up_at;		/* monotonic s */
	int			 failures;	/* in a row */
	unsigned long		 reconnects;
};

static void	link_resolve(struct link *);

/* The state's name, as the debug log shows it. */
static const char *
link_state_name(enum link_state s)
{
	switch (s) {
	case LINK_IDLE:		return "idle";
	case LINK_RESOLVING:	return "resolving";
	case LINK_CONNECTING:	return "connecting";
	case LINK_TLS:		return "tls";
	case LINK_READY:	return "ready";
	case LINK_UP:		return "up";
	case LINK_BACKOFF:	return "backoff";
	case LINK_DRAINING:	return "draining";
	}
	return "?";
}

/* Seconds on a clock that never jumps. */
static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The one way a link changes state: logged old -> new at debug level,
 * then told to the owner (why: the reason of a failure, or NULL).
 */
static void
link_enter(struct link *l, enum link_state to, const char *why)
{
	enum link_state from = l->state;
	struct log_line ll;

	l->state = to;
	log_begin(&ll, LOG_LVL_DEBUG, "link", "link state");
	log_kvs(&ll, "zone", l->zone);
	log_kvs(&ll, "peer", l->peers[l->pi]);
	if (l->conn_id != 0)
		log_kv(&ll, "conn", "%llu", l->conn_id);
	log_kvs(&ll, "from", link_state_name(from));
	log_kvs(&ll, "to", link_state_name(to));
	if (why != NULL)
		log_kvs(&ll, "reason", why);
	log_end(&ll);
	if (l->o.changed != NULL)
		l->o.changed(l, from, to, why, l->o.arg);
}

/* Stop the timers of a connection that is up. */
static void
link_disarm(struct link *l)
{
	evtimer_del(l->ka);
	evtimer_del(l->pong);
	evtimer_del(l->stable_ev);
}

/* Stop the lookups in flight (their callbacks touch nothing). */
static void
link_stop_lookups(struct link *l)
{
	if (l->dnsreq != NULL) {
		evdns_getaddrinfo_cancel(l->dnsreq);
		l->dnsreq = NULL;
	}
	if (l->srvreq != NULL) {
		dns_srv_cancel(l->srvreq);
		l->srvreq = NULL;
	}
}

/* Let go of the connection, if any, closing it with why. */
static void
link_drop(struct link *l, const char *why, int refuse)
{
	struct sip_conn *c = l->conn;

	link_disarm(l);
	link_stop_lookups(l);
	if (c == NULL)
		return;
	l->conn = NULL;
	sip_conn_forget(c);
	if (refuse)
		sip_conn_refuse(c, why);
	else
		sip_conn_close(c, why);
}

/*
 * Seconds before the next attempt after failures in a row: 1, 2, 4 ...
 * up to retry_max, so that a restarted peer is back within seconds while
 * a dead one costs little.
 */
static int
link_backoff_secs(const struct link *l)
{
	int secs = 1, i;

	for (i = 1; i < l->failures && secs < l->o.retry_max; i++)
		secs *= 2;
	return secs > l->o.retry_max ? l->o.retry_max : secs;
}

/* Arm the retry timer secs from now, +-20% so that peers spread out. */
static void
link_arm_retry(struct link *l, int secs)
{
	struct timeval tv = { 0, 0 };
	unsigned int r = 0;
	double d;

	if (secs > 0) {
		RAND_bytes((unsigned char *)&r, sizeof r);
		d = secs * (0.8 + 0.4 * (r / 4294967295.0));
		tv.tv_sec = (time_t)d;
		tv.tv_usec = (suseconds_t)((d - (double)tv.tv_sec) * 1e6);
	}
	evtimer_add(l->retry, &tv);
}

/*
 * The attempt (or the connection) failed: drop what is left, back off
 * and move on to the next peer.  A connection that was stable and closed
 * is dialled again at once when the owner asked (redial_now).
 */
static void
link_failed(struct link *l, const char *why, int stable_close)
{
	int secs;

	link_drop(l, why, 1);
	if (stable_close && l->o.redial_now) {
		l->failures = 0;
		secs = 0;
	} else {
		l->failures++;
		secs = link_backoff_secs(l);
	}
	l->stable = 0;
	link_enter(l, LINK_BACKOFF, why);
	if (l->state != LINK_BACKOFF)
		return;		/* the owner moved it on */
	l->pi = (l->pi + 1) % l->npeers;
	link_arm_retry(l, secs);
}

/* The owner's wording of a failure in state st (or the transport's). */
static void
link_failed_in(struct link *l, enum link_state st, const char *why)
{
	long lived = st == LINK_UP ? (long)(mono_now() - l->up_at) : 0;
	int stable = l->stable;
	char *text = NULL;

	if (l->o.explain != NULL)
		text = l->o.explain(l, st, why, stable, lived, l->o.arg);
	if (text == NULL && why == NULL)
		text = xasprintf("the connection closed after %ld s", lived);
	link_failed(l, text != NULL ? text : why, stable);
	free(text);
}

static void
ka_cb(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	struct timeval to = { l->o.pong_timeout, 0 };

	(void)fd;
	(void)what;
	if (l->conn == NULL ||
	    (l->state != LINK_UP && l->state != LINK_DRAINING))
		return;
	sip_conn_send(l->conn, "\r\n\r\n", 4);	/* RFC 5626 ping */
	/* The deadline runs from the oldest ping not yet answered: pings
	 * more often than pong_timeout must not keep pushing it away. */
	if (l->o.pong_timeout > 0 && !evtimer_pending(l->pong, NULL)) {
		evutil_gettimeofday(&l->ping_at, NULL);
		evtimer_add(l->pong, &to);
	}
}

static void
pong_cb(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	struct timeval last;
	char *why;

	(void)fd;
	(void)what;
	if (l->conn == NULL)
		return;
	sip_conn_last_crlf(l->conn, &last);
	if (evutil_timercmp(&last, &l->ping_at, >=))
		return;		/* the pong came */
	why = xasprintf("no keepalive pong within %d s: the flow is dead",
	    l->o.pong_timeout);
	link_failed(l, why, 0);
	free(why);
}

/* Up LINK_STABLE_SECS: the backoff starts over. */
static void
stable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;

	(void)fd;
	(void)what;
	if (l->state != LINK_UP || l->conn == NULL)
		return;
	l->stable = 1;
	l->failures = 0;
	if (l->o.stable != NULL)
		l->o.stable(l, l->o.arg);
}

/*
 * Up: keepalives and the stable time start.  Being up is not yet proof
 * that the peer accepts us: the backoff starts over only once it stayed
 * up LINK_STABLE_SECS (stable_cb).
 */
static void
link_go_up(struct link *l)
{
	struct timeval ka = { l->o.keepalive, 0 };
	struct timeval st = { LINK_STABLE_SECS, 0 };

	l->stable = 0;
	l->up_at = mono_now();
	link_enter(l, LINK_UP, NULL);
	if (l->state != LINK_UP || l->conn == NULL)
		return;
	if (l->o.keepalive > 0)
		evtimer_add(l->ka, &ka);
	evtimer_add(l->stable_ev, &st);
}

/* The transport's verdict on the connection: ready, or why not. */
static void
conn_ready(struct sip_conn *c, int ok, const char *why, void *arg)
{
	struct link *l = arg;

	if (!ok) {
		l->conn = NULL;
		link_failed_in(l, l->state, why);
		return;
	}
	l->conn = c;
	l->conn_id = sip_conn_id(c);
	link_enter(l, LINK_READY, NULL);
	if (l->state == LINK_READY && !l->o.owner_step)
		link_go_up(l);
}

/* TCP is connected: the TLS handshake and the gate's verdict follow. */
static void
conn_connected(struct sip_conn *c, void *arg)
{
	struct link *l = arg;

	l->conn = c;
	l->conn_id = sip_conn_id(c);
	if (l->state == LINK_CONNECTING)
		link_enter(l, LINK_TLS, NULL);
}

/* The connection went away after it was ready. */
static void
conn_closed(struct sip_conn *c, void *arg)
{
	struct link *l = arg;

	(void)c;
	l->conn = NULL;
	link_disarm(l);
	if (l->state == LINK_DRAINING) {
		link_enter(l, LINK_IDLE, NULL);
		return;
	}
	link_failed_in(l, l->state, NULL);
}

/* Connect to the resolved address (UDP: nothing to connect, it is up). */
static void
link_connect(struct link *l)
{
	const char *peer = l->peers[l->pi];
	struct sip_conn_opts o;
	unsigned char b[16];
	char *cause = NULL;

	net_addr_str((struct sockaddr *)&l->ss, l->addr, sizeof l->addr);
	if (l->o.transport == TP_UDP) {
		l->up_at = mono_now();
		l->stable = 1;		/* nothing can close */
		link_enter(l, LINK_UP, NULL);
		return;
	}
	memset(&o, 0, sizeof o);
	o.transport = l->o.transport;
	o.addr = (struct sockaddr *)&l->ss;
	o.addrlen = l->sl;
	o.server_name = inet_pton(AF_INET, peer, b) == 1 ||
	    inet_pton(AF_INET6, peer, b) == 1 ? NULL : peer;
	o.zone = l->zone;
	o.expected = l->expected != NULL ? l->expected : peer;
	o.ready = conn_ready;
	o.connected = conn_connected;
	o.closed = conn_closed;
	o.arg = l;
	link_enter(l, LINK_CONNECTING, NULL);
	if ((l->conn = sip_conn_open(l->o.t, &o, &cause)) == NULL) {
		link_failed_in(l, LINK_CONNECTING, cause);
		free(cause);
		return;
	}
	l->conn_id = sip_conn_id(l->conn);
}

static void
dns_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct link *l = arg;
	char *why;

	if (err == EVUTIL_EAI_CANCEL)
		return;		/* l may be freed already: touch nothing */
	l->dnsreq = NULL;
	l->dns_done = 1;
	if (err != 0 || res == NULL) {
		why = xasprintf("cannot resolve %s: %s", l->via != NULL ?
		    l->via : l->peers[l->pi], evutil_gai_strerror(err));
		link_failed(l, why, 0);
		free(why);
		return;
	}
	memcpy(&l->ss, res->ai_addr, res->ai_addrlen);
	l->sl = (socklen_t)res->ai_addrlen;
	if (l->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&l->ss)->sin_port =
		    htons((uint16_t)l->port);
	else
		((struct sockaddr_in6 *)&l->ss)->sin6_port =
		    htons((uint16_t)l->port);
	evutil_freeaddrinfo(res);
	link_connect(l);
}

/* A and AAAA of host (the peer, or its SRV target), then connect. */
static void
link_resolve_host(struct link *l, const char *host)
{
	struct evutil_addrinfo hints;
	char port[16];

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = l->o.transport == TP_UDP ? SOCK_DGRAM :
	    SOCK_STREAM;
	snprintf(port, sizeof port, "%d", l->port);
	l->dns_done = 0;
	l->dnsreq = evdns_getaddrinfo(l->o.dns, host, port, &hints, dns_cb, l);
	if (l->dns_done)
		l->dnsreq = NULL;	/* answered at once */
}

/*
 * RFC 3263 s.4.2: the SRV records of the peer name give the host and port
 * (the first by RFC 2782 order); without any, the name itself on the
 * transport's port.
 */
static void
srv_cb(int err, const struct dns_srv_rr *rrs, size_t n, void *arg)
{
	struct link *l = arg;
	char *why;

	l->srvreq = NULL;
	free(l->via);
	l->via = NULL;
	if (err == DNS_SRV_EUNAVAIL) {
		why = xasprintf("%s: the SRV record says the service is not "
		    "available there", l->peers[l->pi]);
		link_failed(l, why, 0);
		free(why);
		return;
	}
	if (err == DNS_SRV_OK && n > 0) {
		l->via = xstrdup(rrs[0].target);
		l->port = (int)rrs[0].port;
		log_event(LOG_LVL_DEBUG, "link", "srv", "zone", l->zone,
		    "peer", l->peers[l->pi], "target", l->via, NULL);
		link_resolve_host(l, l->via);
		return;
	}
	link_resolve_host(l, l->peers[l->pi]);	/* no SRV: A/AAAA */
}

/* Resolve the current peer if it is a name (SRV first when asked). */
static void
link_resolve(struct link *l)
{
	const char *peer = l->peers[l->pi];
	struct sockaddr_storage ss;
	const char *svc;
	socklen_t sl;
	char *name;

	l->port = l->o.port;
	l->conn_id = 0;
	free(l->via);
	l->via = NULL;
	if (net_addr_parse(peer, l->port, &ss, &sl) == 0) {
		memcpy(&l->ss, &ss, sizeof ss);
		l->sl = sl;
		link_connect(l);
		return;
	}
	/* A name keeps its last address while it is resolved again. */
	link_enter(l, LINK_RESOLVING, NULL);
	if (l->o.port_set || l->o.srv == NULL) {
		link_resolve_host(l, peer);
		return;
	}
	svc = l->o.transport == TP_TLS ? "_sips._tcp" :
	    l->o.transport == TP_TCP ? "_sip._tcp" : "_sip._udp";
	name = xasprintf("%s.%s", svc, peer);
	l->srvreq = dns_srv_lookup(l->o.srv, name, srv_cb, l);
	free(name);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	link_start(arg);
}

struct link *
link_new(const struct link_opts *o)
{
	struct link *l = xcalloc(1, sizeof *l);
	size_t i;

	l->magic = LINK_MAGIC;
	l->o = *o;
	l->zone = xstrdup(o->zone);
	l->npeers = o->npeers;
	l->peers = xcalloc(o->npeers + 1, sizeof *l->peers);
	for (i = 0; i < o->npeers; i++)
		l->peers[i] = xstrdup(o->peers[i]);
	l->o.peers = NULL;
	l->o.zone = NULL;
	l->expected = o->expected != NULL ? xstrdup(o->expected) : NULL;
	l->o.expected = NULL;
	l->port = o->port;
	/* An IP literal has its address before any attempt (classify). */
	if (net_addr_parse(l->peers[0], l->port, &l->ss, &l->sl) == -1)
		l->sl = 0;
	l->retry = evtimer_new(o->base, retry_cb, l);
	l->ka = event_new(o->base, -1, EV_PERSIST, ka_cb, l);
	l->pong = evtimer_new(o->base, pong_cb, l);
	l->stable_ev = evtimer_new(o->base, stable_cb, l);
	return l;
}

void
link_free(struct link *l, const char *why)
{
	size_t i;

	if (l == NULL)
		return;
	link_drop(l, why, 0);
	event_free(l->retry);
	event_free(l->ka);
	event_free(l->pong);
	event_free(l->stable_ev);
	for (i = 0; i < l->npeers; i++)
		free(l->peers[i]);
	free(l->peers);
	free(l->zone);
	free(l->expected);
	free(l->via);
	l->magic = 0;
	free(l);
}

void
link_start(struct link *l)
{
	if (l->state != LINK_IDLE && l->state != LINK_BACKOFF)
		return;
	evtimer_del(l->retry);
	if (l->failures > 0)
		l->reconnects++;
	link_resolve(l);
}

void
link_up(struct link *l)
{
	if (l->state == LINK_READY)
		link_go_up(l);
}

void
link_fail(struct link *l, const char *why)
{
	if (l->state == LINK_IDLE || l->state == LINK_BACKOFF ||
	    l->state == LINK_DRAINING)
		return;
	link_failed(l, why, 0);
}

int
link_drain(struct link *l, const char *why)
{
	evtimer_del(l->retry);
	evtimer_del(l->stable_ev);
	evtimer_del(l->pong);
	link_stop_lookups(l);
	if ((l->conn != NULL && sip_conn_usable(l->conn)) ||
	    (l->o.transport == TP_UDP && l->state == LINK_UP)) {
		link_enter(l, LINK_DRAINING, NULL);
		return 1;
	}
	link_drop(l, why, 0);
	return 0;
}

enum link_state
link_state(const struct link *l)
{
	return l->state;
}

struct sip_conn *
link_conn(const struct link *l)
{
	return l->conn;
}

const char *
link_peer(const struct link *l)
{
	return l->peers[l->pi];
}

const char *
link_address(const struct link *l)
{
	return l->addr;
}

int
link_port(const struct link *l)
{
	return l->port;
}

int
link_sockaddr(const struct link *l, const struct sockaddr_storage **ss,
    socklen_t *sl)
{
	if (l->sl == 0)
		return 0;
	*ss = &l->ss;
	*sl = l->sl;
	return 1;
}

int
link_is_stable(const struct link *l)
{
	return l->stable;
}

unsigned long
link_reconnects(const struct link *l)
{
	return l->reconnects;
}
