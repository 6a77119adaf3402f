/*
 * cert_check.c: sipedge-cert check, the daemon's verdict on a peer chain
 * from the command line: the same tls_peer_verify() for chain, purpose,
 * key size and name, and the same revocation engine (on a private event
 * loop, so OCSP and CDP fetches take the daemon's code path).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "rev/rev_crl.h"
#include "rev/rev_engine.h"
#include "tls/tls_ctx.h"
#include "tls/tls_peer.h"
#include "tls/tls_pki.h"
#include "tls/tls_rev.h"
#include "tools/cert.h"
#include "util/xmalloc.h"

struct outcome {
	struct event_base	*base;
	int			 done;
	struct rev_verdict	 v;
};

static void
usage(void)
{
	fprintf(stderr, "usage: sipedge-cert check --trust CA.pem --chain "
	    "chain.pem [--name PEERNAME]\n"
	    "         [--crl FILE]... [--ocsp] [--cdp] "
	    "[--fallback revoked|not-revoked]\n"
	    "         [--purpose server|client] [--time UNIX] [--wildcards] "
	    "[--json]\n"
	    "       sipedge-cert [-c CONFIG] check --zone NAME --chain "
	    "chain.pem [--name PEERNAME]\n");
}

/* A JSON string literal of s. */
static void
json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* A CRL the store refused: ignored, as the daemon does, with a warning. */
static void
crl_refused(const char *origin, const char *reason, void *arg)
{
	(void)arg;
	(void)origin;	/* the reason names it */
	fprintf(stderr, "sipedge-cert: warning: %s\n", reason);
}

static void
rev_done(const struct rev_verdict *v, void *arg)
{
	struct outcome *o = arg;

	o->v = *v;
	o->v.subject = xstrdup(v->subject);
	o->v.serial = xstrdup(v->serial);
	o->v.reason = xstrdup(v->reason);
	o->done = 1;
	if (o->base != NULL)
		event_base_loopbreak(o->base);
}

/* Read --crl FILE into the store; CERT_OK or CERT_USAGE (unreadable). */
static int
load_crl(struct rev_store *st, const char *path, STACK_OF(X509) *issuers)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	STACK_OF(X509) *certs = sk_X509_new_null();
	char *buf, *cause = NULL;
	size_t len;
	int i, rv = CERT_OK;

	if ((buf = pki_slurp_max(path, PKI_MAX_CRL_FILE, &len,
	    &cause)) == NULL ||
	    rev_crl_parse(path, (unsigned char *)buf, len,
	    REV_CRL_MAX_EXPANDED, crls, NULL, &cause) == -1) {
		cert_err("%s", cause);
		free(cause);
		free(buf);
		sk_X509_CRL_free(crls);
		sk_X509_free(certs);
		return CERT_USAGE;
	}
	/* A CRL signer's certificate may come in the file (rev_store.h). */
	rev_crl_parse_certs((unsigned char *)buf, len, certs);
	rev_store_add_certs(st, certs);
	sk_X509_pop_free(certs, X509_free);
	free(buf);
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);

		if (rev_store_add(st, crl, REV_SRC_CLI, path, issuers,
		    &cause) == -1) {
			/* A bad CRL is ignored, as the daemon does. */
			fprintf(stderr, "sipedge-cert: warning: %s\n", cause);
			free(cause);
			cause = NULL;
			X509_CRL_free(crl);
		}
	}
	sk_X509_CRL_free(crls);
	return rv;
}

int
cert_cmd_check(struct cert_env *env, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "chain", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "crl", required_argument, NULL, 'r' },
		{ "ocsp", no_argument, NULL, 'o' },
		{ "cdp", no_argument, NULL, 'd' },
		{ "fallback", required_argument, NULL, 'f' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "time", required_argument, NULL, 'T' },
		{ "wildcards", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "zone", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 }
	};
	const char *trustf = NULL, *chainf = NULL, *name = NULL, *zname = NULL;
	const struct conf_zone *zone = NULL;
	struct tls_identity *id = NULL;
	struct conf *c;
	size_t zi;
	const char **crlf = NULL;
	size_t ncrl = 0, k;
	struct tls_peer_policy pp;
	struct rev_policy rp;
	struct tls_peer_result pr;
	struct outcome o;
	STACK_OF(X509) *trust = NULL, *chain = NULL, *issuers = NULL;
	STACK_OF(X509_CRL) *embedded = NULL;
	X509_STORE *store = NULL;
	struct rev_store *rs = NULL;
	struct rev_fetcher *fetcher = NULL;
	struct rev_engine *engine = NULL;
	struct rev_fetch_limits lim = { 5000, 10000, 64 * 1024 * 1024, 3 };
	char *cause = NULL, *end;
	long long t = 0;
	int ch, json = 0, rv = CERT_USAGE, i, accepted;

	(void)env;
	memset(&pp, 0, sizeof pp);
	memset(&rp, 0, sizeof rp);
	memset(&o, 0, sizeof o);
	pp.role = TLS_PEER_SERVER;
	pp.security_level = 1;
	rp.skew = 300;
	rp.ocsp_nonce = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': trustf = optarg; break;
		case 'c': chainf = optarg; break;
		case 'n': name = optarg; break;
		case 'r':
			crlf = xreallocarray(crlf, ncrl + 1, sizeof *crlf);
			crlf[ncrl++] = optarg;
			rp.enabled = rp.use_crls = 1;
			break;
		case 'o': rp.enabled = rp.use_ocsp = 1; break;
		case 'd': rp.enabled = rp.use_crls = rp.allow_cdp = 1; break;
		case 'f':
			if (strcmp(optarg, "revoked") == 0)
				rp.fb_unknown = REV_FB_REVOKED;
			else if (strcmp(optarg, "not-revoked") == 0)
				rp.fb_unknown = REV_FB_NOT_REVOKED;
			else {
				cert_err("check: --fallback must be revoked or "
				    "not-revoked, not '%s'", optarg);
				goto out;
			}
			rp.fb_unreachable = rp.fb_nosource = rp.fb_unknown;
			break;
		case 'p':
			if (strcmp(optarg, "server") == 0)
				pp.role = TLS_PEER_SERVER;
			else if (strcmp(optarg, "client") == 0)
				pp.role = TLS_PEER_CLIENT;
			else {
				cert_err("check: --purpose must be server or "
				    "client, not '%s'", optarg);
				goto out;
			}
			break;
		case 'T':
			t = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || t <= 0) {
				cert_err("check: --time takes seconds since the "
				    "epoch, not '%s'", optarg);
				goto out;
			}
			break;
		case 'w': pp.names.accept_wildcards = 1; break;
		case 'j': json = 1; break;
		case 'z': zname = optarg; break;
		default:
			usage();
			goto out;
		}
	}
	if (optind != argc || chainf == NULL || (trustf == NULL) ==
	    (zname == NULL)) {
		if (optind != argc)
			cert_err("check: unexpected argument '%s'", argv[optind]);
		else if (chainf == NULL)
			cert_err("check: --chain is required");
		else
			cert_err("check: give either --trust FILE or --zone NAME "
			    "(with -c CONFIG)");
		usage();
		goto out;
	}
	embedded = sk_X509_CRL_new_null();
	if (zname != NULL) {
		/* The zone's policy and the daemon's own trust list and CRLs. */
		struct diaglist dl = { 0 };
		size_t d;

		if ((c = cert_conf(env)) == NULL) {
			rv = CERT_FAIL;
			goto out;
		}
		for (zi = 0; zi < c->nzones; zi++)
			if (strcmp(c->zones[zi].name, zname) == 0)
				zone = &c->zones[zi];
		if (zone == NULL) {
			cert_err("check: no zone named '%s' in %s", zname,
			    env->conf_path);
			goto out;
		}
		id = tls_identity_load(c, TLS_LOAD_CHECK, &dl);
		for (d = 0; d < dl.n; d++)
			if (id == NULL || dl.v[d].sev == DIAG_ERROR)
				fprintf(stderr, "%s\n", dl.v[d].text);
		diag_clear(&dl);
		if (id == NULL || id->ctx == NULL) {
			cert_err("check: the daemon's TLS identity cannot be "
			    "loaded from %s", env->conf_path);
			rv = CERT_FAIL;
			goto out;
		}
		tls_peer_policy_from_conf(c, zone, pp.role, &pp);
		rev_policy_from_conf(c, zone, &rp);
		if (name == NULL)
			name = zone->peer_name != NULL ? zone->peer_name :
			    zone->peers.n > 0 ? zone->peers.v[0] : NULL;
		/*
		 * The daemon's inputs, built by the code its gate uses: the
		 * trust store, the CRLs of tls.trust and manual_crl, and the
		 * copies of the distribution points it keeps in its cache.
		 */
		store = tls_rev_trust(id);
		trust = X509_STORE_get1_all_certs(store);
		rs = rev_store_new();
		tls_rev_load(rs, c, id, store, TLS_REV_IDENTITY |
		    TLS_REV_DP_CACHE, crl_refused, NULL);
	} else if ((trust = pki_read_certs(trustf, embedded, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		goto out;
	}
	if ((chain = pki_read_certs(chainf, NULL, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		goto out;
	}
	if (store == NULL) {
		store = X509_STORE_new();
		for (i = 0; i < sk_X509_num(trust); i++)
			X509_STORE_add_cert(store, sk_X509_value(trust, i));
	}
	if (t != 0)
		X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store),
		    (time_t)t);

	/* Every CRL source the command line names, verified on the way in. */
	issuers = sk_X509_dup(trust);
	for (i = 0; i < sk_X509_num(chain); i++)
		sk_X509_push(issuers, sk_X509_value(chain, i));
	if (rs == NULL) {
		rs = rev_store_new();
		while (sk_X509_CRL_num(embedded) > 0) {
			X509_CRL *crl = sk_X509_CRL_shift(embedded);

			if (rev_store_add(rs, crl, REV_SRC_TRUST, trustf,
			    issuers, &cause) == -1) {
				crl_refused(trustf, cause, NULL);
				free(cause);
				cause = NULL;
				X509_CRL_free(crl);
			}
		}
	}
	for (k = 0; k < ncrl; k++)
		if (load_crl(rs, crlf[k], issuers) != CERT_OK)
			goto out;

	accepted = tls_peer_verify(chain, store, name, &pp, (time_t)t, &pr);
	if (accepted && rp.enabled) {
		o.base = event_base_new();
		fetcher = rev_fetch_new(o.base, &lim);
		engine = rev_engine_new(o.base, fetcher, rs);
		rev_engine_check_chain(engine, pr.path, chain, store, &rp,
		    t != 0 ? (time_t)t : time(NULL), rev_done, &o);
		if (!o.done)
			event_base_dispatch(o.base);
		if (!o.done) {
			cert_err("check: the revocation check did not finish");
			tls_peer_result_clear(&pr);
			goto out;
		}
		if (o.v.result == REV_REVOKED)
			accepted = 0;
	}
	if (json) {
		printf("{\"result\": \"%s\", \"reason\": ", accepted ?
		    "accepted" : "rejected");
		json_str(stdout, !pr.ok ? pr.reason : o.done &&
		    o.v.result == REV_REVOKED ? o.v.reason : pr.reason);
		printf(", \"chain\": ");
		json_str(stdout, pr.reason);
		if (pr.ok && name != NULL) {
			printf(", \"name_rule\": ");
			json_str(stdout, tls_name_rule_name(pr.rule));
		}
		if (o.done) {
			printf(", \"revocation\": {\"result\": \"%s\", "
			    "\"source\": ", o.v.result == REV_GOOD ? "good" :
			    "revoked");
			json_str(stdout, o.v.source);
			printf(", \"fallback\": %s, \"subject\": ",
			    o.v.fallback ? "true" : "false");
			json_str(stdout, o.v.subject);
			printf(", \"serial\": ");
			json_str(stdout, o.v.serial);
			printf(", \"reason\": ");
			json_str(stdout, o.v.reason);
			printf("}");
		}
		printf(", \"path\": [");
		for (i = 0; i < sk_X509_num(pr.path); i++) {
			char *s = X509_NAME_oneline(X509_get_subject_name(
			    sk_X509_value(pr.path, i)), NULL, 0);

			printf("%s", i ? ", " : "");
			json_str(stdout, s);
			OPENSSL_free(s);
		}
		printf("]}\n");
	} else {
		if (!pr.ok)
			printf("rejected: %s\n", pr.reason);
		else if (o.done && o.v.result == REV_REVOKED && o.v.listed)
			printf("rejected: %s is revoked: %s\n", o.v.subject,
			    o.v.reason);
		else if (o.done && o.v.result == REV_REVOKED)
			printf("rejected: %s (depth %d): %s\n", o.v.subject,
			    o.v.depth, o.v.reason);
		else
			printf("accepted: %s\n", pr.reason);
		for (i = 0; i < sk_X509_num(pr.path); i++) {
			char *s = X509_NAME_oneline(X509_get_subject_name(
			    sk_X509_value(pr.path, i)), NULL, 0);

			printf("  path[%d]: %s\n", i, s);
			OPENSSL_free(s);
		}
		if (o.done)
			printf("  revocation: %s (source %s%s): %s\n",
			    o.v.result == REV_GOOD ? "good" : "revoked",
			    o.v.source, o.v.fallback ? ", fallback" : "",
			    o.v.reason);
		else if (pr.ok && zone != NULL)
			printf("  revocation: not checked (revocation.mode is "
			    "off, or the zone's revocation is false)\n");
		else if (pr.ok)
			printf("  revocation: not checked (no --crl, --ocsp "
			    "or --cdp)\n");
	}
	rv = accepted ? CERT_OK : CERT_FAIL;
	tls_peer_result_clear(&pr);
out:
	rev_verdict_clear(&o.v);
	rev_engine_free(engine);
	rev_fetch_free(fetcher);
	if (o.base != NULL)
		event_base_free(o.base);
	rev_store_free(rs);
	sk_X509_free(issuers);
	sk_X509_CRL_pop_free(embedded, X509_CRL_free);
	X509_STORE_free(store);
	tls_identity_free(id);
	sk_X509_pop_free(trust, X509_free);
	sk_X509_pop_free(chain, X509_free);
	free(crlf);
	return rv;
}
