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

/* Connections opened and closed so far (the daemon says from where). */
struct heap_counts {
	unsigned long long	 opened;
	unsigned long long	 closed;
};
typedef void (*heap_count_fn)(void *arg, struct heap_counts *out);

struct heap_trimmer;

/*
 * Every HEAP_TRIM_PERIOD_MS (250), when connections opened or closed since
 * the last trim and either none did in the last period or
 * HEAP_TRIM_CLOSED (1024) or more closed, and at least HEAP_TRIM_FREE
 * (2 MB) of the heap is free, give the free pages back.  NULL where the C
 * library cannot trim.
 */
struct heap_trimmer *heap_trimmer_new(struct event_base *base,
		     heap_count_fn count, void *arg);
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
