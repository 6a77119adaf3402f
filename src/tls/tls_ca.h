/*
 * tls_ca.h: a small certificate authority.  The daemon's temporary
 * first-start CA and `sipedge-cert lab-ca` use the same code.
 */
#ifndef SE_TLS_CA_H
#define SE_TLS_CA_H

#include <stddef.h>

/*
 * Create (or reuse, when still valid) the temporary CA and server
 * certificate in state_dir for the names given.  Writes are atomic and key
 * files are mode 0600.  0, or -1 with *cause (caller frees).
 */
int			 tls_temp_ensure(const char *state_dir, const char *fqdn,
			    char *const *aliases, size_t naliases, char **cause);

/* File names of the temporary material inside the state directory. */
#define TLS_TEMP_CA_CERT	"temp-ca.pem"
#define TLS_TEMP_CA_KEY		"temp-ca.key"
#define TLS_TEMP_CERT		"temp-server.pem"
#define TLS_TEMP_KEY		"temp-server.key"

#endif
