/*
 * sip_stream.c: the input of a stream connection (TCP or TLS): its bytes
 * framed into messages (sip_frame.c), each delivered or refused
 * (sip_transport.c); CRLF keepalives answered within a budget.  Input
 * that cannot be framed closes the connection; nothing else does.
 *
 * Never blocks: it works on what the bufferevent has read, and an
 * incomplete message has read_timeout to complete.
 */
#include "config.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "sip/sip_transport_int.h"

#define STR2(x)	#x
#define STR(x)	STR2(x)
#define SIP_CRLF_BUDGET_TEXT	STR(SIP_CRLF_BUDGET)

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
	sip_conn_close_level(c, LOG_LVL_WARN, "keepalive flood: more than "
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
void
sip_stream_input(struct bufferevent *bev, void *arg)
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
				sip_conn_dl_set(c, DL_READ, &rt);
			return;
		case FRAME_KEEPALIVE:
			evbuffer_drain(in, f.skip);
			if (c->outbound) {
				evutil_gettimeofday(&c->crlf_at, NULL);
				continue;
			}
			if (crlf_budget(c, f.skip) == -1)
				return;
			sip_out_queue(c, "\r\n", 2);	/* RFC 5626 pong */
			continue;
		case FRAME_ERROR:
			if (f.error == FRAME_TOO_LARGE)
				sip_transport_refuse(c->t, SIP_BAD_TOO_LARGE,
				    &c->origin, p, data + f.skip, len - f.skip,
				    513, f.reason);
			else if (f.error == FRAME_BAD_LENGTH)
				sip_transport_refuse(c->t, SIP_BAD_LENGTH,
				    &c->origin, p, data + f.skip, len - f.skip,
				    400, f.reason);
			else
				sip_transport_log_bad(c->t, SIP_BAD_GARBAGE,
				    &c->origin, f.reason, 0, NULL, 0);
			evbuffer_drain(in, len);
			sip_conn_close_level(c, LOG_LVL_WARN, "cannot find "
			    "the next message boundary after a bad message");
			return;
		case FRAME_MESSAGE:
			sip_conn_dl_clear(c, DL_READ);
			c->crlf_bytes = 0;	/* a message: real activity */
			if (!f.has_length)
				sip_transport_refuse(c->t, SIP_BAD_NO_LENGTH,
				    &c->origin, p, data + f.skip, f.total, 400,
				    "Content-Length is required on stream "
				    "transports (RFC 3261 s.18.3)");
			else
				sip_transport_deliver(c->t, &c->origin, p,
				    data + f.skip, f.total);
			evbuffer_drain(in, f.skip + f.total);
			continue;
		}
	}
}

/*
 * A TLS connection reads ahead (SSL_set_read_ahead): one read(2) takes
 * all the socket holds, several records, and the bufferevent hands them
 * on a record or two per callback.  Records OpenSSL has read but not yet
 * decrypted would wait for the socket to become readable again: have the
 * bufferevent go on reading them now, in this loop turn, without a system
 * call.  Not while reading is off (held at the gate, input at its
 * watermark): turning it on again calls this.
 */
void
sip_stream_read_more(struct sip_conn *c)
{
	SSL *ssl;

	if (c->transport != TP_TLS || c->state != CONN_OPEN || c->bev == NULL ||
	    !(bufferevent_get_enabled(c->bev) & EV_READ))
		return;
	if ((ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL &&
	    SSL_has_pending(ssl))
		event_active(&c->bev->ev_read, EV_READ, 1);
}

/*
 * Bytes came in on c: the idle deadline counts from the last, then
 * whatever can be framed (held at the gate: nothing, see below).
 */
void
sip_stream_read_cb(struct bufferevent *bev, void *arg)
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
	sip_stream_input(bev, c);
	c->rx_left = evbuffer_get_length(in);
	sip_stream_read_more(c);
}
