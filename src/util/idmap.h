/*
 * idmap.h: a map from a non-zero 64-bit id to a pointer, for finding a
 * connection by its id in constant time (flow tokens) instead of walking
 * every connection.  Open addressing with linear probing; the table
 * doubles at half full and halves again below an eighth, so the memory
 * of a wave of connections is given back when they go.
 */
#ifndef SE_IDMAP_H
#define SE_IDMAP_H

#include <stddef.h>

struct idmap;

struct idmap	*idmap_new(void);
/* Accepts NULL.  The pointers held are not freed. */
void		 idmap_free(struct idmap *m);
/* Map id (not 0) to p (not NULL), replacing what it mapped to. */
void		 idmap_put(struct idmap *m, unsigned long long id, void *p);
/* What id maps to, or NULL. */
void		*idmap_get(const struct idmap *m, unsigned long long id);
/* Forget id; nothing when it is not there. */
void		 idmap_del(struct idmap *m, unsigned long long id);
/* How many ids are mapped. */
size_t		 idmap_count(const struct idmap *m);

#endif
