/*
 * sipedged.c: the daemon: options, -t, pid file, signals, the event loop,
 * and reload (build a new snapshot aside, swap it in only when complete).
 * Signals arrive as loop events; handlers only start work on the loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctl/ctl_proto.h"
#include "ctl/ctl_server.h"
#include "daemon/heap.h"
#include "daemon/snapshot.h"
#include "proxy/gate.h"
#include "proxy/proxy.h"
#include "proxy/trav.h"
#include "proxy/zone.h"
#include "rev/rev_dp.h"
#include "sip/sip_transport.h"
#include "tls/tls_pki.h"
#include "tls/tls_rev.h"
#include "util/alarm.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

/* One open listener and the configuration entry it serves. */
struct slot {
	int			 transport;
	char			*address;
	int			 port;
	struct sip_listener	*l;
};

static struct {
	const char		*conf_path;
	int			 foreground;
	struct event_base	*base;
	struct snapshot		*current;
	struct sip_transport	*transport;
	struct proxy		*proxy;
	struct gate		*gate;
	struct zones		*zones;
	struct trav		*trav;
	struct rev_dp		*dp;
	struct event		*alarm_timer;	/* hourly certificate alarms */
	struct event		*logflush_timer; /* "similar events suppressed" */
	struct heap_trimmer	*heap;		/* gives waves' memory back */
	struct slot		*slots;
	size_t			 nslots;
	char			*pid_file;
	struct event		*grace_timer;
	int			 stopping;
	struct ctl_server	*ctl;		/* the control socket */
	char			*ctl_path;	/* its path, fixed at start */
	long			 ctl_gid;	/* its group, -1: our own */
	time_t			 started;
} d;

static void
usage(FILE *f)
{
	fprintf(f, "usage: sipedged [-c FILE] [-f] [-t] [-V] [-h]\n"
	    "  -c FILE  main configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n", SE_CONFFILE);
}

static void
log_slot(const char *event, const struct slot *s)
{
	char port[16];

	snprintf(port, sizeof port, "%d", s->port);
	log_event(LOG_LVL_INFO, "net", event, "transport",
	    conf_transport_name(s->transport), "address", s->address, "port",
	    port, NULL);
}

static void
free_slots(struct slot *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].address);
	free(v);
}

static struct slot *
find_slot(struct slot *v, size_t n, const struct conf_listen *cl)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].l != NULL && v[i].transport == cl->transport &&
		    v[i].port == cl->port && strcmp(v[i].address, cl->address) == 0)
			return &v[i];
	return NULL;
}

/* Reopen the listeners closed to hand their port over, after a failure. */
static void
restore_handed(const int *handed)
{
	char *cause = NULL;
	size_t j;

	for (j = 0; j < d.nslots; j++) {
		if (!handed[j])
			continue;
		d.slots[j].l = sip_listener_open(d.transport,
		    d.slots[j].transport, d.slots[j].address, d.slots[j].port,
		    &cause);
		if (d.slots[j].l != NULL)
			log_slot("listener open", &d.slots[j]);
		else {
			log_event(LOG_LVL_ERROR, "daemon", "listener lost",
			    "reason", cause, NULL);
			free(cause);
			cause = NULL;
		}
	}
}

static int
is_stream(int transport)
{
	return transport == TP_TCP || transport == TP_TLS;
}

/*
 * Whether open slot s must give up its port before conf c can open its
 * listeners: c drops s and wants the same address and port with the other
 * stream transport (TCP <-> TLS), which cannot be bound while s listens.
 */
static int
must_hand_over(const struct conf *c, const struct slot *s)
{
	size_t i;
	int handover = 0;

	for (i = 0; i < c->nlisten; i++) {
		const struct conf_listen *cl = &c->listen[i];

		if (cl->port != s->port || strcmp(cl->address, s->address) != 0)
			continue;
		if (cl->transport == s->transport)
			return 0;	/* kept */
		if (is_stream(cl->transport) && is_stream(s->transport))
			handover = 1;
	}
	return handover;
}

/*
 * Make the open listeners match conf c: keep the ones that did not change,
 * open the new ones, and only when all opened, close the removed ones.  A
 * port that changes between TCP and TLS is closed first and reopened if
 * the rest fails.  On failure nothing changes and *cause says why.
 */
static int
reconcile_listeners(const struct conf *c, char **cause)
{
	struct slot *nv = xcalloc(c->nlisten + 1, sizeof *nv);
	int *handed = xcalloc(d.nslots + 1, sizeof *handed);
	size_t i, j;

	for (j = 0; j < d.nslots; j++) {
		if (d.slots[j].l == NULL || !must_hand_over(c, &d.slots[j]))
			continue;
		sip_listener_close(d.slots[j].l);
		d.slots[j].l = NULL;
		handed[j] = 1;
		log_slot("listener closed", &d.slots[j]);
	}
	for (i = 0; i < c->nlisten; i++) {
		const struct conf_listen *cl = &c->listen[i];

		nv[i].transport = cl->transport;
		nv[i].address = xstrdup(cl->address);
		nv[i].port = cl->port;
		if (find_slot(d.slots, d.nslots, cl) != NULL)
			continue;
		nv[i].l = sip_listener_open(d.transport, cl->transport,
		    cl->address, cl->port, cause);
		if (nv[i].l == NULL) {
			char loc[256], *t;

			t = xasprintf("%s: %s", conf_loc_str(&cl->loc, loc,
			    sizeof loc), *cause);
			free(*cause);
			*cause = t;
			for (j = 0; j < i; j++)
				if (nv[j].l != NULL)
					sip_listener_close(nv[j].l);
			free_slots(nv, c->nlisten);
			restore_handed(handed);
			free(handed);
			return -1;
		}
		log_slot("listener open", &nv[i]);
	}
	/* Carry over unchanged listeners; close the ones no longer wanted. */
	for (j = 0; j < d.nslots; j++) {
		int kept = 0;

		if (d.slots[j].l == NULL)
			continue;
		for (i = 0; i < c->nlisten; i++) {
			if (nv[i].l == NULL && nv[i].transport == d.slots[j].transport &&
			    nv[i].port == d.slots[j].port &&
			    strcmp(nv[i].address, d.slots[j].address) == 0) {
				nv[i].l = d.slots[j].l;
				kept = 1;
				break;
			}
		}
		if (!kept) {
			sip_listener_close(d.slots[j].l);
			log_slot("listener closed", &d.slots[j]);
		}
	}
	free(handed);
	free_slots(d.slots, d.nslots);
	d.slots = nv;
	d.nslots = c->nlisten;
	/* A traversal-server zone's own port says whose clients come in. */
	for (i = 0; i < c->nlisten; i++)
		if (nv[i].l != NULL)
			sip_listener_set_zone(nv[i].l, c->listen[i].zone);
	return 0;
}

/* Log each diagnostic; errors at level error, warnings at warn. */
static void
log_diags(const struct diaglist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		log_event(dl->v[i].sev == DIAG_ERROR ? LOG_LVL_ERROR :
		    LOG_LVL_WARN, "conf", dl->v[i].sev == DIAG_ERROR ?
		    "config error" : "config warning", "error", dl->v[i].text,
		    NULL);
}

/*
 * The log events that unauthenticated input can trigger at will, rate
 * limited per kind (log.h): whoever floods the edge with garbage,
 * handshakes or refused certificates writes a bounded number of lines a
 * second.  The counts stay true (sipedge-ctl status).  A level limits
 * that kind from that level up only (an ordinary "connection closed" is
 * info and not limited; one that closes on bad input is warn).
 */
static const struct {
	const char	*module;
	const char	*event;
	enum log_level	 min_level;
} limited_events[] = {
	{ "sip", "bad message", LOG_LVL_DEBUG },
	{ "sip", "connection closed", LOG_LVL_WARN },
	{ "sip", "send failed", LOG_LVL_DEBUG },
	{ "sip", "connections refused", LOG_LVL_DEBUG },
	{ "net", "accept failed", LOG_LVL_DEBUG },
	{ "net", "libevent", LOG_LVL_DEBUG },
	{ "net", "connections refused", LOG_LVL_DEBUG },
	{ "tls", "handshake failed", LOG_LVL_DEBUG },
	{ "tls", "handshake timeout", LOG_LVL_DEBUG },
	{ "tls", "peer refused", LOG_LVL_DEBUG },
	{ "tls", "connections refused", LOG_LVL_DEBUG },
	{ "proxy", "request refused", LOG_LVL_DEBUG },
	{ NULL, NULL, LOG_LVL_DEBUG }
};

/* Register the limited event kinds (once, at start). */
static void
register_limited_events(void)
{
	size_t i;

	for (i = 0; limited_events[i].module != NULL; i++)
		log_limit_register(limited_events[i].module,
		    limited_events[i].event, limited_events[i].min_level);
}

/* For the heap trimmer: connections opened and closed so far. */
static void
conn_counts(void *arg, struct heap_counts *out)
{
	(void)arg;
	out->opened = out->closed = 0;
	if (d.transport != NULL) {
		out->closed = sip_transport_closed(d.transport);
		out->opened = out->closed + sip_transport_nconns(d.transport);
	}
}

/* Each second: the summaries of rate-limited kinds whose interval ended. */
static void
logflush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush_suppressed();
}

/* Point the log at the sinks the configuration names. */
static int
apply_log(const struct conf *c, char **cause)
{
	int to_stderr = d.foreground && c->log_file.path == NULL &&
	    !c->log_syslog;
	int to_syslog = c->log_syslog || (!d.foreground &&
	    c->log_file.path == NULL);

	/* The limits apply even when the sinks cannot change. */
	log_limit_configure((unsigned int)c->log_rate_burst,
	    (unsigned int)c->log_rate_interval);
	return log_configure(c->log_file.path, to_stderr, to_syslog,
	    c->log_facility, (enum log_level)c->log_level, cause);
}

/* Log the identity in use: certificate, alarms, trust list and CRLs. */
static void
announce_identity(const struct snapshot *s)
{
	const struct tls_identity *id = s->tls;
	struct log_line l;
	char *words;

	if (id->temporary)
		log_event(LOG_LVL_WARN, "tls", "temporary certificate in use",
		    "certificate", id->cert_file, "subject", id->subject,
		    "reason", "no tls.certificate is configured; peers will "
		    "not trust it", NULL);
	else
		log_event(LOG_LVL_INFO, "tls", "certificate loaded",
		    "certificate", id->cert_file, "subject", id->subject,
		    "not_after", id->not_after, NULL);
	if (id->alarms != 0) {
		words = tls_check_alarm_words(id->alarms);
		log_begin(&l, LOG_LVL_WARN, "tls", "certificate alarm");
		log_kvs(&l, "certificate", id->cert_file);
		log_kvs(&l, "alarm", words);
		log_kvs(&l, "reason", id->alarm_text);
		log_kvs(&l, "not_before", id->not_before);
		log_kvs(&l, "not_after", id->not_after);
		log_end(&l);
		free(words);
	}
	log_begin(&l, LOG_LVL_INFO, "tls", "trust loaded");
	log_kvs(&l, "trust", id->trust_file != NULL ? id->trust_file : "none");
	log_kv(&l, "cas", "%zu", id->ntrusted);
	log_kv(&l, "crls", "%zu", tls_identity_ncrls(id, TLS_CRL_TRUST_FILE));
	log_kvs(&l, "manual_crl", id->manual_crl_file != NULL ?
	    id->manual_crl_file : "none");
	log_kv(&l, "manual_crls", "%zu", tls_identity_ncrls(id, TLS_CRL_MANUAL));
	log_end(&l);
}

/* Make snapshot s current: profile, names, log. */
/* An expired CRL in the store: one alarm per issuer. */
static void
crl_alarm(const struct rev_crl_info *i, void *arg)
{
	time_t now = *(time_t *)arg;
	char key[512], t[32];

	/* A delta or an unusable CRL past its nextUpdate revokes nothing. */
	if (i->next_update == 0 || i->next_update >= now || i->delta ||
	    i->unusable != NULL)
		return;
	snprintf(key, sizeof key, "crl %s", i->issuer);
	alarm_raise(key, "the CRL of %s (%s, %s) expired at %s: every "
	    "certificate of that CA counts as revoked until a fresh one "
	    "arrives", i->issuer, rev_source_name(i->source), i->origin,
	    str_time_iso(i->next_update, t, sizeof t));
}

/*
 * The alarms that follow from time passing: the server certificate
 * (temporary, expired, not yet valid, expiring), expired trusted CAs and
 * expired CRLs.  Run at each install, after CRL updates and hourly.
 */
static void
refresh_alarms(void)
{
	const struct snapshot *s = d.current;
	const struct tls_identity *id;
	X509 *leaf;
	STACK_OF(X509) *cas;
	time_t now = time(NULL);
	long long left;
	char key[512], *subj;
	int i;

	if (s == NULL || (id = s->tls) == NULL || id->ctx == NULL)
		return;
	if (id->temporary)
		alarm_raise("temporary-certificate", "the temporary first-start "
		    "certificate is in use: peers will not trust it (install "
		    "one with sipedge-cert)");
	else
		alarm_clear("temporary-certificate");
	leaf = SSL_CTX_get0_certificate(id->ctx);
	left = leaf != NULL ? pki_seconds_left(leaf, now) : 1;
	if (leaf != NULL && X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0)
		alarm_raise("server-certificate", "the server certificate %s is "
		    "not valid before %s", id->cert_file, id->not_before);
	else if (left <= 0)
		alarm_raise("server-certificate", "the server certificate %s "
		    "expired on %s", id->cert_file, id->not_after);
	else if (left < (long long)s->conf->expiry_warning_days * 86400)
		alarm_raise("server-certificate", "the server certificate %s "
		    "expires on %s (in %lld days)", id->cert_file, id->not_after,
		    left / 86400);
	else
		alarm_clear("server-certificate");
	alarm_clear_prefix("trusted-ca ");
	cas = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(id->ctx));
	for (i = 0; i < sk_X509_num(cas); i++) {
		X509 *x = sk_X509_value(cas, i);

		if (pki_seconds_left(x, now) > 0)
			continue;
		subj = pki_name_line(X509_get_subject_name(x));
		snprintf(key, sizeof key, "trusted-ca %s", subj);
		alarm_raise(key, "the trusted CA %s has expired: peers whose "
		    "chains end there are refused", subj);
		free(subj);
	}
	sk_X509_pop_free(cas, X509_free);
	alarm_clear_prefix("crl ");
	rev_store_walk(gate_store(d.gate), crl_alarm, &now);
}

static void
alarm_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	refresh_alarms();
}

static void
install(struct snapshot *s)
{
	struct sip_limits lim = {
		(size_t)s->conf->max_connections,
		(size_t)s->conf->max_conns_per_source,
		(size_t)s->conf->max_handshakes
	};

	sip_transport_set_profile(d.transport, s->profile);
	sip_transport_set_limits(d.transport, &lim);
	proxy_configure(d.proxy, s->conf, s->names, s->nnames);
	proxy_set_keys(d.proxy, s->keys);
	if (s->keys_created) {
		char *kf = xasprintf("%s/%s", s->conf->state_dir.path,
		    RRTOK_FILE);

		log_event(LOG_LVL_NOTICE, "proxy", "route key created", "file",
		    kf, NULL);
		free(kf);
		s->keys_created = 0;
	}
	gate_apply(d.gate, s->conf, s->tls);
	if (d.zones != NULL)
		zones_apply(d.zones, s->conf);
	if (d.trav != NULL)
		trav_apply(d.trav, s->conf);
	if (d.dp != NULL) {
		STACK_OF(X509) *trusted = gate_trusted(d.gate);
		char *cache = tls_rev_dp_cache_dir(s->conf);

		rev_dp_configure(d.dp, s->conf->rev_dps.v, s->conf->rev_dps.n,
		    s->conf->rev_update_minute, cache,
		    s->conf->rev_https_ca_file.path, trusted);
		free(cache);
		sk_X509_pop_free(trusted, X509_free);
	}
	if (d.current != s)
		snapshot_unref(&d.current);
	d.current = s;
	refresh_alarms();
}

/*
 * Reload the configuration from the same file; trigger ("SIGHUP",
 * "control socket") goes to the log.  Every error and warning is logged
 * and also added to res with the text the log shows, for the control
 * socket to answer with.  0: the new configuration serves; -1: it was
 * refused and the previous one still does.
 */
static int
reload(const char *trigger, struct diaglist *res)
{
	struct diaglist dl = { 0 };
	struct snapshot *s;
	char *cause = NULL, errs[16];

	log_event(LOG_LVL_NOTICE, "conf", "reload started", "file", d.conf_path,
	    "trigger", trigger, NULL);
	s = snapshot_build(d.conf_path, TLS_LOAD_RUN, &dl);
	log_diags(&dl);
	snprintf(errs, sizeof errs, "%zu", dl.nerrors);
	diag_move(res, &dl);
	if (s == NULL) {
		log_event(LOG_LVL_ERROR, "conf", "reload failed", "file",
		    d.conf_path, "errors", errs, "reason",
		    "the configuration is invalid; still serving the previous one",
		    NULL);
		return -1;
	}
	if (reconcile_listeners(s->conf, &cause) == -1) {
		log_event(LOG_LVL_ERROR, "conf", "config error", "error", cause,
		    NULL);
		log_event(LOG_LVL_ERROR, "conf", "reload failed", "file",
		    d.conf_path, "errors", "1", "reason", "a listener could not "
		    "be opened; still serving the previous configuration", NULL);
		diag_add(res, DIAG_ERROR, NULL, 0, "%s", cause);
		free(cause);
		snapshot_unref(&s);
		return -1;
	}
	if (apply_log(s->conf, &cause) == -1) {
		log_event(LOG_LVL_WARN, "conf", "log not changed", "reason",
		    cause, NULL);
		diag_add(res, DIAG_WARN, NULL, 0, "log settings not changed: %s",
		    cause);
		free(cause);
	}
	if (s->conf->pid_file.path != NULL && d.pid_file != NULL &&
	    strcmp(s->conf->pid_file.path, d.pid_file) != 0) {
		log_event(LOG_LVL_WARN, "conf", "setting needs restart",
		    "setting", "daemon.pid_file", NULL);
		diag_add(res, DIAG_WARN, NULL, 0, "daemon.pid_file: the new "
		    "value takes effect at the next start");
	}
	if (s->conf->control_socket.path != NULL && d.ctl_path != NULL &&
	    strcmp(s->conf->control_socket.path, d.ctl_path) != 0) {
		log_event(LOG_LVL_WARN, "conf", "setting needs restart",
		    "setting", "daemon.control_socket", NULL);
		diag_add(res, DIAG_WARN, NULL, 0, "daemon.control_socket: the "
		    "new value takes effect at the next start");
	}
	if (d.ctl != NULL && s->conf->control_gid != d.ctl_gid) {
		if (ctl_server_set_group(d.ctl, s->conf->control_gid,
		    s->conf->control_group, &cause) == 0)
			d.ctl_gid = s->conf->control_gid;
		else {
			log_event(LOG_LVL_WARN, "conf", "control group not "
			    "changed", "reason", cause, NULL);
			diag_add(res, DIAG_WARN, NULL, 0, "daemon.control_group "
			    "not changed: %s", cause);
			free(cause);
		}
	}
	install(s);
	announce_identity(s);
	log_event(LOG_LVL_NOTICE, "conf", "reload ok", "file", d.conf_path, NULL);
	return 0;
}

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
	rv = reload("control socket", &dl);
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
static void
join(char **out, const char *item)
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
	join(arg, text);
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

/* status: "name: value" lines (ctl_proto.h lists the names). */
static int
ctl_status(const char *args, struct ctl_reply *r, void *arg)
{
	const struct snapshot *s = d.current;
	struct json *j = ctl_reply_json(r);
	struct proxy_stats ps;
	struct limit_status ls = { r, j, 0 };
	struct sip_transport_stats ts;
	struct heap_stats hs;
	char t[32], *alarms = NULL;
	unsigned long long bad_sum = 0;
	long long up;
	int i;

	up = (long long)(time(NULL) - d.started);
	proxy_stats(d.proxy, &ps);
	log_limit_walk(limit_sum, &ls);
	sip_transport_stats(d.transport, &ts);
	heap_trimmer_stats(d.heap, &hs);
	for (i = 0; i < SIP_BAD_NKINDS; i++)
		bad_sum += ts.bad[i];
	if (j != NULL) {
		json_string(j, "version", PACKAGE_VERSION);
		json_int(j, "protocol", CTL_PROTO_VERSION);
		json_int(j, "pid", (long long)getpid());
		json_string(j, "started", str_time_iso(d.started, t, sizeof t));
		json_int(j, "uptime", up);
		json_string(j, "config", d.conf_path);
		json_string(j, "loaded_at", str_time_iso(s->loaded_at, t,
		    sizeof t));
		json_string(j, "certificate", s->tls->cert_file);
		json_string(j, "subject", s->tls->subject);
		json_string(j, "not_before", s->tls->not_before);
		json_string(j, "not_after", s->tls->not_after);
		json_bool(j, "temporary", s->tls->temporary);
		json_array_begin(j, "alarms");
		ctl_alarms(s, alarm_json, j);
		json_array_end(j);
		json_uint(j, "connections", sip_transport_nconns(d.transport));
		json_uint(j, "requests", ps.requests);
		json_uint(j, "forwarded", ps.forwarded);
		json_uint(j, "failovers", ps.failovers);
		json_uint(j, "local_responses", ps.local);
		json_uint(j, "pending", ps.pending);
		json_uint(j, "transactions", ps.transactions);
		json_uint(j, "overload", ps.overload);
		json_uint(j, "inbound", ts.inbound);
		json_uint(j, "handshakes", ts.handshakes);
		json_uint(j, "sources", ts.sources);
		json_object_begin(j, "limits");
		json_uint(j, "max_connections", ts.max_connections);
		json_uint(j, "per_source", ts.max_per_source);
		json_uint(j, "handshakes", ts.max_handshakes);
		json_object_end(j);
		status_counters(r, j, "refused", ts.refused, SIP_REFUSED_N,
		    sip_refusal_name);
		status_counters(r, j, "deadlines", ts.deadlines,
		    SIP_DEADLINE_N, sip_deadline_name);
		json_bool(j, "accept_paused", ts.accept_paused);
		json_uint(j, "bad_messages", bad_sum);
		status_counters(r, j, "bad_messages_by_kind", ts.bad,
		    SIP_BAD_NKINDS, bad_name);
		json_object_begin(j, "heap");
		json_uint(j, "trims", hs.trims);
		json_uint(j, "last_ms", hs.last_ms);
		json_uint(j, "longest_ms", hs.max_ms);
		json_object_end(j);
		json_uint(j, "log_suppressed", ls.suppressed);
		json_array_begin(j, "log_limits");
		log_limit_walk(limit_line, &ls);
		json_array_end(j);
		return 0;
	}
	ctl_reply_add(r, "version: %s", PACKAGE_VERSION);
	ctl_reply_add(r, "protocol: %d", CTL_PROTO_VERSION);
	ctl_reply_add(r, "pid: %ld", (long)getpid());
	ctl_reply_add(r, "started: %s", str_time_iso(d.started, t, sizeof t));
	ctl_reply_add(r, "uptime: %lld second%s", up, up == 1 ? "" : "s");
	ctl_reply_add(r, "config: %s", d.conf_path);
	ctl_reply_add(r, "loaded_at: %s", str_time_iso(s->loaded_at, t, sizeof t));
	ctl_reply_add(r, "certificate: %s", s->tls->cert_file);
	ctl_reply_add(r, "subject: %s", s->tls->subject);
	ctl_reply_add(r, "not_before: %s", s->tls->not_before);
	ctl_reply_add(r, "not_after: %s", s->tls->not_after);
	ctl_reply_add(r, "temporary: %s", s->tls->temporary ? "yes" : "no");
	ctl_alarms(s, alarm_join, &alarms);
	ctl_reply_add(r, "alarms: %s", alarms != NULL ? alarms : "none");
	free(alarms);
	ctl_reply_add(r, "connections: %zu", sip_transport_nconns(d.transport));
	ctl_reply_add(r, "requests: %lu", ps.requests);
	ctl_reply_add(r, "forwarded: %lu", ps.forwarded);
	ctl_reply_add(r, "failovers: %lu", ps.failovers);
	ctl_reply_add(r, "local_responses: %lu", ps.local);
	ctl_reply_add(r, "pending: %zu", ps.pending);
	ctl_reply_add(r, "transactions: %zu", ps.transactions);
	ctl_reply_add(r, "overload: %lu", ps.overload);
	ctl_reply_add(r, "inbound: %zu", ts.inbound);
	ctl_reply_add(r, "handshakes: %zu", ts.handshakes);
	ctl_reply_add(r, "sources: %zu", ts.sources);
	ctl_reply_add(r, "limits: max_connections %zu per_source %zu "
	    "handshakes %zu", ts.max_connections, ts.max_per_source,
	    ts.max_handshakes);
	status_counters(r, NULL, "refused", ts.refused, SIP_REFUSED_N,
	    sip_refusal_name);
	status_counters(r, NULL, "deadlines", ts.deadlines, SIP_DEADLINE_N,
	    sip_deadline_name);
	ctl_reply_add(r, "accept_paused: %s", ts.accept_paused ? "yes" : "no");
	ctl_reply_add(r, "bad_messages: %llu", bad_sum);
	status_counters(r, NULL, "bad_messages_by_kind", ts.bad,
	    SIP_BAD_NKINDS, bad_name);
	ctl_reply_add(r, "heap: trims %lu last_ms %lu longest_ms %lu", hs.trims,
	    hs.last_ms, hs.max_ms);
	ctl_reply_add(r, "log_suppressed: %llu", ls.suppressed);
	log_limit_walk(limit_line, &ls);
	return 0;
}

/* One zone peer as a JSON object; with its zone for "zones". */
static void
zone_peer_json(struct json *j, const struct zone_peer_info *i, int with_zone)
{
	char t[32];

	json_object_begin(j, NULL);
	if (with_zone) {
		json_string(j, "zone", i->zone);
		json_string(j, "transport", i->transport);
	}
	json_string(j, "peer", i->peer);
	json_int(j, "port", i->port);
	json_string(j, "address", i->address);
	json_string(j, "state", zone_peer_state_name(i->state));
	json_string(j, "since", str_time_iso(i->since, t, sizeof t));
	json_string(j, "reason", i->reason);
	json_string(j, "last_failure", i->last_failure);
	if (i->last_failure_at != 0)
		json_string(j, "last_failure_at", str_time_iso(
		    i->last_failure_at, t, sizeof t));
	else
		json_null(j, "last_failure_at");
	json_object_end(j);
}

/* One line (or object) per zone peer. */
static void
zone_line(const struct zone_peer_info *i, void *arg)
{
	struct ctl_reply *r = arg;
	struct json *j = ctl_reply_json(r);
	char t[32];

	if (j != NULL) {
		zone_peer_json(j, i, 1);
		return;
	}
	ctl_reply_add(r, "%s %s %s:%d %s since %s%s%s", i->zone, i->transport,
	    i->peer, i->port, zone_peer_state_name(i->state),
	    str_time_iso(i->since, t, sizeof t), *i->reason ? ": " : "", i->reason);
}

/* A traversal zone as a JSON object (key NULL in an array). */
static void
trav_json(struct json *j, const char *key, const struct trav_info *i)
{
	char t[32];
	int server = strcmp(i->type, "traversal-server") == 0;

	json_object_begin(j, key);
	json_string(j, "zone", i->zone);
	json_string(j, "type", i->type);
	json_string(j, "state", i->state);
	json_string(j, "since", str_time_iso(i->since, t, sizeof t));
	json_string(j, "peer", i->peer);
	json_string(j, "tls_version", i->tls_version);
	json_string(j, "cipher", i->cipher);
	json_string(j, "last_failure", i->last_failure);
	json_uint(j, server ? "flows" : "reconnects", i->reconnects);
	json_object_end(j);
}

/* One line (or object) per traversal zone. */
static void
trav_line(const struct trav_info *i, void *arg)
{
	struct ctl_reply *r = arg;
	struct json *j = ctl_reply_json(r);
	char t[32];
	int server = strcmp(i->type, "traversal-server") == 0;

	if (j != NULL) {
		trav_json(j, NULL, i);
		return;
	}
	if (*i->tls_version != '\0')
		ctl_reply_add(r, "%s %s tls %s %s since %s: %s %s, %s %lu",
		    i->zone, i->type, *i->peer ? i->peer : "-", i->state,
		    str_time_iso(i->since, t, sizeof t), i->tls_version,
		    i->cipher, server ? "flows" : "reconnects", i->reconnects);
	else
		ctl_reply_add(r, "%s %s tls %s %s since %s%s%s%s, %s %lu",
		    i->zone, i->type, *i->peer ? i->peer : "-", i->state,
		    str_time_iso(i->since, t, sizeof t),
		    server && *i->last_failure == '\0' ?
		    ": no traversal client connected" : "",
		    *i->last_failure ? ": " : "", i->last_failure,
		    server ? "flows" : "reconnects", i->reconnects);
}

/* zones: every neighbor zone's peers, their state and why. */
static int
ctl_zones(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);

	(void)args;
	(void)arg;
	if (j != NULL)
		json_array_begin(j, "peers");
	if (d.zones != NULL)
		zones_walk(d.zones, zone_line, r);
	if (j != NULL) {
		json_array_end(j);
		json_array_begin(j, "traversal");
	}
	if (d.trav != NULL)
		trav_walk(d.trav, trav_line, r);
	if (j != NULL)
		json_array_end(j);
	return 0;
}

/* What "zone NAME" collects from zones_walk(). */
struct zone_one {
	const char		*name;
	struct ctl_reply	*r;
	size_t			 npeers;
	size_t			 ntrav;		/* traversal zone: its flow */
};

/* "zone NAME" for a traversal zone: its flow, as "zones" shows it. */
static void
zone_one_trav(const struct trav_info *i, void *arg)
{
	struct zone_one *z = arg;
	struct json *j = ctl_reply_json(z->r);

	if (strcmp(i->zone, z->name) != 0)
		return;
	z->ntrav++;
	if (j != NULL)
		trav_json(j, "traversal", i);
	else
		trav_line(i, z->r);
}

static void
zone_one_line(const struct zone_peer_info *i, void *arg)
{
	struct zone_one *z = arg;
	struct json *j = ctl_reply_json(z->r);
	char t[32];

	if (strcmp(i->zone, z->name) != 0)
		return;
	z->npeers++;
	if (j != NULL) {
		zone_peer_json(j, i, 0);
		return;
	}
	ctl_reply_add(z->r, "  %s:%d %s since %s address %s%s%s", i->peer,
	    i->port, zone_peer_state_name(i->state),
	    str_time_iso(i->since, t, sizeof t), *i->address ? i->address : "-",
	    *i->reason ? " reason " : "", i->reason);
	if (*i->last_failure != '\0' && i->state == ZP_ACTIVE)
		ctl_reply_add(z->r, "    last failure %s: %s", str_time_iso(
		    i->last_failure_at, t, sizeof t), i->last_failure);
}

/* zone NAME: one zone's peers, with their addresses and failures. */
static int
ctl_zone(const char *args, struct ctl_reply *r, void *arg)
{
	const struct conf *c = d.current->conf;
	const struct conf_zone *cz = NULL;
	struct json *j = ctl_reply_json(r);
	struct zone_one z = { args, r, 0, 0 };
	char *names = NULL;
	size_t i;

	(void)arg;
	if (*args == '\0' || strpbrk(args, " \t") != NULL) {
		ctl_reply_add(r, "zone takes one zone name: zone NAME");
		return -1;
	}
	for (i = 0; i < c->nzones && cz == NULL; i++)
		if (strcmp(c->zones[i].name, args) == 0)
			cz = &c->zones[i];
	if (cz == NULL) {
		for (i = 0; i < c->nzones; i++)
			join(&names, c->zones[i].name);
		ctl_reply_add(r, "no zone '%s' in the configuration (zones: %s)",
		    args, names != NULL ? names : "none");
		free(names);
		return -1;
	}
	if (j != NULL) {
		json_string(j, "zone", cz->name);
		json_string(j, "type", conf_zone_type_name(cz->type));
		json_string(j, "transport", conf_transport_name(cz->transport));
		json_uint(j, "configured_peers", cz->peers.n);
		json_array_begin(j, "peers");
		if (d.zones != NULL)
			zones_walk(d.zones, zone_one_line, &z);
		json_array_end(j);
		if (d.trav != NULL)
			trav_walk(d.trav, zone_one_trav, &z);
		if (z.ntrav == 0)
			json_null(j, "traversal");
		return 0;
	}
	ctl_reply_add(r, "zone %s type %s transport %s peers %zu", cz->name,
	    conf_zone_type_name(cz->type), conf_transport_name(cz->transport),
	    cz->peers.n);
	if (d.zones != NULL)
		zones_walk(d.zones, zone_one_line, &z);
	if (d.trav != NULL)
		trav_walk(d.trav, zone_one_trav, &z);
	if (z.npeers == 0 && z.ntrav == 0)
		ctl_reply_add(r, "  no peer connections are kept for this zone");
	return 0;
}

/* New CRLs from a distribution point: check the open connections. */
static void
dp_updated(const char *url, void *arg)
{
	char *why = xasprintf("CRL update from %s", url);

	(void)arg;
	gate_revalidate(d.gate, why);
	free(why);
	refresh_alarms();
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

/* A name and how many connections have it, for the connections summary. */
struct conn_count {
	char	name[48];
	size_t	n;
};

#define CONN_COUNT_MAX	32	/* distinct names; the rest count as "other" */

/* The request of `connections`: filters and the page (ctl_proto.h). */
struct conn_query {
	const char	*zone;		/* NULL: any */
	const char	*peer;		/* NULL: any; "ADDR" or "ADDR:PORT" */
	size_t		 offset;
	size_t		 limit;
	int		 summary;	/* 0: "nosummary" */
	int		 all;		/* "all": no hint for the rest */
	/* Filled by the walks. */
	size_t		 total, in, out, held, open;
	struct conn_count zones[CONN_COUNT_MAX + 1];
	size_t		 nzones;
	struct conn_count tls[CONN_COUNT_MAX + 1];
	size_t		 ntls;
	size_t		 index;		/* matching connections seen */
	size_t		 returned;
	int		 full;		/* the reply reached its byte bound */
	struct ctl_reply *r;
};

/* Count one more for name in v (n used, CONN_COUNT_MAX + 1 slots). */
static void
conn_count_add(struct conn_count *v, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0) {
			v[i].n++;
			return;
		}
	if (*n == CONN_COUNT_MAX)
		name = "other";
	for (i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0) {
			v[i].n++;
			return;
		}
	snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
	v[*n].n = 1;
	(*n)++;
}

/*
 * Does the peer "ip:port" (IPv6 as "[ip]:port") match want: the whole
 * address with its port, or the address alone (with or without brackets).
 */
static int
conn_peer_matches(const char *peer, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(peer, want) == 0)
		return 1;
	if (strncmp(peer, want, n) == 0 && peer[n] == ':' &&
	    strchr(peer + n + 1, ':') == NULL)
		return 1;
	return peer[0] == '[' && strncmp(peer + 1, want, n) == 0 &&
	    peer[n + 1] == ']' && peer[n + 2] == ':';
}

/* Is the connection one the query asks for? */
static int
conn_matches(const struct conn_query *q, const struct gate_conn_info *i)
{
	if (q->zone != NULL && strcmp(q->zone, i->zone) != 0)
		return 0;
	return q->peer == NULL || conn_peer_matches(i->peer, q->peer);
}

/* First walk: the summary of the matching connections. */
static void
conn_sum(const struct gate_conn_info *i, void *arg)
{
	struct conn_query *q = arg;

	if (!conn_matches(q, i))
		return;
	q->total++;
	if (i->outbound)
		q->out++;
	else
		q->in++;
	if (strcmp(i->state, "open") == 0)
		q->open++;
	else
		q->held++;
	conn_count_add(q->zones, &q->nzones, i->zone);
	conn_count_add(q->tls, &q->ntls, *i->tls_version ? i->tls_version :
	    "handshake");
}

/* The bytes of the reply so far. */
static size_t
conn_reply_size(struct conn_query *q)
{
	struct json *j = ctl_reply_json(q->r);
	size_t len = 0;

	if (j != NULL)
		(void)json_text(j, &len);
	return len + ctl_reply_size(q->r);
}

/* Second walk: one line (or object) per connection of the page. */
static void
conn_line(const struct gate_conn_info *i, void *arg)
{
	struct conn_query *q = arg;
	struct json *j = ctl_reply_json(q->r);
	char t[32];

	if (!conn_matches(q, i))
		return;
	if (q->index++ < q->offset || q->returned >= q->limit || q->full)
		return;
	/* A page never outgrows what a client reads (CTL_REPLY_MAX). */
	if (conn_reply_size(q) > CTL_CONNS_BYTES_MAX) {
		q->full = 1;
		return;
	}
	q->returned++;
	if (j != NULL) {
		json_object_begin(j, NULL);
		json_string(j, "peer", i->peer);
		json_string(j, "direction", i->outbound ? "out" : "in");
		json_string(j, "zone", i->zone);
		json_string(j, "state", i->state);
		json_string(j, "since", str_time_iso(i->since, t, sizeof t));
		json_string(j, "subject", i->subject);
		json_string(j, "verdict", i->verdict);
		json_string(j, "transport", "tls");
		json_string(j, "tls_version", i->tls_version);
		json_string(j, "cipher", i->cipher);
		json_int(j, "age", (long long)(time(NULL) - i->since));
		json_object_end(j);
		return;
	}
	ctl_reply_add(q->r, "%s %s zone %s %s since %s age %llds tls %s %s "
	    "subject %s%s%s", i->peer, i->outbound ? "out" : "in", i->zone,
	    i->state, str_time_iso(i->since, t, sizeof t),
	    (long long)(time(NULL) - i->since),
	    *i->tls_version ? i->tls_version : "-", *i->cipher ? i->cipher : "-",
	    i->subject, *i->verdict ? " verdict " : "", i->verdict);
}

/* A count argument: 0 to max, or -1 with the reason added to r. */
static int
conn_number(const char *word, const char *s, size_t max, size_t *v,
    struct ctl_reply *r)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || n > max) {
		ctl_reply_add(r, "connections: %s takes a number from 0 to %zu, "
		    "not '%s'", word, max, s);
		return -1;
	}
	*v = (size_t)n;
	return 0;
}

/*
 * The arguments of connections (CTL_PROTO_VERSION 3): words "all",
 * "nosummary", "limit N", "offset N", "zone NAME", "peer ADDR", each
 * also with a leading "--" as sipedge-ctl takes them.  buf is a copy of
 * the arguments that the query points into.  -1 with the reason in r.
 */
static int
conn_parse(struct conn_query *q, char *buf, struct ctl_reply *r)
{
	char *w, *v, *save = NULL;
	const char *name;

	for (w = strtok_r(buf, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		name = strncmp(w, "--", 2) == 0 ? w + 2 : w;
		if (strcmp(name, "all") == 0) {
			q->limit = CTL_CONNS_PAGE_MAX;
			q->all = 1;
			continue;
		}
		if (strcmp(name, "nosummary") == 0) {
			q->summary = 0;
			continue;
		}
		if (strcmp(name, "limit") != 0 && strcmp(name, "offset") != 0 &&
		    strcmp(name, "zone") != 0 && strcmp(name, "peer") != 0) {
			ctl_reply_add(r, "connections: unknown argument '%.64s' "
			    "(all, limit N, offset N, zone NAME, peer ADDR, "
			    "nosummary)", w);
			return -1;
		}
		if ((v = strtok_r(NULL, " \t", &save)) == NULL) {
			ctl_reply_add(r, "connections: %s needs a value", name);
			return -1;
		}
		if (strcmp(name, "limit") == 0) {
			if (conn_number(name, v, CTL_CONNS_PAGE_MAX, &q->limit,
			    r) == -1)
				return -1;
		} else if (strcmp(name, "offset") == 0) {
			if (conn_number(name, v, (size_t)-1 / 2, &q->offset,
			    r) == -1)
				return -1;
		} else if (strcmp(name, "zone") == 0)
			q->zone = v;
		else
			q->peer = v;
	}
	return 0;
}

/* The summary counts as JSON members, or as text lines. */
static void
conn_summary(struct conn_query *q, struct json *j)
{
	struct ctl_reply *r = q->r;
	char *line = NULL, *t;
	size_t i;

	if (j != NULL) {
		json_object_begin(j, "summary");
		json_uint(j, "total", q->total);
		json_uint(j, "in", q->in);
		json_uint(j, "out", q->out);
		json_uint(j, "held", q->held);
		json_uint(j, "open", q->open);
		json_object_begin(j, "zones");
		for (i = 0; i < q->nzones; i++)
			json_uint(j, q->zones[i].name, q->zones[i].n);
		json_object_end(j);
		json_object_begin(j, "tls_versions");
		for (i = 0; i < q->ntls; i++)
			json_uint(j, q->tls[i].name, q->tls[i].n);
		json_object_end(j);
		json_object_end(j);
		return;
	}
	ctl_reply_add(r, "connections: %zu (in %zu, out %zu; held %zu, open "
	    "%zu)", q->total, q->in, q->out, q->held, q->open);
	line = xstrdup("zones:");
	for (i = 0; i < q->nzones; i++) {
		t = xasprintf("%s %s %zu", line, q->zones[i].name,
		    q->zones[i].n);
		free(line);
		line = t;
	}
	ctl_reply_add(r, "%s", q->nzones == 0 ? "zones: none" : line);
	free(line);
	line = xstrdup("tls:");
	for (i = 0; i < q->ntls; i++) {
		t = xasprintf("%s %s %zu", line, q->tls[i].name, q->tls[i].n);
		free(line);
		line = t;
	}
	ctl_reply_add(r, "%s", q->ntls == 0 ? "tls: none" : line);
	free(line);
}

/*
 * connections: a summary of the TLS connections (that match the
 * filters), then one page of them, CTL_CONNS_DEFAULT by default; the
 * text ends with how to get the rest.  Bounded: never more than
 * CTL_CONNS_PAGE_MAX connections or about CTL_CONNS_BYTES_MAX bytes.
 */
static int
ctl_connections(const char *args, struct ctl_reply *r, void *arg)
{
	struct json *j = ctl_reply_json(r);
	struct conn_query *q;
	char *buf = xstrdup(args);
	size_t more;

	(void)arg;
	q = xcalloc(1, sizeof *q);
	q->limit = CTL_CONNS_DEFAULT;
	q->summary = 1;
	q->r = r;
	if (conn_parse(q, buf, r) == -1) {
		free(q);
		free(buf);
		return -1;
	}
	gate_walk(d.gate, conn_sum, q);
	if (q->summary)
		conn_summary(q, j);
	if (j != NULL)
		json_array_begin(j, "connections");
	gate_walk(d.gate, conn_line, q);
	more = q->total > q->offset + q->returned ?
	    q->total - q->offset - q->returned : 0;
	if (j != NULL) {
		json_array_end(j);
		json_uint(j, "offset", q->offset);
		json_uint(j, "limit", q->limit);
		json_uint(j, "returned", q->returned);
		json_uint(j, "more", more);
	} else if (q->summary && !q->all && more > 0)
		ctl_reply_add(r, "%zu more: sipedge-ctl connections --offset "
		    "%zu [--limit N], or --all", more, q->offset + q->returned);
	free(q);
	free(buf);
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
	refresh_alarms();
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

static const struct ctl_command ctl_cmds[] = {
	{ "alarms", "", "the alarms raised now, oldest first", 0,
	    ctl_alarms_cmd },
	{ "certs", "", "the server certificate (names, expiry) and the "
	    "trusted CAs", 0, ctl_certs },
	{ "connections", "[all] [limit N] [offset N] [zone NAME] [peer ADDR]",
	    "a summary of the TLS connections, then a page of them: peer, "
	    "direction, zone, held or open, certificate subject and verdict",
	    1, ctl_connections },
	{ "crl", "update", "fetch every CRL distribution point now", 1,
	    ctl_crl },
	{ "revocation", "", "peer verdict counters, OCSP cache and hit rate, "
	    "and each CRL distribution point with its last update", 0,
	    ctl_revocation },
	{ "zone", "NAME", "one zone: its type and each peer's state, since, "
	    "address and failure reason", 1, ctl_zone },
	{ "zones", "", "each neighbor zone peer: zone, transport, peer:port, "
	    "state, since, and why it failed", 0, ctl_zones },
	{ "reload", "", "reload the configuration, like SIGHUP, and answer "
	    "with its errors", 0, ctl_reload },
	{ "status", "", "version, uptime, configuration, server certificate "
	    "and proxy counters", 0, ctl_status },
	{ NULL, NULL, NULL, 0, NULL }
};

static void
stopped_cb(void *arg)
{
	event_base_loopexit(d.base, NULL);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	char n[16];

	snprintf(n, sizeof n, "%zu", sip_transport_nconns(d.transport));
	log_event(LOG_LVL_WARN, "daemon", "grace time over", "connections", n,
	    "reason", "closing what is left", NULL);
	event_base_loopexit(d.base, NULL);
}

static void
stop(const char *sig)
{
	struct timeval tv = { d.current->conf->shutdown_grace, 0 };

	if (d.stopping)
		return;
	d.stopping = 1;
	log_event(LOG_LVL_NOTICE, "daemon", "stopping", "signal", sig, NULL);
	alarm_reset();		/* what goes away now is not an incident */
	/* No more commands: a reload now would reopen what is closing. */
	ctl_server_free(d.ctl);
	d.ctl = NULL;
	/* Zone connections close with the rest, without reconnecting; the
	 * proxy forwards nothing more. */
	proxy_attach(d.proxy, d.transport, NULL, NULL);
	gate_on_refused(d.gate, NULL, NULL);
	trav_free(d.trav);
	d.trav = NULL;
	zones_free(d.zones);
	d.zones = NULL;
	rev_dp_free(d.dp);
	d.dp = NULL;
	free_slots(d.slots, d.nslots);	/* the transport closes the sockets */
	d.slots = NULL;
	d.nslots = 0;
	d.grace_timer = evtimer_new(d.base, grace_cb, NULL);
	evtimer_add(d.grace_timer, &tv);
	sip_transport_shutdown(d.transport, stopped_cb, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char *cause = NULL;

	switch (sig) {
	case SIGHUP:
		if (!d.stopping) {
			struct diaglist dl = { 0 };

			reload("SIGHUP", &dl);
			diag_clear(&dl);
		}
		break;
	case SIGTERM:
		stop("TERM");
		break;
	case SIGINT:
		stop("INT");
		break;
	case SIGUSR1:
		switch (log_reopen(&cause)) {
		case -1:
			log_event(LOG_LVL_ERROR, "daemon", "log reopen failed",
			    "reason", cause, NULL);
			free(cause);
			break;
		case 1:
			log_event(LOG_LVL_INFO, "daemon", "log reopened", NULL);
			break;
		}
		break;
	}
}

/* Refuse to start when the pid file names a live process. */
static int
pid_file_check(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == 0) {
		fprintf(stderr, "sipedged: already running as pid %ld (%s)\n",
		    pid, path);
		return -1;
	}
	return 0;
}

static int
pid_file_write(const char *path)
{
	char *dir = xstrdup(path), *slash, *cause = NULL, buf[32];

	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (file_mkdir_p(dir, 0755, &cause) == -1) {
			fprintf(stderr, "sipedged: pid file: %s\n", cause);
			free(cause);
			free(dir);
			return -1;
		}
	}
	free(dir);
	snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (file_write_atomic(path, buf, strlen(buf), 0644, &cause) == -1) {
		fprintf(stderr, "sipedged: pid file: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Detach from the terminal: the listeners are bound already, so a start
 * that fails has failed in the foreground; the parents exit at once. */
static void
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	/* Every path in the snapshot is absolute already. */
	if (chdir("/") == -1)
		fatal("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * Raise the soft limit on open files to the hard one (each connection is
 * a descriptor) and log what we got, in one line.  A hard limit of
 * "unlimited" is capped by the kernel's fs.nr_open.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	unsigned long long was, n = 0;
	struct log_line l;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	was = (unsigned long long)rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    (f = fopen("/proc/sys/fs/nr_open", "r")) != NULL) {
			if (fscanf(f, "%llu", &n) == 1 && n > was &&
			    (rl.rlim_max == RLIM_INFINITY ||
			    n < (unsigned long long)rl.rlim_max)) {
				rl.rlim_cur = (rlim_t)n;
				(void)setrlimit(RLIMIT_NOFILE, &rl);
			}
			fclose(f);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return;
	}
	log_begin(&l, LOG_LVL_INFO, "daemon", "descriptor limit");
	if (rl.rlim_cur == RLIM_INFINITY)
		log_kvs(&l, "soft", "unlimited");
	else
		log_kv(&l, "soft", "%llu", (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		log_kvs(&l, "hard", "unlimited");
	else
		log_kv(&l, "hard", "%llu", (unsigned long long)rl.rlim_max);
	log_kv(&l, "was", "%llu", was);
	log_end(&l);
}

static int
check_only(void)
{
	struct diaglist dl = { 0 };
	struct snapshot *s;
	size_t i;

	s = snapshot_build(d.conf_path, TLS_LOAD_CHECK, &dl);
	for (i = 0; i < dl.n; i++)
		fprintf(stderr, "%s\n", dl.v[i].text);
	diag_clear(&dl);
	if (s == NULL) {
		fprintf(stderr, "sipedged: configuration %s has errors\n",
		    d.conf_path);
		return 1;
	}
	printf("configuration OK\n");
	snapshot_unref(&s);
	return 0;
}

int
main(int argc, char **argv)
{
	struct diaglist dl = { 0 };
	struct snapshot *snap;
	struct event *sigs[4];
	const int signums[4] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	char *cause = NULL, pid[16], *abs_conf;
	int ch, test = 0, i;
	size_t k;

	d.conf_path = SE_CONFFILE;
	heap_tune();
	while ((ch = getopt(argc, argv, "c:ftVh")) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'f':
			d.foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("sipedged %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Absolute, so that a daemon that changes directory finds it again. */
	if ((abs_conf = realpath(d.conf_path, NULL)) != NULL)
		d.conf_path = abs_conf;
	if (test)
		return check_only();

	snap = snapshot_build(d.conf_path, TLS_LOAD_RUN, &dl);
	for (k = 0; k < dl.n; k++)
		fprintf(stderr, "%s\n", dl.v[k].text);
	if (snap == NULL) {
		fprintf(stderr, "sipedged: not started: configuration %s has "
		    "errors\n", d.conf_path);
		diag_clear(&dl);
		return 1;
	}
	if (pid_file_check(snap->conf->pid_file.path) == -1)
		return 1;
	register_limited_events();
	if (apply_log(snap->conf, &cause) == -1)
		fatal("%s", cause);
	raise_nofile();

	signal(SIGPIPE, SIG_IGN);
	if ((d.base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	d.proxy = proxy_new(d.base);
	d.transport = sip_transport_new(d.base, proxy_on_message, d.proxy);
	d.gate = gate_new(d.base, d.transport);
	d.zones = zones_new(d.base, d.transport);
	d.trav = trav_new(d.base, d.transport, zones_dns(d.zones));
	proxy_attach(d.proxy, d.transport, d.zones, d.trav);
	gate_on_refused(d.gate, trav_peer_refused, d.trav);
	gate_set_zones(d.gate, d.zones);
	d.dp = rev_dp_new(d.base, gate_fetcher(d.gate), gate_store(d.gate),
	    dp_updated, NULL);
	d.alarm_timer = event_new(d.base, -1, EV_PERSIST, alarm_timer_cb, NULL);
	{
		struct timeval hour = { 3600, 0 };

		evtimer_add(d.alarm_timer, &hour);
	}
	d.heap = heap_trimmer_new(d.base, conn_counts, NULL);
	d.logflush_timer = event_new(d.base, -1, EV_PERSIST, logflush_cb, NULL);
	{
		struct timeval sec = { 1, 0 };

		evtimer_add(d.logflush_timer, &sec);
	}
	/* Bind before detaching, so that a busy port fails the start visibly. */
	if (reconcile_listeners(snap->conf, &cause) == -1) {
		log_event(LOG_LVL_ERROR, "daemon", "start failed", "reason",
		    cause, NULL);
		if (!d.foreground || snap->conf->log_file.path != NULL)
			fprintf(stderr, "sipedged: not started: %s\n", cause);
		return 1;
	}
	/* The control socket too: a start without it fails visibly. */
	if (snap->conf->control_socket.path != NULL) {
		d.ctl_path = xstrdup(snap->conf->control_socket.path);
		d.ctl_gid = snap->conf->control_gid;
		d.ctl = ctl_server_open(d.base, d.ctl_path,
		    snap->conf->control_gid, snap->conf->control_group,
		    ctl_cmds, NULL, &cause);
		if (d.ctl == NULL) {
			log_event(LOG_LVL_ERROR, "daemon", "start failed",
			    "reason", cause, NULL);
			if (!d.foreground || snap->conf->log_file.path != NULL)
				fprintf(stderr, "sipedged: not started: %s\n",
				    cause);
			return 1;
		}
	}
	if (!d.foreground)
		daemonize();
	if (event_reinit(d.base) == -1)
		fatal("cannot reinitialise the event loop");
	d.pid_file = xstrdup(snap->conf->pid_file.path);
	if (pid_file_write(d.pid_file) == -1) {
		ctl_server_free(d.ctl);
		return 1;
	}
	d.started = time(NULL);
	install(snap);
	for (i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], signal_cb, NULL);
		evsignal_add(sigs[i], NULL);
	}
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	log_event(LOG_LVL_NOTICE, "daemon", "started", "version",
	    PACKAGE_VERSION, "config", d.conf_path, "pid", pid, NULL);
	log_diags(&dl);
	diag_clear(&dl);
	announce_identity(d.current);

	event_base_dispatch(d.base);

	ctl_server_free(d.ctl);
	free(d.ctl_path);
	alarm_reset();
	proxy_attach(d.proxy, d.transport, NULL, NULL);
	gate_on_refused(d.gate, NULL, NULL);
	trav_free(d.trav);
	zones_free(d.zones);
	rev_dp_free(d.dp);
	event_free(d.alarm_timer);
	event_free(d.logflush_timer);
	heap_trimmer_free(d.heap);
	gate_free(d.gate);
	sip_transport_free(d.transport);
	proxy_free(d.proxy);
	free_slots(d.slots, d.nslots);
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
	if (d.grace_timer != NULL)
		event_free(d.grace_timer);
	event_base_free(d.base);
	snapshot_unref(&d.current);
	if (unlink(d.pid_file) == -1 && errno != ENOENT)
		log_event(LOG_LVL_WARN, "daemon", "pid file not removed",
		    "file", d.pid_file, "reason", strerror(errno), NULL);
	free(d.pid_file);
	log_flush_suppressed_all();	/* what the last interval dropped */
	log_event(LOG_LVL_NOTICE, "daemon", "stopped", NULL);
	log_close();
	log_limit_reset();
	free(abs_conf);
	return 0;
}
