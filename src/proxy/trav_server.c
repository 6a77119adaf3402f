/*
 * trav_server.c: the server side of traversal zones (on the edge).
 *
 * A traversal-server zone listens on a TLS port of its own (the gate has
 * checked the client's certificate against the zone's subject name before
 * any message arrives).  The client's REGISTER is challenged (RFC 7616,
 * SHA-256 and MD5) and checked against the HA1 hashes of
 * auth.credentials_file; the authenticated connection becomes the zone's
 * flow, replacing an older one.  Nothing but REGISTER is taken on the port
 * before that.  The REGISTER is handled here, outside the transaction
 * layer: it travels only on the flow's own TLS connection.  Passwords
 * never reach this file, only their HA1 hashes, zeroed when dropped.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/digest.h"
#include "proxy/trav_int.h"
#include "sip/sip_msg.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

#define NONCE_MAX_AGE	300	/* s a challenge stays good */
#define REG_EXPIRES	"3600"

/* The zone's flow went away: no client now. */
static void
server_flow_closed(struct sip_conn *c, void *arg)
{
	struct tzone *z = arg;

	if (z->flow != sip_conn_id(c))
		return;
	z->flow = 0;
	z->since = time(NULL);
	z->peer[0] = '\0';
	trav_set_failure(z, "the client's connection closed");
	log_event(LOG_LVL_WARN, "trav", "flow down", "zone", z->name, "reason",
	    "the client's connection closed", NULL);
	trav_zone_alarm(z, 1, "no traversal client connected");
}

/* Answer a request on the server zone's port. */
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

/*
 * A client at peer was refused (why): while no client is connected, the
 * zone's alarm names this latest refusal instead of a stale reason.
 */
static void
refused_alarm(struct tzone *z, const char *peer, const char *why)
{
	char *text;

	if (z->flow != 0)
		return;
	text = xasprintf("the client at %s was refused: %s", peer, why);
	trav_zone_alarm(z, 1, text);
	free(text);
}

/* Refuse a client's request (403 with a Warning saying why). */
static void
refuse(struct trav *tv, struct tzone *z, const struct sip_origin *o,
    osip_message_t *m, const char *why)
{
	char *w = xasprintf("399 %s \"%s\"", tv->realm, why);
	const char *hdrs[] = { "Warning", w, NULL };

	trav_set_failure(z, why);
	log_event(LOG_LVL_WARN, "trav", "client refused", "zone", z->name,
	    "peer", o->peer_str, "reason", why, NULL);
	refused_alarm(z, o->peer_str, why);
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

int
trav_server_message(struct trav *tv, struct tzone *z,
    const struct sip_origin *o, osip_message_t *m)
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
	trav_set_failure(z, NULL);
	snprintf(z->peer, sizeof z->peer, "%s", o->peer_str);
	sip_conn_watch(o->conn, server_flow_closed, z);
	log_event(LOG_LVL_INFO, "trav", "flow up", "zone", z->name, "peer",
	    o->peer_str, "user", z->username, NULL);
	trav_zone_alarm(z, 0, NULL);
	return 1;
}

struct sip_conn *
trav_server_conn(struct trav *tv, const struct tzone *z)
{
	return z->flow != 0 ? sip_transport_conn(tv->t, z->flow) : NULL;
}

void
trav_server_release(struct tzone *z, const char *why)
{
	struct sip_conn *c;

	if (z->flow == 0 || (c = sip_transport_conn(z->tv->t, z->flow)) == NULL)
		return;
	sip_conn_watch(c, NULL, NULL);
	sip_conn_refuse(c, why);
}

void
trav_server_creds(struct trav *tv, const struct conf *c)
{
	tv->realm = c->auth_realm != NULL ? c->auth_realm : "sipedge";
	tv->creds = c->creds;
	tv->ncreds = c->ncreds;
}

void
trav_peer_refused(const char *zone, const char *peer, const char *reason,
    void *arg)
{
	struct trav *tv = arg;
	struct tzone *z = NULL;
	size_t i;
	char *why;

	for (i = 0; i < tv->n && z == NULL; i++)
		if (strcmp(tv->v[i]->name, zone) == 0)
			z = tv->v[i];
	if (z == NULL || !z->server)
		return;
	why = xasprintf("client %s refused: %s", peer, reason);
	trav_set_failure(z, why);
	free(why);
	refused_alarm(z, peer, reason);
}
