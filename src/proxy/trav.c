/*
 * trav.c: traversal zones (see trav.h): the zone list and the client side;
 * the server side is in trav_server.c.
 *
 * The client's flow is a link (link.c: resolve, connect, TLS and the
 * gate's verdict, keepalive with a pong deadline, backoff with jitter
 * moving on to the next peer); this file adds the step between ready and
 * up: the REGISTER that authenticates the flow (RFC 7616 digest), handled
 * here outside the transaction layer since it only ever travels on the
 * flow's own TLS connection (reliable, no retransmissions), one at a time,
 * its response matched by Call-ID and CSeq.  The binding lasts as long as
 * the connection: a new connection authenticates again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "proxy/digest.h"
#include "proxy/link.h"
#include "proxy/trav_int.h"
#include "proxy/zreg.h"
#include "sip/sip_msg.h"
#include "util/alarm.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define REG_TIMEOUT	10	/* s to wait for a REGISTER response */
#define REG_EXPIRES	"3600"

/* The traversal zone called name, or NULL. */
static struct tzone *
find(struct trav *tv, const char *name)
{
	size_t i;

	for (i = 0; i < tv->n; i++)
		if (strcmp(tv->v[i]->name, name) == 0)
			return tv->v[i];
	return NULL;
}

void
trav_set_failure(struct tzone *z, const char *why)
{
	free(z->failure);
	z->failure = why != NULL ? xstrdup(why) : NULL;
}

void
trav_zone_alarm(struct tzone *z, int raise, const char *why)
{
	char *key = xasprintf("zone %s", z->name);

	if (raise)
		alarm_raise(key, "traversal zone %s is down: %s", z->name, why);
	else
		alarm_clear(key);
	free(key);
}

/* --- client side ------------------------------------------------------ */

/* Send our REGISTER, with credentials when ch is the challenge. */
static void
client_register(struct tzone *z, const struct digest_params *ch)
{
	struct sip_conn *c = link_conn(z->link);
	const struct sip_origin *o = sip_conn_origin(c);
	const char *host = link_peer(z->link);
	char branch[32], rnd[17], cnonce[17], resp[DIGEST_HEX_MAX];
	char ha1[DIGEST_HEX_MAX], *auth = NULL, *uri, *msg, lhost[NET_ADDRSTRLEN + 2];
	struct timeval to = { REG_TIMEOUT, 0 };
	int sha;

	str_random_hex(rnd, 16);
	snprintf(branch, sizeof branch, "z9hG4bKtv%s", rnd);
	if (strchr(o->local_ip, ':') != NULL)
		snprintf(lhost, sizeof lhost, "[%s]", o->local_ip);
	else
		snprintf(lhost, sizeof lhost, "%s", o->local_ip);
	uri = strchr(host, ':') != NULL ? xasprintf("sip:[%s]", host) :
	    xasprintf("sip:%s", host);
	if (ch != NULL) {
		sha = digest_algorithm(ch->algorithm) == 1;
		str_random_hex(cnonce, 16);
		digest_ha1(sha, z->username, ch->realm, z->password, ha1);
		digest_response(sha, ha1, ch->nonce, "00000001", cnonce, "auth",
		    "REGISTER", uri, resp);
		auth = xasprintf("Authorization: Digest username=\"%s\", "
		    "realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", "
		    "algorithm=%s, cnonce=\"%s\", qop=auth, nc=00000001%s%s%s\r\n",
		    z->username, ch->realm, ch->nonce, uri, resp,
		    sha ? "SHA-256" : "MD5", cnonce, ch->opaque != NULL ?
		    ", opaque=\"" : "", ch->opaque != NULL ? ch->opaque : "",
		    ch->opaque != NULL ? "\"" : "");
		explicit_bzero(ha1, sizeof ha1);
	}
	msg = xasprintf("REGISTER %s SIP/2.0\r\n"
	    "Via: SIP/2.0/TLS %s:%d;branch=%s;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:%s@%s>;tag=%s\r\n"
	    "To: <sip:%s@%s>\r\n"
	    "Call-ID: %s\r\n"
	    "CSeq: %d REGISTER\r\n"
	    "Contact: <sip:%s@%s:%d;transport=tls;ob>\r\n"
	    "Expires: " REG_EXPIRES "\r\n"
	    "Supported: outbound\r\n"
	    "%s"
	    "User-Agent: sipedge/" PACKAGE_VERSION "\r\n"
	    "Content-Length: 0\r\n\r\n",
	    uri, lhost, o->local_port, branch,
	    z->username, uri + 4, z->from_tag, z->username, uri + 4,
	    z->call_id, ++z->cseq, z->username, lhost, o->local_port,
	    auth != NULL ? auth : "");
	sip_conn_send(c, msg, strlen(msg));
	explicit_bzero(msg, strlen(msg));
	free(msg);
	free(auth);
	free(uri);
	evtimer_add(z->regto, &to);
}

static void
regto_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tzone *z = arg;

	(void)fd;
	(void)what;
	link_fail(z->link, "no response to REGISTER within 10 s");
}

/* A response to our REGISTER. */
static int
client_response(struct tzone *z, osip_message_t *m)
{
	struct digest_params p;
	osip_www_authenticate_t *wa;
	char *value, *why;
	osip_list_iterator_t it;
	int found = 0;

	if (m->call_id == NULL || m->call_id->number == NULL ||
	    strcmp(m->call_id->number, z->call_id) != 0 || m->cseq == NULL ||
	    strcmp(m->cseq->method, "REGISTER") != 0 ||
	    atoi(m->cseq->number) != z->cseq)
		return 0;
	if (m->status_code < 200)
		return 1;
	z->answered = 1;
	evtimer_del(z->regto);
	if (m->status_code >= 200 && m->status_code < 300) {
		const char *ver = "", *cipher = "";

		/* The backoff starts over and the alarm clears only once the
		 * flow stayed up LINK_STABLE_SECS (client_stable): a server
		 * that accepts and then drops us must not be redialled at
		 * once. */
		link_up(z->link);
		z->since = time(NULL);
		trav_set_failure(z, NULL);
		sip_conn_tls_info(link_conn(z->link), &ver, &cipher);
		log_event(LOG_LVL_INFO, "trav", "flow up", "zone", z->name,
		    "peer", link_peer(z->link), "address",
		    link_address(z->link), "tls", ver, "cipher", cipher, NULL);
		return 1;
	}
	if (m->status_code == 401 && !z->authed) {
		/* Take the strongest challenge: SHA-256 before MD5. */
		memset(&p, 0, sizeof p);
		for (wa = osip_list_get_first(&m->www_authenticates, &it);
		    wa != NULL; wa = osip_list_get_next(&it)) {
			struct digest_params q;

			value = NULL;
			if (osip_www_authenticate_to_str(wa, &value) != 0 ||
			    value == NULL)
				continue;
			if (digest_parse(value, &q) == 0 && q.realm != NULL &&
			    q.nonce != NULL && digest_algorithm(q.algorithm) >= 0 &&
			    (!found || digest_algorithm(q.algorithm) >
			    digest_algorithm(p.algorithm))) {
				digest_params_clear(&p);
				p = q;
				found = 1;
			} else
				digest_params_clear(&q);
			osip_free(value);
		}
		if (!found) {
			link_fail(z->link, "the server's 401 has no usable Digest "
			    "challenge");
			return 1;
		}
		z->authed = 1;
		client_register(z, &p);
		digest_params_clear(&p);
		return 1;
	}
	why = m->status_code == 401 || m->status_code == 403 ?
	    xasprintf("authentication failed: wrong username or password "
	    "(the server answered %d)", m->status_code) :
	    xasprintf("REGISTER refused: %d %s", m->status_code,
	    m->reason_phrase != NULL ? m->reason_phrase : "");
	link_fail(z->link, why);
	free(why);
	return 1;
}

/*
 * The client's link changed state: once its connection is ready, REGISTER
 * (a new Call-ID per connection); when it fails, the zone says why, in
 * its status, the log and the alarm.
 */
static void
client_changed(struct link *l, enum link_state from, enum link_state to,
    const char *why, void *arg)
{
	struct tzone *z = arg;

	if (to == LINK_READY) {
		str_random_hex(z->call_id, 32);
		str_random_hex(z->from_tag, 16);
		z->cseq = 0;
		z->authed = 0;
		z->answered = 0;
		client_register(z, NULL);
		return;
	}
	if (to != LINK_BACKOFF)
		return;
	evtimer_del(z->regto);
	trav_set_failure(z, why);
	z->since = time(NULL);
	log_event(LOG_LVL_WARN, "trav", from == LINK_UP ? "flow down" :
	    "connect failed", "zone", z->name, "peer", link_peer(l), "reason",
	    why, NULL);
	trav_zone_alarm(z, 1, why);
}

/*
 * Why the flow's connection failed, in words a person can act on.  A
 * server that closes the connection after the TLS handshake, before it
 * answered REGISTER, most likely refused this node's certificate: a
 * sipedged edge checks the client's certificate after the handshake (which
 * always completes) and closes the connection without a word; its log
 * says why.
 */
static char *
client_explain(struct link *l, enum link_state st, const char *why,
    int stable, long lived, void *arg)
{
	struct tzone *z = arg;

	(void)l;
	(void)lived;
	switch (st) {
	case LINK_UP:
		if (stable)
			return xstrdup("the flow's connection closed");
		return xasprintf("the server closed the flow right after "
		    "accepting it (within %d s): another client with this "
		    "username may have replaced it, or the server refused "
		    "this node (its log says why)", LINK_STABLE_SECS);
	case LINK_READY:
		if (z->answered)
			return xstrdup("the connection closed while "
			    "authenticating");
		return xstrdup("the server closed it after the TLS handshake "
		    "without answering REGISTER: it most likely refused this "
		    "node's certificate (the server's log says why)");
	default:
		if (why != NULL && strstr(why, "closed before it was ready"))
			return xasprintf("%s: the server closed it after the "
			    "TLS handshake: it most likely refused this node's "
			    "certificate (the server's log says why)", why);
		return NULL;
	}
}

/* The flow stayed up LINK_STABLE_SECS: the alarm clears. */
static void
client_stable(struct link *l, void *arg)
{
	(void)l;
	trav_zone_alarm(arg, 0, NULL);
}

/* The client zone z's link (not started) for configured zone cz. */
static struct link *
client_link(struct trav *tv, struct tzone *z)
{
	struct link_opts o;

	memset(&o, 0, sizeof o);
	o.base = tv->base;
	o.t = tv->t;
	o.dns = tv->dns;
	o.zone = z->name;
	o.peers = (const char *const *)z->peers;
	o.npeers = z->npeers;
	o.transport = TP_TLS;
	o.port = z->port;
	o.port_set = 1;
	o.expected = z->peer_name;
	o.keepalive = z->keepalive;
	o.pong_timeout = z->pong_timeout;
	o.retry_max = z->retry_max;
	o.owner_step = 1;
	o.changed = client_changed;
	o.explain = client_explain;
	o.stable = client_stable;
	o.arg = z;
	return link_new(&o);
}

/* The client zone z (its settings bound), started. */
static void
client_start(struct trav *tv, struct tzone *z)
{
	z->regto = evtimer_new(tv->base, regto_cb, z);
	z->link = client_link(tv, z);
	link_start(z->link);
}

/* --- zones ------------------------------------------------------------ */

static void
tzone_free(struct tzone *z)
{
	link_free(z->link, "traversal zone changed or removed");
	if (z->server)
		trav_server_release(z, "traversal zone changed or removed");
	if (z->regto != NULL)
		event_free(z->regto);
	trav_zone_alarm(z, 0, NULL);
	zreg_unref(&z->zr);
	free(z->failure);
	free(z);
}

/* Whether the running zone z is what zc asks for. */
static int
same(const struct tzone *z, const struct zreg_zone *zc)
{
	const struct conf_zone *cz = zc->cz;

	if (strcmp(z->name, zc->name) != 0 ||
	    z->server != (zc->type == ZONE_TRAVERSAL_SERVER) ||
	    strcmp(z->username, cz->username) != 0 ||
	    (z->peer_name == NULL) != (zc->peer_name == NULL) ||
	    (z->peer_name != NULL && strcmp(z->peer_name, zc->peer_name) != 0))
		return 0;
	if (z->server)
		return 1;
	return zreg_same_peers(z->cfg, zc) &&
	    strcmp(z->password, cz->password) == 0 &&
	    z->keepalive == cz->keepalive_interval &&
	    z->pong_timeout == cz->pong_timeout &&
	    z->retry_max == cz->retry_max;
}

/* Read z's settings from zc of registry zr; z holds zr from now on. */
static void
tzone_bind(struct tzone *z, const struct zreg *zr, const struct zreg_zone *zc)
{
	const struct conf_zone *cz = zc->cz;

	z->cfg = zc;
	z->name = zc->name;
	z->server = zc->type == ZONE_TRAVERSAL_SERVER;
	z->username = cz->username;
	z->peer_name = zc->peer_name;
	z->port = cz->port;
	if (!z->server) {
		z->peers = zc->peers;
		z->npeers = zc->npeers;
		z->password = cz->password;
		z->keepalive = cz->keepalive_interval;
		z->pong_timeout = cz->pong_timeout;
		z->retry_max = cz->retry_max;
	}
	zreg_ref(zr);
	zreg_unref(&z->zr);
	z->zr = zr;
}

struct trav *
trav_new(struct event_base *base, struct sip_transport *t,
    struct evdns_base *dns)
{
	struct trav *tv = xcalloc(1, sizeof *tv);

	tv->base = base;
	tv->t = t;
	tv->dns = dns;
	tv->realm = "sipedge";
	if (RAND_bytes(tv->key, sizeof tv->key) != 1)
		str_random_hex((char *)tv->key, sizeof tv->key - 1);
	return tv;
}

void
trav_free(struct trav *tv)
{
	size_t i;

	if (tv == NULL)
		return;
	for (i = 0; i < tv->n; i++)
		tzone_free(tv->v[i]);
	free(tv->v);
	zreg_unref(&tv->zr);
	free(tv);
}

/* A new running zone for zc: a client starts connecting at once. */
static struct tzone *
tzone_new(struct trav *tv, const struct zreg *zr, const struct zreg_zone *zc)
{
	struct tzone *z = xcalloc(1, sizeof *z);

	z->tv = tv;
	tzone_bind(z, zr, zc);
	z->since = time(NULL);
	if (z->server)
		trav_zone_alarm(z, 1, "no traversal client connected");
	else
		client_start(tv, z);
	return z;
}

/* Take the traversal zones and credentials of zr (trav.h). */
void
trav_apply(struct trav *tv, const struct zreg *zr)
{
	struct tzone **nv = xcalloc(zr->n + 1, sizeof *nv);
	size_t n = 0, i, j;

	zreg_ref(zr);
	zreg_unref(&tv->zr);
	tv->zr = zr;
	trav_server_creds(tv, zr->conf);
	for (i = 0; i < zr->n; i++) {
		const struct zreg_zone *zc = &zr->v[i];

		if (zc->type != ZONE_TRAVERSAL_CLIENT &&
		    zc->type != ZONE_TRAVERSAL_SERVER)
			continue;
		for (j = 0; j < tv->n; j++) {
			if (tv->v[j] != NULL && same(tv->v[j], zc)) {
				tzone_bind(tv->v[j], zr, zc);
				nv[n++] = tv->v[j];	/* keeps its flow */
				tv->v[j] = NULL;
				break;
			}
		}
		if (j == tv->n)
			nv[n++] = tzone_new(tv, zr, zc);
	}
	for (j = 0; j < tv->n; j++)
		if (tv->v[j] != NULL)
			tzone_free(tv->v[j]);
	free(tv->v);
	tv->v = nv;
	tv->n = n;
}

int
trav_on_message(struct trav *tv, const struct sip_origin *o,
    osip_message_t *m)
{
	const char *lz;
	struct tzone *z;
	size_t i;

	if (o->conn == NULL)
		return 0;
	if (!sip_conn_outbound(o->conn)) {
		if ((lz = sip_listener_zone(o->listener)) == NULL ||
		    (z = find(tv, lz)) == NULL || !z->server)
			return 0;
		return trav_server_message(tv, z, o, m);
	}
	if (MSG_IS_REQUEST(m))
		return 0;
	for (i = 0; i < tv->n; i++) {
		z = tv->v[i];
		if (!z->server && link_conn(z->link) == o->conn)
			return client_response(z, m);
	}
	return 0;
}

int
trav_reads(const struct trav *tv, const struct sip_origin *o)
{
	const char *lz;
	size_t i;

	if (o->conn == NULL)
		return 0;
	if (!sip_conn_outbound(o->conn))
		return (lz = sip_listener_zone(o->listener)) != NULL &&
		    find((struct trav *)tv, lz) != NULL;
	for (i = 0; i < tv->n; i++)
		if (!tv->v[i]->server && link_conn(tv->v[i]->link) == o->conn)
			return 1;
	return 0;
}

/* The client zone z's flow when it is up, or NULL. */
static struct sip_conn *
client_flow(const struct tzone *z)
{
	return link_state(z->link) == LINK_UP ? link_conn(z->link) : NULL;
}

const char *
trav_conn_zone(struct trav *tv, const struct sip_conn *c)
{
	size_t i;

	for (i = 0; i < tv->n; i++) {
		struct tzone *z = tv->v[i];

		if ((z->server && z->flow != 0 && z->flow == sip_conn_id(c)) ||
		    (!z->server && client_flow(z) == c))
			return z->name;
	}
	return NULL;
}

int
trav_flow(struct trav *tv, const char *name, struct sip_conn **c,
    const char **why)
{
	struct tzone *z = find(tv, name);

	*c = NULL;
	*why = NULL;
	if (z == NULL)
		return -1;
	if (z->server) {
		if ((*c = trav_server_conn(tv, z)) != NULL)
			return 1;
		*why = "no traversal client is connected";
		return 0;
	}
	if ((*c = client_flow(z)) != NULL && sip_conn_usable(*c))
		return 1;
	*c = NULL;
	*why = z->failure != NULL ? z->failure :
	    "the traversal flow is not up yet";
	return 0;
}

/* What the client's status says of its link's state. */
static const char *
client_state_name(enum link_state s)
{
	switch (s) {
	case LINK_RESOLVING:	return "resolving";
	case LINK_CONNECTING:
	case LINK_TLS:		return "connecting";
	case LINK_READY:	return "authenticating";
	case LINK_UP:		return "connected";
	default:		return "waiting";
	}
}

void
trav_walk(struct trav *tv, void (*fn)(const struct trav_info *, void *),
    void *arg)
{
	struct trav_info in;
	struct sip_conn *c;
	size_t i;

	for (i = 0; i < tv->n; i++) {
		struct tzone *z = tv->v[i];

		memset(&in, 0, sizeof in);
		in.zone = z->name;
		in.type = z->server ? "traversal-server" : "traversal-client";
		in.since = z->since;
		in.tls_version = "";
		in.cipher = "";
		in.last_failure = z->failure != NULL ? z->failure : "";
		if (z->server) {
			c = trav_server_conn(tv, z);
			in.state = c != NULL ? "connected" : "waiting";
			in.peer = z->peer;
			in.reconnects = z->count;
		} else {
			c = client_flow(z);
			in.state = client_state_name(link_state(z->link));
			in.peer = link_address(z->link);
			in.reconnects = link_reconnects(z->link);
		}
		if (c != NULL)
			sip_conn_tls_info(c, &in.tls_version, &in.cipher);
		fn(&in, arg);
	}
}
