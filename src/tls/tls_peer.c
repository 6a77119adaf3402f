/*
 * tls_peer.c: chain, purpose, key size and name of a peer certificate.
 * The chain is built by OpenSSL (X509_verify_cert) with our clock, purpose
 * and security level; our sentences name the certificate that failed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_peer.h"
#include "util/xmalloc.h"

static char *
subject_of(X509 *x)
{
	char *s = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	char *out = xstrdup(s != NULL ? s : "?");

	OPENSSL_free(s);
	return out;
}

/* RSA keys under min bits anywhere in the path; NULL when none. */
static char *
weak_key(STACK_OF(X509) *path, int min)
{
	int i;

	for (i = 0; i < sk_X509_num(path); i++) {
		X509 *x = sk_X509_value(path, i);
		EVP_PKEY *k = X509_get0_pubkey(x);
		char *s, *out;

		if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
		    EVP_PKEY_get_bits(k) >= min)
			continue;
		s = subject_of(x);
		out = xasprintf("certificate %s (depth %d) has an RSA key of "
		    "%d bits; at least %d are required", s, i,
		    EVP_PKEY_get_bits(k), min);
		free(s);
		return out;
	}
	return NULL;
}

int
tls_peer_verify(STACK_OF(X509) *chain, X509_STORE *trust,
    const char *expected, const struct tls_peer_policy *p, time_t now,
    struct tls_peer_result *r)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_VERIFY_PARAM *vp;
	struct tls_name_result nr;
	X509 *leaf;
	char *s, *why;
	int i, err, depth;

	memset(r, 0, sizeof *r);
	if (sk_X509_num(chain) < 1) {
		r->reason = xstrdup("the peer presented no certificate");
		goto out;
	}
	leaf = sk_X509_value(chain, 0);
	for (i = 1; i < sk_X509_num(chain); i++)
		sk_X509_push(untrusted, sk_X509_value(chain, i));
	X509_STORE_CTX_init(ctx, trust, leaf, untrusted);
	vp = X509_STORE_CTX_get0_param(ctx);
	if (now != 0)
		X509_VERIFY_PARAM_set_time(vp, now);
	X509_VERIFY_PARAM_set_auth_level(vp, p->security_level);
	if (!p->relax_eku)
		X509_STORE_CTX_set_purpose(ctx, p->role == TLS_PEER_SERVER ?
		    X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		depth = X509_STORE_CTX_get_error_depth(ctx);
		s = X509_STORE_CTX_get_current_cert(ctx) != NULL ?
		    subject_of(X509_STORE_CTX_get_current_cert(ctx)) :
		    subject_of(leaf);
		if (err == X509_V_ERR_INVALID_PURPOSE)
			r->reason = xasprintf("certificate %s (depth %d) is not "
			    "allowed for TLS %s authentication (extended key "
			    "usage lacks %s)", s, depth, p->role ==
			    TLS_PEER_SERVER ? "server" : "client",
			    p->role == TLS_PEER_SERVER ? "serverAuth" :
			    "clientAuth");
		else
			r->reason = xasprintf("certificate %s (depth %d): %s", s,
			    depth, X509_verify_cert_error_string(err));
		free(s);
		goto out;
	}
	r->path = X509_STORE_CTX_get1_chain(ctx);
	if ((why = weak_key(r->path, p->min_rsa_bits > 0 ? p->min_rsa_bits :
	    2048)) != NULL) {
		r->reason = why;
		goto out;
	}
	if (expected == NULL) {
		r->ok = 1;
		r->reason = xstrdup("chain verified (no name checked)");
		goto out;
	}
	if (tls_name_check(leaf, expected, &p->names, &nr) == 1) {
		r->ok = 1;
		r->rule = nr.rule;
		r->reason = xasprintf("chain verified; name \"%s\" matched by %s",
		    expected, tls_name_rule_name(nr.rule));
	} else
		r->reason = xstrdup(nr.reason != NULL ? nr.reason :
		    "name check failed");
	tls_name_result_clear(&nr);
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	return r->ok;
}

void
tls_peer_result_clear(struct tls_peer_result *r)
{
	free(r->reason);
	sk_X509_pop_free(r->path, X509_free);
	memset(r, 0, sizeof *r);
}
