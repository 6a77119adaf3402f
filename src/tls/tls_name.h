/*
 * tls_name.h: RFC 5922 identity check of a peer certificate (placeholder).
 */
#ifndef SE_TLS_NAME_H
#define SE_TLS_NAME_H

#endif
