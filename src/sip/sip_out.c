/*
 * sip_out.c: the output of a stream connection (TCP or TLS).  What is sent
 * in one turn of the event loop is staged per connection and written at
 * the end of the turn, all of it at once: one SSL_write (one TLS record up
 * to 16 KiB) and one write(2), straight to the socket.  Only what the
 * kernel does not take goes to the bufferevent, whose write event then
 * waits for room; a connection whose output drains is not re-registered
 * with epoll per message.
 *
 * The bufferevent alone writes (in order after anything it still holds)
 * while it has output of its own, before the connection is open, and while
 * OpenSSL waits to finish a write it began.
 */
#include "config.h"

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "conf/conf.h"
#include "sip/sip_transport_int.h"

/* At most one TLS record per SSL_write (a retry must repeat its length). */
#define OUT_RECORD	16384

/*
 * Write buf[0..len) on c's TLS session now, one record per SSL_write:
 * the bytes written (0 when nothing could be).  A record OpenSSL could
 * only begin is left in the caller's bytes: the bufferevent repeats that
 * SSL_write (same bytes, same length) when the socket has room.
 */
static size_t
out_tls(struct sip_conn *c, const char *buf, size_t len)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	size_t done = 0;
	int n, r;

	if (ssl == NULL || SSL_want_write(ssl))
		return 0;
	while (done < len) {
		n = len - done > OUT_RECORD ? OUT_RECORD : (int)(len - done);
		if ((r = SSL_write(ssl, buf + done, n)) <= 0) {
			/* Retry or fatal, the bufferevent repeats this write
			 * and reports the failure as it always did. */
			if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_WRITE &&
			    SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
				ERR_clear_error();
			break;
		}
		done += (size_t)r;
	}
	return done;
}

/* Write buf[0..len) on c's TCP socket now: the bytes the kernel took. */
static size_t
out_tcp(struct sip_conn *c, const char *buf, size_t len)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	ssize_t n;

	if (fd < 0)
		return 0;
	/* An error is the bufferevent's to meet again and report. */
	n = send(fd, buf, len, MSG_NOSIGNAL);
	return n > 0 ? (size_t)n : 0;
}

/*
 * Write what c has staged: straight to the socket when the bufferevent
 * holds nothing of its own and the connection is open, the rest (all of it
 * otherwise) handed to the bufferevent, which waits for room.
 */
void
sip_out_flush(struct sip_conn *c)
{
	struct evbuffer *bout;
	size_t len, n = 0;
	char *p;

	if (c->out == NULL || (len = evbuffer_get_length(c->out)) == 0 ||
	    c->bev == NULL)
		return;
	bout = bufferevent_get_output(c->bev);
	if (c->state == CONN_OPEN && evbuffer_get_length(bout) == 0) {
		p = (char *)evbuffer_pullup(c->out, -1);
		n = c->transport == TP_TLS ? out_tls(c, p, len) :
		    out_tcp(c, p, len);
		if (n > 0)
			evbuffer_drain(c->out, n);
	}
	if (n < len)
		bufferevent_write_buffer(c->bev, c->out);
}

/* Take c off the transport's list of connections with staged output. */
static void
out_unqueue(struct sip_conn *c)
{
	struct sip_conn **pp;

	if (!c->out_queued)
		return;
	for (pp = &c->t->outq; *pp != NULL; pp = &(*pp)->out_next)
		if (*pp == c) {
			*pp = c->out_next;
			break;
		}
	c->out_queued = 0;
	c->out_next = NULL;
}

/*
 * Stage buf[0..len) on c, written when this loop turn's callbacks are
 * done (sip_out_cb).  Not open yet (or held at the gate): straight to the
 * bufferevent, after anything staged.  0, or -1 when it cannot be queued.
 */
int
sip_out_queue(struct sip_conn *c, const char *buf, size_t len)
{
	struct sip_transport *t = c->t;

	if (c->state != CONN_OPEN) {
		sip_out_flush(c);
		return bufferevent_write(c->bev, buf, len) == 0 ? 0 : -1;
	}
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add(c->out, buf, len) == -1)
		return -1;
	if (!c->out_queued) {
		c->out_queued = 1;
		c->out_next = t->outq;
		t->outq = c;
		/* Active after the callbacks already queued in this turn. */
		event_active(t->out_ev, EV_TIMEOUT, 0);
	}
	return 0;
}

/* The end of a loop turn: write what every connection staged in it. */
void
sip_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_transport *t = arg;
	struct sip_conn *c;

	(void)fd;
	(void)what;
	while ((c = t->outq) != NULL) {
		t->outq = c->out_next;
		c->out_next = NULL;
		c->out_queued = 0;
		sip_out_flush(c);
	}
}

/* c is being freed: drop what it staged and its place on the list. */
void
sip_out_free(struct sip_conn *c)
{
	out_unqueue(c);
	if (c->out != NULL)
		evbuffer_free(c->out);
	c->out = NULL;
}
