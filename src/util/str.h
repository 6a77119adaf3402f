/*
 * str.h: small string helpers.
 */
#ifndef SE_STR_H
#define SE_STR_H

#include <stddef.h>

/* n random lowercase hex digits into buf (buf holds n + 1 bytes). */
void	str_random_hex(char *buf, size_t n);

#endif
