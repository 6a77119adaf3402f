/*
 * tls_path.c: certification path building (every candidate issuer tried,
 * bounded) and the RFC 5280 rules OpenSSL 3.0 leaves out or words as
 * codes: inclusive validity, key identifiers, basicConstraints,
 * keyUsage, nameConstraints and subjectAltName forms.  Every sentence
 * names the certificate (subject and depth) and the rule.  No I/O: it
 * reads certificates and a store that the caller owns.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_path.h"
#include "tls/tls_pki.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* "certificate 'SUBJECT' (depth D) " followed by fmt. */
static char *
say(X509 *x, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *
say(X509 *x, int depth, const char *fmt, ...)
{
	va_list ap;
	char *s = pki_name_line(X509_get_subject_name(x)), *rest, *out;

	va_start(ap, fmt);
	rest = xvasprintf(fmt, ap);
	va_end(ap);
	out = xasprintf("certificate '%s' (depth %d) %s", s, depth, rest);
	free(s);
	free(rest);
	return out;
}

/* A peer-supplied string made printable (\xNN), at most 80 bytes shown. */
static char *
printable(const unsigned char *p, size_t n)
{
	char *out = xmalloc(80 * 4 + 4), *o = out;
	size_t i;

	for (i = 0; i < n && i < 80; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' && p[i] != '\\')
			*o++ = (char)p[i];
		else
			o += sprintf(o, "\\x%02x", p[i]);
	}
	if (i < n)
		o += sprintf(o, "...");
	*o = '\0';
	return out;
}

/* The time t as 2026-11-26T17:00:00Z. */
static char *
time_iso(time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return xstrdup("?");
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
tls_path_dns_ok(const unsigned char *s, size_t len, enum tls_path_dns form)
{
	/* The one host name rule of util/name.c. */
	return name_dns_ok(s, len, form == TLS_PATH_DNS_SAN ? NAME_WILDCARD :
	    NAME_DOMAIN);
}

/* Validity, both ends inclusive (RFC 5280 s.4.1.2.5). */
static char *
time_problem(X509 *x, int depth, time_t now)
{
	int b = ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), now);
	int a = ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), now);
	char *t, *n, *out;

	if (a == -2 || b == -2)
		return say(x, depth, "has a validity date that cannot be read "
		    "(RFC 5280 s.4.1.2.5)");
	if (b <= 0 && a >= 0)
		return NULL;
	n = time_iso(now);
	if (b > 0) {
		t = pki_time_iso(X509_get0_notBefore(x));
		out = say(x, depth, "is not valid yet: its notBefore is %s, the "
		    "check time %s", t, n);
	} else {
		t = pki_time_iso(X509_get0_notAfter(x));
		out = say(x, depth, "has expired: its notAfter is %s, the check "
		    "time %s (the notAfter second itself is still valid, RFC "
		    "5280 s.4.1.2.5)", t, n);
	}
	free(t);
	free(n);
	return out;
}

/* The first DNS name of gs in the wrong form; NULL when all are fine. */
static const ASN1_IA5STRING *
bad_dns(const GENERAL_NAME *g, enum tls_path_dns form)
{
	if (g == NULL || g->type != GEN_DNS)
		return NULL;
	if (tls_path_dns_ok(ASN1_STRING_get0_data(g->d.dNSName),
	    (size_t)ASN1_STRING_length(g->d.dNSName), form))
		return NULL;
	return g->d.dNSName;
}

/* nameConstraints: CA certificates only, not empty, DNS bases well formed. */
static char *
nc_problem(X509 *x, int depth, int is_ca)
{
	NAME_CONSTRAINTS *nc;
	STACK_OF(GENERAL_SUBTREE) *sub[2];
	const ASN1_IA5STRING *bad = NULL;
	char *p, *out = NULL;
	int crit, i, k;

	nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	if (nc == NULL)
		return crit == -1 ? NULL : say(x, depth, "has a nameConstraints "
		    "extension that cannot be decoded, or more than one (RFC "
		    "5280 s.4.2)");
	sub[0] = nc->permittedSubtrees;
	sub[1] = nc->excludedSubtrees;
	if (!is_ca)
		out = say(x, depth, "carries nameConstraints but is not a CA "
		    "certificate (RFC 5280 s.4.2.1.10: only CA certificates "
		    "may)");
	else if (sk_GENERAL_SUBTREE_num(sub[0]) <= 0 &&
	    sk_GENERAL_SUBTREE_num(sub[1]) <= 0)
		out = say(x, depth, "has an empty nameConstraints: neither "
		    "permitted nor excluded subtrees (RFC 5280 s.4.2.1.10)");
	for (k = 0; out == NULL && k < 2; k++)
		for (i = 0; bad == NULL && i < sk_GENERAL_SUBTREE_num(sub[k]);
		    i++)
			bad = bad_dns(sk_GENERAL_SUBTREE_value(sub[k], i)->base,
			    TLS_PATH_DNS_CONSTRAINT);
	if (out == NULL && bad != NULL) {
		p = printable(ASN1_STRING_get0_data(bad),
		    (size_t)ASN1_STRING_length(bad));
		out = say(x, depth, "has the DNS name '%s' in nameConstraints, "
		    "which is not a domain name in the preferred name syntax "
		    "(RFC 5280 s.4.2.1.10, RFC 1034 s.3.5: letters, digits and "
		    "inner hyphens, an optional leading dot)", p);
		free(p);
	}
	NAME_CONSTRAINTS_free(nc);
	return out;
}

/* subjectAltName: critical with an empty subject, DNS names well formed. */
static char *
san_problem(X509 *x, int depth)
{
	GENERAL_NAMES *gens;
	const ASN1_IA5STRING *bad = NULL;
	int crit, i, empty = X509_NAME_entry_count(X509_get_subject_name(x)) ==
	    0;
	char *p, *out = NULL;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1)
		return say(x, depth, "has a subjectAltName extension that cannot "
		    "be decoded, or more than one (RFC 5280 s.4.2)");
	if (gens == NULL)
		return empty ? say(x, depth, "has an empty subject and no "
		    "subjectAltName (RFC 5280 s.4.1.2.6)") : NULL;
	if (sk_GENERAL_NAME_num(gens) <= 0)
		out = say(x, depth, "has an empty subjectAltName (RFC 5280 "
		    "s.4.2.1.6)");
	else if (empty && !crit)
		out = say(x, depth, "has an empty subject and a subjectAltName "
		    "not marked critical (RFC 5280 s.4.2.1.6: it must be critical "
		    "then)");
	for (i = 0; out == NULL && bad == NULL && i < sk_GENERAL_NAME_num(gens);
	    i++)
		bad = bad_dns(sk_GENERAL_NAME_value(gens, i), TLS_PATH_DNS_SAN);
	if (out == NULL && bad != NULL) {
		p = printable(ASN1_STRING_get0_data(bad),
		    (size_t)ASN1_STRING_length(bad));
		out = say(x, depth, "has the DNS name '%s' in subjectAltName, "
		    "which is not in the preferred name syntax (RFC 5280 "
		    "s.4.2.1.6, RFC 1034 s.3.5 and RFC 1123 s.2.1: letters, "
		    "digits and inner hyphens; no underscore)", p);
		free(p);
	}
	GENERAL_NAMES_free(gens);
	return out;
}

/* The RFC 5280 structure rules for x at depth (> 0: it issued depth - 1). */
static char *
structure_problem(X509 *x, int depth)
{
	uint32_t fl = X509_get_extension_flags(x);
	uint32_t ku = X509_get_key_usage(x);
	int is_ca = (fl & EXFLAG_CA) != 0;
	char *out;

	if (depth > 0 && (fl & EXFLAG_BCONS) == 0)
		return say(x, depth, "issued the certificate at depth %d but has "
		    "no basicConstraints (RFC 5280 s.4.2.1.9: a CA certificate "
		    "must carry it, critical, with cA TRUE)", depth - 1);
	if (depth > 0 && !is_ca)
		return say(x, depth, "issued the certificate at depth %d but its "
		    "basicConstraints says it is not a CA (cA FALSE; RFC 5280 "
		    "s.4.2.1.9)", depth - 1);
	if (is_ca && (fl & EXFLAG_BCONS_CRITICAL) == 0)
		return say(x, depth, "is a CA certificate whose basicConstraints "
		    "is not marked critical (RFC 5280 s.4.2.1.9 requires it "
		    "critical)");
	if (is_ca && X509_get0_subject_key_id(x) == NULL)
		return say(x, depth, "is a CA certificate without "
		    "subjectKeyIdentifier (RFC 5280 s.4.2.1.2 requires it)");
	if ((fl & EXFLAG_SS) == 0 && X509_get0_authority_key_id(x) == NULL)
		return say(x, depth, "is not self-signed and has no "
		    "authorityKeyIdentifier with a key identifier (RFC 5280 "
		    "s.4.2.1.1 requires one)");
	if (is_ca && (fl & EXFLAG_KUSAGE) == 0)
		return say(x, depth, "is a CA certificate without keyUsage (RFC "
		    "5280 s.4.2.1.3 requires it)");
	if (!is_ca && (fl & EXFLAG_KUSAGE) != 0 && (ku & KU_KEY_CERT_SIGN) != 0)
		return say(x, depth, "asserts keyCertSign in its key usage but "
		    "is not a CA: basicConstraints cA is not TRUE (RFC 5280 "
		    "s.4.2.1.3)");
	if (depth > 0 && (fl & EXFLAG_KUSAGE) != 0 &&
	    (ku & KU_KEY_CERT_SIGN) == 0)
		return say(x, depth, "issued the certificate at depth %d but its "
		    "key usage lacks keyCertSign (RFC 5280 s.4.2.1.3)",
		    depth - 1);
	if ((out = nc_problem(x, depth, is_ca)) != NULL)
		return out;
	return san_problem(x, depth);
}

/* Key usage and extended key usage for TLS in the given role. */
static char *
purpose_problem(X509 *x, int depth, int purpose)
{
	int server = purpose == X509_PURPOSE_SSL_SERVER;
	uint32_t fl = X509_get_extension_flags(x);
	uint32_t want, ku = X509_get_key_usage(x);
	const char *role = server ? "server" : "client";
	const char *eku = server ? "serverAuth" : "clientAuth";

	if (purpose != X509_PURPOSE_SSL_SERVER &&
	    purpose != X509_PURPOSE_SSL_CLIENT)
		return NULL;
	want = server ? XKU_SSL_SERVER | XKU_SGC : XKU_SSL_CLIENT;
	if ((fl & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(x) & want) == 0)
		return depth == 0 ? say(x, depth, "is not allowed for TLS %s "
		    "authentication (extended key usage lacks %s)", role, eku) :
		    say(x, depth, "may not issue certificates for TLS %s "
		    "authentication (its extended key usage lacks %s)", role,
		    eku);
	want = server ? KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT |
	    KU_KEY_AGREEMENT : KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
	if (depth == 0 && (fl & EXFLAG_KUSAGE) != 0 && (ku & want) == 0)
		return say(x, depth, "is not allowed for TLS %s authentication "
		    "(key usage has none of %s)", role, server ?
		    "digitalSignature, keyEncipherment, keyAgreement" :
		    "digitalSignature, keyAgreement");
	return NULL;
}

/* tls_path_cert_problem, with the validity dates judged only if dates. */
static char *
cert_problem(X509 *x, int depth, int npath, time_t now, int purpose,
    int min_bits, int dates)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	char *out;

	if (dates && (out = time_problem(x, depth, now)) != NULL)
		return out;
	/* A certificate trusted by itself is an anchor, not a path (RFC
	 * 6818 s.2): only its dates and purpose count. */
	if (npath > 1 && (out = structure_problem(x, depth)) != NULL)
		return out;
	if ((out = purpose_problem(x, depth, purpose)) != NULL)
		return out;
	if (min_bits <= 0)
		min_bits = 2048;
	if (k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA &&
	    EVP_PKEY_get_bits(k) < min_bits)
		return say(x, depth, "has an RSA key of %d bits; at least %d are "
		    "required", EVP_PKEY_get_bits(k), min_bits);
	return NULL;
}

char *
tls_path_cert_problem(X509 *x, int depth, int npath, time_t now,
    int purpose, int min_bits)
{
	return cert_problem(x, depth, npath, now, purpose, min_bits, 1);
}

/* --- the search ----------------------------------------------------- */

struct search {
	const struct tls_path_params *p;
	X509_STORE		*store;		/* p->trust, or an empty one */
	X509_STORE_CTX		*look;		/* trust list lookups by name */
	STACK_OF(X509)		*untrusted;
	X509			*path[TLS_PATH_MAX_LEN];
	int			 n;
	int			 sigs, paths, exhausted, too_long;
	STACK_OF(X509)		*found;
	char			*why;		/* the first candidate path's fault */
	X509			*dead;		/* deepest without a signing issuer */
	int			 dead_depth, dead_named;
};

/* The trust list's certificates named n (up-referenced), or NULL. */
static STACK_OF(X509) *
trusted_named(struct search *s, const X509_NAME *n)
{
	STACK_OF(X509) *sk = X509_STORE_CTX_get1_certs(s->look, n);

	ERR_clear_error();
	return sk;
}

static int
in_path(const struct search *s, const X509 *c)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (X509_cmp(s->path[i], c) == 0)
			return 1;
	return 0;
}

/* Whether x itself is in the trust list. */
static int
is_trusted(struct search *s, X509 *x)
{
	STACK_OF(X509) *sk = trusted_named(s, X509_get_subject_name(x));
	int i, yes = 0;

	for (i = 0; i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0)
			yes = 1;
	sk_X509_pop_free(sk, X509_free);
	return yes;
}

static int
same_chain(STACK_OF(X509) *a, STACK_OF(X509) *b)
{
	int i;

	if (sk_X509_num(a) != sk_X509_num(b))
		return 0;
	for (i = 0; i < sk_X509_num(a); i++)
		if (X509_cmp(sk_X509_value(a, i), sk_X509_value(b, i)) != 0)
			return 0;
	return 1;
}

/* Our rules over every certificate of path; NULL when all pass. */
static char *
rules(STACK_OF(X509) *path, const struct tls_path_params *p)
{
	char *why = NULL;
	int i, n = sk_X509_num(path);

	for (i = 0; why == NULL && i < n; i++)
		why = cert_problem(sk_X509_value(path, i), i, n, p->now,
		    p->purpose, p->min_rsa_bits, i > 0 || !p->leaf_dates_judged);
	return why;
}

/*
 * X509_verify_cert on exactly this path: its intermediates as the only
 * untrusted certificates, its last as the only anchor.  Returns NULL and
 * sets *built, or the reason.
 */
static char *
openssl_check(struct search *s, STACK_OF(X509) *path, STACK_OF(X509) **built)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	STACK_OF(X509) *anchor = sk_X509_new_null();
	X509_VERIFY_PARAM *vp;
	X509 *cur;
	unsigned long flags;
	char *why = NULL;
	int i, n = sk_X509_num(path), err, depth;

	for (i = 1; i < n - 1; i++)
		sk_X509_push(untrusted, sk_X509_value(path, i));
	sk_X509_push(anchor, sk_X509_value(path, n - 1));
	if (ctx == NULL || X509_STORE_CTX_init(ctx, s->store,
	    sk_X509_value(path, 0), untrusted) != 1) {
		why = xstrdup("the path cannot be verified (out of memory)");
		goto out;
	}
	X509_STORE_CTX_set0_trusted_stack(ctx, anchor);
	vp = X509_STORE_CTX_get0_param(ctx);
	/* Our clock and notAfter rule; RFC 5280 strictness except for a
	 * certificate trusted by itself (RFC 6818 s.2). */
	flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME;
	if (n > 1)
		flags |= X509_V_FLAG_X509_STRICT;
	X509_VERIFY_PARAM_set_flags(vp, flags);
	/* A check time set on the store would win over NO_CHECK_TIME. */
	X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_USE_CHECK_TIME);
	X509_VERIFY_PARAM_set_auth_level(vp, s->p->auth_level);
	if (s->p->purpose != 0)
		X509_STORE_CTX_set_purpose(ctx, s->p->purpose);
	if (X509_verify_cert(ctx) == 1) {
		*built = X509_STORE_CTX_get1_chain(ctx);
		goto out;
	}
	err = X509_STORE_CTX_get_error(ctx);
	depth = X509_STORE_CTX_get_error_depth(ctx);
	cur = X509_STORE_CTX_get_current_cert(ctx);
	if (cur == NULL)
		cur = sk_X509_value(path, depth >= 0 && depth < n ? depth : 0);
	switch (err) {
	case X509_V_ERR_INVALID_PURPOSE:
		why = say(cur, depth, "is not allowed for TLS %s authentication "
		    "(its key usage, extended key usage or Netscape certificate "
		    "type)", s->p->purpose == X509_PURPOSE_SSL_SERVER ?
		    "server" : "client");
		break;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		if (depth >= 0 && depth + 1 < n) {
			char *is = pki_name_line(X509_get_subject_name(
			    sk_X509_value(path, depth + 1)));

			why = say(cur, depth, "does not verify with the key of "
			    "'%s' (depth %d): its signature is wrong, or another "
			    "CA of that name signed it", is, depth + 1);
			free(is);
		} else
			why = say(cur, depth, "has a signature that does not "
			    "verify");
		break;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		why = say(cur, depth, "is refused at tls.security_level %d: %s",
		    s->p->auth_level, X509_verify_cert_error_string(err));
		break;
	default:
		why = say(cur, depth, "is refused by OpenSSL's path validation: "
		    "%s", X509_verify_cert_error_string(err));
		break;
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	sk_X509_free(anchor);
	return why;
}

/* Verify s->path[0..n) as a complete path; 1 when it holds. */
static int
try_path(struct search *s)
{
	STACK_OF(X509) *sk = sk_X509_new_null(), *built = NULL;
	char *why;
	int i;

	if (s->paths >= TLS_PATH_MAX_PATHS) {
		s->exhausted = 1;
		sk_X509_free(sk);
		return 0;
	}
	s->paths++;
	for (i = 0; i < s->n; i++) {
		X509_up_ref(s->path[i]);
		sk_X509_push(sk, s->path[i]);
	}
	if ((why = rules(sk, s->p)) == NULL &&
	    (why = openssl_check(s, sk, &built)) == NULL) {
		/* OpenSSL may have taken another certificate of the same
		 * name and key: then its path must pass our rules too. */
		if (same_chain(sk, built)) {
			sk_X509_pop_free(built, X509_free);
			s->found = sk;
			return 1;
		}
		if ((why = rules(built, s->p)) == NULL) {
			sk_X509_pop_free(sk, X509_free);
			s->found = built;
			return 1;
		}
		sk_X509_pop_free(built, X509_free);
	}
	sk_X509_pop_free(sk, X509_free);
	if (s->why == NULL)
		s->why = why;
	else
		free(why);
	return 0;
}

/* Whether x is valid at now (for ordering candidates only). */
static int
current(X509 *x, time_t now)
{
	return ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), now) <= 0 &&
	    ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), now) >= 0;
}

/*
 * What checking a signature with c's key costs against TLS_PATH_MAX_SIGS:
 * 1 for EC and RSA or DSA up to 4096 bits, more for larger keys, so that
 * a chain of huge keys runs out of budget as fast in time.
 */
static int
sig_cost(X509 *c)
{
	EVP_PKEY *k = X509_get0_pubkey(c);
	int bits, id;

	if (k == NULL)
		return 1;
	id = EVP_PKEY_get_base_id(k);
	bits = EVP_PKEY_get_bits(k);
	if ((id != EVP_PKEY_RSA && id != EVP_PKEY_DSA) || bits <= 4096)
		return 1;
	return bits / 2048;
}

/* Whether c's subjectKeyIdentifier agrees with x's authority key id. */
static int
akid_fits(X509 *c, X509 *x)
{
	const ASN1_OCTET_STRING *a = X509_get0_authority_key_id(x);
	const ASN1_OCTET_STRING *k = X509_get0_subject_key_id(c);

	return a == NULL || k == NULL || ASN1_OCTET_STRING_cmp(a, k) == 0;
}

/*
 * The candidate issuers of x, the last certificate of the path, into cand
 * (trusted[]: from the trust list tr), at most TLS_PATH_MAX_ISSUERS; in
 * four passes: trusted and current, trusted, untrusted and current,
 * untrusted; each candidate taken once.  *named counts the certificates
 * named as x's issuer.  Returns how many candidates.
 */
static int
candidates(struct search *s, X509 *x, STACK_OF(X509) *tr, X509 **cand,
    int *trusted, int *named)
{
	const X509_NAME *iss = X509_get_issuer_name(x);
	int i, k, pass, ncand = 0, dup;
	X509 *c;

	for (pass = 0; pass < 4; pass++) {
		STACK_OF(X509) *from = pass < 2 ? tr : s->untrusted;

		for (i = 0; i < sk_X509_num(from); i++) {
			c = sk_X509_value(from, i);
			if (X509_NAME_cmp(X509_get_subject_name(c), iss) != 0 ||
			    in_path(s, c))
				continue;
			if ((pass & 1) == 0 && !current(c, s->p->now))
				continue;
			if ((pass & 1) == 1 && current(c, s->p->now))
				continue;
			/* An untrusted copy of a trusted certificate, or
			 * one sent twice. */
			for (dup = 0, k = 0; pass >= 2 && k < sk_X509_num(tr);
			    k++)
				if (X509_cmp(sk_X509_value(tr, k), c) == 0)
					dup = 1;
			for (k = 0; k < ncand; k++)
				if (X509_cmp(cand[k], c) == 0)
					dup = 1;
			if (dup)
				continue;
			(*named)++;
			if (!akid_fits(c, x) || ncand == TLS_PATH_MAX_ISSUERS)
				continue;
			cand[ncand] = c;
			trusted[ncand++] = pass < 2;
		}
	}
	return ncand;
}

/*
 * Extend the path past its last certificate by every candidate issuer in
 * turn: trusted before untrusted, currently valid before not.  Returns 1
 * once a complete path holds.
 */
static int
extend(struct search *s)
{
	X509 *x = s->path[s->n - 1];
	X509 *cand[TLS_PATH_MAX_ISSUERS];
	int trusted[TLS_PATH_MAX_ISSUERS];
	STACK_OF(X509) *tr;
	const X509_NAME *iss = X509_get_issuer_name(x);
	int i, ncand, named = 0, signers = 0, ok = 0;

	if (s->n >= TLS_PATH_MAX_LEN) {
		s->too_long = 1;
		return 0;
	}
	tr = trusted_named(s, iss);
	ncand = candidates(s, x, tr, cand, trusted, &named);
	for (i = 0; i < ncand && !ok; i++) {
		/* A lone candidate is checked with the whole path (OpenSSL
		 * verifies every signature there): no signature twice. */
		if (ncand > 1 && s->sigs + sig_cost(cand[i]) >
		    TLS_PATH_MAX_SIGS) {
			s->exhausted = 1;
			break;
		}
		if (ncand > 1) {
			s->sigs += sig_cost(cand[i]);
			if (X509_verify(x, X509_get0_pubkey(cand[i])) != 1) {
				ERR_clear_error();
				continue;
			}
		}
		signers++;
		s->path[s->n++] = cand[i];
		if (trusted[i])
			ok = try_path(s);
		/* A trusted CA that is not a root may lead further: its own
		 * issuer might be trusted too. */
		if (!ok && !s->exhausted && (!trusted[i] ||
		    (X509_get_extension_flags(cand[i]) & EXFLAG_SS) == 0))
			ok = extend(s);
		s->n--;
		if (s->exhausted)
			break;
	}
	if (!ok && signers == 0 && !s->exhausted && (s->dead == NULL ||
	    s->n - 1 > s->dead_depth)) {
		X509_up_ref(x);
		X509_free(s->dead);
		s->dead = x;
		s->dead_depth = s->n - 1;
		s->dead_named = named;
	}
	sk_X509_pop_free(tr, X509_free);
	return ok;
}

/* The reason when no path holds. */
static char *
failure(struct search *s)
{
	char *subj, *iss, *out;

	if (s->why != NULL) {
		if (s->paths < 2)
			return xstrdup(s->why);
		return xasprintf("%s (the first of %d candidate paths; none "
		    "holds)", s->why, s->paths);
	}
	subj = pki_name_line(X509_get_subject_name(s->dead != NULL ? s->dead :
	    s->path[0]));
	if (s->exhausted)
		out = xasprintf("the path search for '%s' stopped after %d "
		    "signature checks and %d candidate paths: the chain offers "
		    "too many candidate issuers (a loop, or many certificates "
		    "with one name)", subj, s->sigs, s->paths);
	else if (s->dead == NULL)
		out = xasprintf("no path from '%s' to the trust list within %d "
		    "certificates", subj, TLS_PATH_MAX_LEN);
	else {
		iss = pki_name_line(X509_get_issuer_name(s->dead));
		if (s->dead_named == 0 &&
		    (X509_get_extension_flags(s->dead) & EXFLAG_SS) != 0)
			out = xasprintf("no trusted issuer for '%s' (depth %d): "
			    "it is self-signed and not in the trust list", subj,
			    s->dead_depth);
		else if (s->dead_named == 0)
			out = xasprintf("no trusted issuer for '%s' (depth %d, "
			    "issuer '%s'): not in the trust list or the chain",
			    subj, s->dead_depth, iss);
		else
			out = xasprintf("no trusted issuer for '%s' (depth %d, "
			    "issuer '%s'): %d certificate%s of that name in the "
			    "trust list or the chain, none with the key that "
			    "signed it", subj, s->dead_depth, iss, s->dead_named,
			    s->dead_named == 1 ? "" : "s");
		free(iss);
	}
	free(subj);
	return out;
}

int
tls_path_build(STACK_OF(X509) *chain, const struct tls_path_params *p,
    STACK_OF(X509) **path, char **reason, struct tls_path_stats *st)
{
	struct search s;
	int i, ok = 0;

	*path = NULL;
	*reason = NULL;
	memset(&s, 0, sizeof s);
	s.p = p;
	if (sk_X509_num(chain) < 1) {
		*reason = xstrdup("the peer presented no certificate");
		return 0;
	}
	s.store = p->trust;
	if (s.store == NULL)
		s.store = X509_STORE_new();
	else
		X509_STORE_up_ref(s.store);
	s.look = X509_STORE_CTX_new();
	s.untrusted = sk_X509_new_null();
	for (i = 1; i < sk_X509_num(chain); i++)
		sk_X509_push(s.untrusted, sk_X509_value(chain, i));
	if (s.look == NULL || X509_STORE_CTX_init(s.look, s.store, NULL,
	    NULL) != 1) {
		*reason = xstrdup("the trust list cannot be searched (out of "
		    "memory)");
		goto out;
	}
	s.path[s.n++] = sk_X509_value(chain, 0);
	/* The peer's own certificate may be in the trust list. */
	if (is_trusted(&s, s.path[0]))
		ok = try_path(&s);
	if (!ok)
		ok = extend(&s);
	if (ok)
		*path = s.found;
	else
		*reason = failure(&s);
out:
	if (st != NULL) {
		st->sigs = s.sigs;
		st->paths = s.paths;
	}
	ERR_clear_error();
	free(s.why);
	X509_free(s.dead);
	sk_X509_free(s.untrusted);
	X509_STORE_CTX_free(s.look);
	X509_STORE_free(s.store);
	return ok;
}
