/*
 * tls_name.h: does a peer certificate carry the name we expect of that
 * peer?  The RFC 5922 s.7 identity check, with RFC 6125 s.6.4.3 wildcards
 * as an opt-in.  Pure: no I/O, no clock, no globals; the expected name
 * always comes from our configuration (the zone's peer address or a
 * configured subject name), never from what the peer claims: it plays
 * the part of the domain of the AUS in RFC 5922 s.7.3 when we connect,
 * and of the local policy's list of acceptable domains (s.7.4) when the
 * peer connects to us.  No identity, or no match, means the peer is not
 * authenticated and the caller closes the connection (s.7.3).
 *
 * The rules, in the order they are tried:
 *
 *  Expected name is an IP literal (IPv4 dotted quad, or IPv6, bracketed
 *  or not): only subjectAltName iPAddress entries count, compared as
 *  binary addresses ("::1" equals "0:0:0:0:0:0:0:1").  An IPv4-mapped
 *  IPv6 address ("::ffff:192.0.2.1") is a different address from the
 *  IPv4 one.  DNS names, URIs and the CN are never compared with an IP.
 *
 *  Expected name is a host name (RFC 5922 s.7.1, s.7.2):
 *   1. subjectAltName URIs with scheme "sip" (any case) and no user part
 *      (no '@'): their host is a SIP domain identity.  Port, parameters
 *      and headers are not compared.  "sips:" and other schemes are not
 *      identities (s.7.1: "If the scheme of the URI is not 'sip'...");
 *      neither is a sip URI whose host is an IP literal (s.7.2 compares
 *      DNS names only; RFC 6125 s.6.3 limits URI-IDs to a reg-name).
 *   2. subjectAltName dNSNames, only when step 1 found no identity at
 *      all (s.7.1: "if and only if no other identity is found that
 *      matches the 'sip' URI type").
 *   3. The subject CN(s), only when the certificate has no
 *      subjectAltName extension at all (s.7.1 step 2), even an empty or
 *      an IP- or email-only one.
 *   4. With compat_cn_with_san, the CN(s) also when a subjectAltName is
 *      present but nothing in it matched (exact comparison only).
 *  Comparison: the whole name, ASCII case-insensitive, one trailing dot
 *  ignored on either side, no suffix matching, and no wildcards (s.7.2)
 *  unless accept_wildcards is set: then a dNSName or CN whose left-most
 *  label is exactly "*", followed by at least two labels, matches one
 *  whole left-most label of the expected name (RFC 6125 s.6.4.3 rules 1
 *  and 2; partial-label wildcards such as "f*.example.com", rule 3, are
 *  not accepted; "*.com" is refused; wildcards never apply to sip URIs
 *  or IP addresses).  Internationalised names are compared in their
 *  A-label (xn--) form; a non-ASCII expected name is refused.  A name
 *  with an embedded NUL never matches.
 */
#ifndef SE_TLS_NAME_H
#define SE_TLS_NAME_H

#include <openssl/x509.h>

/* Longest expected host name, without its trailing dot (RFC 1035 s.2.3.4). */
#define TLS_NAME_MAX	253

/* Knobs; a zeroed struct (or NULL) is the strict RFC 5922 default. */
struct tls_name_policy {
	int	accept_wildcards;	/* RFC 6125 left-most "*" label */
	int	compat_cn_with_san;	/* CN even when a subjectAltName exists */
};

/* Which rule accepted the certificate. */
enum tls_name_rule {
	TLS_NAME_NONE,		/* refused */
	TLS_NAME_SIP_URI_SAN,	/* subjectAltName URI sip:host */
	TLS_NAME_DNS_SAN,	/* subjectAltName dNSName */
	TLS_NAME_CN_NO_SAN,	/* subject CN, no subjectAltName extension */
	TLS_NAME_IP_SAN,	/* subjectAltName iPAddress */
	TLS_NAME_WILDCARD,	/* dNSName or CN "*.rest" (accept_wildcards) */
	TLS_NAME_COMPAT_CN	/* subject CN despite a subjectAltName */
};

/*
 * The verdict.  Strings are allocated by tls_name_check() and freed by
 * tls_name_result_clear(); peer bytes in them are printable ASCII (others
 * shown as \xNN), and each presented name is cut at 256 characters.
 */
struct tls_name_result {
	int			 ok;		/* 1 accepted, 0 refused */
	enum tls_name_rule	 rule;		/* TLS_NAME_NONE when refused */
	char			*matched;	/* e.g. "DNS sbc.example" or NULL */
	char			*reason;	/* refusal sentence or NULL */
	char			*presented;	/* every identity, annotated, or
						   "none" */
	/*
	 * When refused: the rule that would have accepted the certificate
	 * had RFC 5922 or the policy let it apply, so that a message can
	 * say what to change.  TLS_NAME_DNS_SAN: a dNSName equals the
	 * expected name but the certificate has a sip URI identity, which
	 * hides every dNSName (s.7.1); hidden_by is that URI.
	 * TLS_NAME_COMPAT_CN: a CN equals it but a subjectAltName exists
	 * (compat_cn_with_san would accept).  TLS_NAME_WILDCARD: a
	 * wildcard covers it (accept_wildcards would accept).  Otherwise
	 * (and when accepted) TLS_NAME_NONE and both strings NULL.
	 */
	enum tls_name_rule	 near;
	char			*near_match;	/* e.g. "DNS sbc.example" */
	char			*hidden_by;	/* e.g. "sip URI sip:other.example" */
};

/*
 * Check leaf against expected under policy p (NULL: defaults) and fill r
 * (any previous content is not freed: clear it first).  Returns 1 when
 * accepted, 0 when refused; r->reason then says why, e.g.
 *   no identity matches "sbc.partner.example"; presented: sip URI
 *   sip:other.example, DNS other.example (not used: ...)
 * followed, when an identity came close (r->near), by the rule that kept
 * it out: "; DNS sbc.partner.example is not used: RFC 5922 s.7.1 takes
 * only the sip URI identities when there are any (sip URI ...)".
 * A NULL leaf, a NULL, empty or malformed expected name is refused with
 * a reason.  Never fails otherwise (allocation failure aborts).
 */
int	tls_name_check(const X509 *leaf, const char *expected,
	    const struct tls_name_policy *p, struct tls_name_result *r);

/* Free the strings of r and zero it; r may be NULL or already clear. */
void	tls_name_result_clear(struct tls_name_result *r);

/* A short English name of rule, e.g. "DNS SAN"; never NULL. */
const char *tls_name_rule_name(enum tls_name_rule rule);

#endif
