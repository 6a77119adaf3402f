/*
 * test_hs.c: the TLS handshake pool (src/sip/sip_hs.c) on socket pairs:
 * many handshakes completed by 2 workers and handed back on the loop,
 * a peer that sends garbage fails with a reason, silent peers cancelled
 * (done never called, their sockets closed by the worker), and the pool
 * freed with handshakes in flight.  Also built with -fsanitize=thread.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sip/sip_hs.h"

#define NPAIRS	20

static SSL_CTX *server_ctx, *client_ctx;

/* What done() was told. */
struct result {
	int	 calls;
	int	 ok;
	int	 failed;
	char	 why[160];
};

/* A server context with a P-256 key and a self-signed certificate. */
static SSL_CTX *
make_server_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test.example", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

static int
setup(void **state)
{
	(void)state;
	server_ctx = make_server_ctx();
	client_ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	return 0;
}

/* done(): count, keep the reason, check and free what came back. */
static void
done_cb(void *owner, SSL *ssl, int fd, const char *why, void *arg)
{
	struct result *r = arg;

	(void)owner;
	r->calls++;
	if (why == NULL) {
		assert_non_null(ssl);
		assert_true(fd >= 0);
		assert_true(SSL_is_init_finished(ssl));
		r->ok++;
		SSL_free(ssl);
		close(fd);
	} else {
		assert_null(ssl);
		assert_int_equal(fd, -1);
		r->failed++;
		snprintf(r->why, sizeof r->why, "%s", why);
	}
}

/* Run base until the pool has nothing in flight; at most about 10 s. */
static void
run_until_idle(struct event_base *base, struct sip_hs *p)
{
	struct sip_hs_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		sip_hs_stats(p, &st);
		if (st.in_flight == 0)
			return;
		usleep(10000);
	}
	fail_msg("the pool still has %zu handshakes in flight", st.in_flight);
}

/* The server end of a socket pair, handed to the pool. */
static struct sip_hs_job *
submit_server(struct sip_hs *p, int fd, void *owner)
{
	SSL *ssl = SSL_new(server_ctx);
	struct sip_hs_job *j;

	SSL_set_accept_state(ssl);
	assert_int_equal(SSL_set_fd(ssl, fd), 1);
	j = sip_hs_submit(p, fd, ssl, owner);
	assert_non_null(j);
	return j;
}

/* Client side: blocking handshakes on each of the fds, in turn. */
static void *
clients_main(void *arg)
{
	int *fds = arg, i;
	SSL *ssl;

	for (i = 0; i < NPAIRS; i++) {
		ssl = SSL_new(client_ctx);
		SSL_set_fd(ssl, fds[i]);
		if (SSL_connect(ssl) != 1)
			fds[i] = -2;	/* reported by the test */
		SSL_free(ssl);
	}
	ERR_clear_error();
	OPENSSL_thread_stop();
	return NULL;
}

/*
 * A socket pair: sv[0] for the pool (non-blocking), sv[1] the peer's
 * (non-blocking too when nonblock_peer).
 */
static void
pair(int sv[2], int nonblock_peer)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	if (nonblock_peer)
		assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

/* 20 handshakes on 2 workers: each handed back complete, on the loop. */
static void
test_handshakes(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = { 0 };
	struct sip_hs_stats st;
	struct sip_hs *p;
	char *cause = NULL;
	int sv[2], peer[NPAIRS], i;
	pthread_t th;

	(void)state;
	p = sip_hs_new(base, 2, done_cb, &r, &cause);
	assert_non_null(p);
	for (i = 0; i < NPAIRS; i++) {
		pair(sv, 0);
		submit_server(p, sv[0], &peer[i]);
		peer[i] = sv[1];
	}
	assert_int_equal(pthread_create(&th, NULL, clients_main, peer), 0);
	run_until_idle(base, p);
	pthread_join(th, NULL);
	for (i = 0; i < NPAIRS; i++) {
		assert_true(peer[i] >= 0);
		close(peer[i]);
	}
	assert_int_equal(r.ok, NPAIRS);
	assert_int_equal(r.failed, 0);
	sip_hs_stats(p, &st);
	assert_int_equal(st.threads, 2);
	assert_int_equal(st.done, NPAIRS);
	assert_int_equal(st.in_flight, 0);
	sip_hs_free(p);
	event_base_free(base);
}

/* A peer that sends no TLS: the handshake fails, with OpenSSL's reason. */
static void
test_failure(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = { 0 };
	struct sip_hs_stats st;
	struct sip_hs *p;
	char *cause = NULL;
	const char junk[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
	int sv[2];

	(void)state;
	p = sip_hs_new(base, 1, done_cb, &r, &cause);
	assert_non_null(p);
	pair(sv, 1);
	assert_int_equal(write(sv[1], junk, sizeof junk - 1),
	    (ssize_t)(sizeof junk - 1));
	submit_server(p, sv[0], &r);
	run_until_idle(base, p);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.failed, 1);
	assert_true(r.why[0] != '\0');
	sip_hs_stats(p, &st);
	assert_int_equal(st.failed, 1);
	close(sv[1]);
	sip_hs_free(p);
	event_base_free(base);
}

/* Silent peers, cancelled: done() never runs, the worker closes them. */
static void
test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = { 0 };
	struct sip_hs_stats st;
	struct sip_hs_job *j[5];
	struct sip_hs *p;
	char *cause = NULL, c;
	int sv[2], peer[5], i;

	(void)state;
	p = sip_hs_new(base, 2, done_cb, &r, &cause);
	assert_non_null(p);
	for (i = 0; i < 5; i++) {
		pair(sv, 1);
		j[i] = submit_server(p, sv[0], &peer[i]);
		peer[i] = sv[1];
	}
	for (i = 0; i < 5; i++)
		sip_hs_cancel(j[i]);
	run_until_idle(base, p);
	assert_int_equal(r.calls, 0);
	sip_hs_stats(p, &st);
	assert_int_equal(st.cancelled, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(read(peer[i], &c, 1), 0);	/* closed */
		close(peer[i]);
	}
	sip_hs_free(p);
	event_base_free(base);
}

/* Freed with handshakes waiting: their sockets closed, nothing leaks. */
static void
test_free_in_flight(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = { 0 };
	struct sip_hs *p;
	char *cause = NULL, c;
	int sv[2], peer[3], i;

	(void)state;
	p = sip_hs_new(base, 2, done_cb, &r, &cause);
	assert_non_null(p);
	for (i = 0; i < 3; i++) {
		pair(sv, 1);
		submit_server(p, sv[0], &peer[i]);
		peer[i] = sv[1];
	}
	usleep(20000);
	sip_hs_free(p);
	assert_int_equal(r.calls, 0);
	for (i = 0; i < 3; i++) {
		while (read(peer[i], &c, 1) > 0)
			;
		assert_int_equal(read(peer[i], &c, 1), 0);
		close(peer[i]);
	}
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_in_flight),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
