/*
 * tls_check.c: checks of the server's own identity (placeholder).
 */
#include "config.h"

#include "tls/tls_check.h"

int
tls_check_identity(const struct conf *c, const struct tls_check_input *in,
    struct diaglist *dl)
{
	(void)c;
	(void)in;
	(void)dl;
	return 0;
}
