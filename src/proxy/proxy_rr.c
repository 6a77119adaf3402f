/*
 * proxy_rr.c: Record-Route and Route (RFC 3261 s.16.4, s.16.6 step 4,
 * DESIGN.md decision 14).  Every dialog-creating request gets two entries
 * (RFC 5658 style), one facing each side, each with one opaque parameter
 * sealed by proxy/rrtok; an in-dialog request that names this node in
 * Route must pop both entries of one genuine pair, the first facing where
 * it came from, and goes where the second says.  The token crypto is
 * rrtok.c; here are the entries, the Route processing on the parsed
 * message and on the text, and the checks of a pair.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_addr.h"
#include "proxy/proxy_int.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Room on the stack for a Record-Route line (a token is up to 512). */
#define RR_LINE_STACK	1024

/*
 * The Call-ID of m as one string (its dialog binding), as
 * osip_call_id_to_str prints it ("" without one): in buf (bufsz) when it
 * fits, else malloc'd.
 */
static char *
dialog_id(const osip_message_t *m, char *buf, size_t bufsz)
{
	const osip_call_id_t *c = m->call_id;

	if (c == NULL || c->number == NULL)
		return str_join(buf, bufsz, NULL, "", (char *)NULL);
	return str_join(buf, bufsz, NULL, c->number, c->host != NULL ? "@" :
	    "", c->host != NULL ? c->host : "", (char *)NULL);
}

/* The Call-ID of m as one string (its dialog binding); malloc'd. */
char *
proxy_rr_dialog_id(const osip_message_t *m)
{
	return dialog_id(m, NULL, 0);
}

/*
 * One Record-Route entry of ours after prefix:
 * <sip:host:port;transport=T;lr;set=TOKEN> with t sealed for the dialog
 * call_id, in buf (bufsz) when it fits, else malloc'd; NULL when it
 * cannot be sealed.
 */
static char *
rr_entry(const struct proxy *px, const char *prefix, const char *host,
    int port, int transport, const struct rrtok *t, const char *call_id,
    char *buf, size_t bufsz)
{
	char tok[RRTOK_TEXT_MAX], pt[24];

	if (rrtok_seal(px->keys, t, call_id, tok, sizeof tok) == -1) {
		log_event(LOG_LVL_ERROR, "proxy", "record-route failed",
		    "call_id", call_id, "zone", t->zone, "reason",
		    "cannot seal the entry (zone name too long?)", NULL);
		return NULL;
	}
	return str_join(buf, bufsz, NULL, prefix, "<sip:", host, ":",
	    str_int(port, pt), ";transport=", conf_transport_name(transport),
	    ";lr;" RRTOK_PARAM "=", tok, ">", (char *)NULL);
}

/* zone into t (cut to its room, as a token holds at most that). */
static void
set_zone(struct rrtok *t, const char *zone)
{
	size_t n = strlen(zone);

	if (n > sizeof t->zone - 1)
		n = sizeof t->zone - 1;
	memcpy(t->zone, zone, n);
	t->zone[n] = '\0';
}

/* Does URI u name this node (one of its names or addresses)? */
static int
names_us(const struct proxy *px, const osip_uri_t *u, const char *local)
{
	return u != NULL && proxy_is_us(px, u->host, local);
}

/*
 * Check the pair a (first popped) and b (last popped) of an in-dialog
 * request from o (zone src): NULL when it may be followed, else why not.
 */
static const char *
pair_check(const struct rrtok *a, const struct rrtok *b,
    const struct sip_origin *o, const char *src, char **detail)
{
	if (a->pair != b->pair || a->side == b->side)
		return "the Route entries naming sipedge are not one of its "
		    "Record-Route pairs";
	if (strcmp(a->zone, src) != 0) {
		*detail = xasprintf("first entry faces zone %s, the request "
		    "came from zone %s", a->zone, src);
		return "the first Route entry naming sipedge does not face "
		    "where the request came from";
	}
	if (a->flow != 0 && (o->conn == NULL || sip_conn_outbound(o->conn) ||
	    sip_conn_id(o->conn) != a->flow))
		return "the first Route entry naming sipedge belongs to "
		    "another connection";
	return NULL;
}

/* Out of dialog: the Route entries naming this node at the top go (a pair
   at most); the list's head each time: constant work per entry. */
static void
route_pop_ours(struct proxy *px, osip_message_t *m,
    const struct sip_origin *o, struct dialog_hop *dh)
{
	osip_route_t *r;

	while (dh->popped < 2 && (r = osip_list_get(&m->routes, 0)) != NULL &&
	    names_us(px, r->url, o->local_ip)) {
		osip_list_remove(&m->routes, 0);
		osip_route_free(r);
		dh->popped++;
	}
}

/*
 * The tokens of the first two entries naming this node, *ta and *tb
 * (NULL when absent); the first is the request-URI after a strict
 * router (dh->strict).  0, or -1 when the first Route entry is not ours.
 */
static int
route_tokens(struct proxy *px, osip_message_t *m, const struct sip_origin *o,
    struct dialog_hop *dh, const char **ta, const char **tb)
{
	osip_list_iterator_t it;
	osip_route_t *r, *second;

	*tb = NULL;
	r = osip_list_get_first(&m->routes, &it);
	if (osip_list_size(&m->routes) >= 2 &&
	    names_us(px, m->req_uri, o->local_ip) &&
	    proxy_uri_param(m->req_uri, RRTOK_PARAM) != NULL) {
		/* The previous hop was a strict router: our first entry is
		   the request-URI, the remote target the last Route. */
		dh->strict = 1;
		*ta = proxy_uri_param(m->req_uri, RRTOK_PARAM);
		second = r;
	} else if (r != NULL && names_us(px, r->url, o->local_ip)) {
		*ta = proxy_uri_param(r->url, RRTOK_PARAM);
		second = osip_list_get_next(&it);
	} else
		return -1;
	if (second != NULL && names_us(px, second->url, o->local_ip))
		*tb = proxy_uri_param(second->url, RRTOK_PARAM);
	return 0;
}

/* Open and check the pair ta, tb into *b: NULL, or why it is refused. */
static const char *
route_verify(struct proxy *px, osip_message_t *m, const struct sip_origin *o,
    const char *src, const char *ta, const char *tb, struct rrtok *b,
    char **detail)
{
	struct rrtok a;
	const char *why = NULL, *refused;
	char buf[256], *cid;

	if (ta == NULL)
		return "the Route names sipedge but carries no Record-Route "
		    "state of its own";
	if (tb == NULL)
		return "the Route holds one entry of a sipedge Record-Route "
		    "pair, not both";
	cid = dialog_id(m, buf, sizeof buf);
	if (rrtok_open(px->keys, ta, cid, &a, &why) == -1 ||
	    rrtok_open(px->keys, tb, cid, b, &why) == -1) {
		refused = "the Route names sipedge with state it did not "
		    "seal for this dialog";
		*detail = xstrdup(why);
	} else
		refused = pair_check(&a, b, o, src, detail);
	if (cid != buf)
		free(cid);
	return refused;
}

/* Pop the verified pair: after a strict router the last Route becomes
   the request-URI and one entry goes, else both top entries. */
static void
route_pop_pair(osip_message_t *m, struct dialog_hop *dh)
{
	osip_route_t *r;
	int n;

	if (dh->strict) {
		n = osip_list_size(&m->routes);
		r = osip_list_get(&m->routes, n - 1);
		osip_list_remove(&m->routes, n - 1);
		osip_uri_free(m->req_uri);
		m->req_uri = r->url;
		r->url = NULL;
		osip_route_free(r);
	}
	for (n = dh->strict ? 1 : 2; n > 0; n--) {
		r = osip_list_get(&m->routes, 0);
		osip_list_remove(&m->routes, 0);
		osip_route_free(r);
		dh->popped++;
	}
}

/*
 * s.16.4 with DESIGN.md decision 14.  Out of dialog (no To-tag): the Route
 * entries naming this node at the top (at most a pair) are removed and
 * nothing else is decided here.  In dialog, when the first Route entry
 * (or a strict router's request-URI) names this node: both entries of one
 * genuine pair of ours are popped, the first must face the request's
 * source (src zone, o's connection), the last says where it goes; when
 * they do not verify, dh->refused says why and nothing is popped.
 */
void
proxy_rr_route(struct proxy *px, osip_message_t *m,
    const struct sip_origin *o, const char *src, struct dialog_hop *dh)
{
	const char *ta, *tb;
	struct rrtok b;

	memset(dh, 0, sizeof *dh);
	dh->peer = -1;
	if (proxy_tag_of(m->to) == NULL) {
		route_pop_ours(px, m, o, dh);
		return;
	}
	if (route_tokens(px, m, o, dh, &ta, &tb) == -1)
		return;		/* not ours: the search rules decide */
	dh->ours = 1;
	dh->refused = route_verify(px, m, o, src, ta, tb, &b, &dh->detail);
	if (dh->refused != NULL)
		return;
	dh->zone = xstrdup(b.zone);
	dh->peer = b.peer;
	dh->flow = b.flow;
	dh->direct = b.direct;
	route_pop_pair(m, dh);
}

/* Free what proxy_rr_route() put in dh. */
void
proxy_rr_hop_clear(struct dialog_hop *dh)
{
	free(dh->zone);
	free(dh->detail);
}

/*
 * The same on the text (proxy_rr_route() ran on m, its parsed form): the
 * request line when a strict router put our entry there, and our Route
 * entries removed.
 */
void
proxy_rr_edit_routes(struct sip_edit *e, const osip_message_t *m,
    const struct dialog_hop *dh)
{
	char *uri;
	int i;

	if (dh->strict) {
		uri = proxy_uri_text(m->req_uri);
		proxy_edit_request_line(e, m->sip_method, uri);
		free(uri);
		sip_edit_remove_last(e, "Route");
	}
	for (i = 0; i < dh->popped; i++)
		sip_edit_remove_first(e, "Route");
}

/*
 * The Record-Route entry facing the caller of f (a request from o, zone):
 * into f->rr_in with a new pair id.  0, or -1 when it cannot be sealed.
 */
int
proxy_rr_caller(struct fwd *f, const struct sip_origin *o, const char *zone)
{
	struct proxy *px = f->px;
	char host[NET_ADDRSTRLEN + 2];
	struct rrtok t;
	int port;

	if (o->conn != NULL && sip_conn_outbound(o->conn))
		proxy_target_local_addr(px, o->transport, o->peer.sa.sa_family,
		    o->local_ip, host, sizeof host, &port);
	else {
		proxy_target_host(o->local_ip, host, sizeof host);
		port = o->local_port;
	}
	memset(&t, 0, sizeof t);
	t.side = RRTOK_CALLER;
	t.pair = f->pair = rrtok_pair_new();
	t.peer = -1;
	set_zone(&t, zone);
	/*
	 * A default-zone caller is reached again on its own connection
	 * (TCP/TLS) or, over UDP, at the request-URI's address; a zone's
	 * peers through the zone.
	 */
	if (strcmp(zone, CONF_DEFAULT_ZONE) == 0) {
		if (o->conn != NULL && !sip_conn_outbound(o->conn))
			t.flow = sip_conn_id(o->conn);
		else if (o->conn == NULL)
			t.direct = 1;
	}
	f->rr_in = rr_entry(px, "", host, port, o->transport, &t, f->dialog,
	    NULL, 0);
	return f->rr_in != NULL ? 0 : -1;
}

/* The line name value inserted above the first Record-Route of e. */
static void
insert_line(struct sip_edit *e, const char *name, const char *value)
{
	char buf[RR_LINE_STACK], *line;

	line = str_join(buf, sizeof buf, NULL, name, value, (char *)NULL);
	sip_edit_insert(e, "Record-Route", line);
	if (line != buf)
		free(line);
}

/*
 * Both entries of f on a branch's text e: the one facing the callee (its
 * zone and peer; our host:port and transport toward it) on top of the one
 * facing the caller, ours above any there.  0, or -1.
 */
int
proxy_rr_insert(struct fwd *f, struct sip_edit *e, const char *host,
    int port, int transport, const char *zone)
{
	struct rrtok t;
	char buf[RR_LINE_STACK], *line;

	memset(&t, 0, sizeof t);
	t.side = RRTOK_CALLEE;
	t.pair = f->pair;
	t.peer = f->cur_peer;
	set_zone(&t, zone != NULL ? zone : CONF_DEFAULT_ZONE);
	if ((line = rr_entry(f->px, "Record-Route: ", host, port, transport,
	    &t, f->dialog, buf, sizeof buf)) == NULL)
		return -1;
	/* Ours on top of any there: outbound first, then inbound. */
	insert_line(e, "Record-Route: ", f->rr_in);
	sip_edit_insert(e, "Record-Route", line);
	if (line != buf)
		free(line);
	return 0;
}
