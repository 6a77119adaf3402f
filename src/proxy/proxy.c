/*
 * proxy.c: handling of checked SIP messages (the beginning of the proxy
 * core).  Pure policy over sip_transport: no sockets of its own.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "proxy/proxy.h"
#include "sip/sip_msg.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

struct proxy {
	char	**names;
	size_t	  nnames;
};

struct proxy *
proxy_new(void)
{
	return xcalloc(1, sizeof(struct proxy));
}

static void
free_names(struct proxy *px)
{
	size_t i;

	for (i = 0; i < px->nnames; i++)
		free(px->names[i]);
	free(px->names);
	px->names = NULL;
	px->nnames = 0;
}

void
proxy_free(struct proxy *px)
{
	if (px == NULL)
		return;
	free_names(px);
	free(px);
}

void
proxy_set_names(struct proxy *px, char *const *names, size_t n)
{
	size_t i;

	free_names(px);
	px->names = xcalloc(n + 1, sizeof *px->names);
	for (i = 0; i < n; i++)
		px->names[i] = xstrdup(names[i]);
	px->nnames = n;
}

/* Is the request-URI host this node? */
static int
for_us(struct proxy *px, const struct sip_origin *o, osip_message_t *m)
{
	const char *local[1] = { o->local_ip };

	return sip_msg_uri_host_is(m, (const char *const *)px->names,
	    px->nnames) || sip_msg_uri_host_is(m, local, 1);
}

static void
respond(const struct sip_origin *o, osip_message_t *m, int status,
    const char *const *hdrs)
{
	struct sip_src src = { o->peer_ip, o->peer_port };
	char tag[17], *resp;
	size_t len;

	str_random_hex(tag, 16);
	resp = sip_msg_response(m, &src, status, NULL, tag, hdrs, &len);
	if (resp == NULL) {
		log_event(LOG_LVL_ERROR, "proxy", "response failed", "peer",
		    o->peer_str, "call_id", m->call_id->number, NULL);
		return;
	}
	sip_transport_reply(o, resp, len);
	free(resp);
}

/*
 * 420 Bad Extension with the option-tags of hname that we do not support
 * in Unsupported (s.8.2.2.3, s.16.3 step 5): sipedge supports none yet.
 */
static void
refuse_extension(struct proxy *px, const struct sip_origin *o,
    osip_message_t *m, const char *hname, const char *unsup)
{
	char *reason, *warning;
	const char *hdrs[7];

	reason = xasprintf("%s options not supported by sipedge: %s", hname,
	    unsup);
	warning = xasprintf("399 %s \"%s\"", px->nnames > 0 ? px->names[0] :
	    o->local_ip, reason);
	hdrs[0] = "Unsupported";
	hdrs[1] = unsup;
	hdrs[2] = "Warning";
	hdrs[3] = warning;
	hdrs[4] = "Server";
	hdrs[5] = "sipedge/" PACKAGE_VERSION;
	hdrs[6] = NULL;
	log_event(LOG_LVL_INFO, "proxy", "request refused", "peer", o->peer_str,
	    "method", m->sip_method, "call_id", m->call_id->number, "status",
	    "420", "reason", reason, NULL);
	respond(o, m, 420, hdrs);
	free(warning);
	free(reason);
}

void
proxy_on_message(const struct sip_origin *o, osip_message_t *m, void *arg)
{
	static const char *const options_hdrs[] = {
		"Allow", PROXY_ALLOW,
		"Accept", "application/sdp",
		"Supported", "",
		"Server", "sipedge/" PACKAGE_VERSION,
		NULL
	};
	static const char *const server_hdr[] = {
		"Server", "sipedge/" PACKAGE_VERSION, NULL
	};
	struct proxy *px = arg;
	struct log_line l;
	osip_header_t *mf = NULL;
	char *unsup = NULL;
	int status;

	log_begin(&l, LOG_LVL_DEBUG, "proxy", MSG_IS_REQUEST(m) ? "request" :
	    "response");
	log_kvs(&l, "peer", o->peer_str);
	log_kvs(&l, "transport", conf_transport_name(o->transport));
	if (MSG_IS_REQUEST(m))
		log_kvs(&l, "method", m->sip_method);
	else
		log_kv(&l, "status", "%d", m->status_code);
	log_kvs(&l, "call_id", m->call_id->number);
	log_end(&l);

	if (!MSG_IS_REQUEST(m))
		return;		/* no client transactions yet: stray response */
	if (strcmp(m->sip_method, "ACK") == 0)
		return;		/* never answered (RFC 3261 s.17.2.1) */
	if (strcmp(m->sip_method, "OPTIONS") == 0 && for_us(px, o, m)) {
		/* As its UAS we honour Require, not Proxy-Require (s.8.2.2.3). */
		if ((unsup = sip_msg_unsupported(m, "Require", NULL, 0)) != NULL)
			refuse_extension(px, o, m, "Require", unsup);
		else
			respond(o, m, 200, options_hdrs);
		free(unsup);
		return;
	}
	if (strcmp(m->sip_method, "CANCEL") == 0)
		status = 481;	/* no INVITE transaction can match yet */
	else if (osip_message_get_max_forwards(m, 0, &mf) >= 0 && mf != NULL &&
	    atoi(mf->hvalue) == 0)
		status = 483;	/* s.16.3 step 3 */
	else if ((unsup = sip_msg_unsupported(m, "Proxy-Require", NULL,
	    0)) != NULL) {
		/* s.16.3 step 5; CANCEL never carries it (s.8.2.2.3). */
		refuse_extension(px, o, m, "Proxy-Require", unsup);
		free(unsup);
		return;
	} else
		status = 404;	/* no search rule routes it */
	log_event(LOG_LVL_INFO, "proxy", "request refused", "peer", o->peer_str,
	    "method", m->sip_method, "call_id", m->call_id->number, "status",
	    status == 404 ? "404" : status == 483 ? "483" : "481", NULL);
	respond(o, m, status, server_hdr);
}
