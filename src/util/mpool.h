/*
 * mpool.h: a cache of small blocks in front of malloc, for the many short
 * lived allocations of libosip2 (each parsed message is some 150 blocks
 * of a few dozen bytes, all freed together).
 */
#ifndef SE_MPOOL_H
#define SE_MPOOL_H

#include <stddef.h>

/* malloc, realloc and free for blocks of this module; abort on exhaustion. */
void	*mpool_alloc(size_t size);
void	*mpool_realloc(void *p, size_t size);
void	 mpool_free(void *p);
/*
 * Keep freed blocks for reuse in the calling thread (on = 1), or stop and
 * give every kept block back to malloc (on = 0).  Other threads always
 * pass through to malloc.
 */
void	 mpool_cache(int on);
/* Blocks kept for reuse in the calling thread. */
size_t	 mpool_cached(void);

#endif
