/*
 * rnd.h: random bytes for per-message values (branch ids, tags, Call-IDs,
 * Record-Route token nonces) without a system call per value.
 */
#ifndef SE_RND_H
#define SE_RND_H

#include <stddef.h>

/*
 * Fill buf with n unpredictable bytes.  A keystream of AES-256 in counter
 * mode under a key from OpenSSL's RAND_bytes, taken on first use (and
 * again in a forked child); the keystream is made a few KiB at a time and
 * each refill takes the next key and counter from the stream itself, so
 * that what was handed out cannot be recomputed from the state that is
 * left.  Aborts when RAND_bytes cannot seed it: nothing is safe then.
 * Thread-safe.
 */
void	 rnd_bytes(void *buf, size_t n);
/* Forget the key and what is buffered; the next call seeds anew. */
void	 rnd_reset(void);

#endif
