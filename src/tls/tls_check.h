/*
 * tls_check.h: the checks made on the server's own identity (certificate
 * chain, private key, trust list) at start, at `sipedged -t`, at every
 * reload and by `sipedge-cert install` before it puts files in place.
 * Pure: no I/O besides what the caller loaded; every finding is one
 * sentence naming the file and the problem, added to a diaglist as an
 * error (refuse) or a warning (load, but say so).
 */
#ifndef SE_TLS_CHECK_H
#define SE_TLS_CHECK_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf/conf.h"
#include "util/diag.h"

/*
 * What was checked, and where it came from (for messages).  Zero the
 * struct and fill what is known: every pointer may be NULL except chain,
 * key, cert_file and key_file.
 */
struct tls_check_input {
	STACK_OF(X509)	*chain;		/* leaf first, then intermediates */
	EVP_PKEY	*key;
	STACK_OF(X509)	*trust;		/* trusted CAs (NULL or empty: none) */
	const char	*cert_file;	/* named in messages */
	const char	*key_file;
	const struct conf_loc *cert_loc; /* where the setting is (may be NULL) */
	const struct conf_loc *key_loc;
	time_t		 now;		/* 0: the current time */
	const char	*trust_file;	/* named in messages (NULL: tls.trust) */
	int		 temporary;	/* the first-start temporary certificate:
					   its names and chain are not checked */
};

/* Findings that the daemon turns into status alarms. */
#define TLS_ALARM_EXPIRED	0x01	/* notAfter in the past */
#define TLS_ALARM_NOT_YET_VALID	0x02	/* notBefore in the future */
#define TLS_ALARM_EXPIRING	0x04	/* within tls.expiry_warning_days */

/* Key sizes: below MIN refused, from LARGE on a warning. */
#define TLS_RSA_MIN_BITS	2048
#define TLS_RSA_LARGE_BITS	8192

/*
 * Check in against configuration c (node names, cluster names, zones using
 * mutual TLS, expiry_warning_days).  Adds errors and warnings to dl; returns
 * the TLS_ALARM_* bits that apply.  The caller decides by dl->nerrors.
 *
 * Errors: key not matching the certificate (or matching a certificate that
 * is not first in the file), RSA key under TLS_RSA_MIN_BITS, no serverAuth
 * in an extendedKeyUsage.  Warnings: RSA key of TLS_RSA_LARGE_BITS or more,
 * expired, not yet valid or expiring soon, no clientAuth while a TLS zone
 * verifies its peers, a wildcard name, a configured name
 * (tls_own_names_from_conf) that peers would not find in the certificate
 * (tls_check_names), a chain that does not reach a CA of the trust list.
 */
int	tls_check_identity(const struct conf *c,
	    const struct tls_check_input *in, struct diaglist *dl);

/*
 * The names this node is configured to be, each with the setting that
 * says so (for messages): the names peers will check its certificate
 * against.  Host names and IP literals, without repeats (case-insensitive).
 */
struct tls_own_name {
	char	*name;
	char	*setting;	/* e.g. "node.fqdn", "tls.extra_names" */
};
struct tls_own_names {
	struct tls_own_name	*v;
	size_t			 n;
};

/*
 * Add the names of c: node.fqdn; node.cluster_fqdn and every
 * node.cluster_peers entry when clustered; the tls.extra_names entries
 * that peers check: DNS and IP ones, and the host of a URI
 * "sip:host[:port][;params]" without user part.  Other URIs are no
 * identity of this node to a SIP peer (RFC 5922 s.7.1) and are skipped.
 */
void	tls_own_names_from_conf(struct tls_own_names *nl,
	    const struct conf *c);
/*
 * Add one entry written as in tls.extra_names (DNS:, IP:, URI:) or a bare
 * host name or IP literal, under setting; entries peers do not check are
 * skipped as above, and so are wildcards.
 */
void	tls_own_names_add(struct tls_own_names *nl, const char *entry,
	    const char *setting);
/* Free every name of nl and zero it. */
void	tls_own_names_clear(struct tls_own_names *nl);

/*
 * Check that a peer would accept x under each name of nl, with the name
 * check peers apply (tls_name_check, RFC 5922, the strict default of a
 * zone: no wildcards, no cn_compat).  The names refused go into one
 * warning in dl at loc (may be NULL), starting with what ("the
 * certificate in FILE", "the request FILE"), listing what x names, and
 * saying for each near miss which rule hid it and what to change (a sip:
 * URI hiding the DNS names, a CN beside subjectAltNames, a wildcard).
 * Returns the number of names refused.
 */
size_t	tls_check_names(X509 *x, const struct tls_own_names *nl,
	    const char *what, const struct conf_loc *loc,
	    struct diaglist *dl);

/*
 * A short description of the alarms in bits for leaf ("expired on
 * 2026-01-01T00:00:00Z"); several are joined with "; ".  NULL when bits
 * is 0.  Caller frees.
 */
char	*tls_check_alarm_text(X509 *leaf, int bits, time_t now);

/* The alarm bits as words: "expired", "not-yet-valid", "expiring"
 * joined with ","; "" when none.  Caller frees. */
char	*tls_check_alarm_words(int bits);

#endif
