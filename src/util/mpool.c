/*
 * mpool.c: a cache of small blocks in front of malloc.
 *
 * libosip2 allocates every header, URI, parameter and list node of a
 * message separately and frees them all when the message goes: some 150
 * blocks of 16 to a few hundred bytes per message, most of one size.
 * glibc's per-thread cache holds 7 blocks a size, so most of them go
 * through its slower bins (_int_malloc was 8 to 15% of the daemon's CPU
 * relaying calls).  Here each block carries a 16-byte header with its
 * size class, and a freed block of up to MP_MAX bytes goes onto its
 * class's free list, up to MP_KEEP_BYTES a class, for the next
 * allocation of that class; beyond that, and for larger blocks, it is
 * freed.  Every block is its own malloc chunk, so what the lists do not
 * keep goes back to glibc (and from there to the system) as before, and
 * a leak is still a leak for valgrind.  Only the thread that turned the
 * cache on uses it (the event loop); the lists are per thread.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mpool.h"

#define MP_HDR		16		/* keeps malloc's 16-byte alignment */
#define MP_STEP		16
#define MP_CLASSES	32		/* 16 .. 512 bytes */
#define MP_MAX		(MP_CLASSES * MP_STEP)
#define MP_KEEP_BYTES	(64 * 1024)	/* kept per class: 2 MB at most */
#define MP_LARGE	0xffffu
#define MP_MAGIC	0x6d706f6cu

struct mp_hdr {
	uint32_t	cls;		/* class, or MP_LARGE */
	uint32_t	magic;
	size_t		size;		/* what a large block holds */
};

struct mp_free {
	struct mp_free	*next;
};

struct mp_cache {
	int		 on;
	struct mp_free	*head[MP_CLASSES];
	size_t		 n[MP_CLASSES];
};

static __thread struct mp_cache mp;

/* The header of block p, which must be one of ours. */
static struct mp_hdr *
hdr_of(void *p)
{
	struct mp_hdr *h = (struct mp_hdr *)(void *)((char *)p - MP_HDR);

	if (h->magic != MP_MAGIC) {
		fprintf(stderr, "sipedge: mpool: block %p is not ours\n", p);
		abort();
	}
	return h;
}

/* A new chunk for a block of cls (size for MP_LARGE), header filled. */
static void *
chunk_new(uint32_t cls, size_t size)
{
	size_t want = cls == MP_LARGE ? size : (size_t)(cls + 1) * MP_STEP;
	struct mp_hdr *h;

	if (want > SIZE_MAX - MP_HDR || (h = malloc(MP_HDR + want)) == NULL) {
		fprintf(stderr, "sipedge: out of memory (%zu bytes)\n", want);
		abort();
	}
	h->cls = cls;
	h->magic = MP_MAGIC;
	h->size = want;
	return (char *)h + MP_HDR;
}

void *
mpool_alloc(size_t size)
{
	uint32_t cls;
	struct mp_free *f;

	if (size > MP_MAX)
		return chunk_new(MP_LARGE, size);
	cls = size == 0 ? 0 : (uint32_t)((size - 1) / MP_STEP);
	if ((f = mp.head[cls]) != NULL) {
		mp.head[cls] = f->next;
		mp.n[cls]--;
		return f;
	}
	return chunk_new(cls, size);
}

void
mpool_free(void *p)
{
	struct mp_hdr *h;
	struct mp_free *f;

	if (p == NULL)
		return;
	h = hdr_of(p);
	if (h->cls != MP_LARGE && mp.on &&
	    (mp.n[h->cls] + 1) * (h->size + MP_HDR) <= MP_KEEP_BYTES) {
		f = p;
		f->next = mp.head[h->cls];
		mp.head[h->cls] = f;
		mp.n[h->cls]++;
		return;
	}
	h->magic = 0;
	free(h);
}

void *
mpool_realloc(void *p, size_t size)
{
	struct mp_hdr *h;
	void *q;

	if (p == NULL)
		return mpool_alloc(size);
	h = hdr_of(p);
	if (size <= h->size && (h->cls != MP_LARGE || size > MP_MAX))
		return p;			/* it fits where it is */
	q = mpool_alloc(size);
	memcpy(q, p, size < h->size ? size : h->size);
	mpool_free(p);
	return q;
}

void
mpool_cache(int on)
{
	struct mp_free *f;
	int i;

	mp.on = on;
	if (on)
		return;
	for (i = 0; i < MP_CLASSES; i++) {
		while ((f = mp.head[i]) != NULL) {
			mp.head[i] = f->next;
			hdr_of(f)->magic = 0;
			free((char *)f - MP_HDR);
		}
		mp.n[i] = 0;
	}
}

size_t
mpool_cached(void)
{
	size_t i, n = 0;

	for (i = 0; i < MP_CLASSES; i++)
		n += mp.n[i];
	return n;
}
