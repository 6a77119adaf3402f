/*
 * tls_check.c: checks of the server's own identity.  What is loaded is
 * judged here, not read: the files were read by the caller (tls_ctx.c,
 * sipedge-cert install).  Each finding is one sentence naming the file, so
 * that an operator can act on it without reading OpenSSL error codes.  A
 * certificate that is merely dated wrong is loaded with a warning: refusing
 * to start with it would turn an expiry into an outage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_check.h"
#include "tls/tls_name.h"
#include "tls/tls_path.h"
#include "tls/tls_pki.h"
#include "util/xmalloc.h"

/* Add one finding at loc (the setting that named the file) when known. */
static void
finding(struct diaglist *dl, enum diag_sev sev, const struct conf_loc *loc,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (loc != NULL && loc->file != NULL && loc->line > 0)
		diag_add(dl, sev, loc->file, loc->line, "%s", msg);
	else
		diag_add(dl, sev, NULL, 0, "%s", msg);
	free(msg);
}

/* Append item to the list *list, separated by sep. */
static void
list_join(char **list, const char *item, const char *sep)
{
	char *t;

	if (*list == NULL) {
		*list = xstrdup(item);
		return;
	}
	t = xasprintf("%s%s%s", *list, sep, item);
	free(*list);
	*list = t;
}

/* Append item to the ", "-separated list *list. */
static void
list_add(char **list, const char *item)
{
	list_join(list, item, ", ");
}

/* --- key ------------------------------------------------------------ */

/* The key must belong to the first certificate of the file. */
static void
check_key_match(const struct tls_check_input *in, struct diaglist *dl)
{
	X509 *x;
	char *subj;
	int i;

	if (X509_check_private_key(sk_X509_value(in->chain, 0), in->key) == 1)
		return;
	ERR_clear_error();
	for (i = 1; i < sk_X509_num(in->chain); i++) {
		x = sk_X509_value(in->chain, i);
		if (X509_check_private_key(x, in->key) != 1)
			continue;
		subj = pki_name_line(X509_get_subject_name(x));
		finding(dl, DIAG_ERROR, in->cert_loc, "the private key in %s "
		    "belongs to certificate %d of %s (%s), not to the first "
		    "one: the server certificate must come first in the file, "
		    "followed by its intermediate CA certificates", in->key_file,
		    i + 1, in->cert_file, subj);
		free(subj);
		ERR_clear_error();
		return;
	}
	ERR_clear_error();
	finding(dl, DIAG_ERROR, in->key_loc, "the private key in %s does not "
	    "match the certificate in %s; install the key that was generated "
	    "together with the certificate's request", in->key_file,
	    in->cert_file);
}

static void
check_key_size(const struct tls_check_input *in, struct diaglist *dl)
{
	int bits;

	if (EVP_PKEY_get_base_id(in->key) != EVP_PKEY_RSA)
		return;
	bits = EVP_PKEY_get_bits(in->key);
	if (bits < TLS_RSA_MIN_BITS)
		finding(dl, DIAG_ERROR, in->key_loc, "the RSA key in %s has %d "
		    "bits, fewer than the %d that sipedge requires (peers and "
		    "OpenSSL refuse such keys); generate a new key and "
		    "certificate of 2048 bits or more (sipedge-cert csr new)",
		    in->key_file, bits, TLS_RSA_MIN_BITS);
	else if (bits >= TLS_RSA_LARGE_BITS)
		finding(dl, DIAG_WARN, in->key_loc, "the RSA key in %s has %d "
		    "bits; some SIP TLS peers fail the handshake with keys this "
		    "large, 4096 bits are recommended", in->key_file, bits);
}

/* --- validity -------------------------------------------------------- */

static int
check_validity(const struct conf *c, const struct tls_check_input *in,
    X509 *leaf, time_t now, struct diaglist *dl)
{
	char *when;
	long long left;
	int alarms = 0;

	if (X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0) {
		when = pki_time_iso(X509_get0_notBefore(leaf));
		finding(dl, DIAG_WARN, in->cert_loc, "the certificate in %s is "
		    "not valid before %s; it is used anyway, but peers will "
		    "refuse it until then (is this host's clock right?)",
		    in->cert_file, when);
		free(when);
		alarms |= TLS_ALARM_NOT_YET_VALID;
	}
	left = pki_seconds_left(leaf, now);
	if (X509_cmp_time(X509_get0_notAfter(leaf), &now) <= 0) {
		when = pki_time_iso(X509_get0_notAfter(leaf));
		finding(dl, DIAG_WARN, in->cert_loc, "the certificate in %s "
		    "expired on %s; it is used anyway so that service goes on, "
		    "but peers will refuse it: install a renewed certificate",
		    in->cert_file, when);
		free(when);
		alarms |= TLS_ALARM_EXPIRED;
	} else if (c->expiry_warning_days > 0 &&
	    left < (long long)c->expiry_warning_days * 86400) {
		when = pki_time_iso(X509_get0_notAfter(leaf));
		finding(dl, DIAG_WARN, in->cert_loc, "the certificate in %s "
		    "expires on %s, in %lld day%s (tls.expiry_warning_days is "
		    "%d): renew it soon", in->cert_file, when, left / 86400,
		    left / 86400 == 1 ? "" : "s", c->expiry_warning_days);
		free(when);
		alarms |= TLS_ALARM_EXPIRING;
	}
	return alarms;
}

char *
tls_check_alarm_text(X509 *leaf, int bits, time_t now)
{
	char *out = NULL, *when, *t;
	long long left;

	if (bits & TLS_ALARM_EXPIRED) {
		when = pki_time_iso(X509_get0_notAfter(leaf));
		t = xasprintf("expired on %s", when);
		list_join(&out, t, "; ");
		free(t);
		free(when);
	}
	if (bits & TLS_ALARM_NOT_YET_VALID) {
		when = pki_time_iso(X509_get0_notBefore(leaf));
		t = xasprintf("not valid before %s", when);
		list_join(&out, t, "; ");
		free(t);
		free(when);
	}
	if (bits & TLS_ALARM_EXPIRING) {
		when = pki_time_iso(X509_get0_notAfter(leaf));
		left = pki_seconds_left(leaf, now) / 86400;
		t = xasprintf("expires on %s (in %lld day%s)", when, left,
		    left == 1 ? "" : "s");
		list_join(&out, t, "; ");
		free(t);
		free(when);
	}
	return out;
}

char *
tls_check_alarm_words(int bits)
{
	char *out = NULL;

	if (bits & TLS_ALARM_EXPIRED)
		list_join(&out, "expired", ",");
	if (bits & TLS_ALARM_NOT_YET_VALID)
		list_join(&out, "not-yet-valid", ",");
	if (bits & TLS_ALARM_EXPIRING)
		list_join(&out, "expiring", ",");
	return out != NULL ? out : xstrdup("");
}

/* --- extended key usage ---------------------------------------------- */

/* The first zone whose peers are verified over TLS, and how many there are. */
static const struct conf_zone *
mutual_tls_zone(const struct conf *c, size_t *np)
{
	const struct conf_zone *first = NULL;
	size_t i;

	*np = 0;
	for (i = 0; i < c->nzones; i++) {
		if (c->zones[i].transport != TP_TLS || !c->zones[i].tls_verify)
			continue;
		if (first == NULL)
			first = &c->zones[i];
		(*np)++;
	}
	return first;
}

static void
check_eku(const struct conf *c, const struct tls_check_input *in, X509 *leaf,
    struct diaglist *dl)
{
	const struct conf_zone *z;
	char *eku, more[64] = "";
	size_t n;

	if (pki_has_eku(leaf, NID_server_auth) == 0) {
		eku = pki_eku_line(leaf);
		finding(dl, DIAG_ERROR, in->cert_loc, "the certificate in %s "
		    "has an extendedKeyUsage without serverAuth (it lists: %s), "
		    "so peers refuse it as a TLS server certificate; it must be "
		    "issued again with serverAuth (and clientAuth)",
		    in->cert_file, eku);
		free(eku);
	}
	if (pki_has_eku(leaf, NID_client_auth) != 0 ||
	    (z = mutual_tls_zone(c, &n)) == NULL)
		return;
	if (n > 1)
		snprintf(more, sizeof more, " and %zu more zone%s", n - 1,
		    n > 2 ? "s" : "");
	eku = pki_eku_line(leaf);
	finding(dl, DIAG_WARN, in->cert_loc, "the certificate in %s has no "
	    "clientAuth in its extendedKeyUsage (it lists: %s) while zone '%s'%s "
	    "use%s mutual TLS: peers verifying it as a client will reject it",
	    in->cert_file, eku, z->name, more, n > 1 ? "" : "s");
	free(eku);
}

/* --- names ------------------------------------------------------------ */

/* Every commonName of x, each passed to fn. */
static void
each_cn(X509 *x, void (*fn)(const char *, size_t, void *), void *arg)
{
	X509_NAME *n = X509_get_subject_name(x);
	const ASN1_STRING *s;
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(n, NID_commonName, i)) >= 0) {
		s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
		fn((const char *)ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), arg);
	}
}

static void
add_if_wildcard(const char *name, size_t len, void *arg)
{
	char *t;

	if (memchr(name, '*', len) == NULL)
		return;
	t = xstrndup(name, len);
	list_add(arg, t);
	free(t);
}

static void
check_wildcards(const struct tls_check_input *in, X509 *leaf,
    struct diaglist *dl)
{
	GENERAL_NAMES *gens;
	char *found = NULL;
	int i;

	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			add_if_wildcard((const char *)ASN1_STRING_get0_data(
			    g->d.ia5), (size_t)ASN1_STRING_length(g->d.ia5),
			    &found);
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	each_cn(leaf, add_if_wildcard, &found);
	if (found == NULL)
		return;
	finding(dl, DIAG_WARN, in->cert_loc, "the certificate in %s names the "
	    "wildcard %s; peers following RFC 5922 do not accept wildcard "
	    "names, so it should name this node's FQDNs instead",
	    in->cert_file, found);
	free(found);
}

/* Whether nl holds name already (case-insensitive). */
static int
own_has(const struct tls_own_names *nl, const char *name)
{
	size_t i;

	for (i = 0; i < nl->n; i++)
		if (strcasecmp(nl->v[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Add name[0..len) under setting unless it is there already, empty or a
 * wildcard (no peer connects to "*.example.com"; check_wildcards warns).
 */
static void
own_push(struct tls_own_names *nl, const char *name, size_t len,
    const char *setting)
{
	char *n = xstrndup(name, len);

	if (*n == '\0' || strchr(n, '*') != NULL || own_has(nl, n)) {
		free(n);
		return;
	}
	nl->v = xreallocarray(nl->v, nl->n + 1, sizeof *nl->v);
	nl->v[nl->n].name = n;
	nl->v[nl->n].setting = xstrdup(setting);
	nl->n++;
}

/*
 * The host of a "sip:" URI (scheme in any case) that is a SIP domain
 * identity by RFC 5922 s.7.1: no user part, a host name (an IPv4 or a
 * bracketed IPv6 host is none).  Sets *host and *len; 0, or -1 when u is
 * no such identity.  tls_name.c judges what the certificate presents;
 * this only picks the configured names worth asking for.
 */
static int
sip_uri_host(const char *u, const char **host, size_t *len)
{
	unsigned char a[4];
	char ip[16];
	size_t n;

	if (strncasecmp(u, "sip:", 4) != 0 || strchr(u, '@') != NULL)
		return -1;
	u += 4;
	n = strcspn(u, ":;?");
	if (n == 0 || *u == '[')
		return -1;
	if (n < sizeof ip) {
		memcpy(ip, u, n);
		ip[n] = '\0';
		if (inet_pton(AF_INET, ip, a) == 1)
			return -1;
	}
	*host = u;
	*len = n;
	return 0;
}

void
tls_own_names_add(struct tls_own_names *nl, const char *entry,
    const char *setting)
{
	unsigned char a6[16];
	const char *host;
	size_t len;

	if (entry == NULL)
		return;
	if (strncasecmp(entry, "DNS:", 4) == 0 ||
	    strncasecmp(entry, "IP:", 3) == 0) {
		entry = strchr(entry, ':') + 1;
		own_push(nl, entry, strlen(entry), setting);
	} else if (strncasecmp(entry, "URI:", 4) == 0) {
		if (sip_uri_host(entry + 4, &host, &len) == 0)
			own_push(nl, host, len, setting);
	} else if (strchr(entry, ':') == NULL ||
	    inet_pton(AF_INET6, entry, a6) == 1)
		own_push(nl, entry, strlen(entry), setting);
}

void
tls_own_names_from_conf(struct tls_own_names *nl, const struct conf *c)
{
	size_t i;

	tls_own_names_add(nl, c->fqdn, "node.fqdn");
	if (c->cluster_fqdn != NULL) {
		tls_own_names_add(nl, c->cluster_fqdn, "node.cluster_fqdn");
		for (i = 0; i < c->cluster_peers.n; i++)
			tls_own_names_add(nl, c->cluster_peers.v[i],
			    "node.cluster_peers");
	}
	for (i = 0; i < c->extra_names.n; i++)
		tls_own_names_add(nl, c->extra_names.v[i], "tls.extra_names");
}

void
tls_own_names_clear(struct tls_own_names *nl)
{
	size_t i;

	if (nl == NULL)
		return;
	for (i = 0; i < nl->n; i++) {
		free(nl->v[i].name);
		free(nl->v[i].setting);
	}
	free(nl->v);
	nl->v = NULL;
	nl->n = 0;
}

static void
add_cn(const char *name, size_t len, void *arg)
{
	char *t = xasprintf("CN=%.*s", (int)len, name);

	list_add(arg, t);
	free(t);
}

/*
 * A presented identity as tls_name.c describes it ("DNS x", "CN x",
 * "sip URI sip:x") in the TYPE:VALUE form of the "it names" list.
 */
static char *
as_entry(const char *described)
{
	if (strncmp(described, "sip URI ", 8) == 0)
		return xasprintf("URI:%s", described + 8);
	if (strncmp(described, "CN ", 3) == 0)
		return xasprintf("CN=%s", described + 3);
	if (strncmp(described, "DNS ", 4) == 0)
		return xasprintf("DNS:%s", described + 4);
	return xstrdup(described);
}

/* The names refused, and what came close, while tls_check_names runs. */
struct refusals {
	char	*missing;	/* "name (setting), ..." */
	size_t	 n;
	char	*hidden;	/* DNS SANs a sip URI hides */
	char	*hidden_fix;	/* URI:sip:name for each */
	char	*hider;		/* the first sip URI that hides them */
	char	*cns;		/* CNs beside a subjectAltName */
	char	*cn_fix;	/* DNS:name for each */
	char	*wild;		/* wildcards that would cover a name */
};

static void
refusals_clear(struct refusals *rf)
{
	free(rf->missing);
	free(rf->hidden);
	free(rf->hidden_fix);
	free(rf->hider);
	free(rf->cns);
	free(rf->cn_fix);
	free(rf->wild);
}

/* Note one name refused with the result r of tls_name_check. */
static void
refused_name(struct refusals *rf, const struct tls_own_name *on,
    const struct tls_name_result *r)
{
	char *t, *e;

	t = xasprintf("%s (%s)", on->name, on->setting);
	list_add(&rf->missing, t);
	free(t);
	rf->n++;
	if (r->near_match == NULL)
		return;
	e = as_entry(r->near_match);
	switch (r->near) {
	case TLS_NAME_DNS_SAN:
		list_add(&rf->hidden, e);
		t = xasprintf("URI:sip:%s", on->name);
		list_add(&rf->hidden_fix, t);
		free(t);
		if (rf->hider == NULL && r->hidden_by != NULL)
			rf->hider = as_entry(r->hidden_by);
		break;
	case TLS_NAME_COMPAT_CN:
		list_add(&rf->cns, e);
		t = xasprintf("DNS:%s", on->name);
		list_add(&rf->cn_fix, t);
		free(t);
		break;
	case TLS_NAME_WILDCARD:
		list_add(&rf->wild, e);
		break;
	default:
		break;
	}
	free(e);
}

size_t
tls_check_names(X509 *x, const struct tls_own_names *nl, const char *what,
    const struct conf_loc *loc, struct diaglist *dl)
{
	struct refusals rf;
	struct tls_name_result r;
	char *names = NULL, *san, *msg, *t;
	size_t i, n;

	memset(&rf, 0, sizeof rf);
	for (i = 0; i < nl->n; i++) {
		/* NULL policy: the strict default every zone starts from. */
		if (tls_name_check(x, nl->v[i].name, NULL, &r) == 0)
			refused_name(&rf, &nl->v[i], &r);
		tls_name_result_clear(&r);
	}
	if ((n = rf.n) == 0)
		return 0;
	each_cn(x, add_cn, &names);
	san = pki_san_line(x);
	if (*san != '\0')
		list_add(&names, san);
	free(san);
	msg = xasprintf("%s does not name %s (it names %s); peers that check "
	    "the name will refuse connections to %s", what, rf.missing,
	    names != NULL ? names : "nothing", n > 1 ? "those names" :
	    "that name");
	if (rf.hidden != NULL) {
		t = xasprintf("%s; RFC 5922 s.7.1: a sip: URI subjectAltName "
		    "(%s) hides the DNS subjectAltNames, so %s %s; add %s to "
		    "the certificate (tls.extra_names) or leave the sip: URI "
		    "out", msg, rf.hider != NULL ? rf.hider : "URI:sip:",
		    rf.hidden, strchr(rf.hidden, ',') != NULL ?
		    "do not count" : "does not count", rf.hidden_fix);
		free(msg);
		msg = t;
	}
	if (rf.cns != NULL) {
		t = xasprintf("%s; RFC 5922 s.7.1: the common name is not used "
		    "when the certificate has subjectAltNames (only by peers "
		    "with cn_compat), so %s %s; add %s to the subjectAltNames",
		    msg, rf.cns, strchr(rf.cns, ',') != NULL ? "do not count" :
		    "does not count", rf.cn_fix);
		free(msg);
		msg = t;
	}
	if (rf.wild != NULL) {
		t = xasprintf("%s; RFC 5922 s.7.2: wildcards are not accepted, "
		    "so %s %s (only peers with accept_wildcards take it)", msg,
		    rf.wild, strchr(rf.wild, ',') != NULL ? "do not count" :
		    "does not count");
		free(msg);
		msg = t;
	}
	finding(dl, DIAG_WARN, loc, "%s", msg);
	free(msg);
	free(names);
	refusals_clear(&rf);
	return n;
}

static void
check_names(const struct conf *c, const struct tls_check_input *in,
    X509 *leaf, struct diaglist *dl)
{
	struct tls_own_names nl = { NULL, 0 };
	char *what = xasprintf("the certificate in %s", in->cert_file);

	tls_own_names_from_conf(&nl, c);
	tls_check_names(leaf, &nl, what, in->cert_loc, dl);
	tls_own_names_clear(&nl);
	free(what);
}

/* --- chain ------------------------------------------------------------ */

/*
 * The chain as a peer judges it: tls_path_build (every candidate issuer,
 * the RFC 5280 rules, server purpose, the node's security level), so that
 * the warning comes exactly when peers trusting tls.trust would refuse
 * it.  The leaf's dates, and its extendedKeyUsage when it lacks
 * serverAuth, have findings of their own (check_validity, check_eku).  An
 * issuer missing from the chain and the trust list is said the way an
 * operator fixes it (which certificate to add where); any other refusal
 * with the peer's reason, naming the certificate and the rule.
 */
static void
check_chain(const struct conf *c, const struct tls_check_input *in,
    time_t now, struct diaglist *dl)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null(), *built, *path = NULL;
	struct tls_path_params pp;
	char *subj = NULL, *iss = NULL, *tf, *why = NULL;
	X509 *last, *leaf = sk_X509_value(in->chain, 0);
	int i, err;

	for (i = 0; in->trust != NULL && i < sk_X509_num(in->trust); i++)
		X509_STORE_add_cert(store, sk_X509_value(in->trust, i));
	if (in->trust == NULL || sk_X509_num(in->trust) == 0)
		tf = xstrdup("tls.trust (no trust list is installed)");
	else
		tf = xasprintf("tls.trust (%s)", in->trust_file != NULL ?
		    in->trust_file : "the trust list");
	memset(&pp, 0, sizeof pp);
	pp.trust = store;
	pp.now = now;
	pp.auth_level = c->security_level;
	pp.min_rsa_bits = TLS_RSA_MIN_BITS;
	pp.leaf_dates_judged = 1;
	if (pki_has_eku(leaf, NID_server_auth) != 0)
		pp.purpose = X509_PURPOSE_SSL_SERVER;
	if (tls_path_build(in->chain, &pp, &path, &why, NULL) == 1)
		goto out;
	/* Which issuer is missing: OpenSSL's own search, dates aside. */
	for (i = 1; i < sk_X509_num(in->chain); i++)
		sk_X509_push(untrusted, sk_X509_value(in->chain, i));
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	err = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	built = X509_STORE_CTX_get0_chain(ctx);
	last = built != NULL && sk_X509_num(built) > 0 ?
	    sk_X509_value(built, sk_X509_num(built) - 1) : leaf;
	subj = pki_name_line(X509_get_subject_name(last));
	iss = pki_name_line(X509_get_issuer_name(last));
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		finding(dl, DIAG_WARN, in->cert_loc, "chain incomplete: in %s, "
		    "%s is issued by %s, which is neither in the chain nor in "
		    "%s; add the intermediate CA certificates to %s after the "
		    "server certificate, and the root CA to the trust list",
		    in->cert_file, subj, iss, tf, in->cert_file);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		finding(dl, DIAG_WARN, in->cert_loc, "chain incomplete: the "
		    "certificate in %s (%s) is self-signed and not in %s; peers "
		    "will not trust it", in->cert_file, subj, tf);
		break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		finding(dl, DIAG_WARN, in->cert_loc, "chain incomplete: the "
		    "chain in %s ends at the root CA %s, which is not in %s; "
		    "add that root to the trust list if it is the right one",
		    in->cert_file, subj, tf);
		break;
	default:
		finding(dl, DIAG_WARN, in->cert_loc, "the chain in %s is "
		    "refused by peers checking it against %s: %s",
		    in->cert_file, tf, why);
		break;
	}
out:
	free(subj);
	free(iss);
	free(tf);
	free(why);
	sk_X509_pop_free(path, X509_free);
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
}

/* --- all -------------------------------------------------------------- */

int
tls_check_identity(const struct conf *c, const struct tls_check_input *in,
    struct diaglist *dl)
{
	X509 *leaf = sk_X509_value(in->chain, 0);
	time_t now = in->now != 0 ? in->now : time(NULL);
	int alarms;

	check_key_match(in, dl);
	check_key_size(in, dl);
	alarms = check_validity(c, in, leaf, now, dl);
	check_eku(c, in, leaf, dl);
	check_wildcards(in, leaf, dl);
	if (!in->temporary) {
		check_names(c, in, leaf, dl);
		check_chain(c, in, now, dl);
	}
	return alarms;
}
