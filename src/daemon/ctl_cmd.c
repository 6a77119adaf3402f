/*
 * ctl_cmd.c: the control socket commands of sipedged about the daemon
 * itself: status, reload, certs, revocation, crl, alarms, and the command
 * table.  Each answers from the state as it is now, in text or JSON
 * (ctl_proto.h), without blocking.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_proto.h"
#include "ctl/ctl_table.h"
#include "daemon/sipedged.h"
#include "tls/tls_pki.h"
#include "util/alarm.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* --- control socket commands ---------------------------------------- */

/* reload: like SIGHUP; the reply lists every error and warning. */
static int
ctl_reload(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);
	struct diaglist dl = { 0 };
	size_t i;
	int rv, pass;

	if (d.stopping) {
		ctl_reply_add(r, "sipedged is stopping");
		return -1;
	}
	rv = reload_config("control socket", &dl);
	if (j != NULL) {
		/* errors, then warnings, each "file:line: message" */
		for (pass = 0; pass < 2; pass++) {
			json_array_begin(j, pass == 0 ? "errors" : "warnings");
			for (i = 0; i < dl.n; i++)
				if ((dl.v[i].sev == DIAG_ERROR) == (pass == 0))
					json_string(j, NULL, dl.v[i].text);
			json_array_end(j);
		}
		json_string(j, "config", d.conf_path);
	} else
		for (i = 0; i < dl.n; i++)
			ctl_reply_add(r, "%s", dl.v[i].text);
	if (rv == 0)
		ctl_reply_add(r, "reloaded %s", d.conf_path);
	else
		ctl_reply_add(r, "reload failed: %zu error%s; still serving the "
		    "previous configuration", dl.nerrors,
		    dl.nerrors == 1 ? "" : "s");
	diag_clear(&dl);
	return rv;
}

/* Append item to the "; "-separated list *out. */
void
ctl_cmd_join(char **out, const char *item)
{
	char *t;

	if (*out == NULL) {
		*out = xstrdup(item);
		return;
	}
	t = xasprintf("%s; %s", *out, item);
	free(*out);
	*out = t;
}

/*
 * The alarms of the server certificate, worked out now rather than at
 * load time, so that "expires in N days" keeps counting between reloads:
 * the temporary certificate, expired, not yet valid, expiring within
 * tls.expiry_warning_days (the TLS_ALARM_* findings of tls_check.h).
 * Each one goes to fn.
 */
static void
ctl_alarms(const struct snapshot *s, void (*fn)(const char *, void *),
    void *arg)
{
	const struct tls_identity *id = s->tls;
	time_t now = time(NULL), nb, na;
	char *t;
	long long left;

	if (id->temporary)
		fn("temporary certificate in use", arg);
	if (str_time_parse_iso(id->not_before, &nb) == -1)
		nb = (time_t)-1;
	if (str_time_parse_iso(id->not_after, &na) == -1)
		na = (time_t)-1;
	if (nb != (time_t)-1 && now < nb) {
		t = xasprintf("not valid before %s", id->not_before);
		fn(t, arg);
		free(t);
	}
	if (na != (time_t)-1) {
		left = (long long)na - (long long)now;
		if (left <= 0)
			t = xasprintf("expired on %s", id->not_after);
		else if (s->conf->expiry_warning_days > 0 &&
		    left < (long long)s->conf->expiry_warning_days * 86400)
			t = xasprintf("expires on %s (in %lld day%s)",
			    id->not_after, left / 86400,
			    left / 86400 == 1 ? "" : "s");
		else
			t = NULL;
		if (t != NULL)
			fn(t, arg);
		free(t);
	}
}

/* ctl_alarms() callback: one item of the alarms list of status. */
static void
alarm_item(const char *text, void *arg)
{
	ctl_table_item(arg, text);
}

/* status: one line "name: value" (or one member) per column. */
static const struct ctl_col status_cols[] = {
	{ "version",	CTL_STR,  "version: ",	NULL, NULL, CTL_LINE, 0 },
	{ "protocol",	CTL_INT,  "protocol: ",	NULL, NULL, CTL_LINE, 0 },
	{ "pid",	CTL_INT,  "pid: ",	NULL, NULL, CTL_LINE, 0 },
	{ "started",	CTL_TIME, "started: ",	NULL, NULL, CTL_LINE, 0 },
	{ "uptime",	CTL_INT,  "uptime: ",	" second", NULL,
	    CTL_LINE | CTL_PLURAL, 0 },
	{ "config",	CTL_STR,  "config: ",	NULL, NULL, CTL_LINE, 0 },
	{ "loaded_at",	CTL_TIME, "loaded_at: ", NULL, NULL, CTL_LINE, 0 },
	{ "snapshots",	CTL_UINT, "snapshots: ", NULL, NULL, CTL_LINE, 0 },
	{ "certificate", CTL_STR, "certificate: ", NULL, NULL, CTL_LINE, 0 },
	{ "subject",	CTL_STR,  "subject: ",	NULL, NULL, CTL_LINE, 0 },
	{ "not_before",	CTL_STR,  "not_before: ", NULL, NULL, CTL_LINE, 0 },
	{ "not_after",	CTL_STR,  "not_after: ", NULL, NULL, CTL_LINE, 0 },
	{ "temporary",	CTL_BOOL, "temporary: ", NULL, NULL, CTL_LINE, 0 },
	{ "alarms",	CTL_LIST, "alarms: ",	"; ", "none", CTL_LINE, 0 },
	{ "connections", CTL_UINT, "connections: ", NULL, NULL, CTL_LINE, 0 },
	{ "requests",	CTL_UINT, "requests: ",	NULL, NULL, CTL_LINE, 0 },
	{ "forwarded",	CTL_UINT, "forwarded: ", NULL, NULL, CTL_LINE, 0 },
	{ "failovers",	CTL_UINT, "failovers: ", NULL, NULL, CTL_LINE, 0 },
	{ "local_responses", CTL_UINT, "local_responses: ", NULL, NULL,
	    CTL_LINE, 0 },
	{ "pending",	CTL_UINT, "pending: ",	NULL, NULL, CTL_LINE, 0 },
	{ "transactions", CTL_UINT, "transactions: ", NULL, NULL, CTL_LINE, 0 },
	{ "overload",	CTL_UINT, "overload: ",	NULL, NULL, CTL_LINE, 0 },
	{ "inbound",	CTL_UINT, "inbound: ",	NULL, NULL, CTL_LINE, 0 },
	{ "handshakes",	CTL_UINT, "handshakes: ", NULL, NULL, CTL_LINE, 0 },
	{ "sources",	CTL_UINT, "sources: ",	NULL, NULL, CTL_LINE, 0 },
	{ "limits",	CTL_GROUP, "limits:",	NULL, NULL, CTL_LINE, 0 },
	{ "refused",	CTL_GROUP, "refused:",	NULL, NULL, CTL_LINE, 0 },
	{ "deadlines",	CTL_GROUP, "deadlines:", NULL, NULL, CTL_LINE, 0 },
	{ "accept_paused", CTL_BOOL, "accept_paused: ", NULL, NULL, CTL_LINE,
	    0 },
	{ "bad_messages", CTL_UINT, "bad_messages: ", NULL, NULL, CTL_LINE, 0 },
	{ "bad_messages_by_kind", CTL_GROUP, "bad_messages_by_kind:", NULL,
	    NULL, CTL_LINE, 0 },
	{ "heap",	CTL_GROUP, "heap:",	NULL, NULL, CTL_LINE, 0 },
	{ "handshake_pool", CTL_GROUP, "handshake_pool:", NULL, NULL,
	    CTL_LINE, 0 },
	{ "log_suppressed", CTL_UINT, "log_suppressed: ", NULL, NULL,
	    CTL_LINE, 0 },
};
static const struct ctl_table_def status_table = {
	NULL, CTL_INLINE, NULL, CTL_COLS(status_cols)
};

/* The rate-limited log kinds, after the status lines. */
static const struct ctl_col limit_cols[] = {
	{ "module",	CTL_STR,  "log_limit: ", NULL, NULL, 0, 0 },
	{ "event",	CTL_STR,  " \"",	"\"", NULL, 0, 0 },
	{ "total",	CTL_UINT, " total ",	NULL, NULL, 0, 0 },
	{ "suppressed",	CTL_UINT, " suppressed ", NULL, NULL, 0, 0 },
};
static const struct ctl_table_def limit_table = {
	"log_limits", CTL_ROWS, NULL, CTL_COLS(limit_cols)
};

/* Rate-limited log kinds in status: a sum, then one row each. */
static void
limit_sum(const struct log_limit_info *i, void *arg)
{
	*(unsigned long long *)arg += i->suppressed;
}

/* One row per rate-limited log kind. */
static void
limit_row(const struct log_limit_info *i, void *arg)
{
	struct ctl_table *t = arg;

	ctl_table_row(t);
	ctl_table_str(t, i->module);
	ctl_table_str(t, i->event);
	ctl_table_uint(t, i->total);
	ctl_table_uint(t, i->suppressed);
	ctl_table_row_end(t);
}

/* A group cell of counters named by name(0 .. n - 1). */
static void
status_counters(struct ctl_table *t, const unsigned long long *v, int n,
    const char *(*name)(int))
{
	int i;

	ctl_table_open(t);
	for (i = 0; i < n; i++)
		ctl_table_pair(t, name(i), v[i]);
	ctl_table_close(t);
}

/* The name of bad-message kind k, for status_counters(). */
static const char *
bad_name(int k)
{
	return sip_bad_name((enum sip_bad)k);
}

/* What status reports, gathered once for either form. */
struct status_data {
	const struct snapshot		*s;
	struct proxy_stats		 ps;
	struct sip_transport_stats	 ts;
	struct heap_stats		 hs;
	unsigned long long		 bad_sum;
	unsigned long long		 suppressed;
	long long			 up;
};

/* The status row: the columns of status_cols, in order. */
static void
status_row(struct ctl_table *t, const struct status_data *sd)
{
	const struct tls_identity *id = sd->s->tls;

	ctl_table_row(t);
	ctl_table_str(t, PACKAGE_VERSION);
	ctl_table_int(t, CTL_PROTO_VERSION);
	ctl_table_int(t, (long long)getpid());
	ctl_table_time(t, d.started);
	ctl_table_int(t, sd->up);
	ctl_table_str(t, d.conf_path);
	ctl_table_time(t, sd->s->loaded_at);
	ctl_table_uint(t, snapshot_alive());
	ctl_table_str(t, id->cert_file);
	ctl_table_str(t, id->subject);
	ctl_table_str(t, id->not_before);
	ctl_table_str(t, id->not_after);
	ctl_table_bool(t, id->temporary);
	ctl_table_open(t);
	ctl_alarms(sd->s, alarm_item, t);
	ctl_table_close(t);
	ctl_table_uint(t, sip_transport_nconns(d.transport));
	ctl_table_uint(t, sd->ps.requests);
	ctl_table_uint(t, sd->ps.forwarded);
	ctl_table_uint(t, sd->ps.failovers);
	ctl_table_uint(t, sd->ps.local);
	ctl_table_uint(t, sd->ps.pending);
	ctl_table_uint(t, sd->ps.transactions);
	ctl_table_uint(t, sd->ps.overload);
	ctl_table_uint(t, sd->ts.inbound);
	ctl_table_uint(t, sd->ts.handshakes);
	ctl_table_uint(t, sd->ts.sources);
	ctl_table_open(t);
	ctl_table_pair(t, "max_connections", sd->ts.max_connections);
	ctl_table_pair(t, "per_source", sd->ts.max_per_source);
	ctl_table_pair(t, "handshakes", sd->ts.max_handshakes);
	ctl_table_close(t);
	status_counters(t, sd->ts.refused, SIP_REFUSED_N, sip_refusal_name);
	status_counters(t, sd->ts.deadlines, SIP_DEADLINE_N, sip_deadline_name);
	ctl_table_bool(t, sd->ts.accept_paused);
	ctl_table_uint(t, sd->bad_sum);
	status_counters(t, sd->ts.bad, SIP_BAD_NKINDS, bad_name);
	ctl_table_open(t);
	ctl_table_pair(t, "trims", sd->hs.trims);
	ctl_table_pair(t, "last_ms", sd->hs.last_ms);
	ctl_table_pair(t, "longest_ms", sd->hs.max_ms);
	ctl_table_close(t);
	ctl_table_open(t);
	ctl_table_pair(t, "threads", (unsigned long long)sd->ts.hs_threads);
	ctl_table_pair(t, "in_flight", sd->ts.hs_in_flight);
	ctl_table_pair(t, "done", sd->ts.hs_done);
	ctl_table_pair(t, "failed", sd->ts.hs_failed);
	ctl_table_pair(t, "cancelled", sd->ts.hs_cancelled);
	ctl_table_close(t);
	ctl_table_uint(t, sd->suppressed);
	ctl_table_row_end(t);
}

/* status: version, uptime, configuration, certificate and counters. */
static int
ctl_status(const char *args, struct ctl_reply *r, void *arg)
{
	struct status_data sd;
	struct ctl_table t;
	int i;

	(void)args;
	(void)arg;
	memset(&sd, 0, sizeof sd);
	sd.s = d.current;
	sd.up = (long long)(time(NULL) - d.started);
	proxy_stats(d.proxy, &sd.ps);
	log_limit_walk(limit_sum, &sd.suppressed);
	sip_transport_stats(d.transport, &sd.ts);
	heap_trimmer_stats(d.heap, &sd.hs);
	for (i = 0; i < SIP_BAD_NKINDS; i++)
		sd.bad_sum += sd.ts.bad[i];
	ctl_table_begin(&t, r, &status_table);
	status_row(&t, &sd);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &limit_table);
	log_limit_walk(limit_row, &t);
	ctl_table_end(&t);
	return 0;
}

/* The tables of revocation: the gate's counters, the OCSP cache, the points. */
static const struct ctl_col rev_peer_cols[] = {
	{ "verified",	CTL_UINT, "peers verified ", NULL, NULL, 0, 0 },
	{ "refused",	CTL_UINT, " refused ",	NULL, NULL, 0, 0 },
	{ "held",	CTL_UINT, " held ",	NULL, NULL, 0, 0 },
	{ "revalidated", CTL_UINT, " revalidated ", NULL, NULL, 0, 0 },
	{ "dropped",	CTL_UINT, " dropped ",	NULL, NULL, 0, 0 },
};
static const struct ctl_table_def rev_peer_table = {
	"peers", CTL_ONE, NULL, CTL_COLS(rev_peer_cols)
};
/* Inbound TLS handshakes: resumed from a session ticket, or full. */
static const struct ctl_col rev_resume_cols[] = {
	{ "resumed",	CTL_UINT, "handshakes resumed ", NULL, NULL, 0, 0 },
	{ "full",	CTL_UINT, " full ",	NULL, NULL, 0, 0 },
	{ "tickets_issued", CTL_UINT, " tickets_issued ", NULL, NULL, 0, 0 },
	{ "tickets_ignored", CTL_UINT, " tickets_ignored ", NULL, NULL, 0, 0 },
};
static const struct ctl_table_def rev_resume_table = {
	"handshakes", CTL_ONE, NULL, CTL_COLS(rev_resume_cols)
};
static const struct ctl_col rev_ocsp_cols[] = {
	{ "cache",	CTL_UINT, "ocsp cache ", NULL, NULL, 0, 0 },
	{ "hits",	CTL_UINT, " hits ",	NULL, NULL, 0, 0 },
	{ "misses",	CTL_UINT, " misses ",	NULL, NULL, 0, 0 },
	{ "hit_rate",	CTL_PCT,  " hit_rate ",	NULL, "-", 0, 0 },
};
static const struct ctl_table_def rev_ocsp_table = {
	"ocsp", CTL_ONE, NULL, CTL_COLS(rev_ocsp_cols)
};
static const struct ctl_col dp_cols[] = {
	{ "url",	CTL_STR,  "",		NULL, NULL, 0, 0 },
	{ "crls",	CTL_UINT, " crls ",	NULL, NULL, 0, 0 },
	{ "last_attempt", CTL_TIME, " last_attempt ", NULL, "-", CTL_NULL, 0 },
	{ "last_success", CTL_TIME, " last_success ", NULL, "-", CTL_NULL, 0 },
	{ "next",	CTL_TIME, " next ",	NULL, NULL, 0, 0 },
	{ "error",	CTL_STR,  " error: ",	NULL, NULL, CTL_OMIT, 0 },
};
static const struct ctl_table_def dp_table = {
	"distribution_points", CTL_ROWS, NULL, CTL_COLS(dp_cols)
};

/* One row per distribution point. */
static void
dp_row(const struct rev_dp_info *i, void *arg)
{
	struct ctl_table *t = arg;

	ctl_table_row(t);
	ctl_table_str(t, i->url);
	ctl_table_uint(t, i->crls);
	ctl_table_time(t, i->last_attempt);
	ctl_table_time(t, i->last_success);
	ctl_table_time(t, i->next);
	ctl_table_str(t, i->error);
	ctl_table_row_end(t);
}

/* revocation: the gate's counters, the OCSP cache, the distribution points. */
static int
ctl_revocation(const char *args, struct ctl_reply *r, void *arg)
{
	struct gate_stats st;
	struct ctl_table t;
	unsigned long looked;

	(void)args;
	(void)arg;
	gate_stats(d.gate, &st);
	looked = st.ocsp_hits + st.ocsp_misses;
	ctl_table_begin(&t, r, &rev_peer_table);
	ctl_table_row(&t);
	ctl_table_uint(&t, st.verified);
	ctl_table_uint(&t, st.refused);
	ctl_table_uint(&t, st.held);
	ctl_table_uint(&t, st.revalidated);
	ctl_table_uint(&t, st.dropped);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &rev_resume_table);
	ctl_table_row(&t);
	ctl_table_uint(&t, st.resumed);
	ctl_table_uint(&t, st.full);
	ctl_table_uint(&t, st.tickets.issued);
	ctl_table_uint(&t, st.tickets.ignored);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &rev_ocsp_table);
	ctl_table_row(&t);
	ctl_table_uint(&t, st.ocsp_cache);
	ctl_table_uint(&t, st.ocsp_hits);
	ctl_table_uint(&t, st.ocsp_misses);
	ctl_table_pct(&t, looked > 0 ? 100.0 * (double)st.ocsp_hits /
	    (double)looked : -1);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &dp_table);
	if (d.dp != NULL)
		rev_dp_walk(d.dp, dp_row, &t);
	ctl_table_end(&t);
	return 0;
}

/* crl update: fetch every distribution point now, not at update_time. */
static int
ctl_crl(const char *args, struct ctl_reply *r, void *arg)
{
	const struct conf *c = d.current->conf;
	struct json *j = ctl_reply_json(r);
	size_t i;

	(void)arg;
	if (strcmp(args, "update") != 0) {
		ctl_reply_add(r, "crl takes one argument: crl update");
		return -1;
	}
	if (c->rev_dps.n == 0 || d.dp == NULL) {
		ctl_reply_add(r, "no CRL distribution points are configured "
		    "(revocation.distribution_points)");
		return -1;
	}
	log_event(LOG_LVL_NOTICE, "rev", "crl update requested", "trigger",
	    "control socket", NULL);
	rev_dp_update_now(d.dp);
	if (j != NULL) {
		json_array_begin(j, "fetching");
		for (i = 0; i < c->rev_dps.n; i++)
			json_string(j, NULL, c->rev_dps.v[i]);
		json_array_end(j);
		return 0;
	}
	for (i = 0; i < c->rev_dps.n; i++)
		ctl_reply_add(r, "fetching %s", c->rev_dps.v[i]);
	ctl_reply_add(r, "sipedge-ctl revocation shows the result");
	return 0;
}

/* certs: the server certificate, then the trust list and its CAs. */
static const struct ctl_col server_cols[] = {
	{ "file",	CTL_STR,  "server ",	NULL, NULL, 0, 0 },
	{ "temporary",	CTL_BOOL, " (temporary)", NULL, NULL, CTL_WORD, 0 },
	{ "subject",	CTL_STR,  "  subject ",	NULL, NULL, CTL_LINE, 0 },
	{ "names",	CTL_LIST, "  names ",	", ", "(none)", CTL_LINE, 0 },
	{ "not_after",	CTL_STR,  "  expires ",	NULL, NULL, CTL_LINE, 0 },
	{ NULL,		CTL_STR,  " (",		" days)", NULL, 0, 0 },
	{ "days_left",	CTL_INT,  NULL,		NULL, NULL, 0, 0 },
	{ "expired",	CTL_BOOL, NULL,		NULL, NULL, 0, 0 },
};
static const struct ctl_table_def server_table = {
	"server", CTL_ONE, NULL, CTL_COLS(server_cols)
};
static const struct ctl_col trust_cols[] = {
	{ "file",	CTL_STR,  "trust ",	NULL, "(temporary CA only)", 0, 0 },
	{ "cas",	CTL_UINT, ": ",		" CA", NULL, CTL_PLURAL, 0 },
};
static const struct ctl_table_def trust_table = {
	"trust", CTL_ONE, NULL, CTL_COLS(trust_cols)
};
static const struct ctl_col ca_cols[] = {
	{ "subject",	CTL_STR,  "  ",		NULL, NULL, 0, 0 },
	{ "not_after",	CTL_STR,  " expires ",	NULL, NULL, 0, 0 },
	{ "expired",	CTL_BOOL, " EXPIRED",	NULL, NULL, CTL_WORD, 0 },
};
static const struct ctl_table_def ca_table = {
	"certificates", CTL_ROWS, NULL, CTL_COLS(ca_cols)
};

/* The server row: its names are the entries of a "DNS:a, IP:b" line. */
static void
certs_server(struct ctl_table *t, const struct tls_identity *id, X509 *leaf,
    time_t now)
{
	char *sans = pki_san_line(leaf), *p, *e, *days;
	long long left = pki_seconds_left(leaf, now);

	ctl_table_row(t);
	ctl_table_str(t, id->cert_file);
	ctl_table_bool(t, id->temporary);
	ctl_table_str(t, id->subject);
	ctl_table_open(t);
	for (p = sans; *p != '\0'; p = *e != '\0' ? e + 2 : e) {
		if ((e = strstr(p, ", ")) == NULL)
			e = p + strlen(p);
		days = xstrndup(p, (size_t)(e - p));
		ctl_table_item(t, days);
		free(days);
	}
	ctl_table_close(t);
	ctl_table_str(t, id->not_after);
	days = xasprintf("%s%lld", left < 0 ? "expired " : "",
	    (left < 0 ? -left : left) / 86400);
	ctl_table_str(t, days);
	free(days);
	ctl_table_int(t, left / 86400);
	ctl_table_bool(t, left < 0);
	ctl_table_row_end(t);
	free(sans);
}

/* One row per trusted CA. */
static void
certs_cas(struct ctl_table *t, SSL_CTX *ctx, time_t now)
{
	STACK_OF(X509) *cas;
	char *subj, *na;
	int i;

	cas = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(ctx));
	for (i = 0; i < sk_X509_num(cas); i++) {
		X509 *x = sk_X509_value(cas, i);

		subj = pki_name_line(X509_get_subject_name(x));
		na = pki_time_iso(X509_get0_notAfter(x));
		ctl_table_row(t);
		ctl_table_str(t, subj);
		ctl_table_str(t, na);
		ctl_table_bool(t, pki_seconds_left(x, now) < 0);
		ctl_table_row_end(t);
		free(subj);
		free(na);
	}
	sk_X509_pop_free(cas, X509_free);
}

/* certs: the server certificate and the trust list. */
static int
ctl_certs(const char *args, struct ctl_reply *r, void *arg)
{
	const struct tls_identity *id = d.current->tls;
	X509 *leaf = id->ctx != NULL ? SSL_CTX_get0_certificate(id->ctx) : NULL;
	struct ctl_table t, cas;
	time_t now = time(NULL);

	(void)args;
	(void)arg;
	if (leaf == NULL) {
		ctl_reply_add(r, "no server certificate loaded");
		return -1;
	}
	ctl_table_begin(&t, r, &server_table);
	certs_server(&t, id, leaf, now);
	ctl_table_end(&t);
	ctl_table_begin(&t, r, &trust_table);
	ctl_table_row(&t);
	ctl_table_str(&t, id->trust_file);
	ctl_table_uint(&t, id->ntrusted);
	ctl_table_begin(&cas, r, &ca_table);
	certs_cas(&cas, id->ctx, now);
	ctl_table_end(&cas);
	ctl_table_row_end(&t);
	ctl_table_end(&t);
	return 0;
}

/* alarms: one row per raised alarm, oldest first. */
static const struct ctl_col alarm_cols[] = {
	{ "since",	CTL_TIME, "",		NULL, NULL, 0, 0 },
	{ "key",	CTL_STR,  " ",		NULL, NULL, 0, 0 },
	{ "text",	CTL_STR,  ": ",		NULL, NULL, 0, 0 },
};
static const struct ctl_table_def alarm_table = {
	"alarms", CTL_ROWS, "none", CTL_COLS(alarm_cols)
};

/* One row per raised alarm. */
static void
alarm_row(const struct alarm_info *i, void *arg)
{
	struct ctl_table *t = arg;

	ctl_table_row(t);
	ctl_table_time(t, i->since);
	ctl_table_str(t, i->key);
	ctl_table_str(t, i->text);
	ctl_table_row_end(t);
}

/* alarms: what is raised now, oldest first; "none" when nothing is. */
static int
ctl_alarms_cmd(const char *args, struct ctl_reply *r, void *arg)
{
	struct ctl_table t;

	(void)args;
	(void)arg;
	reload_alarms();
	ctl_table_begin(&t, r, &alarm_table);
	alarm_walk(alarm_row, &t);
	ctl_table_end(&t);
	return 0;
}

const struct ctl_command ctl_cmd_table[] = {
	{ "alarms", "", "the alarms raised now, oldest first", 0,
	    ctl_alarms_cmd },
	{ "certs", "", "the server certificate (names, expiry) and the "
	    "trusted CAs", 0, ctl_certs },
	{ "connections", "[all] [limit N] [offset N] [zone NAME] [peer ADDR]",
	    "a summary of the TLS connections, then a page of them: peer, "
	    "direction, zone, held or open, certificate subject and verdict",
	    1, ctl_peers_connections },
	{ "crl", "update", "fetch every CRL distribution point now", 1,
	    ctl_crl },
	{ "revocation", "", "peer verdict counters, OCSP cache and hit rate, "
	    "and each CRL distribution point with its last update", 0,
	    ctl_revocation },
	{ "zone", "NAME", "one zone: its type and each peer's state, since, "
	    "address and failure reason", 1, ctl_peers_zone },
	{ "zones", "", "each neighbor zone peer: zone, transport, peer:port, "
	    "state, since, and why it failed", 0, ctl_peers_zones },
	{ "reload", "", "reload the configuration, like SIGHUP, and answer "
	    "with its errors", 0, ctl_reload },
	{ "status", "", "version, uptime, configuration, server certificate "
	    "and proxy counters", 0, ctl_status },
	{ NULL, NULL, NULL, 0, NULL }
};

