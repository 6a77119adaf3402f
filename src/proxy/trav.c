/*
 * trav.c: traversal zones, client and server side (see trav.h).
 *
 * The REGISTER that authenticates a flow is handled here, outside the
 * transaction layer: it only ever travels on the flow's own TLS
 * connection (reliable, no retransmissions), one at a time, and its
 * response is matched by Call-ID and CSeq.  The binding lasts as long as
 * the connection: a new connection authenticates again.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/rand.h>

#include "net/net_addr.h"
#include "proxy/digest.h"
#include "proxy/trav.h"
#include "proxy/zone.h"
#include "proxy/zreg.h"
#include "sip/sip_msg.h"
#include "util/alarm.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define NONCE_MAX_AGE	300	/* s a challenge stays good */
#define REG_TIMEOUT	10	/* s to wait for a REGISTER response */
#define REG_EXPIRES	"3600"

enum tc_state {
	TC_IDLE,		/* waiting to try again */
	TC_RESOLVING,
	TC_CONNECTING,		/* TCP + TLS + the gate's verdict */
	TC_REGISTERING,		/* REGISTER sent, challenged or not */
	TC_UP
};

static const char *const tc_names[] = {
	"waiting", "resolving", "connecting", "authenticating", "connected"
};

struct tzone {
	struct trav		*tv;
	/* The settings, read from the zone registry it holds a reference
	 * to; the strings point into it. */
	const struct zreg	*zr;
	const struct zreg_zone	*cfg;
	const char		*name;
	int			 server;	/* traversal-server */
	const char		*username;
	const char		*peer_name;	/* expected identity, or NULL */
	time_t			 since;
	char			*failure;	/* last failure, or NULL */
	unsigned long		 count;		/* reconnects / binds */
	char			 peer[NET_ADDRSTRLEN + 8];

	/* server */
	unsigned long long	 flow;		/* bound connection id, 0 */

	/* client */
	char *const		*peers;
	size_t			 npeers;
	size_t			 pi;		/* peer being tried */
	int			 port;
	const char		*password;
	int			 keepalive;
	int			 pong_timeout;
	int			 retry_max;
	enum tc_state		 state;
	int			 attempts;	/* failures in a row */
	struct sip_conn		*conn;
	struct evdns_getaddrinfo_request *dnsreq;
	int			 dns_done;
	struct event		*retry;
	struct event		*ka;		/* ping */
	struct event		*pong;		/* pong deadline */
	struct event		*regto;		/* REGISTER timeout */
	struct event		*stable;	/* ZONE_STABLE_SECS after up */
	time_t			 up_at;		/* monotonic s, when it came up */
	struct timeval		 ping_at;
	char			 call_id[40];
	char			 from_tag[20];
	int			 cseq;
	int			 authed;	/* sent credentials already */
	int			 have_tls;
};

struct trav {
	struct event_base	*base;
	struct sip_transport	*t;
	struct evdns_base	*dns;
	struct tzone		**v;
	size_t			 n;
	const struct zreg	*zr;		/* realm, credentials (a ref) */
	const char		*realm;
	const struct conf_cred	*creds;
	size_t			 ncreds;
	unsigned char		 key[32];	/* nonces */
};

static void	tc_start(struct tzone *);
static void	tc_fail(struct tzone *, const char *);

static struct tzone *
find(struct trav *tv, const char *name)
{
	size_t i;

	for (i = 0; i < tv->n; i++)
		if (strcmp(tv->v[i]->name, name) == 0)
			return tv->v[i];
	return NULL;
}

static void
set_failure(struct tzone *z, const char *why)
{
	free(z->failure);
	z->failure = why != NULL ? xstrdup(why) : NULL;
}

static void
zone_alarm(struct tzone *z, int raise, const char *why)
{
	char *key = xasprintf("zone %s", z->name);

	if (raise)
		alarm_raise(key, "traversal zone %s is down: %s", z->name, why);
	else
		alarm_clear(key);
	free(key);
}

/* --- server side ------------------------------------------------------ */

static void
server_flow_closed(struct sip_conn *c, void *arg)
{
	struct tzone *z = arg;

	if (z->flow != sip_conn_id(c))
		return;
	z->flow = 0;
	z->since = time(NULL);
	z->peer[0] = '\0';
	set_failure(z, "the client's connection closed");
	log_event(LOG_LVL_WARN, "trav", "flow down", "zone", z->name, "reason",
	    "the client's connection closed", NULL);
	zone_alarm(z, 1, "no traversal client connected");
}

static void
reply(struct trav *tv, const struct sip_origin *o, osip_message_t *m,
    int status, const char *const *hdrs)
{
	struct sip_src src = { o->peer_ip, o->peer_port };
	char tag[17], *text;
	size_t len;

	str_random_hex(tag, 16);
	(void)tv;
	if ((text = sip_msg_response(m, &src, status, NULL, tag, hdrs,
	    &len)) != NULL) {
		sip_transport_reply(o, text, len);
		free(text);
	}
}

/* 401 with a challenge for each algorithm, SHA-256 first (RFC 7616). */
static void
challenge(struct trav *tv, const struct sip_origin *o, osip_message_t *m,
    int stale)
{
	char nonce[96], *sha, *md5;
	const char *hdrs[7];

	digest_nonce(tv->key, sizeof tv->key, time(NULL), nonce, sizeof nonce);
	sha = xasprintf("Digest realm=\"%s\", nonce=\"%s\", algorithm=SHA-256, "
	    "qop=\"auth\"%s", tv->realm, nonce, stale ? ", stale=true" : "");
	md5 = xasprintf("Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, "
	    "qop=\"auth\"%s", tv->realm, nonce, stale ? ", stale=true" : "");
	hdrs[0] = "WWW-Authenticate";
	hdrs[1] = sha;
	hdrs[2] = "WWW-Authenticate";
	hdrs[3] = md5;
	hdrs[4] = "Server";
	hdrs[5] = "sipedge/" PACKAGE_VERSION;
	hdrs[6] = NULL;
	reply(tv, o, m, 401, hdrs);
	free(sha);
	free(md5);
}

static void
refuse(struct trav *tv, struct tzone *z, const struct sip_origin *o,
    osip_message_t *m, const char *why)
{
	char *w = xasprintf("399 %s \"%s\"", tv->realm, why);
	const char *hdrs[] = { "Warning", w, NULL };

	set_failure(z, why);
	log_event(LOG_LVL_WARN, "trav", "client refused", "zone", z->name,
	    "peer", o->peer_str, "reason", why, NULL);
	reply(tv, o, m, 403, hdrs);
	free(w);
}

/* Check the Authorization of a REGISTER: NULL when good, else why not. */
static const char *
check_auth(struct trav *tv, struct tzone *z, osip_message_t *m, int *stale)
{
	osip_authorization_t *a = NULL;
	struct digest_params p;
	const char *why = NULL;
	char resp[DIGEST_HEX_MAX];
	char *value = NULL;
	int algo, i, r;
	size_t k;

	*stale = 0;
	/* The header back as text, read by our own Digest parser. */
	if (osip_message_get_authorization(m, 0, &a) < 0 || a == NULL)
		return "";
	if (osip_authorization_to_str(a, &value) != 0 || value == NULL)
		return "the Authorization header cannot be read";
	r = digest_parse(value, &p);
	osip_free(value);
	if (r == -1)
		return "the Authorization header is not a valid Digest value";
	if ((algo = digest_algorithm(p.algorithm)) == -1) {
		why = "unsupported digest algorithm (use SHA-256 or MD5)";
		goto out;
	}
	if (p.username == NULL || p.realm == NULL || p.nonce == NULL ||
	    p.uri == NULL || p.response == NULL) {
		why = "the Authorization header lacks username, realm, nonce, "
		    "uri or response";
		goto out;
	}
	if (strcmp(p.realm, tv->realm) != 0) {
		why = "wrong realm";
		goto out;
	}
	if ((i = digest_nonce_check(tv->key, sizeof tv->key, p.nonce,
	    time(NULL), NONCE_MAX_AGE)) != 0) {
		if (i == 1)
			*stale = 1;
		why = i == 1 ? "stale nonce" : "a nonce sipedged did not make";
		goto out;
	}
	if (p.qop != NULL && (strcmp(p.qop, "auth") != 0 || p.nc == NULL ||
	    p.cnonce == NULL)) {
		why = "qop must be auth, with nc and cnonce";
		goto out;
	}
	why = "wrong username or password";
	if (strcmp(p.username, z->username) != 0)
		goto out;
	for (k = 0; k < tv->ncreds; k++) {
		const struct conf_cred *cr = &tv->creds[k];

		if (cr->sha256 != algo || strcmp(cr->user, p.username) != 0 ||
		    strcmp(cr->realm, p.realm) != 0)
			continue;
		digest_response(algo, cr->ha1, p.nonce, p.nc, p.cnonce, p.qop,
		    "REGISTER", p.uri, resp);
		if (digest_equal(resp, p.response))
			why = NULL;
		break;
	}
out:
	digest_params_clear(&p);
	return why;
}

/* A message on a server zone's port. */
static int
server_message(struct trav *tv, struct tzone *z, const struct sip_origin *o,
    osip_message_t *m)
{
	static const char *const ok_hdrs[] = {
		"Expires", REG_EXPIRES, "Server", "sipedge/" PACKAGE_VERSION,
		NULL
	};
	unsigned long long id = sip_conn_id(o->conn);
	struct sip_conn *old;
	const char *why;
	int stale;

	if (!MSG_IS_REQUEST(m))
		return id == z->flow ? 0 : 1;	/* only the flow answers */
	if (strcmp(m->sip_method, "REGISTER") != 0) {
		if (id == z->flow)
			return 0;		/* the proxy's */
		if (strcmp(m->sip_method, "ACK") != 0)
			refuse(tv, z, o, m, "authenticate with REGISTER first");
		return 1;
	}
	if ((why = check_auth(tv, z, m, &stale)) != NULL) {
		if (*why == '\0' || stale)
			challenge(tv, o, m, stale);
		else
			refuse(tv, z, o, m, why);
		return 1;
	}
	reply(tv, o, m, 200, ok_hdrs);
	if (z->flow == id)
		return 1;
	if (z->flow != 0 && (old = sip_transport_conn(tv->t, z->flow)) != NULL) {
		sip_conn_watch(old, NULL, NULL);
		sip_conn_refuse(old, "replaced by a new traversal client flow");
	}
	z->flow = id;
	z->count++;
	z->since = time(NULL);
	set_failure(z, NULL);
	snprintf(z->peer, sizeof z->peer, "%s", o->peer_str);
	sip_conn_watch(o->conn, server_flow_closed, z);
	log_event(LOG_LVL_INFO, "trav", "flow up", "zone", z->name, "peer",
	    o->peer_str, "user", z->username, NULL);
	zone_alarm(z, 0, NULL);
	return 1;
}

/* --- client side ------------------------------------------------------ */

/* Seconds on a clock that never jumps. */
static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Stop the flow's timers. */
static void
tc_disarm(struct tzone *z)
{
	if (z->ka != NULL)
		evtimer_del(z->ka);
	if (z->pong != NULL)
		evtimer_del(z->pong);
	if (z->regto != NULL)
		evtimer_del(z->regto);
	if (z->stable != NULL)
		evtimer_del(z->stable);
}

/* Drop the connection (if any) without hearing of it again. */
static void
tc_drop(struct tzone *z, const char *why)
{
	tc_disarm(z);
	if (z->conn != NULL) {
		sip_conn_forget(z->conn);
		sip_conn_refuse(z->conn, why);
		z->conn = NULL;
	}
	z->have_tls = 0;
}

/* Back off: 1, 2, 4 ... s up to retry_max, each within +-20% jitter. */
static void
tc_schedule(struct tzone *z)
{
	struct timeval tv;
	unsigned int r = 0;
	double secs;
	int i;

	secs = 1;
	for (i = 1; i < z->attempts && secs < z->retry_max; i++)
		secs *= 2;
	if (secs > z->retry_max)
		secs = z->retry_max;
	RAND_bytes((unsigned char *)&r, sizeof r);
	secs *= 0.8 + 0.4 * (r / 4294967295.0);
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	z->state = TC_IDLE;
	evtimer_add(z->retry, &tv);
}

static void
tc_fail(struct tzone *z, const char *why)
{
	int was_up = z->state == TC_UP;

	tc_drop(z, why);
	set_failure(z, why);
	z->since = time(NULL);
	z->attempts++;
	log_event(LOG_LVL_WARN, "trav", was_up ? "flow down" : "connect failed",
	    "zone", z->name, "peer", z->npeers > 0 ? z->peers[z->pi] : "-",
	    "reason", why, NULL);
	zone_alarm(z, 1, why);
	/* The next peer, in order, then from the first again. */
	z->pi = (z->pi + 1) % z->npeers;
	tc_schedule(z);
}

static void
tc_send_register(struct tzone *z, const struct digest_params *ch)
{
	const struct sip_origin *o = sip_conn_origin(z->conn);
	const char *host = z->peers[z->pi];
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
	sip_conn_send(z->conn, msg, strlen(msg));
	explicit_bzero(msg, strlen(msg));
	free(msg);
	free(auth);
	free(uri);
	z->state = TC_REGISTERING;
	evtimer_add(z->regto, &to);
}

static void
regto_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tc_fail(arg, "no response to REGISTER within 10 s");
}

static void
ka_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tzone *z = arg;
	struct timeval to = { z->pong_timeout, 0 };

	(void)fd;
	(void)what;
	if (z->conn == NULL || z->state != TC_UP)
		return;
	sip_conn_send(z->conn, "\r\n\r\n", 4);	/* RFC 5626 ping */
	/* The deadline runs from the oldest ping not yet answered: pings
	 * more often than pong_timeout must not keep pushing it away. */
	if (!evtimer_pending(z->pong, NULL)) {
		evutil_gettimeofday(&z->ping_at, NULL);
		evtimer_add(z->pong, &to);
	}
}

static void
pong_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tzone *z = arg;
	struct timeval last;
	char *why;

	(void)fd;
	(void)what;
	if (z->conn == NULL)
		return;
	sip_conn_last_crlf(z->conn, &last);
	if (evutil_timercmp(&last, &z->ping_at, >=))
		return;		/* the pong came */
	why = xasprintf("no keepalive pong within %d s: the flow is dead",
	    z->pong_timeout);
	tc_fail(z, why);
	free(why);
}

/* A response to our REGISTER. */
static int
client_response(struct tzone *z, osip_message_t *m)
{
	struct timeval ka = { z->keepalive, 0 };
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
	evtimer_del(z->regto);
	if (m->status_code >= 200 && m->status_code < 300) {
		const char *ver = "", *cipher = "";

		/* The backoff starts over and the alarm clears only once the
		 * flow stayed up ZONE_STABLE_SECS (stable_cb): a server that
		 * accepts and then drops us must not be redialled at once. */
		struct timeval st = { ZONE_STABLE_SECS, 0 };

		z->state = TC_UP;
		z->up_at = mono_now();
		evtimer_add(z->stable, &st);
		z->since = time(NULL);
		set_failure(z, NULL);
		sip_conn_tls_info(z->conn, &ver, &cipher);
		log_event(LOG_LVL_INFO, "trav", "flow up", "zone", z->name,
		    "peer", z->peers[z->pi], "address", z->peer, "tls", ver,
		    "cipher", cipher, NULL);
		evtimer_add(z->ka, &ka);
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
			tc_fail(z, "the server's 401 has no usable Digest "
			    "challenge");
			return 1;
		}
		z->authed = 1;
		tc_send_register(z, &p);
		digest_params_clear(&p);
		return 1;
	}
	why = m->status_code == 401 || m->status_code == 403 ?
	    xasprintf("authentication failed: wrong username or password "
	    "(the server answered %d)", m->status_code) :
	    xasprintf("REGISTER refused: %d %s", m->status_code,
	    m->reason_phrase != NULL ? m->reason_phrase : "");
	tc_fail(z, why);
	free(why);
	return 1;
}

/* The flow stayed up ZONE_STABLE_SECS: backoff from 1 s again, alarm off. */
static void
stable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tzone *z = arg;

	(void)fd;
	(void)what;
	if (z->state != TC_UP)
		return;
	z->attempts = 0;
	zone_alarm(z, 0, NULL);
}

/*
 * The flow's connection went away; within ZONE_STABLE_SECS of its 200 it
 * says so (the backoff grows either way: tc_fail).
 */
static void
tc_closed(struct sip_conn *c, void *arg)
{
	struct tzone *z = arg;
	char *why;

	(void)c;
	z->conn = NULL;
	if (z->state == TC_UP && mono_now() - z->up_at < ZONE_STABLE_SECS) {
		why = xasprintf("the server closed the flow right after "
		    "accepting it (within %d s): another client with this "
		    "username may have replaced it, or the server refused "
		    "this node (its log says why)", ZONE_STABLE_SECS);
		tc_fail(z, why);
		free(why);
		return;
	}
	tc_fail(z, z->state == TC_UP ? "the flow's connection closed" :
	    "the connection closed while authenticating");
}

static void
tc_ready(struct sip_conn *c, int ok, const char *why, void *arg)
{
	struct tzone *z = arg;

	if (!ok) {
		char *w = NULL;

		z->conn = NULL;
		if (why != NULL && strstr(why, "closed before it was ready"))
			why = w = xasprintf("%s: the server closed it after the "
			    "TLS handshake (did it refuse this node's "
			    "certificate? its log says why)", why);
		tc_fail(z, why);
		free(w);
		return;
	}
	z->conn = c;
	z->have_tls = 1;
	str_random_hex(z->call_id, 32);
	str_random_hex(z->from_tag, 16);
	z->cseq = 0;
	z->authed = 0;
	tc_send_register(z, NULL);
}

static void
tc_connect(struct tzone *z, const struct sockaddr *sa, socklen_t sl)
{
	struct sip_conn_opts o;
	char *cause = NULL;
	unsigned char b[16];
	const char *peer = z->peers[z->pi];
	int is_ip = inet_pton(AF_INET, peer, b) == 1 ||
	    inet_pton(AF_INET6, peer, b) == 1;

	net_addr_str(sa, z->peer, sizeof z->peer);
	memset(&o, 0, sizeof o);
	o.transport = TP_TLS;
	o.addr = sa;
	o.addrlen = sl;
	o.server_name = is_ip ? NULL : peer;
	o.zone = z->name;
	o.expected = z->peer_name != NULL ? z->peer_name : peer;
	o.ready = tc_ready;
	o.closed = tc_closed;
	o.arg = z;
	z->state = TC_CONNECTING;
	if ((z->conn = sip_conn_open(z->tv->t, &o, &cause)) == NULL) {
		tc_fail(z, cause);
		free(cause);
	}
}

static void
tc_dns_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct tzone *z = arg;
	char *why;

	if (err == EVUTIL_EAI_CANCEL)
		return;		/* z may be freed already: touch nothing */
	z->dnsreq = NULL;
	z->dns_done = 1;
	if (err != 0 || res == NULL) {
		why = xasprintf("cannot resolve %s: %s", z->peers[z->pi],
		    evutil_gai_strerror(err));
		tc_fail(z, why);
		free(why);
		return;
	}
	if (res->ai_family == AF_INET)
		((struct sockaddr_in *)res->ai_addr)->sin_port =
		    htons((uint16_t)z->port);
	else
		((struct sockaddr_in6 *)res->ai_addr)->sin6_port =
		    htons((uint16_t)z->port);
	tc_connect(z, res->ai_addr, (socklen_t)res->ai_addrlen);
	evutil_freeaddrinfo(res);
}

static void
tc_start(struct tzone *z)
{
	struct sockaddr_storage ss;
	struct evutil_addrinfo hints;
	socklen_t sl;
	char port[16];

	if (z->attempts > 0)
		z->count++;
	if (net_addr_parse(z->peers[z->pi], z->port, &ss, &sl) == 0) {
		tc_connect(z, (struct sockaddr *)&ss, sl);
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", z->port);
	z->state = TC_RESOLVING;
	z->dns_done = 0;
	z->dnsreq = evdns_getaddrinfo(z->tv->dns, z->peers[z->pi], port, &hints,
	    tc_dns_cb, z);
	if (z->dns_done)
		z->dnsreq = NULL;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tc_start(arg);
}

/* --- zones ------------------------------------------------------------ */

static void
tzone_free(struct tzone *z)
{
	if (z->dnsreq != NULL)
		evdns_getaddrinfo_cancel(z->dnsreq);
	tc_drop(z, "traversal zone changed or removed");
	if (z->server && z->flow != 0) {
		struct sip_conn *c = sip_transport_conn(z->tv->t, z->flow);

		if (c != NULL) {
			sip_conn_watch(c, NULL, NULL);
			sip_conn_refuse(c, "traversal zone changed or removed");
		}
	}
	if (z->retry != NULL)
		event_free(z->retry);
	if (z->ka != NULL)
		event_free(z->ka);
	if (z->pong != NULL)
		event_free(z->pong);
	if (z->regto != NULL)
		event_free(z->regto);
	if (z->stable != NULL)
		event_free(z->stable);
	zone_alarm(z, 0, NULL);
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
	return zreg_same_peers(z->cfg, zc) && strcmp(z->password, cz->password) == 0 &&
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
	if (z->server) {
		zone_alarm(z, 1, "no traversal client connected");
		return z;
	}
	z->retry = evtimer_new(tv->base, retry_cb, z);
	z->ka = event_new(tv->base, -1, EV_PERSIST, ka_cb, z);
	z->pong = evtimer_new(tv->base, pong_cb, z);
	z->regto = evtimer_new(tv->base, regto_cb, z);
	z->stable = evtimer_new(tv->base, stable_cb, z);
	tc_start(z);
	return z;
}

/* Take the traversal zones and credentials of zr (trav.h). */
void
trav_apply(struct trav *tv, const struct zreg *zr)
{
	const struct conf *c = zr->conf;
	struct tzone **nv = xcalloc(zr->n + 1, sizeof *nv);
	size_t n = 0, i, j;

	zreg_ref(zr);
	zreg_unref(&tv->zr);
	tv->zr = zr;
	tv->realm = c->auth_realm != NULL ? c->auth_realm : "sipedge";
	tv->creds = c->creds;
	tv->ncreds = c->ncreds;
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
		return server_message(tv, z, o, m);
	}
	if (MSG_IS_REQUEST(m))
		return 0;
	for (i = 0; i < tv->n; i++) {
		z = tv->v[i];
		if (!z->server && z->conn == o->conn)
			return client_response(z, m);
	}
	return 0;
}

void
trav_peer_refused(const char *zone, const char *peer, const char *reason,
    void *arg)
{
	struct trav *tv = arg;
	struct tzone *z = find(tv, zone);
	char *why;

	if (z == NULL || !z->server)
		return;
	why = xasprintf("client %s refused: %s", peer, reason);
	set_failure(z, why);
	free(why);
}

const char *
trav_conn_zone(struct trav *tv, const struct sip_conn *c)
{
	size_t i;

	for (i = 0; i < tv->n; i++) {
		struct tzone *z = tv->v[i];

		if ((z->server && z->flow != 0 && z->flow == sip_conn_id(c)) ||
		    (!z->server && z->conn == c && z->state == TC_UP))
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
		if (z->flow != 0 &&
		    (*c = sip_transport_conn(tv->t, z->flow)) != NULL)
			return 1;
		*why = "no traversal client is connected";
		return 0;
	}
	if (z->state == TC_UP && z->conn != NULL && sip_conn_usable(z->conn)) {
		*c = z->conn;
		return 1;
	}
	*why = z->failure != NULL ? z->failure :
	    "the traversal flow is not up yet";
	return 0;
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
		in.reconnects = z->count;
		in.peer = z->peer;
		c = NULL;
		if (z->server) {
			if (z->flow != 0)
				c = sip_transport_conn(tv->t, z->flow);
			in.state = c != NULL ? "connected" : "waiting";
		} else {
			in.state = tc_names[z->state];
			if (z->state == TC_UP)
				c = z->conn;
		}
		if (c != NULL)
			sip_conn_tls_info(c, &in.tls_version, &in.cipher);
		fn(&in, arg);
	}
}
