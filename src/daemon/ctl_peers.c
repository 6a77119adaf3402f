/*
 * ctl_peers.c: the control socket commands of sipedged about peers: zones,
 * zone NAME and connections (bounded pages).  Each answers from the state
 * as it is now, in text or JSON (ctl_proto.h), without blocking.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl_proto.h"
#include "daemon/sipedged.h"
#include "util/json.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* One zone peer as a JSON object; with its zone for "zones". */
static void
zone_peer_json(struct json *j, const struct zone_peer_info *i, int with_zone)
{
	char t[32];

	json_object_begin(j, NULL);
	if (with_zone) {
		json_string(j, "zone", i->zone);
		json_string(j, "transport", i->transport);
	}
	json_string(j, "peer", i->peer);
	json_int(j, "port", i->port);
	json_string(j, "address", i->address);
	json_string(j, "state", zone_peer_state_name(i->state));
	json_string(j, "since", str_time_iso(i->since, t, sizeof t));
	json_string(j, "reason", i->reason);
	json_string(j, "last_failure", i->last_failure);
	if (i->last_failure_at != 0)
		json_string(j, "last_failure_at", str_time_iso(
		    i->last_failure_at, t, sizeof t));
	else
		json_null(j, "last_failure_at");
	json_object_end(j);
}

/* One line (or object) per zone peer. */
static void
zone_line(const struct zone_peer_info *i, void *arg)
{
	struct ctl_reply *r = arg;
	struct json *j = ctl_reply_json(r);
	char t[32];

	if (j != NULL) {
		zone_peer_json(j, i, 1);
		return;
	}
	ctl_reply_add(r, "%s %s %s:%d %s since %s%s%s", i->zone, i->transport,
	    i->peer, i->port, zone_peer_state_name(i->state),
	    str_time_iso(i->since, t, sizeof t), *i->reason ? ": " : "", i->reason);
}

/* A traversal zone as a JSON object (key NULL in an array). */
static void
trav_json(struct json *j, const char *key, const struct trav_info *i)
{
	char t[32];
	int server = strcmp(i->type, "traversal-server") == 0;

	json_object_begin(j, key);
	json_string(j, "zone", i->zone);
	json_string(j, "type", i->type);
	json_string(j, "state", i->state);
	json_string(j, "since", str_time_iso(i->since, t, sizeof t));
	json_string(j, "peer", i->peer);
	json_string(j, "tls_version", i->tls_version);
	json_string(j, "cipher", i->cipher);
	json_string(j, "last_failure", i->last_failure);
	json_uint(j, server ? "flows" : "reconnects", i->reconnects);
	json_object_end(j);
}

/* One line (or object) per traversal zone. */
static void
trav_line(const struct trav_info *i, void *arg)
{
	struct ctl_reply *r = arg;
	struct json *j = ctl_reply_json(r);
	char t[32];
	int server = strcmp(i->type, "traversal-server") == 0;

	if (j != NULL) {
		trav_json(j, NULL, i);
		return;
	}
	if (*i->tls_version != '\0')
		ctl_reply_add(r, "%s %s tls %s %s since %s: %s %s, %s %lu",
		    i->zone, i->type, *i->peer ? i->peer : "-", i->state,
		    str_time_iso(i->since, t, sizeof t), i->tls_version,
		    i->cipher, server ? "flows" : "reconnects", i->reconnects);
	else
		ctl_reply_add(r, "%s %s tls %s %s since %s%s%s%s, %s %lu",
		    i->zone, i->type, *i->peer ? i->peer : "-", i->state,
		    str_time_iso(i->since, t, sizeof t),
		    server && *i->last_failure == '\0' ?
		    ": no traversal client connected" : "",
		    *i->last_failure ? ": " : "", i->last_failure,
		    server ? "flows" : "reconnects", i->reconnects);
}

/* zones: every neighbor zone's peers, their state and why. */
int
ctl_peers_zones(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);

	(void)args;
	(void)arg;
	if (j != NULL)
		json_array_begin(j, "peers");
	if (d.zones != NULL)
		zones_walk(d.zones, zone_line, r);
	if (j != NULL) {
		json_array_end(j);
		json_array_begin(j, "traversal");
	}
	if (d.trav != NULL)
		trav_walk(d.trav, trav_line, r);
	if (j != NULL)
		json_array_end(j);
	return 0;
}

/* What "zone NAME" collects from zones_walk(). */
struct zone_one {
	const char		*name;
	struct ctl_reply	*r;
	size_t			 npeers;
	size_t			 ntrav;		/* traversal zone: its flow */
};

/* "zone NAME" for a traversal zone: its flow, as "zones" shows it. */
static void
zone_one_trav(const struct trav_info *i, void *arg)
{
	struct zone_one *z = arg;
	struct json *j = ctl_reply_json(z->r);

	if (strcmp(i->zone, z->name) != 0)
		return;
	z->ntrav++;
	if (j != NULL)
		trav_json(j, "traversal", i);
	else
		trav_line(i, z->r);
}

static void
zone_one_line(const struct zone_peer_info *i, void *arg)
{
	struct zone_one *z = arg;
	struct json *j = ctl_reply_json(z->r);
	char t[32];

	if (strcmp(i->zone, z->name) != 0)
		return;
	z->npeers++;
	if (j != NULL) {
		zone_peer_json(j, i, 0);
		return;
	}
	ctl_reply_add(z->r, "  %s:%d %s since %s address %s%s%s", i->peer,
	    i->port, zone_peer_state_name(i->state),
	    str_time_iso(i->since, t, sizeof t), *i->address ? i->address : "-",
	    *i->reason ? " reason " : "", i->reason);
	if (*i->last_failure != '\0' && i->state == ZP_ACTIVE)
		ctl_reply_add(z->r, "    last failure %s: %s", str_time_iso(
		    i->last_failure_at, t, sizeof t), i->last_failure);
}

/* zone NAME: one zone's peers, with their addresses and failures. */
int
ctl_peers_zone(const char *args, struct ctl_reply *r, void *arg)
{
	const struct conf *c = d.current->conf;
	const struct conf_zone *cz = NULL;
	struct json *j = ctl_reply_json(r);
	struct zone_one z = { args, r, 0, 0 };
	char *names = NULL;
	size_t i;

	(void)arg;
	if (*args == '\0' || strpbrk(args, " \t") != NULL) {
		ctl_reply_add(r, "zone takes one zone name: zone NAME");
		return -1;
	}
	for (i = 0; i < c->nzones && cz == NULL; i++)
		if (strcmp(c->zones[i].name, args) == 0)
			cz = &c->zones[i];
	if (cz == NULL) {
		for (i = 0; i < c->nzones; i++)
			ctl_cmd_join(&names, c->zones[i].name);
		ctl_reply_add(r, "no zone '%s' in the configuration (zones: %s)",
		    args, names != NULL ? names : "none");
		free(names);
		return -1;
	}
	if (j != NULL) {
		json_string(j, "zone", cz->name);
		json_string(j, "type", conf_zone_type_name(cz->type));
		json_string(j, "transport", conf_transport_name(cz->transport));
		json_uint(j, "configured_peers", cz->peers.n);
		json_array_begin(j, "peers");
		if (d.zones != NULL)
			zones_walk(d.zones, zone_one_line, &z);
		json_array_end(j);
		if (d.trav != NULL)
			trav_walk(d.trav, zone_one_trav, &z);
		if (z.ntrav == 0)
			json_null(j, "traversal");
		return 0;
	}
	ctl_reply_add(r, "zone %s type %s transport %s peers %zu", cz->name,
	    conf_zone_type_name(cz->type), conf_transport_name(cz->transport),
	    cz->peers.n);
	if (d.zones != NULL)
		zones_walk(d.zones, zone_one_line, &z);
	if (d.trav != NULL)
		trav_walk(d.trav, zone_one_trav, &z);
	if (z.npeers == 0 && z.ntrav == 0)
		ctl_reply_add(r, "  no peer connections are kept for this zone");
	return 0;
}

/* A name and how many connections have it, for the connections summary. */
struct conn_count {
	char	name[48];
	size_t	n;
};

#define CONN_COUNT_MAX	32	/* distinct names; the rest count as "other" */

/* The request of `connections`: filters and the page (ctl_proto.h). */
struct conn_query {
	const char	*zone;		/* NULL: any */
	const char	*peer;		/* NULL: any; "ADDR" or "ADDR:PORT" */
	size_t		 offset;
	size_t		 limit;
	int		 summary;	/* 0: "nosummary" */
	int		 all;		/* "all": no hint for the rest */
	/* Filled by the walks. */
	size_t		 total, in, out, held, open;
	struct conn_count zones[CONN_COUNT_MAX + 1];
	size_t		 nzones;
	struct conn_count tls[CONN_COUNT_MAX + 1];
	size_t		 ntls;
	size_t		 index;		/* matching connections seen */
	size_t		 returned;
	int		 full;		/* the reply reached its byte bound */
	struct ctl_reply *r;
};

/* Count one more for name in v (n used, CONN_COUNT_MAX + 1 slots). */
static void
conn_count_add(struct conn_count *v, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0) {
			v[i].n++;
			return;
		}
	if (*n == CONN_COUNT_MAX)
		name = "other";
	for (i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0) {
			v[i].n++;
			return;
		}
	snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
	v[*n].n = 1;
	(*n)++;
}

/*
 * Does the peer "ip:port" (IPv6 as "[ip]:port") match want: the whole
 * address with its port, or the address alone (with or without brackets).
 */
static int
conn_peer_matches(const char *peer, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(peer, want) == 0)
		return 1;
	if (strncmp(peer, want, n) == 0 && peer[n] == ':' &&
	    strchr(peer + n + 1, ':') == NULL)
		return 1;
	return peer[0] == '[' && strncmp(peer + 1, want, n) == 0 &&
	    peer[n + 1] == ']' && peer[n + 2] == ':';
}

/* Is the connection one the query asks for? */
static int
conn_matches(const struct conn_query *q, const struct gate_conn_info *i)
{
	if (q->zone != NULL && strcmp(q->zone, i->zone) != 0)
		return 0;
	return q->peer == NULL || conn_peer_matches(i->peer, q->peer);
}

/* First walk: the summary of the matching connections. */
static void
conn_sum(const struct gate_conn_info *i, void *arg)
{
	struct conn_query *q = arg;

	if (!conn_matches(q, i))
		return;
	q->total++;
	if (i->outbound)
		q->out++;
	else
		q->in++;
	if (strcmp(i->state, "open") == 0)
		q->open++;
	else
		q->held++;
	conn_count_add(q->zones, &q->nzones, i->zone);
	conn_count_add(q->tls, &q->ntls, *i->tls_version ? i->tls_version :
	    "handshake");
}

/* The bytes of the reply so far. */
static size_t
conn_reply_size(struct conn_query *q)
{
	struct json *j = ctl_reply_json(q->r);
	size_t len = 0;

	if (j != NULL)
		(void)json_text(j, &len);
	return len + ctl_reply_size(q->r);
}

/* Second walk: one line (or object) per connection of the page. */
static void
conn_line(const struct gate_conn_info *i, void *arg)
{
	struct conn_query *q = arg;
	struct json *j = ctl_reply_json(q->r);
	char t[32];

	if (!conn_matches(q, i))
		return;
	if (q->index++ < q->offset || q->returned >= q->limit || q->full)
		return;
	/* A page never outgrows what a client reads (CTL_REPLY_MAX). */
	if (conn_reply_size(q) > CTL_CONNS_BYTES_MAX) {
		q->full = 1;
		return;
	}
	q->returned++;
	if (j != NULL) {
		json_object_begin(j, NULL);
		json_string(j, "peer", i->peer);
		json_string(j, "direction", i->outbound ? "out" : "in");
		json_string(j, "zone", i->zone);
		json_string(j, "state", i->state);
		json_string(j, "since", str_time_iso(i->since, t, sizeof t));
		json_string(j, "subject", i->subject);
		json_string(j, "verdict", i->verdict);
		json_string(j, "transport", "tls");
		json_string(j, "tls_version", i->tls_version);
		json_string(j, "cipher", i->cipher);
		json_int(j, "age", (long long)(time(NULL) - i->since));
		json_object_end(j);
		return;
	}
	ctl_reply_add(q->r, "%s %s zone %s %s since %s age %llds tls %s %s "
	    "subject %s%s%s", i->peer, i->outbound ? "out" : "in", i->zone,
	    i->state, str_time_iso(i->since, t, sizeof t),
	    (long long)(time(NULL) - i->since),
	    *i->tls_version ? i->tls_version : "-", *i->cipher ? i->cipher : "-",
	    i->subject, *i->verdict ? " verdict " : "", i->verdict);
}

/* A count argument: 0 to max, or -1 with the reason added to r. */
static int
conn_number(const char *word, const char *s, size_t max, size_t *v,
    struct ctl_reply *r)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || n > max) {
		ctl_reply_add(r, "connections: %s takes a number from 0 to %zu, "
		    "not '%s'", word, max, s);
		return -1;
	}
	*v = (size_t)n;
	return 0;
}

/*
 * The arguments of connections (CTL_PROTO_VERSION 3): words "all",
 * "nosummary", "limit N", "offset N", "zone NAME", "peer ADDR", each
 * also with a leading "--" as sipedge-ctl takes them.  buf is a copy of
 * the arguments that the query points into.  -1 with the reason in r.
 */
static int
conn_parse(struct conn_query *q, char *buf, struct ctl_reply *r)
{
	char *w, *v, *save = NULL;
	const char *name;

	for (w = strtok_r(buf, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		name = strncmp(w, "--", 2) == 0 ? w + 2 : w;
		if (strcmp(name, "all") == 0) {
			q->limit = CTL_CONNS_PAGE_MAX;
			q->all = 1;
			continue;
		}
		if (strcmp(name, "nosummary") == 0) {
			q->summary = 0;
			continue;
		}
		if (strcmp(name, "limit") != 0 && strcmp(name, "offset") != 0 &&
		    strcmp(name, "zone") != 0 && strcmp(name, "peer") != 0) {
			ctl_reply_add(r, "connections: unknown argument '%.64s' "
			    "(all, limit N, offset N, zone NAME, peer ADDR, "
			    "nosummary)", w);
			return -1;
		}
		if ((v = strtok_r(NULL, " \t", &save)) == NULL) {
			ctl_reply_add(r, "connections: %s needs a value", name);
			return -1;
		}
		if (strcmp(name, "limit") == 0) {
			if (conn_number(name, v, CTL_CONNS_PAGE_MAX, &q->limit,
			    r) == -1)
				return -1;
		} else if (strcmp(name, "offset") == 0) {
			if (conn_number(name, v, (size_t)-1 / 2, &q->offset,
			    r) == -1)
				return -1;
		} else if (strcmp(name, "zone") == 0)
			q->zone = v;
		else
			q->peer = v;
	}
	return 0;
}

/* The summary counts as JSON members, or as text lines. */
static void
conn_summary(struct conn_query *q, struct json *j)
{
	struct ctl_reply *r = q->r;
	char *line = NULL, *t;
	size_t i;

	if (j != NULL) {
		json_object_begin(j, "summary");
		json_uint(j, "total", q->total);
		json_uint(j, "in", q->in);
		json_uint(j, "out", q->out);
		json_uint(j, "held", q->held);
		json_uint(j, "open", q->open);
		json_object_begin(j, "zones");
		for (i = 0; i < q->nzones; i++)
			json_uint(j, q->zones[i].name, q->zones[i].n);
		json_object_end(j);
		json_object_begin(j, "tls_versions");
		for (i = 0; i < q->ntls; i++)
			json_uint(j, q->tls[i].name, q->tls[i].n);
		json_object_end(j);
		json_object_end(j);
		return;
	}
	ctl_reply_add(r, "connections: %zu (in %zu, out %zu; held %zu, open "
	    "%zu)", q->total, q->in, q->out, q->held, q->open);
	line = xstrdup("zones:");
	for (i = 0; i < q->nzones; i++) {
		t = xasprintf("%s %s %zu", line, q->zones[i].name,
		    q->zones[i].n);
		free(line);
		line = t;
	}
	ctl_reply_add(r, "%s", q->nzones == 0 ? "zones: none" : line);
	free(line);
	line = xstrdup("tls:");
	for (i = 0; i < q->ntls; i++) {
		t = xasprintf("%s %s %zu", line, q->tls[i].name, q->tls[i].n);
		free(line);
		line = t;
	}
	ctl_reply_add(r, "%s", q->ntls == 0 ? "tls: none" : line);
	free(line);
}

/*
 * connections: a summary of the TLS connections (that match the
 * filters), then one page of them, CTL_CONNS_DEFAULT by default; the
 * text ends with how to get the rest.  Bounded: never more than
 * CTL_CONNS_PAGE_MAX connections or about CTL_CONNS_BYTES_MAX bytes.
 */
int
ctl_peers_connections(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);
	struct conn_query *q;
	char *buf = xstrdup(args);
	size_t more;

	(void)arg;
	q = xcalloc(1, sizeof *q);
	q->limit = CTL_CONNS_DEFAULT;
	q->summary = 1;
	q->r = r;
	if (conn_parse(q, buf, r) == -1) {
		free(q);
		free(buf);
		return -1;
	}
	gate_walk(d.gate, conn_sum, q);
	if (q->summary)
		conn_summary(q, j);
	if (j != NULL)
		json_array_begin(j, "connections");
	gate_walk(d.gate, conn_line, q);
	more = q->total > q->offset + q->returned ?
	    q->total - q->offset - q->returned : 0;
	if (j != NULL) {
		json_array_end(j);
		json_uint(j, "offset", q->offset);
		json_uint(j, "limit", q->limit);
		json_uint(j, "returned", q->returned);
		json_uint(j, "more", more);
	} else if (q->summary && !q->all && more > 0)
		ctl_reply_add(r, "%zu more: sipedge-ctl connections --offset "
		    "%zu [--limit N], or --all", more, q->offset + q->returned);
	free(q);
	free(buf);
	return 0;
}

