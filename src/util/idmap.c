/*
 * idmap.c: id -> pointer, open addressing with linear probing and
 * deletion by backward shift (no tombstones, so lookups stay short after
 * any number of deletions).  Id 0 marks a free slot.
 */
#include "config.h"

#include <stdlib.h>

#include "util/idmap.h"
#include "util/xmalloc.h"

#define IDMAP_MIN	64	/* slots; a power of two */

struct idmap_slot {
	unsigned long long	 id;	/* 0: free */
	void			*p;
};

struct idmap {
	struct idmap_slot	*v;
	size_t			 cap;	/* a power of two */
	size_t			 n;
};

/* The home slot of id (a 64-bit mix, so sequential ids spread). */
static size_t
slot_of(const struct idmap *m, unsigned long long id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (m->cap - 1);
}

/* Put id -> p in a table that has room and does not hold id. */
static void
insert(struct idmap *m, unsigned long long id, void *p)
{
	size_t i = slot_of(m, id);

	while (m->v[i].id != 0)
		i = (i + 1) & (m->cap - 1);
	m->v[i].id = id;
	m->v[i].p = p;
	m->n++;
}

/* Move everything into a table of cap slots. */
static void
resize(struct idmap *m, size_t cap)
{
	struct idmap_slot *old = m->v;
	size_t i, oldcap = m->cap;

	m->v = xcalloc(cap, sizeof *m->v);
	m->cap = cap;
	m->n = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].id != 0)
			insert(m, old[i].id, old[i].p);
	free(old);
}

struct idmap *
idmap_new(void)
{
	struct idmap *m = xcalloc(1, sizeof *m);

	m->cap = IDMAP_MIN;
	m->v = xcalloc(m->cap, sizeof *m->v);
	return m;
}

void
idmap_free(struct idmap *m)
{
	if (m == NULL)
		return;
	free(m->v);
	free(m);
}

/* The slot holding id, or cap when none does. */
static size_t
find(const struct idmap *m, unsigned long long id)
{
	size_t i = slot_of(m, id);

	while (m->v[i].id != 0) {
		if (m->v[i].id == id)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return m->cap;
}

void
idmap_put(struct idmap *m, unsigned long long id, void *p)
{
	size_t i;

	if (id == 0)
		return;
	if ((i = find(m, id)) != m->cap) {
		m->v[i].p = p;
		return;
	}
	if ((m->n + 1) * 2 > m->cap)
		resize(m, m->cap * 2);
	insert(m, id, p);
}

void *
idmap_get(const struct idmap *m, unsigned long long id)
{
	size_t i;

	if (id == 0)
		return NULL;
	i = find(m, id);
	return i == m->cap ? NULL : m->v[i].p;
}

void
idmap_del(struct idmap *m, unsigned long long id)
{
	size_t i, j, home, mask = m->cap - 1;

	if (id == 0 || (i = find(m, id)) == m->cap)
		return;
	m->v[i].id = 0;
	m->v[i].p = NULL;
	m->n--;
	/* Shift back the entries of the run after i that may sit in it. */
	for (j = (i + 1) & mask; m->v[j].id != 0; j = (j + 1) & mask) {
		home = slot_of(m, m->v[j].id);
		/* Leave j when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->v[i] = m->v[j];
		m->v[j].id = 0;
		m->v[j].p = NULL;
		i = j;
	}
	if (m->cap > IDMAP_MIN && m->n * 8 < m->cap)
		resize(m, m->cap / 2);
}

size_t
idmap_count(const struct idmap *m)
{
	return m->n;
}
