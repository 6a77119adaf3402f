/*
 * link.h: one outbound link, the connection this node keeps open to a
 * peer (a neighbor zone's peer, a traversal client's server).
 *
 * A link resolves the peer (RFC 3263 SRV when asked, then A/AAAA with
 * evdns; never blocking), opens the connection (sip_conn_open: TCP, the
 * TLS handshake and the gate's verdict on the peer's certificate), keeps
 * it alive with RFC 5626 CRLF pings (and, when asked, a deadline for
 * their pongs), and after a failure dials again after 1, 2, 4 ... s
 * (+-20% jitter) up to a maximum, moving on to the next of its peers.  A
 * connection that closes within LINK_STABLE_SECS of coming up counts as a
 * failure: only one that stayed up that long starts the backoff over.
 *
 * Every state change goes through one function, which logs old -> new at
 * debug level (module link, event "link state") and tells the owner.  The
 * owner words the reasons, keeps its own status and alarms, and may add a
 * step of its own between ready and up (the traversal client's REGISTER).
 */
#ifndef SE_LINK_H
#define SE_LINK_H

#include <sys/socket.h>

#include <event2/event.h>

#include "sip/sip_transport.h"

/*
 * A connection that closes within this many seconds of coming up counts
 * as a failure: the backoff keeps growing, and only a connection that
 * stayed up this long resets it.  A peer that completes the TLS handshake
 * and then refuses us (its gate rejects our certificate) is thus retried
 * after 1, 2, 4 ... s, not at once.  Five seconds is longer than any gate
 * verdict (revocation checks are bounded by revocation.timeout, default
 * 5 s, but a refusal on the name or the chain comes within milliseconds)
 * and short enough that a restarted peer is trusted again quickly.
 */
#define LINK_STABLE_SECS	5

enum link_state {
	LINK_IDLE,		/* not started, or stopped */
	LINK_RESOLVING,		/* SRV, A/AAAA of the peer's name */
	LINK_CONNECTING,	/* TCP connect */
	LINK_TLS,		/* TLS handshake and the gate's verdict */
	LINK_READY,		/* usable; the owner's own step (REGISTER) */
	LINK_UP,		/* up: keepalives running */
	LINK_BACKOFF,		/* failed: waiting to dial again */
	LINK_DRAINING		/* kept for what uses it, never redialled */
};

struct link;
struct dns_srv;
struct evdns_base;

/*
 * How a link is opened and kept; the strings and the peers are copied.
 * Callbacks run from the loop (and from link_start when the transport
 * answers at once); they may call any link function on this link except
 * link_free.
 */
struct link_opts {
	struct event_base	*base;
	struct sip_transport	*t;
	struct evdns_base	*dns;
	struct dns_srv		*srv;	/* SRV lookups, or NULL: none */
	const char		*zone;	/* for the gate and the log */
	const char *const	*peers;	/* as configured: FQDN or IP literal */
	size_t			 npeers;	/* >= 1; tried in order */
	int			 transport;	/* TP_UDP, TP_TCP or TP_TLS */
	int			 port;
	int			 port_set;	/* written: no SRV lookup */
	const char		*expected;	/* identity the peer must prove
						   (TLS); NULL: the peer name */
	int			 keepalive;	/* s between CRLF pings; 0 none */
	int			 pong_timeout;	/* s for a pong; 0: not checked */
	int			 retry_max;	/* most s between attempts */
	int			 owner_step;	/* the owner calls link_up() */
	int			 redial_now;	/* after a stable connection
						   closed: dial again at once */
	/*
	 * Every state change, after it happened: why is the reason of a
	 * move to LINK_BACKOFF (worded by explain), else NULL.
	 */
	void			(*changed)(struct link *l, enum link_state from,
				    enum link_state to, const char *why,
				    void *arg);
	/*
	 * Words the failure of a connection in state st (LINK_CONNECTING,
	 * LINK_TLS: why is the transport's reason; LINK_READY, LINK_UP: it
	 * closed, why is NULL; stable and lived say how long it was up).
	 * Returns the text (the link frees it), or NULL to take why as it is.
	 * NULL: the link's own wording.
	 */
	char			*(*explain)(struct link *l, enum link_state st,
				    const char *why, int stable, long lived,
				    void *arg);
	/* Up LINK_STABLE_SECS: the backoff started over (may be NULL). */
	void			(*stable)(struct link *l, void *arg);
	void			*arg;
};

/* A link, not started (LINK_IDLE).  Never fails. */
struct link	*link_new(const struct link_opts *o);
/* Stop everything (the connection is closed with why) and free.  NULL ok. */
void		 link_free(struct link *l, const char *why);
/* Resolve and connect from the current peer (from LINK_IDLE or BACKOFF). */
void		 link_start(struct link *l);
/*
 * The owner's step succeeded (owner_step): from LINK_READY to LINK_UP,
 * keepalives and the stable time start.
 */
void		 link_up(struct link *l);
/*
 * The owner gives up on the connection (a refused REGISTER, no answer):
 * it is closed with why, and the link backs off and dials the next peer.
 */
void		 link_fail(struct link *l, const char *why);
/*
 * Keep the connection (if usable; UDP: the address) for what uses it,
 * never dialling again: 1 when something is kept (LINK_DRAINING), 0 when
 * nothing was (the link is idle).
 */
int		 link_drain(struct link *l, const char *why);

enum link_state	 link_state(const struct link *l);
/* The connection (LINK_TLS to LINK_DRAINING), or NULL. */
struct sip_conn	*link_conn(const struct link *l);
/* The peer being tried or used, as configured. */
const char	*link_peer(const struct link *l);
/* Its resolved "ip:port", or "" before the first connect. */
const char	*link_address(const struct link *l);
/* Its port (an SRV record may have said another). */
int		 link_port(const struct link *l);
/* The last resolved address: 1 with *ss and *sl, 0 when none yet. */
int		 link_sockaddr(const struct link *l,
		    const struct sockaddr_storage **ss, socklen_t *sl);
/* 1 once up LINK_STABLE_SECS (UDP: once up), until it goes down. */
int		 link_is_stable(const struct link *l);
/* Attempts that followed a failure, since the link was made. */
unsigned long	 link_reconnects(const struct link *l);

#endif
