/*
 * test_rev_decide.c: the revocation decision for one certificate, every
 * combination that matters: OCSP answers before CRLs, the expired-CRL
 * rule, the three fallbacks each both ways, and the policy from a
 * configuration with a zone's overrides.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "rev/rev_engine.h"

static struct rev_policy pol;

static int
setup(void **state)
{
	(void)state;
	memset(&pol, 0, sizeof pol);
	pol.enabled = pol.use_ocsp = pol.use_crls = 1;
	pol.fb_unknown = pol.fb_unreachable = pol.fb_nosource =
	    REV_FB_NOT_REVOKED;
	return 0;
}

/* Decide and check result, source, fallback and a piece of the reason. */
static void
want(const struct rev_inputs *in, enum rev_result r, const char *source,
    int fallback, const char *reason_part)
{
	struct rev_cert_verdict v;

	rev_decide(&pol, in, &v);
	assert_int_equal(v.result, r);
	assert_string_equal(v.source, source);
	assert_int_equal(v.fallback, fallback);
	/* "revoked" only when a source says so; a fallback says unknown. */
	assert_int_equal(v.listed, r == REV_REVOKED && !fallback &&
	    strstr(v.reason, "expired") == NULL);
	if (fallback && strncmp(v.reason, "revocation status unknown: ", 27))
		fail_msg("fallback reason \"%s\" does not say the status is "
		    "unknown", v.reason);
	if (strstr(v.reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", v.reason, reason_part);
	free(v.reason);
}

static void
test_off(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	pol.enabled = 0;
	want(&in, REV_GOOD, "off", 0, "revocation checks are off");
}

static void
test_ocsp_first(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	in.ocsp_asked = 1;
	in.ocsp.status = REV_OCSP_GOOD;
	in.ocsp.detail = "good according to OCSP";
	/* A CRL that says revoked is not consulted after a good OCSP answer. */
	in.crl_looked = 1;
	in.crl.status = REV_CRL_REVOKED;
	in.crl.detail = "revoked by the CRL";
	want(&in, REV_GOOD, "ocsp", 0, "good according to OCSP");
	in.ocsp_cached = 1;
	want(&in, REV_GOOD, "cache", 0, "good");
	in.ocsp.status = REV_OCSP_REVOKED;
	in.ocsp.detail = "revoked according to OCSP";
	want(&in, REV_REVOKED, "cache", 0, "revoked according to OCSP");
}

static void
test_crl_after_ocsp_without_answer(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	in.ocsp_asked = 1;
	in.ocsp.status = REV_OCSP_UNKNOWN;
	in.ocsp.detail = "unknown";
	in.crl_looked = 1;
	in.crl.status = REV_CRL_REVOKED;
	in.crl.source = REV_SRC_MANUAL;
	in.crl.detail = "revoked by the CRL of X";
	want(&in, REV_REVOKED, "crl", 0, "revoked by the CRL of X");
	in.crl.status = REV_CRL_GOOD;
	in.crl.source = REV_SRC_CDP;
	in.crl.detail = "not in the CRL of X";
	want(&in, REV_GOOD, "cdp", 0, "not in the CRL");
}

static void
test_expired_crl_revokes(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	in.crl_looked = 1;
	in.crl.status = REV_CRL_EXPIRED;
	in.crl.detail = "CRL of X expired at 2026-01-01T00:00:00Z";
	/* Even with the lenient fallback: the reference product's rule. */
	want(&in, REV_REVOKED, "crl", 0, "expired at 2026-01-01T00:00:00Z: "
	    "treated as revoked");
}

static void
test_fallback_unknown(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	in.ocsp_asked = 1;
	in.ocsp.status = REV_OCSP_INVALID;
	in.ocsp.detail = "the OCSP response is stale";
	in.crl_looked = 1;
	in.crl.status = REV_CRL_NONE;
	in.crl.detail = "no CRL of X";
	want(&in, REV_GOOD, "fallback", 1, "stale (fallback: treated as not revoked)");
	pol.fb_unknown = REV_FB_REVOKED;
	want(&in, REV_REVOKED, "fallback", 1, "stale (fallback: treated as revoked)");
	/* An unusable (delta) CRL is "unknown" too. */
	memset(&in, 0, sizeof in);
	in.crl_looked = 1;
	in.crl.status = REV_CRL_UNKNOWN;
	in.crl.detail = "no usable CRL of X: delta CRL 2 of X (file, d.crl) "
	    "not used: a delta CRL is used only with a complete CRL";
	want(&in, REV_REVOKED, "fallback", 1, "revocation status unknown: no "
	    "usable CRL of X: delta CRL 2 of X (file, d.crl) not used: a delta "
	    "CRL is used only with a complete CRL (fallback: treated as "
	    "revoked)");
	/* OCSP cannot say and the CRLs are unusable: both are named. */
	in.ocsp_asked = 1;
	in.ocsp.status = REV_OCSP_UNKNOWN;
	in.ocsp.detail = "the responder does not know it";
	want(&in, REV_REVOKED, "fallback", 1, "does not know it; no usable CRL "
	    "of X");
}

static void
test_fallback_unreachable(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	pol.fb_unknown = REV_FB_REVOKED;	/* must not be the one used */
	in.ocsp_asked = 1;
	in.ocsp_unreachable = 1;
	in.fetch_error = "http://127.0.0.1:9/ocsp: Connection refused";
	in.crl_looked = 1;
	in.crl.status = REV_CRL_NONE;
	in.crl.detail = "no CRL of X";
	want(&in, REV_GOOD, "fallback", 1, "OCSP responder unreachable "
	    "(http://127.0.0.1:9/ocsp: Connection refused) (fallback: treated "
	    "as not revoked)");
	pol.fb_unreachable = REV_FB_REVOKED;
	want(&in, REV_REVOKED, "fallback", 1, "(fallback: treated as revoked)");
	in.ocsp_asked = in.ocsp_unreachable = 0;
	in.cdp_fetched = in.cdp_unreachable = 1;
	in.fetch_error = "http://x/c.crl: HTTP status 404";
	want(&in, REV_REVOKED, "fallback", 1, "CRL distribution point "
	    "unreachable (http://x/c.crl: HTTP status 404)");
}

static void
test_fallback_nosource(void **state)
{
	struct rev_inputs in = { 0 };

	(void)state;
	in.crl_looked = 1;
	in.crl.status = REV_CRL_NONE;
	in.crl.detail = "no CRL of /CN=X";
	want(&in, REV_GOOD, "fallback", 1, "no OCSP responder and no CRL of "
	    "/CN=X (fallback: treated as not revoked)");
	pol.fb_nosource = REV_FB_REVOKED;
	want(&in, REV_REVOKED, "fallback", 1, "treated as revoked");
	pol.use_ocsp = 0;
	want(&in, REV_REVOKED, "fallback", 1, "no CRL of /CN=X (fallback: treated");
	memset(&in, 0, sizeof in);
	pol.use_crls = 0;
	want(&in, REV_REVOKED, "fallback", 1, "no revocation source is enabled");
}

static void
test_policy_from_conf(void **state)
{
	struct conf c;
	struct conf_zone z;
	struct rev_policy p;

	(void)state;
	memset(&c, 0, sizeof c);
	memset(&z, 0, sizeof z);
	c.rev_mode = 1;
	c.rev_use_ocsp = 1;
	c.rev_use_crls = 1;
	c.rev_fallback = 1;
	c.rev_clock_skew = 120;
	z.revocation = 1;
	z.fb_unknown = -1;
	z.fb_unreachable = 0;
	z.fb_nosource = -1;
	rev_policy_from_conf(&c, &z, &p);
	assert_true(p.enabled);
	assert_int_equal(p.skew, 120);
	assert_int_equal(p.fb_unknown, REV_FB_REVOKED);	/* global */
	assert_int_equal(p.fb_unreachable, REV_FB_NOT_REVOKED);	/* zone */
	assert_int_equal(p.fb_nosource, REV_FB_REVOKED);
	z.revocation = 0;
	rev_policy_from_conf(&c, &z, &p);
	assert_false(p.enabled);
	c.rev_mode = 0;
	rev_policy_from_conf(&c, NULL, &p);
	assert_false(p.enabled);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_off, setup),
		cmocka_unit_test_setup(test_ocsp_first, setup),
		cmocka_unit_test_setup(test_crl_after_ocsp_without_answer, setup),
		cmocka_unit_test_setup(test_expired_crl_revokes, setup),
		cmocka_unit_test_setup(test_fallback_unknown, setup),
		cmocka_unit_test_setup(test_fallback_unreachable, setup),
		cmocka_unit_test_setup(test_fallback_nosource, setup),
		cmocka_unit_test_setup(test_policy_from_conf, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
