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

/* Everything one check reads, builds and finds. */
struct check {
	const char		*trustf, *chainf, *name, *zname;
	const char		**crlf;		/* --crl FILE... */
	size_t			 ncrl;
	int			 json;
	long long		 t;		/* --time, 0: now */
	const struct conf_zone	*zone;		/* --zone */
	struct tls_identity	*id;		/* --zone: the daemon's */
	struct tls_peer_policy	 pp;
	struct rev_policy	 rp;
	struct tls_peer_result	 pr;
	int			 verified;	/* pr is set */
	struct outcome		 o;
	STACK_OF(X509)		*trust, *chain, *issuers;
	STACK_OF(X509_CRL)	*embedded;	/* CRLs of the --trust file */
	X509_STORE		*store;
	struct rev_store	*rs;
	struct rev_fetcher	*fetcher;
	struct rev_engine	*engine;
};

/* The value options that can be wrong: 0, or -1 after a message. */
static int
parse_value(struct check *ck, int ch, const char *v)
{
	char *end;

	switch (ch) {
	case 'f':
		if (strcmp(v, "revoked") == 0)
			ck->rp.fb_unknown = REV_FB_REVOKED;
		else if (strcmp(v, "not-revoked") == 0)
			ck->rp.fb_unknown = REV_FB_NOT_REVOKED;
		else {
			cert_err("check: --fallback must be revoked or "
			    "not-revoked, not '%s'", v);
			return -1;
		}
		ck->rp.fb_unreachable = ck->rp.fb_nosource = ck->rp.fb_unknown;
		return 0;
	case 'p':
		if (strcmp(v, "server") == 0)
			ck->pp.role = TLS_PEER_SERVER;
		else if (strcmp(v, "client") == 0)
			ck->pp.role = TLS_PEER_CLIENT;
		else {
			cert_err("check: --purpose must be server or client, not "
			    "'%s'", v);
			return -1;
		}
		return 0;
	}
	ck->t = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || ck->t <= 0) {
		cert_err("check: --time takes seconds since the epoch, not '%s'",
		    v);
		return -1;
	}
	return 0;
}

/* The command line into ck: 0, or -1 after a message (CERT_USAGE). */
static int
parse_args(struct check *ck, int argc, char **argv)
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
	struct rev_policy *rp = &ck->rp;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': ck->trustf = optarg; break;
		case 'c': ck->chainf = optarg; break;
		case 'n': ck->name = optarg; break;
		case 'r':
			ck->crlf = xreallocarray(ck->crlf, ck->ncrl + 1,
			    sizeof *ck->crlf);
			ck->crlf[ck->ncrl++] = optarg;
			rp->enabled = rp->use_crls = 1;
			break;
		case 'o': rp->enabled = rp->use_ocsp = 1; break;
		case 'd': rp->enabled = rp->use_crls = rp->allow_cdp = 1; break;
		case 'f':
		case 'p':
		case 'T':
			if (parse_value(ck, ch, optarg) == -1)
				return -1;
			break;
		case 'w': ck->pp.names.accept_wildcards = 1; break;
		case 'j': ck->json = 1; break;
		case 'z': ck->zname = optarg; break;
		default:
			usage();
			return -1;
		}
	}
	if (optind != argc || ck->chainf == NULL || (ck->trustf == NULL) ==
	    (ck->zname == NULL)) {
		if (optind != argc)
			cert_err("check: unexpected argument '%s'", argv[optind]);
		else if (ck->chainf == NULL)
			cert_err("check: --chain is required");
		else
			cert_err("check: give either --trust FILE or --zone NAME "
			    "(with -c CONFIG)");
		usage();
		return -1;
	}
	return 0;
}

/*
 * --zone: the zone's policy and the daemon's own trust list and CRLs,
 * built by the code its gate uses (the trust store, the CRLs of tls.trust
 * and manual_crl, the copies of the distribution points in its cache).
 * CERT_OK, or the exit status after a message.
 */
static int
load_zone(struct check *ck, struct cert_env *env)
{
	struct diaglist dl = { 0 };
	struct conf *c;
	size_t i;

	if ((c = cert_conf(env)) == NULL)
		return CERT_FAIL;
	for (i = 0; i < c->nzones; i++)
		if (strcmp(c->zones[i].name, ck->zname) == 0)
			ck->zone = &c->zones[i];
	if (ck->zone == NULL) {
		cert_err("check: no zone named '%s' in %s", ck->zname,
		    env->conf_path);
		return CERT_USAGE;
	}
	ck->id = tls_identity_load(c, TLS_LOAD_CHECK, &dl);
	for (i = 0; i < dl.n; i++)
		if (ck->id == NULL || dl.v[i].sev == DIAG_ERROR)
			fprintf(stderr, "%s\n", dl.v[i].text);
	diag_clear(&dl);
	if (ck->id == NULL || ck->id->ctx == NULL) {
		cert_err("check: the daemon's TLS identity cannot be loaded from "
		    "%s", env->conf_path);
		return CERT_FAIL;
	}
	tls_peer_policy_from_conf(c, ck->zone, ck->pp.role, &ck->pp);
	rev_policy_from_conf(c, ck->zone, &ck->rp);
	if (ck->name == NULL)
		ck->name = ck->zone->peer_name != NULL ? ck->zone->peer_name :
		    ck->zone->peers.n > 0 ? ck->zone->peers.v[0] : NULL;
	ck->store = tls_rev_trust(ck->id);
	ck->trust = X509_STORE_get1_all_certs(ck->store);
	ck->rs = rev_store_new();
	tls_rev_load(ck->rs, c, ck->id, ck->store, TLS_REV_IDENTITY |
	    TLS_REV_DP_CACHE, crl_refused, NULL);
	return CERT_OK;
}

/* --trust FILE: its certificates as the store, its CRLs as the first
 * revocation source (verified on the way in). */
static void
trust_store(struct check *ck)
{
	char *cause = NULL;
	X509_CRL *crl;
	int i;

	ck->store = X509_STORE_new();
	for (i = 0; i < sk_X509_num(ck->trust); i++)
		X509_STORE_add_cert(ck->store, sk_X509_value(ck->trust, i));
	ck->rs = rev_store_new();
	while (sk_X509_CRL_num(ck->embedded) > 0) {
		crl = sk_X509_CRL_shift(ck->embedded);
		if (rev_store_add(ck->rs, crl, REV_SRC_TRUST, ck->trustf,
		    ck->issuers, &cause) == -1) {
			crl_refused(ck->trustf, cause, NULL);
			free(cause);
			cause = NULL;
			X509_CRL_free(crl);
		}
	}
}

/* Every input: CERT_OK, or the exit status after a message. */
static int
load_inputs(struct check *ck, struct cert_env *env)
{
	char *cause = NULL;
	size_t k;
	int i, rv;

	ck->embedded = sk_X509_CRL_new_null();
	if (ck->zname != NULL) {
		if ((rv = load_zone(ck, env)) != CERT_OK)
			return rv;
	} else if ((ck->trust = pki_read_certs(ck->trustf, ck->embedded,
	    &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_USAGE;
	}
	if ((ck->chain = pki_read_certs(ck->chainf, NULL, &cause)) == NULL) {
		cert_err("%s", cause);
		free(cause);
		return CERT_USAGE;
	}
	/* Every CRL source the command line names, verified on the way in. */
	ck->issuers = sk_X509_dup(ck->trust);
	for (i = 0; i < sk_X509_num(ck->chain); i++)
		sk_X509_push(ck->issuers, sk_X509_value(ck->chain, i));
	if (ck->store == NULL)
		trust_store(ck);
	if (ck->t != 0)
		X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(ck->store),
		    (time_t)ck->t);
	for (k = 0; k < ck->ncrl; k++)
		if (load_crl(ck->rs, ck->crlf[k], ck->issuers) != CERT_OK)
			return CERT_USAGE;
	return CERT_OK;
}

/* The revocation engine on a private loop; -1 when it did not finish. */
static int
check_revocation(struct check *ck)
{
	struct rev_fetch_limits lim = { 5000, 10000, 64 * 1024 * 1024, 3 };

	ck->o.base = event_base_new();
	ck->fetcher = rev_fetch_new(ck->o.base, &lim);
	ck->engine = rev_engine_new(ck->o.base, ck->fetcher, ck->rs);
	rev_engine_check_chain(ck->engine, ck->pr.path, ck->chain, ck->store,
	    &ck->rp, ck->t != 0 ? (time_t)ck->t : time(NULL), rev_done, &ck->o);
	if (!ck->o.done)
		event_base_dispatch(ck->o.base);
	if (!ck->o.done) {
		cert_err("check: the revocation check did not finish");
		return -1;
	}
	return 0;
}

/* The verdict as one JSON object. */
static void
print_json(const struct check *ck, int accepted)
{
	const struct rev_verdict *v = &ck->o.v;
	int i;

	printf("{\"result\": \"%s\", \"reason\": ", accepted ? "accepted" :
	    "rejected");
	json_str(stdout, !ck->pr.ok ? ck->pr.reason : ck->o.done &&
	    v->result == REV_REVOKED ? v->reason : ck->pr.reason);
	printf(", \"chain\": ");
	json_str(stdout, ck->pr.reason);
	if (ck->pr.ok && ck->name != NULL) {
		printf(", \"name_rule\": ");
		json_str(stdout, tls_name_rule_name(ck->pr.rule));
	}
	if (ck->o.done) {
		printf(", \"revocation\": {\"result\": \"%s\", \"source\": ",
		    v->result == REV_GOOD ? "good" : "revoked");
		json_str(stdout, v->source);
		printf(", \"fallback\": %s, \"subject\": ", v->fallback ?
		    "true" : "false");
		json_str(stdout, v->subject);
		printf(", \"serial\": ");
		json_str(stdout, v->serial);
		printf(", \"reason\": ");
		json_str(stdout, v->reason);
		printf("}");
	}
	printf(", \"path\": [");
	for (i = 0; i < sk_X509_num(ck->pr.path); i++) {
		char *s = X509_NAME_oneline(X509_get_subject_name(
		    sk_X509_value(ck->pr.path, i)), NULL, 0);

		printf("%s", i ? ", " : "");
		json_str(stdout, s);
		OPENSSL_free(s);
	}
	printf("]}\n");
}

/* The verdict as text: the result, the path, the revocation answer. */
static void
print_text(const struct check *ck)
{
	const struct rev_verdict *v = &ck->o.v;
	int i;

	if (!ck->pr.ok)
		printf("rejected: %s\n", ck->pr.reason);
	else if (ck->o.done && v->result == REV_REVOKED && v->listed)
		printf("rejected: %s is revoked: %s\n", v->subject, v->reason);
	else if (ck->o.done && v->result == REV_REVOKED)
		printf("rejected: %s (depth %d): %s\n", v->subject, v->depth,
		    v->reason);
	else
		printf("accepted: %s\n", ck->pr.reason);
	for (i = 0; i < sk_X509_num(ck->pr.path); i++) {
		char *s = X509_NAME_oneline(X509_get_subject_name(
		    sk_X509_value(ck->pr.path, i)), NULL, 0);

		printf("  path[%d]: %s\n", i, s);
		OPENSSL_free(s);
	}
	if (ck->o.done)
		printf("  revocation: %s (source %s%s): %s\n",
		    v->result == REV_GOOD ? "good" : "revoked", v->source,
		    v->fallback ? ", fallback" : "", v->reason);
	else if (ck->pr.ok && ck->zone != NULL)
		printf("  revocation: not checked (revocation.mode is off, or "
		    "the zone's revocation is false)\n");
	else if (ck->pr.ok)
		printf("  revocation: not checked (no --crl, --ocsp or "
		    "--cdp)\n");
}

/* Free what a check holds. */
static void
check_clear(struct check *ck)
{
	if (ck->verified)
		tls_peer_result_clear(&ck->pr);
	rev_verdict_clear(&ck->o.v);
	rev_engine_free(ck->engine);
	rev_fetch_free(ck->fetcher);
	if (ck->o.base != NULL)
		event_base_free(ck->o.base);
	rev_store_free(ck->rs);
	sk_X509_free(ck->issuers);
	sk_X509_CRL_pop_free(ck->embedded, X509_CRL_free);
	X509_STORE_free(ck->store);
	tls_identity_free(ck->id);
	sk_X509_pop_free(ck->trust, X509_free);
	sk_X509_pop_free(ck->chain, X509_free);
	free(ck->crlf);
}

int
cert_cmd_check(struct cert_env *env, int argc, char **argv)
{
	struct check ck;
	int rv, accepted;

	memset(&ck, 0, sizeof ck);
	ck.pp.role = TLS_PEER_SERVER;
	ck.pp.security_level = 1;
	ck.rp.skew = 300;
	ck.rp.ocsp_nonce = 1;
	if (parse_args(&ck, argc, argv) == -1)
		rv = CERT_USAGE;
	else if ((rv = load_inputs(&ck, env)) == CERT_OK) {
		accepted = tls_peer_verify(ck.chain, ck.store, ck.name, &ck.pp,
		    (time_t)ck.t, &ck.pr);
		ck.verified = 1;
		if (accepted && ck.rp.enabled && check_revocation(&ck) == -1)
			rv = CERT_USAGE;
		else {
			if (ck.o.done && ck.o.v.result == REV_REVOKED)
				accepted = 0;
			if (ck.json)
				print_json(&ck, accepted);
			else
				print_text(&ck);
			rv = accepted ? CERT_OK : CERT_FAIL;
		}
	}
	check_clear(&ck);
	return rv;
}
