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

/* ctl_alarms() callbacks: into a "; " list, into a JSON array. */
static void
alarm_join(const char *text, void *arg)
{
	ctl_cmd_join(arg, text);
}

static void
alarm_json(const char *text, void *arg)
{
	json_string(arg, NULL, text);
}

/* Rate-limited log kinds in status: a sum, then one line or object each. */
struct limit_status {
	struct ctl_reply	*r;
	struct json		*j;
	unsigned long long	 suppressed;
};

static void
limit_sum(const struct log_limit_info *i, void *arg)
{
	((struct limit_status *)arg)->suppressed += i->suppressed;
}

static void
limit_line(const struct log_limit_info *i, void *arg)
{
	struct limit_status *ls = arg;

	if (ls->j != NULL) {
		json_object_begin(ls->j, NULL);
		json_string(ls->j, "module", i->module);
		json_string(ls->j, "event", i->event);
		json_uint(ls->j, "total", i->total);
		json_uint(ls->j, "suppressed", i->suppressed);
		json_object_end(ls->j);
		return;
	}
	ctl_reply_add(ls->r, "log_limit: %s \"%s\" total %llu suppressed %llu",
	    i->module, i->event, i->total, i->suppressed);
}

/*
 * A counter group of status: in JSON an object of numbers, in text one
 * line "label: name N name N ..." (ctl_proto.h).
 */
static void
status_counters(struct ctl_reply *r, struct json *j, const char *label,
    const unsigned long long *v, int n, const char *(*name)(int))
{
	char *line, *t;
	int i;

	if (j != NULL) {
		json_object_begin(j, label);
		for (i = 0; i < n; i++)
			json_uint(j, name(i), v[i]);
		json_object_end(j);
		return;
	}
	line = xstrdup("");
	for (i = 0; i < n; i++) {
		t = xasprintf("%s %s %llu", line, name(i), v[i]);
		free(line);
		line = t;
	}
	ctl_reply_add(r, "%s:%s", label, line);
	free(line);
}

static const char *
bad_name(int k)
{
	return sip_bad_name((enum sip_bad)k);
}

/* What status reports, gathered once for either form. */
struct status_data {
	const struct snapshot		*s;
	struct proxy_stats		 ps;
	struct limit_status		 ls;
	struct sip_transport_stats	 ts;
	struct heap_stats		 hs;
	unsigned long long		 bad_sum;
	long long			 up;
};

/* status as one JSON object (ctl_proto.h lists the members). */
static void
status_json(struct ctl_reply *r, struct json *j, struct status_data *sd)
{
	char t[32];

	json_string(j, "version", PACKAGE_VERSION);
	json_int(j, "protocol", CTL_PROTO_VERSION);
	json_int(j, "pid", (long long)getpid());
	json_string(j, "started", str_time_iso(d.started, t, sizeof t));
	json_int(j, "uptime", sd->up);
	json_string(j, "config", d.conf_path);
	json_string(j, "loaded_at", str_time_iso(sd->s->loaded_at, t,
	    sizeof t));
	json_uint(j, "snapshots", snapshot_alive());
	json_string(j, "certificate", sd->s->tls->cert_file);
	json_string(j, "subject", sd->s->tls->subject);
	json_string(j, "not_before", sd->s->tls->not_before);
	json_string(j, "not_after", sd->s->tls->not_after);
	json_bool(j, "temporary", sd->s->tls->temporary);
	json_array_begin(j, "alarms");
	ctl_alarms(sd->s, alarm_json, j);
	json_array_end(j);
	json_uint(j, "connections", sip_transport_nconns(d.transport));
	json_uint(j, "requests", sd->ps.requests);
	json_uint(j, "forwarded", sd->ps.forwarded);
	json_uint(j, "failovers", sd->ps.failovers);
	json_uint(j, "local_responses", sd->ps.local);
	json_uint(j, "pending", sd->ps.pending);
	json_uint(j, "transactions", sd->ps.transactions);
	json_uint(j, "overload", sd->ps.overload);
	json_uint(j, "inbound", sd->ts.inbound);
	json_uint(j, "handshakes", sd->ts.handshakes);
	json_uint(j, "sources", sd->ts.sources);
	json_object_begin(j, "limits");
	json_uint(j, "max_connections", sd->ts.max_connections);
	json_uint(j, "per_source", sd->ts.max_per_source);
	json_uint(j, "handshakes", sd->ts.max_handshakes);
	json_object_end(j);
	status_counters(r, j, "refused", sd->ts.refused, SIP_REFUSED_N,
	    sip_refusal_name);
	status_counters(r, j, "deadlines", sd->ts.deadlines,
	    SIP_DEADLINE_N, sip_deadline_name);
	json_bool(j, "accept_paused", sd->ts.accept_paused);
	json_uint(j, "bad_messages", sd->bad_sum);
	status_counters(r, j, "bad_messages_by_kind", sd->ts.bad,
	    SIP_BAD_NKINDS, bad_name);
	json_object_begin(j, "heap");
	json_uint(j, "trims", sd->hs.trims);
	json_uint(j, "last_ms", sd->hs.last_ms);
	json_uint(j, "longest_ms", sd->hs.max_ms);
	json_object_end(j);
	json_uint(j, "log_suppressed", sd->ls.suppressed);
	json_array_begin(j, "log_limits");
	log_limit_walk(limit_line, &sd->ls);
	json_array_end(j);
}

/* status as "name: value" lines (ctl_proto.h lists the names). */
static void
status_text(struct ctl_reply *r, struct status_data *sd)
{
	char t[32], *alarms = NULL;

	ctl_reply_add(r, "version: %s", PACKAGE_VERSION);
	ctl_reply_add(r, "protocol: %d", CTL_PROTO_VERSION);
	ctl_reply_add(r, "pid: %ld", (long)getpid());
	ctl_reply_add(r, "started: %s", str_time_iso(d.started, t, sizeof t));
	ctl_reply_add(r, "uptime: %lld second%s", sd->up,
	    sd->up == 1 ? "" : "s");
	ctl_reply_add(r, "config: %s", d.conf_path);
	ctl_reply_add(r, "loaded_at: %s", str_time_iso(sd->s->loaded_at, t,
	    sizeof t));
	ctl_reply_add(r, "snapshots: %zu", snapshot_alive());
	ctl_reply_add(r, "certificate: %s", sd->s->tls->cert_file);
	ctl_reply_add(r, "subject: %s", sd->s->tls->subject);
	ctl_reply_add(r, "not_before: %s", sd->s->tls->not_before);
	ctl_reply_add(r, "not_after: %s", sd->s->tls->not_after);
	ctl_reply_add(r, "temporary: %s", sd->s->tls->temporary ? "yes" :
	    "no");
	ctl_alarms(sd->s, alarm_join, &alarms);
	ctl_reply_add(r, "alarms: %s", alarms != NULL ? alarms : "none");
	free(alarms);
	ctl_reply_add(r, "connections: %zu", sip_transport_nconns(d.transport));
	ctl_reply_add(r, "requests: %lu", sd->ps.requests);
	ctl_reply_add(r, "forwarded: %lu", sd->ps.forwarded);
	ctl_reply_add(r, "failovers: %lu", sd->ps.failovers);
	ctl_reply_add(r, "local_responses: %lu", sd->ps.local);
	ctl_reply_add(r, "pending: %zu", sd->ps.pending);
	ctl_reply_add(r, "transactions: %zu", sd->ps.transactions);
	ctl_reply_add(r, "overload: %lu", sd->ps.overload);
	ctl_reply_add(r, "inbound: %zu", sd->ts.inbound);
	ctl_reply_add(r, "handshakes: %zu", sd->ts.handshakes);
	ctl_reply_add(r, "sources: %zu", sd->ts.sources);
	ctl_reply_add(r, "limits: max_connections %zu per_source %zu "
	    "handshakes %zu", sd->ts.max_connections, sd->ts.max_per_source,
	    sd->ts.max_handshakes);
	status_counters(r, NULL, "refused", sd->ts.refused, SIP_REFUSED_N,
	    sip_refusal_name);
	status_counters(r, NULL, "deadlines", sd->ts.deadlines, SIP_DEADLINE_N,
	    sip_deadline_name);
	ctl_reply_add(r, "accept_paused: %s", sd->ts.accept_paused ? "yes" :
	    "no");
	ctl_reply_add(r, "bad_messages: %llu", sd->bad_sum);
	status_counters(r, NULL, "bad_messages_by_kind", sd->ts.bad,
	    SIP_BAD_NKINDS, bad_name);
	ctl_reply_add(r, "heap: trims %lu last_ms %lu longest_ms %lu",
	    sd->hs.trims, sd->hs.last_ms, sd->hs.max_ms);
	ctl_reply_add(r, "log_suppressed: %llu", sd->ls.suppressed);
	log_limit_walk(limit_line, &sd->ls);
}

/* status: version, uptime, configuration, certificate and counters. */
static int
ctl_status(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);
	struct status_data sd;
	int i;

	(void)args;
	(void)arg;
	memset(&sd, 0, sizeof sd);
	sd.s = d.current;
	sd.ls.r = r;
	sd.ls.j = j;
	sd.up = (long long)(time(NULL) - d.started);
	proxy_stats(d.proxy, &sd.ps);
	log_limit_walk(limit_sum, &sd.ls);
	sip_transport_stats(d.transport, &sd.ts);
	heap_trimmer_stats(d.heap, &sd.hs);
	for (i = 0; i < SIP_BAD_NKINDS; i++)
		sd.bad_sum += sd.ts.bad[i];
	if (j != NULL)
		status_json(r, j, &sd);
	else
		status_text(r, &sd);
	return 0;
}

/* One line (or object) per distribution point. */
static void
dp_line(const struct rev_dp_info *i, void *arg)
{
	struct ctl_reply *r = arg;
	struct json *j = ctl_reply_json(r);
	char a[32], b[32], c[32];

	if (j != NULL) {
		json_object_begin(j, NULL);
		json_string(j, "url", i->url);
		json_uint(j, "crls", i->crls);
		json_string(j, "last_attempt", i->last_attempt ?
		    str_time_iso(i->last_attempt, a, sizeof a) : NULL);
		json_string(j, "last_success", i->last_success ?
		    str_time_iso(i->last_success, b, sizeof b) : NULL);
		json_string(j, "next", str_time_iso(i->next, c, sizeof c));
		json_string(j, "error", i->error);
		json_object_end(j);
		return;
	}
	ctl_reply_add(r, "%s crls %zu last_attempt %s last_success %s next %s%s%s",
	    i->url, i->crls, i->last_attempt ? str_time_iso(i->last_attempt, a,
	    sizeof a) : "-", i->last_success ? str_time_iso(i->last_success, b,
	    sizeof b) : "-", str_time_iso(i->next, c, sizeof c),
	    *i->error ? " error: " : "", i->error);
}

/* revocation: the gate's counters, the OCSP cache, the distribution points. */
static int
ctl_revocation(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);
	struct gate_stats st;
	unsigned long looked;
	double rate;
	char pct[16];

	(void)args;
	(void)arg;
	gate_stats(d.gate, &st);
	looked = st.ocsp_hits + st.ocsp_misses;
	rate = looked > 0 ? 100.0 * (double)st.ocsp_hits / (double)looked : 0;
	if (j != NULL) {
		json_object_begin(j, "peers");
		json_uint(j, "verified", st.verified);
		json_uint(j, "refused", st.refused);
		json_uint(j, "held", st.held);
		json_uint(j, "revalidated", st.revalidated);
		json_uint(j, "dropped", st.dropped);
		json_object_end(j);
		json_object_begin(j, "ocsp");
		json_uint(j, "cache", st.ocsp_cache);
		json_uint(j, "hits", st.ocsp_hits);
		json_uint(j, "misses", st.ocsp_misses);
		if (looked > 0)
			json_double(j, "hit_rate", rate, 1);
		else
			json_null(j, "hit_rate");
		json_object_end(j);
		json_array_begin(j, "distribution_points");
		if (d.dp != NULL)
			rev_dp_walk(d.dp, dp_line, r);
		json_array_end(j);
		return 0;
	}
	ctl_reply_add(r, "peers verified %lu refused %lu held %lu revalidated "
	    "%lu dropped %lu", st.verified, st.refused, st.held,
	    st.revalidated, st.dropped);
	if (looked > 0)
		snprintf(pct, sizeof pct, "%.1f%%", rate);
	else
		snprintf(pct, sizeof pct, "-");
	ctl_reply_add(r, "ocsp cache %zu hits %lu misses %lu hit_rate %s",
	    st.ocsp_cache, st.ocsp_hits, st.ocsp_misses, pct);
	if (d.dp != NULL)
		rev_dp_walk(d.dp, dp_line, r);
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

/* Each entry of a "DNS:a, IP:b" line as a JSON string. */
static void
json_split(struct json *j, const char *line)
{
	const char *p = line, *e;

	while (*p != '\0') {
		if ((e = strstr(p, ", ")) == NULL)
			e = p + strlen(p);
		json_stringn(j, NULL, p, (size_t)(e - p));
		p = *e != '\0' ? e + 2 : e;
	}
}

/* certs: the server certificate and the trust list. */
static int
ctl_certs(const char *args, struct ctl_reply *r, void *arg)
{
	const struct tls_identity *id = d.current->tls;
	X509 *leaf = id->ctx != NULL ? SSL_CTX_get0_certificate(id->ctx) : NULL;
	struct json *j = ctl_reply_json(r);
	STACK_OF(X509) *cas;
	time_t now = time(NULL);
	char *sans, *subj, *na;
	long long left;
	int i;

	(void)args;
	(void)arg;
	if (leaf == NULL) {
		ctl_reply_add(r, "no server certificate loaded");
		return -1;
	}
	sans = pki_san_line(leaf);
	left = pki_seconds_left(leaf, now);
	if (j != NULL) {
		json_object_begin(j, "server");
		json_string(j, "file", id->cert_file);
		json_bool(j, "temporary", id->temporary);
		json_string(j, "subject", id->subject);
		json_array_begin(j, "names");
		json_split(j, sans);
		json_array_end(j);
		json_string(j, "not_after", id->not_after);
		json_int(j, "days_left", left / 86400);
		json_bool(j, "expired", left < 0);
		json_object_end(j);
		json_object_begin(j, "trust");
		json_string(j, "file", id->trust_file);
		json_uint(j, "cas", id->ntrusted);
		json_array_begin(j, "certificates");
	} else {
		ctl_reply_add(r, "server %s%s", id->cert_file,
		    id->temporary ? " (temporary)" : "");
		ctl_reply_add(r, "  subject %s", id->subject);
		ctl_reply_add(r, "  names %s", *sans ? sans : "(none)");
		ctl_reply_add(r, "  expires %s (%s%lld days)", id->not_after,
		    left < 0 ? "expired " : "", (left < 0 ? -left : left) / 86400);
		ctl_reply_add(r, "trust %s: %zu CA%s", id->trust_file != NULL ?
		    id->trust_file : "(temporary CA only)", id->ntrusted,
		    id->ntrusted == 1 ? "" : "s");
	}
	free(sans);
	cas = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(id->ctx));
	for (i = 0; i < sk_X509_num(cas); i++) {
		X509 *x = sk_X509_value(cas, i);

		subj = pki_name_line(X509_get_subject_name(x));
		na = pki_time_iso(X509_get0_notAfter(x));
		if (j != NULL) {
			json_object_begin(j, NULL);
			json_string(j, "subject", subj);
			json_string(j, "not_after", na);
			json_bool(j, "expired", pki_seconds_left(x, now) < 0);
			json_object_end(j);
		} else
			ctl_reply_add(r, "  %s expires %s%s", subj, na,
			    pki_seconds_left(x, now) < 0 ? " EXPIRED" : "");
		free(subj);
		free(na);
	}
	sk_X509_pop_free(cas, X509_free);
	if (j != NULL) {
		json_array_end(j);
		json_object_end(j);
	}
	return 0;
}

static void
alarm_line(const struct alarm_info *i, void *arg)
{
	struct ctl_reply *r = arg;
	struct json *j = ctl_reply_json(r);
	char t[32];

	if (j != NULL) {
		json_object_begin(j, NULL);
		json_string(j, "key", i->key);
		json_string(j, "since", str_time_iso(i->since, t, sizeof t));
		json_string(j, "text", i->text);
		json_object_end(j);
		return;
	}
	ctl_reply_add(r, "%s %s: %s", str_time_iso(i->since, t, sizeof t),
	    i->key, i->text);
}

/* alarms: what is raised now, oldest first; "none" when nothing is. */
static int
ctl_alarms_cmd(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);

	(void)args;
	(void)arg;
	reload_alarms();
	if (j != NULL) {
		json_array_begin(j, "alarms");
		alarm_walk(alarm_line, r);
		json_array_end(j);
		return 0;
	}
	if (alarm_count() == 0)
		ctl_reply_add(r, "none");
	alarm_walk(alarm_line, r);
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

