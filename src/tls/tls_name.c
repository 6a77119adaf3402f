/*
 * tls_name.c: the RFC 5922 s.7 name check of a peer certificate (rules
 * in tls_name.h).  Pure: it reads the certificate it is given and the
 * expected name from our configuration, and touches nothing else.  Every
 * byte that came from the certificate is escaped before it reaches a
 * result string.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "tls/tls_name.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* At most this many identities are listed in a result, ... */
#define LIST_MAX	32
/* ... each cut at this many bytes. */
#define SHOW_MAX	256

/* A growable string. */
struct buf {
	char	*s;
	size_t	 len;
	size_t	 size;
};

/* The expected identity, parsed once. */
struct expect {
	int		 is_ip;
	size_t		 alen;			/* 4 or 16 when is_ip */
	unsigned char	 addr[16];
	size_t		 nlen;			/* host name without final dot */
	char		 name[TLS_NAME_MAX + 2];
};

/* One check in progress. */
struct check {
	const struct expect		*e;
	const struct tls_name_policy	*p;
	struct buf			 list;		/* presented identities */
	int				 nlisted;
	int				 nmore;
	int				 has_san;	/* extension present */
	int				 has_sip_id;	/* s.7.1 sip URI identity */
	char				*m_sip;		/* first match per rule */
	char				*m_dns;
	char				*m_wild;
	char				*m_cn;
	char				*m_compat;
	char				*m_ip;
	char				*n_dns;		/* near misses (tls_name.h) */
	char				*n_cn;
	char				*n_wild;
	char				*sip_id;	/* the first sip URI identity */
};

/* Append formatted text to b. */
static void __attribute__((format(printf, 2, 3)))
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	size_t n;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(s);
	if (b->len + n + 1 > b->size) {
		b->size = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->size);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
	free(s);
}

/*
 * Append peer bytes to b, printable ASCII as is and the rest (including
 * NUL and the backslash, so the output is unambiguous) as \xNN; cut at
 * SHOW_MAX bytes.
 */
static void
buf_add_escaped(struct buf *b, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, show = n > SHOW_MAX ? SHOW_MAX : n;
	char *o;

	/* Room for every byte as \xNN: one allocation, not one per byte. */
	if (b->len + show * 4 + 1 > b->size) {
		b->size = (b->len + show * 4 + 1) * 2;
		b->s = xrealloc(b->s, b->size);
	}
	o = b->s + b->len;
	for (i = 0; i < show; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			*o++ = (char)p[i];
		else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[p[i] >> 4];
			*o++ = hex[p[i] & 0x0f];
		}
	}
	*o = '\0';
	b->len = (size_t)(o - b->s);
	if (show < n)
		buf_add(b, "...(%zu bytes)", n);
}

/* "type value" as a new string, value escaped. */
static char *
describe(const char *type, const unsigned char *v, size_t n)
{
	struct buf b = { 0 };

	buf_add(&b, "%s ", type);
	buf_add_escaped(&b, v, n);
	return b.s;
}

/* ASCII lower case, independent of the locale. */
static unsigned char
lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Whether a[0..n) and b[0..n) are equal ignoring ASCII case. */
static int
same_ci(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/* Length of name without one trailing dot (RFC 1034 s.3.1 absolute form). */
static size_t
strip_dot(const unsigned char *v, size_t n)
{
	return n > 1 && v[n - 1] == '.' ? n - 1 : n;
}

/*
 * Whether v[0..n) (no trailing dot) is a host name by util/name.c's one
 * rule (no '_', a last label not all digits so that "192.0.2.001" is not
 * taken for a name, RFC 1123 s.2.1).  With allow_star, a "*" first label
 * passes too (presented names are checked for form later).
 */
static int
host_is_valid(const unsigned char *v, size_t n, int allow_star)
{
	return n <= TLS_NAME_MAX &&
	    name_dns_ok(v, n, allow_star ? NAME_WILDCARD : 0);
}

/*
 * Parse the expected identity s into e.  Returns 0, or -1 with a
 * sentence in *why (caller frees).
 */
static int
expect_parse(const char *s, struct expect *e, char **why)
{
	const unsigned char *u = (const unsigned char *)s;
	struct buf b = { 0 };
	char tmp[64];
	size_t n, i, k;
	int alen;

	memset(e, 0, sizeof *e);
	if (s == NULL || *s == '\0') {
		*why = xstrdup("the expected name is empty");
		return -1;
	}
	n = strlen(s);

	/* IP literals: IPv6 may come in brackets, as in a SIP URI. */
	if (s[0] == '[' && n < sizeof tmp && s[n - 1] == ']') {
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		if (name_ip_parse(tmp, e->addr) == 16) {
			e->is_ip = 1;
			e->alen = 16;
			return 0;
		}
	} else if ((alen = name_ip_parse(s, e->addr)) != 0) {
		e->is_ip = 1;
		e->alen = (size_t)alen;
		return 0;
	}

	for (i = 0; i < n; i++)
		if (u[i] >= 0x80)
			break;
	buf_add(&b, "the expected name \"");
	buf_add_escaped(&b, u, n);
	if (i < n)
		buf_add(&b, "\" is not ASCII: configure the A-label (xn--) "
		    "form of an internationalised name");
	else
		buf_add(&b, "\" is neither a host name nor an IP address");

	n = strip_dot(u, n);
	for (k = 0; k < n && u[k] >= 0x20 && u[k] < 0x7f; k++)
		continue;
	/* Say why in util/name.c's words, as conf and the CSR do (the
	 * sentence quotes the name as it is: printable names only). */
	if (k == n && !host_is_valid(u, n, 0)) {
		char *host = xstrndup(s, n), *sentence = NULL;

		if (name_host_check(host, 0, &sentence) == -1)
			buf_add(&b, ": %s", sentence);
		free(sentence);
		free(host);
	}
	if (i < n || !host_is_valid(u, n, 0)) {
		*why = b.s;
		return -1;
	}
	free(b.s);
	for (i = 0; i < n; i++)
		e->name[i] = (char)lower(u[i]);
	e->name[n] = '\0';
	e->nlen = n;
	return 0;
}

/* Whether presented name v[0..n) equals the expected host name. */
static int
name_eq(const struct expect *e, const unsigned char *v, size_t n)
{
	n = strip_dot(v, n);
	return n == e->nlen && same_ci(v, (const unsigned char *)e->name, n);
}

/*
 * Whether v[0..n) (no trailing dot) is a wildcard we accept: "*" as the
 * whole left-most label, no other '*', and at least two labels after it
 * (RFC 6125 s.6.4.3 rules 1 and 2; "*.com" would cover a whole TLD).
 */
static int
wild_form_ok(const unsigned char *v, size_t n)
{
	size_t i;
	int dots = 0;

	if (n < 2 || v[0] != '*' || v[1] != '.')
		return 0;
	for (i = 1; i < n; i++) {
		if (v[i] == '*')
			return 0;
		if (v[i] == '.') {
			if (i + 1 == n || v[i + 1] == '.')
				return 0;
			dots++;
		}
	}
	return dots >= 2;
}

/*
 * Whether wildcard v[0..n) (form checked) covers the expected name: "*"
 * stands for exactly one whole, non-empty left-most label (RFC 6125
 * s.6.4.3 rule 2: "*.example.com" covers foo.example.com, not
 * bar.foo.example.com nor example.com).
 */
static int
wild_match(const struct expect *e, const unsigned char *v, size_t n)
{
	const char *rest = strchr(e->name, '.');
	size_t rlen;

	if (rest == NULL)
		return 0;
	rlen = e->nlen - (size_t)(rest - e->name);
	return n - 1 == rlen &&
	    same_ci(v + 1, (const unsigned char *)rest, rlen);
}

/* List one identity: "type value (note)"; at most LIST_MAX of them. */
static void
list_add(struct check *c, const char *type, const unsigned char *v,
    size_t n, const char *note)
{
	if (c->nlisted == LIST_MAX) {
		c->nmore++;
		return;
	}
	if (c->nlisted++ > 0)
		buf_add(&c->list, ", ");
	buf_add(&c->list, "%s", type);
	if (v != NULL) {
		buf_add(&c->list, " ");
		buf_add_escaped(&c->list, v, n);
	}
	if (note != NULL)
		buf_add(&c->list, " (%s)", note);
}

/* Remember the first match of a rule. */
static void
found(char **slot, const char *type, const unsigned char *v, size_t n)
{
	if (*slot == NULL)
		*slot = describe(type, v, n);
}

/*
 * Split a URI: *scheme_sip says whether the scheme is "sip" (any case,
 * RFC 5922 s.7.1 note); for sip, the host goes to *host and *hlen.  Returns
 * NULL when the value is a SIP domain identity candidate, else the note
 * saying why it is not.
 */
static const char *
uri_host(const unsigned char *v, size_t n, int *scheme_sip, int *ip_host,
    const unsigned char **host, size_t *hlen)
{
	const unsigned char *h, *end = v + n;
	size_t i;

	*scheme_sip = 0;
	*ip_host = 0;
	*host = NULL;
	*hlen = 0;
	if (n >= 4 && same_ci(v, (const unsigned char *)"sip:", 4))
		*scheme_sip = 1;
	else
		return "scheme is not sip";
	if (memchr(v, '\0', n) != NULL)
		return "embedded NUL";
	/* s.7.1: "a value with a userpart identifies an individual user". */
	if (memchr(v, '@', n) != NULL)
		return "has a user part: not a domain identity";

	/* hostport = host [ ":" port ], then ";params" and "?headers". */
	h = v + 4;
	if (h < end && *h == '[') {
		const unsigned char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			return "malformed host";
		*ip_host = 1;
		*host = h;
		*hlen = (size_t)(rb - h) + 1;
	} else {
		for (i = 0; h + i < end; i++)
			if (h[i] == ':' || h[i] == ';' || h[i] == '?')
				break;
		*host = h;
		*hlen = i;
	}
	h += *hlen;
	if (h < end && *h == ':') {
		for (i = 1; h + i < end && h[i] >= '0' && h[i] <= '9'; i++)
			continue;
		if (i == 1 || i > 6)
			return "malformed port";
		h += i;
	}
	if (h < end && *h != ';' && *h != '?')
		return "malformed host";
	if (*ip_host)
		return "IP host: not a domain identity";
	if (*hlen > 0) {
		char tmp[16];

		if (*hlen < sizeof tmp) {
			memcpy(tmp, *host, *hlen);
			tmp[*hlen] = '\0';
			if (name_ip_parse(tmp, NULL) == 4) {
				*ip_host = 1;
				return "IP host: not a domain identity";
			}
		}
	}
	if (!host_is_valid(*host, strip_dot(*host, *hlen), 1))
		return "malformed host";
	return NULL;
}

/*
 * First pass over the subjectAltName: is there any s.7.1 sip URI identity?
 * It decides whether dNSNames count.  The first one found goes to *first
 * (described, caller frees).
 */
static int
has_sip_identity(const GENERAL_NAMES *gens, char **first)
{
	const GENERAL_NAME *g;
	const unsigned char *v, *host;
	size_t hlen;
	int i, sip, ip;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_URI)
			continue;
		v = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		if (uri_host(v, (size_t)ASN1_STRING_length(
		    g->d.uniformResourceIdentifier), &sip, &ip, &host,
		    &hlen) == NULL) {
			*first = describe("sip URI", v, (size_t)
			    ASN1_STRING_length(g->d.uniformResourceIdentifier));
			return 1;
		}
	}
	return 0;
}

/* A dNSName (or a CN used as one): exact, then wildcard.  Returns a note. */
static const char *
check_dns(struct check *c, const char *type, const unsigned char *v,
    size_t n, char **exact_slot, int wild_ok)
{
	size_t sn;

	if (memchr(v, '\0', n) != NULL)
		return "embedded NUL";
	if (c->e->is_ip)
		return "not used for an IP address";
	if (name_eq(c->e, v, n)) {
		found(exact_slot, type, v, n);
		return NULL;
	}
	if (memchr(v, '*', n) == NULL)
		return NULL;
	sn = strip_dot(v, n);
	if (!c->p->accept_wildcards) {
		/* What accept_wildcards would change, for the message. */
		if (wild_ok && wild_form_ok(v, sn) && wild_match(c->e, v, sn))
			found(&c->n_wild, type, v, n);
		return "wildcards not accepted";
	}
	if (!wild_ok)
		return "no wildcards in compatibility mode";
	if (!wild_form_ok(v, sn))
		return "wildcard form not accepted";
	if (wild_match(c->e, v, sn))
		found(&c->m_wild, type, v, n);
	return NULL;
}

/* One subjectAltName entry: list it and match it. */
static void
check_gen(struct check *c, const GENERAL_NAME *g)
{
	const unsigned char *v, *host;
	const char *note;
	char text[INET6_ADDRSTRLEN], len[48];
	size_t n, hlen;
	int sip, ip;

	switch (g->type) {
	case GEN_URI:
		v = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		n = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
		note = uri_host(v, n, &sip, &ip, &host, &hlen);
		if (note == NULL && c->e->is_ip)
			note = "not used for an IP address";
		if (note == NULL && memchr(host, '*', hlen) != NULL)
			note = "wildcard: never matched in a sip URI";
		if (note == NULL && name_eq(c->e, host, hlen))
			found(&c->m_sip, "sip URI", v, n);
		list_add(c, sip ? "sip URI" : "URI", v, n, note);
		break;
	case GEN_DNS:
		v = ASN1_STRING_get0_data(g->d.dNSName);
		n = (size_t)ASN1_STRING_length(g->d.dNSName);
		if (c->has_sip_id && memchr(v, '\0', n) == NULL) {
			note = "not used: the certificate has a sip URI identity";
			if (!c->e->is_ip && name_eq(c->e, v, n))
				found(&c->n_dns, "DNS", v, n);
		} else
			note = check_dns(c, "DNS", v, n, &c->m_dns, 1);
		list_add(c, "DNS", v, n, note);
		break;
	case GEN_IPADD:
		v = ASN1_STRING_get0_data(g->d.iPAddress);
		n = (size_t)ASN1_STRING_length(g->d.iPAddress);
		if (n != 4 && n != 16) {
			snprintf(len, sizeof len, "malformed: %zu bytes", n);
			list_add(c, "IP", NULL, 0, len);
			break;
		}
		inet_ntop(n == 4 ? AF_INET : AF_INET6, v, text, sizeof text);
		if (c->e->is_ip && n == c->e->alen &&
		    memcmp(v, c->e->addr, n) == 0)
			found(&c->m_ip, "IP", (const unsigned char *)text,
			    strlen(text));
		list_add(c, "IP", (const unsigned char *)text, strlen(text),
		    NULL);
		break;
	case GEN_EMAIL:
		v = ASN1_STRING_get0_data(g->d.rfc822Name);
		n = (size_t)ASN1_STRING_length(g->d.rfc822Name);
		list_add(c, "email", v, n, NULL);
		break;
	case GEN_DIRNAME:
		list_add(c, "directory name", NULL, 0, NULL);
		break;
	case GEN_RID:
		list_add(c, "registered ID", NULL, 0, NULL);
		break;
	default:
		list_add(c, "other name", NULL, 0, NULL);
		break;
	}
}

/* Every CN of the subject: list them and match them per s.7.1 step 2. */
static void
check_cns(struct check *c, const X509 *leaf)
{
	const X509_NAME *subj = X509_get_subject_name(leaf);
	X509_NAME_ENTRY *ne;
	unsigned char *u;
	const char *note;
	int pos = -1, n;

	while ((pos = X509_NAME_get_index_by_NID(subj, NID_commonName,
	    pos)) >= 0) {
		ne = X509_NAME_get_entry(subj, pos);
		if ((n = ASN1_STRING_to_UTF8(&u,
		    X509_NAME_ENTRY_get_data(ne))) < 0) {
			list_add(c, "CN", NULL, 0, "unreadable");
			continue;
		}
		if (c->e->is_ip)
			note = "not used for an IP address";
		else if (!c->has_san)
			note = check_dns(c, "CN", u, (size_t)n, &c->m_cn, 1);
		else if (c->p->compat_cn_with_san)
			note = check_dns(c, "CN", u, (size_t)n, &c->m_compat,
			    0);
		else {
			note = "not used: the certificate has a "
			    "subjectAltName";
			if (memchr(u, '\0', (size_t)n) == NULL &&
			    name_eq(c->e, u, (size_t)n))
				found(&c->n_cn, "CN", u, (size_t)n);
		}
		list_add(c, "CN", u, (size_t)n, note);
		OPENSSL_free(u);
	}
}

/*
 * The identity that matched, in the order of precedence of tls_name.h:
 * its slot in c (r->rule set), or NULL when none did.
 */
static char **
best_match(struct check *c, struct tls_name_result *r)
{
	if (c->m_ip != NULL) {
		r->rule = TLS_NAME_IP_SAN;
		return &c->m_ip;
	} else if (c->m_sip != NULL) {
		r->rule = TLS_NAME_SIP_URI_SAN;
		return &c->m_sip;
	} else if (c->m_dns != NULL) {
		r->rule = TLS_NAME_DNS_SAN;
		return &c->m_dns;
	} else if (c->m_cn != NULL) {
		r->rule = TLS_NAME_CN_NO_SAN;
		return &c->m_cn;
	} else if (c->m_wild != NULL) {
		r->rule = TLS_NAME_WILDCARD;
		return &c->m_wild;
	} else if (c->m_compat != NULL) {
		r->rule = TLS_NAME_COMPAT_CN;
		return &c->m_compat;
	}
	return NULL;
}

/*
 * No identity matched expected: the nearest miss, in the order of
 * precedence, into r (taken from c), and the reason, which names the rule
 * that kept the closest identity out, to act on.
 */
static void
explain_miss(struct check *c, struct tls_name_result *r, const char *expected)
{
	struct buf b = { 0 };

	if (c->n_dns != NULL) {
		r->near = TLS_NAME_DNS_SAN;
		r->near_match = c->n_dns;
		r->hidden_by = c->sip_id;
		c->n_dns = c->sip_id = NULL;
	} else if (c->n_cn != NULL) {
		r->near = TLS_NAME_COMPAT_CN;
		r->near_match = c->n_cn;
		c->n_cn = NULL;
	} else if (c->n_wild != NULL) {
		r->near = TLS_NAME_WILDCARD;
		r->near_match = c->n_wild;
		c->n_wild = NULL;
	}
	buf_add(&b, "no identity matches \"");
	buf_add_escaped(&b, (const unsigned char *)expected, strlen(expected));
	buf_add(&b, "\"; presented: %s", r->presented);
	if (r->near == TLS_NAME_DNS_SAN)
		buf_add(&b, "; %s is not used: RFC 5922 s.7.1 takes only the "
		    "sip URI identities when there are any (%s)",
		    r->near_match, r->hidden_by);
	else if (r->near == TLS_NAME_COMPAT_CN)
		buf_add(&b, "; %s is not used: RFC 5922 s.7.1 takes the CN "
		    "only from a certificate without subjectAltName (the "
		    "zone's cn_compat would accept it)", r->near_match);
	else if (r->near == TLS_NAME_WILDCARD)
		buf_add(&b, "; %s would cover it, but RFC 5922 s.7.2 accepts no "
		    "wildcards (the zone's accept_wildcards would)",
		    r->near_match);
	r->reason = b.s;
}

/* Free what a check found and nobody took. */
static void
check_clear(struct check *c)
{
	free(c->m_ip);
	free(c->m_sip);
	free(c->m_dns);
	free(c->m_cn);
	free(c->m_wild);
	free(c->m_compat);
	free(c->n_dns);
	free(c->n_cn);
	free(c->n_wild);
	free(c->sip_id);
}

/* Every identity leaf presents, checked against c's expected name. */
static void
check_leaf(struct check *c, const X509 *leaf)
{
	GENERAL_NAMES *gens;
	int i;

	/* s.7.1 step 2: "If and only if the subjectAltName does not appear". */
	c->has_san = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) >= 0;
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL && !c->e->is_ip)
		c->has_sip_id = has_sip_identity(gens, &c->sip_id);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		check_gen(c, sk_GENERAL_NAME_value(gens, i));
	if (c->has_san && gens == NULL)
		list_add(c, "subjectAltName", NULL, 0, "unreadable");
	GENERAL_NAMES_free(gens);
	check_cns(c, leaf);
	if (c->nmore > 0)
		buf_add(&c->list, ", and %d more", c->nmore);
}

int
tls_name_check(const X509 *leaf, const char *expected,
    const struct tls_name_policy *p, struct tls_name_result *r)
{
	static const struct tls_name_policy strict = { 0, 0 };
	struct check c;
	struct expect e;
	char *why = NULL, **slot = NULL;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	c.e = &e;
	c.p = p != NULL ? p : &strict;

	if (expect_parse(expected, &e, &why) == -1) {
		/* Still list what the certificate says, for the log. */
		memset(&e, 0, sizeof e);
	}
	if (leaf == NULL) {
		free(why);
		r->reason = xstrdup("there is no peer certificate");
		r->presented = xstrdup("none");
		return 0;
	}
	check_leaf(&c, leaf);
	r->presented = c.list.s != NULL ? c.list.s : xstrdup("none");
	if (why == NULL)
		slot = best_match(&c, r);
	if (slot != NULL) {
		r->ok = 1;
		r->matched = *slot;
		*slot = NULL;
	} else if (why != NULL)
		r->reason = why;
	else
		explain_miss(&c, r, expected);
	check_clear(&c);
	return r->ok;
}

void
tls_name_result_clear(struct tls_name_result *r)
{
	if (r == NULL)
		return;
	free(r->matched);
	free(r->reason);
	free(r->presented);
	free(r->near_match);
	free(r->hidden_by);
	memset(r, 0, sizeof *r);
}

const char *
tls_name_rule_name(enum tls_name_rule rule)
{
	switch (rule) {
	case TLS_NAME_NONE:
		return "none";
	case TLS_NAME_SIP_URI_SAN:
		return "sip URI SAN";
	case TLS_NAME_DNS_SAN:
		return "DNS SAN";
	case TLS_NAME_CN_NO_SAN:
		return "CN without SAN";
	case TLS_NAME_IP_SAN:
		return "IP SAN";
	case TLS_NAME_WILDCARD:
		return "wildcard";
	case TLS_NAME_COMPAT_CN:
		return "compatibility CN";
	}
	return "unknown";
}
