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
#include "ctl/ctl_table.h"
#include "daemon/sipedged.h"
#include "util/json.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* zones: one row per neighbor zone peer. */
static const struct ctl_col zone_cols[] = {
	{ "zone",	CTL_STR,  "",		NULL, NULL, 0, 0 },
	{ "transport",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "peer",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "port",	CTL_INT,  ":",		NULL, NULL, 0, 0 },
	{ "address",	CTL_STR,  NULL,		NULL, NULL, 0, 0 },
	{ "state",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "since",	CTL_TIME, " since ",	NULL, NULL, 0, 0 },
	{ "reason",	CTL_STR,  ": ",		NULL, NULL, CTL_OMIT, 0 },
	{ "last_failure", CTL_STR, NULL,	NULL, NULL, 0, 0 },
	{ "last_failure_at", CTL_TIME, NULL,	NULL, NULL, CTL_NULL, 0 },
};
static const struct ctl_table_def zone_table = {
	"peers", CTL_ROWS, NULL, CTL_COLS(zone_cols)
};

/* zone NAME: one row per peer of the zone, and its last failure. */
static const struct ctl_col zone_peer_cols[] = {
	{ "peer",	CTL_STR,  "  ",		NULL, NULL, 0, 0 },
	{ "port",	CTL_INT,  ":",		NULL, NULL, 0, 0 },
	{ "state",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "since",	CTL_TIME, " since ",	NULL, NULL, 0, 0 },
	{ "address",	CTL_STR,  " address ",	NULL, "-", 0, 0 },
	{ "reason",	CTL_STR,  " reason ",	NULL, NULL, CTL_OMIT, 0 },
	{ "last_failure", CTL_STR, NULL,	NULL, NULL, 0, 0 },
	{ "last_failure_at", CTL_TIME, NULL,	NULL, NULL, CTL_NULL, 0 },
	{ NULL,		CTL_STR,  "    last failure ", NULL, NULL,
	    CTL_LINE | CTL_OMIT, 0 },
};
static const struct ctl_table_def zone_peer_table = {
	"peers", CTL_ROWS, NULL, CTL_COLS(zone_peer_cols)
};

/* The traversal zones ("zones") or the one of "zone NAME". */
static const struct ctl_col trav_cols[] = {
	{ "zone",	CTL_STR,  "",		NULL, NULL, 0, 0 },
	{ "type",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "peer",	CTL_STR,  " tls ",	NULL, "-", 0, 0 },
	{ "state",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "since",	CTL_TIME, " since ",	NULL, NULL, 0, 0 },
	{ "tls_version", CTL_STR, ": ",		NULL, NULL, CTL_OMIT, 0 },
	{ "cipher",	CTL_STR,  " ",		NULL, NULL, CTL_OMIT, 0 },
	{ "last_failure", CTL_STR, NULL,	NULL, NULL, 0, 0 },
	{ NULL,		CTL_STR,  ": ",		NULL, NULL, CTL_OMIT, 0 },
	{ "flows",	CTL_UINT, ", flows ",	NULL, NULL, 0, 0 },
	{ "reconnects",	CTL_UINT, ", reconnects ", NULL, NULL, 0, 0 },
};
static const struct ctl_table_def trav_table = {
	"traversal", CTL_ROWS, NULL, CTL_COLS(trav_cols)
};
static const struct ctl_table_def trav_one_table = {
	"traversal", CTL_ONE, NULL, CTL_COLS(trav_cols)
};

/* One row per zone peer. */
static void
zone_row(const struct zone_peer_info *i, void *arg)
{
	struct ctl_table *t = arg;

	ctl_table_row(t);
	ctl_table_str(t, i->zone);
	ctl_table_str(t, i->transport);
	ctl_table_str(t, i->peer);
	ctl_table_int(t, i->port);
	ctl_table_str(t, i->address);
	ctl_table_str(t, zone_peer_state_name(i->state));
	ctl_table_time(t, i->since);
	ctl_table_str(t, i->reason);
	ctl_table_str(t, i->last_failure);
	ctl_table_time(t, i->last_failure_at);
	ctl_table_row_end(t);
}

/*
 * One row per traversal zone.  In text the TLS version and cipher once
 * connected, else why not: the last failure, or for a server that no
 * client came.
 */
static void
trav_row(struct ctl_table *t, const struct trav_info *i)
{
	int server = strcmp(i->type, "traversal-server") == 0;
	const char *why = "";

	if (*i->tls_version == '\0')
		why = server && *i->last_failure == '\0' ?
		    "no traversal client connected" : i->last_failure;
	ctl_table_row(t);
	ctl_table_str(t, i->zone);
	ctl_table_str(t, i->type);
	ctl_table_str(t, i->peer);
	ctl_table_str(t, i->state);
	ctl_table_time(t, i->since);
	ctl_table_str(t, i->tls_version);
	ctl_table_str(t, i->cipher);
	ctl_table_str(t, i->last_failure);
	ctl_table_str(t, why);
	if (server) {
		ctl_table_uint(t, i->reconnects);
		ctl_table_skip(t);
	} else {
		ctl_table_skip(t);
		ctl_table_uint(t, i->reconnects);
	}
	ctl_table_row_end(t);
}

/* trav_walk() callback: one row per traversal zone. */
static void
trav_walk_row(const struct trav_info *i, void *arg)
{
	trav_row(arg, i);
}

/* zones: every neighbor zone's peers, their state and why. */
int
ctl_peers_zones(const char *args, struct ctl_reply *r, void *arg)
{
	struct ctl_table t;

	(void)args;
	(void)arg;
	ctl_table_begin(&t, r, &zone_table);
	if (d.zones != NULL)
		zones_walk(d.zones, zone_row, &t);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &trav_table);
	if (d.trav != NULL)
		trav_walk(d.trav, trav_walk_row, &t);
	ctl_table_end(&t);
	return 0;
}

/* zone NAME: the zone's line (or members). */
static const struct ctl_col zone_head_cols[] = {
	{ "zone",	CTL_STR,  "zone ",	NULL, NULL, 0, 0 },
	{ "type",	CTL_STR,  " type ",	NULL, NULL, 0, 0 },
	{ "transport",	CTL_STR,  " transport ", NULL, NULL, 0, 0 },
	{ "configured_peers", CTL_UINT, " peers ", NULL, NULL, 0, 0 },
};
static const struct ctl_table_def zone_head_table = {
	NULL, CTL_INLINE, NULL, CTL_COLS(zone_head_cols)
};

/* What "zone NAME" collects from the walks. */
struct zone_one {
	const char		*name;
	struct ctl_table	 t;
};

/* "zone NAME" for a traversal zone: its flow, as "zones" shows it. */
static void
zone_one_trav(const struct trav_info *i, void *arg)
{
	struct zone_one *z = arg;

	if (strcmp(i->zone, z->name) == 0)
		trav_row(&z->t, i);
}

/* "zone NAME": one row per peer of the zone. */
static void
zone_one_row(const struct zone_peer_info *i, void *arg)
{
	struct zone_one *z = arg;
	struct ctl_table *t = &z->t;
	char at[32], *line = NULL;

	if (strcmp(i->zone, z->name) != 0)
		return;
	if (*i->last_failure != '\0' && i->state == ZP_ACTIVE)
		line = xasprintf("%s: %s", str_time_iso(i->last_failure_at, at,
		    sizeof at), i->last_failure);
	ctl_table_row(t);
	ctl_table_str(t, i->peer);
	ctl_table_int(t, i->port);
	ctl_table_str(t, zone_peer_state_name(i->state));
	ctl_table_time(t, i->since);
	ctl_table_str(t, i->address);
	ctl_table_str(t, i->reason);
	ctl_table_str(t, i->last_failure);
	ctl_table_time(t, i->last_failure_at);
	ctl_table_str(t, line);
	ctl_table_row_end(t);
	free(line);
}

/* The zone of the configuration named name, or NULL with the reason in r. */
static const struct conf_zone *
zone_find(const struct conf *c, const char *name, struct ctl_reply *r)
{
	char *names = NULL;
	size_t i;

	for (i = 0; i < c->nzones; i++)
		if (strcmp(c->zones[i].name, name) == 0)
			return &c->zones[i];
	for (i = 0; i < c->nzones; i++)
		ctl_cmd_join(&names, c->zones[i].name);
	ctl_reply_add(r, "no zone '%s' in the configuration (zones: %s)", name,
	    names != NULL ? names : "none");
	free(names);
	return NULL;
}

/* zone NAME: one zone's peers, with their addresses and failures. */
int
ctl_peers_zone(const char *args, struct ctl_reply *r, void *arg)
{
	const struct conf_zone *cz;
	struct zone_one z;
	size_t npeers;

	(void)arg;
	if (*args == '\0' || strpbrk(args, " \t") != NULL) {
		ctl_reply_add(r, "zone takes one zone name: zone NAME");
		return -1;
	}
	if ((cz = zone_find(d.current->conf, args, r)) == NULL)
		return -1;
	z.name = args;
	ctl_table_begin(&z.t, r, &zone_head_table);
	ctl_table_row(&z.t);
	ctl_table_str(&z.t, cz->name);
	ctl_table_str(&z.t, conf_zone_type_name(cz->type));
	ctl_table_str(&z.t, conf_transport_name(cz->transport));
	ctl_table_uint(&z.t, cz->peers.n);
	ctl_table_row_end(&z.t);
	ctl_table_end(&z.t);
	ctl_table_begin(&z.t, r, &zone_peer_table);
	if (d.zones != NULL)
		zones_walk(d.zones, zone_one_row, &z);
	npeers = ctl_table_rows(&z.t);
	ctl_table_end(&z.t);
	ctl_table_begin(&z.t, r, &trav_one_table);
	if (d.trav != NULL)
		trav_walk(d.trav, zone_one_trav, &z);
	if (npeers == 0 && ctl_table_rows(&z.t) == 0 && ctl_reply_json(r) == NULL)
		ctl_reply_add(r, "  no peer connections are kept for this zone");
	ctl_table_end(&z.t);
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
	struct ctl_table t;		/* the page */
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

/* connections: one row per connection of the page. */
static const struct ctl_col conn_cols[] = {
	{ "peer",	CTL_STR,  "",		NULL, NULL, 0, 0 },
	{ "direction",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "zone",	CTL_STR,  " zone ",	NULL, NULL, 0, 0 },
	{ "state",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "since",	CTL_TIME, " since ",	NULL, NULL, 0, 0 },
	{ "age",	CTL_INT,  " age ",	"s", NULL, 0, 0 },
	{ "transport",	CTL_STR,  NULL,		NULL, NULL, 0, 0 },
	{ "tls_version", CTL_STR, " tls ",	NULL, "-", 0, 0 },
	{ "cipher",	CTL_STR,  " ",		NULL, "-", 0, 0 },
	{ "subject",	CTL_STR,  " subject ",	NULL, NULL, 0, 0 },
	{ "verdict",	CTL_STR,  " verdict ",	NULL, NULL, CTL_OMIT, 0 },
};
static const struct ctl_table_def conn_table = {
	"connections", CTL_ROWS, NULL, CTL_COLS(conn_cols)
};

/* Second walk: one row per connection of the page. */
static void
conn_row(const struct gate_conn_info *i, void *arg)
{
	struct conn_query *q = arg;
	struct ctl_table *t = &q->t;

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
	ctl_table_row(t);
	ctl_table_str(t, i->peer);
	ctl_table_str(t, i->outbound ? "out" : "in");
	ctl_table_str(t, i->zone);
	ctl_table_str(t, i->state);
	ctl_table_time(t, i->since);
	ctl_table_int(t, (long long)(time(NULL) - i->since));
	ctl_table_str(t, "tls");
	ctl_table_str(t, i->tls_version);
	ctl_table_str(t, i->cipher);
	ctl_table_str(t, i->subject);
	ctl_table_str(t, i->verdict);
	ctl_table_row_end(t);
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

/* The summary of the matching connections (left out with nosummary). */
static const struct ctl_col sum_cols[] = {
	{ "total",	CTL_UINT, "connections: ", NULL, NULL, 0, 0 },
	{ "in",		CTL_UINT, " (in ",	NULL, NULL, 0, 0 },
	{ "out",	CTL_UINT, ", out ",	NULL, NULL, 0, 0 },
	{ "held",	CTL_UINT, "; held ",	NULL, NULL, 0, 0 },
	{ "open",	CTL_UINT, ", open ",	")", NULL, 0, 0 },
	{ "zones",	CTL_GROUP, "zones:",	NULL, " none", CTL_LINE, 0 },
	{ "tls_versions", CTL_GROUP, "tls:",	NULL, " none", CTL_LINE, 0 },
};
static const struct ctl_table_def sum_table = {
	"summary", CTL_ONE, NULL, CTL_COLS(sum_cols)
};

/* After the page: where it stands, and in text how to get the rest. */
static const struct ctl_col page_cols[] = {
	{ "offset",	CTL_UINT, NULL,		NULL, NULL, 0, 0 },
	{ "limit",	CTL_UINT, NULL,		NULL, NULL, 0, 0 },
	{ "returned",	CTL_UINT, NULL,		NULL, NULL, 0, 0 },
	{ "more",	CTL_UINT, NULL,		NULL, NULL, 0, 0 },
	{ NULL,		CTL_STR,  "",		NULL, NULL, CTL_OMIT, 0 },
};
static const struct ctl_table_def page_table = {
	NULL, CTL_INLINE, NULL, CTL_COLS(page_cols)
};

/* The summary row. */
static void
conn_summary(struct conn_query *q)
{
	struct ctl_table t;
	size_t i;

	ctl_table_begin(&t, q->r, &sum_table);
	ctl_table_row(&t);
	ctl_table_uint(&t, q->total);
	ctl_table_uint(&t, q->in);
	ctl_table_uint(&t, q->out);
	ctl_table_uint(&t, q->held);
	ctl_table_uint(&t, q->open);
	ctl_table_open(&t);
	for (i = 0; i < q->nzones; i++)
		ctl_table_pair(&t, q->zones[i].name, q->zones[i].n);
	ctl_table_close(&t);
	ctl_table_open(&t);
	for (i = 0; i < q->ntls; i++)
		ctl_table_pair(&t, q->tls[i].name, q->tls[i].n);
	ctl_table_close(&t);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
}

/* The page's numbers, and the hint line unless nosummary or all. */
static void
conn_page(struct conn_query *q)
{
	struct ctl_table t;
	size_t more;
	char *hint = NULL;

	more = q->total > q->offset + q->returned ?
	    q->total - q->offset - q->returned : 0;
	if (q->summary && !q->all && more > 0)
		hint = xasprintf("%zu more: sipedge-ctl connections --offset "
		    "%zu [--limit N], or --all", more, q->offset + q->returned);
	ctl_table_begin(&t, q->r, &page_table);
	ctl_table_row(&t);
	ctl_table_uint(&t, q->offset);
	ctl_table_uint(&t, q->limit);
	ctl_table_uint(&t, q->returned);
	ctl_table_uint(&t, more);
	ctl_table_str(&t, hint);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
	free(hint);
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
	struct conn_query *q;
	char *buf = xstrdup(args);

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
		conn_summary(q);
	ctl_table_begin(&q->t, r, &conn_table);
	gate_walk(d.gate, conn_row, q);
	ctl_table_end(&q->t);
	conn_page(q);
	free(q);
	free(buf);
	return 0;
}

