/*
 * rev_decide.c: the revocation decision for one certificate from what
 * OCSP and the CRLs said (rev_decide(), pure: the unit tests exercise
 * it), the policy of a zone, and the verdict's fields.  rev_engine.c
 * gathers the inputs.  Declared in rev_engine.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "rev/rev_engine.h"
#include "util/xmalloc.h"

/* The words for what fallback f does, in a reason. */
static const char *
fb_word(enum rev_fallback f)
{
	return f == REV_FB_REVOKED ? "treated as revoked" :
	    "treated as not revoked";
}

void
rev_decide(const struct rev_policy *p, const struct rev_inputs *in,
    struct rev_cert_verdict *v)
{
	enum rev_fallback fb;
	const char *why = NULL;
	char *tmp = NULL;

	memset(v, 0, sizeof *v);
	if (!p->enabled) {
		v->result = REV_GOOD;
		v->source = "off";
		v->reason = xstrdup("revocation checks are off");
		return;
	}
	if (in->ocsp_asked && !in->ocsp_unreachable &&
	    (in->ocsp.status == REV_OCSP_GOOD ||
	    in->ocsp.status == REV_OCSP_REVOKED)) {
		v->result = in->ocsp.status == REV_OCSP_GOOD ? REV_GOOD :
		    REV_REVOKED;
		v->listed = v->result == REV_REVOKED;
		v->source = in->ocsp_cached ? "cache" : "ocsp";
		v->reason = xstrdup(in->ocsp.detail);
		return;
	}
	if (in->crl_looked && (in->crl.status == REV_CRL_GOOD ||
	    in->crl.status == REV_CRL_REVOKED ||
	    in->crl.status == REV_CRL_EXPIRED)) {
		v->source = in->crl.source == REV_SRC_CDP ? "cdp" : "crl";
		if (in->crl.status == REV_CRL_GOOD) {
			v->result = REV_GOOD;
			v->reason = xstrdup(in->crl.detail);
		} else {
			v->result = REV_REVOKED;
			v->listed = in->crl.status == REV_CRL_REVOKED;
			v->reason = in->crl.status == REV_CRL_EXPIRED ?
			    xasprintf("%s: treated as revoked", in->crl.detail) :
			    xstrdup(in->crl.detail);
		}
		return;
	}
	/* No source answered: which fallback applies, and why. */
	if (in->ocsp_asked && !in->ocsp_unreachable) {
		fb = p->fb_unknown;
		why = in->ocsp.detail;
		if (in->crl_looked && in->crl.status == REV_CRL_UNKNOWN)
			why = tmp = xasprintf("%s; %s", in->ocsp.detail,
			    in->crl.detail);
	} else if (in->crl_looked && in->crl.status == REV_CRL_UNKNOWN) {
		fb = p->fb_unknown;
		why = in->crl.detail;
	} else if (in->ocsp_unreachable || in->cdp_unreachable) {
		fb = p->fb_unreachable;
		why = tmp = xasprintf("%s unreachable (%s)", in->ocsp_unreachable ?
		    "OCSP responder" : "CRL distribution point",
		    in->fetch_error != NULL ? in->fetch_error : "no answer");
	} else {
		fb = p->fb_nosource;
		why = in->crl_looked ? in->crl.detail :
		    "no revocation source is enabled";
		if (in->crl_looked && !in->ocsp_asked && p->use_ocsp)
			why = tmp = xasprintf("no OCSP responder and %s",
			    in->crl.detail);
	}
	v->result = fb == REV_FB_REVOKED ? REV_REVOKED : REV_GOOD;
	v->fallback = 1;
	v->source = "fallback";
	v->reason = xasprintf("revocation status unknown: %s (fallback: %s)",
	    why, fb_word(fb));
	free(tmp);
}

void
rev_policy_from_conf(const struct conf *c, const struct conf_zone *z,
    struct rev_policy *p)
{
	enum rev_fallback fb = c->rev_fallback ? REV_FB_REVOKED :
	    REV_FB_NOT_REVOKED;

	memset(p, 0, sizeof *p);
	p->enabled = c->rev_mode && (z == NULL || z->revocation);
	p->use_ocsp = c->rev_use_ocsp;
	p->use_crls = c->rev_use_crls;
	p->allow_cdp = c->rev_allow_cdp;
	p->ocsp_nonce = c->rev_ocsp_nonce;
	p->skew = c->rev_clock_skew;
	p->ocsp_max_age = c->rev_ocsp_max_age;
	p->fb_unknown = p->fb_unreachable = p->fb_nosource = fb;
	if (z == NULL)
		return;
	if (z->fb_unknown >= 0)
		p->fb_unknown = (enum rev_fallback)z->fb_unknown;
	if (z->fb_unreachable >= 0)
		p->fb_unreachable = (enum rev_fallback)z->fb_unreachable;
	if (z->fb_nosource >= 0)
		p->fb_nosource = (enum rev_fallback)z->fb_nosource;
}

void
rev_verdict_clear(struct rev_verdict *v)
{
	free(v->subject);
	free(v->serial);
	free(v->reason);
	memset(v, 0, sizeof *v);
}
