/*
 * zreg.h: the zone registry (DESIGN.md decisions 6 and 17): for every
 * zone of one configuration (neighbor, traversal client and server, and
 * the default zone) its peers as configured, the identity each peer must
 * prove (RFC 5922: the zone's peer_name, else the peer entry itself), its
 * TLS and revocation policy, and the one classification of an inbound
 * connection or message to its zone.  The gate, the proxy, neighbor zones
 * and traversal all read their configuration here; none keeps a copy.
 *
 * Pure data built from a struct conf: no I/O, no loop.  The strings are
 * the configuration's own, so the registry lives exactly as long as the
 * configuration it was built from: the daemon's snapshot owns both, and
 * zreg_ref()/zreg_unref() count on the snapshot.
 */
#ifndef SE_ZREG_H
#define SE_ZREG_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "rev/rev_engine.h"
#include "rev/rev_settings.h"
#include "tls/tls_peer.h"

/* One zone's settings. */
struct zreg_zone {
	const char		*name;
	int			 type;		/* enum zone_type; -1: default */
	int			 transport;	/* enum transport */
	int			 port;		/* the peers' port (the transport's
						   default when not written) */
	int			 port_set;	/* written: no SRV lookup */
	char *const		*peers;		/* FQDNs and IP literals, in
						   order; the default zone: its
						   accepted peer_names */
	size_t			 npeers;
	const char		*peer_name;	/* the identity every peer must
						   prove; NULL: its own entry */
	int			 tls_verify;	/* certificates are checked */
	int			 accept;	/* default zone: 0 refuses TLS
						   clients from outside zones */
	int			 log_messages;
	struct tls_peer_policy	 pp;		/* chain policy (role: client) */
	struct rev_policy	 rp;		/* revocation and fallbacks */
	const struct conf_zone	*cz;		/* NULL for the default zone */
};

struct zreg {
	const struct conf	*conf;		/* what it was built from */
	struct zreg_zone	*v;		/* in configuration order */
	size_t			 n;
	struct zreg_zone	 def;		/* the default zone */
	/* Revocation: fetch limits, OCSP cache, distribution points (the
	 * gate's fetcher and engine and the daemon's rev_dp borrow it). */
	struct rev_settings	 rev;
	/* The owner references count on (the snapshot); NULL: none. */
	void			*owner;
	void			(*hold)(void *owner);
	void			(*release)(void *owner);
};

/* The registry of configuration c (borrowed: c must outlive it). */
struct zreg	*zreg_new(const struct conf *c);
void		 zreg_free(struct zreg *zr);
/* Count references to zr on owner (hold takes one, release drops one). */
void		 zreg_set_owner(struct zreg *zr, void *owner,
		    void (*hold)(void *), void (*release)(void *));
/* Take a reference on zr's owner; returns zr (NULL stays NULL). */
const struct zreg *zreg_ref(const struct zreg *zr);
/* Drop a reference taken by zreg_ref and clear *zrp (NULL: nothing). */
void		 zreg_unref(const struct zreg **zrp);

/* The zone called name (not the default zone), or NULL. */
const struct zreg_zone *zreg_find(const struct zreg *zr, const char *name);
/* The identity peer of zone z must prove (RFC 5922). */
const char	*zreg_expected(const struct zreg_zone *z, const char *peer);
/* Whether zones a and b have the same peers and connection settings. */
int		 zreg_same_peers(const struct zreg_zone *a,
		    const struct zreg_zone *b);

/*
 * The configured peer whose resolved address is sa, or NULL (and its zone
 * in *zone): what neighbor zones learnt from DNS (zones_resolved).
 */
typedef const char *(*zreg_resolved_fn)(void *arg, const struct sockaddr *sa,
		    const char **zone);

/* What is known of an inbound connection or message. */
struct zreg_in {
	const struct sockaddr	*peer;		/* its source address */
	int			 transport;	/* only zones of this transport
						   (-1: any) */
	const char		*listener_zone;	/* a traversal-server port's */
	int			 outbound;	/* we opened it ... */
	const char		*outbound_zone;	/* ... for this zone (or NULL) */
	const char		*outbound_expected; /* ... expecting this name */
	zreg_resolved_fn	 resolved;	/* NULL: IP literals only */
	void			*arg;
};

/* The zone it belongs to. */
struct zreg_class {
	const struct zreg_zone	*zone;		/* NULL: the default zone (or
						   a zone gone: see gone) */
	const char		*name;		/* the zone's name */
	const char		*peer;		/* the peer entry it matched */
	const char		*expected;	/* the identity it must prove,
						   or NULL */
	int			 gone;		/* named by its listener, but
						   not in this configuration */
};

/*
 * Classify in: a connection we opened belongs to the zone it was opened
 * for; one that came in on a traversal-server zone's own port to that
 * zone; any other to the first zone (neighbor or traversal client, of
 * in->transport) one of whose peers has its address: an IP literal, else
 * an FQDN by the address it resolved to; else the default zone.
 */
void		 zreg_classify(const struct zreg *zr, const struct zreg_in *in,
		    struct zreg_class *out);

#endif
