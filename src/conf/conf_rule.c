/*
 * conf_rule.c: the search rules (search_rules = ( ... )): what each one
 * matches (exact, prefix, suffix, regex), its rewrite, its methods, and
 * the zones it names, checked once the zone files are loaded.
 */
#include "config.h"

#include <ctype.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "conf/conf_table.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* The word of a rule's match kind, for messages. */
static const char *
conf_rule_match_name(int match)
{
	switch (match) {
	case RULE_ANY:		return "any";
	case RULE_EXACT:	return "exact";
	case RULE_PREFIX:	return "prefix";
	case RULE_SUFFIX:	return "suffix";
	case RULE_REGEX:	return "regex";
	default:		return "?";
	}
}

/* The methods of RFC 3261 and its extensions, to catch "invite". */
static const char *const sip_methods[] = {
	"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK",
	"SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
	NULL
};

/* A token of RFC 3261 s.25.1: what a method name is made of. */
static int
is_token(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("-.!%*_+`'~", *s) == NULL)
			return 0;
	return 1;
}

/* Printable ASCII but space, '<', '>' and '"': what a URI may hold. */
static int
is_uri_char(int ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '<' && ch != '>' && ch != '"';
}

/* Is every character of s one a URI may hold? */
static int
is_uri_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_uri_char((unsigned char)*s))
			return 0;
	return 1;
}

int
conf_alias_parse(const char *a, size_t len, size_t *host, size_t *hostlen,
    int *port)
{
	const char *end = a + len, *at = memchr(a, '@', len), *h, *p;
	long v = 0;

	h = at != NULL ? at + 1 : a;
	if (at != NULL) {
		if (at == a || memchr(h, '@', (size_t)(end - h)) != NULL)
			return -1;
		for (p = a; p < at; p++)
			if (!is_uri_char((unsigned char)*p) || *p == ':')
				return -1;
	}
	if (h < end && *h == '[') {
		for (p = h + 1; p < end && (isxdigit((unsigned char)*p) ||
		    *p == ':' || *p == '.'); p++)
			;
		if (p == end || *p != ']' || p == h + 1)
			return -1;
		p++;
	} else {
		for (p = h; p < end && (isalnum((unsigned char)*p) ||
		    *p == '-' || *p == '.' || *p == '_'); p++)
			;
		if (p == h)
			return -1;
	}
	*host = (size_t)(h - a);
	*hostlen = (size_t)(p - h);
	*port = 0;
	if (p == end)
		return 0;
	if (*p++ != ':' || p == end || end - p > 5)
		return -1;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* The pattern of a rule: compiled when a regex, checked otherwise. */
static void
check_pattern(struct loader *ld, struct conf_rule *r, config_setting_t *e,
    const char *prefix)
{
	config_setting_t *ps = config_setting_get_member(e, "pattern");
	const char *p;
	char buf[256];
	size_t h, hl;
	int rc, port;

	if (r->match == RULE_ANY) {
		if (ps != NULL)
			conf_err_at(ld, ps, "%s.pattern is not used with match = "
			    "\"any\"; remove it or choose another match", prefix);
		return;
	}
	if (r->match < 0)
		return;		/* missing or wrong: already reported */
	if (ps == NULL) {
		conf_err_at(ld, e, "%s: match = \"%s\" needs a pattern", prefix,
		    conf_rule_match_name(r->match));
		return;
	}
	if (r->pattern == NULL)
		return;
	p = r->pattern + (r->match == RULE_REGEX && r->pattern[0] == '^');
	if (strncasecmp(p, "sip:", 4) == 0 || strncasecmp(p, "sips:", 5) == 0) {
		conf_err_at(ld, ps, "%s.pattern = \"%s\" starts with a URI scheme, "
		    "but rules match the request-URI without it (user@host): "
		    "leave out \"%.*s\"", prefix, r->pattern,
		    (int)(strchr(p, ':') - p + 1), p);
		return;
	}
	if (r->match == RULE_REGEX) {
		r->re = xmalloc(sizeof *r->re);
		if ((rc = regcomp(r->re, r->pattern, REG_EXTENDED)) != 0) {
			regerror(rc, r->re, buf, sizeof buf);
			free(r->re);
			r->re = NULL;
			conf_err_at(ld, ps, "%s.pattern = \"%s\" is not a valid "
			    "regular expression: %s", prefix, r->pattern, buf);
		}
		return;
	}
	if (!is_uri_text(r->pattern))
		conf_err_at(ld, ps, "%s.pattern = \"%s\" must not contain spaces, "
		    "control characters, '<', '>', '\"' or non-ASCII "
		    "characters", prefix, r->pattern);
	else if (r->match == RULE_EXACT && (conf_alias_parse(r->pattern,
	    strlen(r->pattern), &h, &hl, &port) == -1 || port != 0))
		conf_err_at(ld, ps, "%s.pattern = \"%s\" can never match: the alias "
		    "of a request-URI is user@host or host, without a port",
		    prefix, r->pattern);
}

/* The rewrite of a rule: \0..\9 only for a regex, and groups it has. */
static void
check_rewrite(struct loader *ld, struct conf_rule *r, config_setting_t *e,
    const char *prefix)
{
	config_setting_t *s = config_setting_get_member(e, "rewrite");
	size_t ngroups = r->re != NULL ? r->re->re_nsub : 0, h, hl;
	const char *p;
	int port;

	if (r->rewrite == NULL || r->match < 0)
		return;
	if (r->match == RULE_ANY) {
		conf_err_at(ld, s, "%s.rewrite cannot be used with match = \"any\", "
		    "which matches nothing to replace; use match = \"regex\" "
		    "and pattern = \"(.*)\"", prefix);
		return;
	}
	if (!is_uri_text(r->rewrite)) {
		conf_err_at(ld, s, "%s.rewrite = \"%s\" must not contain spaces, "
		    "control characters, '<', '>', '\"' or non-ASCII "
		    "characters", prefix, r->rewrite);
		return;
	}
	for (p = r->rewrite; *p != '\0'; p++) {
		if (*p != '\\')
			continue;
		if (!isdigit((unsigned char)p[1])) {
			conf_err_at(ld, s, "%s.rewrite = \"%s\": a backslash must be "
			    "followed by a digit, the number of a group of the "
			    "pattern (\\0 for all of it)", prefix, r->rewrite);
			return;
		}
		p++;
		if (r->match != RULE_REGEX) {
			conf_err_at(ld, s, "%s.rewrite = \"%s\" refers to \\%c, but "
			    "only a regex pattern has groups (match is \"%s\")",
			    prefix, r->rewrite, *p,
			    conf_rule_match_name(r->match));
			return;
		}
		if (r->re != NULL && (size_t)(*p - '0') > ngroups) {
			conf_err_at(ld, s, "%s.rewrite = \"%s\" refers to \\%c, but "
			    "the pattern has %zu group%s", prefix, r->rewrite,
			    *p, ngroups, ngroups == 1 ? "" : "s");
			return;
		}
	}
	if ((r->match == RULE_EXACT || r->match == RULE_REGEX) &&
	    *r->rewrite == '\0')
		conf_err_at(ld, s, "%s.rewrite must not be empty with match = \"%s\" "
		    "(it replaces the whole alias)", prefix,
		    conf_rule_match_name(r->match));
	else if (r->match == RULE_EXACT && conf_alias_parse(r->rewrite,
	    strlen(r->rewrite), &h, &hl, &port) == -1)
		conf_err_at(ld, s, "%s.rewrite = \"%s\" is not an alias: write "
		    "user@host, host, or either with :port", prefix, r->rewrite);
}

/* Method names are tokens, and case-sensitive: "invite" is refused. */
static void
check_methods(struct loader *ld, struct conf_rule *r, config_setting_t *e,
    const char *prefix)
{
	config_setting_t *s = config_setting_get_member(e, "methods");
	size_t i, k;

	for (i = 0; i < r->methods.n; i++) {
		const char *m = r->methods.v[i];

		if (!is_token(m)) {
			conf_err_at(ld, s, "%s.methods: \"%s\" is not a method name "
			    "(a token such as \"INVITE\")", prefix, m);
			continue;
		}
		for (k = 0; sip_methods[k] != NULL; k++)
			if (strcasecmp(m, sip_methods[k]) == 0 &&
			    strcmp(m, sip_methods[k]) != 0)
				conf_err_at(ld, s, "%s.methods: \"%s\" matches no "
				    "request: method names are case-sensitive "
				    "(write \"%s\")", prefix, m, sip_methods[k]);
	}
}

/* One rule of the list, checked but for its zones (see check_rule_zones). */
static void
load_rule(struct loader *ld, config_setting_t *e, const char *prefix)
{
	struct conf *c = ld->c;
	struct conf_rule *r;
	config_setting_t *ps;
	size_t i;

	c->rules = xreallocarray(c->rules, c->nrules + 1, sizeof *c->rules);
	ld->rule_set = xreallocarray(ld->rule_set, c->nrules + 1,
	    sizeof *ld->rule_set);
	ld->rule_set[c->nrules] = e;
	r = &c->rules[c->nrules++];
	memset(r, 0, sizeof *r);
	r->match = -1;
	r->loc = conf_loc_of(ld, e);
	conf_apply_defaults(conf_rule_opts, NULL, r, r->loc.file);
	conf_apply_group(ld, conf_rule_opts, "search_rules", prefix, r, e);
	check_pattern(ld, r, e, prefix);
	check_rewrite(ld, r, e, prefix);
	check_methods(ld, r, e, prefix);
	if (r->priority == 0)
		return;
	for (i = 0; i + 1 < c->nrules; i++) {
		if (c->rules[i].priority != r->priority)
			continue;
		ps = config_setting_get_member(e, "priority");
		conf_err_at(ld, ps, "%s.priority = %d is already used by the rule at "
		    "line %d; priorities must be unique", prefix, r->priority,
		    c->rules[i].loc.line);
		break;
	}
}

/* The list search_rules: one group per rule. */
void
conf_load_rules(struct loader *ld, config_setting_t *list)
{
	config_setting_t *e;
	char prefix[32];
	int i, n, t;

	t = config_setting_type(list);
	if (t != CONFIG_TYPE_LIST) {
		conf_err_at(ld, list, "search_rules must be a list of groups like "
		    "( { priority = 10; match = \"any\"; target_zone = "
		    "\"partner\"; } ), not %s", conf_type_name(t));
		return;
	}
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(list, (unsigned)i);
		snprintf(prefix, sizeof prefix, "search_rules[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			conf_err_at(ld, e, "%s must be a group { ... }", prefix);
			continue;
		}
		load_rule(ld, e, prefix);
	}
}

/* Is name a zone (loaded, or left out for errors already reported)? */
static int
zone_exists(struct loader *ld, const char *name)
{
	size_t i;

	for (i = 0; i < ld->c->nzones; i++)
		if (strcmp(ld->c->zones[i].name, name) == 0)
			return 1;
	for (i = 0; i < ld->bad_zones.n; i++)
		if (strcmp(ld->bad_zones.v[i], name) == 0)
			return 1;
	return 0;
}

/* Report a rule's zone setting that names no zone, with a hint. */
static void
unknown_zone(struct loader *ld, config_setting_t *s, const char *label,
    const char *name, int with_default)
{
	const char **cands, *hint;
	size_t i, n = 0;

	cands = xcalloc(ld->c->nzones + 1, sizeof *cands);
	for (i = 0; i < ld->c->nzones; i++)
		cands[n++] = ld->c->zones[i].name;
	if (with_default)
		cands[n++] = CONF_DEFAULT_ZONE;
	hint = conf_closest(name, cands, n);
	if (hint != NULL)
		conf_err_at(ld, s, "%s = \"%s\" is not a zone (did you mean '%s'?)",
		    label, name, hint);
	else if (ld->c->nzones == 0)
		conf_err_at(ld, s, "%s = \"%s\" is not a zone: there are no zone "
		    "files in %s", label, name, ld->c->zones_dir.path);
	else
		conf_err_at(ld, s, "%s = \"%s\" is not a zone of %s", label, name,
		    ld->c->zones_dir.path);
	free(cands);
}

/* The zones the rules name exist; run once the zone files are loaded. */
void
conf_check_rule_zones(struct loader *ld)
{
	struct conf_rule *r;
	config_setting_t *e;
	char label[64];
	size_t i;
	int idx;

	for (i = 0; i < ld->c->nrules; i++) {
		r = &ld->c->rules[i];
		e = ld->rule_set[i];
		idx = config_setting_index(e);
		if (r->source_zone != NULL &&
		    strcmp(r->source_zone, CONF_DEFAULT_ZONE) != 0 &&
		    !zone_exists(ld, r->source_zone)) {
			snprintf(label, sizeof label,
			    "search_rules[%d].source_zone", idx);
			unknown_zone(ld, config_setting_get_member(e,
			    "source_zone"), label, r->source_zone, 1);
		}
		if (r->target_zone == NULL)
			continue;
		snprintf(label, sizeof label, "search_rules[%d].target_zone",
		    idx);
		if (strcmp(r->target_zone, CONF_DEFAULT_ZONE) == 0)
			conf_err_at(ld, config_setting_get_member(e, "target_zone"),
			    "%s cannot be \"%s\": that is where traffic from "
			    "no zone's peers comes from; name a zone of %s",
			    label, CONF_DEFAULT_ZONE, ld->c->zones_dir.path);
		else if (!zone_exists(ld, r->target_zone))
			unknown_zone(ld, config_setting_get_member(e,
			    "target_zone"), label, r->target_zone, 0);
	}
}

/* By priority, for qsort: the order in which rules are tried. */
int
conf_rule_cmp(const void *a, const void *b)
{
	const struct conf_rule *ra = a, *rb = b;

	return (ra->priority > rb->priority) - (ra->priority < rb->priority);
}

/* Everything a rule holds, its compiled pattern too. */
void
conf_free_rule(struct conf_rule *r)
{
	free(r->name);
	free(r->pattern);
	if (r->re != NULL) {
		regfree(r->re);
		free(r->re);
	}
	free(r->source_zone);
	conf_free_strlist(&r->methods);
	free(r->rewrite);
	free(r->target_zone);
}
