/*
 * str.c: small string helpers.
 */
#include "config.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "util/str.h"

void
str_random_hex(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[64];
	size_t i, want = (n + 1) / 2;

	if (want > sizeof r)
		want = sizeof r;
	if (getrandom(r, want, GRND_NONBLOCK) != (ssize_t)want) {
		/* Entropy not ready yet (early boot): tags need only be unique. */
		static uint32_t x;

		x = x * 1664525u + 1013904223u + (uint32_t)time(NULL);
		for (i = 0; i < want; i++)
			r[i] = (unsigned char)(x >> (i % 4 * 8));
	}
	for (i = 0; i < n && i / 2 < want; i++)
		buf[i] = hex[(r[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	buf[i] = '\0';
}
