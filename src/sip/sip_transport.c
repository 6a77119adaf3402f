/*
 * sip_transport.c: listeners, connections and framing for SIP over UDP,
 * TCP and TLS (libevent bufferevents, OpenSSL below them).
 *
 * Never blocks: sockets are non-blocking, TLS runs inside the bufferevent,
 * and every wait (handshake, incomplete message, idle) is bounded by a
 * timer from the connection's profile.  Connections are freed from a
 * zero-delay event so that no callback further up touches freed memory.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include "conf/conf.h"
#include "sip/sip_frame.h"
#include "sip/sip_msg.h"
#include "sip/sip_srctab.h"
#include "sip/sip_transport.h"
#include "util/alarm.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define CONN_MAGIC	0x5e1f0c0eU
#define UDP_BATCH	64	/* datagrams read per wake-up, then yield */
#define FLUSH_TIMEOUT	5	/* s to flush output before a forced close */
#define REFUSED_LOG_INTERVAL 10	/* s: at most one refusal log line per */
#define PAUSE_MIN_MS	10	/* accept pause after EMFILE: first, */
#define PAUSE_MAX_MS	1000	/* ... doubling up to this */
#define SHED_PER_PAUSE	8	/* backlog connections shed per pause */
#define FD_MARGIN_MIN	32	/* descriptors kept for all but connections */
#define ALARM_DESCRIPTORS "descriptors"
/* The handshakes in progress one source may hold: a tenth of them. */
#define HS_SHARE(max)	((max) / 10 > 0 ? (max) / 10 : 1)
#define STR2(x)	#x
#define STR(x)	STR2(x)
#define SIP_CRLF_BUDGET_TEXT	STR(SIP_CRLF_BUDGET)

enum conn_state {
	CONN_CONNECTING,	/* outbound: TCP connect in progress */
	CONN_HANDSHAKE,		/* TLS handshake in progress */
	CONN_GATED,		/* held at the peer gate: nothing read */
	CONN_OPEN,		/* reading and answering */
	CONN_CLOSING		/* flushing output, then freed */
};

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

struct sip_conn {
	unsigned int		 magic;
	struct sip_transport	*t;
	struct sip_profile	*profile;	/* referenced: rules at accept time */
	enum conn_state		 state;
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
	void			*ready_arg;
	int			 fd;		/* outbound, until bev owns it */
	struct event		*conn_ev;	/* before the bufferevent: outbound
						   connect finished, inbound TLS
						   first record whole */
	SSL			*ssl;		/* outbound TLS, until bev owns it */
	struct sip_conn		*prev, *next;
};

struct sip_transport {
	struct event_base	*base;
	sip_message_cb		 cb;
	void			*cb_arg;
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
	void			(*done)(void *);
	void			*done_arg;
	struct event		*done_ev;
	unsigned long long	 bad[SIP_BAD_NKINDS];	/* refusals by kind */
	int			 slots_hw;	/* libevent fd slots exist below */
};

static void conn_close(struct sip_conn *, enum log_level, const char *);
static void fd_slots_reserve(struct sip_transport *, int);
static void dl_set(struct sip_conn *, enum conn_dl, const struct timeval *);
static void dead_cb(evutil_socket_t, short, void *);
static void flows_del(struct sip_conn *);
static void libevent_log_cb(int, const char *);
static void fill_local(struct sip_conn *);
static void refused_log_cb(evutil_socket_t, short, void *);
static void exhausted_clear_cb(evutil_socket_t, short, void *);

/*
 * SIP messages are small and each is written whole: Nagle would only hold
 * a response (a 180 behind a 100) for the peer's delayed ACK.
 */
static void
no_delay(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

/* Tell an outbound connection's opener, once, how it went. */
static void
conn_ready(struct sip_conn *c, int ok, const char *why)
{
	void (*ready)(struct sip_conn *, int, const char *, void *) = c->ready;

	if (ready == NULL)
		return;
	c->ready = NULL;
	if (!ok)
		c->closed = NULL;	/* never ready: nothing to close */
	ready(c, ok, why, c->ready_arg);
}

/* Move c to state s, keeping the count of handshakes in progress. */
static void
conn_set_state(struct sip_conn *c, enum conn_state s)
{
	int delta = 0;

	if (c->state == CONN_HANDSHAKE && s != CONN_HANDSHAKE)
		delta = -1;
	else if (c->state != CONN_HANDSHAKE && s == CONN_HANDSHAKE)
		delta = 1;
	c->state = s;
	if (delta == 0)
		return;
	c->t->nhandshakes += (size_t)(long)delta;
	if (c->src_counted)
		sip_srctab_hs_add(c->t->src,
		    (struct sockaddr *)&c->origin.peer, delta);
}

/* Count a deadline that closed a connection. */
static void
deadline_hit(struct sip_conn *c, enum sip_deadline which)
{
	c->t->deadlines[which]++;
}

/*
 * Start the idle deadline of c (open or held at the gate): a timer of its
 * own rather than the bufferevent's read timeout, which stops while
 * reading is suspended (read watermark reached, input held at the gate).
 */
static void
conn_idle_start(struct sip_conn *c)
{
	struct timeval tv = { c->profile->idle_timeout, 0 };

	event_base_gettimeofday_cached(c->t->base, &c->last_rx);
	dl_set(c, DL_IDLE, &tv);
}

static void
conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;
	struct timeval now, since, left;
	struct timeval idle = { c->profile->idle_timeout, 0 };

	(void)fd;
	(void)what;
	if (c->state != CONN_OPEN && c->state != CONN_GATED)
		return;
	event_base_gettimeofday_cached(c->t->base, &now);
	evutil_timersub(&now, &c->last_rx, &since);
	if (evutil_timercmp(&since, &idle, <)) {
		evutil_timersub(&idle, &since, &left);
		dl_set(c, DL_IDLE, &left);
		return;
	}
	deadline_hit(c, SIP_DEADLINE_IDLE);
	conn_close(c, LOG_LVL_INFO, "idle timeout");
}

/* --- profiles ------------------------------------------------------- */

struct sip_profile *
sip_profile_new(SSL_CTX *ctx, size_t max_message_size, int read_timeout,
    int idle_timeout, int handshake_timeout, const char *server_name)
{
	struct sip_profile *p = xcalloc(1, sizeof *p);

	p->refs = 1;
	if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
		p->server_ctx = ctx;
	p->max_message_size = max_message_size;
	p->read_timeout = read_timeout;
	p->idle_timeout = idle_timeout;
	p->handshake_timeout = handshake_timeout;
	p->server_name = xstrdup(server_name);
	p->max_headers = SIP_MAX_HEADERS;
	return p;
}

void
sip_profile_set_max_headers(struct sip_profile *p, size_t n)
{
	p->max_headers = n;
}

void
sip_profile_ref(struct sip_profile *p)
{
	p->refs++;
}

void
sip_profile_unref(struct sip_profile *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	SSL_CTX_free(p->server_ctx);
	free(p->server_name);
	free(p);
}

/* --- transport ------------------------------------------------------ */

struct sip_transport *
sip_transport_new(struct event_base *base, sip_message_cb cb, void *arg)
{
	struct sip_transport *t = xcalloc(1, sizeof *t);

	t->base = base;
	t->byid = idmap_new();
	t->cb = cb;
	t->cb_arg = arg;
	t->max_total = (size_t)-1;
	event_set_log_callback(libevent_log_cb);
	t->fd_base = -1;
	t->src = sip_srctab_new();
	/* Given up when descriptors run out, to shed the backlog with. */
	t->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	t->refused_ev = evtimer_new(base, refused_log_cb, t);
	t->dead_ev = event_new(base, -1, 0, dead_cb, t);
	t->exhausted_ev = evtimer_new(base, exhausted_clear_cb, t);
	sip_msg_init();
	return t;
}

void
sip_transport_set_profile(struct sip_transport *t, struct sip_profile *p)
{
	sip_profile_ref(p);
	sip_profile_unref(t->profile);
	t->profile = p;
}

unsigned long long
sip_transport_closed(const struct sip_transport *t)
{
	/* Every connection made has an id; those not open any more closed. */
	return t->next_id - t->nconns;
}

size_t
sip_transport_nconns(const struct sip_transport *t)
{
	return t->nconns;
}

const char *
sip_bad_name(enum sip_bad k)
{
	static const char *const names[SIP_BAD_NKINDS] = {
		"garbage", "too_large", "bad_length", "no_length",
		"too_many_fields", "unparseable", "invalid", "crlf_flood",
		"incomplete"
	};

	return (unsigned)k < SIP_BAD_NKINDS ? names[k] : "?";
}

/* --- messages ------------------------------------------------------- */

/*
 * Count a refused message of kind k and log it (peer, reason, the response
 * sent if any, the start line).
 */
static void
log_bad(struct sip_transport *t, enum sip_bad k, const struct sip_origin *o,
    const char *reason, int status, const char *msg, size_t len)
{
	struct log_line l;

	t->bad[k]++;
	log_begin(&l, LOG_LVL_WARN, "sip", "bad message");
	log_kvs(&l, "peer", o->peer_str);
	log_kvs(&l, "transport", conf_transport_name(o->transport));
	log_kvs(&l, "reason", reason);
	log_kvs(&l, "kind", sip_bad_name(k));
	if (status)
		log_kv(&l, "response", "%d", status);
	if (msg != NULL) {
		const char *eol = memchr(msg, '\n', len);
		size_t n = eol ? (size_t)(eol - msg) : len;

		if (n > 0 && msg[n - 1] == '\r')
			n--;
		log_kvn(&l, "start_line", msg, n > 200 ? 200 : n);
	}
	log_end(&l);
}

/* Answer a message we refuse, from its raw text; log why either way. */
static void
refuse_raw(struct sip_transport *t, enum sip_bad k, const struct sip_origin *o,
    struct sip_profile *p, const char *msg, size_t len, int status,
    const char *reason)
{
	struct sip_src src = { o->peer_ip, o->peer_port };
	size_t rlen;
	char *resp;

	resp = sip_msg_raw_response(msg, len, status, &src, p->server_name,
	    reason, &rlen);
	log_bad(t, k, o, reason, resp ? status : 0, msg, len);
	if (resp != NULL) {
		sip_transport_reply(o, resp, rlen);
		free(resp);
	}
}

/* Parse, check, and deliver one framed message (with its text in o). */
static void
deliver(struct sip_transport *t, struct sip_origin *o,
    struct sip_profile *p, const char *msg, size_t len)
{
	struct sip_src src = { o->peer_ip, o->peer_port };
	osip_message_t *m;
	char why[256], *resp, tag[17];
	const char *hdrs[5];
	size_t rlen;
	int status;

	/* What libosip2 would spend on it, in one linear pass first. */
	if ((status = sip_msg_scan(msg, len, p->max_headers,
	    SIP_MSG_MAX_PARAMS, why, sizeof why)) != 0) {
		refuse_raw(t, SIP_BAD_TOO_MANY, o, p, msg, len, status, why);
		return;
	}
	if ((m = sip_msg_parse(msg, len)) == NULL) {
		status = sip_msg_parse_error(msg, len, why, sizeof why);
		refuse_raw(t, SIP_BAD_UNPARSEABLE, o, p, msg, len, status, why);
		return;
	}
	if ((status = sip_msg_check(m, why, sizeof why)) != 0) {
		if (MSG_IS_REQUEST(m) && strcmp(m->sip_method, "ACK") != 0 &&
		    m->from != NULL && m->to != NULL && m->call_id != NULL &&
		    m->cseq != NULL && osip_list_size(&m->vias) > 0) {
			char *w = xasprintf("399 %s \"%s\"", p->server_name, why);

			hdrs[0] = "Warning";
			hdrs[1] = w;
			hdrs[2] = "Server";
			hdrs[3] = "sipedge/" PACKAGE_VERSION;
			hdrs[4] = NULL;
			str_random_hex(tag, 16);	/* s.19.3: fresh each time */
			resp = sip_msg_response(m, &src, status, NULL, tag, hdrs,
			    &rlen);
			free(w);
			log_bad(t, SIP_BAD_INVALID, o, why, resp ? status : 0, msg,
			    len);
			if (resp != NULL) {
				sip_transport_reply(o, resp, rlen);
				free(resp);
			}
		} else
			refuse_raw(t, SIP_BAD_INVALID, o, p, msg, len, status, why);
		osip_message_free(m);
		return;
	}
	o->raw = msg;
	o->rawlen = len;
	t->cb(o, m, t->cb_arg);
	o->raw = NULL;
	o->rawlen = 0;
	osip_message_free(m);
}

/* --- stream connections --------------------------------------------- */

static void
dl_now(struct timeval *tv)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
}

/* Arm c's timer for the earliest of its deadlines, or stop it. */
static void
dl_arm(struct sip_conn *c)
{
	struct timeval now, rel, *first = NULL;
	int k;

	for (k = 0; k < DL_N; k++)
		if (timerisset(&c->dl[k]) &&
		    (first == NULL || timercmp(&c->dl[k], first, <)))
			first = &c->dl[k];
	if (first == NULL) {
		event_del(c->timer);
		return;
	}
	dl_now(&now);
	if (timercmp(first, &now, <))
		timerclear(&rel);
	else
		timersub(first, &now, &rel);
	evtimer_add(c->timer, &rel);
}

/* Deadline k of c in rel from now (replacing the one it had). */
static void
dl_set(struct sip_conn *c, enum conn_dl k, const struct timeval *rel)
{
	struct timeval now;

	dl_now(&now);
	timeradd(&now, rel, &c->dl[k]);
	dl_arm(c);
}

/*
 * No deadline k any more.  The timer stays armed for an earlier one that
 * was cleared: when it fires, it finds nothing due and arms for the next.
 */
static void
dl_clear(struct sip_conn *c, enum conn_dl k)
{
	int i;

	timerclear(&c->dl[k]);
	for (i = 0; i < DL_N; i++)
		if (timerisset(&c->dl[i]))
			return;
	event_del(c->timer);
}

static void
dl_clear_all(struct sip_conn *c)
{
	int k;

	for (k = 0; k < DL_N; k++)
		timerclear(&c->dl[k]);
	event_del(c->timer);
}

static void conn_hs_timeout_cb(evutil_socket_t, short, void *);
static void conn_rd_timeout_cb(evutil_socket_t, short, void *);
static void conn_idle_cb(evutil_socket_t, short, void *);

/*
 * c's timer: run the deadline that is due (one per call: its handler may
 * close the connection or set deadlines anew), then arm for the next.
 */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;
	struct timeval now;
	int k;

	dl_now(&now);
	for (k = 0; k < DL_N; k++)
		if (timerisset(&c->dl[k]) && !timercmp(&c->dl[k], &now, >))
			break;
	if (k < DL_N) {
		timerclear(&c->dl[k]);
		if (k == DL_STATE)
			conn_hs_timeout_cb(fd, what, c);
		else if (k == DL_READ)
			conn_rd_timeout_cb(fd, what, c);
		else
			conn_idle_cb(fd, what, c);
	}
	if (!c->dying)
		dl_arm(c);
}

static void conn_free(struct sip_conn *);

/* Free the connections closed since the callbacks that closed them. */
static void
dead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;
	struct sip_conn *c;

	(void)fd;
	(void)what;
	while ((c = t->dead) != NULL) {
		t->dead = c->dead_next;
		conn_free(c);
	}
}

static void
conn_free(struct sip_conn *c)
{
	struct sip_transport *t = c->t;

	if (t->gate_closed != NULL && c->transport == TP_TLS)
		t->gate_closed(c, t->gate_arg);
	conn_ready(c, 0, "the connection closed before it was ready");
	if (c->closed != NULL)
		c->closed(c, c->ready_arg);
	free(c->zone);
	free(c->auth_zone);
	free(c->auth_id);
	free(c->expected);

	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	idmap_del(t->byid, c->id);
	t->nconns--;
	conn_set_state(c, CONN_CLOSING);
	flows_del(c);
	if (c->src_counted) {
		sip_srctab_dec(t->src, (struct sockaddr *)&c->origin.peer);
		t->ninbound--;
	}
	if (c->bev)
		bufferevent_free(c->bev);
	else if (c->fd >= 0)
		close(c->fd);
	if (c->conn_ev != NULL)
		event_free(c->conn_ev);
	SSL_free(c->ssl);
	event_free(c->timer);
	sip_profile_unref(c->profile);
	c->magic = 0;
	free(c);
	if (t->stopping && t->nconns == 0 && t->done_ev != NULL)
		event_active(t->done_ev, EV_TIMEOUT, 0);
}

static void
conn_schedule_free(struct sip_conn *c)
{
	conn_set_state(c, CONN_CLOSING);
	dl_clear_all(c);
	if (c->conn_ev != NULL)
		event_del(c->conn_ev);
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (!c->dying) {
		c->dying = 1;
		c->dead_next = c->t->dead;
		c->t->dead = c;
		event_active(c->t->dead_ev, EV_TIMEOUT, 0);
	}
}

static void
conn_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct sip_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_schedule_free(c);
}

static void
conn_close_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;		/* an error or EOF while flushing */
	conn_schedule_free(arg);
}

/*
 * Close a connection: log why, then flush what is queued (bounded by
 * FLUSH_TIMEOUT) and free it on a later loop turn.
 */
static void
conn_close(struct sip_conn *c, enum log_level lvl, const char *reason)
{
	struct timeval tv = { FLUSH_TIMEOUT, 0 };

	if (c->state == CONN_CLOSING)
		return;
	log_event(lvl, "sip", "connection closed", "peer", c->origin.peer_str,
	    "transport", conf_transport_name(c->transport), "reason", reason,
	    NULL);
	conn_set_state(c, CONN_CLOSING);
	dl_clear_all(c);
	if (c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_schedule_free(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, conn_flushed_cb, conn_close_event_cb, c);
	bufferevent_enable(c->bev, EV_WRITE);
	/* One hard deadline (a write timeout would restart with every byte
	 * the peer takes, so a peer reading a byte at a time is cut too). */
	dl_set(c, DL_STATE, &tv);
}

/*
 * Text of the TLS (or socket) error behind a bufferevent error; 1 when it
 * came from TLS, 0 from the socket.
 */
static int
conn_error_text(struct sip_conn *c, char *buf, size_t bufsz)
{
	unsigned long e, last = 0;
	int err = EVUTIL_SOCKET_ERROR();

	if (c->transport == TP_TLS) {
		while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
			last = e;
	}
	if (last != 0 && ERR_GET_LIB(last) == 0) {
		/* libevent's own codes: the peer went away mid-record or
		 * without close_notify. */
		snprintf(buf, bufsz, "%s", err != 0 ?
		    evutil_socket_error_to_string(err) :
		    "peer closed the connection without TLS close_notify");
	} else if (last != 0) {
		const char *r = ERR_reason_error_string(last);

		if (r != NULL)
			snprintf(buf, bufsz, "%s", r);
		else
			ERR_error_string_n(last, buf, bufsz);
		return 1;
	} else if (err != 0)
		snprintf(buf, bufsz, "%s", evutil_socket_error_to_string(err));
	else
		snprintf(buf, bufsz, "connection reset");
	return 0;
}

static void conn_read_cb(struct bufferevent *, void *);
static void conn_input(struct bufferevent *, void *);

void
sip_transport_set_gate(struct sip_transport *t, sip_gate_cb gate,
    sip_conn_closed_cb closed, void *arg)
{
	t->gate = gate;
	t->gate_closed = closed;
	t->gate_arg = arg;
}

const struct sip_origin *
sip_conn_origin(const struct sip_conn *c)
{
	return &c->origin;
}

void
sip_conn_gate_open(struct sip_conn *c)
{
	if (c->state != CONN_GATED)
		return;
	dl_clear(c, DL_STATE);		/* the gate deadline */
	conn_set_state(c, CONN_OPEN);
	conn_ready(c, 1, NULL);
	if (c->state == CONN_OPEN) {
		bufferevent_enable(c->bev, EV_READ);
		conn_input(c->bev, c);	/* what came with the handshake */
	}
}

void
sip_conn_refuse(struct sip_conn *c, const char *reason)
{
	conn_ready(c, 0, reason);
	conn_close(c, LOG_LVL_WARN, reason);
}

void
sip_conn_close(struct sip_conn *c, const char *reason)
{
	conn_ready(c, 0, reason);
	conn_close(c, LOG_LVL_INFO, reason);
}

void
sip_conn_forget(struct sip_conn *c)
{
	c->ready = NULL;
	c->closed = NULL;
	c->ready_arg = NULL;
}

int
sip_conn_outbound(const struct sip_conn *c)
{
	return c->outbound;
}

const char *
sip_conn_zone(const struct sip_conn *c)
{
	return c->zone;
}

const char *
sip_conn_expected(const struct sip_conn *c)
{
	return c->expected;
}

int
sip_conn_send(struct sip_conn *c, const char *buf, size_t len)
{
	if (c->state == CONN_CLOSING || c->bev == NULL)
		return -1;
	return bufferevent_write(c->bev, buf, len) == 0 ? 0 : -1;
}

static void
conn_handshake_done(struct sip_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	struct timeval gate = { c->profile->gate_timeout > 0 ?
	    c->profile->gate_timeout : c->profile->handshake_timeout + 10, 0 };
	struct log_line l;
	X509 *peer;
	char *subj;

	/* Held at the gate until the verdict, which may never come. */
	dl_set(c, DL_STATE, &gate);
	conn_set_state(c, CONN_GATED);
	conn_idle_start(c);
	log_begin(&l, LOG_LVL_INFO, "tls", "handshake ok");
	log_kvs(&l, "peer", c->origin.peer_str);
	log_kvs(&l, "version", SSL_get_version(ssl));
	log_kvs(&l, "cipher", SSL_get_cipher_name(ssl));
	if ((peer = SSL_get0_peer_certificate(ssl)) != NULL) {
		subj = X509_NAME_oneline(X509_get_subject_name(peer), NULL, 0);
		log_kvs(&l, "peer_subject", subj);
		OPENSSL_free(subj);
	}
	log_end(&l);
	switch (c->t->gate != NULL ? c->t->gate(c, ssl, &c->origin,
	    c->t->gate_arg) : SIP_GATE_OPEN) {
	case SIP_GATE_OPEN:
		sip_conn_gate_open(c);
		break;
	case SIP_GATE_REFUSE:
		conn_close(c, LOG_LVL_WARN, "peer refused at the gate");
		break;
	case SIP_GATE_HOLD:
		break;
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sip_conn *c = arg;
	char why[256];
	int tls_err;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->outbound)
			fill_local(c);
		if (c->transport == TP_TLS)
			conn_handshake_done(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		deadline_hit(c, SIP_DEADLINE_IDLE);
		conn_close(c, LOG_LVL_INFO, "idle timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		tls_err = conn_error_text(c, why, sizeof why);
		if (c->state == CONN_HANDSHAKE) {
			char *r = xasprintf("%s: %s", tls_err ?
			    "TLS negotiation failure" : "connection lost during "
			    "the TLS handshake", why);

			conn_ready(c, 0, r);
			free(r);
			log_event(LOG_LVL_WARN, "tls", "handshake failed", "peer",
			    c->origin.peer_str, "reason", why, NULL);
			conn_schedule_free(c);
		} else
			conn_close(c, LOG_LVL_INFO, why);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->state == CONN_HANDSHAKE) {
			conn_ready(c, 0, "TLS negotiation failure: the peer "
			    "closed the connection during the handshake");
			log_event(LOG_LVL_WARN, "tls", "handshake failed", "peer",
			    c->origin.peer_str, "reason",
			    "peer closed the connection during the handshake", NULL);
			conn_schedule_free(c);
		} else
			conn_close(c, LOG_LVL_DEBUG, "closed by peer");
	}
}

static void
conn_hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;

	switch (c->state) {
	case CONN_CONNECTING:
		deadline_hit(c, SIP_DEADLINE_CONNECT);
		log_event(LOG_LVL_WARN, "sip", "connect failed", "peer",
		    c->origin.peer_str, "transport",
		    conf_transport_name(c->transport), "reason",
		    "no connection in time", NULL);
		conn_ready(c, 0, "connect failed: timed out");
		break;
	case CONN_HANDSHAKE:
		deadline_hit(c, SIP_DEADLINE_HANDSHAKE);
		log_event(LOG_LVL_WARN, "tls", "handshake timeout", "peer",
		    c->origin.peer_str, "reason", "no TLS handshake completed "
		    "in time", NULL);
		conn_ready(c, 0, "TLS negotiation failure: timed out");
		break;
	case CONN_GATED:
		deadline_hit(c, SIP_DEADLINE_GATE);
		log_event(LOG_LVL_WARN, "tls", "gate timeout", "peer",
		    c->origin.peer_str, "reason", "no revocation verdict for "
		    "the peer's certificate in time", NULL);
		conn_ready(c, 0, "no revocation verdict for the peer's "
		    "certificate in time");
		conn_close(c, LOG_LVL_WARN, "held at the gate too long");
		return;
	case CONN_CLOSING:
		deadline_hit(c, SIP_DEADLINE_FLUSH);
		log_event(LOG_LVL_DEBUG, "sip", "flush timeout", "peer",
		    c->origin.peer_str, "transport",
		    conf_transport_name(c->transport), NULL);
		break;
	case CONN_OPEN:
		return;
	}
	conn_schedule_free(c);
}

static void
conn_rd_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;

	deadline_hit(c, SIP_DEADLINE_PARTIAL);
	c->t->bad[SIP_BAD_INCOMPLETE]++;
	conn_close(c, LOG_LVL_WARN, "incomplete message timed out "
	    "(Content-Length larger than the data sent?)");
}

/* 1 when buf[0..n) is all bare CR/LF that may still become a CRLFCRLF ping. */
static int
ping_prefix(const char *buf, size_t n)
{
	return n < 4 && memcmp(buf, "\r\n\r\n", n) == 0;
}

/*
 * Account n bytes of bare CR/LF on an inbound connection: they keep it
 * alive only within SIP_CRLF_BUDGET per idle_timeout (a peer feeding line
 * feeds would otherwise hold it forever).  0, or -1 when it was closed.
 */
static int
crlf_budget(struct sip_conn *c, size_t n)
{
	struct timeval now;

	if (c->outbound || n == 0)
		return 0;
	evutil_gettimeofday(&now, NULL);
	if (c->crlf_bytes == 0 ||
	    now.tv_sec - c->crlf_window.tv_sec >= c->profile->idle_timeout) {
		c->crlf_window = now;
		c->crlf_bytes = 0;
	}
	c->crlf_bytes += n;
	if (c->crlf_bytes <= SIP_CRLF_BUDGET)
		return 0;
	c->t->bad[SIP_BAD_CRLF_FLOOD]++;
	conn_close(c, LOG_LVL_WARN, "keepalive flood: more than "
	    SIP_CRLF_BUDGET_TEXT " bytes of bare CR/LF within idle_timeout");
	return -1;
}

/*
 * Frame and handle everything complete in the input buffer.  Framing
 * alone decides the connection's fate: a framed message that cannot be
 * parsed or checked is answered (or dropped) and the next one is read;
 * only input that cannot be framed (binary, too large, bad length)
 * closes the connection.
 */
static void
conn_input(struct bufferevent *bev, void *arg)
{
	struct sip_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct sip_profile *p = c->profile;
	struct timeval rt = { p->read_timeout, 0 };
	struct frame f;
	enum frame_result r;
	size_t len;
	char *data;

	while (c->state == CONN_OPEN && (len = evbuffer_get_length(in)) > 0) {
		data = (char *)evbuffer_pullup(in, -1);
		r = sip_frame_stream_from(data, len, p->max_message_size,
		    &c->scan, &f);
		switch (r) {
		case FRAME_NEED_MORE:
			if (!c->outbound && f.skip == len &&
			    ping_prefix(data, len))
				return;		/* maybe the start of a ping */
			if (f.skip > 0) {
				/* Bare CR/LF are always drained. */
				if (c->outbound)
					evutil_gettimeofday(&c->crlf_at, NULL);
				evbuffer_drain(in, f.skip);
				if (crlf_budget(c, f.skip) == -1)
					return;
				continue;
			}
			/* A partial message: it has read_timeout to complete. */
			if (!timerisset(&c->dl[DL_READ]))
				dl_set(c, DL_READ, &rt);
			return;
		case FRAME_KEEPALIVE:
			evbuffer_drain(in, f.skip);
			if (c->outbound) {
				evutil_gettimeofday(&c->crlf_at, NULL);
				continue;
			}
			if (crlf_budget(c, f.skip) == -1)
				return;
			bufferevent_write(bev, "\r\n", 2);	/* RFC 5626 pong */
			continue;
		case FRAME_ERROR:
			if (f.error == FRAME_TOO_LARGE)
				refuse_raw(c->t, SIP_BAD_TOO_LARGE, &c->origin, p,
				    data + f.skip, len - f.skip, 513, f.reason);
			else if (f.error == FRAME_BAD_LENGTH)
				refuse_raw(c->t, SIP_BAD_LENGTH, &c->origin, p,
				    data + f.skip, len - f.skip, 400, f.reason);
			else
				log_bad(c->t, SIP_BAD_GARBAGE, &c->origin, f.reason,
				    0, NULL, 0);
			evbuffer_drain(in, len);
			conn_close(c, LOG_LVL_WARN, "cannot find the next message "
			    "boundary after a bad message");
			return;
		case FRAME_MESSAGE:
			dl_clear(c, DL_READ);
			c->crlf_bytes = 0;	/* a message: real activity */
			if (!f.has_length)
				refuse_raw(c->t, SIP_BAD_NO_LENGTH, &c->origin, p,
				    data + f.skip, f.total, 400,
				    "Content-Length is required on stream "
				    "transports (RFC 3261 s.18.3)");
			else
				deliver(c->t, &c->origin, p, data + f.skip, f.total);
			evbuffer_drain(in, f.skip + f.total);
			continue;
		}
	}
}

/*
 * Bytes came in on c: the idle deadline counts from the last (also while
 * held at the gate, when they wait unread), then whatever can be framed.
 */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct sip_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* Called again without new bytes too (input left unframed). */
	if (evbuffer_get_length(in) > c->rx_left)
		event_base_gettimeofday_cached(c->t->base, &c->last_rx);
	if (c->state == CONN_GATED) {
		/*
		 * Held at the gate: what the peer sends waits in the kernel
		 * until the verdict.  Reading stays on until then only to see
		 * the peer close; left on with input waiting unread past the
		 * watermark, the bufferevent calls back over and over, a busy
		 * loop for as long as the peer is held.
		 */
		bufferevent_disable(bev, EV_READ);
		c->rx_left = evbuffer_get_length(in);
		return;
	}
	conn_input(bev, c);
	c->rx_left = evbuffer_get_length(in);
}

static void
fill_origin(struct sip_origin *o, int transport, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;

	memset(o, 0, sizeof *o);
	o->transport = transport;
	if (peerlen > sizeof o->peer)
		peerlen = sizeof o->peer;	/* not IP: not a SIP peer */
	memcpy(&o->peer, peer, peerlen);
	o->peerlen = peerlen;
	net_addr_str(peer, o->peer_str, sizeof o->peer_str);
	net_addr_ip(peer, o->peer_ip, sizeof o->peer_ip, &o->peer_port);
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		net_addr_ip((struct sockaddr *)&local, o->local_ip,
		    sizeof o->local_ip, &o->local_port);
}

/* An outbound connection's local address, once it is connected. */
static void
fill_local(struct sip_conn *c)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;
	int fd = bufferevent_getfd(c->bev);

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		net_addr_ip((struct sockaddr *)&local, c->origin.local_ip,
		    sizeof c->origin.local_ip, &c->origin.local_port);
}

/*
 * The TCP connect of an outbound connection finished: on success wrap the
 * socket in its bufferevent (TLS: the handshake starts), else tell the
 * opener why.  Doing the TCP part ourselves keeps "connect failed" and
 * "TLS negotiation failure" apart.
 */
static void
outbound_connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;
	struct sip_profile *p = c->profile;
	socklen_t len = sizeof(int);
	int err = 0;
	char *why;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		why = xasprintf("connect failed: %s", strerror(err));
		log_event(LOG_LVL_WARN, "sip", "connect failed", "peer",
		    c->origin.peer_str, "transport",
		    conf_transport_name(c->transport), "reason", strerror(err),
		    NULL);
		conn_ready(c, 0, why);
		free(why);
		conn_schedule_free(c);
		return;
	}
	if (c->ssl != NULL) {
		c->bev = bufferevent_openssl_socket_new(c->t->base, fd, c->ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		c->ssl = NULL;		/* the bufferevent owns it now */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		conn_set_state(c, CONN_HANDSHAKE);
	} else {
		c->bev = bufferevent_socket_new(c->t->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		dl_clear(c, DL_STATE);
		conn_set_state(c, CONN_OPEN);
		conn_idle_start(c);
	}
	c->fd = -1;
	bufferevent_setwatermark(c->bev, EV_READ, 0, p->max_message_size + 4096);
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	fill_local(c);
	if (c->state == CONN_OPEN) {
		log_event(LOG_LVL_DEBUG, "sip", "connection open", "peer",
		    c->origin.peer_str, "transport", "tcp", NULL);
		conn_ready(c, 1, NULL);
	}
}

struct sip_conn *
sip_conn_open(struct sip_transport *t, const struct sip_conn_opts *o,
    char **cause)
{
	struct sip_profile *p = t->profile;
	struct sip_conn *c;
	struct timeval tv;
	SSL *ssl = NULL;
	int fd;

	if (t->stopping || p == NULL) {
		*cause = xstrdup("the transport is stopping");
		return NULL;
	}
	if (o->transport == TP_TLS && (p->server_ctx == NULL ||
	    (ssl = SSL_new(p->server_ctx)) == NULL)) {
		ERR_clear_error();
		*cause = xstrdup("no TLS context to connect with");
		return NULL;
	}
	fd = socket(o->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd != -1) {
		no_delay(fd);
		fd_slots_reserve(t, fd);
	}
	if (fd == -1 || (connect(fd, o->addr, o->addrlen) == -1 &&
	    errno != EINPROGRESS)) {
		char peer[NET_ADDRSTRLEN + 8];

		net_addr_str(o->addr, peer, sizeof peer);
		*cause = xasprintf("connect failed: %s (%s)", strerror(errno),
		    peer);
		if (fd != -1)
			close(fd);
		SSL_free(ssl);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->magic = CONN_MAGIC;
	c->id = ++t->next_id;
	c->t = t;
	c->transport = o->transport;
	c->profile = p;
	sip_profile_ref(p);
	c->outbound = 1;
	c->fd = fd;
	c->ssl = ssl;
	if (ssl != NULL && o->server_name != NULL)
		SSL_set_tlsext_host_name(ssl, o->server_name);
	c->zone = o->zone != NULL ? xstrdup(o->zone) : NULL;
	c->expected = o->expected != NULL ? xstrdup(o->expected) : NULL;
	c->ready = o->ready;
	c->closed = o->closed;
	c->ready_arg = o->arg;
	fill_origin(&c->origin, o->transport, -1, o->addr, o->addrlen);
	c->origin.conn = c;
	c->timer = evtimer_new(t->base, conn_timer_cb, c);
	c->conn_ev = event_new(t->base, fd, EV_WRITE, outbound_connected_cb, c);
	conn_set_state(c, CONN_CONNECTING);
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	idmap_put(t->byid, c->id, c);
	t->nconns++;
	/* Connect and handshake together are bounded. */
	tv.tv_sec = p->handshake_timeout;
	tv.tv_usec = 0;
	dl_set(c, DL_STATE, &tv);
	event_add(c->conn_ev, NULL);
	log_event(LOG_LVL_DEBUG, "sip", "connecting", "peer",
	    c->origin.peer_str, "transport", conf_transport_name(c->transport),
	    "zone", c->zone != NULL ? c->zone : "-", NULL);
	return c;
}

/* --- limits --------------------------------------------------------- */

static const char *const refusal_names[SIP_REFUSED_N] = {
	"max_connections", "per_source", "handshakes", "descriptors"
};
static const char *const deadline_names[SIP_DEADLINE_N] = {
	"connect", "handshake", "gate", "partial", "idle", "flush"
};

const char *
sip_refusal_name(int reason)
{
	return reason >= 0 && reason < SIP_REFUSED_N ? refusal_names[reason] :
	    "?";
}

const char *
sip_deadline_name(int deadline)
{
	return deadline >= 0 && deadline < SIP_DEADLINE_N ?
	    deadline_names[deadline] : "?";
}

/*
 * Descriptors in use now, roughly: the lowest free one (they are handed
 * out lowest first, and few holes are left at start).
 */
static long
fds_in_use(const struct sip_transport *t)
{
	int fd;

	if (t->reserve_fd < 0 ||
	    (fd = fcntl(t->reserve_fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return 16;
	close(fd);
	return fd;
}

void
sip_transport_set_limits(struct sip_transport *t, const struct sip_limits *l)
{
	struct rlimit rl;
	size_t total = l->max_connections != 0 ? l->max_connections :
	    (size_t)-1, margin = 0, nofile = 0;
	struct log_line ll;

	if (t->fd_base < 0)
		t->fd_base = fds_in_use(t);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		/* Connections stop before the kernel's limit: the rest is
		 * for listeners, the log, fetches, DNS and the control
		 * socket. */
		nofile = (size_t)rl.rlim_cur;
		margin = (size_t)t->fd_base + (nofile / 64 > FD_MARGIN_MIN ?
		    nofile / 64 : FD_MARGIN_MIN);
		if (nofile <= margin)
			total = 1;
		else if (nofile - margin < total)
			total = nofile - margin;
	}
	if (total == t->max_total && l->max_per_source ==
	    t->limits.max_per_source && l->max_handshakes ==
	    t->limits.max_handshakes)
		return;
	t->limits = *l;
	t->max_total = total;
	log_begin(&ll, LOG_LVL_INFO, "net", "connection limits");
	log_kv(&ll, "max_connections", "%zu", total);
	log_kv(&ll, "configured", "%zu", l->max_connections);
	log_kv(&ll, "per_source", "%zu", l->max_per_source);
	log_kv(&ll, "handshakes", "%zu", l->max_handshakes);
	if (nofile != 0) {
		log_kv(&ll, "descriptors", "%zu", nofile);
		log_kv(&ll, "reserved", "%zu", margin);
	} else
		log_kvs(&ll, "descriptors", "unlimited");
	log_end(&ll);
}

void
sip_transport_stats(const struct sip_transport *t,
    struct sip_transport_stats *st)
{
	memset(st, 0, sizeof *st);
	st->connections = t->nconns;
	st->inbound = t->ninbound;
	st->handshakes = t->nhandshakes;
	st->sources = sip_srctab_sources(t->src);
	st->max_connections = t->max_total;
	st->max_per_source = t->limits.max_per_source;
	st->max_handshakes = t->limits.max_handshakes;
	memcpy(st->refused, t->refused, sizeof st->refused);
	memcpy(st->deadlines, t->deadlines, sizeof st->deadlines);
	memcpy(st->bad, t->bad, sizeof st->bad);
	st->accept_paused = t->exhausted;
}

/* One line for the refusals since the last, then the interval restarts. */
static void
refused_log(struct sip_transport *t)
{
	struct timeval tv = { REFUSED_LOG_INTERVAL, 0 };
	struct log_line l;
	int i;

	log_begin(&l, LOG_LVL_WARN, "net", "connections refused");
	for (i = 0; i < SIP_REFUSED_N; i++) {
		log_kv(&l, refusal_names[i], "%lu", t->win[i]);
		t->win[i] = 0;
	}
	log_kvs(&l, "top_source", t->top);
	log_kv(&l, "interval", "%d", REFUSED_LOG_INTERVAL);
	log_end(&l);
	t->top_votes = 0;
	evtimer_add(t->refused_ev, &tv);
}

static void
refused_log_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < SIP_REFUSED_N; i++)
		if (t->win[i] != 0) {
			refused_log(t);
			return;
		}
}

/*
 * Count a refused connection from sa; the first of a quiet spell is
 * logged at once, the rest in one line per interval with the source
 * refused most (majority vote: exact when one source dominates).
 */
static void
refused(struct sip_transport *t, enum sip_refusal why,
    const struct sockaddr *sa)
{
	char src[sizeof t->top];

	t->refused[why]++;
	t->win[why]++;
	sip_srctab_name(sa, src, sizeof src);
	if (t->top_votes == 0) {
		snprintf(t->top, sizeof t->top, "%s", src);
		t->top_votes = 1;
	} else if (strcmp(t->top, src) == 0)
		t->top_votes++;
	else
		t->top_votes--;
	if (!evtimer_pending(t->refused_ev, NULL))
		refused_log(t);
}

/* Close an accepted socket at once, with a reset: no TIME_WAIT here. */
static void
drop_fd(int fd)
{
	struct linger lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Descriptors have been available for a while again: clear the alarm. */
static void
exhausted_clear_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;

	(void)fd;
	(void)what;
	if (!t->exhausted)
		return;
	t->exhausted = 0;
	alarm_clear(ALARM_DESCRIPTORS);
	log_event(LOG_LVL_NOTICE, "net", "accept resumed", NULL);
}

/* The listener's pause after EMFILE is over: try accepting again. */
static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_listener *l = arg;

	(void)fd;
	(void)what;
	if (l->lev != NULL)
		evconnlistener_enable(l->lev);
}

/*
 * No descriptor for the next connection (EMFILE, ENFILE...): stop
 * accepting on l for a while (10 ms doubling to 1 s) instead of spinning
 * on a listener that stays readable; give up the reserve descriptor to
 * accept and reset a few waiting connections, so that their clients learn
 * at once; raise an alarm.  Logged at most once per interval.
 */
static void
descriptors_exhausted(struct sip_listener *l, int err)
{
	struct sip_transport *t = l->t;
	struct sockaddr_storage ss;
	struct timeval tv, now, since;
	struct rlimit rl;
	struct log_line ll;
	socklen_t sl;
	int i, fd;

	evconnlistener_disable(l->lev);
	if (t->reserve_fd >= 0) {
		close(t->reserve_fd);
		t->reserve_fd = -1;
	}
	for (i = 0; i < SHED_PER_PAUSE; i++) {
		sl = sizeof ss;
		fd = accept4(evconnlistener_get_fd(l->lev),
		    (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1)
			break;
		drop_fd(fd);
		refused(t, SIP_REFUSED_DESCRIPTORS, (struct sockaddr *)&ss);
	}
	t->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	l->pause_ms = l->pause_ms == 0 ? PAUSE_MIN_MS :
	    l->pause_ms * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : l->pause_ms * 2;
	tv.tv_sec = l->pause_ms / 1000;
	tv.tv_usec = (l->pause_ms % 1000) * 1000;
	evtimer_add(l->pause_ev, &tv);
	evtimer_del(t->exhausted_ev);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_cur = 0;
	if (!t->exhausted) {
		t->exhausted = 1;
		alarm_raise(ALARM_DESCRIPTORS, "out of file descriptors "
		    "(limit %llu): new connections are not accepted until "
		    "some close", (unsigned long long)rl.rlim_cur);
	}
	t->pauses++;
	event_base_gettimeofday_cached(t->base, &now);
	evutil_timersub(&now, &t->paused_logged, &since);
	if (t->paused_logged.tv_sec != 0 && since.tv_sec < REFUSED_LOG_INTERVAL)
		return;
	t->paused_logged = now;
	log_begin(&ll, LOG_LVL_ERROR, "net", "accept paused");
	log_kvs(&ll, "transport", conf_transport_name(l->transport));
	log_kvs(&ll, "address", l->address);
	log_kv(&ll, "port", "%d", l->port);
	log_kvs(&ll, "reason", evutil_socket_error_to_string(err));
	log_kv(&ll, "descriptors", "%llu", (unsigned long long)rl.rlim_cur);
	log_kv(&ll, "pause_ms", "%d", l->pause_ms);
	log_kv(&ll, "pauses", "%lu", t->pauses);
	log_end(&ll);
	t->pauses = 0;
}

/*
 * The bufferevent of a connection: reading stops well before a peer can
 * make us buffer without bound.
 */
static void
conn_bev_setup(struct sip_conn *c)
{
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    c->profile->max_message_size + 4096);
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* An inbound TLS connection that ended before its handshake began. */
static void
hello_failed(struct sip_conn *c, enum log_level lvl, const char *reason)
{
	log_event(lvl, "tls", "handshake failed", "peer", c->origin.peer_str,
	    "reason", reason, NULL);
	conn_schedule_free(c);
}

/* Wake the hello wait only once n bytes are there (Linux honours it). */
static void
set_lowat(int fd, int n)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &n, sizeof n);
}

/*
 * An inbound TLS connection before its first TLS record is whole.
 * OpenSSL's state for a server handshake in progress costs about 48 KB
 * (the SSL object, a 16 KB handshake buffer and a read buffer holding the
 * partial record), so a client that sends half a ClientHello and waits
 * would hold that until the handshake deadline.  Instead the record waits
 * in the kernel: its 5-byte header is peeked, checked (a handshake record
 * of TLS, at most 2^14 bytes, RFC 8446 s.5.1), and the socket is woken
 * again only when the whole record is there (SO_RCVLOWAT; edge-triggered
 * so that a kernel that ignores the low-water mark costs one wakeup per
 * segment, never a spin).  A pending handshake costs the connection
 * record and its events, about 1 KB.
 */
static void
hello_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;
	unsigned char h[5];
	char why[96];
	ssize_t n;
	size_t len;
	int avail = 0;
	SSL *ssl;

	if (what & EV_CLOSED) {
		hello_failed(c, LOG_LVL_WARN, "peer closed the connection "
		    "before its ClientHello was complete");
		return;
	}
	n = recv(fd, h, sizeof h, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		hello_failed(c, LOG_LVL_WARN, n == 0 ? "peer closed the "
		    "connection before its ClientHello was complete" :
		    strerror(errno));
		return;
	}
	if (h[0] != 22 || (n >= 2 && h[1] != 3)) {
		if (n >= 2)
			snprintf(why, sizeof why, "not a TLS handshake (the "
			    "first bytes are 0x%02x 0x%02x)", h[0], h[1]);
		else
			snprintf(why, sizeof why, "not a TLS handshake (the "
			    "first byte is 0x%02x)", h[0]);
		hello_failed(c, LOG_LVL_WARN, why);
		return;
	}
	if (n < (ssize_t)sizeof h) {
		set_lowat(fd, (int)sizeof h);
		return;
	}
	len = (size_t)h[3] << 8 | h[4];
	if (len == 0 || len > 16384) {
		snprintf(why, sizeof why, "a TLS record of %zu bytes (1 to "
		    "16384 allowed)", len);
		hello_failed(c, LOG_LVL_WARN, why);
		return;
	}
	if (ioctl(fd, FIONREAD, &avail) == -1 ||
	    (size_t)avail < sizeof h + len) {
		set_lowat(fd, (int)(sizeof h + len));
		return;
	}
	set_lowat(fd, 1);
	event_free(c->conn_ev);
	c->conn_ev = NULL;
	if (c->profile->server_ctx == NULL ||
	    (ssl = SSL_new(c->profile->server_ctx)) == NULL) {
		ERR_clear_error();
		hello_failed(c, LOG_LVL_ERROR, "no TLS context");
		return;
	}
	c->bev = bufferevent_openssl_socket_new(c->t->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	c->fd = -1;		/* the bufferevent owns it now */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	conn_bev_setup(c);
}

/*
 * libevent keeps a small record for each descriptor number it has watched
 * (its evmap slot) for the life of the event base, allocated the first
 * time that number is watched.  Allocated one by one as connections
 * arrive, each slot lands amid its connection's memory and, once the
 * connection has gone, pins a page of the heap that nothing else uses:
 * after a wave of 5,000 TLS connections closed, 18 MB of free heap stayed
 * resident and the trim that followed held the loop for half a second
 * (contrib/bench/README.md, waves).  So the slots are made ahead of the
 * numbers in use, in batches that double (256, 512, ... up to the
 * descriptor limit), and sit together: watching a number that is not
 * open fails in epoll_ctl after libevent has made the slot, changing
 * nothing else (libevent's warning about it is silenced meanwhile).
 */
static int slots_quiet;

static void
libevent_log_cb(int severity, const char *msg)
{
	if (slots_quiet)
		return;
	log_event(severity >= EVENT_LOG_ERR ? LOG_LVL_ERROR : LOG_LVL_WARN,
	    "net", "libevent", "message", msg, NULL);
}

static void
slot_noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
fd_slots_reserve(struct sip_transport *t, int fd)
{
	struct rlimit rl;
	struct event *ev;
	int hi, n;

	if (fd < t->slots_hw)
		return;
	hi = t->slots_hw < 256 ? 256 : t->slots_hw * 2;
	while (hi <= fd)
		hi *= 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)hi > rl.rlim_cur)
		hi = rl.rlim_cur > (rlim_t)fd ? (int)rl.rlim_cur : fd + 1;
	if ((ev = event_new(t->base, -1, 0, slot_noop_cb, NULL)) == NULL)
		return;
	slots_quiet = 1;
	for (n = t->slots_hw; n < hi; n++) {
		if (event_assign(ev, t->base, n, EV_READ, slot_noop_cb,
		    NULL) == 0 && event_add(ev, NULL) == 0)
			event_del(ev);
	}
	slots_quiet = 0;
	event_free(ev);
	ERR_clear_error();
	if (log_enabled(LOG_LVL_DEBUG)) {
		struct log_line l;

		log_begin(&l, LOG_LVL_DEBUG, "net", "descriptor slots");
		log_kv(&l, "from", "%d", t->slots_hw);
		log_kv(&l, "below", "%d", hi);
		log_end(&l);
	}
	t->slots_hw = hi;
}

/*
 * Which limit refuses an inbound connection from sa on l now, or -1 when
 * none does.
 */
static int
over_limit(struct sip_transport *t, struct sip_listener *l,
    const struct sockaddr *sa)
{
	if (t->nconns >= t->max_total)
		return SIP_REFUSED_TOTAL;
	if (t->limits.max_per_source != 0 &&
	    sip_srctab_count(t->src, sa) >= t->limits.max_per_source)
		return SIP_REFUSED_SOURCE;
	if (l->transport == TP_TLS && t->limits.max_handshakes != 0 &&
	    (t->nhandshakes >= t->limits.max_handshakes ||
	    sip_srctab_hs(t->src, sa) >= HS_SHARE(t->limits.max_handshakes)))
		return SIP_REFUSED_HANDSHAKES;
	return -1;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct sip_listener *l = arg;
	struct sip_transport *t = l->t;
	struct sip_profile *p = t->profile;
	struct sip_conn *c;
	struct timeval tv;
	int why;

	if (l->pause_ms != 0) {
		/* Descriptors again: the next pause starts short, and the
		 * alarm clears after a calm interval. */
		l->pause_ms = 0;
		if (t->exhausted && !evtimer_pending(t->exhausted_ev, NULL)) {
			tv.tv_sec = REFUSED_LOG_INTERVAL;
			tv.tv_usec = 0;
			evtimer_add(t->exhausted_ev, &tv);
		}
	}
	if (t->stopping || p == NULL) {
		close(fd);
		return;
	}
	if ((why = over_limit(t, l, sa)) >= 0) {
		drop_fd(fd);
		refused(t, why, sa);
		return;
	}
	fd_slots_reserve(t, fd);
	c = xcalloc(1, sizeof *c);
	c->magic = CONN_MAGIC;
	c->id = ++t->next_id;
	c->t = t;
	c->transport = l->transport;
	c->profile = p;
	sip_profile_ref(p);
	fill_origin(&c->origin, l->transport, fd, sa, (socklen_t)salen);
	sip_srctab_inc(t->src, sa);
	c->src_counted = 1;
	t->ninbound++;
	no_delay(fd);
	c->origin.conn = c;
	c->origin.listener = l;
	c->timer = evtimer_new(t->base, conn_timer_cb, c);

	if (l->transport == TP_TLS) {
		/* No TLS state until the first record is whole: hello_cb. */
		c->fd = fd;
		conn_set_state(c, CONN_HANDSHAKE);
		tv.tv_sec = p->handshake_timeout;
		tv.tv_usec = 0;
		dl_set(c, DL_STATE, &tv);
		c->conn_ev = event_new(t->base, fd, EV_READ | EV_PERSIST | EV_ET |
		    EV_CLOSED, hello_cb, c);
		event_add(c->conn_ev, NULL);
	} else {
		c->fd = -1;
		c->bev = bufferevent_socket_new(t->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		conn_set_state(c, CONN_OPEN);
		conn_idle_start(c);
		conn_bev_setup(c);
	}

	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	idmap_put(t->byid, c->id, c);
	t->nconns++;
	log_event(LOG_LVL_DEBUG, "sip", "connection accepted", "peer",
	    c->origin.peer_str, "transport", conf_transport_name(c->transport),
	    NULL);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct sip_listener *l = arg;
	char port[16];
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		descriptors_exhausted(l, err);
		return;
	}
	snprintf(port, sizeof port, "%d", l->port);
	log_event(LOG_LVL_ERROR, "net", "accept failed", "transport",
	    conf_transport_name(l->transport), "address", l->address, "port",
	    port, "reason", evutil_socket_error_to_string(err), NULL);
}

/* --- UDP ------------------------------------------------------------ */

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_listener *l = arg;
	struct sip_transport *t = l->t;
	struct sip_profile *p = t->profile;
	static char buf[65536];
	struct sockaddr_storage ss;
	struct sip_origin o;
	struct frame f;
	socklen_t sl;
	ssize_t n;
	int i;

	for (i = 0; i < UDP_BATCH; i++) {
		sl = sizeof ss;
		n = recvfrom(fd, buf, sizeof buf - 1, MSG_TRUNC,
		    (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;		/* EAGAIN, or an ICMP error: nothing to do */
		if (p == NULL || t->stopping)
			continue;
		fill_origin(&o, TP_UDP, -1, (struct sockaddr *)&ss, sl);
		snprintf(o.local_ip, sizeof o.local_ip, "%s", l->address);
		o.local_port = l->port;
		o.listener = l;
		if ((size_t)n >= sizeof buf - 1 || (size_t)n > p->max_message_size) {
			refuse_raw(t, SIP_BAD_TOO_LARGE, &o, p, buf,
			    sizeof buf - 1 < (size_t)n ?
			    sizeof buf - 1 : (size_t)n, 513,
			    "datagram larger than the maximum message size");
			continue;
		}
		buf[n] = '\0';
		switch (sip_frame_datagram(buf, (size_t)n, p->max_message_size, &f)) {
		case FRAME_KEEPALIVE:
		case FRAME_NEED_MORE:
			continue;
		case FRAME_ERROR:
			if (f.error == FRAME_GARBAGE)
				log_bad(t, SIP_BAD_GARBAGE, &o, f.reason, 0, NULL, 0);
			else
				refuse_raw(t, f.error == FRAME_TOO_LARGE ?
				    SIP_BAD_TOO_LARGE : SIP_BAD_LENGTH, &o, p,
				    buf + f.skip, (size_t)n - f.skip,
				    f.error == FRAME_TOO_LARGE ? 513 : 400, f.reason);
			continue;
		case FRAME_MESSAGE:
			deliver(t, &o, p, buf + f.skip, f.total);
			continue;
		}
	}
}

/* --- listeners ------------------------------------------------------ */

static int
bind_socket(int transport, const char *address, int port, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on = 1;

	if (net_addr_parse(address, port, &ss, &sl) == -1) {
		*cause = xasprintf("%s is not an IP address", address);
		return -1;
	}
	fd = socket(ss.ss_family, (transport == TP_UDP ? SOCK_DGRAM :
	    SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/* Streams may rebind over TIME_WAIT; UDP must not share a port. */
	if (transport != TP_UDP &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
		goto fail;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1)
		goto fail;
	if (transport != TP_UDP && listen(fd, 128) == -1)
		goto fail;
	return fd;
fail:
	*cause = xasprintf("cannot listen on %s %s port %d: %s",
	    conf_transport_name(transport), address, port, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

struct sip_listener *
sip_listener_open(struct sip_transport *t, int transport, const char *address,
    int port, char **cause)
{
	struct sip_listener *l;
	int fd;

	if ((fd = bind_socket(transport, address, port, cause)) == -1)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->t = t;
	l->transport = transport;
	l->address = xstrdup(address);
	l->port = port;
	l->fd = fd;
	if (transport == TP_UDP) {
		l->ev = event_new(t->base, fd, EV_READ | EV_PERSIST, udp_read_cb, l);
		event_add(l->ev, NULL);
	} else {
		l->lev = evconnlistener_new(t->base, accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
		if (l->lev == NULL) {
			*cause = xasprintf("cannot listen on %s %s port %d",
			    conf_transport_name(transport), address, port);
			close(fd);
			free(l->address);
			free(l);
			return NULL;
		}
		evconnlistener_set_error_cb(l->lev, accept_error_cb);
		l->pause_ev = evtimer_new(t->base, accept_resume_cb, l);
	}
	l->next = t->listeners;
	t->listeners = l;
	return l;
}

void
sip_listener_close(struct sip_listener *l)
{
	struct sip_transport *t;
	struct sip_listener **pp;

	if (l == NULL)
		return;
	t = l->t;
	for (pp = &t->listeners; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	if (l->pause_ev != NULL)
		event_free(l->pause_ev);
	if (l->lev != NULL)
		evconnlistener_free(l->lev);	/* closes fd */
	if (l->ev != NULL) {
		event_free(l->ev);
		close(l->fd);
	}
	free(l->address);
	free(l->zone);
	free(l);
}

/* --- sending -------------------------------------------------------- */

int
sip_transport_reply(const struct sip_origin *o, const char *buf, size_t len)
{
	struct sip_conn *c = o->conn;

	if (o->transport == TP_UDP) {
		if (o->listener == NULL)
			return -1;
		if (sendto(o->listener->fd, buf, len, 0,
		    (const struct sockaddr *)&o->peer, o->peerlen) < 0) {
			log_event(LOG_LVL_WARN, "sip", "send failed", "peer",
			    o->peer_str, "transport", "udp", "reason",
			    strerror(errno), NULL);
			return -1;
		}
		return 0;
	}
	if (c == NULL || c->magic != CONN_MAGIC || c->state == CONN_CLOSING ||
	    c->bev == NULL)
		return -1;
	return bufferevent_write(c->bev, buf, len) == 0 ? 0 : -1;
}

unsigned long long
sip_conn_id(const struct sip_conn *c)
{
	return c->id;
}

int
sip_conn_transport(const struct sip_conn *c)
{
	return c->transport;
}

int
sip_conn_usable(const struct sip_conn *c)
{
	return c->state == CONN_OPEN;
}

/* By id in constant time: a flow token is looked up per message. */
struct sip_conn *
sip_transport_conn(struct sip_transport *t, unsigned long long id)
{
	struct sip_conn *c = idmap_get(t->byid, id);

	return c != NULL && c->state == CONN_OPEN ? c : NULL;
}

void
sip_conn_watch(struct sip_conn *c, void (*closed)(struct sip_conn *, void *),
    void *arg)
{
	if (c->outbound)
		return;		/* the opener's callbacks */
	c->closed = closed;
	c->ready_arg = arg;
}

void
sip_listener_set_zone(struct sip_listener *l, const char *zone)
{
	free(l->zone);
	l->zone = zone != NULL ? xstrdup(zone) : NULL;
}

const char *
sip_listener_zone(const struct sip_listener *l)
{
	return l != NULL ? l->zone : NULL;
}

void
sip_conn_last_crlf(const struct sip_conn *c, struct timeval *tv)
{
	*tv = c->crlf_at;
}

const char *
sip_conn_auth_zone(const struct sip_conn *c)
{
	return c->auth_zone;
}

int
sip_conn_tls_info(const struct sip_conn *c, const char **version,
    const char **cipher)
{
	SSL *ssl;

	if (c->transport != TP_TLS || c->bev == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL)
		return -1;
	*version = SSL_get_version(ssl);
	*cipher = SSL_get_cipher_name(ssl);
	return 0;
}

/*
 * The inbound connections the gate authenticated, listed per source in
 * the source table (sip_srctab_user), so that the flow to a zone peer is
 * found among its source's connections, not among all of them.
 */
static void
flows_add(struct sip_conn *c)
{
	void **head;

	if (c->in_flows || c->outbound || !c->src_counted ||
	    (head = sip_srctab_user(c->t->src,
	    (struct sockaddr *)&c->origin.peer)) == NULL)
		return;
	c->flow_next = *head;
	*head = c;
	c->in_flows = 1;
}

static void
flows_del(struct sip_conn *c)
{
	struct sip_conn **pp;
	void **head;

	if (!c->in_flows || (head = sip_srctab_user(c->t->src,
	    (struct sockaddr *)&c->origin.peer)) == NULL)
		return;
	for (pp = (struct sip_conn **)head; *pp != NULL;
	    pp = &(*pp)->flow_next)
		if (*pp == c) {
			*pp = c->flow_next;
			break;
		}
	c->in_flows = 0;
}

void
sip_conn_set_authenticated(struct sip_conn *c, const char *zone,
    const char *identity)
{
	free(c->auth_zone);
	free(c->auth_id);
	c->auth_zone = zone != NULL ? xstrdup(zone) : NULL;
	c->auth_id = identity != NULL ? xstrdup(identity) : NULL;
	if (zone != NULL && identity != NULL)
		flows_add(c);
}

const char *
sip_conn_authenticated(const struct sip_conn *c)
{
	return c->auth_id;
}

static int
same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return 0;
}

struct sip_conn *
sip_transport_find_flow(struct sip_transport *t, const struct sockaddr *sa,
    const char *zone, const char *identity)
{
	struct sip_conn *c;
	void **head = sip_srctab_user(t->src, sa);

	for (c = head != NULL ? *head : NULL; c != NULL; c = c->flow_next)
		if (!c->outbound && c->state == CONN_OPEN &&
		    c->auth_zone != NULL && strcmp(c->auth_zone, zone) == 0 &&
		    c->auth_id != NULL && strcmp(c->auth_id, identity) == 0 &&
		    same_ip((struct sockaddr *)&c->origin.peer, sa))
			return c;
	return NULL;
}

/* The first UDP listener of family af (AF_UNSPEC: any). */
static struct sip_listener *
udp_listener(struct sip_transport *t, int af)
{
	struct sip_listener *l;
	unsigned char b[16];

	for (l = t->listeners; l != NULL; l = l->next) {
		if (l->transport != TP_UDP)
			continue;
		if (af == AF_UNSPEC ||
		    inet_pton(af, l->address, b) == 1)
			return l;
	}
	return NULL;
}

int
sip_transport_send_udp(struct sip_transport *t, const struct sockaddr *sa,
    socklen_t sl, const char *buf, size_t len)
{
	struct sip_listener *l = udp_listener(t, sa->sa_family);
	char peer[NET_ADDRSTRLEN];

	if (l == NULL)
		return -1;
	if (sendto(l->fd, buf, len, 0, sa, sl) < 0) {
		net_addr_str(sa, peer, sizeof peer);
		log_event(LOG_LVL_WARN, "sip", "send failed", "peer", peer,
		    "transport", "udp", "reason", strerror(errno), NULL);
		return -1;
	}
	return 0;
}

int
sip_transport_listens(struct sip_transport *t, const char *ip, int port)
{
	struct sip_listener *l;

	for (l = t->listeners; l != NULL; l = l->next)
		if (l->port == port && strcasecmp(l->address, ip) == 0)
			return 1;
	return 0;
}

int
sip_transport_local(struct sip_transport *t, int transport, int af,
    char *ip, size_t ipsz, int *port)
{
	struct sip_listener *l;
	unsigned char b[16];

	for (l = t->listeners; l != NULL; l = l->next) {
		if (l->transport != transport)
			continue;
		if (af != AF_UNSPEC && inet_pton(af, l->address, b) != 1)
			continue;
		snprintf(ip, ipsz, "%s", l->address);
		*port = l->port;
		return 0;
	}
	return -1;
}

/* --- stopping ------------------------------------------------------- */

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;

	if (t->done != NULL && t->nconns == 0) {
		void (*done)(void *) = t->done;

		t->done = NULL;
		done(t->done_arg);
	}
}

void
sip_transport_shutdown(struct sip_transport *t, void (*done)(void *),
    void *arg)
{
	struct sip_conn *c, *next;

	t->stopping = 1;
	t->done = done;
	t->done_arg = arg;
	if (t->done_ev == NULL)
		t->done_ev = event_new(t->base, -1, 0, done_cb, t);
	while (t->listeners != NULL)
		sip_listener_close(t->listeners);
	for (c = t->conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c, LOG_LVL_DEBUG, "shutting down");
	}
	if (t->nconns == 0)
		event_active(t->done_ev, EV_TIMEOUT, 0);
}

void
sip_transport_free(struct sip_transport *t)
{
	if (t == NULL)
		return;
	while (t->listeners != NULL)
		sip_listener_close(t->listeners);
	while (t->conns != NULL)
		conn_free(t->conns);
	event_free(t->dead_ev);
	if (t->done_ev != NULL)
		event_free(t->done_ev);
	event_free(t->refused_ev);
	event_free(t->exhausted_ev);
	sip_srctab_free(t->src);
	idmap_free(t->byid);
	if (t->reserve_fd >= 0)
		close(t->reserve_fd);
	sip_profile_unref(t->profile);
	free(t);
}
