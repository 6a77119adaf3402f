/*
 * zone.c: peers of neighbor zones, each with its persistent connection.
 *
 * Every peer of a zone is brought up on its own: resolve (evdns, unless
 * an IP literal), connect (sip_conn_open; for TLS the gate checks the
 * peer's certificate against the identity the zone expects).  A peer that
 * fails is tried again after 1, 2, 4 ... seconds (+-20% jitter) up to the
 * retry interval.  A connection that closes within ZONE_STABLE_SECS of
 * becoming ready is such a failure too (a peer that refuses our
 * certificate after the handshake must not be redialled at once); one that
 * stayed up longer resets the backoff.  Keeping every peer connected makes failover
 * (s.16: the next peer in order when one fails or answers 503) cost no
 * handshake while a call waits.  UDP peers have nothing to connect: a
 * resolved UDP peer is active.
 */
#include "config.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "net/dns_srv.h"
#include "net/net_addr.h"
#include "proxy/zone.h"
#include "proxy/zreg.h"
#include "util/alarm.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct zzone;

struct zpeer {
	struct zzone		*z;
	const char		*name;		/* as configured (registry's) */
	int			 is_ip;
	enum zone_peer_state	 state;
	time_t			 since;
	char			*reason;
	char			*last_failure;	/* kept after recovery */
	time_t			 last_failure_at;
	unsigned long		 fail_seq;	/* orders the peers' failures */
	char			 addr[NET_ADDRSTRLEN + 8];
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct evdns_getaddrinfo_request *dnsreq;
	struct dns_srv_req	*srvreq;
	int			 dns_done;
	int			 port;		/* this peer's (SRV may say) */
	char			*via;		/* the SRV target, or NULL */
	struct sip_conn		*conn;
	struct event		*ka;		/* CRLF keepalive */
	struct event		*retry;
	int			 backoff;	/* s before the next try */
	struct event		*stable_ev;	/* ZONE_STABLE_SECS after ready */
	int			 stable;	/* up longer than that (or UDP) */
	time_t			 ready_at;	/* monotonic s, when it was ready */
};

struct zzone {
	struct zones		*zs;
	/* The settings, read from the zone registry it holds a reference
	 * to; name and peer_name point into it. */
	const struct zreg	*zr;
	const struct zreg_zone	*cfg;
	const char		*name;
	int			 transport;
	int			 port;
	int			 port_set;	/* no SRV when the port is written */
	const char		*peer_name;	/* expected identity, or NULL */
	struct zpeer		*peers;
	size_t			 npeers;
	int			 down;		/* "zone down" said */
	int			 draining;	/* removed by a reload */
	struct event		*drain_ev;	/* its end */
};

struct zones {
	struct event_base	*base;
	struct sip_transport	*t;
	struct evdns_base	*dns;
	struct dns_srv		*srv;
	struct zzone		**v;	/* each allocated: callbacks hold them */
	size_t			 n;
	struct zzone		**drain;	/* removed, still carrying dialogs */
	size_t			 ndrain;
	int			 retry_secs;
};

static void peer_start(struct zpeer *p);
static void zone_drained(struct zzone *z);

const char *
zone_peer_state_name(enum zone_peer_state s)
{
	switch (s) {
	case ZP_IDLE:		return "idle";
	case ZP_RESOLVING:	return "resolving";
	case ZP_CONNECTING:	return "connecting";
	case ZP_ACTIVE:		return "active";
	case ZP_FAILED:		return "failed";
	case ZP_DRAINING:	return "draining";
	}
	return "?";
}

static void
set_state(struct zpeer *p, enum zone_peer_state st, const char *reason)
{
	char port[16];

	p->state = st;
	p->since = time(NULL);
	free(p->reason);
	p->reason = reason != NULL ? xstrdup(reason) : NULL;
	if (st == ZP_FAILED && reason != NULL) {
		static unsigned long seq;

		free(p->last_failure);
		p->last_failure = xstrdup(reason);
		p->last_failure_at = p->since;
		p->fail_seq = ++seq;
	}
	if (st != ZP_ACTIVE && st != ZP_FAILED)
		return;
	snprintf(port, sizeof port, "%d", p->z->port);
	log_event(st == ZP_ACTIVE ? LOG_LVL_INFO : LOG_LVL_WARN, "zone",
	    st == ZP_ACTIVE ? "peer active" : "peer failed", "zone",
	    p->z->name, "peer", p->name, "port", port, "address",
	    p->addr[0] != '\0' ? p->addr : "-", "reason",
	    reason != NULL ? reason : "-", NULL);
}

/* Seconds on a clock that never jumps. */
static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The zone is up (p is active and past its probation): say so once. */
static void
zone_up(struct zzone *z, const struct zpeer *p)
{
	char *key;

	if (z->down) {
		z->down = 0;
		log_event(LOG_LVL_INFO, "zone", "zone up", "zone", z->name,
		    "peer", p->name, NULL);
	}
	key = xasprintf("zone %s", z->name);
	alarm_clear(key);
	free(key);
}

/*
 * After a peer changed state: the zone is up while one peer is active,
 * and down (logged once, alarm) when every peer has failed.  While the
 * zone is down, a peer whose new connection is still within
 * ZONE_STABLE_SECS does not bring it up: a peer that accepts and then
 * drops us must not flap the alarm.  The alarm is raised once, and while
 * the zone is down its text always names the latest failure of any peer,
 * even when another peer is being tried again at that moment.
 */
static void
zone_update(struct zzone *z)
{
	const struct zpeer *last = NULL, *p;
	size_t i, failed = 0;
	char *key;

	for (i = 0; i < z->npeers; i++) {
		p = &z->peers[i];
		if (p->state == ZP_ACTIVE && (!z->down || p->stable)) {
			zone_up(z, p);
			return;
		}
		if (p->state == ZP_FAILED)
			failed++;
		if (p->last_failure != NULL && (last == NULL ||
		    p->fail_seq > last->fail_seq))
			last = p;
	}
	if (z->npeers == 0 || (!z->down && failed < z->npeers))
		return;		/* still trying one */
	if (!z->down)
		log_event(LOG_LVL_WARN, "zone", "zone down", "zone", z->name,
		    "reason", "no peer could be reached", NULL);
	z->down = 1;
	key = xasprintf("zone %s", z->name);	/* raised, or its text updated */
	alarm_raise(key, "zone %s is down: no peer could be reached "
	    "(last: %s: %s)", z->name, last != NULL ? last->name :
	    z->peers[0].name, last != NULL ? last->last_failure : "unknown");
	free(key);
}

/* p failed (state set): try it again in about secs s (+-20% jitter). */
static void
peer_retry(struct zpeer *p, int secs)
{
	struct timeval tv = { secs, 0 };
	unsigned int r = 0;
	double d;

	if (p->z->draining) {
		zone_drained(p->z);
		return;
	}
	if (secs > 0) {
		/* Jitter, so that peers that failed together spread out. */
		RAND_bytes((unsigned char *)&r, sizeof r);
		d = secs * (0.8 + 0.4 * (r / 4294967295.0));
		tv.tv_sec = (time_t)d;
		tv.tv_usec = (suseconds_t)((d - (double)tv.tv_sec) * 1e6);
	}
	evtimer_add(p->retry, &tv);
	zone_update(p->z);
}

/*
 * p failed: try again after 1 s, then 2, 4 ... up to the retry interval,
 * so that a restarted peer is back within seconds while a dead one costs
 * little.
 */
static void
peer_failed(struct zpeer *p, const char *why)
{
	int max = p->z->zs->retry_secs;

	set_state(p, ZP_FAILED, why);
	p->backoff = p->backoff <= 0 ? 1 : p->backoff * 2;
	if (p->backoff > max)
		p->backoff = max;
	peer_retry(p, p->backoff);
}

static void
keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zpeer *p = arg;

	(void)fd;
	(void)what;
	if (p->conn != NULL)
		sip_conn_send(p->conn, "\r\n\r\n", 4);	/* RFC 5626 ping */
}

/*
 * The peer's connection went away after it was ready.  After a short life
 * (under ZONE_STABLE_SECS) it is a failure and the backoff grows; after a
 * long one, reconnect at once.
 */
static void
conn_closed(struct sip_conn *c, void *arg)
{
	struct zpeer *p = arg;
	char *why;

	(void)c;
	p->conn = NULL;
	if (p->ka != NULL)
		evtimer_del(p->ka);
	if (p->stable_ev != NULL)
		evtimer_del(p->stable_ev);
	if (p->z->draining) {
		p->state = ZP_FAILED;
		zone_drained(p->z);
		return;
	}
	if (!p->stable) {
		why = p->z->transport == TP_TLS ? xasprintf("closed by the "
		    "peer right after the TLS handshake: it may have refused "
		    "our certificate (the connection lasted less than %d s; "
		    "the peer's log says why)", ZONE_STABLE_SECS) :
		    xasprintf("closed by the peer right after it was "
		    "connected (the connection lasted less than %d s)",
		    ZONE_STABLE_SECS);
		peer_failed(p, why);
		free(why);
		return;
	}
	why = xasprintf("the connection closed after %lld s",
	    (long long)(mono_now() - p->ready_at));
	p->stable = 0;
	set_state(p, ZP_FAILED, why);
	free(why);
	p->backoff = 0;
	peer_retry(p, 0);
}

/* p's connection stayed up ZONE_STABLE_SECS: the backoff starts over. */
static void
stable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zpeer *p = arg;

	(void)fd;
	(void)what;
	if (p->state != ZP_ACTIVE || p->conn == NULL)
		return;
	p->stable = 1;
	p->backoff = 0;
	zone_update(p->z);
}

/*
 * The connection is ready (or failed before).  Ready is not yet proof that
 * the peer accepts us: the backoff is reset only once it stayed up
 * ZONE_STABLE_SECS (stable_cb).
 */
static void
conn_ready(struct sip_conn *c, int ok, const char *why, void *arg)
{
	struct zpeer *p = arg;
	struct timeval tv = { ZONE_KEEPALIVE_SECS, 0 };
	struct timeval st = { ZONE_STABLE_SECS, 0 };
	char *w = NULL;

	if (!ok) {
		p->conn = NULL;
		if (why != NULL && strstr(why, "closed before it was ready") !=
		    NULL && p->z->transport == TP_TLS)
			why = w = xasprintf("%s: the peer closed it right after "
			    "the TLS handshake (it may have refused our "
			    "certificate; the peer's log says why)", why);
		peer_failed(p, why);
		free(w);
		return;
	}
	p->conn = c;
	p->stable = 0;
	p->ready_at = mono_now();
	set_state(p, ZP_ACTIVE, NULL);
	if (p->ka == NULL)
		p->ka = event_new(p->z->zs->base, -1, EV_PERSIST, keepalive_cb,
		    p);
	evtimer_add(p->ka, &tv);
	if (p->stable_ev == NULL)
		p->stable_ev = evtimer_new(p->z->zs->base, stable_cb, p);
	evtimer_add(p->stable_ev, &st);
	zone_update(p->z);
}

/* Connect to p's resolved address (UDP: nothing to connect). */
static void
connect_peer(struct zpeer *p)
{
	struct zzone *z = p->z;
	struct sip_conn_opts o;
	char *cause = NULL;

	net_addr_str((struct sockaddr *)&p->ss, p->addr, sizeof p->addr);
	if (z->transport == TP_UDP) {
		p->stable = 1;		/* nothing can close */
		set_state(p, ZP_ACTIVE, NULL);
		zone_update(z);
		return;
	}
	memset(&o, 0, sizeof o);
	o.transport = z->transport;
	o.addr = (struct sockaddr *)&p->ss;
	o.addrlen = p->sl;
	o.server_name = p->is_ip ? NULL : p->name;
	o.zone = z->name;
	o.expected = z->peer_name != NULL ? z->peer_name : p->name;
	o.ready = conn_ready;
	o.closed = conn_closed;
	o.arg = p;
	set_state(p, ZP_CONNECTING, NULL);
	if ((p->conn = sip_conn_open(z->zs->t, &o, &cause)) == NULL) {
		peer_failed(p, cause);
		free(cause);
	}
}

static void
dns_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct zpeer *p = arg;
	char *why;

	if (err == EVUTIL_EAI_CANCEL)
		return;		/* p may be freed already: touch nothing */
	p->dnsreq = NULL;
	p->dns_done = 1;
	if (err != 0 || res == NULL) {
		why = xasprintf("cannot resolve %s: %s", p->via != NULL ?
		    p->via : p->name, evutil_gai_strerror(err));
		peer_failed(p, why);
		free(why);
		return;
	}
	memcpy(&p->ss, res->ai_addr, res->ai_addrlen);
	p->sl = (socklen_t)res->ai_addrlen;
	if (p->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&p->ss)->sin_port =
		    htons((uint16_t)p->port);
	else
		((struct sockaddr_in6 *)&p->ss)->sin6_port =
		    htons((uint16_t)p->port);
	evutil_freeaddrinfo(res);
	connect_peer(p);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_start(arg);
}

/* A and AAAA of host (the peer, or its SRV target), then connect. */
static void
resolve_host(struct zpeer *p, const char *host)
{
	struct evutil_addrinfo hints;
	char port[16];

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = p->z->transport == TP_UDP ? SOCK_DGRAM :
	    SOCK_STREAM;
	snprintf(port, sizeof port, "%d", p->port);
	p->dns_done = 0;
	p->dnsreq = evdns_getaddrinfo(p->z->zs->dns, host, port, &hints,
	    dns_cb, p);
	if (p->dns_done)
		p->dnsreq = NULL;	/* answered at once */
}

/*
 * RFC 3263 s.4.2: the SRV records of the peer name give the host and port
 * (the first by RFC 2782 order); without any, the name itself on the
 * transport's port.
 */
static void
srv_cb(int err, const struct dns_srv_rr *rrs, size_t n, void *arg)
{
	struct zpeer *p = arg;
	char *why;

	p->srvreq = NULL;
	free(p->via);
	p->via = NULL;
	if (err == DNS_SRV_EUNAVAIL) {
		why = xasprintf("%s: the SRV record says the service is not "
		    "available there", p->name);
		peer_failed(p, why);
		free(why);
		return;
	}
	if (err == DNS_SRV_OK && n > 0) {
		p->via = xstrdup(rrs[0].target);
		p->port = (int)rrs[0].port;
		log_event(LOG_LVL_DEBUG, "zone", "srv", "zone", p->z->name,
		    "peer", p->name, "target", p->via, NULL);
		resolve_host(p, p->via);
		return;
	}
	resolve_host(p, p->name);	/* no SRV: A/AAAA of the name */
}

/* Resolve p if it is a name (SRV, then A/AAAA), then connect. */
static void
peer_start(struct zpeer *p)
{
	char *name;

	p->port = p->z->port;
	if (p->is_ip) {
		connect_peer(p);
		return;
	}
	set_state(p, ZP_RESOLVING, NULL);
	if (p->z->port_set || p->z->zs->srv == NULL) {
		resolve_host(p, p->name);
		return;
	}
	name = xasprintf("%s.%s", p->z->transport == TP_TLS ? "_sips._tcp" :
	    p->z->transport == TP_TCP ? "_sip._tcp" : "_sip._udp", p->name);
	p->srvreq = dns_srv_lookup(p->z->zs->srv, name, srv_cb, p);
	free(name);
}

static void
zone_clear(struct zzone *z, const char *why)
{
	size_t i;

	for (i = 0; i < z->npeers; i++) {
		struct zpeer *p = &z->peers[i];

		if (p->dnsreq != NULL)
			evdns_getaddrinfo_cancel(p->dnsreq);
		if (p->srvreq != NULL)
			dns_srv_cancel(p->srvreq);
		free(p->via);
		if (p->conn != NULL) {
			sip_conn_forget(p->conn);
			sip_conn_close(p->conn, why);
		}
		if (p->ka != NULL)
			event_free(p->ka);
		if (p->stable_ev != NULL)
			event_free(p->stable_ev);
		if (p->retry != NULL)
			event_free(p->retry);
		free(p->reason);
		free(p->last_failure);
	}
	free(z->peers);
	if (z->drain_ev != NULL)
		event_free(z->drain_ev);
	if (z->name != NULL && !z->draining) {
		char *key = xasprintf("zone %s", z->name);

		alarm_clear(key);
		free(key);
	}
	zreg_unref(&z->zr);
	free(z);
}

static void
drain_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zzone *z = arg;
	struct zones *zs = z->zs;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < zs->ndrain; i++)
		if (zs->drain[i] == z) {
			zs->drain[i] = zs->drain[--zs->ndrain];
			break;
		}
	log_event(LOG_LVL_INFO, "zone", "zone drained", "zone", z->name,
	    NULL);
	zone_clear(z, "the removed zone's drain time is over");
}

/* A draining zone with no connection left ends (from the loop). */
static void
zone_drained(struct zzone *z)
{
	struct timeval now = { 0, 0 };
	size_t i;

	if (z->transport == TP_UDP)
		return;		/* nothing closes: the drain time decides */
	for (i = 0; i < z->npeers; i++)
		if (z->peers[i].conn != NULL)
			return;
	evtimer_add(z->drain_ev, &now);
}

/*
 * A zone the new configuration no longer has: nothing new goes to it, but
 * its connections stay (no reconnecting) for the dialogs routed over them,
 * until they close or ZONE_DRAIN_SECS pass.
 */
static void
zone_drain(struct zones *zs, struct zzone *z)
{
	struct timeval tv = { ZONE_DRAIN_SECS, 0 };
	char *key;
	size_t i, open = 0;

	for (i = 0; i < z->npeers; i++) {
		struct zpeer *p = &z->peers[i];

		if (p->retry != NULL)
			evtimer_del(p->retry);
		if (p->stable_ev != NULL)
			evtimer_del(p->stable_ev);
		if (p->dnsreq != NULL) {
			evdns_getaddrinfo_cancel(p->dnsreq);
			p->dnsreq = NULL;
		}
		if (p->srvreq != NULL) {
			dns_srv_cancel(p->srvreq);
			p->srvreq = NULL;
		}
		if ((p->conn != NULL && sip_conn_usable(p->conn)) ||
		    (z->transport == TP_UDP && p->state == ZP_ACTIVE)) {
			p->state = ZP_DRAINING;
			open++;
		} else if (p->conn != NULL) {
			sip_conn_forget(p->conn);
			sip_conn_close(p->conn, "zone removed");
			p->conn = NULL;
		}
	}
	key = xasprintf("zone %s", z->name);
	alarm_clear(key);
	free(key);
	if (open == 0) {
		zone_clear(z, "zone changed or removed");
		return;
	}
	z->draining = 1;
	z->drain_ev = evtimer_new(zs->base, drain_free_cb, z);
	evtimer_add(z->drain_ev, &tv);
	zs->drain = xreallocarray(zs->drain, zs->ndrain + 1, sizeof *zs->drain);
	zs->drain[zs->ndrain++] = z;
	log_event(LOG_LVL_INFO, "zone", "zone draining", "zone", z->name,
	    "reason", "removed by a reload; its connections stay for the "
	    "dialogs on them", NULL);
}

struct zones *
zones_new(struct event_base *base, struct sip_transport *t)
{
	struct zones *zs = xcalloc(1, sizeof *zs);

	zs->base = base;
	zs->t = t;
	/* resolv.conf and /etc/hosts are read here, once, before any peer
	 * is resolved; lookups themselves never block. */
	zs->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (zs->dns == NULL)
		zs->dns = evdns_base_new(base, 0);
	evdns_base_load_hosts(zs->dns, NULL);
	zs->srv = dns_srv_new(base, zs->dns);
	zs->retry_secs = ZONE_RETRY_SECS;
	return zs;
}

void
zones_free(struct zones *zs)
{
	size_t i;

	if (zs == NULL)
		return;
	for (i = 0; i < zs->n; i++)
		zone_clear(zs->v[i], "shutting down");
	for (i = 0; i < zs->ndrain; i++)
		zone_clear(zs->drain[i], "shutting down");
	free(zs->drain);
	free(zs->v);
	dns_srv_free(zs->srv);
	evdns_base_free(zs->dns, 1);
	free(zs);
}

/*
 * Read the running zone z's settings from zc of registry zr (zc has the
 * same peers and settings as z's, or z is new): z holds zr from now on.
 */
static void
zone_bind(struct zzone *z, const struct zreg *zr, const struct zreg_zone *zc)
{
	size_t k;

	z->cfg = zc;
	z->name = zc->name;
	z->transport = zc->transport;
	z->port = zc->port;
	z->port_set = zc->port_set;
	z->peer_name = zc->peer_name;
	for (k = 0; k < z->npeers; k++)
		z->peers[k].name = zc->peers[k];
	zreg_ref(zr);
	zreg_unref(&z->zr);
	z->zr = zr;
}

/* A new running zone for zc, its peers not started yet. */
static struct zzone *
zone_new(struct zones *zs, const struct zreg *zr, const struct zreg_zone *zc)
{
	struct zzone *z = xcalloc(1, sizeof *z);
	unsigned char b[16];
	size_t k;

	z->zs = zs;
	z->peers = xcalloc(zc->npeers + 1, sizeof *z->peers);
	z->npeers = zc->npeers;
	zone_bind(z, zr, zc);
	for (k = 0; k < z->npeers; k++) {
		struct zpeer *p = &z->peers[k];

		p->z = z;
		p->is_ip = inet_pton(AF_INET, p->name, b) == 1 ||
		    inet_pton(AF_INET6, p->name, b) == 1;
		if (p->is_ip)
			net_addr_parse(p->name, z->port, &p->ss, &p->sl);
		p->since = time(NULL);
		p->retry = evtimer_new(zs->base, retry_cb, p);
	}
	return z;
}

/* dns.servers tried on a scratch resolver: what zones_apply will set. */
int
zones_prepare(struct zones *zs, const struct zreg *zr, char **cause)
{
	struct evdns_base *scratch;
	int rv;

	(void)zs;
	if (zr->conf->dns_servers.n == 0)
		return 0;
	/* The same servers on a resolver of their own, never used. */
	if ((scratch = evdns_base_new(zs->base, 0)) == NULL) {
		*cause = xstrdup("cannot create a resolver to check dns.servers");
		return -1;
	}
	rv = dns_configure(scratch, &zr->conf->dns_servers, cause);
	evdns_base_free(scratch, 0);
	return rv;
}

/* Take the neighbor zones of zr: keep, start or drain (zone.h). */
void
zones_apply(struct zones *zs, const struct zreg *zr)
{
	struct zzone **nv = xcalloc(zr->n + 1, sizeof *nv), *z;
	size_t n = 0, i, j, k;
	char *cause = NULL;

	if (dns_configure(zs->dns, &zr->conf->dns_servers, &cause) == -1) {
		/* zones_prepare said it would work: not expected */
		log_event(LOG_LVL_ERROR, "zone", "dns servers not applied",
		    "reason", cause, NULL);
		free(cause);
	}
	for (i = 0; i < zr->n; i++) {
		const struct zreg_zone *zc = &zr->v[i];

		if (zc->type != ZONE_NEIGHBOR || zc->npeers == 0)
			continue;
		for (j = 0; j < zs->n; j++) {
			if (zs->v[j] != NULL &&
			    zreg_same_peers(zs->v[j]->cfg, zc)) {
				zone_bind(zs->v[j], zr, zc);
				nv[n++] = zs->v[j];	/* keeps running */
				zs->v[j] = NULL;
				break;
			}
		}
		if (j < zs->n)
			continue;
		nv[n++] = z = zone_new(zs, zr, zc);
		for (k = 0; k < z->npeers; k++)
			peer_start(&z->peers[k]);
	}
	/* What is left of the old set is gone from the configuration. */
	for (j = 0; j < zs->n; j++)
		if (zs->v[j] != NULL)
			zone_drain(zs, zs->v[j]);
	free(zs->v);
	zs->v = nv;
	zs->n = n;
}

void
zones_walk(struct zones *zs, void (*fn)(const struct zone_peer_info *, void *),
    void *arg)
{
	struct zone_peer_info info;
	size_t i, k;

	for (i = 0; i < zs->n + zs->ndrain; i++) {
		struct zzone *z = i < zs->n ? zs->v[i] : zs->drain[i - zs->n];

		for (k = 0; k < z->npeers; k++) {
			struct zpeer *p = &z->peers[k];

			info.zone = z->name;
			info.transport = conf_transport_name(z->transport);
			info.peer = p->name;
			info.port = p->port != 0 ? p->port : z->port;
			info.address = p->addr;
			info.state = p->state;
			info.since = p->since;
			info.reason = p->reason != NULL ? p->reason : "";
			info.last_failure = p->last_failure != NULL ?
			    p->last_failure : "";
			info.last_failure_at = p->last_failure_at;
			fn(&info, arg);
		}
	}
}

int
zones_hop(struct zones *zs, const char *zone, size_t from, struct zone_hop *h)
{
	struct zzone *z = NULL;
	size_t i;

	for (i = 0; i < zs->n && z == NULL; i++)
		if (strcmp(zs->v[i]->name, zone) == 0)
			z = zs->v[i];
	for (i = 0; i < zs->ndrain && z == NULL; i++)
		if (strcmp(zs->drain[i]->name, zone) == 0)
			z = zs->drain[i];	/* in-dialog requests only */
	if (z == NULL)
		return -1;
	for (i = from; i < z->npeers; i++) {
		struct zpeer *p = &z->peers[i];

		const char *id = z->peer_name != NULL ? z->peer_name : p->name;
		struct sip_conn *c = NULL;

		if ((p->state == ZP_ACTIVE || p->state == ZP_DRAINING) &&
		    (z->transport == TP_UDP ||
		    (p->conn != NULL && sip_conn_usable(p->conn))))
			c = p->conn;
		else if (z->transport == TP_TLS && p->sl > 0 &&
		    (c = sip_transport_find_flow(zs->t,
		    (struct sockaddr *)&p->ss, z->name, id)) == NULL)
			continue;	/* RFC 5923: its own TLS connection */
		else if (z->transport != TP_TLS || p->sl == 0)
			continue;
		memset(h, 0, sizeof *h);
		h->index = i;
		h->transport = z->transport;
		h->conn = z->transport == TP_UDP ? NULL : c;
		memcpy(&h->ss, &p->ss, p->sl);
		h->sl = p->sl;
		h->peer = p->name;
		h->expected = id;
		return 1;
	}
	return 0;
}

/* The peer of a zone with sa's IP address, or NULL. */
static const struct zpeer *
peer_by_ip(struct zones *zs, const struct sockaddr *sa)
{
	size_t i, k;

	for (i = 0; i < zs->n; i++) {
		struct zzone *z = zs->v[i];

		for (k = 0; k < z->npeers; k++) {
			struct zpeer *p = &z->peers[k];

			if (p->sl == 0 || p->ss.ss_family != sa->sa_family)
				continue;
			if (sa->sa_family == AF_INET &&
			    memcmp(&((struct sockaddr_in *)&p->ss)->sin_addr,
			    &((const struct sockaddr_in *)sa)->sin_addr, 4) == 0)
				return p;
			if (sa->sa_family == AF_INET6 &&
			    memcmp(&((struct sockaddr_in6 *)&p->ss)->sin6_addr,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr,
			    16) == 0)
				return p;
		}
	}
	return NULL;
}

/* The peer (and zone) whose known address is sa's, or NULL. */
const char *
zones_resolved(void *arg, const struct sockaddr *sa, const char **zone)
{
	const struct zpeer *p = peer_by_ip(arg, sa);

	*zone = p != NULL ? p->z->name : NULL;
	return p != NULL ? p->name : NULL;
}

struct evdns_base *
zones_dns(struct zones *zs)
{
	return zs->dns;
}

