/*
 * tls_peer.h: the synchronous half of peer verification (DESIGN.md
 * decision 2): a path to the trust list at the check time, built and
 * judged by tls_path (every candidate issuer, the RFC 5280 rules, key
 * usage and extended key usage for the peer's role, key sizes, the
 * OpenSSL security level), and the RFC 5922 name check against the
 * expected identity.  Pure: what
 * it needs is passed in; the daemon runs it after each handshake and
 * `sipedge-cert check` runs it on files.
 */
#ifndef SE_TLS_PEER_H
#define SE_TLS_PEER_H

#include <time.h>

#include <openssl/x509.h>

#include "tls/tls_name.h"

enum tls_peer_role {
	TLS_PEER_SERVER,	/* we connected: the peer must be a TLS server */
	TLS_PEER_CLIENT		/* it connected: the peer is a TLS client */
};

struct tls_peer_policy {
	enum tls_peer_role	 role;
	int			 relax_eku;	/* legacy peers: any EKU */
	int			 min_rsa_bits;	/* 0: 2048 */
	int			 security_level; /* OpenSSL auth level 0..5 */
	struct tls_name_policy	 names;
};

struct tls_peer_result {
	int		 ok;
	char		*reason;	/* why refused, or how accepted */
	STACK_OF(X509)	*path;		/* leaf .. anchor when the chain held */
	enum tls_name_rule rule;	/* name rule that accepted */
};

struct conf;
struct conf_zone;
/* The policy of zone z from configuration c (security level, knobs). */
void	tls_peer_policy_from_conf(const struct conf *c,
	    const struct conf_zone *z, enum tls_peer_role role,
	    struct tls_peer_policy *p);

/*
 * Verify chain (the peer's certificate first, then any untrusted
 * certificates in any order) against trust at time now (0: the current
 * time).  expected: the zone's peer address or subject name; NULL skips
 * the name check.  Returns 1 accepted, 0 refused; r->reason says why in
 * one sentence.  Free with tls_peer_result_clear().
 */
int	tls_peer_verify(STACK_OF(X509) *chain, X509_STORE *trust,
	    const char *expected, const struct tls_peer_policy *p, time_t now,
	    struct tls_peer_result *r);
void	tls_peer_result_clear(struct tls_peer_result *r);

#endif
