/*
 * sip_srctab.c: connections per source address, in a chained hash table
 * that doubles when it holds more entries than buckets.  The hash is
 * SipHash-2-4 with a key drawn at creation, so bucket placement cannot be
 * predicted from outside.  Must not log or touch sockets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "sip/sip_srctab.h"
#include "util/xmalloc.h"

#define SRC_KEYLEN	17	/* family, then 4 or 8 address bytes, zeros */
#define MIN_BUCKETS	64

struct src_entry {
	unsigned char		 key[SRC_KEYLEN];
	size_t			 count;
	size_t			 hs;		/* handshakes in progress */
	void			*user;		/* the caller's, NULL at first */
	struct src_entry	*next;
};

struct sip_srctab {
	struct src_entry	**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  nentries;
	uint64_t		  k0, k1;	/* SipHash key */
};

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* SipHash-2-4 of len bytes at in under the key k0, k1. */
static uint64_t
siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, left = len & 7, end = len - left;
	int j;

	for (i = 0; i < end; i += 8) {
		m = 0;
		for (j = 7; j >= 0; j--)
			m = (m << 8) | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (j = (int)left - 1; j >= 0; j--)
		b |= (uint64_t)in[end + (size_t)j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The table's key for sa: 0 when sa is not an IP address. */
static int
src_key(const struct sockaddr *sa, unsigned char key[SRC_KEYLEN])
{
	memset(key, 0, SRC_KEYLEN);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		/* An IPv4-mapped address is that IPv4 host. */
		if (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->
		    sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else if (IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)
		    sa)->sin6_addr)) {
			key[0] = 6;
			memcpy(key + 1, a, 16);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);	/* the /64 */
		}
		return 1;
	}
	return 0;
}

static size_t
bucket_of(const struct sip_srctab *st, const unsigned char *key)
{
	return (size_t)siphash(st->k0, st->k1, key, SRC_KEYLEN) &
	    (st->nbuckets - 1);
}

struct sip_srctab *
sip_srctab_new(void)
{
	struct sip_srctab *st = xcalloc(1, sizeof *st);
	unsigned char k[16];

	if (RAND_bytes(k, sizeof k) != 1) {
		/* No randomness: still correct, only predictable. */
		memset(k, 0x5a, sizeof k);
	}
	memcpy(&st->k0, k, 8);
	memcpy(&st->k1, k + 8, 8);
	st->nbuckets = MIN_BUCKETS;
	st->buckets = xcalloc(st->nbuckets, sizeof *st->buckets);
	return st;
}

void
sip_srctab_free(struct sip_srctab *st)
{
	struct src_entry *e, *next;
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nbuckets; i++)
		for (e = st->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(st->buckets);
	free(st);
}

/* The entry for key and the link that points to it, or NULL. */
static struct src_entry **
find(const struct sip_srctab *st, const unsigned char *key)
{
	struct src_entry **pp;

	for (pp = &st->buckets[bucket_of(st, key)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (memcmp((*pp)->key, key, SRC_KEYLEN) == 0)
			return pp;
	return NULL;
}

/* Double the buckets and rehash every entry. */
static void
grow(struct sip_srctab *st)
{
	struct src_entry **old = st->buckets, *e, *next;
	size_t i, n = st->nbuckets, b;

	st->nbuckets = n * 2;
	st->buckets = xcalloc(st->nbuckets, sizeof *st->buckets);
	for (i = 0; i < n; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			b = bucket_of(st, e->key);
			e->next = st->buckets[b];
			st->buckets[b] = e;
		}
	free(old);
}

size_t
sip_srctab_count(const struct sip_srctab *st, const struct sockaddr *sa)
{
	unsigned char key[SRC_KEYLEN];
	struct src_entry **pp;

	if (!src_key(sa, key) || (pp = find(st, key)) == NULL)
		return 0;
	return (*pp)->count;
}

void **
sip_srctab_user(struct sip_srctab *st, const struct sockaddr *sa)
{
	unsigned char key[SRC_KEYLEN];
	struct src_entry **pp;

	if (!src_key(sa, key) || (pp = find(st, key)) == NULL)
		return NULL;
	return &(*pp)->user;
}

size_t
sip_srctab_inc(struct sip_srctab *st, const struct sockaddr *sa)
{
	unsigned char key[SRC_KEYLEN];
	struct src_entry **pp, *e;
	size_t b;

	if (!src_key(sa, key))
		return 0;
	if ((pp = find(st, key)) != NULL)
		return ++(*pp)->count;
	if (st->nentries >= st->nbuckets)
		grow(st);
	e = xcalloc(1, sizeof *e);
	memcpy(e->key, key, SRC_KEYLEN);
	e->count = 1;
	b = bucket_of(st, key);
	e->next = st->buckets[b];
	st->buckets[b] = e;
	st->nentries++;
	return 1;
}

void
sip_srctab_dec(struct sip_srctab *st, const struct sockaddr *sa)
{
	unsigned char key[SRC_KEYLEN];
	struct src_entry **pp, *e;

	if (!src_key(sa, key) || (pp = find(st, key)) == NULL)
		return;
	e = *pp;
	if (--e->count > 0)
		return;
	*pp = e->next;
	free(e);
	st->nentries--;
}

size_t
sip_srctab_hs(const struct sip_srctab *st, const struct sockaddr *sa)
{
	unsigned char key[SRC_KEYLEN];
	struct src_entry **pp;

	if (!src_key(sa, key) || (pp = find(st, key)) == NULL)
		return 0;
	return (*pp)->hs;
}

void
sip_srctab_hs_add(struct sip_srctab *st, const struct sockaddr *sa,
    int delta)
{
	unsigned char key[SRC_KEYLEN];
	struct src_entry **pp;

	if (!src_key(sa, key) || (pp = find(st, key)) == NULL)
		return;
	if (delta > 0)
		(*pp)->hs++;
	else if ((*pp)->hs > 0)
		(*pp)->hs--;
}

size_t
sip_srctab_sources(const struct sip_srctab *st)
{
	return st->nentries;
}

const char *
sip_srctab_name(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	unsigned char key[SRC_KEYLEN], a6[16];
	char ip[INET6_ADDRSTRLEN];

	if (bufsz == 0)
		return buf;
	if (!src_key(sa, key)) {
		snprintf(buf, bufsz, "-");
		return buf;
	}
	if (key[0] == 4) {
		inet_ntop(AF_INET, key + 1, ip, sizeof ip);
		snprintf(buf, bufsz, "%s", ip);
		return buf;
	}
	memset(a6, 0, sizeof a6);
	memcpy(a6, key + 1, 16);
	inet_ntop(AF_INET6, a6, ip, sizeof ip);
	if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)(const void *)a6))
		snprintf(buf, bufsz, "%s", ip);
	else
		snprintf(buf, bufsz, "%s/64", ip);
	return buf;
}
