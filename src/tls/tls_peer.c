/*
 * tls_peer.c: chain, purpose, key size and name of a peer certificate.
 * The path is found and judged by tls_path (every candidate issuer, the
 * RFC 5280 rules, then X509_verify_cert on that path with our clock,
 * purpose and security level); the name by tls_name (RFC 5922).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "tls/tls_path.h"
#include "tls/tls_peer.h"
#include "util/xmalloc.h"

int
tls_peer_verify(STACK_OF(X509) *chain, X509_STORE *trust,
    const char *expected, const struct tls_peer_policy *p, time_t now,
    struct tls_peer_result *r)
{
	struct tls_path_params pp;
	struct tls_name_result nr;
	char *why = NULL;

	memset(r, 0, sizeof *r);
	memset(&pp, 0, sizeof pp);
	pp.trust = trust;
	pp.now = now != 0 ? now : time(NULL);
	pp.auth_level = p->security_level;
	pp.min_rsa_bits = p->min_rsa_bits > 0 ? p->min_rsa_bits : 2048;
	if (!p->relax_eku)
		pp.purpose = p->role == TLS_PEER_SERVER ?
		    X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
	if (!tls_path_build(chain, &pp, &r->path, &why, NULL)) {
		r->reason = why;
		return 0;
	}
	if (expected == NULL) {
		r->ok = 1;
		r->reason = xstrdup("chain verified (no name checked)");
		return 1;
	}
	if (tls_name_check(sk_X509_value(chain, 0), expected, &p->names,
	    &nr) == 1) {
		r->ok = 1;
		r->rule = nr.rule;
		r->reason = xasprintf("chain verified; name \"%s\" matched by %s",
		    expected, tls_name_rule_name(nr.rule));
	} else
		r->reason = xstrdup(nr.reason != NULL ? nr.reason :
		    "name check failed");
	tls_name_result_clear(&nr);
	return r->ok;
}

void
tls_peer_policy_from_conf(const struct conf *c, const struct conf_zone *z,
    enum tls_peer_role role, struct tls_peer_policy *p)
{
	memset(p, 0, sizeof *p);
	p->role = role;
	p->security_level = c->security_level;
	p->min_rsa_bits = z != NULL ? z->min_rsa_bits : 2048;
	if (z != NULL) {
		p->relax_eku = z->relax_eku;
		p->names.accept_wildcards = z->accept_wildcards;
		p->names.compat_cn_with_san = z->cn_compat;
	}
}

void
tls_peer_result_clear(struct tls_peer_result *r)
{
	free(r->reason);
	sk_X509_pop_free(r->path, X509_free);
	memset(r, 0, sizeof *r);
}
