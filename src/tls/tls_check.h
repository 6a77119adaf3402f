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

/* What was checked, and where it came from (for messages). */
struct tls_check_input {
	STACK_OF(X509)	*chain;		/* leaf first, then intermediates */
	EVP_PKEY	*key;
	STACK_OF(X509)	*trust;		/* trusted CAs (may be empty) */
	const char	*cert_file;	/* named in messages */
	const char	*key_file;
	const struct conf_loc *cert_loc; /* where the setting is (may be NULL) */
	const struct conf_loc *key_loc;
	time_t		 now;
};

/* Findings that the daemon turns into status alarms. */
#define TLS_ALARM_EXPIRED	0x01	/* notAfter in the past */
#define TLS_ALARM_NOT_YET_VALID	0x02	/* notBefore in the future */
#define TLS_ALARM_EXPIRING	0x04	/* within tls.expiry_warning_days */

/*
 * Check in against configuration c (node names, cluster names, zones using
 * mutual TLS, expiry_warning_days).  Adds errors and warnings to dl; returns
 * the TLS_ALARM_* bits that apply.  The caller decides by dl->nerrors.
 */
int	tls_check_identity(const struct conf *c,
	    const struct tls_check_input *in, struct diaglist *dl);

#endif
