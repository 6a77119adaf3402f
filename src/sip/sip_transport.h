/*
 * sip_transport.h: SIP over UDP, TCP and TLS on the event loop.
 * Owns listeners and connections; frames streams by Content-Length, parses
 * and checks every message, answers what cannot be accepted (400, 505, 513
 * ...) itself, and hands good messages up through one callback.  A broken
 * message never takes down the process or another connection.
 */
#ifndef SE_SIP_TRANSPORT_H
#define SE_SIP_TRANSPORT_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <osipparser2/osip_parser.h>

#include "net/net_addr.h"

/*
 * The settings a connection lives by, taken at accept time and kept (by
 * reference) for the connection's life, so a reload never changes the rules
 * under an established connection.
 */
struct sip_profile {
	int		 refs;
	SSL_CTX		*server_ctx;		/* referenced */
	size_t		 max_message_size;
	int		 read_timeout;		/* s: incomplete message */
	int		 idle_timeout;		/* s: no traffic */
	int		 handshake_timeout;	/* s: whole TLS handshake */
	int		 gate_timeout;		/* s: held at the gate; 0:
						   handshake_timeout + 10 */
	char		*server_name;		/* for Warning headers */
	size_t		 max_headers;		/* header fields per message */
	/*
	 * What the settings came from (the daemon's snapshot): each
	 * connection holds it, through hold and release, from sip_conn_new
	 * until it is freed.  No cycle: the owner owns the profile, not the
	 * connections.  NULL hold: nothing to hold.
	 */
	void		*owner;
	void		(*hold)(void *owner);
	void		(*release)(void *owner);
};

struct sip_profile	*sip_profile_new(SSL_CTX *ctx, size_t max_message_size,
			    int read_timeout, int idle_timeout,
			    int handshake_timeout, const char *server_name);
/* Header fields allowed per message (default SIP_MAX_HEADERS). */
#define SIP_MAX_HEADERS	256
void			 sip_profile_set_max_headers(struct sip_profile *p,
			    size_t n);
/*
 * Bytes of bare CR/LF (keepalive pings, RFC 5626 s.3.5.1, and empty lines
 * between messages) an inbound connection may send per idle_timeout
 * period; beyond that it is closed (the idle deadline would otherwise
 * never come).
 */
#define SIP_CRLF_BUDGET	512
void			 sip_profile_ref(struct sip_profile *p);
/* Drop a reference; frees at zero.  NULL is fine. */
void			 sip_profile_unref(struct sip_profile *p);

struct sip_transport;
struct sip_listener;
struct sip_conn;

/* Where a message came from; valid only during the message callback. */
struct sip_origin {
	int			 transport;	/* enum transport */
	union net_sockaddr	 peer;
	socklen_t		 peerlen;
	char			 peer_str[NET_ADDRSTRLEN];	/* ip:port */
	char			 peer_ip[NET_ADDRSTRLEN];
	int			 peer_port;
	char			 local_ip[NET_ADDRSTRLEN];
	int			 local_port;
	struct sip_conn		*conn;		/* stream transports */
	struct sip_listener	*listener;	/* the UDP socket, or the acceptor */
	/*
	 * The framed text of the message being delivered (start line to
	 * the end of its body; not NUL-terminated), for forwarding it with
	 * a few lines edited; NULL outside the message callback.
	 */
	const char		*raw;
	size_t			 rawlen;
	/* The message being delivered, until taken: sip_origin_take(). */
	osip_message_t		**keep;
};

/*
 * A parsed, checked message; m is freed by the transport after the call
 * unless taken (sip_origin_take()).  o->raw is m's text as it came.
 */
typedef void	(*sip_message_cb)(const struct sip_origin *o, osip_message_t *m,
		    void *arg);
/*
 * Take over m, the message o is delivering (the caller frees it): m, or
 * NULL when m is not o's or was taken already (copy it then).  The
 * message stays readable through the rest of the delivery.
 */
osip_message_t	*sip_origin_take(const struct sip_origin *o,
		    const osip_message_t *m);

/*
 * The peer gate (DESIGN.md decision 2).  After each TLS handshake the
 * transport asks gate(conn, ssl, origin, arg): SIP_GATE_OPEN lets messages
 * through at once, SIP_GATE_REFUSE closes the connection (reason logged
 * by the gate), SIP_GATE_HOLD keeps it open but reads nothing into the
 * proxy (input waits in its buffer, bounded) until sip_conn_gate_open()
 * or sip_conn_refuse().  closed(conn, arg) tells the gate that a
 * connection it may hold is going away, so it can forget it.  Without a
 * gate every connection opens.
 */
enum sip_gate {
	SIP_GATE_OPEN,
	SIP_GATE_HOLD,
	SIP_GATE_REFUSE
};
typedef enum sip_gate (*sip_gate_cb)(struct sip_conn *c, SSL *ssl,
		    const struct sip_origin *o, void *arg);
typedef void	(*sip_conn_closed_cb)(struct sip_conn *c, void *arg);

/*
 * Why the transport refused a message or closed a connection for its
 * input; each is counted (sip_transport_stats.bad) whether or not the
 * log line is written.
 */
enum sip_bad {
	SIP_BAD_GARBAGE,	/* not SIP: binary or no SIP start line */
	SIP_BAD_TOO_LARGE,	/* over max_message_size */
	SIP_BAD_LENGTH,		/* Content-Length unusable */
	SIP_BAD_NO_LENGTH,	/* stream message without Content-Length */
	SIP_BAD_TOO_MANY,	/* header fields or parameters over the limit */
	SIP_BAD_UNPARSEABLE,	/* framed, but libosip2 cannot parse it */
	SIP_BAD_INVALID,	/* parsed, refused by sip_msg_check() */
	SIP_BAD_CRLF_FLOOD,	/* more bare CR/LF than SIP_CRLF_BUDGET */
	SIP_BAD_INCOMPLETE,	/* a partial message hit read_timeout */
	SIP_BAD_NKINDS
};
/* The counter's name ("garbage", "too_large", ...), for status output. */
const char		*sip_bad_name(enum sip_bad k);

struct sip_transport	*sip_transport_new(struct event_base *base,
			    sip_message_cb cb, void *arg);
/*
 * Responses may be parsed lean (sip_msg_parse_lean()) when lean(o, arg)
 * says their receiver relays them and reads no more than the transaction
 * layer does; arg is the message callback's.  Without one, every message
 * is parsed whole.
 */
typedef int	(*sip_lean_cb)(const struct sip_origin *o, void *arg);
void			 sip_transport_set_lean(struct sip_transport *t,
			    sip_lean_cb lean);
/* Free everything at once (connections are cut, not drained). */
void			 sip_transport_free(struct sip_transport *t);
void			 sip_transport_set_gate(struct sip_transport *t,
			    sip_gate_cb gate, sip_conn_closed_cb closed,
			    void *arg);
/* Let a held connection's messages through (buffered input first). */
void			 sip_conn_gate_open(struct sip_conn *c);
/*
 * Close a connection for a policy reason (refused or revoked peer): what
 * is queued is flushed, then it closes; reason is logged with it.
 */
void			 sip_conn_refuse(struct sip_conn *c, const char *reason);
/* The same for an ordinary reason (logged at info): a zone goes away. */
void			 sip_conn_close(struct sip_conn *c, const char *reason);
/* The connection's peer, as the gate saw it. */
const struct sip_origin	*sip_conn_origin(const struct sip_conn *c);

/*
 * Outbound connections (to a zone's peer).  The connection is made on the
 * loop; ready(c, ok, why, arg) runs once: ok when messages can flow (for
 * TLS: after the handshake and the gate's verdict), or not with the reason
 * (connect failure, TLS failure, refused peer, closed before it was
 * ready).  After ready(ok), closed_cb of the gate and the connection's
 * life are as for inbound connections; responses and requests arriving on
 * it go to the transport's message callback.
 */
struct sip_conn_opts {
	int			 transport;	/* TP_TCP or TP_TLS */
	const struct sockaddr	*addr;
	socklen_t		 addrlen;
	const char		*server_name;	/* TLS SNI, or NULL */
	const char		*zone;		/* the flow's zone, for the gate */
	const char		*expected;	/* identity the peer must prove */
	void			(*ready)(struct sip_conn *c, int ok,
				    const char *why, void *arg);
	/* After ready(ok): the connection is going away (may be NULL). */
	void			(*closed)(struct sip_conn *c, void *arg);
	/* TLS: TCP is connected, the handshake begins (may be NULL). */
	void			(*connected)(struct sip_conn *c, void *arg);
	void			*arg;
};
struct sip_conn		*sip_conn_open(struct sip_transport *t,
			    const struct sip_conn_opts *o, char **cause);
/* The opener no longer wants ready/closed calls (it is going away). */
void			 sip_conn_forget(struct sip_conn *c);
/*
 * Queue buf on c, written at the end of this loop turn with whatever else
 * is sent on c in it; 0, or -1 when c is closing.
 */
int			 sip_conn_send(struct sip_conn *c, const char *buf,
			    size_t len);
/* 1 when we opened c (the peer is a TLS server to us). */
int			 sip_conn_outbound(const struct sip_conn *c);
/* The zone and expected identity given to sip_conn_open, or NULL. */
const char		*sip_conn_zone(const struct sip_conn *c);
const char		*sip_conn_expected(const struct sip_conn *c);

/* A number naming c for as long as the process runs (flow tokens). */
unsigned long long	 sip_conn_id(const struct sip_conn *c);
int			 sip_conn_transport(const struct sip_conn *c);
/* 1 when messages can be sent on c now (open, not gated, not closing). */
int			 sip_conn_usable(const struct sip_conn *c);
/*
 * The gate verified the certificate of inbound connection c as identity
 * (a zone's expected name) for zone; NULL, NULL forgets it.  Only such a
 * connection is used in the backward direction (RFC 5923 style).
 */
void			 sip_conn_set_authenticated(struct sip_conn *c,
			    const char *zone, const char *identity);
/*
 * A usable inbound connection from sa's IP address authenticated for zone
 * as identity, or NULL.
 */
struct sip_conn		*sip_transport_find_flow(struct sip_transport *t,
			    const struct sockaddr *sa, const char *zone,
			    const char *identity);
/*
 * Be told when inbound connection c goes away (one watcher; NULL stops).
 * Outbound connections keep their opener's callbacks.
 */
void			 sip_conn_watch(struct sip_conn *c,
			    void (*closed)(struct sip_conn *, void *), void *arg);
/* The zone a listener's connections belong to (traversal-server). */
void			 sip_listener_set_zone(struct sip_listener *l,
			    const char *zone);
const char		*sip_listener_zone(const struct sip_listener *l);
/*
 * When an outbound connection last received a bare CRLF (an RFC 5626
 * pong); zero if never.
 */
void			 sip_conn_last_crlf(const struct sip_conn *c,
			    struct timeval *tv);
/* TLS protocol version and cipher of c: 0, or -1 when not TLS (yet). */
int			 sip_conn_tls_info(const struct sip_conn *c,
			    const char **version, const char **cipher);
/* The usable connection with this id, or NULL. */
struct sip_conn		*sip_transport_conn(struct sip_transport *t,
			    unsigned long long id);
/*
 * Send a datagram from a UDP listener of sa's address family.  0, or -1
 * when there is no such listener or the send failed (logged).
 */
int			 sip_transport_send_udp(struct sip_transport *t,
			    const struct sockaddr *sa, socklen_t sl,
			    const char *buf, size_t len);
/* 1 when a listener of any transport has this IP literal and port. */
int			 sip_transport_listens(struct sip_transport *t,
			    const char *ip, int port);
/*
 * The address of the first listener of transport (and address family af,
 * or AF_UNSPEC) for Via and Record-Route: 0, or -1 when there is none.
 */
int			 sip_transport_local(struct sip_transport *t,
			    int transport, int af, char *ip, size_t ipsz,
			    int *port);

/*
 * Limits on inbound connections (sip.max_connections,
 * sip.max_connections_per_source, sip.max_handshakes).  An inbound
 * connection over one of them is closed as soon as it is accepted (no TLS
 * work spent), counted by reason and logged in aggregate.  Outbound
 * connections are never refused but count toward the total.  The total
 * in force is the smaller of max_connections and what the descriptor
 * limit (RLIMIT_NOFILE) leaves after a reserve for everything else.
 */
struct sip_limits {
	size_t		 max_connections;
	size_t		 max_per_source;	/* IPv4 address or IPv6 /64 */
	size_t		 max_handshakes;	/* TLS handshakes in progress */
};
/* Apply limits from now on (logged when they change). */
void			 sip_transport_set_limits(struct sip_transport *t,
			    const struct sip_limits *l);

/* Why an inbound connection was refused (sip_transport_stats.refused). */
enum sip_refusal {
	SIP_REFUSED_TOTAL,		/* "max_connections" */
	SIP_REFUSED_SOURCE,		/* "per_source" */
	SIP_REFUSED_HANDSHAKES,		/* "handshakes" */
	SIP_REFUSED_DESCRIPTORS,	/* "descriptors": EMFILE, shed */
	SIP_REFUSED_N
};
/* Which deadline closed a connection (sip_transport_stats.deadlines). */
enum sip_deadline {
	SIP_DEADLINE_CONNECT,		/* "connect": outbound TCP connect */
	SIP_DEADLINE_HANDSHAKE,		/* "handshake": TLS handshake */
	SIP_DEADLINE_GATE,		/* "gate": no revocation verdict */
	SIP_DEADLINE_PARTIAL,		/* "partial": incomplete message */
	SIP_DEADLINE_IDLE,		/* "idle": nothing received */
	SIP_DEADLINE_FLUSH,		/* "flush": output not taken on close */
	SIP_DEADLINE_N
};
/* The words above, as logs and sipedge-ctl status show them. */
const char		*sip_refusal_name(int reason);
const char		*sip_deadline_name(int deadline);

struct sip_transport_stats {
	size_t			 connections;	/* open, in and out */
	size_t			 inbound;
	size_t			 handshakes;	/* TLS handshakes in progress */
	size_t			 sources;	/* addresses with a connection */
	size_t			 max_connections;	/* the total in force */
	size_t			 max_per_source;
	size_t			 max_handshakes;
	unsigned long long	 refused[SIP_REFUSED_N];
	unsigned long long	 deadlines[SIP_DEADLINE_N];
	unsigned long long	 bad[SIP_BAD_NKINDS];	/* refused input by kind */
	int			 accept_paused;	/* descriptors exhausted now */
	int			 hs_threads;	/* handshake workers, 0: loop */
	size_t			 hs_in_flight;	/* handshakes on them now */
	unsigned long long	 hs_done;	/* completed on them */
	unsigned long long	 hs_failed;
	unsigned long long	 hs_cancelled;	/* closed during the handshake */
};
void			 sip_transport_stats(const struct sip_transport *t,
			    struct sip_transport_stats *st);

/*
 * TLS handshakes on n worker threads (tls.handshake_threads; -1: one per
 * online CPU, 0: on the event loop).  The first call starts them and logs
 * "handshake pool"; a later call with another n changes nothing and logs
 * "handshake pool unchanged" (the setting takes effect at the next
 * start).  Call it after the daemon has forked.
 */
void			 sip_transport_set_hs_threads(struct sip_transport *t,
			    int n);

/* The profile new connections take (referenced; the old one is dropped). */
void			 sip_transport_set_profile(struct sip_transport *t,
			    struct sip_profile *p);

/*
 * Open a listener on an IP literal.  Returns it, or NULL with *cause
 * (caller frees) naming the address and the system error.
 */
struct sip_listener	*sip_listener_open(struct sip_transport *t,
			    int transport, const char *address, int port,
			    char **cause);
/* Close and free a listener; established connections are not affected. */
void			 sip_listener_close(struct sip_listener *l);

/* Send a message back where o came from.  0, or -1 if it cannot be sent. */
int			 sip_transport_reply(const struct sip_origin *o,
			    const char *buf, size_t len);

/*
 * Graceful stop: close every listener, stop reading, flush what is queued
 * and close each connection.  done(arg) runs (from the loop) once no
 * connection is left; sip_transport_free() cuts the rest at any time.
 */
void			 sip_transport_shutdown(struct sip_transport *t,
			    void (*done)(void *), void *arg);
size_t			 sip_transport_nconns(const struct sip_transport *t);
/* Connections closed since the start. */
unsigned long long	 sip_transport_closed(const struct sip_transport *t);

#endif
