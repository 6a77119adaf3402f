/*
 * rev_ocsp.c: OCSP requests and the checks on responses (RFC 6960 s.3.2
 * and s.4.2.2.2 for who may sign).  OpenSSL's OCSP_basic_verify does the
 * signature and the signer authorisation; the time checks are done here
 * against the caller's clock so that `sipedge-cert check --time` works.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rev/rev_ocsp.h"
#include "util/str.h"
#include "util/xmalloc.h"

const char *
rev_ocsp_status_name(enum rev_ocsp_status s)
{
	switch (s) {
	case REV_OCSP_GOOD:	return "good";
	case REV_OCSP_REVOKED:	return "revoked";
	case REV_OCSP_UNKNOWN:	return "unknown";
	case REV_OCSP_INVALID:	return "invalid";
	}
	return "?";
}

static char *
first_ocsp_url(X509 *cert)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
	char *out = NULL;
	int i;

	for (i = 0; i < sk_OPENSSL_STRING_num(urls) && out == NULL; i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);

		if (strncasecmp(u, "http://", 7) == 0 ||
		    strncasecmp(u, "https://", 8) == 0)
			out = xstrdup(u);
	}
	X509_email_free(urls);
	return out;
}

int
rev_ocsp_query_init(struct rev_ocsp_query *q, X509 *cert, X509 *issuer,
    int nonce, char **cause)
{
	unsigned char *der = NULL, *p;
	int n, i;

	memset(q, 0, sizeof *q);
	if ((q->id = OCSP_cert_to_id(EVP_sha1(), cert, issuer)) == NULL)
		goto fail;
	n = i2d_OCSP_CERTID(q->id, &der);
	if (n <= 0)
		goto fail;
	q->key = xmalloc((size_t)n * 2 + 1);
	for (i = 0, p = der; i < n; i++)
		snprintf(q->key + i * 2, 3, "%02x", p[i]);
	OPENSSL_free(der);
	der = NULL;
	q->req = OCSP_REQUEST_new();
	if (OCSP_request_add0_id(q->req, OCSP_CERTID_dup(q->id)) == NULL)
		goto fail;
	if (nonce && OCSP_request_add1_nonce(q->req, NULL, -1) != 1)
		goto fail;
	if ((n = i2d_OCSP_REQUEST(q->req, &der)) <= 0)
		goto fail;
	q->der = der;
	q->len = (size_t)n;
	q->url = first_ocsp_url(cert);
	ERR_clear_error();
	return 0;
fail:
	ERR_clear_error();
	*cause = xstrdup("cannot build the OCSP request");
	rev_ocsp_query_clear(q);
	return -1;
}

void
rev_ocsp_query_clear(struct rev_ocsp_query *q)
{
	OCSP_CERTID_free(q->id);
	OCSP_REQUEST_free(q->req);
	OPENSSL_free(q->der);
	free(q->key);
	free(q->url);
	memset(q, 0, sizeof *q);
}

static time_t
asn1_to_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* The last OpenSSL error reason, for messages. */
static const char *
ossl_why(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "unrecognised data";
}

static void invalid(struct rev_ocsp_answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
invalid(struct rev_ocsp_answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a->detail = xvasprintf(fmt, ap);
	va_end(ap);
	ERR_clear_error();
	a->status = REV_OCSP_INVALID;
}

/*
 * The times of an OCSP answer into a: thisUpdate not in the future,
 * nextUpdate not past, thisUpdate no older than max_age (when set), each
 * with skew allowed.  0, or -1 with a made invalid.
 */
static int
check_times(struct rev_ocsp_answer *a, const ASN1_GENERALIZEDTIME *thisupd,
    const ASN1_GENERALIZEDTIME *nextupd, time_t now, long skew, long max_age)
{
	char *t;

	a->this_update = asn1_to_time(thisupd);
	a->next_update = asn1_to_time(nextupd);
	if (a->this_update > now + skew) {
		t = str_time_iso_dup(a->this_update);
		invalid(a, "the OCSP response is from the future (thisUpdate "
		    "%s)", t);
		free(t);
		return -1;
	}
	if (nextupd != NULL && a->next_update < now - skew) {
		t = str_time_iso_dup(a->next_update);
		invalid(a, "the OCSP response is stale (nextUpdate %s)", t);
		free(t);
		return -1;
	}
	if (max_age > 0 && now - a->this_update > max_age) {
		t = str_time_iso_dup(a->this_update);
		invalid(a, "the OCSP response is too old (thisUpdate %s)", t);
		free(t);
		return -1;
	}
	return 0;
}

/* The certificate's status in a valid OCSP answer, into a. */
static void
set_status(struct rev_ocsp_answer *a, int status, int reason,
    const ASN1_GENERALIZEDTIME *rev)
{
	char *t;

	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		a->status = REV_OCSP_GOOD;
		a->detail = xstrdup("good according to OCSP");
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		a->status = REV_OCSP_REVOKED;
		a->revoked_at = asn1_to_time(rev);
		a->reason = reason;
		t = str_time_iso_dup(a->revoked_at);
		a->detail = xasprintf("revoked according to OCSP at %s (reason "
		    "%s)", t, reason >= 0 ? OCSP_crl_reason_str(reason) :
		    "none");
		free(t);
		break;
	default:
		a->status = REV_OCSP_UNKNOWN;
		a->detail = xstrdup("the OCSP responder does not know the "
		    "certificate");
		break;
	}
}

void
rev_ocsp_check(const struct rev_ocsp_query *q, const unsigned char *der,
    size_t len, STACK_OF(X509) *path, X509_STORE *trust, time_t now,
    long skew, long max_age, struct rev_ocsp_answer *a)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int st, status, reason = -1, nonce;

	memset(a, 0, sizeof *a);
	a->reason = -1;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		invalid(a, "the OCSP response cannot be parsed (%s)", ossl_why());
		goto out;
	}
	if ((st = OCSP_response_status(resp)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		invalid(a, "the OCSP responder answered %s",
		    OCSP_response_status_str(st));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		invalid(a, "the OCSP response holds no basic response (%s)",
		    ossl_why());
		goto out;
	}
	nonce = OCSP_check_nonce(q->req, bs);
	if (nonce == 0) {
		invalid(a, "the OCSP response carries another nonce than the "
		    "request (replayed?)");
		goto out;
	}
	if (OCSP_basic_verify(bs, path, trust, 0) != 1) {
		invalid(a, "the OCSP response is not signed by the issuer or a "
		    "responder it authorised (%s)", ossl_why());
		goto out;
	}
	if (OCSP_resp_find_status(bs, q->id, &status, &reason, &rev,
	    &thisupd, &nextupd) != 1) {
		invalid(a, "the OCSP response does not cover this certificate "
		    "(certID mismatch)");
		goto out;
	}
	if (check_times(a, thisupd, nextupd, now, skew, max_age) == -1)
		goto out;
	set_status(a, status, reason, rev);
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
}
