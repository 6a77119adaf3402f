/*
 * zone.h: the neighbor zones' peers and their connections.  For each
 * neighbor zone over TCP or TLS, one persistent connection is kept to the
 * first of its peers (in the configured order) that can be reached; a
 * peer that cannot (connect failure, TLS failure, a certificate the gate
 * refuses) is marked failed with the reason, and the next one is tried.
 * When all failed, the zone is down and tried again later.  Peer names
 * are resolved with evdns (A/AAAA), never blocking the loop.  Each peer
 * shows a status a person can act on.
 */
#ifndef SE_ZONE_H
#define SE_ZONE_H

#include <time.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "sip/sip_transport.h"

/* Seconds before a zone whose peers all failed is tried again. */
#define ZONE_RETRY_SECS		30
/* Seconds between CRLF keepalives on an idle peer connection (RFC 5626). */
#define ZONE_KEEPALIVE_SECS	30

struct zones;

enum zone_peer_state {
	ZP_IDLE,	/* not tried (a previous peer is active) */
	ZP_RESOLVING,
	ZP_CONNECTING,
	ZP_ACTIVE,
	ZP_FAILED
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
};

struct zones	*zones_new(struct event_base *base, struct sip_transport *t);
void		 zones_free(struct zones *zs);
/*
 * Take the zones of a new configuration: peers that did not change keep
 * their connection and status; the others are (re)connected.
 */
void		 zones_apply(struct zones *zs, const struct conf *c);
/* Each peer of each zone, in configuration order. */
void		 zones_walk(struct zones *zs,
		    void (*fn)(const struct zone_peer_info *, void *), void *arg);
/* The connection to zone's active peer, or NULL when it is down. */
struct sip_conn	*zones_conn(struct zones *zs, const char *zone);

#endif
