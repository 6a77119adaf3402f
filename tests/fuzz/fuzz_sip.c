/*
 * fuzz_sip.c: one framed message through what sip_transport.c
 * sip_transport_deliver() and sip_transport_refuse() do with it, and
 * through the response builders and header helpers the proxy uses on a checked request.  Nothing is sent:
 * every result is built, looked at and freed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_sip.h"
#include "sip/sip_msg.h"

/* libosip2's parser tables (sip_msg_init). */
void
fuzz_sip_init(void)
{
	sip_msg_init();
}

/* Where consume() leaves its sum, so that the reads are not optimised out. */
volatile unsigned char fuzz_sip_sink;

/* Touch every byte of a built message, so that ASan sees a bad one. */
static void
consume(char *resp, size_t len)
{
	unsigned char sum = 0;
	size_t i;

	if (resp == NULL)
		return;
	for (i = 0; i < len; i++)
		sum += (unsigned char)resp[i];
	fuzz_sip_sink = sum;
	if (resp[len] != '\0')
		abort();	/* the contract: NUL-terminated */
	free(resp);
}

/* sip_transport_refuse(): the raw error response, built and dropped. */
void
fuzz_sip_refuse(const char *buf, size_t len, int status, const char *reason)
{
	static const struct sip_src src = { "192.0.2.7", 5060 };
	size_t rlen = 0;
	char *resp;

	resp = sip_msg_raw_response(buf, len, status, &src, "edge.example",
	    reason, &rlen);
	consume(resp, rlen);
}

/* What the proxy asks of a request that passed the checks. */
static void
checked_request(const osip_message_t *m)
{
	static const char *const supported[] = { "path", "outbound" };
	static const char *const names[] = { "edge.example", "192.0.2.1" };
	const char *hdrs[] = { "Server", "sipedge/fuzz", "Unsupported",
	    "foo", NULL };
	struct sip_src src = { "192.0.2.7", 5062 };
	char callid[SIP_CALL_ID_MAX], *u, *resp;
	size_t rlen = 0;

	u = sip_msg_unsupported(m, "Proxy-Require", supported, 2);
	free(u);
	u = sip_msg_unsupported(m, "Require", supported, 2);
	free(u);
	(void)sip_msg_call_id(m, callid, sizeof callid);
	(void)sip_msg_uri_host_is(m, names, 2);
	resp = sip_msg_response(m, &src, 100, NULL, NULL, NULL, &rlen);
	consume(resp, rlen);
	resp = sip_msg_response(m, &src, 200, NULL, "fuzztag", hdrs, &rlen);
	consume(resp, rlen);
	resp = sip_msg_response(m, NULL, 486, "Busy \xc3\xa4", "t", NULL,
	    &rlen);
	consume(resp, rlen);
}

/*
 * The lean parse of a relayed response (sip_msg_parse_lean()): it reads
 * fewer fields, so what the whole parse and the checks accept it accepts
 * too (ok: they did), with the same top Via and CSeq.
 */
static void
lean(const char *msg, size_t len, const osip_message_t *full, int ok)
{
	osip_message_t *m = sip_msg_parse_lean(msg, len);
	const osip_via_t *v, *fv;
	char why[256];
	int st;

	if (m == NULL) {
		if (ok)
			abort();
		return;
	}
	st = sip_msg_check(m, why, sizeof why);
	if (ok && (st != 0 || full == NULL ||
	    osip_list_size(&m->vias) != osip_list_size(&full->vias) ||
	    strcmp(m->cseq->method, full->cseq->method) != 0 ||
	    strcmp(m->cseq->number, full->cseq->number) != 0))
		abort();
	if (ok && (v = osip_list_get(&m->vias, 0)) != NULL &&
	    (fv = osip_list_get(&full->vias, 0)) != NULL &&
	    strcmp(v->host, fv->host) != 0)
		abort();
	osip_message_free(m);
}

/* sip_transport_deliver(): parse, check, answer. */
void
fuzz_sip_message(const char *msg, size_t len, int has_length)
{
	osip_message_t *m;
	const char *hdrs[5];
	char why[256], *resp;
	size_t rlen = 0;
	int status;

	if (!has_length) {
		fuzz_sip_refuse(msg, len, 400, "Content-Length is required on "
		    "stream transports (RFC 3261 s.18.3)");
		return;
	}
	if ((m = sip_msg_parse(msg, len)) == NULL) {
		lean(msg, len, NULL, 0);
		status = sip_msg_parse_error(msg, len, why, sizeof why);
		if (status < 100 || status > 699 ||
		    memchr(why, '\0', sizeof why) == NULL)
			abort();
		fuzz_sip_refuse(msg, len, status, why);
		return;
	}
	status = sip_msg_check(m, why, sizeof why);
	lean(msg, len, m, status == 0);
	if (status != 0) {
		if (status < 100 || status > 699 ||
		    memchr(why, '\0', sizeof why) == NULL)
			abort();
		if (MSG_IS_REQUEST(m) && strcmp(m->sip_method, "ACK") != 0 &&
		    m->from != NULL && m->to != NULL && m->call_id != NULL &&
		    m->cseq != NULL && osip_list_size(&m->vias) > 0) {
			hdrs[0] = "Warning";
			hdrs[1] = why;
			hdrs[2] = "Server";
			hdrs[3] = "sipedge/fuzz";
			hdrs[4] = NULL;
			resp = sip_msg_response(m, NULL, status, NULL,
			    "sipedge-err", hdrs, &rlen);
			consume(resp, rlen);
		} else
			fuzz_sip_refuse(msg, len, status, why);
		osip_message_free(m);
		return;
	}
	if (MSG_IS_REQUEST(m))
		checked_request(m);
	osip_message_free(m);
}
