/*
 * cert_trust_edit.c: sipedge-cert trust add, remove and reset: each
 * change computed in memory, written in one atomic rename
 * (cert_trust_write), then the running sipedged asked to reload.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rev/rev_crl.h"
#include "tls/tls_ca.h"
#include "tls/tls_pki.h"
#include "tools/cert.h"
#include "tools/cert_trust_int.h"
#include "util/xmalloc.h"

/* Whether x says it is a CA (basicConstraints CA:TRUE). */
static int
cert_is_ca(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
}

/* --- trust add ------------------------------------------------------ */

/* >0 when CRL a is newer than b: by CRL number when both have one. */
static int
crl_newer(X509_CRL *a, X509_CRL *b)
{
	ASN1_INTEGER *na = X509_CRL_get_ext_d2i(a, NID_crl_number, NULL, NULL);
	ASN1_INTEGER *nb = X509_CRL_get_ext_d2i(b, NID_crl_number, NULL, NULL);
	int r;

	if (na != NULL && nb != NULL)
		r = ASN1_INTEGER_cmp(na, nb);
	else
		r = ASN1_TIME_compare(X509_CRL_get0_lastUpdate(a),
		    X509_CRL_get0_lastUpdate(b));
	ASN1_INTEGER_free(na);
	ASN1_INTEGER_free(nb);
	ERR_clear_error();
	return r;
}

/* Warn about a CRL sipedged could not use or that is out of date. */
static void
warn_crl(const struct cert_trust *t, X509_CRL *crl, const char *file)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	char *iss = pki_name_line(X509_CRL_get_issuer(crl)), *why, *when;

	if (next != NULL && X509_cmp_current_time(next) < 0) {
		when = pki_time_iso(next);
		cert_err("warning: %s: the CRL of %s expired at %s (nextUpdate); "
		    "sipedged treats every certificate of that CA as revoked "
		    "until a fresh CRL arrives", file, iss, when);
		free(when);
	}
	if ((why = cert_trust_crl_problem(t, crl)) != NULL) {
		cert_err("warning: %s: sipedged cannot use the CRL of %s: %s",
		    file, iss, why);
		free(why);
	}
	free(iss);
}

/*
 * Put crl into t->crls (taking a reference), replacing an older CRL of the
 * same issuer and scope.  Prints what happened; returns 1 when the list
 * changed.
 */
static int
merge_crl(struct cert_trust *t, X509_CRL *crl, const char *file)
{
	char *iss = pki_name_line(X509_CRL_get_issuer(crl)), *when;
	int i, n = sk_X509_CRL_num(t->crls);

	for (i = 0; i < n; i++) {
		X509_CRL *old = sk_X509_CRL_value(t->crls, i);

		/* CRLs of other scopes (delta, IDP) are kept together. */
		if (!rev_crl_same_scope(old, crl))
			continue;
		if (crl_newer(crl, old) <= 0) {
			printf("skipped: CRL of %s: not newer than the one "
			    "already kept\n", iss);
			free(iss);
			return 0;
		}
		X509_CRL_up_ref(crl);
		(void)sk_X509_CRL_set(t->crls, i, crl);
		X509_CRL_free(old);
		when = pki_time_iso(X509_CRL_get0_lastUpdate(crl));
		printf("replaced: CRL of %s by the newer one of %s\n", iss,
		    when);
		free(when);
		free(iss);
		warn_crl(t, crl, file);
		return 1;
	}
	X509_CRL_up_ref(crl);
	sk_X509_CRL_push(t->crls, crl);
	printf("added: CRL of %s\n", iss);
	free(iss);
	warn_crl(t, crl, file);
	return 1;
}

/* Read the certificates and CRLs of an input file; CERT_OK or CERT_FAIL. */
static int
read_input(const char *file, STACK_OF(X509) **certs,
    STACK_OF(X509_CRL) **crls)
{
	enum pki_kind kind;
	char *buf, *cause = NULL;
	size_t len;

	*certs = NULL;
	*crls = NULL;
	if ((buf = pki_slurp(file, &len, &cause)) == NULL)
		goto fail;
	switch ((kind = pki_detect(buf, len))) {
	case PKI_CRL:
		*certs = sk_X509_new_null();
		*crls = pki_parse_crls(file, buf, len, &cause);
		break;
	case PKI_CSR:
	case PKI_KEY:
	case PKI_KEY_ENCRYPTED:
		cause = xasprintf("%s holds a %s, not a certificate or CRL to "
		    "trust", file, pki_kind_name(kind));
		break;
	default:
		*crls = sk_X509_CRL_new_null();
		*certs = pki_parse_certs(file, buf, len, *crls, &cause);
		break;
	}
	if (*certs != NULL && *crls != NULL) {
		if (pki_is_pem(buf, len) &&
		    strstr(buf, "PRIVATE KEY-----") != NULL)
			cert_err("warning: %s also holds a private key, which is "
			    "not added (a trust list holds certificates and "
			    "CRLs only)", file);
		free(buf);
		return CERT_OK;
	}
	free(buf);
fail:
	cert_err("%s", cause);
	free(cause);
	sk_X509_pop_free(*certs, X509_free);
	sk_X509_CRL_pop_free(*crls, X509_CRL_free);
	*certs = NULL;
	*crls = NULL;
	return CERT_FAIL;
}

/* Warn when a newly trusted certificate cannot do what a CA does. */
static void
warn_added(X509 *x, const char *file)
{
	char *sub = pki_name_line(X509_get_subject_name(x)), *when;

	if (!cert_is_ca(x))
		cert_err("warning: %s: %s is not a CA certificate "
		    "(basicConstraints CA:FALSE or absent), so certificates "
		    "it seems to issue will not verify against it; added "
		    "anyway", file, sub);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		when = pki_time_iso(X509_get0_notAfter(x));
		cert_err("warning: %s: %s expired at %s; it verifies nothing "
		    "until it is replaced", file, sub, when);
		free(when);
	} else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		when = pki_time_iso(X509_get0_notBefore(x));
		cert_err("warning: %s: %s is not valid before %s", file, sub,
		    when);
		free(when);
	}
	free(sub);
}

/* trust add: append what FILE holds that the list lacks, in one write. */
int
cert_trust_edit_add(struct conf *c, const char *file)
{
	STACK_OF(X509) *in = NULL;
	STACK_OF(X509_CRL) *in_crls = NULL;
	struct cert_trust t;
	char **fps = NULL, **in_fps = NULL, *cause = NULL, *label;
	int i, k, dup, changed = 0, added = 0, n_before = 0, rv;

	if (cert_trust_load(c, &t, &cause) == -1) {
		cert_err("%s; nothing was added (sipedge-cert trust reset starts "
		    "again from the default list)", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	if ((rv = read_input(file, &in, &in_crls)) != CERT_OK)
		goto out;
	n_before = sk_X509_num(t.certs);
	fps = cert_trust_fingerprints(t.certs);
	in_fps = cert_trust_fingerprints(in);
	for (i = 0; i < sk_X509_num(in); i++) {
		X509 *x = sk_X509_value(in, i);

		dup = 0;
		for (k = 0; k < n_before && !dup; k++)
			dup = strcmp(fps[k], in_fps[i]) == 0;
		for (k = 0; k < i && !dup; k++)
			dup = strcmp(in_fps[k], in_fps[i]) == 0;
		label = cert_trust_label(x);
		if (dup) {
			printf("skipped: %s: already in the trust list\n", label);
			free(label);
			continue;
		}
		printf("added: %s\n", label);
		free(label);
		warn_added(x, file);
		X509_up_ref(x);
		sk_X509_push(t.certs, x);
		changed = 1;
		added++;
	}
	/* After the certificates, so a CA added together with its CRL counts. */
	for (i = 0; i < sk_X509_CRL_num(in_crls); i++)
		changed |= merge_crl(&t, sk_X509_CRL_value(in_crls, i), file);
	if (!changed) {
		printf("Nothing to add: everything in %s is already in the trust "
		    "list; %s is unchanged.\n", file, t.is_default ?
		    "the default list" : t.path);
		goto out;
	}
	if (cert_trust_write(t.path, t.certs, t.crls, &cause) == -1) {
		cert_err("%s; the trust list was not changed", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	if (t.is_default && n_before > 0) {
		label = cert_trust_label(sk_X509_value(t.certs, 0));
		printf("note: %s did not exist, so it starts from the default "
		    "list: the temporary first-start CA %s stays trusted "
		    "(sipedge-cert trust remove 1 once no peer needs it).\n",
		    t.path, label);
		free(label);
	} else if (t.is_default || t.missing)
		printf("note: created %s.\n", t.path);
	printf("Trust list %s: %d certificate%s (%d added), %d CRL%s.\n",
	    t.path, sk_X509_num(t.certs), sk_X509_num(t.certs) == 1 ? "" : "s",
	    added, sk_X509_CRL_num(t.crls),
	    sk_X509_CRL_num(t.crls) == 1 ? "" : "s");
	rv = cert_trust_reload(c);
out:
	if (fps != NULL)
		cert_trust_fingerprints_free(fps, n_before);
	if (in_fps != NULL)
		cert_trust_fingerprints_free(in_fps, sk_X509_num(in));
	sk_X509_pop_free(in, X509_free);
	sk_X509_CRL_pop_free(in_crls, X509_CRL_free);
	cert_trust_clear(&t);
	return rv;
}

/* --- trust remove --------------------------------------------------- */

/* Whether some certificate of certs has name as its subject. */
static int
has_subject(STACK_OF(X509) *certs, const X509_NAME *name)
{
	int i;

	for (i = 0; i < sk_X509_num(certs); i++)
		if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(certs, i)),
		    name) == 0)
			return 1;
	return 0;
}

/*
 * Mark in gone[] the certificates the selectors name, and the twins of
 * each (the same certificate twice in the file).  Every selector is
 * resolved first, against the list as it was: 0, or -1 after the
 * messages when one does not resolve.
 */
static int
mark_gone(const struct cert_trust *t, char **fps, int nsel, char **sel,
    char *gone)
{
	int i, k, n = sk_X509_num(t->certs), bad = 0;
	char *cause = NULL;

	for (i = 0; i < nsel; i++) {
		if ((k = cert_trust_select(t, fps, sel[i], &cause)) == -1) {
			cert_err("%s", cause);
			free(cause);
			cause = NULL;
			bad = 1;
			continue;
		}
		gone[k] = 1;
	}
	if (bad) {
		cert_err("nothing was removed");
		return -1;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < n; k++)
			if (gone[k] && strcmp(fps[i], fps[k]) == 0)
				gone[i] = 1;
	return 0;
}

/* The CRLs of t whose CA stays (in keep) into out: a CRL is only of use
 * while its CA is trusted; the others are reported removed. */
static void
keep_crls_of(const struct cert_trust *t, STACK_OF(X509) *keep,
    STACK_OF(X509_CRL) *out)
{
	X509_CRL *crl;
	char *s;
	int i;

	for (i = 0; i < sk_X509_CRL_num(t->crls); i++) {
		crl = sk_X509_CRL_value(t->crls, i);
		if (has_subject(keep, X509_CRL_get_issuer(crl))) {
			X509_CRL_up_ref(crl);
			sk_X509_CRL_push(out, crl);
			continue;
		}
		s = pki_name_line(X509_CRL_get_issuer(crl));
		printf("removed: CRL of %s (its CA is no longer trusted)\n", s);
		free(s);
	}
}

/* trust remove: drop the selected certificates (all or none). */
int
cert_trust_edit_remove(struct conf *c, int nsel, char **sel)
{
	STACK_OF(X509) *keep = sk_X509_new_null();
	STACK_OF(X509_CRL) *keep_crls = sk_X509_CRL_new_null();
	struct cert_trust t;
	char **fps = NULL, *cause = NULL, *gone = NULL, *s;
	int i, n = 0, rv;

	if ((rv = cert_trust_open(c, &t)) != CERT_OK)
		goto out;
	n = sk_X509_num(t.certs);
	fps = cert_trust_fingerprints(t.certs);
	gone = xcalloc((size_t)(n > 0 ? n : 1), 1);
	if (mark_gone(&t, fps, nsel, sel, gone) == -1) {
		rv = CERT_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (gone[i])
			continue;
		X509_up_ref(sk_X509_value(t.certs, i));
		sk_X509_push(keep, sk_X509_value(t.certs, i));
	}
	if (sk_X509_num(keep) == 0) {
		cert_err("refusing to remove every certificate: sipedged cannot "
		    "load an empty trust list from %s; add the new CA first "
		    "(sipedge-cert trust add FILE) or go back to the default "
		    "list with sipedge-cert trust reset; nothing was removed",
		    t.is_default ? "the default list" : t.path);
		rv = CERT_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!gone[i])
			continue;
		s = cert_trust_label(sk_X509_value(t.certs, i));
		printf("removed: %s\n", s);
		free(s);
	}
	keep_crls_of(&t, keep, keep_crls);
	if (cert_trust_write(t.path, keep, keep_crls, &cause) == -1) {
		cert_err("%s; the trust list was not changed", cause);
		free(cause);
		rv = CERT_FAIL;
		goto out;
	}
	printf("Trust list %s: %d certificate%s, %d CRL%s.\n", t.path,
	    sk_X509_num(keep), sk_X509_num(keep) == 1 ? "" : "s",
	    sk_X509_CRL_num(keep_crls),
	    sk_X509_CRL_num(keep_crls) == 1 ? "" : "s");
	rv = cert_trust_reload(c);
out:
	if (fps != NULL)
		cert_trust_fingerprints_free(fps, n);
	free(gone);
	sk_X509_pop_free(keep, X509_free);
	sk_X509_CRL_pop_free(keep_crls, X509_CRL_free);
	cert_trust_clear(&t);
	return rv;
}

/* --- trust reset ---------------------------------------------------- */

/* trust reset: the temporary first-start CA only. */
int
cert_trust_edit_reset(struct conf *c)
{
	STACK_OF(X509) *ca = NULL;
	struct cert_trust t;
	char *cause = NULL, *s;
	int loaded, rv = CERT_FAIL;

	/* The old list is only reported: a damaged file is what reset fixes. */
	if ((loaded = cert_trust_load(c, &t, &cause)) == -1) {
		cert_err("warning: %s; it is replaced", cause);
		free(cause);
		cause = NULL;
	}
	if (tls_temp_ensure(c->state_dir.path, c->fqdn, c->aliases.v,
	    c->aliases.n, &cause) == -1) {
		cert_err("cannot create the temporary first-start CA: %s; the "
		    "trust list was not changed", cause);
		goto out;
	}
	if ((ca = pki_read_certs(t.temp_ca, NULL, &cause)) == NULL) {
		cert_err("%s; the trust list was not changed", cause);
		goto out;
	}
	while (sk_X509_num(ca) > 1)
		X509_free(sk_X509_pop(ca));
	if (cert_trust_write(t.path, ca, NULL, &cause) == -1) {
		cert_err("%s; the trust list was not changed", cause);
		goto out;
	}
	s = cert_trust_label(sk_X509_value(ca, 0));
	printf("Trust list %s reset to the default list: the temporary "
	    "first-start CA %s only.\n", t.path, s);
	free(s);
	if (loaded == 0 && !t.is_default && !t.missing)
		printf("It held %d certificate%s and %d CRL%s before.\n",
		    sk_X509_num(t.certs), sk_X509_num(t.certs) == 1 ? "" : "s",
		    sk_X509_CRL_num(t.crls),
		    sk_X509_CRL_num(t.crls) == 1 ? "" : "s");
	rv = cert_trust_reload(c);
out:
	free(cause);
	sk_X509_pop_free(ca, X509_free);
	cert_trust_clear(&t);
	return rv;
}
