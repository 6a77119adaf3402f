/*
 * heap.c: the daemon's heap.
 *
 * glibc gives back only the top of its heap by itself.  When a wave of
 * connections closes, their memory is free but mostly below chunks that
 * are still in use, so it stays resident and the next wave's heap is
 * larger (249 MB after three waves of 5,000 connections, from 13 MB).
 * malloc_trim() releases every free page wherever it is, but it holds the
 * allocator, and with it the loop, for as long as the kernel takes to free
 * those pages: some 10 to 20 us of CPU per connection closed since the
 * last trim (0.08 s after a wave of 5,000 closed at once, on the
 * development machine).  So, every HEAP_TRIM_PERIOD_MS, the heap is
 * trimmed when at least HEAP_TRIM_FREE bytes of it are free and either
 * connections opened or closed since the last trim and none did in the
 * last period (a wave is over: what its TLS handshakes or its connections
 * left free goes back), or HEAP_TRIM_CLOSED or more closed since the last
 * trim (a long wave of closes is given back in steps).  A steady load that
 * reuses its memory keeps little free, and nothing is trimmed while
 * connections keep opening: that would hand back pages the next
 * handshakes fault in again.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/heap.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define HEAP_TRIM_PERIOD_MS	250
#define HEAP_TRIM_CLOSED	1024
#define HEAP_TRIM_FREE		(2 * 1024 * 1024)

struct heap_trimmer {
	struct event		*ev;
	heap_count_fn		 count;
	void			*arg;
	struct heap_counts	 last;		/* at the last trim */
	struct heap_counts	 prev;		/* ... at the last period */
	struct heap_stats	 st;
};

void
heap_tune(void)
{
#ifdef M_TRIM_THRESHOLD
	/*
	 * Messages of up to 64 KB are allocated and freed by the thousand:
	 * keep freed heap for the next one rather than hand it back and fault
	 * it in again (a 64 KB hostile message over TCP cost 3 to 4 times as
	 * much with glibc's default; contrib/bench/README.md).  The trimmer
	 * below gives back what waves of connections leave.
	 */
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TOP_PAD, 1024 * 1024);
#endif
}

#if defined(M_TRIM_THRESHOLD) && defined(__GLIBC__)
static unsigned long
ms_since(const struct timespec *t0, clockid_t clk)
{
	struct timespec t1;

	clock_gettime(clk, &t1);
	return (unsigned long)((t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The period: trim when the counts and free memory say it is worth it. */
static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct heap_trimmer *h = arg;
	struct heap_counts now;
	struct mallinfo2 mi;
	struct timespec t0, c0;
	int quiet, idle;

	(void)fd;
	(void)what;
	h->count(h->arg, &now);
	quiet = now.opened == h->prev.opened && now.closed == h->prev.closed;
	idle = now.opened == h->last.opened && now.closed == h->last.closed;
	h->prev = now;
	if (idle || (!quiet && now.closed - h->last.closed < HEAP_TRIM_CLOSED))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	mi = mallinfo2();
	if (mi.fordblks < HEAP_TRIM_FREE) {
		h->last = now;
		return;
	}
	malloc_trim(0);
	h->st.trims++;
	h->st.last_ms = ms_since(&t0, CLOCK_MONOTONIC);
	h->st.last_cpu_ms = ms_since(&c0, CLOCK_PROCESS_CPUTIME_ID);
	if (h->st.last_ms > h->st.max_ms)
		h->st.max_ms = h->st.last_ms;
	h->st.free_bytes = mi.fordblks;
	if (log_enabled(LOG_LVL_DEBUG)) {
		struct log_line l;

		log_begin(&l, LOG_LVL_DEBUG, "daemon", "heap trimmed");
		log_kv(&l, "opened", "%llu", now.opened - h->last.opened);
		log_kv(&l, "closed", "%llu", now.closed - h->last.closed);
		log_kv(&l, "free_kb", "%zu", mi.fordblks / 1024);
		log_kv(&l, "ms", "%lu", h->st.last_ms);
		log_kv(&l, "cpu_ms", "%lu", h->st.last_cpu_ms);
		log_end(&l);
	}
	h->last = now;
}

struct heap_trimmer *
heap_trimmer_new(struct event_base *base, heap_count_fn count, void *arg)
{
	struct heap_trimmer *h = xcalloc(1, sizeof *h);
	struct timeval tv = { 0, HEAP_TRIM_PERIOD_MS * 1000 };

	h->count = count;
	h->arg = arg;
	count(arg, &h->last);
	h->prev = h->last;
	h->ev = event_new(base, -1, EV_PERSIST, trim_cb, h);
	evtimer_add(h->ev, &tv);
	return h;
}
#else
struct heap_trimmer *
heap_trimmer_new(struct event_base *base, heap_count_fn count, void *arg)
{
	(void)base;
	(void)count;
	(void)arg;
	return NULL;
}
#endif

void
heap_trimmer_free(struct heap_trimmer *h)
{
	if (h == NULL)
		return;
	event_free(h->ev);
	free(h);
}

void
heap_trimmer_stats(const struct heap_trimmer *h, struct heap_stats *s)
{
	static const struct heap_stats none;

	*s = h != NULL ? h->st : none;
}
