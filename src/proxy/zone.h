/*
 * zone.h: the neighbor zones' peers and their connections.  For each
 * neighbor zone over TCP or TLS, a persistent connection is kept to each
 * of its peers; a peer that cannot be reached (connect failure, TLS
 * failure, a certificate the gate refuses) is marked failed with the
 * reason and tried again later (link.h: the connection's life).  When
 * all failed, the zone is down.
 * Requests take the first active peer in the configured order.  Peer names
 * are resolved with evdns (A/AAAA), never blocking the loop.  Each peer
 * shows a status a person can act on.
 */
#ifndef SE_ZONE_H
#define SE_ZONE_H

#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "sip/sip_transport.h"

/* Most seconds before a failed peer is tried again (backoff from 1 s). */
#define ZONE_RETRY_SECS		30
/*
 * A zone a reload removed keeps its connections this long at most (or
 * until they close) for the dialogs that use them; nothing new is routed
 * to it.
 */
#define ZONE_DRAIN_SECS		3600
/* Seconds between CRLF keepalives on an idle peer connection (RFC 5626). */
#define ZONE_KEEPALIVE_SECS	30

struct zones;

enum zone_peer_state {
	ZP_IDLE,	/* not tried (a previous peer is active) */
	ZP_RESOLVING,
	ZP_CONNECTING,
	ZP_ACTIVE,
	ZP_FAILED,
	ZP_DRAINING	/* its zone was removed: kept for the dialogs on it */
};
const char	*zone_peer_state_name(enum zone_peer_state s);

struct zone_peer_info {
	const char		*zone;
	const char		*transport;
	const char		*peer;		/* as configured */
	int			 port;
	const char		*address;	/* resolved ip:port, or "" */
	enum zone_peer_state	 state;
	time_t			 since;
	const char		*reason;	/* why failed, or "" */
	const char		*last_failure;	/* the last one, kept after
						   recovery; "" if none */
	time_t			 last_failure_at;	/* 0 if none */
};

struct zones	*zones_new(struct event_base *base, struct sip_transport *t);
void		 zones_free(struct zones *zs);
/*
 * Before a new configuration is committed: whether what zones_apply will
 * do with it can be done (dns.servers usable).  0, or -1 with *cause and
 * nothing changed.
 */
struct zreg;
int		 zones_prepare(struct zones *zs, const struct zreg *zr,
		    char **cause);
/*
 * Take the neighbor zones of a new configuration's registry (each zone
 * holds a reference to it and reads its settings there): peers that did
 * not change keep their connection and status; the others are
 * (re)connected.  A zone removed drains, holding the registry it came
 * from.
 */
void		 zones_apply(struct zones *zs, const struct zreg *zr);
/* Each peer of each zone, in configuration order. */
void		 zones_walk(struct zones *zs,
		    void (*fn)(const struct zone_peer_info *, void *), void *arg);
/* A next hop in a zone for a request. */
struct zone_hop {
	size_t			 index;		/* of the peer in the zone */
	int			 transport;	/* enum transport */
	struct sip_conn		*conn;		/* TCP/TLS: its connection */
	struct sockaddr_storage	 ss;		/* the peer's address */
	socklen_t		 sl;
	const char		*peer;		/* as configured */
	const char		*expected;	/* identity it proved (TLS) */
};
/*
 * The first active peer of zone at or after index from, in configuration
 * order: 1 with *h filled (valid until the loop runs again), 0 when no
 * peer from there on is active, -1 when zone is not a neighbor zone with
 * peers.
 */
int		 zones_hop(struct zones *zs, const char *zone, size_t from,
		    struct zone_hop *h);
/*
 * A zreg_resolved_fn (arg: the zones): the peer, as configured, one of
 * whose addresses (an IP literal or what its name resolved to) is sa's,
 * with its zone in *zone; NULL when none.
 */
const char	*zones_resolved(void *arg, const struct sockaddr *sa,
		    const char **zone);
/* The resolver zones use (traversal clients share it). */
struct evdns_base;
struct evdns_base *zones_dns(struct zones *zs);

#endif
