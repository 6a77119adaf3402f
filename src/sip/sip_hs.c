/*
 * sip_hs.c: the TLS handshake pool (sip_hs.h).  N worker threads, each
 * with an epoll set of the non-blocking sockets whose handshakes it
 * drives with SSL_do_handshake, an inbox of new jobs and an eventfd that
 * wakes it; the finished jobs go back on one outbox that an eventfd
 * watched by the loop drains.
 *
 * Why eventfds and not event_active() from the workers: that needs
 * libevent's locking (evthread_use_pthreads), which then takes a mutex
 * around every event operation of the loop, for every message; here the
 * loop pays one read(2) per batch of finished handshakes and nothing else.
 *
 * Ownership: a job's memory belongs to the loop (freed only when it comes
 * back); its SSL and socket belong to the worker from submit to return.
 * The loop cancels by setting a flag the worker reads (never by touching
 * the worker's lists).  Workers never log and never block but in
 * epoll_wait.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sip/sip_hs.h"
#include "util/xmalloc.h"

#define HS_EVENTS	64	/* epoll events taken per wake-up */

struct hs_worker;

/* One handshake. */
struct sip_hs_job {
	struct hs_worker	*w;
	void			*owner;		/* loop only; NULL: cancelled */
	int			 cancel;	/* atomic: the loop gave it up */
	int			 fd;
	SSL			*ssl;
	uint32_t		 want;		/* epoll events armed (worker) */
	int			 failed;
	char			 why[160];
	struct sip_hs_job	*next;		/* inbox, active or outbox */
	struct sip_hs_job	*prev;		/* active list (worker) */
};

/* One worker thread and what it holds. */
struct hs_worker {
	struct sip_hs		*p;
	pthread_t		 thread;
	int			 started;
	int			 ep;		/* epoll set of its sockets */
	int			 efd;		/* wakes it: new jobs, cancels, stop */
	pthread_mutex_t		 mu;		/* inbox and stop */
	struct sip_hs_job	*inbox;
	int			 stop;
	int			 ncancel;	/* atomic: cancels to look for */
	struct sip_hs_job	*active;	/* the worker's own */
	size_t			 njobs;		/* loop only: given, not back */
};

/* The pool. */
struct sip_hs {
	struct event_base	*base;
	sip_hs_done_cb		 done;
	void			*arg;
	struct hs_worker	*w;
	int			 n;
	int			 efd;		/* the loop's: jobs came back */
	struct event		*ev;
	pthread_mutex_t		 mu;		/* outbox */
	struct sip_hs_job	*outbox;
	int			 next;		/* loop only: the worker tried
						   first next time, minus one */
	size_t			 in_flight;	/* loop only, as below */
	unsigned long long	 ndone, nfailed, ncancelled;
};

/* Wake whoever reads eventfd fd. */
static void
efd_kick(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof one) == -1 && errno == EINTR)
		;
}

/* Clear eventfd fd. */
static void
efd_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof v) == -1 && errno == EINTR)
		;
}

/* Drop what j holds: its SSL and its socket. */
static void
job_drop(struct sip_hs_job *j)
{
	SSL_free(j->ssl);
	j->ssl = NULL;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

/*
 * Worker: j is over (why NULL: the handshake is complete).  Out of the
 * epoll set and the active list, and onto the outbox, waking the loop
 * when the outbox was empty (it drains it whole).
 */
static void
job_finish(struct hs_worker *w, struct sip_hs_job *j, const char *why)
{
	struct sip_hs *p = w->p;
	int kick;

	(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, j->fd, NULL);
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		w->active = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (why != NULL) {
		j->failed = 1;
		snprintf(j->why, sizeof j->why, "%s", why);
		job_drop(j);
	}
	ERR_clear_error();
	pthread_mutex_lock(&p->mu);
	kick = p->outbox == NULL;
	j->next = p->outbox;
	p->outbox = j;
	pthread_mutex_unlock(&p->mu);
	if (kick)
		efd_kick(p->efd);
}

/* The reason a handshake failed, from OpenSSL's queue or errno. */
static void
fail_text(SSL *ssl, int r, int err, char *buf, size_t bufsz)
{
	unsigned long e, last = 0;
	const char *s;

	while ((e = ERR_get_error()) != 0)
		last = e;
	/* OpenSSL 3 reports a peer gone mid-handshake as an SSL error. */
	if (last != 0 && ERR_GET_LIB(last) == ERR_LIB_SSL &&
	    ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		last = 0;
		err = SSL_ERROR_ZERO_RETURN;
	}
	if (last != 0 && (s = ERR_reason_error_string(last)) != NULL)
		snprintf(buf, bufsz, "%s", s);
	else if (last != 0)
		ERR_error_string_n(last, buf, bufsz);
	else if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(buf, bufsz, "%s", strerror(errno));
	else
		snprintf(buf, bufsz, "peer closed the connection during the "
		    "handshake");
	(void)ssl;
	(void)r;
}

/* Worker: go on with j's handshake until it waits, ends or fails. */
static void
job_step(struct hs_worker *w, struct sip_hs_job *j)
{
	struct epoll_event ev;
	char why[160];
	uint32_t want;
	int r, err;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(j->ssl)) == 1) {
		job_finish(w, j, NULL);
		return;
	}
	switch ((err = SSL_get_error(j->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		want = EPOLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		want = EPOLLOUT;
		break;
	default:
		fail_text(j->ssl, r, err, why, sizeof why);
		job_finish(w, j, why);
		return;
	}
	if (want == j->want)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = want | EPOLLRDHUP;
	ev.data.ptr = j;
	if (epoll_ctl(w->ep, j->want == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
	    j->fd, &ev) == -1) {
		snprintf(why, sizeof why, "epoll: %s", strerror(errno));
		job_finish(w, j, why);
		return;
	}
	j->want = want;
}

/*
 * Worker: take the new jobs and start them; drop the cancelled ones.
 * 1 when the worker is to stop.
 */
static int
worker_take(struct hs_worker *w)
{
	struct sip_hs_job *j, *next, *in;
	int stop;

	pthread_mutex_lock(&w->mu);
	in = w->inbox;
	w->inbox = NULL;
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	for (j = in; j != NULL; j = next) {
		next = j->next;
		j->prev = NULL;
		j->next = w->active;
		if (w->active != NULL)
			w->active->prev = j;
		w->active = j;
		/* Cancelled before it started: its count may be spent. */
		if (__atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE))
			job_finish(w, j, "cancelled");
		else
			job_step(w, j);
	}
	if (__atomic_exchange_n(&w->ncancel, 0, __ATOMIC_ACQ_REL) != 0) {
		for (j = w->active; j != NULL; j = next) {
			next = j->next;
			if (__atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE))
				job_finish(w, j, "cancelled");
		}
	}
	return stop;
}

/* A worker thread: epoll_wait, handshakes, the inbox; until stopped. */
static void *
worker_main(void *arg)
{
	struct hs_worker *w = arg;
	struct epoll_event ev[HS_EVENTS];
	int i, n;

	for (;;) {
		n = epoll_wait(w->ep, ev, HS_EVENTS, -1);
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				efd_drain(w->efd);
			else
				job_step(w, ev[i].data.ptr);
		}
		if (worker_take(w))
			break;
	}
	ERR_clear_error();
	OPENSSL_thread_stop();
	return NULL;
}

/*
 * Loop: the jobs that came back.  Each is handed to done() unless it was
 * cancelled meanwhile, then freed.
 */
static void
results_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_hs *p = arg;
	struct sip_hs_job *j, *next, *back = NULL;

	(void)fd;
	(void)what;
	efd_drain(p->efd);
	pthread_mutex_lock(&p->mu);
	j = p->outbox;
	p->outbox = NULL;
	pthread_mutex_unlock(&p->mu);
	for (; j != NULL; j = next) {	/* oldest first */
		next = j->next;
		j->next = back;
		back = j;
	}
	for (j = back; j != NULL; j = next) {
		next = j->next;
		j->w->njobs--;
		p->in_flight--;
		if (j->owner == NULL) {
			p->ncancelled++;
			job_drop(j);
		} else if (j->failed) {
			p->nfailed++;
			p->done(j->owner, NULL, -1, j->why, p->arg);
		} else {
			p->ndone++;
			p->done(j->owner, j->ssl, j->fd, NULL, p->arg);
		}
		free(j);
	}
}

/* Start worker w of p: its epoll set, eventfd and thread.  0, or -1. */
static int
worker_start(struct sip_hs *p, struct hs_worker *w, char **cause)
{
	struct epoll_event ev;
	sigset_t all, old;
	int e;

	w->p = p;
	w->efd = -1;
	pthread_mutex_init(&w->mu, NULL);
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*cause = xasprintf("handshake pool: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &ev) == -1) {
		*cause = xasprintf("handshake pool: %s", strerror(errno));
		return -1;
	}
	/* Signals stay the loop's: the thread starts with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		*cause = xasprintf("handshake pool: cannot start a thread: %s",
		    strerror(e));
		return -1;
	}
	w->started = 1;
	return 0;
}

/* A pool of nthreads workers (sip_hs.h). */
struct sip_hs *
sip_hs_new(struct event_base *base, int nthreads, sip_hs_done_cb done,
    void *arg, char **cause)
{
	struct sip_hs *p = xcalloc(1, sizeof *p);
	int i;

	p->base = base;
	p->done = done;
	p->arg = arg;
	p->n = nthreads;
	pthread_mutex_init(&p->mu, NULL);
	p->w = xcalloc((size_t)nthreads, sizeof *p->w);
	for (i = 0; i < nthreads; i++)
		p->w[i].ep = p->w[i].efd = -1;
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*cause = xasprintf("handshake pool: %s", strerror(errno));
		sip_hs_free(p);
		return NULL;
	}
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, results_cb, p);
	event_add(p->ev, NULL);
	for (i = 0; i < nthreads; i++) {
		if (worker_start(p, &p->w[i], cause) == -1) {
			sip_hs_free(p);
			return NULL;
		}
	}
	return p;
}

/* Free a list of jobs linked by next, dropping what they hold. */
static void
jobs_free(struct sip_hs_job *j)
{
	struct sip_hs_job *next;

	for (; j != NULL; j = next) {
		next = j->next;
		job_drop(j);
		free(j);
	}
}

/* Stop and join the workers, drop the jobs they still hold. */
void
sip_hs_free(struct sip_hs *p)
{
	struct hs_worker *w;
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		w = &p->w[i];
		if (!w->started)
			continue;
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_mutex_unlock(&w->mu);
		efd_kick(w->efd);
	}
	for (i = 0; i < p->n; i++) {
		w = &p->w[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		jobs_free(w->inbox);
		jobs_free(w->active);
		if (w->ep >= 0)
			close(w->ep);
		if (w->efd >= 0)
			close(w->efd);
		pthread_mutex_destroy(&w->mu);
	}
	jobs_free(p->outbox);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd >= 0)
		close(p->efd);
	pthread_mutex_destroy(&p->mu);
	free(p->w);
	free(p);
}

/* Hand fd and ssl to the least busy worker. */
struct sip_hs_job *
sip_hs_submit(struct sip_hs *p, int fd, SSL *ssl, void *owner)
{
	struct sip_hs_job *j = xcalloc(1, sizeof *j);
	struct hs_worker *w, *c;
	int i, kick;

	/* The one with the fewest; among equals, each in turn. */
	p->next = (p->next + 1) % p->n;
	w = &p->w[p->next];
	for (i = 1; i < p->n; i++) {
		c = &p->w[(p->next + i) % p->n];
		if (c->njobs < w->njobs)
			w = c;
	}
	j->w = w;
	j->owner = owner;
	j->fd = fd;
	j->ssl = ssl;
	w->njobs++;
	p->in_flight++;
	pthread_mutex_lock(&w->mu);
	kick = w->inbox == NULL;
	j->next = w->inbox;
	w->inbox = j;
	pthread_mutex_unlock(&w->mu);
	if (kick)
		efd_kick(w->efd);
	return j;
}

/* The loop gives job j up: flag it, wake its worker. */
void
sip_hs_cancel(struct sip_hs_job *j)
{
	if (j == NULL)
		return;
	j->owner = NULL;
	__atomic_store_n(&j->cancel, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&j->w->ncancel, 1, __ATOMIC_ACQ_REL);
	efd_kick(j->w->efd);
}

/* The pool's counters (all zero for NULL: no pool). */
void
sip_hs_stats(const struct sip_hs *p, struct sip_hs_stats *st)
{
	memset(st, 0, sizeof *st);
	if (p == NULL)
		return;
	st->threads = p->n;
	st->in_flight = p->in_flight;
	st->done = p->ndone;
	st->failed = p->nfailed;
	st->cancelled = p->ncancelled;
}
