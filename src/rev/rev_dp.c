/*
 * rev_dp.c: distribution point updates.
 *
 * Each point's last good body is cached as <cache_dir>/<hash>.crl (the
 * bytes as served: PEM, DER, gzip or ZIP; `sipedge-cert crl list` reads
 * them) with <hash>.meta holding the URL, ETag and Last-Modified for the
 * next conditional GET.  All the points' CRLs share the store's
 * REV_SRC_DP source: a new CRL replaces the older one of the same issuer,
 * and a change of the URL set clears the source and loads the cache of
 * the remaining points again.  Parsing a large CRL runs on the loop (about
 * a second for a million entries, see contrib/bench); fetching never does.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "rev/rev_crl.h"
#include "rev/rev_dp.h"
#include "util/alarm.h"
#include "util/file.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct point {
	struct rev_dp	*dp;
	char		*url;
	char		*cache;		/* .crl path */
	char		*meta;		/* .meta path */
	char		*etag;
	char		*last_modified;
	unsigned long	 handle;	/* fetch in progress, 0: none */
	time_t		 last_attempt, last_success;
	size_t		 crls;
	char		*error;
};

struct rev_dp {
	struct event_base	*base;
	struct rev_fetcher	*f;
	struct rev_store	*st;
	rev_dp_updated_cb	 cb;
	void			*arg;
	struct point		**v;
	size_t			 n;
	STACK_OF(X509)		*issuers;
	/* The configuration's settings (borrowed, rev_settings.h). */
	const struct rev_settings *rs;
	long			 test_interval;
	struct event		*timer;
	time_t			 next;
};

static void schedule(struct rev_dp *dp);

/* A short stable name for url's cache files. */
static char *
cache_name(const char *dir, const char *url, const char *ext)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char hex[17];

	EVP_Digest(url, strlen(url), md, &n, EVP_sha256(), NULL);
	for (i = 0; i < 8; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	return xasprintf("%s/%s.%s", dir, hex, ext);
}

/* Raise (why != NULL) or clear the alarm of a failing point. */
static void
point_alarm(struct point *p, const char *why)
{
	char *key = xasprintf("crl-dp %s", p->url);

	if (why != NULL)
		alarm_raise(key, "CRL distribution point %s failing: %s%s", p->url,
		    why, p->crls > 0 ? " (the last good CRLs are still used)" :
		    "");
	else
		alarm_clear(key);
	free(key);
}

char *
rev_dp_cache_file(const char *cache_dir, const char *url)
{
	return cache_name(cache_dir, url, "crl");
}

static void
point_free(struct point *p)
{
	if (p->handle != 0)
		rev_fetch_cancel(p->dp->f, p->handle);
	point_alarm(p, NULL);
	free(p->url);
	free(p->cache);
	free(p->meta);
	free(p->etag);
	free(p->last_modified);
	free(p->error);
	free(p);
}

/*
 * Put the CRLs of body (from url) into st; the number taken.  Each CRL
 * refused goes to refused.
 */
static size_t
take_into(struct rev_store *st, const char *url, STACK_OF(X509) *issuers,
    const unsigned char *body, size_t len, rev_dp_refused_cb refused,
    void *arg, char **why)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	STACK_OF(X509) *certs = sk_X509_new_null();
	size_t taken = 0;
	char *cause = NULL;
	int i;

	if (rev_crl_parse(url, body, len, REV_CRL_MAX_EXPANDED, crls, NULL,
	    why) == -1) {
		sk_X509_CRL_free(crls);
		sk_X509_free(certs);
		return 0;
	}
	/* A CRL signer's certificate may come with its CRLs. */
	rev_crl_parse_certs(body, len, certs);
	rev_store_add_certs(st, certs);
	sk_X509_pop_free(certs, X509_free);
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);

		if (rev_store_add(st, crl, REV_SRC_DP, url, issuers,
		    &cause) == 0) {
			taken++;
			continue;
		}
		if (refused != NULL)
			refused(url, cause, arg);
		free(cause);
		cause = NULL;
		X509_CRL_free(crl);
	}
	sk_X509_CRL_free(crls);
	if (taken == 0 && *why == NULL)
		*why = xasprintf("%s: no usable CRL in it", url);
	return taken;
}

/* The daemon's word on a CRL of a point that the store refused. */
static void
log_refused(const char *url, const char *reason, void *arg)
{
	(void)arg;
	log_event(LOG_LVL_WARN, "rev", "crl ignored", "url", url, "reason",
	    reason, NULL);
}

/* Put the CRLs of body into the store; the number taken. */
static size_t
take_crls(struct point *p, const unsigned char *body, size_t len, char **why)
{
	return take_into(p->dp->st, p->url, p->dp->issuers, body, len,
	    log_refused, NULL, why);
}

size_t
rev_dp_load_file(struct rev_store *st, const char *path, const char *url,
    STACK_OF(X509) *issuers, rev_dp_refused_cb refused, void *arg,
    char **why)
{
	char *buf = NULL;
	struct stat sb;
	ssize_t got;
	size_t len = 0, taken = 0;
	int fd;

	*why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
		buf = xmalloc((size_t)sb.st_size);
		while (len < (size_t)sb.st_size && (got = read(fd, buf + len,
		    (size_t)sb.st_size - len)) > 0)
			len += (size_t)got;
	}
	close(fd);
	if (buf != NULL)
		taken = take_into(st, url, issuers, (unsigned char *)buf, len,
		    refused, arg, why);
	free(buf);
	return taken;
}

/* The cached copy and its validators, at configure time. */
static void
load_cache(struct point *p)
{
	char *why = NULL, line[2048];
	FILE *f;

	if ((f = fopen(p->meta, "r")) != NULL) {
		/* url, etag, last-modified: one a line, "" for none */
		if (fgets(line, sizeof line, f) != NULL &&
		    (line[strcspn(line, "\n")] = '\0', 1) &&
		    strcmp(line, p->url) == 0) {
			if (fgets(line, sizeof line, f) != NULL &&
			    (line[strcspn(line, "\n")] = '\0') == 0 &&
			    line[0] != '\0')
				p->etag = xstrdup(line);
			if (fgets(line, sizeof line, f) != NULL &&
			    (line[strcspn(line, "\n")] = '\0') == 0 &&
			    line[0] != '\0')
				p->last_modified = xstrdup(line);
		}
		fclose(f);
	}
	if ((p->crls = rev_dp_load_file(p->dp->st, p->cache, p->url,
	    p->dp->issuers, log_refused, NULL, &why)) > 0)
		log_event(LOG_LVL_INFO, "rev", "crl loaded from cache", "url",
		    p->url, "file", p->cache, NULL);
	else if (why != NULL) {
		log_event(LOG_LVL_WARN, "rev", "crl cache unusable", "url",
		    p->url, "file", p->cache, "reason", why, NULL);
		free(p->etag);
		free(p->last_modified);
		p->etag = p->last_modified = NULL;	/* fetch it whole */
	}
	free(why);
}

static void
save_cache(struct point *p, const struct rev_fetch_result *r)
{
	char *meta, *cause = NULL;

	if (file_write_atomic(p->cache, (const char *)r->body, r->len, 0644,
	    &cause) == -1) {
		log_event(LOG_LVL_WARN, "rev", "crl cache not written", "url",
		    p->url, "reason", cause, NULL);
		free(cause);
		return;
	}
	free(p->etag);
	free(p->last_modified);
	p->etag = r->etag != NULL ? xstrdup(r->etag) : NULL;
	p->last_modified = r->last_modified != NULL ?
	    xstrdup(r->last_modified) : NULL;
	meta = xasprintf("%s\n%s\n%s\n", p->url, p->etag ? p->etag : "",
	    p->last_modified ? p->last_modified : "");
	if (file_write_atomic(p->meta, meta, strlen(meta), 0644, &cause) == -1)
		free(cause);
	free(meta);
}

static void
fetched(const struct rev_fetch_result *r, void *arg)
{
	struct point *p = arg;
	char *why = NULL, n[24];
	size_t taken;

	p->handle = 0;
	free(p->error);
	p->error = NULL;
	if (!r->ok) {
		p->error = xstrdup(r->error);
		point_alarm(p, r->error);
		log_event(LOG_LVL_WARN, "rev", "crl update failed", "url", p->url,
		    "reason", r->error, "kept", p->crls > 0 ? "last good CRLs" :
		    "none", NULL);
		return;
	}
	p->last_success = time(NULL);
	if (r->not_modified) {
		point_alarm(p, NULL);
		log_event(LOG_LVL_DEBUG, "rev", "crl not modified", "url",
		    p->url, NULL);
		return;
	}
	if ((taken = take_crls(p, r->body, r->len, &why)) == 0) {
		p->error = why;
		point_alarm(p, why);
		log_event(LOG_LVL_WARN, "rev", "crl update failed", "url", p->url,
		    "reason", why, "kept", p->crls > 0 ? "last good CRLs" :
		    "none", NULL);
		return;
	}
	free(why);
	point_alarm(p, NULL);
	p->crls = taken;
	save_cache(p, r);
	snprintf(n, sizeof n, "%zu", taken);
	log_event(LOG_LVL_INFO, "rev", "crl updated", "url", p->url, "crls", n,
	    NULL);
	if (p->dp->cb != NULL)
		p->dp->cb(p->url, p->dp->arg);
}

static void
fetch(struct point *p)
{
	struct rev_fetch_req req;
	char *cause = NULL;

	if (p->handle != 0)
		return;		/* still on its way */
	memset(&req, 0, sizeof req);
	req.url = p->url;
	req.accept = "application/pkix-crl, application/zip, */*";
	req.etag = p->etag;
	req.last_modified = p->last_modified;
	req.ca_file = p->dp->rs->https_ca_file;
	p->last_attempt = time(NULL);
	if ((p->handle = rev_fetch_start(p->dp->f, &req, fetched, p,
	    &cause)) == 0) {
		free(p->error);
		p->error = cause;
		log_event(LOG_LVL_WARN, "rev", "crl update failed", "url", p->url,
		    "reason", cause, NULL);
	}
}

void
rev_dp_update_now(struct rev_dp *dp)
{
	size_t i;

	for (i = 0; i < dp->n; i++)
		fetch(dp->v[i]);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rev_dp *dp = arg;

	(void)fd;
	(void)what;
	rev_dp_update_now(dp);
	schedule(dp);
}

/* The next daily update (or the test interval). */
static void
schedule(struct rev_dp *dp)
{
	struct timeval tv = { 0, 0 };
	time_t now = time(NULL), day;
	struct tm tm;

	if (dp->n == 0) {
		evtimer_del(dp->timer);
		return;
	}
	if (dp->test_interval > 0)
		tv.tv_sec = dp->test_interval;
	else {
		gmtime_r(&now, &tm);
		tm.tm_hour = dp->rs->dp_minute / 60;
		tm.tm_min = dp->rs->dp_minute % 60;
		tm.tm_sec = 0;
		day = timegm(&tm);
		if (day <= now)
			day += 86400;
		tv.tv_sec = day - now;
	}
	dp->next = now + tv.tv_sec;
	evtimer_add(dp->timer, &tv);
}

struct rev_dp *
rev_dp_new(struct event_base *base, struct rev_fetcher *f,
    struct rev_store *st, rev_dp_updated_cb cb, void *arg)
{
	struct rev_dp *dp = xcalloc(1, sizeof *dp);
	const char *ti = getenv("SIPEDGE_TEST_DP_INTERVAL");

	dp->base = base;
	dp->f = f;
	dp->st = st;
	dp->cb = cb;
	dp->arg = arg;
	dp->timer = evtimer_new(base, timer_cb, dp);
	if (ti != NULL && atol(ti) > 0)
		dp->test_interval = atol(ti);
	return dp;
}

void
rev_dp_free(struct rev_dp *dp)
{
	size_t i;

	if (dp == NULL)
		return;
	for (i = 0; i < dp->n; i++)
		point_free(dp->v[i]);
	free(dp->v);
	event_free(dp->timer);
	sk_X509_pop_free(dp->issuers, X509_free);
	free(dp);
}

/*
 * Drop the points of the previous settings; the cache of one that urls
 * (n of them) no longer names goes with it, or it would be loaded again
 * should the URL come back months later, and pile up meanwhile.
 */
static void
drop_points(struct rev_dp *dp, char *const *urls, size_t n)
{
	size_t i, k;

	for (i = 0; i < dp->n; i++) {
		struct point *p = dp->v[i];

		for (k = 0; k < n && strcmp(urls[k], p->url) != 0; k++)
			;
		if (k == n) {
			int gone = unlink(p->cache) == 0;

			gone |= unlink(p->meta) == 0;
			if (gone)
				log_event(LOG_LVL_INFO, "rev",
				    "crl cache removed", "url", p->url, NULL);
		}
		point_free(p);
	}
	free(dp->v);
	dp->v = NULL;
	dp->n = 0;
}

void
rev_dp_configure(struct rev_dp *dp, const struct rev_settings *rs,
    STACK_OF(X509) *issuers)
{
	char *const *urls = rs->dp_urls;
	size_t n = rs->ndp, i;
	int same = n == dp->n;
	char *cause = NULL;

	for (i = 0; same && i < n; i++)
		same = strcmp(urls[i], dp->v[i]->url) == 0;
	sk_X509_pop_free(dp->issuers, X509_free);
	dp->issuers = X509_chain_up_ref(issuers);
	dp->rs = rs;
	if (same) {
		schedule(dp);
		return;
	}
	drop_points(dp, urls, n);
	rev_store_clear_source(dp->st, REV_SRC_DP);
	dp->v = xcalloc(n + 1, sizeof *dp->v);
	dp->n = n;
	if (n > 0 && file_mkdir_p(rs->dp_cache_dir, 0750, &cause) == -1) {
		log_event(LOG_LVL_WARN, "rev", "crl cache unusable", "reason",
		    cause, NULL);
		free(cause);
	}
	for (i = 0; i < n; i++) {
		struct point *p = xcalloc(1, sizeof *p);

		p->dp = dp;
		p->url = xstrdup(urls[i]);
		p->cache = cache_name(rs->dp_cache_dir, urls[i], "crl");
		p->meta = cache_name(rs->dp_cache_dir, urls[i], "meta");
		dp->v[i] = p;
		load_cache(p);
		fetch(p);
	}
	schedule(dp);
}

void
rev_dp_walk(struct rev_dp *dp, void (*fn)(const struct rev_dp_info *, void *),
    void *arg)
{
	struct rev_dp_info info;
	size_t i;

	for (i = 0; i < dp->n; i++) {
		struct point *p = dp->v[i];

		info.url = p->url;
		info.last_attempt = p->last_attempt;
		info.last_success = p->last_success;
		info.next = dp->next;
		info.crls = p->crls;
		info.error = p->error != NULL ? p->error : "";
		fn(&info, arg);
	}
}
