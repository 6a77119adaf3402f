/*
 * reload.c: applying a configuration snapshot: the listeners (reconciled,
 * never closed before their replacements opened), the log, the identity
 * and its alarms, and reload (build a new snapshot aside, swap it in only
 * when complete).  Runs on the loop; never blocks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/sipedged.h"
#include "tls/tls_pki.h"
#include "tls/tls_rev.h"
#include "util/alarm.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

static void
log_slot(const char *event, const struct slot *s)
{
	char port[16];

	snprintf(port, sizeof port, "%d", s->port);
	log_event(LOG_LVL_INFO, "net", event, "transport",
	    conf_transport_name(s->transport), "address", s->address, "port",
	    port, NULL);
}

/* Free n slots; their listeners stay open (the transport owns them). */
void
reload_free_slots(struct slot *v, size_t n)
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
int
reload_listeners(const struct conf *c, char **cause)
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
			reload_free_slots(nv, c->nlisten);
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
	reload_free_slots(d.slots, d.nslots);
	d.slots = nv;
	d.nslots = c->nlisten;
	/* A traversal-server zone's own port says whose clients come in. */
	for (i = 0; i < c->nlisten; i++)
		if (nv[i].l != NULL)
			sip_listener_set_zone(nv[i].l, c->listen[i].zone);
	return 0;
}

/* Log each diagnostic; errors at level error, warnings at warn. */
void
reload_log_diags(const struct diaglist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		log_event(dl->v[i].sev == DIAG_ERROR ? LOG_LVL_ERROR :
		    LOG_LVL_WARN, "conf", dl->v[i].sev == DIAG_ERROR ?
		    "config error" : "config warning", "error", dl->v[i].text,
		    NULL);
}

/* Point the log at the sinks the configuration names. */
int
reload_apply_log(const struct conf *c, char **cause)
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
void
reload_announce(const struct snapshot *s)
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
void
reload_alarms(void)
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

/* Hourly: the certificate, CA and CRL alarms, as time has passed. */
void
reload_alarm_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	reload_alarms();
}

/*
 * Whether snapshot s can be committed: the steps of reload_install that
 * can fail are tried aside here (dns.servers).  0, or -1 with *cause and
 * nothing changed.
 */
int
reload_prepare(const struct snapshot *s, char **cause)
{
	if (d.zones != NULL && zones_prepare(d.zones, s->zones, cause) == -1)
		return -1;
	return 0;
}

/*
 * Make snapshot s current (its reference passes to d.current): profile,
 * limits, proxy rules and keys, gate, zones, traversal, distribution
 * points, alarms.  Nothing here fails: what could was checked by
 * reload_prepare and reload_listeners first.
 */
void
reload_install(struct snapshot *s)
{
	struct sip_limits lim = {
		(size_t)s->conf->max_connections,
		(size_t)s->conf->max_conns_per_source,
		(size_t)s->conf->max_handshakes
	};

	sip_transport_set_profile(d.transport, s->profile);
	sip_transport_set_limits(d.transport, &lim);
	sip_transport_set_hs_threads(d.transport, s->conf->handshake_threads);
	proxy_configure(d.proxy, s->zones, s->names, s->nnames);
	proxy_set_keys(d.proxy, s->keys);
	if (s->keys_created) {
		char *kf = xasprintf("%s/%s", s->conf->state_dir.path,
		    RRTOK_FILE);

		log_event(LOG_LVL_NOTICE, "proxy", "route key created", "file",
		    kf, NULL);
		free(kf);
		s->keys_created = 0;
	}
	gate_apply(d.gate, s->zones, s->trust, s->tls);
	if (d.zones != NULL)
		zones_apply(d.zones, s->zones);
	if (d.trav != NULL)
		trav_apply(d.trav, s->zones);
	if (d.dp != NULL) {
		/* It borrows s's settings: d.current holds s until the next
		 * snapshot is handed over (and outlives d.dp at exit). */
		STACK_OF(X509) *trusted = gate_trusted(d.gate);

		rev_dp_configure(d.dp, &s->zones->rev, trusted);
		sk_X509_pop_free(trusted, X509_free);
	}
	if (d.current != s)
		snapshot_unref(&d.current);
	d.current = s;
	reload_alarms();
}

/*
 * A reload refused after its snapshot was built: the cause logged as a
 * config error and added to res, "reload failed" with reason, the
 * snapshot dropped.  Returns -1.
 */
static int
reload_refused(struct snapshot **sp, struct diaglist *res, char *cause,
    const char *reason)
{
	log_event(LOG_LVL_ERROR, "conf", "config error", "error", cause, NULL);
	log_event(LOG_LVL_ERROR, "conf", "reload failed", "file", d.conf_path,
	    "errors", "1", "reason", reason, NULL);
	diag_add(res, DIAG_ERROR, NULL, 0, "%s", cause);
	free(cause);
	snapshot_unref(sp);
	return -1;
}

/*
 * Reload the configuration from the same file; trigger ("SIGHUP",
 * "control socket") goes to the log.  Every error and warning is logged
 * and also added to res with the text the log shows, for the control
 * socket to answer with.  0: the new configuration serves; -1: it was
 * refused and the previous one still does.
 */
int
reload_config(const char *trigger, struct diaglist *res)
{
	struct diaglist dl = { 0 };
	struct snapshot *s;
	char *cause = NULL, errs[16];

	log_event(LOG_LVL_NOTICE, "conf", "reload started", "file", d.conf_path,
	    "trigger", trigger, NULL);
	s = snapshot_build(d.conf_path, TLS_LOAD_RUN, &dl);
	reload_log_diags(&dl);
	snprintf(errs, sizeof errs, "%zu", dl.nerrors);
	diag_move(res, &dl);
	if (s == NULL) {
		log_event(LOG_LVL_ERROR, "conf", "reload failed", "file",
		    d.conf_path, "errors", errs, "reason",
		    "the configuration is invalid; still serving the previous one",
		    NULL);
		return -1;
	}
	if (reload_prepare(s, &cause) == -1)
		return reload_refused(&s, res, cause, "the new configuration "
		    "cannot be applied; still serving the previous one");
	if (reload_listeners(s->conf, &cause) == -1)
		return reload_refused(&s, res, cause, "a listener could not be "
		    "opened; still serving the previous configuration");
	if (reload_apply_log(s->conf, &cause) == -1) {
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
	reload_install(s);
	reload_announce(s);
	log_event(LOG_LVL_NOTICE, "conf", "reload ok", "file", d.conf_path, NULL);
	return 0;
}

/* New CRLs from a distribution point: check the open connections. */
void
reload_dp_updated(const char *url, void *arg)
{
	char *why = xasprintf("CRL update from %s", url);

	(void)arg;
	gate_revalidate(d.gate, why);
	free(why);
	reload_alarms();
}

