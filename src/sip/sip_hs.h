/*
 * sip_hs.h: a pool of worker threads that run TLS handshakes, so that the
 * event loop never spends its CPU on handshake cryptography.
 *
 * The loop hands a connected socket and its SSL over with sip_hs_submit();
 * from then on only the worker touches them, until the handshake ends
 * (done, failed) and the pair comes back to the loop through done(), or
 * until the loop cancels the job (its connection went away), after which
 * done() is never called for it.  Each worker multiplexes many handshakes
 * on non-blocking sockets (epoll): a silent peer holds no thread.  There
 * are no timeouts here: the loop keeps its own deadline and cancels.
 * Workers neither log nor touch anything of the loop.
 */
#ifndef SE_SIP_HS_H
#define SE_SIP_HS_H

#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

struct sip_hs;
struct sip_hs_job;

/*
 * A handshake ended, on the loop.  ok: ssl and fd are the caller's again
 * (the handshake is complete).  Not ok: why says what failed; ssl is
 * already freed and fd closed (both are passed as NULL and -1).
 */
typedef void	(*sip_hs_done_cb)(void *owner, SSL *ssl, int fd,
		    const char *why, void *arg);

/*
 * A pool of nthreads (>= 1) workers reporting to the loop of base through
 * done(owner, ..., arg).  NULL with *cause (caller frees) when a thread,
 * epoll or eventfd cannot be made; nothing is left running then.
 */
struct sip_hs		*sip_hs_new(struct event_base *base, int nthreads,
			    sip_hs_done_cb done, void *arg, char **cause);
/*
 * Stop and join the workers, then free the jobs still held (their SSL
 * freed, sockets closed, done() not called).  NULL is fine.
 */
void			 sip_hs_free(struct sip_hs *p);
/*
 * Run the server or client handshake of ssl (its state already set by
 * SSL_set_accept_state or SSL_set_connect_state) on non-blocking socket
 * fd, which ssl must already use (SSL_set_fd).  The worker owns both
 * until done(owner, ...) runs on the loop.  Never fails.
 */
struct sip_hs_job	*sip_hs_submit(struct sip_hs *p, int fd, SSL *ssl,
			    void *owner);
/*
 * The owner of job j went away: the worker drops it (frees the SSL,
 * closes the socket) and done() is not called.  j must not be used after.
 */
void			 sip_hs_cancel(struct sip_hs_job *j);

/* What sipedge-ctl status shows of the pool. */
struct sip_hs_stats {
	int			 threads;
	size_t			 in_flight;	/* submitted, not back yet */
	unsigned long long	 done;		/* handshakes completed */
	unsigned long long	 failed;
	unsigned long long	 cancelled;	/* their connection closed first */
};
void			 sip_hs_stats(const struct sip_hs *p,
			    struct sip_hs_stats *st);

#endif
