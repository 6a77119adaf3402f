/*
 * proxy.h: the transaction-stateful proxy core (RFC 3261 s.16).
 *
 * Every request gets a server transaction (sip/sip_txn); the core checks it
 * (Max-Forwards, loops, Proxy-Require), processes its Route header,
 * chooses targets (search rules, proxy/route, or for an in-dialog request
 * the zone and flow its sealed Record-Route pair remembers, proxy/rrtok)
 * and tries them in
 * order: within a target zone its active peers in configuration order
 * (proxy/zone), a branch at a time, each a client transaction.  A branch
 * that cannot be sent, times out or answers 503 moves on to the next peer,
 * then to the next target; any other final response ends the search.
 * Responses go back along the Via path; ACKs for 2xx responses and CANCEL
 * are handled as s.16.7 and s.16.10 say.  The core answers OPTIONS
 * addressed to this node itself.  sipedge.conf(5) describes the routing
 * for operators, DESIGN.md the reasons.
 */
#ifndef SE_PROXY_H
#define SE_PROXY_H

#include <stddef.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "proxy/zone.h"
#include "sip/sip_transport.h"

struct proxy;

struct proxy	*proxy_new(struct event_base *base);
/* Forget every transaction (no responses are sent) and free. */
void		 proxy_free(struct proxy *px);
/* The transport it sends with and the zones it forwards to. */
struct trav;
void		 proxy_attach(struct proxy *px, struct sip_transport *t,
		    struct zones *zs, struct trav *tv);
/*
 * Take a new configuration: the zone registry zr with the configuration
 * it was built from (search rules, timers).  The core holds a reference
 * (zreg_ref: on the snapshot) until the next call, and each request being
 * forwarded holds the one it started under until it ends.  names are the
 * names and addresses this node answers for (request-URI and Via hosts),
 * borrowed: they must live as long as zr does (the snapshot's).  The
 * local address a message arrived on always counts too.
 */
struct zreg;
void		 proxy_configure(struct proxy *px, const struct zreg *zr,
		    char *const *names, size_t n);
/*
 * The keys that seal and open Record-Route state (the key file, loaded
 * with the snapshot); k must stay valid until the next call.  NULL: a
 * random key of the proxy's own, which dies with the process.
 */
struct rrtok_keys;
void		 proxy_set_keys(struct proxy *px, const struct rrtok_keys *k);
/*
 * sip_lean_cb for sip_transport_set_lean(): a response from o may be parsed
 * lean unless the traversal machinery may read it.
 */
int		 proxy_lean_ok(const struct sip_origin *o, void *arg);
/* sip_message_cb for sip_transport_new(); arg is the proxy. */
void		 proxy_on_message(const struct sip_origin *o, osip_message_t *m,
		    void *arg);

struct proxy_stats {
	unsigned long	requests;	/* new requests (not retransmissions) */
	unsigned long	forwarded;	/* branches sent */
	unsigned long	local;		/* final responses made here */
	unsigned long	failovers;	/* branches that moved on */
	unsigned long	overload;	/* new requests refused with 503: the
					   sip.max_transactions were live */
	size_t		transactions;	/* live ones */
	size_t		pending;	/* requests waiting for a final */
};
void		 proxy_stats(const struct proxy *px, struct proxy_stats *st);

/* Methods listed in Allow, for OPTIONS answers. */
#define PROXY_ALLOW	"INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, " \
			"PRACK, REFER, NOTIFY, SUBSCRIBE, MESSAGE"

#endif
