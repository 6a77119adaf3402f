/*
 * tls_name.c: RFC 5922 identity check (placeholder).
 */
#include "config.h"

#include "tls/tls_name.h"
