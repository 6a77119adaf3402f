/*
 * sip_transport_int.h: the records the transport's files share
 * (sip_transport.c, sip_conn.c, sip_conn_hs.c, sip_stream.c, sip_out.c,
 * sip_listener.c) and the functions they call across them.  Private: included only by
 * those files; callers use sip_transport.h.
 */
#ifndef SIP_TRANSPORT_INT_H
#define SIP_TRANSPORT_INT_H

#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "sip/sip_frame.h"
#include "sip/sip_transport.h"
#include "util/log.h"

struct sip_hs;
struct sip_hs_job;

#define CONN_MAGIC	0x5e1f0c0eU
#define REFUSED_LOG_INTERVAL 10	/* s: at most one refusal log line per */
#define CERT_SHARED_N	32	/* CA certificates of peers shared */

/* Where a stream connection is in its life (sip_conn_set_state). */
enum conn_state {
	CONN_CONNECTING,	/* outbound: TCP connect in progress */
	CONN_HANDSHAKE,		/* TLS handshake in progress */
	CONN_GATED,		/* held at the peer gate: nothing read */
	CONN_OPEN,		/* reading and answering */
	CONN_CLOSING		/* flushing output, then freed */
};

/* A listening socket: a TCP/TLS acceptor or a UDP socket (sip_listener.c). */
struct sip_listener {
	struct sip_transport	*t;
	int			 transport;
	char			*address;
	int			 port;
	int			 fd;		/* UDP socket */
	struct evconnlistener	*lev;		/* TCP/TLS acceptor */
	struct event		*ev;		/* UDP read event */
	char			*zone;		/* traversal-server zone, or NULL */
	struct event		*pause_ev;	/* accepting again after EMFILE */
	int			 pause_ms;	/* the last pause, 0: none */
	struct sip_listener	*next;
};

/*
 * A connection's deadlines share one timer (each libevent timer costs some
 * 140 bytes, and an idle connection should cost as little as it can):
 * the state's (connect, handshake, gate, flush), an incomplete message's,
 * and the idle one.
 */
enum conn_dl {
	DL_STATE,
	DL_READ,
	DL_IDLE,
	DL_N
};

/* A stream connection, inbound or outbound (sip_conn.c, sip_conn_new). */
struct sip_conn {
	unsigned int		 magic;
	struct sip_transport	*t;
	struct sip_profile	*profile;	/* referenced: rules at accept time */
	enum conn_state		 state;
	int			 state_set;	/* state was entered once */
	int			 transport;
	struct bufferevent	*bev;
	struct event		*timer;		/* at the earliest of dl[] */
	struct timeval		 dl[DL_N];	/* deadlines (CLOCK_MONOTONIC),
						   unset: none */
	struct timeval		 last_rx;	/* when bytes last came in */
	size_t			 rx_left;	/* input left after the last read */
	int			 src_counted;	/* inbound: in t->src */
	int			 dying;		/* on t->dead, freed soon */
	struct sip_conn		*dead_next;
	struct sip_origin	 origin;
	int			 outbound;
	unsigned long long	 id;		/* unique in the process, never 0 */
	struct timeval		 crlf_at;	/* outbound: last bare CRLF (pong) */
	struct frame_scan	 scan;		/* where framing stopped */
	size_t			 crlf_bytes;	/* bare CR/LF in this window */
	struct timeval		 crlf_window;	/* when the window started */
	struct sip_conn		*flow_next;	/* authenticated, same source */
	int			 in_flows;	/* on its source's flow list */
	char			*auth_zone;	/* inbound: the gate verified */
	char			*auth_id;	/* ... this identity for it */
	char			*zone;		/* outbound: the flow's zone */
	char			*expected;	/* outbound: identity to prove */
	void			(*ready)(struct sip_conn *, int, const char *,
				    void *);
	void			(*closed)(struct sip_conn *, void *);
	void			(*connected)(struct sip_conn *, void *);
	void			*ready_arg;
	int			 fd;		/* outbound, until bev owns it */
	struct event		*conn_ev;	/* before the bufferevent: outbound
						   connect finished, inbound TLS
						   first record whole */
	SSL			*ssl;		/* outbound TLS, until bev owns it */
	struct sip_hs_job	*hs;		/* handshake on a worker thread:
						   it owns fd and SSL meanwhile */
	struct evbuffer		*out;		/* staged this loop turn (sip_out.c),
						   kept once made */
	struct sip_conn		*out_next;	/* on t->outq */
	int			 out_queued;
	struct sip_conn		*prev, *next;
};

/* The transport: its listeners, connections, limits and counters. */
struct sip_transport {
	struct event_base	*base;
	sip_message_cb		 cb;
	void			*cb_arg;
	sip_lean_cb		 lean;		/* responses parsed lean */
	struct sip_profile	*profile;
	sip_gate_cb		 gate;
	sip_conn_closed_cb	 gate_closed;
	void			*gate_arg;
	struct sip_listener	*listeners;
	struct sip_conn		*conns;
	struct idmap		*byid;		/* conns by id: flow tokens */
	size_t			 nconns;
	size_t			 ninbound;
	size_t			 nhandshakes;	/* conns in CONN_HANDSHAKE */
	struct sip_limits	 limits;	/* as configured; 0: none */
	size_t			 max_total;	/* in force (descriptors too) */
	long			 fd_base;	/* descriptors in use at first */
	struct sip_srctab	*src;		/* inbound connections per source */
	unsigned long long	 refused[SIP_REFUSED_N];
	unsigned long long	 deadlines[SIP_DEADLINE_N];
	unsigned long		 win[SIP_REFUSED_N];	/* since the last line */
	char			 top[NET_ADDRSTRLEN + 4];	/* most refused */
	unsigned long		 top_votes;
	struct event		*refused_ev;	/* the refusal log interval */
	int			 reserve_fd;	/* /dev/null, given up on EMFILE */
	int			 exhausted;	/* descriptors ran out: alarm */
	struct event		*exhausted_ev;	/* clears it after a calm */
	struct timeval		 paused_logged;	/* last "accept paused" line */
	unsigned long		 pauses;	/* since that line */
	unsigned long long	 next_id;
	int			 stopping;
	struct sip_conn		*dead;		/* closed, freed after callbacks */
	struct event		*dead_ev;
	struct sip_conn		*outq;		/* with output staged this turn */
	struct event		*out_ev;	/* writes it at the turn's end */
	void			(*done)(void *);
	void			*done_arg;
	struct event		*done_ev;
	unsigned long long	 bad[SIP_BAD_NKINDS];	/* refusals by kind */
	int			 slots_hw;	/* libevent fd slots exist below */
	struct sip_hs		*hs;		/* handshake threads, or NULL */
	int			 hs_set;	/* the pool was set up once */
	int			 hs_setting;	/* tls.handshake_threads then */
	int			 hs_threads;	/* workers running */
	X509			*shared[CERT_SHARED_N];	/* CA certificates
						   peers sent, parsed once
						   (sip_conn_hs.c) */
	int			 shared_next;	/* the one replaced next */
};

/* sip_conn.c */

/*
 * A new connection record on t, inbound or outbound: id, t's profile
 * (referenced), origin (the local address from socket fd when fd >= 0),
 * timer, and its place in t's list and id map.  It owns no descriptor yet
 * (c->fd is -1) and is in CONN_CONNECTING; the caller sets up the rest.
 */
struct sip_conn		*sip_conn_new(struct sip_transport *t, int transport,
			    int fd, const struct sockaddr *peer,
			    socklen_t peerlen);
/* Turn Nagle off on stream socket fd. */
void			 sip_conn_no_delay(int fd);
/*
 * Move c to state s, keeping the count of handshakes in progress: every
 * state change of a connection goes through here, logged at debug
 * ("conn state", from -> to).
 */
void			 sip_conn_set_state(struct sip_conn *c,
			    enum conn_state s);
/*
 * log_event() about connection c: the string fields (name, value pairs
 * ended by NULL), then conn=ID.  Costs a level check when lvl is off.
 */
void			 sip_conn_log(const struct sip_conn *c,
			    enum log_level lvl, const char *module,
			    const char *event, ...) __attribute__((sentinel));
/* Start the idle deadline of c (open or held at the gate). */
void			 sip_conn_idle_start(struct sip_conn *c);
/* Deadline k of c in rel from now (replacing the one it had). */
void			 sip_conn_dl_set(struct sip_conn *c, enum conn_dl k,
			    const struct timeval *rel);
/* No deadline k any more. */
void			 sip_conn_dl_clear(struct sip_conn *c, enum conn_dl k);
/* Give c's new bufferevent its read watermark and callbacks; enable it. */
void			 sip_conn_bev_setup(struct sip_conn *c);
/* Close c: log why at level lvl, flush its output, free it later. */
void			 sip_conn_close_level(struct sip_conn *c,
			    enum log_level lvl, const char *reason);
/* Put c on the transport's dead list, freed on the next loop turn. */
void			 sip_conn_schedule_free(struct sip_conn *c);
/* The dead list's event: free the connections closed since it was armed. */
void			 sip_conn_dead_cb(evutil_socket_t fd, short what,
			    void *arg);
/* Free c now: unlink it, tell its watchers, release what it holds. */
void			 sip_conn_free(struct sip_conn *c);

/*
 * c's TLS handshake failed (why): tell an opener, log "handshake
 * failed", and free c later.
 */
void			 sip_conn_hs_failed(struct sip_conn *c,
			    const char *why);

/* sip_conn_hs.c */

/*
 * c's handshake is complete and its bufferevent made: log "handshake
 * ok", hold c at the gate and ask the gate.
 */
void			 sip_conn_handshake_done(struct sip_conn *c);
/* Release the CA certificates shared between connections' chains. */
void			 sip_conn_hs_shared_free(struct sip_transport *t);
/*
 * Run c's handshake (accept or connect state set on ssl) on the worker
 * pool: 0 with ssl and fd handed over (c->fd is -1 then), -1 when there
 * is no pool (nothing changed; the caller runs it on the loop).
 */
int			 sip_conn_hs_start(struct sip_conn *c, int fd,
			    SSL *ssl);
/*
 * The TCP connect of outbound TLS connection c (c->ssl) finished: its
 * handshake on the pool.  0 when handed over (c->ssl NULL, c in
 * CONN_HANDSHAKE), -1 when there is no pool (nothing changed).
 */
int			 sip_conn_hs_connect(struct sip_conn *c, int fd);
/*
 * The TLS (or socket) error behind an error event of c's bufferevent, in
 * buf; 1 when it came from TLS, 0 from the socket.
 */
int			 sip_conn_error_text(struct sip_conn *c, char *buf,
			    size_t bufsz);

/* sip_stream.c */

/* Frame and handle everything complete in c's input (bev's). */
void			 sip_stream_input(struct bufferevent *bev, void *c);
/* Records OpenSSL read ahead for c: go on reading them (this turn). */
void			 sip_stream_read_more(struct sip_conn *c);
/* Bytes came in on c (bev's): note when, then frame them. */
void			 sip_stream_read_cb(struct bufferevent *bev, void *c);

/* sip_out.c */

/*
 * Stage buf[0..len) on c, written with everything else staged in this
 * loop turn when its callbacks are done.  0, or -1.
 */
int			 sip_out_queue(struct sip_conn *c, const char *buf,
			    size_t len);
/* Write what c has staged now (to the socket, or to its bufferevent). */
void			 sip_out_flush(struct sip_conn *c);
/* The transport's end-of-turn event: write what every connection staged. */
void			 sip_out_cb(evutil_socket_t fd, short what, void *arg);
/* c is going away: drop what it staged. */
void			 sip_out_free(struct sip_conn *c);

/* sip_transport.c */

/* Fill o for a peer (and the local address of socket fd when fd >= 0). */
void			 sip_transport_fill_origin(struct sip_origin *o,
			    int transport, int fd, const struct sockaddr *peer,
			    socklen_t peerlen);
/* Parse, check, and deliver one framed message (its text goes in o). */
void			 sip_transport_deliver(struct sip_transport *t,
			    struct sip_origin *o, struct sip_profile *p,
			    const char *msg, size_t len);
/* Answer a message we refuse with status, from its raw text; log why. */
void			 sip_transport_refuse(struct sip_transport *t,
			    enum sip_bad k, const struct sip_origin *o,
			    struct sip_profile *p, const char *msg, size_t len,
			    int status, const char *reason);
/* Count a refused message of kind k and log it (status 0: unanswered). */
void			 sip_transport_log_bad(struct sip_transport *t,
			    enum sip_bad k, const struct sip_origin *o,
			    const char *reason, int status, const char *msg,
			    size_t len);
/* Count a refused connection from sa; logged at most once per interval. */
void			 sip_transport_refused(struct sip_transport *t,
			    enum sip_refusal why, const struct sockaddr *sa);
/* Take c off its source's list of authenticated flows (RFC 5923). */
void			 sip_transport_flows_del(struct sip_conn *c);

/* sip_listener.c */

/* Make libevent's per-descriptor slots ahead of descriptor fd. */
void			 sip_listener_slots_reserve(struct sip_transport *t,
			    int fd);
/* libevent's own messages to our log (quiet while slots are made). */
void			 sip_listener_libevent_log(int severity,
			    const char *msg);
/* Descriptors were available for a while again: clear the alarm. */
void			 sip_listener_exhausted_cb(evutil_socket_t fd,
			    short what, void *arg);

#endif
