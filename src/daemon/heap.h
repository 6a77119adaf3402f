/*
 * heap.h: the daemon's heap, tuned for sipedged's allocation pattern and
 * given back to the system after waves of connections in steps short
 * enough not to hold the event loop (contrib/bench/README.md, waves).
 */
#ifndef SE_HEAP_H
#define SE_HEAP_H

#include <stddef.h>

struct event_base;

/* Set the allocator's thresholds; once, before anything is allocated. */
void		 heap_tune(void);

/* How many connections have closed so far (the daemon says from where). */
typedef unsigned long long (*heap_count_fn)(void *arg);

struct heap_trimmer;

/*
 * Every HEAP_TRIM_PERIOD_MS (250), when connections closed since the last
 * trim and either none closed in the last period or HEAP_TRIM_CLOSED (1024)
 * or more did, and at least HEAP_TRIM_FREE (2 MB) of the heap is free, give
 * the free pages back.  NULL where the C library cannot trim.
 */
struct heap_trimmer *heap_trimmer_new(struct event_base *base,
		     heap_count_fn closed, void *arg);
void		 heap_trimmer_free(struct heap_trimmer *h);

struct heap_stats {
	unsigned long	 trims;		/* trims done */
	unsigned long	 last_ms;	/* how long the last one held the loop */
	unsigned long	 last_cpu_ms;	/* ... of which CPU time */
	unsigned long	 max_ms;	/* ... the longest */
	size_t		 free_bytes;	/* free heap before the last trim */
};
void		 heap_trimmer_stats(const struct heap_trimmer *h,
		     struct heap_stats *s);

#endif
