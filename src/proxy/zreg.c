/*
 * zreg.c: the zone registry of one configuration (see zreg.h).  Built
 * once per configuration and never changed; it must not touch the loop,
 * sockets or files.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/zreg.h"
#include "tls/tls_rev.h"
#include "util/xmalloc.h"

/* Fill z from the configured zone cz of c. */
static void
zone_from_conf(const struct conf *c, const struct conf_zone *cz,
    struct zreg_zone *z)
{
	z->name = cz->name;
	z->type = cz->type;
	z->transport = cz->transport;
	z->port = cz->port ? cz->port : conf_default_port(cz->transport);
	z->port_set = cz->port_set;
	z->peers = cz->peers.v;
	z->npeers = cz->peers.n;
	z->peer_name = cz->peer_name;
	z->tls_verify = cz->tls_verify;
	z->accept = 1;
	z->log_messages = cz->log_messages;
	tls_peer_policy_from_conf(c, cz, TLS_PEER_CLIENT, &z->pp);
	rev_policy_from_conf(c, cz, &z->rp);
	z->cz = cz;
}

/* The default zone: peers of no zone. */
static void
default_from_conf(const struct conf *c, struct zreg_zone *z)
{
	z->name = CONF_DEFAULT_ZONE;
	z->type = -1;
	z->transport = TP_TLS;
	z->peers = c->def_peer_names.v;
	z->npeers = c->def_peer_names.n;
	z->tls_verify = c->def_tls_verify;
	z->accept = c->def_accept;
	z->log_messages = c->def_log_messages;
	tls_peer_policy_from_conf(c, NULL, TLS_PEER_CLIENT, &z->pp);
	rev_policy_from_conf(c, NULL, &z->rp);
}

/*
 * The revocation settings of c, in the units the fetcher, the engine and
 * the distribution points use; the cache directory is allocated.
 */
static void
rev_from_conf(const struct conf *c, struct rev_settings *rs)
{
	rs->fetch.connect_timeout_ms = c->rev_connect_timeout * 1000L;
	rs->fetch.timeout_ms = c->rev_timeout * 1000L;
	rs->fetch.max_size = (size_t)c->rev_max_download;
	rs->fetch.max_redirects = 3;
	rs->ocsp_cache_max = (size_t)c->rev_ocsp_cache_size;
	rs->https_ca_file = c->rev_https_ca_file.path;
	rs->dp_urls = c->rev_dps.v;
	rs->ndp = c->rev_dps.n;
	rs->dp_minute = c->rev_update_minute;
	rs->dp_cache_dir = tls_rev_dp_cache_dir(c);
}

/* The registry of c: every zone in order, then the default zone. */
struct zreg *
zreg_new(const struct conf *c)
{
	struct zreg *zr = xcalloc(1, sizeof *zr);
	size_t i;

	zr->conf = c;
	zr->v = xcalloc(c->nzones + 1, sizeof *zr->v);
	for (i = 0; i < c->nzones; i++)
		zone_from_conf(c, &c->zones[i], &zr->v[zr->n++]);
	default_from_conf(c, &zr->def);
	rev_from_conf(c, &zr->rev);
	return zr;
}

/* Free zr (not the configuration it points into). */
void
zreg_free(struct zreg *zr)
{
	if (zr == NULL)
		return;
	free(zr->v);
	free((char *)zr->rev.dp_cache_dir);
	free(zr);
}

/* Count references on owner from now on. */
void
zreg_set_owner(struct zreg *zr, void *owner, void (*hold)(void *),
    void (*release)(void *))
{
	zr->owner = owner;
	zr->hold = hold;
	zr->release = release;
}

/* One more reference, on the owner. */
const struct zreg *
zreg_ref(const struct zreg *zr)
{
	if (zr != NULL && zr->hold != NULL)
		zr->hold(zr->owner);
	return zr;
}

/* One reference less, on the owner; *zrp cleared. */
void
zreg_unref(const struct zreg **zrp)
{
	const struct zreg *zr = *zrp;

	*zrp = NULL;
	if (zr != NULL && zr->release != NULL)
		zr->release(zr->owner);
}

/* The zone called name, in order. */
const struct zreg_zone *
zreg_find(const struct zreg *zr, const char *name)
{
	size_t i;

	if (zr == NULL || name == NULL)
		return NULL;
	for (i = 0; i < zr->n; i++)
		if (strcmp(zr->v[i].name, name) == 0)
			return &zr->v[i];
	return NULL;
}

/* RFC 5922: the zone's subject name, else the peer as configured. */
const char *
zreg_expected(const struct zreg_zone *z, const char *peer)
{
	return z->peer_name != NULL ? z->peer_name : peer;
}

/* Whether two optional strings are equal. */
static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Same name, type, transport, port, peers and expected identity. */
int
zreg_same_peers(const struct zreg_zone *a, const struct zreg_zone *b)
{
	size_t i;

	if (strcmp(a->name, b->name) != 0 || a->type != b->type ||
	    a->transport != b->transport || a->port != b->port ||
	    a->port_set != b->port_set || a->npeers != b->npeers ||
	    !same_str(a->peer_name, b->peer_name))
		return 0;
	for (i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i], b->peers[i]) != 0)
			return 0;
	return 1;
}

/* Whether the IP literal text is sa's address (0 for a name). */
static int
ip_is(const char *text, const struct sockaddr *sa)
{
	unsigned char b[16];

	if (sa->sa_family == AF_INET && inet_pton(AF_INET, text, b) == 1)
		return memcmp(b, &((const struct sockaddr_in *)sa)->sin_addr,
		    4) == 0;
	if (sa->sa_family == AF_INET6 && inet_pton(AF_INET6, text, b) == 1)
		return memcmp(b, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    16) == 0;
	return 0;
}

/* Whether zone z may classify connections of transport tp by address. */
static int
by_address(const struct zreg_zone *z, int tp)
{
	return (z->type == ZONE_NEIGHBOR || z->type == ZONE_TRAVERSAL_CLIENT) &&
	    (tp < 0 || z->transport == tp);
}

/* The zone name of in's transport, or NULL. */
static const struct zreg_zone *
find_tp(const struct zreg *zr, const char *name, int tp)
{
	const struct zreg_zone *z = zreg_find(zr, name);

	return z != NULL && (tp < 0 || z->transport == tp) ? z : NULL;
}

/* By address: an IP literal peer first, then a resolved FQDN peer. */
static void
classify_address(const struct zreg *zr, const struct zreg_in *in,
    struct zreg_class *out)
{
	const char *zn, *peer;
	size_t i, j;

	for (i = 0; i < zr->n; i++) {
		if (!by_address(&zr->v[i], in->transport))
			continue;
		for (j = 0; j < zr->v[i].npeers; j++)
			if (ip_is(zr->v[i].peers[j], in->peer)) {
				out->zone = &zr->v[i];
				out->peer = zr->v[i].peers[j];
				return;
			}
	}
	if (in->resolved == NULL ||
	    (peer = in->resolved(in->arg, in->peer, &zn)) == NULL)
		return;
	out->zone = find_tp(zr, zn, in->transport);
	if (out->zone != NULL && by_address(out->zone, in->transport))
		out->peer = peer;
	else
		out->zone = NULL;
}

/* The one classification of an inbound connection (zreg.h). */
void
zreg_classify(const struct zreg *zr, const struct zreg_in *in,
    struct zreg_class *out)
{
	memset(out, 0, sizeof *out);
	out->name = CONF_DEFAULT_ZONE;
	if (zr == NULL)
		return;		/* no configuration yet: the default zone */
	if (in->outbound) {
		/* We connected to a zone's peer: it proves what we asked. */
		out->zone = find_tp(zr, in->outbound_zone, in->transport);
		out->name = in->outbound_zone != NULL ? in->outbound_zone :
		    CONF_DEFAULT_ZONE;
		out->expected = in->outbound_expected;
		return;
	}
	if (in->listener_zone != NULL) {
		/* A traversal-server zone's own port: its client, whatever its
		 * address, proves the zone's subject name. */
		out->zone = find_tp(zr, in->listener_zone, in->transport);
		out->name = in->listener_zone;
		out->gone = out->zone == NULL;
		out->expected = out->zone != NULL ? out->zone->peer_name : NULL;
		return;
	}
	if (in->peer != NULL)
		classify_address(zr, in, out);
	out->name = out->zone != NULL ? out->zone->name : CONF_DEFAULT_ZONE;
	out->expected = out->zone != NULL ? zreg_expected(out->zone,
	    out->peer) : NULL;
}
