/*
 * gate.h: the peer gate (DESIGN.md decision 2).  After each TLS handshake
 * the connection's peer is classified to a zone (by its address among the
 * zones' peers, IP literals or resolved names; otherwise the default
 * policy), its certificate chain
 * checked synchronously (chain, key usage for its role, key size, RFC 5922
 * name against the zone's expected identity), and then held while the
 * revocation engine asks OCSP responders and CRLs; nothing is read from
 * the connection into the proxy until the verdict.  Open connections are
 * checked again when the trust list or the CRLs change and when a peer
 * certificate expires; a peer that fails is disconnected.
 * An inbound peer accepted goes into the session ticket table
 * (tls_ticket.h), one refused out of it; each revalidation starts a new
 * ticket generation.  A peer that resumed a session is checked as every
 * other one, with the chain it presented when it was accepted.
 */
#ifndef SE_GATE_H
#define SE_GATE_H

#include <event2/event.h>

#include "conf/conf.h"
#include "rev/rev_store.h"
#include "sip/sip_transport.h"
#include "tls/tls_ctx.h"
#include "tls/tls_ticket.h"

struct gate;

/* A gate for transport t (it registers itself as t's gate). */
struct gate	*gate_new(struct event_base *base, struct sip_transport *t);
void		 gate_free(struct gate *g);

/*
 * Take the zones and policies (zr: a reference is held; the fetcher and
 * the OCSP engine borrow its revocation settings), the trust store
 * (a reference) and the CRLs of identity id (the store takes its own
 * references; id is not changed) of a new configuration, at start and
 * after each reload; then check the open connections again under it.
 * Each connection holds the registry it was last checked under.
 */
struct zreg;
void		 gate_apply(struct gate *g, const struct zreg *zr,
		    X509_STORE *trust, const struct tls_identity *id);

/*
 * Classify peers also by the addresses zones resolved their FQDN peers
 * to (the gate alone knows only IP-literal peers).
 */
struct zones;
void		 gate_set_zones(struct gate *g, struct zones *zs);

/* Be told of each inbound peer refused (zone, peer ip:port, reason). */
void		 gate_on_refused(struct gate *g, void (*fn)(const char *zone,
		    const char *peer, const char *reason, void *arg),
		    void *arg);

/* CRLs changed (e.g. a distribution point update): check again (and no
 * session ticket issued before is used any more). */
void		 gate_revalidate(struct gate *g, const char *why);

/* The shared CRL store and fetcher (distribution point updates use them). */
struct rev_store *gate_store(struct gate *g);
struct rev_fetcher *gate_fetcher(struct gate *g);
/* The trusted CAs now in use (the caller frees the stack). */
STACK_OF(X509)	*gate_trusted(struct gate *g);

/* One TLS connection the gate knows, for `sipedge-ctl connections`. */
struct gate_conn_info {
	const char	*peer;		/* ip:port */
	int		 outbound;
	const char	*zone;
	const char	*state;		/* "held" or "open" */
	const char	*subject;	/* peer certificate, or "-" */
	const char	*verdict;	/* how it was let in, or "" */
	time_t		 since;
	const char	*tls_version;	/* "" before the handshake ends */
	const char	*cipher;
};
void		 gate_walk(struct gate *g,
		    void (*fn)(const struct gate_conn_info *, void *), void *arg);

/* Counters for status. */
struct gate_stats {
	unsigned long	 verified, refused, held, revalidated, dropped;
	size_t		 open;		/* TLS peers currently tracked */
	size_t		 ocsp_cache;
	unsigned long	 ocsp_hits, ocsp_misses;
	/* Inbound TLS handshakes seen: resumed from a ticket, or full. */
	unsigned long	 resumed, full;
	struct tls_ticket_stats tickets;
};
void		 gate_stats(const struct gate *g, struct gate_stats *st);

#endif
