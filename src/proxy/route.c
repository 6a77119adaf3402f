/*
 * route.c: search rules over one request-URI.
 *
 * The request-URI is split once (scheme, alias, port, the rest); each rule
 * is then a comparison of the alias with its pattern, and a match yields
 * the target zone with the URI rebuilt from the rewritten alias.  No loop,
 * no sockets, no logging: the proxy logs what the search tells it.
 */
#include "config.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/route.h"
#include "util/xmalloc.h"

/* Most groups a rewrite can name: \0 to \9. */
#define NGROUPS	10

struct route {
	const struct conf	*c;
	char			*ruri;		/* as given */
	char			*scheme;	/* "sip" or "sips", as written */
	char			*alias;		/* user@host, host in lower case */
	size_t			 alen;
	size_t			 host;		/* offset of the host in alias */
	size_t			 hostlen;
	char			*port;		/* ":5061" as written, or "" */
	char			*tail;		/* ";params?headers", or "" */
	char			*source_zone;
	char			*method;
	size_t			 next;		/* the next rule to look at */
	int			 done;		/* a stop rule's target given */
	const char		**zones;	/* targets given so far */
	char			**uris;
	size_t			 ntried;
	char			*skipped;
	char			*cur;		/* the next free byte of mem */
	char			 mem[];		/* the strings above, from
						   ruri to tail */
};

/* n bytes (of s, unless NULL) and a NUL carved from r->mem. */
static char *
carve(struct route *r, const char *s, size_t n)
{
	char *p = r->cur;

	if (s != NULL)
		memcpy(p, s, n);
	p[n] = '\0';
	r->cur += n + 1;
	return p;
}

/* Split r->ruri into scheme, alias, port and tail; 0, or -1 with *cause. */
static int
split_uri(struct route *r, char **cause)
{
	const char *s = r->ruri, *colon, *p, *at, *user_end = NULL, *h, *he;
	const char *pe;
	size_t ulen, i;

	colon = strchr(s, ':');
	if (colon == NULL) {
		*cause = xasprintf("the request-URI \"%s\" has no scheme", s);
		return -1;
	}
	if (!((colon - s == 3 && strncasecmp(s, "sip", 3) == 0) ||
	    (colon - s == 4 && strncasecmp(s, "sips", 4) == 0))) {
		*cause = xasprintf("the request-URI \"%s\" is not a sip or "
		    "sips URI", s);
		return -1;
	}
	p = colon + 1;
	if ((at = strchr(p, '@')) != NULL) {
		/* A password (user:password@host) is not part of the alias. */
		if ((user_end = memchr(p, ':', (size_t)(at - p))) == NULL)
			user_end = at;
		if (user_end == p) {
			*cause = xasprintf("the request-URI \"%s\" has an "
			    "empty user part", s);
			return -1;
		}
		h = at + 1;
	} else
		h = p;
	if (*h == '[') {
		if ((he = strchr(h, ']')) == NULL) {
			*cause = xasprintf("the request-URI \"%s\" has an "
			    "unterminated IPv6 reference", s);
			return -1;
		}
		he++;
	} else
		he = h + strcspn(h, ":;?");
	if (he == h || (*he != '\0' && strchr(":;?", *he) == NULL)) {
		*cause = xasprintf("the request-URI \"%s\" has no valid host",
		    s);
		return -1;
	}
	pe = *he == ':' ? he + strcspn(he, ";?") : he;

	ulen = user_end != NULL ? (size_t)(user_end - p) : 0;
	r->hostlen = (size_t)(he - h);
	r->host = ulen > 0 ? ulen + 1 : 0;
	r->alen = r->host + r->hostlen;
	r->alias = carve(r, NULL, r->alen);
	if (ulen > 0) {
		memcpy(r->alias, p, ulen);
		r->alias[ulen] = '@';
	}
	for (i = 0; i < r->hostlen; i++)
		r->alias[r->host + i] = (char)tolower((unsigned char)h[i]);
	r->alias[r->alen] = '\0';
	r->scheme = carve(r, s, (size_t)(colon - s));
	r->port = carve(r, he, (size_t)(pe - he));
	r->tail = carve(r, pe, strlen(pe));
	return 0;
}

struct route *
route_new(const struct conf *c, const char *ruri, const char *source_zone,
    const char *method, char **cause)
{
	size_t rl = strlen(ruri), zl = strlen(source_zone);
	size_t ml = strlen(method);
	/* ruri, zone, method; alias, scheme, port and tail are each at
	   most ruri's length together. */
	struct route *r = xcalloc(1, sizeof *r + 3 * rl + zl + ml + 7);

	r->c = c;
	r->cur = r->mem;
	r->ruri = carve(r, ruri, rl);
	r->source_zone = carve(r, source_zone, zl);
	r->method = carve(r, method, ml);
	if (split_uri(r, cause) == -1) {
		route_free(r);
		return NULL;
	}
	return r;
}

/*
 * Are the n bytes of the alias from off those of p?  The user part is
 * compared exactly, the host (already in lower case) without case.
 */
static int
same(const struct route *r, size_t off, const char *p, size_t n)
{
	size_t i;
	int ch;

	for (i = 0; i < n; i++) {
		ch = (unsigned char)p[i];
		if (off + i >= r->host)
			ch = tolower(ch);
		if ((unsigned char)r->alias[off + i] != ch)
			return 0;
	}
	return 1;
}

/* Does rule ru take this request?  For a regex, pm gets the groups. */
static int
matches(const struct route *r, const struct conf_rule *ru, regmatch_t *pm,
    size_t npm)
{
	size_t plen, i;

	if (ru->source_zone != NULL &&
	    strcmp(ru->source_zone, r->source_zone) != 0)
		return 0;
	if (ru->methods.n > 0) {
		for (i = 0; i < ru->methods.n; i++)
			if (strcmp(ru->methods.v[i], r->method) == 0)
				break;
		if (i == ru->methods.n)
			return 0;
	}
	plen = ru->pattern != NULL ? strlen(ru->pattern) : 0;
	switch (ru->match) {
	case RULE_ANY:
		return 1;
	case RULE_EXACT:
		return plen == r->alen && same(r, 0, ru->pattern, plen);
	case RULE_PREFIX:
		return plen <= r->alen && same(r, 0, ru->pattern, plen);
	case RULE_SUFFIX:
		return plen <= r->alen &&
		    same(r, r->alen - plen, ru->pattern, plen);
	case RULE_REGEX:
		/* The whole alias: leftmost-longest makes this exact. */
		return ru->re != NULL &&
		    regexec(ru->re, r->alias, npm, pm, 0) == 0 &&
		    pm[0].rm_so == 0 && (size_t)pm[0].rm_eo == r->alen;
	}
	return 0;
}

/* The rewrite template of a regex rule with its groups filled in. */
static char *
expand(const struct route *r, const char *tpl, const regmatch_t *pm,
    size_t npm)
{
	size_t len = 0, pass, g;
	const char *p;
	char *out = NULL;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			out = xmalloc(len + 1);
		len = 0;
		for (p = tpl; *p != '\0'; p++) {
			if (*p != '\\' || !isdigit((unsigned char)p[1])) {
				if (out != NULL)
					out[len] = *p;
				len++;
				continue;
			}
			g = (size_t)(*++p - '0');
			/* A group that took no part adds nothing. */
			if (g >= npm || pm[g].rm_so == -1)
				continue;
			if (out != NULL)
				memcpy(out + len, r->alias + pm[g].rm_so,
				    (size_t)(pm[g].rm_eo - pm[g].rm_so));
			len += (size_t)(pm[g].rm_eo - pm[g].rm_so);
		}
	}
	out[len] = '\0';
	return out;
}

/* "rule 100 (name)" for messages; caller frees. */
static char *
rule_label(const struct conf_rule *ru)
{
	if (ru->name != NULL)
		return xasprintf("rule %d (%s)", ru->priority, ru->name);
	return xasprintf("rule %d", ru->priority);
}

/* Take why (or NULL) as the reason the last matching rule gave nothing. */
static void
set_skipped(struct route *r, char *why)
{
	free(r->skipped);
	r->skipped = why;
}

/*
 * The request-URI rule ru sends: the alias rewritten, with the scheme,
 * parameters and headers of the request's URI, and its port when the
 * host stayed the same and the rewrite gave none.  NULL (and skipped set)
 * when the rewritten alias is not one.
 */
static char *
rewrite(struct route *r, const struct conf_rule *ru, const regmatch_t *pm,
    size_t npm)
{
	size_t plen = ru->pattern != NULL ? strlen(ru->pattern) : 0;
	size_t host, hostlen;
	char *alias, *uri, *label;
	int port, keep;

	switch (ru->match) {
	case RULE_PREFIX:
		alias = xasprintf("%s%s", ru->rewrite, r->alias + plen);
		break;
	case RULE_SUFFIX:
		alias = xasprintf("%.*s%s", (int)(r->alen - plen), r->alias,
		    ru->rewrite);
		break;
	case RULE_REGEX:
		alias = expand(r, ru->rewrite, pm, npm);
		break;
	default:
		alias = xstrdup(ru->rewrite);
		break;
	}
	if (conf_alias_parse(alias, strlen(alias), &host, &hostlen,
	    &port) == -1) {
		label = rule_label(ru);
		set_skipped(r, xasprintf("%s rewrote \"%s\" to \"%s\", which "
		    "is not user@host or host", label, r->alias, alias));
		free(label);
		free(alias);
		return NULL;
	}
	keep = port == 0 && hostlen == r->hostlen &&
	    strncasecmp(alias + host, r->alias + r->host, hostlen) == 0;
	uri = xasprintf("%s:%s%s%s", r->scheme, alias, keep ? r->port : "",
	    r->tail);
	free(alias);
	return uri;
}

int
route_next(struct route *r, struct route_target *t)
{
	const struct conf_rule *ru;
	regmatch_t pm[NGROUPS];
	size_t npm, i;
	char *uri, *label;

	set_skipped(r, NULL);
	while (!r->done && r->next < r->c->nrules) {
		ru = &r->c->rules[r->next++];
		npm = ru->re != NULL && ru->re->re_nsub + 1 < NGROUPS ?
		    ru->re->re_nsub + 1 : NGROUPS;
		if (!matches(r, ru, pm, npm))
			continue;
		if (ru->on_match == RULE_STOP)
			r->done = 1;
		if (ru->rewrite == NULL)
			uri = r->ruri;		/* not copied: route_free */
		else if ((uri = rewrite(r, ru, pm, npm)) == NULL)
			continue;
		for (i = 0; i < r->ntried; i++)
			if (strcmp(r->zones[i], ru->target_zone) == 0 &&
			    strcmp(r->uris[i], uri) == 0)
				break;
		if (i < r->ntried) {
			label = rule_label(ru);
			set_skipped(r, xasprintf("%s: zone %s was already "
			    "tried with %s", label, ru->target_zone, uri));
			free(label);
			if (uri != r->ruri)
				free(uri);
			continue;
		}
		r->zones = xreallocarray(r->zones, r->ntried + 1,
		    sizeof *r->zones);
		r->uris = xreallocarray(r->uris, r->ntried + 1,
		    sizeof *r->uris);
		r->zones[r->ntried] = ru->target_zone;
		r->uris[r->ntried++] = uri;
		t->rule = ru;
		t->zone = ru->target_zone;
		t->uri = uri;
		t->rewritten = strcmp(uri, r->ruri) != 0;
		return 1;
	}
	return 0;
}

size_t
route_count(const struct route *r)
{
	return r->ntried;
}

const char *
route_skipped(const struct route *r)
{
	return r->skipped;
}

const char *
route_alias(const struct route *r)
{
	return r->alias;
}

void
route_free(struct route *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ntried; i++)
		if (r->uris[i] != r->ruri)
			free(r->uris[i]);
	free(r->uris);
	free(r->zones);
	free(r->skipped);
	free(r);
}
