/*
 * fuzz_name_syntax.c: libFuzzer harness for the one name syntax
 * (util/name.c), which reads operator input (tls.extra_names, --san,
 * URLs) and, through the path and identity checks, peer certificates.
 * The input is taken as bytes (name_dns_ok under every flag) and as a
 * string up to its first NUL (every other function).  Invariants: a
 * function answers or gives a cause, never both nor neither;
 * name_dns_ok and name_host_check agree; a canonical subjectAltName
 * entry parses again to itself; an entry of type DNS holds a name
 * name_dns_ok accepts with NAME_WILDCARD, one of type IP an address.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/name.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a call returned rv (0: success) with a cause exactly on -1. */
static void
check_cause(int rv, char *cause)
{
	if ((rv == 0) != (cause == NULL))
		abort();
	free(cause);
}

/* The SAN entry checks on s; s is NUL-terminated. */
static void
check_san(const char *s)
{
	char *cause = NULL, *e, *again, *cause2 = NULL;

	e = name_san_parse(s, &cause);
	if ((e == NULL) == (cause == NULL))
		abort();
	free(cause);
	if (e == NULL)
		return;
	if ((again = name_san_parse(e, &cause2)) == NULL ||
	    strcmp(again, e) != 0)
		abort();
	if (strncmp(e, "DNS:", 4) == 0 && !name_dns_ok((const unsigned
	    char *)e + 4, strlen(e + 4), NAME_WILDCARD))
		abort();
	if (strncmp(e, "IP:", 3) == 0 && !name_is_ip(e + 3))
		abort();
	free(again);
	free(e);
	cause = NULL;
	e = name_san_host(s, &cause);
	if ((e == NULL) == (cause == NULL))
		abort();
	free(e);
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int flags[] = {
		0, NAME_WILDCARD, NAME_DOMAIN, NAME_WILDCARD | NAME_DOMAIN
	};
	char *s, *cause, *ip;
	size_t i;
	int ok;

	if (size > 1024)
		return 0;
	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		(void)name_dns_ok(data, size, flags[i]);
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		cause = NULL;
		ok = name_host_check(s, flags[i], &cause) == 0;
		if (ok != name_dns_ok((const unsigned char *)s, strlen(s),
		    flags[i]))
			abort();
		check_cause(ok ? 0 : -1, cause);
	}
	if ((ip = name_ip_canonical(s)) != NULL) {
		if (!name_is_ip(s) || !name_is_ip(ip))
			abort();
		free(ip);
	} else if (name_is_ip(s))
		abort();
	cause = NULL;
	check_cause(name_uri_check(s, &cause), cause);
	cause = NULL;
	check_cause(name_url_check(s, &cause), cause);
	check_san(s);
	free(s);
	return 0;
}
