/*
 * sip_conn_hs.c: the end of a connection's TLS handshake (the "handshake
 * ok" line, then the gate), and handshakes run on the pool of worker
 * threads (sip_hs.c): the hand-over of an accepted or connected socket
 * with its SSL, and taking the connection back on the loop when the
 * worker is done.
 *
 * Everything here runs on the loop.  While a worker holds a connection's
 * handshake (c->hs), the connection owns neither socket nor SSL (c->fd is
 * -1, c->bev NULL); its handshake deadline stays on the loop, and closing
 * it cancels the job (sip_conn.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "conf/conf.h"
#include "sip/sip_hs.h"
#include "sip/sip_transport_int.h"
#include "util/xmalloc.h"

/*
 * The same certificate byte for byte: X509_cmp compares the digests of
 * the whole certificates and their signed parts; the signatures are
 * compared as well, for a certificate whose digest could not be made.
 */
static int
same_cert(const X509 *a, const X509 *b)
{
	const ASN1_BIT_STRING *sa, *sb;
	const X509_ALGOR *aa, *ab;

	if (X509_cmp(a, b) != 0)
		return 0;
	X509_get0_signature(&sa, &aa, a);
	X509_get0_signature(&sb, &ab, b);
	return ASN1_STRING_cmp(sa, sb) == 0 && X509_ALGOR_cmp(aa, ab) == 0;
}

/*
 * The CA certificates peers send are mostly the same few (their issuers,
 * often the root too), and OpenSSL keeps a parsed copy of each in every
 * connection's session for as long as it is open, about 4 KB apiece with
 * its public key.  So after a full handshake each certificate of the
 * peer's chain but its own is looked up among the last CERT_SHARED_N
 * such certificates: when one is there byte for byte, the session's chain
 * takes that copy (referenced) and frees its own; otherwise it is kept
 * there for the next peers.  Nothing changes for any check: the gate,
 * `certs` and the revocation checks see the same bytes.  A resumed
 * session is left alone (it came from a ticket and carries no chain).
 */
static void
share_chain(struct sip_transport *t, SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl), *x;
	int i, k;

	if (chain == NULL || SSL_session_reused(ssl))
		return;
	for (i = 0; i < sk_X509_num(chain); i++) {
		if ((x = sk_X509_value(chain, i)) == leaf)
			continue;	/* the client side's chain has it */
		for (k = 0; k < CERT_SHARED_N && t->shared[k] != NULL; k++)
			if (t->shared[k] == x || same_cert(t->shared[k], x))
				break;
		if (k < CERT_SHARED_N && t->shared[k] != NULL) {
			if (t->shared[k] != x) {
				X509_up_ref(t->shared[k]);
				(void)sk_X509_set(chain, i, t->shared[k]);
				X509_free(x);
			}
			continue;
		}
		k = t->shared_next;
		t->shared_next = (k + 1) % CERT_SHARED_N;
		X509_free(t->shared[k]);
		X509_up_ref(x);
		t->shared[k] = x;
	}
}

/* The transport is going away: release the shared CA certificates. */
void
sip_conn_hs_shared_free(struct sip_transport *t)
{
	int k;

	for (k = 0; k < CERT_SHARED_N; k++) {
		X509_free(t->shared[k]);
		t->shared[k] = NULL;
	}
}

/*
 * c's handshake is complete (its bufferevent is made): log it, hold c at
 * the gate (with the gate's deadline) and ask the gate.
 */
void
sip_conn_handshake_done(struct sip_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	struct timeval gate = { c->profile->gate_timeout > 0 ?
	    c->profile->gate_timeout : c->profile->handshake_timeout + 10, 0 };
	struct log_line l;
	X509 *peer;
	char *subj;

	share_chain(c->t, ssl);
	/* Held at the gate until the verdict, which may never come. */
	sip_conn_dl_set(c, DL_STATE, &gate);
	sip_conn_set_state(c, CONN_GATED);
	sip_conn_idle_start(c);
	log_begin(&l, LOG_LVL_INFO, "tls", "handshake ok");
	log_kvs(&l, "peer", c->origin.peer_str);
	log_kvs(&l, "version", SSL_get_version(ssl));
	log_kvs(&l, "cipher", SSL_get_cipher_name(ssl));
	if ((peer = SSL_get0_peer_certificate(ssl)) != NULL) {
		subj = X509_NAME_oneline(X509_get_subject_name(peer), NULL, 0);
		log_kvs(&l, "peer_subject", subj);
		OPENSSL_free(subj);
	}
	log_kv(&l, "conn", "%llu", c->id);
	log_end(&l);
	switch (c->t->gate != NULL ? c->t->gate(c, ssl, &c->origin,
	    c->t->gate_arg) : SIP_GATE_OPEN) {
	case SIP_GATE_OPEN:
		sip_conn_gate_open(c);
		break;
	case SIP_GATE_REFUSE:
		sip_conn_close_level(c, LOG_LVL_WARN,
		    "peer refused at the gate");
		break;
	case SIP_GATE_HOLD:
		break;
	}
}

/*
 * A worker is done with the handshake of connection owner: on success
 * the loop owns ssl and fd again and goes on exactly as after a handshake
 * run by bufferevent_openssl (bufferevent made in the open state, then
 * sip_conn_handshake_done); on failure (ssl freed, fd closed by then) it
 * is logged and c freed, as on the loop.
 */
static void
hs_done(void *owner, SSL *ssl, int fd, const char *why, void *arg)
{
	struct sip_conn *c = owner;

	(void)arg;
	c->hs = NULL;
	if (why != NULL) {
		sip_conn_hs_failed(c, why);
		return;
	}
	c->bev = bufferevent_openssl_socket_new(c->t->base, fd, ssl,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		ERR_clear_error();
		sip_conn_hs_failed(c, "cannot make the connection's buffers");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	sip_conn_bev_setup(c);
	sip_conn_handshake_done(c);
}

/*
 * Run the handshake of c (accept or connect state set on ssl) on the
 * pool: 0 with ssl and fd handed over, or -1 when there is no pool (the
 * caller runs it on the loop).
 */
int
sip_conn_hs_start(struct sip_conn *c, int fd, SSL *ssl)
{
	if (c->t->hs == NULL)
		return -1;
	if (SSL_set_fd(ssl, fd) != 1) {
		ERR_clear_error();
		return -1;
	}
	c->fd = -1;
	c->hs = sip_hs_submit(c->t->hs, fd, ssl, c);
	return 0;
}

/*
 * Text of the TLS (or socket) error behind a bufferevent error; 1 when it
 * came from TLS, 0 from the socket.
 */
int
sip_conn_error_text(struct sip_conn *c, char *buf, size_t bufsz)
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

/*
 * The TCP connect of outbound TLS connection c finished: run its client
 * handshake on the pool.  0 when handed over (c in CONN_HANDSHAKE), -1
 * when there is no pool.
 */
int
sip_conn_hs_connect(struct sip_conn *c, int fd)
{
	SSL *ssl = c->ssl;

	SSL_set_connect_state(ssl);
	if (sip_conn_hs_start(c, fd, ssl) == -1)
		return -1;
	c->ssl = NULL;		/* the worker's until it is done */
	sip_conn_set_state(c, CONN_HANDSHAKE);
	return 0;
}

/* The number of workers that setting n (-1: one per CPU) asks for. */
static int
hs_threads_wanted(int n)
{
	long cpus;

	if (n >= 0)
		return n;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > 1024 ? 1024 : (int)cpus;
}

/* Start the handshake threads once; later settings wait for a restart. */
void
sip_transport_set_hs_threads(struct sip_transport *t, int n)
{
	struct log_line l;
	char *cause = NULL;
	int want = hs_threads_wanted(n);

	if (t->hs_set) {
		if (n == t->hs_setting)
			return;
		log_begin(&l, LOG_LVL_WARN, "tls", "handshake pool unchanged");
		log_kv(&l, "threads", "%d", t->hs_threads);
		log_kv(&l, "setting", "%d", n);
		log_kvs(&l, "reason", "tls.handshake_threads takes effect "
		    "at the next start");
		log_end(&l);
		return;
	}
	t->hs_set = 1;
	t->hs_setting = n;
	if (want > 0 && (t->hs = sip_hs_new(t->base, want, hs_done, t,
	    &cause)) == NULL) {
		log_event(LOG_LVL_ERROR, "tls", "handshake pool failed",
		    "reason", cause, NULL);
		free(cause);
		want = 0;
	}
	t->hs_threads = want;
	log_begin(&l, LOG_LVL_NOTICE, "tls", "handshake pool");
	log_kv(&l, "threads", "%d", want);
	log_kvs(&l, "handshakes", want > 0 ? "worker threads" : "event loop");
	log_end(&l);
}
