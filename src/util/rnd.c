/*
 * rnd.c: a buffered keystream seeded once from RAND_bytes (rnd.h).
 * RAND_bytes itself costs getpid(2) and often getrandom(2) per call;
 * here one refill serves a few hundred tags or branch ids.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/rnd.h"

#define RND_KEY		32	/* AES-256 */
#define RND_IV		16	/* the initial counter block */
#define RND_POOL	4096	/* bytes handed out per refill */

static struct {
	int		seeded;
	unsigned char	key[RND_KEY];
	unsigned char	iv[RND_IV];
	size_t		pos;		/* next unused byte of pool */
	unsigned char	pool[RND_POOL + RND_KEY + RND_IV];
} rnd = { 0, { 0 }, { 0 }, RND_POOL, { 0 } };
static pthread_mutex_t rnd_mu = PTHREAD_MUTEX_INITIALIZER;

/* Forget everything; rnd_mu held (or in a child just forked). */
static void
rnd_forget(void)
{
	OPENSSL_cleanse(&rnd, sizeof rnd);
	rnd.seeded = 0;
	rnd.pos = RND_POOL;
}

/* A forked child must not hand out the parent's stream again. */
static void
rnd_atfork_child(void)
{
	pthread_mutex_init(&rnd_mu, NULL);
	rnd_forget();
}

/* Key and counter from RAND_bytes; abort without them. */
static void
rnd_seed(void)
{
	static int registered;

	if (!registered && pthread_atfork(NULL, NULL, rnd_atfork_child) == 0)
		registered = 1;
	if (RAND_bytes(rnd.key, sizeof rnd.key) != 1 ||
	    RAND_bytes(rnd.iv, sizeof rnd.iv) != 1)
		abort();	/* no randomness: nothing is safe any more */
	rnd.seeded = 1;
}

/*
 * Make the next pool: the keystream under the current key and counter,
 * whose last bytes become the next key and counter (and are erased from
 * the pool), so every key is used for one pool only.
 */
static void
rnd_refill(void)
{
	EVP_CIPHER_CTX *ctx;
	int len = 0;

	if (!rnd.seeded)
		rnd_seed();
	memset(rnd.pool, 0, sizeof rnd.pool);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, rnd.key,
	    rnd.iv) != 1 ||
	    EVP_EncryptUpdate(ctx, rnd.pool, &len, rnd.pool,
	    (int)sizeof rnd.pool) != 1 || len != (int)sizeof rnd.pool)
		abort();
	EVP_CIPHER_CTX_free(ctx);
	memcpy(rnd.key, rnd.pool + RND_POOL, RND_KEY);
	memcpy(rnd.iv, rnd.pool + RND_POOL + RND_KEY, RND_IV);
	OPENSSL_cleanse(rnd.pool + RND_POOL, RND_KEY + RND_IV);
	rnd.pos = 0;
}

void
rnd_bytes(void *buf, size_t n)
{
	unsigned char *out = buf;
	size_t take;

	pthread_mutex_lock(&rnd_mu);
	while (n > 0) {
		if (rnd.pos == RND_POOL)
			rnd_refill();
		take = RND_POOL - rnd.pos;
		if (take > n)
			take = n;
		memcpy(out, rnd.pool + rnd.pos, take);
		/* Handed out once: erase it. */
		OPENSSL_cleanse(rnd.pool + rnd.pos, take);
		rnd.pos += take;
		out += take;
		n -= take;
	}
	pthread_mutex_unlock(&rnd_mu);
}

void
rnd_reset(void)
{
	pthread_mutex_lock(&rnd_mu);
	rnd_forget();
	pthread_mutex_unlock(&rnd_mu);
}
