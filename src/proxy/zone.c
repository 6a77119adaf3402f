/*
 * zone.c: peers of neighbor zones, each with its persistent connection.
 *
 * Every peer of a zone is brought up on its own by a link (link.c:
 * resolve, connect, for TLS the gate's check of the peer's certificate
 * against the identity the zone expects, CRLF keepalives, backoff after a
 * failure); this file keeps each peer's status and reason, and the zone's
 * up/down state and alarm.  Keeping every peer connected makes failover
 * (s.16: the next peer in order when one fails or answers 503) cost no
 * handshake while a call waits.  UDP peers have nothing to connect: a
 * resolved UDP peer is active.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "net/dns_srv.h"
#include "net/net_addr.h"
#include "proxy/link.h"
#include "proxy/zone.h"
#include "proxy/zreg.h"
#include "util/alarm.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct zzone;

struct zpeer {
	struct zzone		*z;
	const char		*name;		/* as configured (registry's) */
	enum zone_peer_state	 state;
	time_t			 since;
	char			*reason;
	char			*last_failure;	/* kept after recovery */
	time_t			 last_failure_at;
	unsigned long		 fail_seq;	/* orders the peers' failures */
	struct link		*link;		/* resolve, connect, keepalive */
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

/*
 * The one way a peer's state changes: logged old -> new at debug level
 * (reason: why, or NULL).
 */
static void
enter_state(struct zpeer *p, enum zone_peer_state st, const char *reason)
{
	struct log_line l;

	log_begin(&l, LOG_LVL_DEBUG, "zone", "zone peer state");
	log_kvs(&l, "zone", p->z->name);
	log_kvs(&l, "peer", p->name);
	log_kvs(&l, "from", zone_peer_state_name(p->state));
	log_kvs(&l, "to", zone_peer_state_name(st));
	if (reason != NULL)
		log_kvs(&l, "reason", reason);
	log_end(&l);
	p->state = st;
}

/* The peer's status: its state, since when, why (logged when it matters). */
static void
set_state(struct zpeer *p, enum zone_peer_state st, const char *reason)
{
	const char *addr = link_address(p->link);
	char port[16];

	enter_state(p, st, reason);
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
	    addr[0] != '\0' ? addr : "-", "reason",
	    reason != NULL ? reason : "-", NULL);
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
 * LINK_STABLE_SECS does not bring it up: a peer that accepts and then
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
		if (p->state == ZP_ACTIVE && (!z->down ||
		    link_is_stable(p->link))) {
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

/*
 * The peer's link changed state: its status follows (resolving,
 * connecting until it is up, active, failed with the reason), and so does
 * the zone's.  A draining peer whose connection closed is done.
 */
static void
peer_link_changed(struct link *l, enum link_state from, enum link_state to,
    const char *why, void *arg)
{
	struct zpeer *p = arg;

	(void)l;
	(void)from;
	switch (to) {
	case LINK_RESOLVING:
		set_state(p, ZP_RESOLVING, NULL);
		break;
	case LINK_CONNECTING:
		set_state(p, ZP_CONNECTING, NULL);
		break;
	case LINK_TLS:
	case LINK_READY:
		break;
	case LINK_UP:
		set_state(p, ZP_ACTIVE, NULL);
		zone_update(p->z);
		break;
	case LINK_BACKOFF:
		set_state(p, ZP_FAILED, why);
		zone_update(p->z);
		break;
	case LINK_DRAINING:
		enter_state(p, ZP_DRAINING, NULL);
		break;
	case LINK_IDLE:
		if (!p->z->draining)
			break;
		enter_state(p, ZP_FAILED, "the zone was removed and its "
		    "connection closed");
		zone_drained(p->z);
		break;
	}
}

/*
 * Why the peer's connection failed, in words a person can act on: a TLS
 * peer that closes right after the handshake (before or within
 * LINK_STABLE_SECS of being ready) most likely refused our certificate.
 */
static char *
peer_link_explain(struct link *l, enum link_state st, const char *why,
    int stable, long lived, void *arg)
{
	struct zpeer *p = arg;
	int tls = p->z->transport == TP_TLS;

	(void)l;
	(void)lived;
	if (st != LINK_UP)
		return why != NULL && tls &&
		    strstr(why, "closed before it was ready") != NULL ?
		    xasprintf("%s: the peer closed it right after the TLS "
		    "handshake (it may have refused our certificate; the "
		    "peer's log says why)", why) : NULL;
	if (stable)
		return NULL;	/* "the connection closed after N s" */
	return tls ? xasprintf("closed by the peer right after the TLS "
	    "handshake: it may have refused our certificate (the connection "
	    "lasted less than %d s; the peer's log says why)",
	    LINK_STABLE_SECS) : xasprintf("closed by the peer right after it "
	    "was connected (the connection lasted less than %d s)",
	    LINK_STABLE_SECS);
}

/* The peer's connection stayed up LINK_STABLE_SECS. */
static void
peer_link_stable(struct link *l, void *arg)
{
	struct zpeer *p = arg;

	(void)l;
	zone_update(p->z);
}

/* The link of peer p of zone z (not started). */
static struct link *
peer_link_new(struct zones *zs, struct zzone *z, struct zpeer *p)
{
	struct link_opts o;
	const char *peers[1] = { p->name };

	memset(&o, 0, sizeof o);
	o.base = zs->base;
	o.t = zs->t;
	o.dns = zs->dns;
	o.srv = zs->srv;
	o.zone = z->name;
	o.peers = peers;
	o.npeers = 1;
	o.transport = z->transport;
	o.port = z->port;
	o.port_set = z->port_set;
	o.expected = z->peer_name;
	o.keepalive = ZONE_KEEPALIVE_SECS;
	o.retry_max = zs->retry_secs;
	o.redial_now = 1;
	o.changed = peer_link_changed;
	o.explain = peer_link_explain;
	o.stable = peer_link_stable;
	o.arg = p;
	return link_new(&o);
}

static void
zone_clear(struct zzone *z, const char *why)
{
	size_t i;

	for (i = 0; i < z->npeers; i++) {
		struct zpeer *p = &z->peers[i];

		link_free(p->link, why);
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
		if (link_conn(z->peers[i].link) != NULL)
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

	for (i = 0; i < z->npeers; i++)
		if (link_drain(z->peers[i].link, "zone removed"))
			open++;	/* kept: ZP_DRAINING */
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

/* A new running zone for zc, its peers' links made, not started yet. */
static struct zzone *
zone_new(struct zones *zs, const struct zreg *zr, const struct zreg_zone *zc)
{
	struct zzone *z = xcalloc(1, sizeof *z);
	size_t k;

	z->zs = zs;
	z->peers = xcalloc(zc->npeers + 1, sizeof *z->peers);
	z->npeers = zc->npeers;
	zone_bind(z, zr, zc);
	for (k = 0; k < z->npeers; k++) {
		struct zpeer *p = &z->peers[k];

		p->z = z;
		p->since = time(NULL);
		p->link = peer_link_new(zs, z, p);
	}
	return z;
}

/* dns.servers tried on a scratch resolver: what zones_apply will set. */
int
zones_prepare(struct zones *zs, const struct zreg *zr, char **cause)
{
	struct evdns_base *scratch;
	int rv;

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
			link_start(z->peers[k].link);
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
			info.port = link_port(p->link);
			info.address = link_address(p->link);
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
		struct sip_conn *c = link_conn(p->link);
		const struct sockaddr_storage *ss = NULL;
		socklen_t sl = 0;
		int has = link_sockaddr(p->link, &ss, &sl);

		if ((p->state == ZP_ACTIVE || p->state == ZP_DRAINING) &&
		    (z->transport == TP_UDP ||
		    (c != NULL && sip_conn_usable(c))))
			;
		else if (z->transport == TP_TLS && has &&
		    (c = sip_transport_find_flow(zs->t,
		    (const struct sockaddr *)ss, z->name, id)) == NULL)
			continue;	/* RFC 5923: its own TLS connection */
		else if (z->transport != TP_TLS || !has)
			continue;
		memset(h, 0, sizeof *h);
		h->index = i;
		h->transport = z->transport;
		h->conn = z->transport == TP_UDP ? NULL : c;
		memcpy(&h->ss, ss, sl);
		h->sl = sl;
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
			const struct sockaddr_storage *ss;
			socklen_t sl;

			if (!link_sockaddr(p->link, &ss, &sl) ||
			    ss->ss_family != sa->sa_family)
				continue;
			if (sa->sa_family == AF_INET &&
			    memcmp(&((const struct sockaddr_in *)ss)->sin_addr,
			    &((const struct sockaddr_in *)sa)->sin_addr, 4) == 0)
				return p;
			if (sa->sa_family == AF_INET6 &&
			    memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr,
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

