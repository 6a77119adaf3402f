/*
 * route.h: search rules applied to one request (DESIGN.md decision 6).
 * Pure: given the rules of a configuration, a request-URI, the zone the
 * request came from and its method, it yields the targets to try in
 * priority order, each a zone and the request-URI to send there.  It knows
 * nothing of connections: the caller tries a target and asks for the next
 * one when it fails.
 *
 * Rules match the request-URI's alias: the user part, '@' and the host of
 * a sip or sips URI ("+4412345@example.com" for
 * "sip:+4412345:pw@Example.COM:5061;user=phone"), or the host alone when
 * there is no user part.  The scheme, password, port, parameters and
 * headers are not part of it; the host is compared without case, the user
 * part exactly, percent-escapes as written.  sipedge.conf(5) describes the
 * rules for operators.
 */
#ifndef SE_ROUTE_H
#define SE_ROUTE_H

#include <stddef.h>

#include "conf/conf.h"

struct route;

/* One target of a search: valid until route_free. */
struct route_target {
	const struct conf_rule	*rule;		/* the rule that matched */
	const char		*zone;		/* its target zone */
	const char		*uri;		/* the request-URI to send */
	int			 rewritten;	/* uri differs from the request's */
};

/*
 * Begin a search for a request whose request-URI is ruri, received from
 * source_zone (CONF_DEFAULT_ZONE when no zone's peer sent it), with method.
 * The strings are copied; c's rules are used as they are, so c must live
 * as long as the search (hold the snapshot).  Returns the search, or NULL
 * with *cause (caller frees) when ruri is not a sip or sips URI with a
 * host.
 */
struct route	*route_new(const struct conf *c, const char *ruri,
		    const char *source_zone, const char *method, char **cause);
/*
 * The next target: call it for the first, then once each time the last
 * one failed.  Returns 1 with *t filled, or 0 when there is no target
 * left: no further rule matches, or the last target's rule has on_match
 * "stop".  A rule whose rewrite gives no valid alias, or whose target zone
 * and URI are those of a target already tried, counts as a failed target
 * (see route_skipped).
 */
int		 route_next(struct route *r, struct route_target *t);
/* Targets returned so far: 0 once route_next said 0 means "no route". */
size_t		 route_count(const struct route *r);
/* Why the last rule that matched gave no target, or NULL. */
const char	*route_skipped(const struct route *r);
/* The alias the rules match. */
const char	*route_alias(const struct route *r);
void		 route_free(struct route *r);

#endif
