/*
 * sip_conn.c: stream connections (TCP and TLS): one constructor, their
 * deadlines on one timer, the handshake and the gate, closing and the
 * deferred free, and the outbound open.  What is read on them is framed
 * in sip_stream.c; the end of a handshake, and handshakes on the worker
 * threads, are in sip_conn_hs.c.
 *
 * Never blocks: every wait (connect, handshake, gate, incomplete message,
 * idle, flush) is bounded by a deadline from the connection's profile.  A
 * connection is freed from a zero-delay event so that no callback further
 * up touches freed memory.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "conf/conf.h"
#include "sip/sip_hs.h"
#include "sip/sip_srctab.h"
#include "sip/sip_transport_int.h"
#include "util/idmap.h"
#include "util/xmalloc.h"

#define FLUSH_TIMEOUT	5	/* s to flush output before a forced close */

static void conn_hs_timeout_cb(evutil_socket_t, short, void *);
static void conn_rd_timeout_cb(evutil_socket_t, short, void *);
static void fill_local(struct sip_conn *, int);

/*
 * SIP messages are small and each is written whole: Nagle would only hold
 * a response (a 180 behind a 100) for the peer's delayed ACK.
 */
void
sip_conn_no_delay(int fd)
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

/* The name of state s, for the log. */
static const char *
conn_state_name(enum conn_state s)
{
	switch (s) {
	case CONN_CONNECTING:	return "connecting";
	case CONN_HANDSHAKE:	return "handshake";
	case CONN_GATED:	return "gated";
	case CONN_OPEN:		return "open";
	case CONN_CLOSING:	return "closing";
	}
	return "?";
}

/* log_event() about c, with conn=ID last (sip_transport_int.h). */
void
sip_conn_log(const struct sip_conn *c, enum log_level lvl, const char *module,
    const char *event, ...)
{
	struct log_line l;
	const char *k, *v;
	va_list ap;

	log_begin(&l, lvl, module, event);
	if (!l.enabled)
		return;
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		log_kvs(&l, k, v);
	}
	va_end(ap);
	log_kv(&l, "conn", "%llu", c->id);
	log_end(&l);
}

/*
 * Move c to state s, keeping the count of handshakes in progress; the one
 * place a connection changes state, logged at debug.
 */
void
sip_conn_set_state(struct sip_conn *c, enum conn_state s)
{
	int delta = 0;

	if (c->state_set && c->state == s)
		return;
	if (log_enabled(LOG_LVL_DEBUG))
		sip_conn_log(c, LOG_LVL_DEBUG, "sip", "conn state", "peer",
		    c->origin.peer_str, "from", c->state_set ?
		    conn_state_name(c->state) : "-", "to", conn_state_name(s),
		    NULL);
	if (c->state == CONN_HANDSHAKE && s != CONN_HANDSHAKE)
		delta = -1;
	else if (c->state != CONN_HANDSHAKE && s == CONN_HANDSHAKE)
		delta = 1;
	c->state = s;
	c->state_set = 1;
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
void
sip_conn_idle_start(struct sip_conn *c)
{
	struct timeval tv = { c->profile->idle_timeout, 0 };

	event_base_gettimeofday_cached(c->t->base, &c->last_rx);
	sip_conn_dl_set(c, DL_IDLE, &tv);
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
		sip_conn_dl_set(c, DL_IDLE, &left);
		return;
	}
	deadline_hit(c, SIP_DEADLINE_IDLE);
	sip_conn_close_level(c, LOG_LVL_INFO, "idle timeout");
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
void
sip_conn_dl_set(struct sip_conn *c, enum conn_dl k, const struct timeval *rel)
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
void
sip_conn_dl_clear(struct sip_conn *c, enum conn_dl k)
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

/* Free the connections closed since the callbacks that closed them. */
void
sip_conn_dead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;
	struct sip_conn *c;

	(void)fd;
	(void)what;
	while ((c = t->dead) != NULL) {
		t->dead = c->dead_next;
		sip_conn_free(c);
	}
}

/*
 * Free c now: tell the gate and the opener, unlink it from the lists,
 * release its descriptor, events and profile.
 */
void
sip_conn_free(struct sip_conn *c)
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
	sip_out_free(c);

	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	idmap_del(t->byid, c->id);
	t->nconns--;
	sip_conn_set_state(c, CONN_CLOSING);
	sip_transport_flows_del(c);
	if (c->src_counted) {
		sip_srctab_dec(t->src, (struct sockaddr *)&c->origin.peer);
		t->ninbound--;
	}
	sip_hs_cancel(c->hs);		/* the worker drops fd and SSL */
	c->hs = NULL;
	if (c->bev)
		bufferevent_free(c->bev);
	else if (c->fd >= 0)
		close(c->fd);
	if (c->conn_ev != NULL)
		event_free(c->conn_ev);
	SSL_free(c->ssl);
	event_free(c->timer);
	if (c->profile != NULL && c->profile->release != NULL)
		c->profile->release(c->profile->owner);
	sip_profile_unref(c->profile);
	c->magic = 0;
	free(c);
	if (t->stopping && t->nconns == 0 && t->done_ev != NULL)
		event_active(t->done_ev, EV_TIMEOUT, 0);
}

/* Stop c (no I/O, no deadline) and put it on the dead list: freed soon. */
void
sip_conn_schedule_free(struct sip_conn *c)
{
	sip_conn_set_state(c, CONN_CLOSING);
	dl_clear_all(c);
	sip_out_free(c);
	sip_hs_cancel(c->hs);		/* the worker stops at once */
	c->hs = NULL;
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
		sip_conn_schedule_free(c);
}

static void
conn_close_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;		/* an error or EOF while flushing */
	sip_conn_schedule_free(arg);
}

/*
 * Close a connection: log why, then flush what is queued (bounded by
 * FLUSH_TIMEOUT) and free it on a later loop turn.
 */
void
sip_conn_close_level(struct sip_conn *c, enum log_level lvl, const char *reason)
{
	struct timeval tv = { FLUSH_TIMEOUT, 0 };

	if (c->state == CONN_CLOSING)
		return;
	sip_out_flush(c);	/* what this turn staged goes first */
	sip_conn_log(c, lvl, "sip", "connection closed", "peer",
	    c->origin.peer_str, "transport", conf_transport_name(c->transport),
	    "reason", reason, NULL);
	sip_conn_set_state(c, CONN_CLOSING);
	dl_clear_all(c);
	if (c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		sip_conn_schedule_free(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, conn_flushed_cb, conn_close_event_cb, c);
	bufferevent_enable(c->bev, EV_WRITE);
	/* One hard deadline (a write timeout would restart with every byte
	 * the peer takes, so a peer reading a byte at a time is cut too). */
	sip_conn_dl_set(c, DL_STATE, &tv);
}

void
sip_conn_gate_open(struct sip_conn *c)
{
	if (c->state != CONN_GATED)
		return;
	sip_conn_dl_clear(c, DL_STATE);		/* the gate deadline */
	sip_conn_set_state(c, CONN_OPEN);
	conn_ready(c, 1, NULL);
	if (c->state == CONN_OPEN) {
		bufferevent_enable(c->bev, EV_READ);
		sip_stream_input(c->bev, c);	/* what came with the handshake */
		sip_stream_read_more(c);	/* ... or is still in OpenSSL */
	}
}

void
sip_conn_refuse(struct sip_conn *c, const char *reason)
{
	conn_ready(c, 0, reason);
	sip_conn_close_level(c, LOG_LVL_WARN, reason);
}

void
sip_conn_close(struct sip_conn *c, const char *reason)
{
	conn_ready(c, 0, reason);
	sip_conn_close_level(c, LOG_LVL_INFO, reason);
}

void
sip_conn_forget(struct sip_conn *c)
{
	c->ready = NULL;
	c->closed = NULL;
	c->connected = NULL;
	c->ready_arg = NULL;
}

int
sip_conn_send(struct sip_conn *c, const char *buf, size_t len)
{
	if (c->state == CONN_CLOSING || c->bev == NULL)
		return -1;
	return sip_out_queue(c, buf, len);
}

/* c's handshake failed on a worker (why): as a TLS error on the loop. */
void
sip_conn_hs_failed(struct sip_conn *c, const char *why)
{
	char *r = xasprintf("TLS negotiation failure: %s", why);

	conn_ready(c, 0, r);
	free(r);
	sip_conn_log(c, LOG_LVL_WARN, "tls", "handshake failed", "peer",
	    c->origin.peer_str, "reason", why, NULL);
	sip_conn_schedule_free(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sip_conn *c = arg;
	char why[256];
	int tls_err;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->outbound)
			fill_local(c, bufferevent_getfd(c->bev));
		if (c->transport == TP_TLS)
			sip_conn_handshake_done(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		deadline_hit(c, SIP_DEADLINE_IDLE);
		sip_conn_close_level(c, LOG_LVL_INFO, "idle timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		tls_err = sip_conn_error_text(c, why, sizeof why);
		if (c->state == CONN_HANDSHAKE) {
			char *r = xasprintf("%s: %s", tls_err ?
			    "TLS negotiation failure" : "connection lost during "
			    "the TLS handshake", why);

			conn_ready(c, 0, r);
			free(r);
			sip_conn_log(c, LOG_LVL_WARN, "tls", "handshake failed",
			    "peer", c->origin.peer_str, "reason", why, NULL);
			sip_conn_schedule_free(c);
		} else
			sip_conn_close_level(c, LOG_LVL_INFO, why);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->state == CONN_HANDSHAKE) {
			conn_ready(c, 0, "TLS negotiation failure: the peer "
			    "closed the connection during the handshake");
			sip_conn_log(c, LOG_LVL_WARN, "tls", "handshake failed",
			    "peer", c->origin.peer_str, "reason",
			    "peer closed the connection during the handshake", NULL);
			sip_conn_schedule_free(c);
		} else
			sip_conn_close_level(c, LOG_LVL_DEBUG,
			    "closed by peer");
	}
}

static void
conn_hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;

	switch (c->state) {
	case CONN_CONNECTING:
		deadline_hit(c, SIP_DEADLINE_CONNECT);
		sip_conn_log(c, LOG_LVL_WARN, "sip", "connect failed", "peer",
		    c->origin.peer_str, "transport",
		    conf_transport_name(c->transport), "reason",
		    "no connection in time", NULL);
		conn_ready(c, 0, "connect failed: timed out");
		break;
	case CONN_HANDSHAKE:
		deadline_hit(c, SIP_DEADLINE_HANDSHAKE);
		sip_conn_log(c, LOG_LVL_WARN, "tls", "handshake timeout",
		    "peer", c->origin.peer_str, "reason", "no TLS handshake completed "
		    "in time", NULL);
		conn_ready(c, 0, "TLS negotiation failure: timed out");
		break;
	case CONN_GATED:
		deadline_hit(c, SIP_DEADLINE_GATE);
		sip_conn_log(c, LOG_LVL_WARN, "tls", "gate timeout", "peer",
		    c->origin.peer_str, "reason", "no revocation verdict for "
		    "the peer's certificate in time", NULL);
		conn_ready(c, 0, "no revocation verdict for the peer's "
		    "certificate in time");
		sip_conn_close_level(c, LOG_LVL_WARN,
		    "held at the gate too long");
		return;
	case CONN_CLOSING:
		deadline_hit(c, SIP_DEADLINE_FLUSH);
		sip_conn_log(c, LOG_LVL_DEBUG, "sip", "flush timeout", "peer",
		    c->origin.peer_str, "transport",
		    conf_transport_name(c->transport), NULL);
		break;
	case CONN_OPEN:
		return;
	}
	sip_conn_schedule_free(c);
}

static void
conn_rd_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_conn *c = arg;

	deadline_hit(c, SIP_DEADLINE_PARTIAL);
	c->t->bad[SIP_BAD_INCOMPLETE]++;
	sip_conn_close_level(c, LOG_LVL_WARN, "incomplete message timed out "
	    "(Content-Length larger than the data sent?)");
}

/*
 * The bufferevent of a connection: reading stops well before a peer can
 * make us buffer without bound.
 */
void
sip_conn_bev_setup(struct sip_conn *c)
{
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    c->profile->max_message_size + 4096);
	bufferevent_setcb(c->bev, sip_stream_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The local address of c, from its socket fd. */
static void
fill_local(struct sip_conn *c, int fd)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		net_addr_ip((struct sockaddr *)&local, c->origin.local_ip,
		    sizeof c->origin.local_ip, &c->origin.local_port);
}

/*
 * The one constructor of a connection record, inbound or outbound: its id,
 * profile (t's, referenced, and the snapshot it came from held), origin
 * (the local address from socket fd when it is >= 0), timer, and its
 * place in t's list and id map.  No descriptor is owned yet (c->fd is
 * -1) and the state is CONN_CONNECTING; the caller sets up the rest.
 */
struct sip_conn *
sip_conn_new(struct sip_transport *t, int transport, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	struct sip_conn *c = xcalloc(1, sizeof *c);

	c->magic = CONN_MAGIC;
	c->id = ++t->next_id;
	c->t = t;
	c->transport = transport;
	c->profile = t->profile;
	sip_profile_ref(c->profile);
	if (c->profile != NULL && c->profile->hold != NULL)
		c->profile->hold(c->profile->owner);
	c->fd = -1;
	sip_transport_fill_origin(&c->origin, transport, fd, peer, peerlen);
	c->origin.conn = c;
	c->timer = evtimer_new(t->base, conn_timer_cb, c);
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	idmap_put(t->byid, c->id, c);
	t->nconns++;
	return c;
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
	socklen_t len = sizeof(int);
	int err = 0;
	char *why;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		why = xasprintf("connect failed: %s", strerror(err));
		sip_conn_log(c, LOG_LVL_WARN, "sip", "connect failed", "peer",
		    c->origin.peer_str, "transport",
		    conf_transport_name(c->transport), "reason", strerror(err),
		    NULL);
		conn_ready(c, 0, why);
		free(why);
		sip_conn_schedule_free(c);
		return;
	}
	if (c->ssl != NULL && sip_conn_hs_connect(c, fd) == 0) {
		fill_local(c, fd);
		if (c->connected != NULL)
			c->connected(c, c->ready_arg);	/* the handshake begins */
		return;
	}
	if (c->ssl != NULL) {
		c->bev = bufferevent_openssl_socket_new(c->t->base, fd, c->ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		c->ssl = NULL;		/* the bufferevent owns it now */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		sip_conn_set_state(c, CONN_HANDSHAKE);
	} else {
		c->bev = bufferevent_socket_new(c->t->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		sip_conn_dl_clear(c, DL_STATE);
		sip_conn_set_state(c, CONN_OPEN);
		sip_conn_idle_start(c);
	}
	c->fd = -1;
	sip_conn_bev_setup(c);
	fill_local(c, fd);
	if (c->state == CONN_OPEN) {
		sip_conn_log(c, LOG_LVL_DEBUG, "sip", "connection open", "peer",
		    c->origin.peer_str, "transport", "tcp", NULL);
		conn_ready(c, 1, NULL);
	} else if (c->connected != NULL)
		c->connected(c, c->ready_arg);	/* the handshake begins */
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
	if (ssl != NULL)
		SSL_set_read_ahead(ssl, 1);	/* sip_stream_read_more */
	fd = socket(o->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd != -1) {
		sip_conn_no_delay(fd);
		sip_listener_slots_reserve(t, fd);
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
	c = sip_conn_new(t, o->transport, -1, o->addr, o->addrlen);
	c->outbound = 1;
	c->fd = fd;
	c->ssl = ssl;
	if (ssl != NULL && o->server_name != NULL)
		SSL_set_tlsext_host_name(ssl, o->server_name);
	c->zone = o->zone != NULL ? xstrdup(o->zone) : NULL;
	c->expected = o->expected != NULL ? xstrdup(o->expected) : NULL;
	c->ready = o->ready;
	c->closed = o->closed;
	c->connected = o->connected;
	c->ready_arg = o->arg;
	c->conn_ev = event_new(t->base, fd, EV_WRITE, outbound_connected_cb, c);
	sip_conn_set_state(c, CONN_CONNECTING);
	/* Connect and handshake together are bounded. */
	tv.tv_sec = p->handshake_timeout;
	tv.tv_usec = 0;
	sip_conn_dl_set(c, DL_STATE, &tv);
	event_add(c->conn_ev, NULL);
	sip_conn_log(c, LOG_LVL_DEBUG, "sip", "connecting", "peer",
	    c->origin.peer_str, "transport", conf_transport_name(c->transport),
	    "zone", c->zone != NULL ? c->zone : "-", NULL);
	return c;
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

