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

/*
 * One verification of a chain that held, kept so that the same peer can
 * be let in again without building its path again (a resumed TLS
 * session, tls_ticket.h).  The path search reads the clock only to
 * compare it with validity dates, so for the same chain, trust list and
 * policy its answer stays the same until the first second at which a
 * certificate of the chain, of the path or of the trust list starts or
 * stops being valid: until.
 */
struct tls_peer_record {
	STACK_OF(X509)		*path;	/* leaf .. anchor; NULL: none */
	struct tls_peer_policy	 pp;	/* verified under */
	time_t			 at;	/* verified at */
	time_t			 until;	/* its answer may change; 0: never */
};

/*
 * The first second after now at which a certificate of certs starts
 * being valid (its notBefore) or stops (the second after its notAfter),
 * or 0 when none does.
 */
time_t	tls_peer_next_change(STACK_OF(X509) *certs, time_t now);

/* The earlier of two such times (0: never). */
time_t	tls_peer_earlier(time_t a, time_t b);

/*
 * The result tls_peer_verify would give for rec's leaf under trust
 * list and policy p at now, when rec was made under the same trust list
 * (the caller's to know) and tells it: p asks what rec's policy asked of
 * the path (role, EKU, key sizes, security level), now is in [rec->at,
 * rec->until), every certificate of the path is valid at now, and the
 * leaf's name matches expected (NULL: no name) under p's name rules as
 * tls_peer_verify checks it.  Returns 1 with r filled as tls_peer_verify
 * fills it (free it with tls_peer_result_clear), or 0 with r clear: the
 * caller verifies in full.
 */
int	tls_peer_reuse(const struct tls_peer_record *rec,
	    const char *expected, const struct tls_peer_policy *p, time_t now,
	    struct tls_peer_result *r);

/*
 * When a certificate of trust next starts or stops being valid after now
 * (as tls_peer_next_change; 0: never), kept in *clock (zeroed: not known
 * yet; zero it again for another trust list) and computed again only
 * once now is out of the range it holds for.
 */
struct tls_peer_clock {
	time_t	 from, next;
};
time_t	tls_peer_trust_next(X509_STORE *trust, struct tls_peer_clock *clock,
	    time_t now);

/*
 * Record into rec (cleared first) the verification r, which accepted
 * chain under p at now against a trust list whose next change is
 * trust_next (tls_peer_trust_next): it holds until the first change of
 * the chain, of r's path or of the trust list.
 */
void	tls_peer_record_set(struct tls_peer_record *rec,
	    STACK_OF(X509) *chain, const struct tls_peer_result *r,
	    const struct tls_peer_policy *p, time_t now, time_t trust_next);

/* A copy of src holding its own references (dst: cleared first). */
void	tls_peer_record_copy(struct tls_peer_record *dst,
	    const struct tls_peer_record *src);
/* Free what rec holds and zero it; rec may be clear already. */
void	tls_peer_record_clear(struct tls_peer_record *rec);

#endif
