/*
 * sip_listener.c: listeners, accepting (limits, the EMFILE pause, the TLS
 * first-record peek before any TLS state), libevent's descriptor slots,
 * and reading UDP.
 *
 * Never blocks: sockets are non-blocking; an inbound TLS connection costs
 * no TLS state until its first record is whole in the kernel.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "conf/conf.h"
#include "sip/sip_srctab.h"
#include "sip/sip_transport_int.h"
#include "util/alarm.h"
#include "util/xmalloc.h"

#define UDP_BATCH	64	/* datagrams read per wake-up, then yield */
#define PAUSE_MIN_MS	10	/* accept pause after EMFILE: first, */
#define PAUSE_MAX_MS	1000	/* ... doubling up to this */
#define SHED_PER_PAUSE	8	/* backlog connections shed per pause */
#define ALARM_DESCRIPTORS "descriptors"
/* The handshakes in progress one source may hold: a tenth of them. */
#define HS_SHARE(max)	((max) / 10 > 0 ? (max) / 10 : 1)

static void
drop_fd(int fd)
{
	struct linger lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Descriptors have been available for a while again: clear the alarm. */
void
sip_listener_exhausted_cb(evutil_socket_t fd, short what, void *arg)
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
		sip_transport_refused(t, SIP_REFUSED_DESCRIPTORS,
		    (struct sockaddr *)&ss);
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

static void
hello_failed(struct sip_conn *c, enum log_level lvl, const char *reason)
{
	sip_conn_log(c, lvl, "tls", "handshake failed", "peer",
	    c->origin.peer_str, "reason", reason, NULL);
	sip_conn_schedule_free(c);
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
	SSL_set_read_ahead(ssl, 1);	/* one read(2): sip_stream_read_more */
	SSL_set_accept_state(ssl);
	if (sip_conn_hs_start(c, fd, ssl) == 0)
		return;		/* on a worker thread: sip_conn_hs.c */
	c->bev = bufferevent_openssl_socket_new(c->t->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	c->fd = -1;		/* the bufferevent owns it now */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	sip_conn_bev_setup(c);
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

/* libevent's own messages, as log events (none while slots are made). */
void
sip_listener_libevent_log(int severity, const char *msg)
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

/* Make the slots of the next batch once fd reaches the ones made. */
void
sip_listener_slots_reserve(struct sip_transport *t, int fd)
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
		sip_transport_refused(t, why, sa);
		return;
	}
	sip_listener_slots_reserve(t, fd);
	c = sip_conn_new(t, l->transport, fd, sa, (socklen_t)salen);
	sip_srctab_inc(t->src, sa);
	c->src_counted = 1;
	t->ninbound++;
	sip_conn_no_delay(fd);
	c->origin.listener = l;

	if (l->transport == TP_TLS) {
		/* No TLS state until the first record is whole: hello_cb. */
		c->fd = fd;
		sip_conn_set_state(c, CONN_HANDSHAKE);
		tv.tv_sec = p->handshake_timeout;
		tv.tv_usec = 0;
		sip_conn_dl_set(c, DL_STATE, &tv);
		c->conn_ev = event_new(t->base, fd, EV_READ | EV_PERSIST | EV_ET |
		    EV_CLOSED, hello_cb, c);
		event_add(c->conn_ev, NULL);
	} else {
		c->bev = bufferevent_socket_new(t->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		sip_conn_set_state(c, CONN_OPEN);
		sip_conn_idle_start(c);
		sip_conn_bev_setup(c);
	}
	sip_conn_log(c, LOG_LVL_DEBUG, "sip", "connection accepted", "peer",
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
		sip_transport_fill_origin(&o, TP_UDP, -1,
		    (struct sockaddr *)&ss, sl);
		snprintf(o.local_ip, sizeof o.local_ip, "%s", l->address);
		o.local_port = l->port;
		o.listener = l;
		if ((size_t)n >= sizeof buf - 1 || (size_t)n > p->max_message_size) {
			sip_transport_refuse(t, SIP_BAD_TOO_LARGE, &o, p, buf,
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
				sip_transport_log_bad(t, SIP_BAD_GARBAGE, &o,
				    f.reason, 0, NULL, 0);
			else
				sip_transport_refuse(t, f.error == FRAME_TOO_LARGE ?
				    SIP_BAD_TOO_LARGE : SIP_BAD_LENGTH, &o, p,
				    buf + f.skip, (size_t)n - f.skip,
				    f.error == FRAME_TOO_LARGE ? 513 : 400, f.reason);
			continue;
		case FRAME_MESSAGE:
			sip_transport_deliver(t, &o, p, buf + f.skip, f.total);
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

