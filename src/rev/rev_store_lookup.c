/*
 * rev_store_lookup.c: the answer of the CRL store about one certificate.
 * A lookup takes every CRL that covers the certificate (its issuer,
 * directly or through an indirect CRL its distribution point names; the
 * distribution point, the kind of certificate), checks the CRL's signer
 * (the certificate's issuer, or another signer validated to the same
 * anchor, RFC 5280 s.6.3.3 f), applies the newest fitting delta to each
 * complete CRL, and adds up the reasons covered (onlySomeReasons) until
 * all are.  Every CRL of the issuer that could not be used is named, with
 * why, in the answer.  No I/O.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rev/rev_store.h"
#include "rev/rev_store_int.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* The name of CRL reason code reason (RFC 5280 s.5.3.1), "none" for -1. */
static const char *
rev_reason_name(int reason)
{
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise",
		"affiliationChanged", "superseded", "cessationOfOperation",
		"certificateHold", "?", "removeFromCRL", "privilegeWithdrawn",
		"aACompromise"
	};

	if (reason < 0 || reason > 10)
		return "none";
	return names[reason];
}

/* What the certificate says about the CRLs that may cover it. */
struct certinfo {
	X509		*cert;
	const X509_NAME	*issuer;
	int		 is_ca;
	int		 loaded;	/* the fields below are read */
	GENERAL_NAMES	*dpnames;	/* every distribution point name */
	unsigned	*dpreasons;	/* the reasons of each one's DP */
	STACK_OF(X509_NAME) *crlissuers; /* cRLIssuer of its DPs (shared) */
	int		 has_cdp;
};

/* Append the names of distribution point dpn (relative ones under base). */
static void
dpn_names(const DIST_POINT_NAME *dpn, const X509_NAME *base,
    GENERAL_NAMES *out)
{
	X509_NAME *nm;
	GENERAL_NAME *g;
	int i;

	if (dpn->type == 0) {
		for (i = 0; i < sk_GENERAL_NAME_num(dpn->name.fullname); i++)
			sk_GENERAL_NAME_push(out, GENERAL_NAME_dup(
			    sk_GENERAL_NAME_value(dpn->name.fullname, i)));
		return;
	}
	/* nameRelativeToCRLIssuer: the RDN appended to the CRL issuer. */
	nm = X509_NAME_dup(base);
	for (i = 0; i < sk_X509_NAME_ENTRY_num(dpn->name.relativename); i++)
		X509_NAME_add_entry(nm, sk_X509_NAME_ENTRY_value(
		    dpn->name.relativename, i), -1, i == 0 ? 0 : -1);
	g = GENERAL_NAME_new();
	GENERAL_NAME_set0_value(g, GEN_DIRNAME, nm);
	sk_GENERAL_NAME_push(out, g);
}

/* What a lookup needs of cert at once: its issuer, whether it is a CA. */
static void
certinfo_init(struct certinfo *ci, X509 *cert)
{
	memset(ci, 0, sizeof *ci);
	ci->cert = cert;
	ci->issuer = X509_get_issuer_name(cert);
	ci->is_ca = X509_check_ca(cert) == 1 &&
	    (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
}

/*
 * Read the certificate's distribution points, the first time a CRL needs
 * them (most CRLs have no IDP: a lookup in them does not pay for this).
 */
static void
certinfo_load(struct certinfo *ci)
{
	STACK_OF(DIST_POINT) *dps;
	int i, j, n, first;

	if (ci->loaded)
		return;
	ci->loaded = 1;
	ci->dpnames = sk_GENERAL_NAME_new_null();
	ci->crlissuers = sk_X509_NAME_new_null();
	dps = X509_get_ext_d2i(ci->cert, NID_crl_distribution_points, NULL,
	    NULL);
	ci->has_cdp = dps != NULL;
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		const X509_NAME *base = ci->issuer;

		for (j = 0; j < sk_GENERAL_NAME_num(dp->CRLissuer); j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->CRLissuer, j);

			if (g->type != GEN_DIRNAME)
				continue;
			if (base == ci->issuer)
				base = g->d.directoryName;
			sk_X509_NAME_push(ci->crlissuers,
			    X509_NAME_dup(g->d.directoryName));
		}
		first = sk_GENERAL_NAME_num(ci->dpnames);
		if (dp->distpoint != NULL)
			dpn_names(dp->distpoint, base, ci->dpnames);
		else
			for (j = 0; j < sk_GENERAL_NAME_num(dp->CRLissuer); j++)
				sk_GENERAL_NAME_push(ci->dpnames,
				    GENERAL_NAME_dup(sk_GENERAL_NAME_value(
				    dp->CRLissuer, j)));
		/* A DP with reasons gets only those from its CRLs (s.6.3.3 d). */
		n = sk_GENERAL_NAME_num(ci->dpnames);
		ci->dpreasons = xrealloc(ci->dpreasons, ((size_t)n + 1) *
		    sizeof *ci->dpreasons);
		for (j = first; j < n; j++)
			ci->dpreasons[j] = dp->reasons != NULL ?
			    rev_store_reason_bits(dp->reasons) : ALL_REASONS;
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
}

/* Free what certinfo_load() read. */
static void
certinfo_clear(struct certinfo *ci)
{
	sk_GENERAL_NAME_pop_free(ci->dpnames, GENERAL_NAME_free);
	free(ci->dpreasons);
	sk_X509_NAME_pop_free(ci->crlissuers, X509_NAME_free);
}

/*
 * Whether r may speak for certificates of ci's issuer: its own (the CRL
 * issuer is the certificate issuer), or through an indirect CRL whose
 * issuer is a cRLIssuer of the certificate's distribution points.
 */
static int
issuer_fits(const struct rec *r, struct certinfo *ci)
{
	int i;

	if (X509_NAME_cmp(r->issuer, ci->issuer) == 0)
		return 1;
	if (!r->indirect)
		return 0;
	certinfo_load(ci);
	for (i = 0; i < sk_X509_NAME_num(ci->crlissuers); i++)
		if (X509_NAME_cmp(sk_X509_NAME_value(ci->crlissuers, i),
		    r->issuer) == 0)
			return 1;
	return 0;
}

/* A distribution point name for messages. */
static char *
gn_text(const GENERAL_NAME *g)
{
	if (g->type == GEN_URI)
		return xstrndup((const char *)ASN1_STRING_get0_data(g->d.ia5),
		    (size_t)ASN1_STRING_length(g->d.ia5));
	if (g->type == GEN_DIRNAME)
		return rev_store_name_line(g->d.directoryName);
	return xstrdup("(a name)");
}

/*
 * Why r does not cover the certificate (RFC 5280 s.6.3.3 b), or NULL:
 * the kind of certificate (onlyContainsUserCerts, onlyContainsCACerts)
 * and the distribution point its issuingDistributionPoint names.  When it
 * covers it, *reasons: the reasons it covers for it (onlySomeReasons, and
 * the reasons of the certificate's distribution points it matched).
 */
static char *
scope_why(const struct rec *r, struct certinfo *ci, unsigned *reasons)
{
	GENERAL_NAMES *names;
	char *t, *why = NULL;
	unsigned dpmask = 0;
	int i, j, hit = 0;

	*reasons = r->reasons;
	if (r->idp == NULL)
		return NULL;
	if (r->idp->onlyuser && ci->is_ca)
		return xstrdup("it covers end-entity certificates only "
		    "(onlyContainsUserCerts) and this is a CA certificate");
	if (r->idp->onlyCA && !ci->is_ca)
		return xstrdup("it covers CA certificates only "
		    "(onlyContainsCACerts) and this is not a CA certificate");
	if (r->idp->distpoint == NULL)
		return NULL;
	certinfo_load(ci);
	names = sk_GENERAL_NAME_new_null();
	dpn_names(r->idp->distpoint, r->issuer, names);
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++)
		for (j = 0; j < sk_GENERAL_NAME_num(ci->dpnames); j++)
			if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(names, i),
			    sk_GENERAL_NAME_value(ci->dpnames, j)) == 0) {
				hit = 1;
				dpmask |= ci->dpreasons[j];
			}
	*reasons &= dpmask;
	if (hit && *reasons == 0)
		why = xstrdup("the certificate's distribution point it "
		    "matches and its onlySomeReasons have no reason in "
		    "common");
	if (!hit) {
		t = sk_GENERAL_NAME_num(names) > 0 ?
		    gn_text(sk_GENERAL_NAME_value(names, 0)) : xstrdup("?");
		why = xasprintf("its issuingDistributionPoint (%s) is not %s",
		    t, ci->has_cdp ? "among the certificate's CRL "
		    "distribution points" : "named by the certificate, which "
		    "has no CRL distribution point");
		free(t);
	}
	sk_GENERAL_NAME_pop_free(names, GENERAL_NAME_free);
	return why;
}

/* Append "; what" to *notes. */
static void __attribute__((format(printf, 2, 3)))
note(char **notes, const char *fmt, ...)
{
	va_list ap;
	char *s, *t;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (*notes == NULL) {
		*notes = s;
		return;
	}
	t = xasprintf("%s; %s", *notes, s);
	free(*notes);
	free(s);
	*notes = t;
}

/* Note that r is not used for this certificate, and why. */
static void
note_rec(char **notes, const struct rec *r, const char *why)
{
	char *d = rev_store_rec_desc(r);

	note(notes, "%s not used: %s", d, why);
	free(d);
}

/*
 * Whether signer validates to the anchor of sg at time now (its chain
 * built from the trust list, the peer's chain and the certificates that
 * came with CRLs).  *issuer: signer's issuer on that chain (up-referenced;
 * NULL when signer is the anchor itself).
 */
static int
validates(struct rev_store *st, X509 *signer, const struct rev_signers *sg,
    time_t now, X509 **issuer)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *unt = sk_X509_new_null(), *chain;
	int i, ok = 0;

	for (i = 0; i < sk_X509_num(sg->chain); i++)
		sk_X509_push(unt, sk_X509_value(sg->chain, i));
	for (i = 0; i < sk_X509_num(st->certs); i++)
		sk_X509_push(unt, sk_X509_value(st->certs, i));
	if (ctx != NULL && X509_STORE_CTX_init(ctx, sg->trust, signer, unt)) {
		X509_STORE_CTX_set_time(ctx, 0, now);
		if (X509_verify_cert(ctx) == 1 &&
		    (chain = X509_STORE_CTX_get0_chain(ctx)) != NULL &&
		    sk_X509_num(chain) > 0)
			ok = X509_cmp(sk_X509_value(chain,
			    sk_X509_num(chain) - 1), sg->anchor) == 0;
		if (ok && sk_X509_num(chain) > 1) {
			*issuer = sk_X509_value(chain, 1);
			X509_up_ref(*issuer);
		}
	}
	X509_STORE_CTX_free(ctx);
	sk_X509_free(unt);
	ERR_clear_error();
	return ok;
}

/* Whether x may sign CRLs: cRLSign when it has a keyUsage. */
static int
may_sign_crls(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0 ||
	    (X509_get_key_usage(x) & KU_CRL_SIGN) != 0;
}

/*
 * Whether signer x, issued by xi, is revoked by the CRLs held (its path
 * is validated revocation included, RFC 5280 s.6.3.3 f and s.6.1.3 a 3):
 * one level only, the CRLs that answer for x are taken as they are,
 * without a look at their own signers' status.  A status other than
 * revoked (good, unknown, no CRL) lets x sign.  1 with *why when revoked.
 */
static int
signer_revoked(struct rev_store *st, X509 *x, X509 *xi,
    const struct rev_signers *sg, time_t now, char **why)
{
	struct rev_crl_answer a;
	BIGNUM *bn;
	char *subj, *hex;
	int revoked;

	if (st->inner || xi == NULL)
		return 0;
	st->inner = 1;
	rev_store_lookup_signers(st, x, xi, sg, now, &a);
	st->inner = 0;
	revoked = a.status == REV_CRL_REVOKED;
	if (revoked) {
		subj = rev_store_name_line(X509_get_subject_name(x));
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		free(*why);
		*why = xasprintf("its signer's certificate %s (serial %s) is "
		    "revoked: %s", subj, hex != NULL ? hex : "?", a.detail);
		OPENSSL_free(hex);
		BN_free(bn);
		free(subj);
	}
	free(a.detail);
	return revoked;
}

/*
 * A signer of r other than the certificate's issuer (RFC 5280 s.6.3.3
 * f): a certificate named as r's issuer, with cRLSign, from the trust
 * list, the peer's chain or the certificates that came with CRLs, that
 * verifies r (when it waits for its signer) or holds the key that did,
 * validates to the anchor of the certificate's path and is not revoked
 * (signer_revoked).  1 when found; 0, with *revwhy when the only reason
 * is that such a signer is revoked.
 */
static int
other_signer(struct rev_store *st, struct rec *r, const struct rev_signers *sg,
    time_t now, char **revwhy)
{
	STACK_OF(X509) *all = sk_X509_new_null(), *anchors;
	char *why = NULL;
	int i, ok = 0;

	anchors = sg->trust != NULL ? X509_STORE_get1_all_certs(sg->trust) :
	    NULL;
	for (i = 0; i < sk_X509_num(anchors); i++)
		sk_X509_push(all, sk_X509_value(anchors, i));
	for (i = 0; i < sk_X509_num(sg->chain); i++)
		sk_X509_push(all, sk_X509_value(sg->chain, i));
	for (i = 0; i < sk_X509_num(st->certs); i++)
		sk_X509_push(all, sk_X509_value(st->certs, i));
	for (i = 0; i < sk_X509_num(all) && !ok && !r->refused; i++) {
		X509 *x = sk_X509_value(all, i), *xi = NULL;
		EVP_PKEY *pk;

		if (X509_NAME_cmp(X509_get_subject_name(x), r->issuer) != 0 ||
		    !may_sign_crls(x))
			continue;
		/* Verify with x, but keep it only if x validates. */
		if (r->pending != NULL && rev_store_tried_key(r, x))
			continue;
		if (r->pending != NULL && ((pk = X509_get0_pubkey(x)) == NULL ||
		    X509_CRL_verify(r->pending, pk) != 1)) {
			ERR_clear_error();
			rev_store_try_failed(r, x);
			continue;
		}
		if (r->pending == NULL && !rev_store_same_key(r, x))
			continue;
		if (!validates(st, x, sg, now, &xi) ||
		    signer_revoked(st, x, xi, sg, now, revwhy)) {
			X509_free(xi);
			continue;
		}
		X509_free(xi);
		/* The lookup of x's status may have verified r already. */
		if (r->pending != NULL) {
			ok = rev_store_verify_rec(r, x, &why) == 0;
			free(why);
			why = NULL;
		} else
			ok = !r->refused && rev_store_same_key(r, x);
	}
	if (ok) {
		free(*revwhy);
		*revwhy = NULL;
	}
	sk_X509_free(all);
	sk_X509_pop_free(anchors, X509_free);
	ERR_clear_error();
	return ok;
}

/*
 * Whether r may speak for the certificate: verified with the key of its
 * issuer (verifying it now if it waited for its issuer), or with that of
 * another signer validated as other_signer() says.  A CRL of the
 * certificate's issuer whose signature fails becomes a refusal; without
 * sg, one verified with another key (another CA of the same name) is left
 * alone, and an indirect CRL of another issuer counts when it was
 * verified when added (its issuer was among the issuers given).
 */
static int
rec_ready(struct rev_store *st, struct rec *r, const struct certinfo *ci,
    X509 *issuer, const struct rev_signers *sg, time_t now, char **notes)
{
	char *why = NULL, *t, *revwhy = NULL;
	int direct = X509_NAME_cmp(r->issuer, ci->issuer) == 0;

	if (r->pending != NULL) {
		if (direct && !rev_store_tried_key(r, issuer) &&
		    rev_store_verify_rec(r, issuer, &why) == 0)
			return 1;
		if (direct && why == NULL)
			why = xasprintf("its signature does not verify with the "
			    "key of %s", r->issuer_line);
		if (sg != NULL && other_signer(st, r, sg, now, &revwhy)) {
			free(why);
			return 1;
		}
		if (revwhy != NULL) {
			/* Not refused: the signer's status may change. */
			note_rec(notes, r, revwhy);
			free(revwhy);
			free(why);
			return 0;
		}
		if (!direct) {
			note_rec(notes, r, "no certificate of its issuer that "
			    "verifies it (with cRLSign, leading to the "
			    "certificate's trust anchor) is known: not in the "
			    "trust list, the peer's chain or the CRL files");
			return 0;
		}
		if (sg != NULL) {
			t = xasprintf("%s, nor with any other certificate of "
			    "that name with cRLSign that leads to the same "
			    "trust anchor", why);
			free(why);
			why = t;
		}
		if (r->awaiting) {
			/* It waits for a chain that brings its signer. */
			t = xasprintf("%s (it waits for a certificate that "
			    "verifies it: a peer's chain may bring one)", why);
			note_rec(notes, r, t);
			free(t);
			free(why);
			return 0;
		}
		note_rec(notes, r, why);
		rev_store_refuse_rec(st, r, why);
		return 0;
	}
	if (direct && rev_store_same_key(r, issuer))
		return 1;
	if (sg == NULL)
		return !direct;
	if (other_signer(st, r, sg, now, &revwhy))
		return 1;
	if (revwhy != NULL) {
		note_rec(notes, r, revwhy);
		free(revwhy);
		return 0;
	}
	note_rec(notes, r, direct ? "it is signed by another key than the "
	    "certificate's issuer's, and no certificate of its issuer with "
	    "that key and cRLSign leads to the certificate's trust anchor" :
	    "its signer's certificate does not lead to the certificate's "
	    "trust anchor (or may not sign CRLs)");
	return 0;
}

/*
 * The delta CRL to apply to complete CRL base (RFC 5280 s.5.2.4): same
 * issuer, key and scope, current, newer than base, and made on a base
 * no newer than it.  Deltas of that scope that do not fit are noted.
 */
static struct rec *
find_delta(struct rev_store *st, struct rec *base, const struct certinfo *ci,
    X509 *issuer, const struct rev_signers *sg, time_t now, char **notes)
{
	struct rec *d, *next, *best = NULL;
	char *t;

	for (d = st->head; d != NULL; d = next) {
		next = d->next;
		if (!d->delta || d->refused || d->unusable != NULL ||
		    d->scopelen != base->scopelen || (d->scopelen > 0 &&
		    memcmp(d->scope, base->scope, d->scopelen) != 0) ||
		    X509_NAME_cmp(d->issuer, base->issuer) != 0)
			continue;
		d->seen = st->gen;
		if (!rec_ready(st, d, ci, issuer, sg, now, notes))
			continue;
		if (d->keylen != base->keylen || memcmp(d->key, base->key,
		    d->keylen) != 0)
			continue;
		d->seen = st->gen;
		if (base->number == NULL) {
			note_rec(notes, d, "the complete CRL has no cRLNumber "
			    "to match its BaseCRLNumber");
			continue;
		}
		if (BN_cmp(d->base, base->number) > 0) {
			char *b = BN_bn2dec(base->number), *w;

			t = BN_bn2dec(d->base);
			w = xasprintf("it applies to complete CRL %s or newer "
			    "(BaseCRLNumber) and the complete CRL held is %s",
			    t != NULL ? t : "?", b != NULL ? b : "?");
			note_rec(notes, d, w);
			free(w);
			OPENSSL_free(t);
			OPENSSL_free(b);
			continue;
		}
		if (BN_cmp(d->number, base->number) <= 0)
			continue;	/* older than the complete CRL */
		if (d->next_update != 0 && now > d->next_update) {
			note_rec(notes, d, "it is past its nextUpdate");
			continue;
		}
		if (best == NULL || BN_cmp(d->number, best->number) > 0)
			best = d;
	}
	return best;
}

/* The names of the reasons in mask, comma-separated. */
static char *
reasons_text(unsigned mask)
{
	static const char *const names[] = { "", "keyCompromise",
		"cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", "privilegeWithdrawn",
		"aACompromise" };
	char *out = xstrdup(""), *t;
	int i;

	for (i = 1; i <= 8; i++) {
		if ((mask & (1u << i)) == 0)
			continue;
		t = xasprintf("%s%s%s", out, *out != '\0' ? ", " : "", names[i]);
		free(out);
		out = t;
	}
	return out;
}

/* d, then "; notes" when there are notes; frees d. */
static char *
with_notes(char *d, const char *notes)
{
	char *t;

	if (notes == NULL)
		return d;
	t = xasprintf("%s; %s", d, notes);
	free(d);
	return t;
}

void
rev_store_lookup(struct rev_store *st, X509 *cert, X509 *issuer, time_t now,
    struct rev_crl_answer *a)
{
	rev_store_lookup_signers(st, cert, issuer, NULL, now, a);
}

/* What a lookup gathers over the complete CRLs that cover a certificate. */
struct tally {
	struct rec	*good;		/* a current one (all reasons first) */
	struct rec	*gooddelta;	/* the delta applied to good */
	struct rec	*stale;		/* the one expired last */
	unsigned	 covered;	/* reasons covered by current ones */
	int		 ngood;
	char		*notes;		/* CRLs not used, and why */
};

/* Answer revoked: entry e of from (a complete or a delta CRL). */
static void
answer_revoked(struct rev_crl_answer *a, const struct rec *from,
    const struct ent *e)
{
	char *t = str_time_iso_dup((time_t)e->when);

	a->status = REV_CRL_REVOKED;
	a->revoked_at = (time_t)e->when;
	a->reason = e->reason;
	a->next_update = from->next_update;
	a->source = from->source;
	a->detail = xasprintf("revoked by the %s of %s (%s, %s) at %s, reason "
	    "%s", from->delta ? "delta CRL" : "CRL", from->issuer_line,
	    rev_source_name(from->source), from->origin, t,
	    rev_reason_name(e->reason));
	free(t);
}

/*
 * Look the certificate up in complete CRL r (and the newest delta that
 * fits it) and add what r says to tl.  1 when it is revoked there: *a is
 * the answer then.
 */
static int
lookup_rec(struct rev_store *st, struct rec *r, struct certinfo *ci,
    X509 *issuer, const struct rev_signers *sg, time_t now,
    struct tally *tl, struct rev_crl_answer *a)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(ci->cert);
	const struct rec *from;
	const struct ent *e;
	struct rec *d = NULL;
	unsigned mask;
	char *why;

	if (r->unusable != NULL) {
		note_rec(&tl->notes, r, r->unusable);
		return 0;
	}
	if (!rec_ready(st, r, ci, issuer, sg, now, &tl->notes))
		return 0;
	if ((why = scope_why(r, ci, &mask)) != NULL) {
		note_rec(&tl->notes, r, why);
		free(why);
		return 0;
	}
	if (r->next_update == 0 || now <= r->next_update)
		d = find_delta(st, r, ci, issuer, sg, now, &tl->notes);
	/* The delta speaks first: removeFromCRL there lifts a hold. */
	from = d;
	if (d == NULL ||
	    (e = rev_store_find_entry(d, serial, ci->issuer)) == NULL) {
		from = r;
		e = rev_store_find_entry(r, serial, ci->issuer);
	}
	if (e != NULL && e->reason != 8) {
		answer_revoked(a, from, e);
		return 1;
	}
	if (r->next_update != 0 && now > r->next_update) {
		if (tl->stale == NULL ||
		    r->next_update > tl->stale->next_update)
			tl->stale = r;
		return 0;
	}
	tl->covered |= mask;
	tl->ngood++;
	if (tl->good == NULL || (mask == ALL_REASONS &&
	    tl->good->reasons != ALL_REASONS)) {
		tl->good = r;
		tl->gooddelta = d;
	}
	return 0;
}

/* Answer good: the CRLs in tl cover every reason. */
static void
answer_good(struct rev_crl_answer *a, const struct tally *tl)
{
	const struct rec *good = tl->good;
	char *t;

	a->status = REV_CRL_GOOD;
	a->next_update = good->next_update;
	a->source = good->source;
	a->delta_used = tl->gooddelta != NULL;
	if (tl->gooddelta == NULL && good->fresh != NULL)
		snprintf(a->fresh_url, sizeof a->fresh_url, "%s", good->fresh);
	t = tl->gooddelta != NULL ? rev_store_rec_desc(tl->gooddelta) : NULL;
	a->detail = xasprintf("not in the CRL of %s (%s, %s)%s%s%s",
	    good->issuer_line, rev_source_name(good->source), good->origin,
	    t != NULL ? " nor in its " : "", t != NULL ? t : "",
	    tl->ngood > 1 ? " nor in the other CRLs that cover it" : "");
	free(t);
	a->detail = with_notes(a->detail, tl->notes);
}

/* The answer when the certificate is listed in no CRL that covers it. */
static void
answer_unlisted(struct rev_crl_answer *a, const struct tally *tl,
    const struct certinfo *ci)
{
	char *t;

	if (tl->covered == ALL_REASONS) {
		answer_good(a, tl);
	} else if (tl->stale != NULL) {
		t = str_time_iso_dup(tl->stale->next_update);
		a->status = REV_CRL_EXPIRED;
		a->next_update = tl->stale->next_update;
		a->source = tl->stale->source;
		a->detail = with_notes(xasprintf("CRL of %s expired at %s "
		    "(%s, %s)", tl->stale->issuer_line, t,
		    rev_source_name(tl->stale->source), tl->stale->origin),
		    tl->notes);
		free(t);
	} else if (tl->covered != 0) {
		t = reasons_text(ALL_REASONS & ~tl->covered);
		a->status = REV_CRL_UNKNOWN;
		a->source = tl->good->source;
		a->detail = with_notes(xasprintf("the current CRLs of %s that "
		    "cover it leave out some revocation reasons (onlySomeReasons"
		    " or the distribution point's reasons; not covered: %s)",
		    tl->good->issuer_line, t), tl->notes);
		free(t);
	} else if (tl->notes != NULL) {
		t = rev_store_name_line(ci->issuer);
		a->status = REV_CRL_UNKNOWN;
		a->detail = xasprintf("no usable CRL of %s: %s", t, tl->notes);
		free(t);
	} else {
		t = rev_store_name_line(ci->issuer);
		a->status = REV_CRL_NONE;
		a->detail = xasprintf("no CRL of %s", t);
		free(t);
	}
}

void
rev_store_lookup_signers(struct rev_store *st, X509 *cert, X509 *issuer,
    const struct rev_signers *sg, time_t now, struct rev_crl_answer *a)
{
	struct certinfo ci;
	struct tally tl;
	struct rec *r, *next;

	memset(a, 0, sizeof *a);
	memset(&tl, 0, sizeof tl);
	a->reason = -1;
	certinfo_init(&ci, cert);
	/* A signer's own status is looked up within a lookup: the same
	 * generation, so that the outer one's marks hold. */
	if (!st->inner)
		st->gen++;
	for (r = st->head; r != NULL; r = next) {
		next = r->next;
		if (r->delta || !issuer_fits(r, &ci))
			continue;
		if (lookup_rec(st, r, &ci, issuer, sg, now, &tl, a)) {
			free(tl.notes);
			certinfo_clear(&ci);
			return;
		}
	}
	/* Deltas that found no complete CRL to go with. */
	for (r = st->head; r != NULL; r = r->next)
		if (r->delta && r->seen != st->gen && issuer_fits(r, &ci))
			note_rec(&tl.notes, r, r->unusable != NULL ?
			    r->unusable : "a delta CRL is used only with a "
			    "complete CRL of its scope and key, and none is "
			    "held");
	answer_unlisted(a, &tl, &ci);
	free(tl.notes);
	certinfo_clear(&ci);
}
