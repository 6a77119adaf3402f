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
 * verifies its peers, a wildcard name, node or cluster names missing,
 * a chain that does not reach a CA of the trust list.
 */
int	tls_check_identity(const struct conf *c,
	    const struct tls_check_input *in, struct diaglist *dl);

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
