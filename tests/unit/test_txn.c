/*
 * test_txn.c: the transaction layer on a real event loop with a tiny T1
 * (10 ms), every message it sends recorded with its time.  Times are
 * checked from below only (a timer may run late on a loaded machine,
 * never early); counts are checked where the schedule decides them.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "sip/sip_msg.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define T1	10
#define T2	40
#define T4	50
#define TD	100	/* timer D */
#define TRY	30	/* the INVITE server's wait before its own 100 */

struct sent {
	int64_t		 at;		/* ms since R.start */
	int		 transport;
	char		*text;
};

/* What the callbacks saw. */
static struct {
	struct event_base	*base;
	struct txn_layer	*tl;
	int64_t			 start;
	int			 fail_send;
	struct sent		*sent;
	int			 nsent;
	int			 nreq;		/* with a server transaction */
	int			 nack;		/* ACKs passed on */
	struct txn		*st;		/* the last new server txn */
	int			 nresp;
	int			 resp_status;
	enum txn_event		 resp_ev;
	char			*resp_callid;
	int64_t			 resp_at;
	int			 nfailed;
	enum txn_event		 failed_ev;
	int			 nterm;
	int64_t			 term_at;
	const struct sip_origin	*req_origin;	/* the last request's */
	const struct sip_origin	*resp_origin;	/* the last response's */
} R;

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since R.start. */
static int64_t
elapsed(void)
{
	return now_ms() - R.start;
}

/* Record what is sent, and when; fail when told to. */
static int
cb_send(void *arg, const struct txn_dest *d, const char *buf, size_t len)
{
	if (R.fail_send)
		return -1;
	R.sent = xreallocarray(R.sent, R.nsent + 1, sizeof *R.sent);
	R.sent[R.nsent].at = elapsed();
	R.sent[R.nsent].transport = d->transport;
	R.sent[R.nsent].text = xstrndup(buf, len);
	R.nsent++;
	return 0;
}

/* A request for the TU: count it, keep its server transaction. */
static void
cb_request(void *arg, struct txn *st, osip_message_t *m,
    const struct sip_origin *o)
{
	if (st == NULL) {
		assert_string_equal(m->sip_method, "ACK");
		R.nack++;
		return;
	}
	R.nreq++;
	R.st = st;
	R.req_origin = o;
	assert_true(txn_is_server(st));
	assert_string_equal(txn_method(st), m->sip_method);
}

/* A response for the TU: keep its status, event, Call-ID and time. */
static void
cb_response(void *arg, struct txn *ct, enum txn_event ev, osip_message_t *m,
    const struct sip_origin *o)
{
	assert_false(txn_is_server(ct));
	assert_non_null(m);
	R.nresp++;
	R.resp_status = m->status_code;
	R.resp_ev = ev;
	R.resp_at = elapsed();
	R.resp_origin = o;
	free(R.resp_callid);
	R.resp_callid = xstrdup(m->call_id->number);
}

/* A server transaction failed. */
static void
cb_failed(void *arg, struct txn *st, enum txn_event ev)
{
	assert_true(txn_is_server(st));
	R.nfailed++;
	R.failed_ev = ev;
}

/* A transaction ended. */
static void
cb_terminated(void *arg, struct txn *t)
{
	assert_int_equal(txn_state(t), TXN_TERMINATED);
	R.nterm++;
	R.term_at = elapsed();
	if (t == R.st)
		R.st = NULL;
}

/* A new layer with the test timers (the old one is freed). */
static void
layer(int trying)
{
	struct txn_config cfg = { T1, T2, T4, TD, trying, 0 };
	struct txn_cbs cbs = { cb_send, cb_request, cb_response, cb_failed,
	    cb_terminated, NULL };

	txn_layer_free(R.tl);
	R.tl = txn_layer_new(R.base, &cfg, &cbs);
}

/* A precise-timer event base and a layer, for each test. */
static int
setup(void **state)
{
	struct event_config *ec = event_config_new();

	memset(&R, 0, sizeof R);
	/* libevent on CLOCK_MONOTONIC, the clock the layer schedules by. */
	event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
	R.base = event_base_new_with_config(ec);
	event_config_free(ec);
	layer(TRY);
	R.start = now_ms();
	return 0;
}

/* Free the layer with what is still alive, and the records. */
static int
teardown(void **state)
{
	int i;

	/* Live transactions are freed here too: valgrind sees it. */
	txn_layer_free(R.tl);
	event_base_free(R.base);
	for (i = 0; i < R.nsent; i++)
		free(R.sent[i].text);
	free(R.sent);
	free(R.resp_callid);
	return 0;
}

/* Run the loop for ms. */
static void
run_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(R.base, &tv);
	event_base_dispatch(R.base);
}

/* Run until every transaction has ended, at most limit ms. */
static void
run_until_empty(int limit)
{
	int64_t end = now_ms() + limit;

	while (txn_layer_count(R.tl) > 0 && now_ms() < end)
		event_base_loop(R.base, EVLOOP_ONCE);
	assert_int_equal(txn_layer_count(R.tl), 0);
}

/* 192.0.2.7:5060 over transport. */
static struct txn_dest
dest(int transport)
{
	struct txn_dest d;
	struct sockaddr_in *sin = (struct sockaddr_in *)&d.addr;

	memset(&d, 0, sizeof d);
	d.transport = transport;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5060);
	inet_pton(AF_INET, "192.0.2.7", &sin->sin_addr);
	d.addrlen = sizeof *sin;
	return d;
}

/* The origin of a message from d (no connection), for txn_recv_request(). */
static const struct sip_origin *
orig(const struct txn_dest *d)
{
	static struct sip_origin o;

	memset(&o, 0, sizeof o);
	o.transport = d->transport;
	memcpy(&o.peer, &d->addr, d->addrlen);
	o.peerlen = d->addrlen;
	return &o;
}

/* Parse text, which must parse. */
static osip_message_t *
parse(const char *text)
{
	osip_message_t *m = sip_msg_parse(text, strlen(text));

	assert_non_null(m);
	return m;
}

/*
 * A request from 192.0.2.7.  via_params follows the sent-by (";branch=..."
 * or ""), to_tag the To URI ("" or ";tag=...").
 */
static osip_message_t *
request(const char *method, const char *sentby, const char *via_params,
    int cseq, const char *cseq_method, const char *to_tag, const char *extra)
{
	char *text = xasprintf("%s sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP %s%s\r\n"
	    "From: <sip:alice@example.com>;tag=f1\r\n"
	    "To: <sip:bob@example.com>%s\r\n"
	    "Call-ID: c1@example.com\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n"
	    "%sContent-Length: 0\r\n\r\n", method, sentby, via_params, to_tag,
	    cseq, cseq_method ? cseq_method : method, extra ? extra : "");
	osip_message_t *m = parse(text);

	free(text);
	return m;
}

/* The INVITE most tests start from, branch z9hG4bKinv1. */
static osip_message_t *
invite(void)
{
	return request("INVITE", "192.0.2.7:5060", ";branch=z9hG4bKinv1", 1,
	    NULL, "", "Timestamp: 54\r\n");
}

/* Feed a request and free it. */
static enum txn_recv
feed(osip_message_t *m, int transport)
{
	struct txn_dest d = dest(transport);
	enum txn_recv r = txn_recv_request(R.tl, m, orig(&d));

	osip_message_free(m);
	return r;
}

/* Answer st with status for request m, To tag "t<status>". */
static int
answer(struct txn *st, const osip_message_t *m, int status)
{
	char tag[16], *text;
	size_t len;
	int r;

	snprintf(tag, sizeof tag, "t%d", status);
	text = sip_msg_response(m, NULL, status, NULL, tag, NULL, &len);
	assert_non_null(text);
	r = txn_respond_text(st, text, len);
	free(text);
	return r;
}

/* A response to req (our Via on top). */
static enum txn_recv
reply_to(const osip_message_t *req, int status)
{
	char *text;
	size_t len;
	osip_message_t *m;
	enum txn_recv r;

	text = sip_msg_response(req, NULL, status, NULL, "uas1", NULL, &len);
	assert_non_null(text);
	m = parse(text);
	free(text);
	r = txn_recv_response(R.tl, m, NULL);
	osip_message_free(m);
	return r;
}

/* A response to what client transaction ct sent. */
static enum txn_recv
reply(struct txn *ct, int status)
{
	return reply_to(txn_request(ct), status);
}

/* Does send i begin with prefix? */
static int
starts(int i, const char *prefix)
{
	return i < R.nsent &&
	    strncmp(R.sent[i].text, prefix, strlen(prefix)) == 0;
}

/* How many messages sent so far begin with prefix. */
static int
count(const char *prefix)
{
	int i, n = 0;

	for (i = 0; i < R.nsent; i++)
		n += starts(i, prefix);
	return n;
}

/*
 * Each send from `from` on is no earlier than due[]; returns how many.
 * libevent arms a timer from the time cached at the top of the loop
 * iteration that armed it, so on a slow machine (ASan, a busy CI) a send
 * may come up to a few ms before our own clock says it is due: 3 ms of
 * slack, far below the 10 ms steps of the schedule.
 */
#define SCHEDULE_SLACK	3

static int
check_schedule(int from, const int *due, int ndue)
{
	int i;

	for (i = from; i < R.nsent && i - from < ndue; i++)
		if (R.sent[i].at < R.sent[from].at + due[i - from] -
		    SCHEDULE_SLACK)
			fail_msg("send %d at %lld ms, due at %d ms", i,
			    (long long)(R.sent[i].at - R.sent[from].at),
			    due[i - from]);
	return R.nsent - from;
}

/* Cumulative due times: T1 doubling, capped at cap (0: no cap), < end. */
static int
schedule(int *due, int max, int cap, int end)
{
	int n = 0, at = 0, iv = T1;

	due[n++] = 0;
	while (n < max && at + iv < end) {
		at += iv;
		due[n++] = at;
		iv = cap && iv * 2 > cap ? cap : iv * 2;
	}
	return n;
}

/* Branches: the cookie, 24 hex digits, never twice the same. */
static void
test_branch(void **state)
{
	char a[TXN_BRANCH_LEN + 1], b[TXN_BRANCH_LEN + 1];
	size_t i;

	txn_branch_new(a);
	txn_branch_new(b);
	assert_int_equal(strlen(a), TXN_BRANCH_LEN);
	assert_memory_equal(a, "z9hG4bK", 7);
	for (i = 7; i < TXN_BRANCH_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
}

/* s.17.2.1: the TU is silent, so the transaction sends 100 after 200 ms
   (TRY here); an INVITE retransmission gets it again. */
static void
test_ist_trying(void **state)
{
	osip_message_t *m = invite();

	R.start = now_ms();
	assert_int_equal(feed(m, TP_UDP), TXN_RECV_NEW);
	assert_int_equal(R.nreq, 1);
	assert_non_null(R.st);
	assert_true(txn_is_invite(R.st));
	assert_int_equal(txn_state(R.st), TXN_PROCEEDING);
	assert_string_equal(txn_branch(R.st), "z9hG4bKinv1");
	assert_int_equal(R.nsent, 0);
	run_ms(TRY + 20);
	assert_int_equal(R.nsent, 1);
	assert_true(starts(0, "SIP/2.0 100 Trying\r\n"));
	assert_true(R.sent[0].at >= TRY - 1);
	assert_int_equal(R.sent[0].transport, TP_UDP);
	assert_non_null(strstr(R.sent[0].text, "branch=z9hG4bKinv1"));
	assert_non_null(strstr(R.sent[0].text, "Timestamp: 54\r\n"));
	assert_null(strstr(R.sent[0].text, "tag=t"));	/* no To tag */
	assert_int_equal(txn_last_status(R.st), 100);

	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nreq, 1);
	assert_int_equal(R.nsent, 2);
	assert_true(starts(1, "SIP/2.0 100 Trying\r\n"));
}

/* A retransmission before the 200 ms gets the 100 at once; with
   TXN_TRYING_NOW it goes with the request. */
static void
test_ist_trying_early(void **state)
{
	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_NEW);
	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nsent, 1);
	assert_true(starts(0, "SIP/2.0 100 Trying\r\n"));
	run_ms(TRY + 20);
	assert_int_equal(R.nsent, 1);

	layer(TXN_TRYING_NOW);
	assert_int_equal(feed(invite(), TP_TCP), TXN_RECV_NEW);
	assert_int_equal(R.nsent, 2);
	assert_true(starts(1, "SIP/2.0 100 Trying\r\n"));
	assert_int_equal(R.sent[1].transport, TP_TCP);
}

/* The TU answers first: no 100 from the transaction; a retransmitted
   INVITE gets the TU's latest provisional. */
static void
test_ist_provisional(void **state)
{
	osip_message_t *m = invite();
	struct txn_dest d = dest(TP_UDP);

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	assert_int_equal(answer(R.st, m, 180), 0);
	assert_int_equal(R.nsent, 1);
	assert_true(starts(0, "SIP/2.0 180 Ringing\r\n"));
	run_ms(TRY + 20);
	assert_int_equal(R.nsent, 1);
	assert_int_equal(count("SIP/2.0 100"), 0);
	assert_int_equal(answer(R.st, m, 183), 0);
	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nsent, 3);
	assert_true(starts(2, "SIP/2.0 183 "));
	assert_int_equal(txn_state(R.st), TXN_PROCEEDING);
	osip_message_free(m);
}

/* 3xx-6xx over UDP: Completed, timer G from T1 doubling to T2, an INVITE
   retransmission gets the final again, the ACK is absorbed (Confirmed)
   and stops G, and timer I (T4) ends it. */
static void
test_ist_non2xx_ack(void **state)
{
	osip_message_t *m = invite();
	struct txn_dest d = dest(TP_UDP);
	int64_t ack_at;
	int n;

	R.start = now_ms();
	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	assert_int_equal(answer(R.st, m, 486), 0);
	assert_int_equal(txn_state(R.st), TXN_COMPLETED);
	assert_int_equal(txn_last_status(R.st), 486);
	assert_int_equal(answer(R.st, m, 603), -1);	/* one final only */
	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nreq, 1);
	assert_int_equal(R.nsent, 2);
	assert_true(starts(1, "SIP/2.0 486 "));
	run_ms(T1 + T1 * 2 + 5);
	n = count("SIP/2.0 486 ");
	assert_true(n >= 4);		/* G at T1 and 3*T1 */

	ack_at = elapsed();
	assert_int_equal(feed(request("ACK", "192.0.2.7:5060",
	    ";branch=z9hG4bKinv1", 1, NULL, ";tag=t486", NULL), TP_UDP),
	    TXN_RECV_ABSORBED);
	assert_int_equal(R.nack, 0);
	assert_int_equal(txn_state(R.st), TXN_CONFIRMED);
	n = R.nsent;
	/* Confirmed absorbs ACKs and INVITEs alike. */
	assert_int_equal(feed(request("ACK", "192.0.2.7:5060",
	    ";branch=z9hG4bKinv1", 1, NULL, ";tag=t486", NULL), TP_UDP),
	    TXN_RECV_ABSORBED);
	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_ABSORBED);
	run_until_empty(1000);
	assert_int_equal(R.nsent, n);
	assert_int_equal(R.nterm, 1);
	assert_true(R.term_at >= ack_at + T4 - 1);
	assert_int_equal(R.nfailed, 0);
	assert_int_equal(R.nack, 0);
	assert_int_equal(R.nreq, 1);
	osip_message_free(m);
}

/* Timer H: no ACK.  G retransmits until 64*T1, capped at T2; then the TU
   hears of the failure and the transaction ends. */
static void
test_ist_timer_h(void **state)
{
	osip_message_t *m = invite();
	struct txn_dest d = dest(TP_UDP);
	int due[64], ndue, n;

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	R.start = now_ms();
	assert_int_equal(answer(R.st, m, 404), 0);
	run_until_empty(3000);
	ndue = schedule(due, 64, T2, 64 * T1);
	n = check_schedule(0, due, ndue);
	/* 0, 10, 30, 70, 110, ... 630: 18 sends; one fewer if the loop
	   woke so late that H overtook the last G. */
	assert_int_equal(ndue, 18);
	assert_true(n == ndue || n == ndue - 1);
	assert_int_equal(count("SIP/2.0 404 "), n);
	assert_int_equal(R.nfailed, 1);
	assert_int_equal(R.failed_ev, TXN_EV_TIMEOUT);
	assert_int_equal(R.nterm, 1);
	assert_true(R.term_at >= 64 * T1 - 1);
	osip_message_free(m);
}

/* Over TCP: the final is sent once (no G), timer I is zero. */
static void
test_ist_tcp(void **state)
{
	osip_message_t *m = invite();
	struct txn_dest d = dest(TP_TCP);

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	assert_int_equal(answer(R.st, m, 500), 0);
	run_ms(8 * T1);
	assert_int_equal(R.nsent, 1);
	assert_int_equal(R.sent[0].transport, TP_TCP);
	assert_int_equal(txn_state(R.st), TXN_COMPLETED);
	assert_int_equal(feed(request("ACK", "192.0.2.7:5060",
	    ";branch=z9hG4bKinv1", 1, NULL, ";tag=t500", NULL), TP_TCP),
	    TXN_RECV_ABSORBED);
	run_ms(T1);
	assert_int_equal(R.nterm, 1);
	assert_int_equal(txn_layer_count(R.tl), 0);
	assert_int_equal(R.nsent, 1);

	/* Timer H runs on reliable transports too. */
	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	R.start = now_ms();
	assert_int_equal(answer(R.st, m, 500), 0);
	run_until_empty(2000);
	assert_int_equal(R.nsent, 2);
	assert_int_equal(R.nfailed, 1);
	assert_int_equal(R.failed_ev, TXN_EV_TIMEOUT);
	assert_true(R.term_at >= 64 * T1 - 1);
	osip_message_free(m);
}

/* RFC 6026: a 2xx takes the INVITE server transaction to Accepted: the
   INVITE retransmissions are absorbed, the TU's 2xx retransmissions pass,
   other responses do not, an ACK goes to the TU; timer L ends it. */
static void
test_ist_accepted(void **state)
{
	osip_message_t *m = invite(), *ok;
	struct txn_dest d = dest(TP_UDP);
	osip_via_t *v;
	char *text;
	size_t len;

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	R.start = now_ms();
	/*
	 * As the proxy core will: a parsed response edited in place (a Via
	 * taken off its list) after its text was built once.
	 */
	text = sip_msg_response(m, NULL, 200, NULL, "t200", NULL, &len);
	ok = parse(text);
	free(text);
	assert_int_equal(osip_message_set_via(ok,
	    "SIP/2.0/UDP proxy.invalid;branch=z9hG4bKgone"), 0);
	assert_int_equal(osip_message_to_str(ok, &text, &len), 0);
	assert_non_null(strstr(text, "proxy.invalid"));
	osip_free(text);
	v = osip_list_get(&ok->vias, 1);
	osip_list_remove(&ok->vias, 1);
	osip_via_free(v);
	assert_int_equal(txn_respond(R.st, ok), 0);
	assert_int_equal(txn_state(R.st), TXN_ACCEPTED);
	assert_int_equal(R.nsent, 1);
	assert_true(starts(0, "SIP/2.0 200 OK\r\n"));
	assert_null(strstr(R.sent[0].text, "proxy.invalid"));

	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nsent, 1);
	assert_int_equal(txn_respond(R.st, ok), 0);	/* 2xx again */
	assert_int_equal(R.nsent, 2);
	assert_int_equal(answer(R.st, m, 486), -1);
	assert_int_equal(answer(R.st, m, 180), -1);
	assert_int_equal(R.nsent, 2);
	/* The ACK for a 2xx: to the TU, with or without the INVITE's branch. */
	assert_int_equal(feed(request("ACK", "192.0.2.7:5060",
	    ";branch=z9hG4bKinv1", 1, NULL, ";tag=t200", NULL), TP_UDP),
	    TXN_RECV_ACK);
	assert_int_equal(feed(request("ACK", "192.0.2.7:5060",
	    ";branch=z9hG4bKack2", 1, NULL, ";tag=t200", NULL), TP_UDP),
	    TXN_RECV_ACK);
	assert_int_equal(R.nack, 2);
	assert_int_equal(R.nreq, 1);
	run_until_empty(2000);
	assert_int_equal(R.nterm, 1);
	assert_true(R.term_at >= 64 * T1 - 1);
	assert_int_equal(R.nsent, 2);
	assert_int_equal(R.nfailed, 0);
	osip_message_free(ok);
	osip_message_free(m);
}

/* s.17.2.2 over UDP: Trying absorbs retransmissions, Proceeding resends
   the provisional, Completed the final; other finals are discarded;
   timer J = 64*T1. */
static void
test_nist(void **state)
{
	osip_message_t *m = request("OPTIONS", "192.0.2.7", ";branch=z9hG4bKo1",
	    7, NULL, "", NULL);
	struct txn_dest d = dest(TP_UDP);
	int64_t done;

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	assert_false(txn_is_invite(R.st));
	assert_int_equal(txn_state(R.st), TXN_TRYING);
	assert_int_equal(feed(request("OPTIONS", "192.0.2.7",
	    ";branch=z9hG4bKo1", 7, NULL, "", NULL), TP_UDP), TXN_RECV_ABSORBED);
	run_ms(TRY + 20);
	assert_int_equal(R.nsent, 0);		/* no 100 of its own */
	assert_int_equal(answer(R.st, m, 100), 0);
	assert_int_equal(txn_state(R.st), TXN_PROCEEDING);
	assert_int_equal(feed(request("OPTIONS", "192.0.2.7",
	    ";branch=z9hG4bKo1", 7, NULL, "", NULL), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nsent, 2);
	assert_true(starts(1, "SIP/2.0 100 "));
	R.start = now_ms();
	assert_int_equal(answer(R.st, m, 200), 0);
	done = elapsed();
	assert_int_equal(txn_state(R.st), TXN_COMPLETED);
	assert_int_equal(answer(R.st, m, 404), -1);
	assert_int_equal(feed(request("OPTIONS", "192.0.2.7",
	    ";branch=z9hG4bKo1", 7, NULL, "", NULL), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(R.nsent, 4);
	assert_true(starts(3, "SIP/2.0 200 "));
	/* Another sent-by is another transaction (s.17.2.3 rule 2). */
	assert_int_equal(feed(request("OPTIONS", "192.0.2.99",
	    ";branch=z9hG4bKo1", 7, NULL, "", NULL), TP_UDP), TXN_RECV_NEW);
	assert_int_equal(R.nreq, 2);
	assert_int_equal(answer(R.st, m, 200), 0);
	run_until_empty(2000);
	assert_int_equal(R.nterm, 2);
	assert_true(R.term_at >= done + 64 * T1 - 1);
	assert_int_equal(R.nsent, 5);
	osip_message_free(m);
}

/*
 * With max_server live server transactions, a new request makes none
 * (TXN_RECV_FULL, no callback), while a retransmission of a live one is
 * still absorbed; once one ends there is room again.
 */
static void
test_max_server(void **state)
{
	osip_message_t *m = request("OPTIONS", "192.0.2.7", ";branch=z9hG4bKm1",
	    7, NULL, "", NULL);
	struct txn_dest d = dest(TP_TCP);

	txn_layer_set_max_server(R.tl, 1);
	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	assert_int_equal(R.nreq, 1);
	assert_int_equal(feed(request("OPTIONS", "192.0.2.7",
	    ";branch=z9hG4bKm2", 7, NULL, "", NULL), TP_TCP), TXN_RECV_FULL);
	assert_int_equal(R.nreq, 1);		/* the core heard nothing */
	assert_int_equal(txn_layer_count(R.tl), 1);
	assert_int_equal(feed(request("OPTIONS", "192.0.2.7",
	    ";branch=z9hG4bKm1", 7, NULL, "", NULL), TP_TCP), TXN_RECV_ABSORBED);
	assert_int_equal(answer(R.st, m, 200), 0);
	run_until_empty(2000);			/* timer J is 0 on TCP */
	assert_int_equal(txn_layer_count(R.tl), 0);
	assert_int_equal(feed(request("OPTIONS", "192.0.2.7",
	    ";branch=z9hG4bKm2", 7, NULL, "", NULL), TP_TCP), TXN_RECV_NEW);
	assert_int_equal(R.nreq, 2);
	assert_int_equal(answer(R.st, m, 200), 0);
	run_until_empty(2000);
	osip_message_free(m);
}

/* Over TCP timer J is zero. */
static void
test_nist_tcp(void **state)
{
	osip_message_t *m = request("BYE", "192.0.2.7", ";branch=z9hG4bKb1", 2,
	    NULL, ";tag=x", NULL);
	struct txn_dest d = dest(TP_TCP);

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	assert_int_equal(answer(R.st, m, 200), 0);
	run_ms(T1);
	assert_int_equal(R.nterm, 1);
	assert_int_equal(txn_layer_count(R.tl), 0);
	assert_int_equal(R.nsent, 1);
	osip_message_free(m);
}

/* A client INVITE to dest over transport, with a Route and no branch. */
static struct txn *
client(const char *method, int transport)
{
	osip_message_t *m = request(method, "edge.example.net", "", 5, NULL,
	    "", "Route: <sip:next.example.net;lr>\r\n");
	struct txn_dest d = dest(transport);
	struct txn *ct;
	char *cause = NULL;

	ct = txn_client_new(R.tl, m, &d, &R, &cause);
	assert_null(cause);
	assert_non_null(ct);
	assert_ptr_equal(txn_user(ct), &R);
	return ct;
}

/* Timer A over UDP: T1, doubling without cap, seven sends in 64*T1;
   timer B: a local 408 to the TU, then the end. */
static void
test_ict_timeout_udp(void **state)
{
	struct txn *ct;
	int due[16], ndue;

	R.start = now_ms();
	ct = client("INVITE", TP_UDP);
	assert_int_equal(txn_state(ct), TXN_CALLING);
	assert_false(txn_is_server(ct));
	assert_int_equal(strlen(txn_branch(ct)), TXN_BRANCH_LEN);
	assert_memory_equal(txn_branch(ct), "z9hG4bK", 7);
	assert_int_equal(R.nsent, 1);
	assert_non_null(strstr(R.sent[0].text, txn_branch(ct)));
	run_until_empty(3000);
	ndue = schedule(due, 16, 0, 64 * T1);
	assert_int_equal(ndue, 7);
	assert_int_equal(check_schedule(0, due, ndue), 7);
	assert_int_equal(count("INVITE "), 7);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(R.resp_ev, TXN_EV_TIMEOUT);
	assert_int_equal(R.resp_status, 408);
	assert_string_equal(R.resp_callid, "c1");
	assert_true(R.resp_at >= 64 * T1 - 1);
	assert_int_equal(R.nterm, 1);
}

/* Over TCP: no retransmission, the same timeout. */
static void
test_ict_timeout_tcp(void **state)
{
	R.start = now_ms();
	client("INVITE", TP_TCP);
	run_until_empty(3000);
	assert_int_equal(R.nsent, 1);
	assert_int_equal(R.sent[0].transport, TP_TCP);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(R.resp_status, 408);
	assert_true(R.resp_at >= 64 * T1 - 1);
}

/* A 1xx stops timer A (and B); a 486 is passed up once, acknowledged by
   the transaction with the INVITE's branch (s.17.1.1.3), and a
   retransmitted 486 gets the ACK again; timer D ends it. */
static void
test_ict_non2xx(void **state)
{
	struct txn *ct = client("INVITE", TP_UDP);
	char *branch = xstrdup(txn_branch(ct)), *v;
	osip_message_t *ack;
	osip_via_t *via;
	int n;

	run_ms(T1 + 5);
	assert_true(R.nsent >= 2);	/* at 0 and T1 */
	n = R.nsent;
	assert_int_equal(reply(ct, 180), TXN_RECV_MATCHED);
	assert_int_equal(txn_state(ct), TXN_PROCEEDING);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(R.resp_status, 180);
	assert_int_equal(R.resp_ev, TXN_EV_RESPONSE);
	run_ms(64 * T1 + 20);		/* past A's and B's times */
	assert_int_equal(R.nsent, n);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(txn_state(ct), TXN_PROCEEDING);

	R.start = now_ms();
	assert_int_equal(reply(ct, 486), TXN_RECV_MATCHED);
	assert_int_equal(txn_state(ct), TXN_COMPLETED);
	assert_int_equal(R.nresp, 2);
	assert_int_equal(R.resp_status, 486);
	assert_int_equal(R.nsent, n + 1);
	assert_true(starts(n, "ACK sip:bob@example.com SIP/2.0\r\n"));
	ack = parse(R.sent[n].text);
	assert_int_equal(osip_list_size(&ack->vias), 1);
	via = osip_list_get(&ack->vias, 0);
	assert_int_equal(osip_via_to_str(via, &v), 0);
	assert_non_null(strstr(v, branch));
	assert_non_null(strstr(v, "edge.example.net"));
	osip_free(v);
	assert_string_equal(ack->cseq->number, "5");
	assert_string_equal(ack->cseq->method, "ACK");
	assert_string_equal(ack->call_id->number, "c1");
	assert_int_equal(osip_list_size(&ack->routes), 1);
	assert_non_null(strstr(R.sent[n].text, "tag=uas1"));	/* response's To */
	assert_non_null(strstr(R.sent[n].text, "tag=f1"));	/* request's From */
	osip_message_free(ack);

	assert_int_equal(reply(ct, 486), TXN_RECV_ABSORBED);
	assert_int_equal(R.nresp, 2);
	assert_int_equal(R.nsent, n + 2);
	assert_true(starts(n + 1, "ACK "));
	assert_int_equal(txn_client_cancel(ct), -1);	/* final came */
	n = R.nsent;
	run_until_empty(2000);
	assert_int_equal(R.nsent, n);
	assert_true(R.term_at >= TD - 1);
	assert_int_equal(R.nterm, 1);
	free(branch);
}

/* RFC 6026 s.7.2: a 2xx takes the INVITE client transaction to Accepted,
   where every 2xx goes to the TU and none is acknowledged by it; timer M
   ends it.  Over TCP timer D is zero. */
static void
test_ict_accepted(void **state)
{
	struct txn *ct = client("INVITE", TP_UDP);
	osip_message_t *req = NULL;

	R.start = now_ms();
	assert_int_equal(osip_message_clone(txn_request(ct), &req), 0);
	assert_int_equal(reply_to(req, 200), TXN_RECV_MATCHED);
	assert_int_equal(txn_state(ct), TXN_ACCEPTED);
	assert_null(txn_request(ct));	/* nothing more is sent: it went */
	assert_int_equal(reply_to(req, 200), TXN_RECV_MATCHED);
	assert_int_equal(R.nresp, 2);
	assert_int_equal(R.resp_status, 200);
	assert_int_equal(reply_to(req, 486), TXN_RECV_ABSORBED);
	assert_int_equal(reply_to(req, 180), TXN_RECV_ABSORBED);
	assert_int_equal(R.nresp, 2);
	osip_message_free(req);
	run_until_empty(2000);
	assert_int_equal(count("ACK "), 0);
	assert_int_equal(count("INVITE "), 1);
	assert_true(R.term_at >= 64 * T1 - 1);

	ct = client("INVITE", TP_TCP);
	assert_int_equal(reply(ct, 603), TXN_RECV_MATCHED);
	assert_int_equal(count("ACK "), 1);	/* even over TCP */
	run_ms(T1);
	assert_int_equal(txn_layer_count(R.tl), 0);
}

/* Timer E over UDP: T1 doubling, capped at T2, until timer F (64*T1):
   a local 408. */
static void
test_nict_timeout(void **state)
{
	int due[64], ndue, n;

	R.start = now_ms();
	client("OPTIONS", TP_UDP);
	run_until_empty(3000);
	ndue = schedule(due, 64, T2, 64 * T1);
	assert_int_equal(ndue, 18);
	n = check_schedule(0, due, ndue);
	assert_true(n == ndue || n == ndue - 1);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(R.resp_ev, TXN_EV_TIMEOUT);
	assert_int_equal(R.resp_status, 408);
	assert_true(R.resp_at >= 64 * T1 - 1);
}

/* A 1xx: E goes on at T2; a final: Completed, further finals absorbed,
   timer K = T4.  Over TCP: no E, K zero. */
static void
test_nict_responses(void **state)
{
	struct txn *ct;
	int64_t done;
	int n, i;

	R.start = now_ms();
	ct = client("REGISTER", TP_UDP);
	run_ms(T1 + 5);
	assert_true(R.nsent >= 2);
	assert_int_equal(reply(ct, 100), TXN_RECV_MATCHED);
	assert_int_equal(txn_state(ct), TXN_PROCEEDING);
	assert_int_equal(R.resp_status, 100);
	run_ms(3 * T1 + 2 * T2);
	/* Sends at 0, T1, then 3*T1 (E was set before the 1xx), then T2 apart. */
	n = R.nsent;
	assert_true(n >= 4);
	assert_true(R.sent[2].at >= 3 * T1 - 1);
	for (i = 3; i < n; i++)
		assert_true(R.sent[i].at >= 3 * T1 + (i - 2) * T2 - 1);
	assert_int_equal(reply(ct, 200), TXN_RECV_MATCHED);
	done = elapsed();
	assert_int_equal(txn_state(ct), TXN_COMPLETED);
	assert_int_equal(reply(ct, 200), TXN_RECV_ABSORBED);
	assert_int_equal(reply(ct, 500), TXN_RECV_ABSORBED);
	assert_int_equal(R.nresp, 2);
	n = R.nsent;
	run_until_empty(2000);
	assert_int_equal(R.nsent, n);
	assert_true(R.term_at >= done + T4 - 1);

	ct = client("REGISTER", TP_TCP);
	run_ms(4 * T1);
	assert_int_equal(R.nsent, n + 1);
	assert_int_equal(reply(ct, 200), TXN_RECV_MATCHED);
	run_ms(T1);
	assert_int_equal(txn_layer_count(R.tl), 0);
}

/* A failing send is reported on the next loop turn: a 503 for a client
   transaction, server_failed for a server one, which ends it except an
   INVITE server transaction in Proceeding (RFC 6026). */
static void
test_transport_error(void **state)
{
	osip_message_t *m = invite(), *o;
	struct txn_dest d = dest(TP_TCP);
	struct txn *st;

	R.fail_send = 1;
	client("INVITE", TP_TCP);
	assert_int_equal(R.nresp, 0);		/* not from inside the call */
	run_ms(T1);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(R.resp_ev, TXN_EV_TRANSPORT);
	assert_int_equal(R.resp_status, 503);
	assert_int_equal(R.nterm, 1);

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	st = R.st;
	assert_int_equal(answer(st, m, 180), 0);
	assert_int_equal(R.nfailed, 0);
	run_ms(T1);
	assert_int_equal(R.nfailed, 1);
	assert_int_equal(R.failed_ev, TXN_EV_TRANSPORT);
	assert_int_equal(txn_state(st), TXN_PROCEEDING);
	assert_int_equal(answer(st, m, 486), 0);
	run_ms(T1);
	assert_int_equal(R.nfailed, 2);
	assert_int_equal(R.nterm, 2);

	o = request("OPTIONS", "192.0.2.7", ";branch=z9hG4bKo9", 1, NULL, "",
	    NULL);
	assert_int_equal(txn_recv_request(R.tl, o, orig(&d)), TXN_RECV_NEW);
	assert_int_equal(answer(R.st, o, 200), 0);
	run_ms(T1);
	assert_int_equal(R.nfailed, 3);
	assert_int_equal(R.nterm, 3);
	assert_int_equal(txn_layer_count(R.tl), 0);
	assert_int_equal(R.nsent, 0);
	osip_message_free(o);
	osip_message_free(m);
}

/* s.9.2: the CANCEL is a transaction of its own; the lookup finds the
   INVITE by branch and sent-by. */
static void
test_cancel_lookup(void **state)
{
	osip_message_t *c;
	struct txn *inv, *can;

	assert_int_equal(feed(invite(), TP_UDP), TXN_RECV_NEW);
	inv = R.st;
	c = request("CANCEL", "192.0.2.7:5060", ";branch=z9hG4bKinv1", 1, NULL,
	    "", NULL);
	assert_ptr_equal(txn_find_cancelled(R.tl, c), inv);
	assert_int_equal(feed(c, TP_UDP), TXN_RECV_NEW);
	can = R.st;
	assert_ptr_not_equal(can, inv);
	assert_string_equal(txn_method(can), "CANCEL");
	assert_int_equal(R.nreq, 2);
	/* A retransmitted CANCEL belongs to the CANCEL transaction. */
	assert_int_equal(feed(request("CANCEL", "192.0.2.7:5060",
	    ";branch=z9hG4bKinv1", 1, NULL, "", NULL), TP_UDP),
	    TXN_RECV_ABSORBED);
	c = request("CANCEL", "192.0.2.7:5060", ";branch=z9hG4bKinv1", 1, NULL,
	    "", NULL);
	assert_ptr_equal(txn_find_cancelled(R.tl, c), inv);
	osip_message_free(c);
	c = request("CANCEL", "192.0.2.8:5060", ";branch=z9hG4bKinv1", 1, NULL,
	    "", NULL);
	assert_null(txn_find_cancelled(R.tl, c));	/* other sent-by */
	osip_message_free(c);
	c = request("CANCEL", "192.0.2.7", ";branch=z9hG4bKinv1", 1, NULL, "",
	    NULL);
	assert_null(txn_find_cancelled(R.tl, c));	/* port absent */
	osip_message_free(c);
	c = request("CANCEL", "192.0.2.7:5060", ";branch=z9hG4bKother", 1, NULL,
	    "", NULL);
	assert_null(txn_find_cancelled(R.tl, c));
	osip_message_free(c);
	/* Branches compare without regard to case. */
	c = request("CANCEL", "192.0.2.7:5060", ";branch=z9hG4bKINV1", 1, NULL,
	    "", NULL);
	assert_ptr_equal(txn_find_cancelled(R.tl, c), inv);
	osip_message_free(c);
}

/* s.17.2.3, RFC 2543 fallback (no magic cookie): Request-URI, tags,
   Call-ID, CSeq and top Via; the ACK matches by the To tag of our final
   response; the CANCEL by everything but the method. */
static void
test_rfc2543(void **state)
{
	osip_message_t *m = request("INVITE", "192.0.2.7", ";branch=old1", 3,
	    NULL, "", NULL), *c;
	struct txn_dest d = dest(TP_UDP);
	struct txn *inv;

	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	inv = R.st;
	assert_string_equal(txn_branch(inv), "");
	assert_int_equal(feed(request("INVITE", "192.0.2.7", ";branch=old1", 3,
	    NULL, "", NULL), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(feed(request("INVITE", "192.0.2.7", ";branch=old1", 4,
	    NULL, "", NULL), TP_UDP), TXN_RECV_NEW);	/* CSeq differs */
	assert_int_equal(feed(request("INVITE", "192.0.2.7", "", 3, NULL, "",
	    NULL), TP_UDP), TXN_RECV_NEW);		/* top Via differs */
	assert_int_equal(R.nreq, 3);

	c = request("CANCEL", "192.0.2.7", ";branch=old1", 3, NULL, "", NULL);
	assert_ptr_equal(txn_find_cancelled(R.tl, c), inv);
	osip_message_free(c);
	c = request("CANCEL", "192.0.2.7", ";branch=old1", 3, NULL, ";tag=zz",
	    NULL);
	assert_null(txn_find_cancelled(R.tl, c));	/* To tag differs */
	osip_message_free(c);

	assert_int_equal(answer(inv, m, 404), 0);
	/* An ACK with another To tag is not for this transaction. */
	assert_int_equal(feed(request("ACK", "192.0.2.7", ";branch=old1", 3,
	    NULL, ";tag=t999", NULL), TP_UDP), TXN_RECV_ACK);
	assert_int_equal(txn_state(inv), TXN_COMPLETED);
	assert_int_equal(feed(request("ACK", "192.0.2.7", ";branch=old1", 3,
	    NULL, ";tag=t404", NULL), TP_UDP), TXN_RECV_ABSORBED);
	assert_int_equal(txn_state(inv), TXN_CONFIRMED);
	assert_int_equal(R.nack, 1);
	osip_message_free(m);
}

/* s.9.1: CANCEL waits for a provisional response, goes with the INVITE's
   branch and Route, in a transaction whose responses the TU never sees. */
static void
test_client_cancel(void **state)
{
	struct txn *ct = client("INVITE", TP_UDP);
	osip_message_t *c, *ok;
	char *text;
	size_t len;

	assert_int_equal(txn_client_cancel(ct), 0);
	assert_int_equal(txn_client_cancel(ct), 0);
	assert_int_equal(count("CANCEL "), 0);
	assert_int_equal(reply(ct, 180), TXN_RECV_MATCHED);
	assert_int_equal(count("CANCEL "), 1);
	assert_true(starts(R.nsent - 1, "CANCEL sip:bob@example.com SIP/2.0\r\n"));
	c = parse(R.sent[R.nsent - 1].text);
	assert_string_equal(c->cseq->number, "5");
	assert_string_equal(c->cseq->method, "CANCEL");
	assert_int_equal(osip_list_size(&c->vias), 1);
	assert_non_null(strstr(R.sent[R.nsent - 1].text, txn_branch(ct)));
	assert_int_equal(osip_list_size(&c->routes), 1);
	assert_null(strstr(R.sent[R.nsent - 1].text, "uas1"));	/* request's To */
	assert_int_equal(txn_layer_count(R.tl), 2);

	/* The 200 for the CANCEL matches its transaction, not the INVITE. */
	text = sip_msg_response(c, NULL, 200, NULL, "uas1", NULL, &len);
	ok = parse(text);
	free(text);
	assert_int_equal(txn_recv_response(R.tl, ok, NULL), TXN_RECV_MATCHED);
	assert_int_equal(R.nresp, 1);			/* only the 180 */
	assert_int_equal(txn_recv_response(R.tl, ok, NULL), TXN_RECV_ABSORBED);
	osip_message_free(ok);
	osip_message_free(c);

	assert_int_equal(reply(ct, 487), TXN_RECV_MATCHED);
	assert_int_equal(R.resp_status, 487);
	assert_int_equal(count("ACK "), 1);
	run_until_empty(2000);
	assert_int_equal(R.nterm, 1);		/* our CANCEL is not reported */

	/* No final response 64*T1 after the CANCEL: the INVITE ends. */
	ct = client("INVITE", TP_UDP);
	assert_int_equal(reply(ct, 183), TXN_RECV_MATCHED);
	R.start = now_ms();
	assert_int_equal(txn_client_cancel(ct), 0);
	assert_int_equal(count("CANCEL "), 2);
	run_until_empty(3000);
	assert_int_equal(R.resp_ev, TXN_EV_TIMEOUT);
	assert_int_equal(R.resp_status, 408);
	assert_true(R.resp_at >= 64 * T1 - 1);
}

/* Responses that match nothing, malformed input, refused requests. */
static void
test_stray_and_refused(void **state)
{
	struct txn *ct = client("INVITE", TP_TCP);
	osip_message_t *m, *r;
	struct txn_dest d = dest(TP_UDP);
	char *cause = NULL, *text;
	size_t len;

	m = request("INVITE", "192.0.2.7", ";branch=z9hG4bKnobody", 1, NULL,
	    "", NULL);
	text = sip_msg_response(m, NULL, 200, NULL, "x", NULL, &len);
	r = parse(text);
	free(text);
	assert_int_equal(txn_recv_response(R.tl, r, NULL), TXN_RECV_STRAY);
	assert_int_equal(txn_recv_request(R.tl, r, orig(&d)), TXN_RECV_BAD);
	osip_message_free(r);
	osip_message_free(m);
	/* Our branch but another CSeq method (s.17.1.3 rule 2). */
	text = sip_msg_response(txn_request(ct), NULL, 200, NULL, "x", NULL,
	    &len);
	r = parse(text);
	free(text);
	osip_free(r->cseq->method);
	osip_cseq_set_method(r->cseq, osip_strdup("OPTIONS"));
	assert_int_equal(txn_recv_response(R.tl, r, NULL), TXN_RECV_STRAY);
	osip_list_special_free(&r->vias, (void (*)(void *))osip_via_free);
	assert_int_equal(txn_recv_response(R.tl, r, NULL), TXN_RECV_BAD);
	assert_int_equal(txn_recv_request(R.tl, r, orig(&d)), TXN_RECV_BAD);
	osip_message_free(r);
	assert_int_equal(R.nresp, 0);

	m = request("ACK", "192.0.2.7", "", 1, NULL, "", NULL);
	assert_null(txn_client_new(R.tl, m, &d, NULL, &cause));
	assert_string_equal(cause, "an ACK has no client transaction "
	    "(RFC 3261 s.17.1)");
	free(cause);
	m = request("OPTIONS", "192.0.2.7", ";branch=nocookie", 1, NULL, "",
	    NULL);
	assert_null(txn_client_new(R.tl, m, &d, NULL, &cause));
	assert_string_equal(cause,
	    "the top Via branch does not begin with z9hG4bK");
	free(cause);
	m = request("INVITE", "192.0.2.7", ";branch=", 1, NULL, "", NULL);
	assert_null(txn_client_new(R.tl, m, &d, NULL, &cause));
	free(cause);
	m = request("INVITE", "x", "", 1, NULL, "", NULL);
	osip_list_special_free(&m->vias, (void (*)(void *))osip_via_free);
	assert_null(txn_client_new(R.tl, m, &d, NULL, &cause));
	assert_string_equal(cause, "the request has no Via header");
	free(cause);
	m = request("OPTIONS", "192.0.2.7", "", 1, NULL, "", NULL);
	osip_via_set_branch((osip_via_t *)osip_list_get(&m->vias, 0),
	    osip_strdup(txn_branch(ct)));
	assert_non_null(txn_client_new(R.tl, m, &d, NULL, &cause));
	m = request("OPTIONS", "192.0.2.7", "", 1, NULL, "", NULL);
	osip_via_set_branch((osip_via_t *)osip_list_get(&m->vias, 0),
	    osip_strdup(txn_branch(ct)));
	assert_null(txn_client_new(R.tl, m, &d, NULL, &cause));
	assert_non_null(strstr(cause, "is already used"));
	free(cause);
	assert_int_equal(txn_layer_count(R.tl), 2);
	assert_int_equal(txn_client_cancel(ct), 0);
}

/* A detached transaction runs to its end without a word to the TU. */
static void
test_detach(void **state)
{
	struct txn *ct = client("INVITE", TP_TCP);

	txn_detach(ct);
	assert_null(txn_user(ct));
	run_until_empty(2000);
	assert_int_equal(R.nresp, 0);
	assert_int_equal(R.nterm, 0);
	assert_int_equal(R.nsent, 1);
}

/* Many transactions at once (the tables grow), freed with the layer. */
static void
test_many(void **state)
{
	char br[64];
	int i;

	for (i = 0; i < 400; i++) {
		snprintf(br, sizeof br, ";branch=z9hG4bKmany%d", i);
		assert_int_equal(feed(request("OPTIONS", "192.0.2.7", br, 1,
		    NULL, "", NULL), TP_UDP), TXN_RECV_NEW);
		client("INFO", TP_UDP);
	}
	assert_int_equal(txn_layer_count(R.tl), 800);
	for (i = 0; i < 400; i++) {
		snprintf(br, sizeof br, ";branch=z9hG4bKmany%d", i);
		assert_int_equal(feed(request("OPTIONS", "192.0.2.7", br, 1,
		    NULL, "", NULL), TP_UDP), TXN_RECV_ABSORBED);
	}
	assert_int_equal(R.nreq, 400);
}

/*
 * Given text goes out byte for byte (and again on retransmission); the
 * parsed request is what the CANCEL and the ACK are made from.  A text
 * response is sent as given too.
 */
static void
test_text(void **state)
{
	static const char inv[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP edge.example.net;branch=z9hG4bKtext1\r\n"
	    "X-Odd-CASE :  kept  \r\n"
	    "Route: <sip:next.example.net;lr>\r\n"
	    "From: <sip:alice@example.com>;tag=f1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: c1@example.com\r\nCSeq: 5 INVITE\r\n"
	    "max-forwards: 69\r\nContent-Length: 0\r\n\r\n";
	static const char nobranch[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP edge.example.net\r\n"
	    "From: <sip:alice@example.com>;tag=f1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: c2@example.com\r\nCSeq: 1 OPTIONS\r\n"
	    "Content-Length: 0\r\n\r\n";
	static const char resp[] = "SIP/2.0 200 OK\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKo1\r\n"
	    "x-odd: 1\r\nFrom: <sip:alice@example.com>;tag=f1\r\n"
	    "To: <sip:bob@example.com>;tag=t9\r\n"
	    "Call-ID: c1@example.com\r\nCSeq: 7 OPTIONS\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct txn_dest d = dest(TP_UDP);
	osip_message_t *m, *r;
	char *cause = NULL;
	struct txn *ct;
	int n;

	ct = txn_client_new_text(R.tl, parse(inv), xstrdup(inv),
	    sizeof inv - 1, &d, &R, &cause);
	assert_null(cause);
	assert_non_null(ct);
	assert_string_equal(txn_branch(ct), "z9hG4bKtext1");
	assert_int_equal(R.nsent, 1);
	assert_string_equal(R.sent[0].text, inv);
	run_ms(T1 + 10);
	assert_int_equal(R.nsent, 2);
	assert_string_equal(R.sent[1].text, inv);
	assert_int_equal(reply(ct, 180), TXN_RECV_MATCHED);
	assert_int_equal(txn_client_cancel(ct), 0);
	assert_true(starts(R.nsent - 1, "CANCEL sip:bob@example.com SIP/2.0\r\n"));
	assert_non_null(strstr(R.sent[R.nsent - 1].text, "z9hG4bKtext1"));
	assert_non_null(strstr(R.sent[R.nsent - 1].text, "next.example.net"));
	assert_int_equal(reply(ct, 487), TXN_RECV_MATCHED);
	assert_true(starts(R.nsent - 1, "ACK sip:bob@example.com SIP/2.0\r\n"));
	assert_non_null(strstr(R.sent[R.nsent - 1].text, "z9hG4bKtext1"));

	/* No branch in the text: refused (one cannot be added to text). */
	ct = txn_client_new_text(R.tl, parse(nobranch), xstrdup(nobranch),
	    sizeof nobranch - 1, &d, &R, &cause);
	assert_null(ct);
	assert_non_null(cause);
	free(cause);

	/* A response given as text goes out as it is. */
	m = request("OPTIONS", "192.0.2.7", ";branch=z9hG4bKo1", 7, NULL, "",
	    NULL);
	assert_int_equal(txn_recv_request(R.tl, m, orig(&d)), TXN_RECV_NEW);
	r = parse(resp);
	n = R.nsent;
	assert_int_equal(txn_respond_as(R.st, r, resp, sizeof resp - 1), 0);
	assert_int_equal(txn_state(R.st), TXN_COMPLETED);
	assert_int_equal(R.nsent, n + 1);
	assert_string_equal(R.sent[n].text, resp);
	assert_int_equal(txn_respond_as(R.st, r, resp, sizeof resp - 1), -1);
	osip_message_free(r);
	osip_message_free(m);
	run_until_empty(3000);
}

/* Does file hold a line with every one of the NULL-ended strings? */
static int
has_line(const char *file, ...)
{
	char line[1024];
	const char *want;
	va_list ap;
	FILE *fp;
	int found = 0, ok;

	assert_non_null(fp = fopen(file, "r"));
	while (!found && fgets(line, sizeof line, fp) != NULL) {
		ok = 1;
		va_start(ap, file);
		while ((want = va_arg(ap, const char *)) != NULL)
			if (strstr(line, want) == NULL)
				ok = 0;
		va_end(ap);
		found = ok;
	}
	fclose(fp);
	return found;
}

/*
 * A client transaction from text alone (txn_client_new_raw, what the
 * proxy forwards): sent as it is, never parsed while nothing needs it,
 * then parsed for the CANCEL and the ACK of the 487; another from text
 * times out with a local 408 made from the parsed text; a branch
 * without the cookie and an ACK are refused.
 */
static void
test_raw(void **state)
{
	static const char inv[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP edge.example.net;branch=z9hG4bKraw1\r\n"
	    "Route: <sip:next.example.net;lr>\r\n"
	    "From: <sip:alice@example.com>;tag=f1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: r1@example.com\r\nCSeq: 5 INVITE\r\n"
	    "Max-Forwards: 69\r\nContent-Length: 0\r\n\r\n";
	static const char opt[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP edge.example.net;branch=z9hG4bKraw2\r\n"
	    "From: <sip:alice@example.com>;tag=f1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: r2@example.com\r\nCSeq: 1 OPTIONS\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct txn_dest d = dest(TP_UDP), dt = dest(TP_TCP);
	char *cause = NULL;
	osip_message_t *req = parse(inv);
	struct txn *ct;

	(void)state;
	ct = txn_client_new_raw(R.tl, xstrdup(inv), sizeof inv - 1, "INVITE",
	    "z9hG4bKraw1", "r1@example.com", &d, &R, &cause);
	assert_null(cause);
	assert_non_null(ct);
	assert_null(txn_request(ct));		/* not parsed */
	assert_string_equal(txn_branch(ct), "z9hG4bKraw1");
	assert_string_equal(txn_method(ct), "INVITE");
	assert_int_equal(R.nsent, 1);
	assert_string_equal(R.sent[0].text, inv);
	run_ms(T1 + 10);
	assert_int_equal(R.nsent, 2);
	assert_string_equal(R.sent[1].text, inv);
	assert_int_equal(reply_to(req, 180), TXN_RECV_MATCHED);
	assert_null(txn_request(ct));
	assert_int_equal(txn_client_cancel(ct), 0);
	assert_non_null(txn_request(ct));	/* parsed for the CANCEL */
	assert_true(starts(R.nsent - 1, "CANCEL sip:bob@example.com SIP/2.0\r\n"));
	assert_non_null(strstr(R.sent[R.nsent - 1].text, "z9hG4bKraw1"));
	assert_non_null(strstr(R.sent[R.nsent - 1].text, "next.example.net"));
	assert_int_equal(reply_to(req, 487), TXN_RECV_MATCHED);
	assert_true(starts(R.nsent - 1, "ACK sip:bob@example.com SIP/2.0\r\n"));
	assert_non_null(strstr(R.sent[R.nsent - 1].text, "z9hG4bKraw1"));

	R.start = now_ms();
	R.nresp = 0;
	ct = txn_client_new_raw(R.tl, xstrdup(opt), sizeof opt - 1, "OPTIONS",
	    "z9hG4bKraw2", "r2@example.com", &dt, &R, &cause);
	assert_non_null(ct);
	run_until_empty(3000);
	assert_int_equal(R.nresp, 1);
	assert_int_equal(R.resp_status, 408);
	assert_string_equal(R.resp_callid, "r2");

	ct = txn_client_new_raw(R.tl, xstrdup(opt), sizeof opt - 1, "OPTIONS",
	    "x9hG4bKraw3", "r3@example.com", &dt, &R, &cause);
	osip_message_free(req);
	assert_null(ct);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	ct = txn_client_new_raw(R.tl, xstrdup(opt), sizeof opt - 1, "ACK",
	    "z9hG4bKraw4", "r4@example.com", &dt, &R, &cause);
	assert_null(ct);
	assert_non_null(cause);
	free(cause);
}

/*
 * The origin given with a message is the one the callbacks get; every
 * state change is one debug line "txn state" with txn=, the Call-ID and
 * old -> new.
 */
static void
test_origin_and_state_log(void **state)
{
	char dir[] = "/tmp/sipedge-txnlog-XXXXXX", *path;
	struct txn_dest d = dest(TP_TCP);
	const struct sip_origin *o = orig(&d);
	osip_message_t *m = invite(), *r;
	struct sip_origin ro;
	struct txn *ct;
	char *cause = NULL, *text;
	size_t len;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/txn.log", dir);
	assert_int_equal(log_configure(path, 0, 0, 0, LOG_LVL_DEBUG, &cause),
	    0);
	assert_int_equal(txn_recv_request(R.tl, m, o), TXN_RECV_NEW);
	assert_ptr_equal(R.req_origin, o);
	assert_int_equal(answer(R.st, m, 486), 0);
	assert_int_equal(feed(request("ACK", "192.0.2.7:5060",
	    ";branch=z9hG4bKinv1", 1, NULL, ";tag=t486", NULL), TP_TCP),
	    TXN_RECV_ABSORBED);

	ct = txn_client_new(R.tl, request("OPTIONS", "edge.example.net", "",
	    7, NULL, "", NULL), &d, NULL, &cause);
	assert_non_null(ct);
	text = sip_msg_response(txn_request(ct), NULL, 200, NULL, "u1", NULL,
	    &len);
	assert_non_null(text);
	r = parse(text);
	free(text);
	memset(&ro, 0, sizeof ro);
	assert_int_equal(txn_recv_response(R.tl, r, &ro), TXN_RECV_MATCHED);
	assert_ptr_equal(R.resp_origin, &ro);
	osip_message_free(r);
	run_until_empty(3000);
	log_close();

	assert_true(has_line(path, "event=\"txn state\"", " txn=1 ",
	    "call_id=c1@example.com", " from=- ", " to=proceeding", NULL));
	assert_true(has_line(path, " txn=1 ", " from=proceeding ",
	    " to=completed", NULL));
	assert_true(has_line(path, " txn=1 ", " from=completed ",
	    " to=confirmed", NULL));
	assert_true(has_line(path, " txn=1 ", " from=confirmed ",
	    " to=terminated", NULL));
	assert_true(has_line(path, " txn=2 ", "method=OPTIONS",
	    " from=trying ", " to=completed", NULL));
	assert_true(has_line(path, " txn=2 ", " from=completed ",
	    " to=terminated", NULL));
	unlink(path);
	rmdir(dir);
	free(path);
	osip_message_free(m);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_branch),
		T(test_ist_trying),
		T(test_ist_trying_early),
		T(test_ist_provisional),
		T(test_ist_non2xx_ack),
		T(test_ist_timer_h),
		T(test_ist_tcp),
		T(test_ist_accepted),
		T(test_nist),
		T(test_nist_tcp),
		T(test_max_server),
		T(test_ict_timeout_udp),
		T(test_ict_timeout_tcp),
		T(test_ict_non2xx),
		T(test_ict_accepted),
		T(test_nict_timeout),
		T(test_nict_responses),
		T(test_transport_error),
		T(test_cancel_lookup),
		T(test_rfc2543),
		T(test_client_cancel),
		T(test_stray_and_refused),
		T(test_detach),
		T(test_many),
		T(test_text),
		T(test_raw),
		T(test_origin_and_state_log),
	};
#undef T

	sip_msg_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
