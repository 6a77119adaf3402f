/*
 * proxy_target.c: where a request goes.  The targets of a request (the
 * search rules for one out of dialog, the sealed Route pair for one in
 * dialog), and the next hop of each: a zone's active peers in order (the
 * dialog's own peer first), a traversal zone's flow, the caller's
 * connection, or the request-URI's own address.  The same resolution
 * serves the ACK for a 2xx.  Reads the zones, the traversal flows and
 * the transport's connections; sends nothing itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/net_addr.h"
#include "proxy/proxy_int.h"
#include "proxy/route.h"
#include "proxy/trav.h"
#include "proxy/zone.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* Free what target t holds. */
void
proxy_target_clear(struct target *t)
{
	free(t->zone);
	free(t->uri);
	free(t->rule);
}

/* a, b and c joined into buf (bufsz > 0), cut to fit as snprintf cuts. */
static void
cut_join(char *buf, size_t bufsz, const char *a, const char *b,
    const char *c)
{
	char *s = str_join(buf, bufsz, NULL, a, b, c, (char *)NULL);

	if (s == buf)
		return;
	memcpy(buf, s, bufsz - 1);
	buf[bufsz - 1] = '\0';
	free(s);
}

/* "ip" or "[ip]" for a URI or Via. */
void
proxy_target_host(const char *ip, char *buf, size_t bufsz)
{
	int v6 = strchr(ip, ':') != NULL;

	cut_join(buf, bufsz, v6 ? "[" : "", ip, v6 ? "]" : "");
}

/* This node's address for transport toward peer family af: ip and port. */
int
proxy_target_local_addr(struct proxy *px, int transport, int af,
    const char *fallback_ip, char *host, size_t hostsz, int *port)
{
	char ip[NET_ADDRSTRLEN];

	if (sip_transport_local(px->t, transport, af, ip, sizeof ip,
	    port) == -1 && sip_transport_local(px->t, transport, AF_UNSPEC,
	    ip, sizeof ip, port) == -1) {
		if (fallback_ip == NULL)
			return -1;
		cut_join(ip, sizeof ip, fallback_ip, "", "");
		*port = conf_default_port(transport);
	}
	proxy_target_host(ip, host, hostsz);
	return 0;
}

/*
 * The address of an in-dialog request-URI (sip:ip[:port][;transport=]),
 * for a target with no zone and no flow: 0 with dest filled, -1.
 */
static int
uri_dest(const osip_uri_t *u, struct txn_dest *dest)
{
	const char *tp = proxy_uri_param(u, "transport");
	int port;

	memset(dest, 0, sizeof *dest);
	dest->transport = TP_UDP;
	if (tp != NULL && strcasecmp(tp, "tcp") == 0)
		dest->transport = TP_TCP;
	else if ((tp != NULL && strcasecmp(tp, "tls") == 0) ||
	    (u->scheme != NULL && strcasecmp(u->scheme, "sips") == 0))
		dest->transport = TP_TLS;
	port = u->port != NULL ? atoi(u->port) :
	    conf_default_port(dest->transport);
	if (u->host == NULL || net_addr_parse(u->host, port, &dest->addr,
	    &dest->addrlen) == -1)
		return -1;
	return 0;
}

/* dest: toward connection c with transport, its id as the flow. */
static void
conn_dest(struct sip_conn *c, int transport, struct txn_dest *dest)
{
	const struct sip_origin *co = sip_conn_origin(c);

	memset(dest, 0, sizeof *dest);
	dest->transport = transport;
	memcpy(&dest->addr, &co->peer, co->peerlen);
	dest->addrlen = co->peerlen;
	dest->flow = (void *)(uintptr_t)sip_conn_id(c);
}

/* dest: toward the zone peer h (its connection's id as the flow). */
static void
hop_dest(const struct zone_hop *h, struct txn_dest *dest)
{
	memset(dest, 0, sizeof *dest);
	dest->transport = h->transport;
	memcpy(&dest->addr, &h->ss, h->sl);
	dest->addrlen = h->sl;
	dest->flow = h->conn != NULL ?
	    (void *)(uintptr_t)sip_conn_id(h->conn) : NULL;
}

/* An in-dialog target on the caller's connection: 0 when under way. */
static int
try_flow(struct fwd *f, const struct target *tg)
{
	struct txn_dest dest;
	struct sip_conn *c;

	f->ti++;
	if ((c = sip_transport_conn(f->px->t, tg->flow)) == NULL) {
		proxy_fwd_fail(f, 480, "the caller's connection closed");
		return -1;
	}
	conn_dest(c, sip_conn_transport(c), &dest);
	f->cur_peer = -1;
	return proxy_fwd_send_branch(f, tg, &dest, tg->zone,
	    sip_conn_origin(c)->peer_str, sip_conn_origin(c)->local_ip);
}

/*
 * The next active peer of tg's zone into h, the dialog's own peer first
 * (then all, in order): 1, or what zones_hop() says (0 none active, -1
 * no peers).
 */
static int
zone_pick(struct fwd *f, struct target *tg, struct zone_hop *h)
{
	struct zones *zs = f->px->zs;
	int r = -2;

	if (tg->peer >= 0 && f->peer_from == 0) {
		/* In-dialog: the peer the dialog is with. */
		r = zones_hop(zs, tg->zone, (size_t)tg->peer, h);
		if (r == 1 && h->index != (size_t)tg->peer)
			r = -2;
		tg->peer = -1;
	}
	if (r == 1) {
		f->peer_from = 0;	/* then all, in order */
		return r;
	}
	r = zones_hop(zs, tg->zone, f->peer_from, h);
	if (r == 1)
		f->peer_from = h->index + 1;
	return r;
}

/*
 * tg's zone as a traversal zone: 0 when a branch is under way on its
 * flow, 1 when it was tried (the send failed, or the zone is down), -1
 * when it is not one.
 */
static int
try_trav(struct fwd *f, const struct target *tg)
{
	struct txn_dest dest;
	struct sip_conn *c;
	const char *tw = NULL;
	char *why;
	int r;

	r = trav_flow(f->px->trav, tg->zone, &c, &tw);
	if (r == 1) {
		f->peer_from = 1;
		conn_dest(c, TP_TLS, &dest);
		f->cur_peer = -1;
		return proxy_fwd_send_branch(f, tg, &dest, tg->zone,
		    sip_conn_origin(c)->peer_str,
		    sip_conn_origin(c)->local_ip) == 0 ? 0 : 1;
	}
	if (r == 0) {
		why = xasprintf("traversal zone %s is down: %s", tg->zone, tw);
		proxy_fwd_fail(f, 503, why);
		free(why);
		f->ti++;
		f->peer_from = 0;
		return 1;
	}
	return -1;
}

/* A zone target: its next active peer, or its traversal flow; 0 when
   under way, -1 to go on (the next peer, or the next target). */
static int
try_zone(struct fwd *f, struct target *tg)
{
	struct txn_dest dest;
	struct zone_hop h;
	char *why;
	int r;

	r = zone_pick(f, tg, &h);
	if (r == 1) {
		f->cur_peer = (int)h.index;
		hop_dest(&h, &dest);
		return proxy_fwd_send_branch(f, tg, &dest, tg->zone, h.peer,
		    h.conn != NULL ? sip_conn_origin(h.conn)->local_ip : NULL);
	}
	if (r == -1 && f->peer_from == 0 && f->px->trav != NULL) {
		switch (try_trav(f, tg)) {
		case 0:
			return 0;
		case 1:
			return -1;
		}
	}
	if (f->peer_from == 0 || f->fail_status == 0) {
		why = r == -1 ? xasprintf("zone %s has no peers to forward to",
		    tg->zone) : xasprintf("zone %s is down: no peer is active",
		    tg->zone);
		proxy_fwd_fail(f, 503, why);
		free(why);
	}
	f->ti++;
	f->peer_from = 0;
	return -1;
}

/* In-dialog, toward the request-URI's own address: only when our sealed
   entry says so.  0 when under way. */
static int
try_direct(struct fwd *f, const struct target *tg)
{
	struct txn_dest dest;

	f->ti++;
	if (!tg->direct) {
		proxy_fwd_fail(f, 404, "no route");
		return -1;
	}
	if (uri_dest(f->req->req_uri, &dest) == -1 ||
	    dest.transport != TP_UDP ||
	    proxy_is_us(f->px, f->req->req_uri->host, NULL)) {
		proxy_fwd_fail(f, 480, "no connection to the request-URI's "
		    "address");
		return -1;
	}
	f->cur_peer = -1;
	return proxy_fwd_send_branch(f, tg, &dest, CONF_DEFAULT_ZONE,
	    "request-URI", NULL);
}

/* Try the next peer / target until a branch is under way or none is left. */
void
proxy_target_next(struct fwd *f)
{
	struct target *tg;
	int r;

	while (!f->final && f->st != NULL) {
		if (f->cancelled) {
			proxy_fwd_final(f, 487, NULL);
			return;
		}
		if (f->ti >= f->ntg) {
			if (f->fail_status == 0)
				proxy_fwd_final(f, 404, "no route");
			else
				proxy_fwd_final(f, f->fail_status,
				    f->fail_reason);
			return;
		}
		tg = &f->tg[f->ti];
		if (tg->flow != 0)
			r = try_flow(f, tg);
		else if (tg->zone != NULL)
			r = try_zone(f, tg);
		else
			r = try_direct(f, tg);
		if (r == 0)
			return;
	}
}

/* "name (priority N)" or "priority N" for the log; malloc'd. */
static char *
rule_label(const struct conf_rule *ru)
{
	char n[24];

	str_int(ru->priority, n);
	if (ru->name != NULL)
		return str_join(NULL, 0, NULL, ru->name, " (priority ", n, ")",
		    (char *)NULL);
	return str_join(NULL, 0, NULL, "priority ", n, (char *)NULL);
}

/* The targets of an out-of-dialog request from search rules. */
int
proxy_target_rules(struct fwd *f, char **cause)
{
	struct route_target rt;
	struct route *r;
	char *ruri = proxy_uri_text(f->req->req_uri);

	r = route_new(f->zr->conf, ruri, f->src_zone, f->method, cause);
	free(ruri);
	if (r == NULL)
		return -1;
	while (route_next(r, &rt) == 1) {
		struct target *t;

		f->tg = xreallocarray(f->tg, f->ntg + 1, sizeof *f->tg);
		t = &f->tg[f->ntg++];
		memset(t, 0, sizeof *t);
		t->peer = -1;
		t->zone = xstrdup(rt.zone);
		t->uri = rt.rewritten ? xstrdup(rt.uri) : NULL;
		t->rule = rule_label(rt.rule);
	}
	if (f->ntg == 0 && route_skipped(r) != NULL)
		proxy_fwd_fail(f, 404, route_skipped(r));
	route_free(r);
	return 0;
}

/*
 * The single target of an in-dialog request: where the last entry popped
 * says (the caller's connection, the request-URI's own address, or a zone
 * that still exists).  0, or -1 with nothing to try (*why).
 */
int
proxy_target_dialog(struct fwd *f, const struct dialog_hop *dh,
    const char **why)
{
	struct target *t;
	struct zone_hop h;
	struct sip_conn *tc;
	const char *tw;

	if (dh->flow == 0 && !dh->direct && (dh->zone == NULL ||
	    (zones_hop(f->px->zs, dh->zone, 0, &h) < 0 &&
	    (f->px->trav == NULL ||
	    trav_flow(f->px->trav, dh->zone, &tc, &tw) < 0)))) {
		*why = "the dialog's zone no longer exists";
		return -1;
	}
	f->tg = xcalloc(1, sizeof *f->tg);
	f->ntg = 1;
	t = &f->tg[0];
	t->peer = dh->peer;
	if (dh->flow != 0)
		t->flow = dh->flow;
	else if (dh->direct)
		t->direct = 1;
	else
		t->zone = xstrdup(dh->zone);
	return 0;
}

/* Where an ACK that follows our Record-Route goes (dh verified). */
static int
ack_dialog_dest(struct proxy *px, osip_message_t *m,
    const struct dialog_hop *dh, struct txn_dest *dest, struct sip_conn **cp,
    const char **why)
{
	struct zone_hop h;
	const char *tw = NULL;

	if (dh->flow != 0) {
		if ((*cp = sip_transport_conn(px->t, dh->flow)) == NULL) {
			*why = "the caller's connection closed";
			return -1;
		}
		conn_dest(*cp, sip_conn_transport(*cp), dest);
	} else if (dh->direct) {
		if (uri_dest(m->req_uri, dest) == -1 ||
		    dest->transport != TP_UDP ||
		    proxy_is_us(px, m->req_uri->host, NULL)) {
			*why = "no connection to the request-URI's address";
			return -1;
		}
	} else if ((dh->peer >= 0 && zones_hop(px->zs, dh->zone,
	    (size_t)dh->peer, &h) == 1 && h.index == (size_t)dh->peer) ||
	    zones_hop(px->zs, dh->zone, 0, &h) == 1) {
		hop_dest(&h, dest);
		*cp = h.conn;
	} else if (px->trav != NULL &&
	    trav_flow(px->trav, dh->zone, cp, &tw) == 1)
		conn_dest(*cp, TP_TLS, dest);
	else {
		*why = "the dialog's zone has no active peer";
		return -1;
	}
	return 0;
}

/* An ACK that did not follow our Record-Route: the first target of the
   search rules, as its INVITE went (its zone into dh->zone). */
static int
ack_rule_dest(struct proxy *px, osip_message_t *m, const char *src,
    struct dialog_hop *dh, struct txn_dest *dest, struct sip_conn **cp,
    const char **why)
{
	struct route_target rt;
	struct route *r;
	struct zone_hop h;
	char *ruri = proxy_uri_text(m->req_uri), *cause = NULL;

	r = route_new(proxy_conf(px), ruri, src, "ACK", &cause);
	free(ruri);
	free(cause);
	if (r == NULL || route_next(r, &rt) != 1 ||
	    zones_hop(px->zs, rt.zone, 0, &h) != 1) {
		route_free(r);
		*why = "no route";
		return -1;
	}
	dh->zone = xstrdup(rt.zone);
	route_free(r);
	hop_dest(&h, dest);
	*cp = h.conn;
	return 0;
}

/*
 * Where the ACK m for a 2xx from zone src goes (s.16.7 / RFC 6026): where
 * its verified Route pair says (dh), else the first target of the search
 * rules.  0 with dest and *cp (the connection, or NULL for UDP), or -1
 * with *why.
 */
int
proxy_target_ack(struct proxy *px, osip_message_t *m, const char *src,
    struct dialog_hop *dh, struct txn_dest *dest, struct sip_conn **cp,
    const char **why)
{
	memset(dest, 0, sizeof *dest);
	*cp = NULL;
	if (dh->ours)
		return ack_dialog_dest(px, m, dh, dest, cp, why);
	return ack_rule_dest(px, m, src, dh, dest, cp, why);
}
