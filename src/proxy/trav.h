/*
 * trav.h: traversal zones (firewall traversal over one persistent,
 * mutually authenticated TLS flow).
 *
 * A traversal-client zone (inside the firewall) connects out to the
 * server's peers in order, verifies the server's certificate (the gate,
 * as for a neighbor zone), authenticates with SIP digest (REGISTER,
 * RFC 7616) and keeps the flow alive with RFC 5626 CRLF keepalives; a
 * flow that dies (closed, or no pong in time) is opened again with
 * exponential backoff and jitter, moving on to the next peer.
 *
 * A traversal-server zone (on the edge) listens on its own TLS port; the
 * gate checks the client's certificate against the zone's subject name;
 * the client's REGISTER is challenged and checked against the HA1 hashes
 * of auth.credentials_file; the authenticated connection becomes the
 * zone's flow.  Requests routed to either zone go down its flow.
 *
 * trav.c holds the zones and the client (whose connection is a link,
 * link.h), trav_server.c the server side.
 */
#ifndef SE_TRAV_H
#define SE_TRAV_H

#include <time.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "sip/sip_transport.h"

struct trav;
struct evdns_base;

struct trav	*trav_new(struct event_base *base, struct sip_transport *t,
		    struct evdns_base *dns);
void		 trav_free(struct trav *tv);
/*
 * Take the traversal zones and credentials of a new configuration's
 * registry (held: each zone reads its settings there).  Zones that did
 * not change keep their flow.
 */
struct zreg;
void		 trav_apply(struct trav *tv, const struct zreg *zr);
/*
 * A message that belongs to the traversal machinery (a client's REGISTER
 * on a server zone's port, the responses to our own REGISTER, anything
 * on a server zone's port before the client authenticated): handled here,
 * 1.  0 for everything else, which the proxy handles.
 */
int		 trav_on_message(struct trav *tv, const struct sip_origin *o,
		    osip_message_t *m);
/*
 * 1 when a message from o may go to trav_on_message()'s handlers (a server
 * zone's port, a client zone's flow), which read more of a response than
 * the proxy's relay: such a response is parsed whole.
 */
int		 trav_reads(const struct trav *tv, const struct sip_origin *o);
/* For gate_on_refused: a server zone's client was refused (status). */
void		 trav_peer_refused(const char *zone, const char *peer,
		    const char *reason, void *arg);
/* The traversal zone whose flow c is, or NULL. */
const char	*trav_conn_zone(struct trav *tv, const struct sip_conn *c);
/*
 * The flow of traversal zone name: 1 with *c, 0 when the zone has no
 * flow now (*why says why), -1 when name is not a traversal zone.
 */
int		 trav_flow(struct trav *tv, const char *name,
		    struct sip_conn **c, const char **why);

struct trav_info {
	const char	*zone;
	const char	*type;		/* traversal-client / -server */
	const char	*state;		/* connected, connecting, ... */
	time_t		 since;
	const char	*peer;		/* server: peer:port; client: ip:port */
	const char	*tls_version;	/* "" when not connected */
	const char	*cipher;
	const char	*last_failure;	/* "" when none */
	unsigned long	 reconnects;	/* client: attempts after the first;
					   server: flows bound */
};
void		 trav_walk(struct trav *tv,
		    void (*fn)(const struct trav_info *, void *), void *arg);

#endif
