/*
 * rev_fetch.c: libcurl multi on the libevent loop.  curl tells us which
 * sockets to watch (sock_cb) and when to call it back (timer_cb); we turn
 * those into events and hand readiness back with curl_multi_socket_action.
 * Finished transfers are collected in check_done and reported through the
 * caller's callback.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "rev/rev_fetch.h"
#include "util/xmalloc.h"

struct xfer {
	struct xfer		*next;
	struct rev_fetcher	*f;
	unsigned long		 id;
	CURL			*easy;
	struct curl_slist	*hdrs;
	unsigned char		*body;
	size_t			 len, cap;
	int			 too_big;
	char			*etag;
	char			*last_modified;
	rev_fetch_cb		 cb;
	void			*arg;
	char			 err[CURL_ERROR_SIZE];
};

struct sockev {
	struct event		*ev;
};

struct rev_fetcher {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct rev_fetch_limits	 defaults;	/* rev_fetch_new's */
	const struct rev_fetch_limits *lim;	/* in use (borrowed) */
	struct xfer		*head;
	size_t			 n;
	unsigned long		 next_id;
};

static void check_done(struct rev_fetcher *f);

static void
xfer_free(struct xfer *x)
{
	curl_slist_free_all(x->hdrs);
	curl_easy_cleanup(x->easy);
	free(x->body);
	free(x->etag);
	free(x->last_modified);
	free(x);
}

static void
unlink_xfer(struct rev_fetcher *f, struct xfer *x)
{
	struct xfer **pp;

	for (pp = &f->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			f->n--;
			return;
		}
	}
}

static void
ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rev_fetcher *f = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, flags, &running);
	check_done(f);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rev_fetcher *f = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct rev_fetcher *f = userp;
	struct sockev *se = sockp;
	short kind = EV_PERSIST;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_free(se->ev);
			free(se);
		}
		curl_multi_assign(f->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (se == NULL) {
		se = xcalloc(1, sizeof *se);
		curl_multi_assign(f->multi, s, se);
	} else
		event_free(se->ev);
	se->ev = event_new(f->base, s, kind, ev_cb, f);
	event_add(se->ev, NULL);
	return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct rev_fetcher *f = userp;
	struct timeval tv;

	(void)m;
	if (timeout_ms < 0) {
		evtimer_del(f->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(f->timer, &tv);
	return 0;
}

struct rev_fetcher *
rev_fetch_new(struct event_base *base, const struct rev_fetch_limits *lim)
{
	struct rev_fetcher *f = xcalloc(1, sizeof *f);
	static int inited;

	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = 1;
	}
	f->base = base;
	f->defaults = *lim;
	f->lim = &f->defaults;
	f->multi = curl_multi_init();
	f->timer = evtimer_new(base, timeout_cb, f);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
}

void
rev_fetch_free(struct rev_fetcher *f)
{
	struct xfer *x, *next;

	if (f == NULL)
		return;
	for (x = f->head; x != NULL; x = next) {
		next = x->next;
		curl_multi_remove_handle(f->multi, x->easy);
		xfer_free(x);
	}
	curl_multi_cleanup(f->multi);
	event_free(f->timer);
	free(f);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->len + n > x->f->lim->max_size) {
		x->too_big = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	if (x->len + n > x->cap) {
		x->cap = (x->len + n) * 2;
		if (x->cap > x->f->lim->max_size)
			x->cap = x->f->lim->max_size;
		x->body = xrealloc(x->body, x->cap);
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	return n;
}

/* The value of header line h if it is name:, trimmed; else NULL. */
static char *
header_value(const char *h, size_t len, const char *name)
{
	size_t nl = strlen(name), s, e;

	if (len <= nl || strncasecmp(h, name, nl) != 0 || h[nl] != ':')
		return NULL;
	for (s = nl + 1; s < len && (h[s] == ' ' || h[s] == '\t'); s++)
		;
	for (e = len; e > s && (h[e - 1] == '\r' || h[e - 1] == '\n' ||
	    h[e - 1] == ' '); e--)
		;
	return xstrndup(h + s, e - s);
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char *v;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a redirect): forget the old one. */
		free(x->etag);
		free(x->last_modified);
		x->etag = x->last_modified = NULL;
	} else if ((v = header_value(data, n, "ETag")) != NULL) {
		free(x->etag);
		x->etag = v;
	} else if ((v = header_value(data, n, "Last-Modified")) != NULL) {
		free(x->last_modified);
		x->last_modified = v;
	}
	return n;
}

static void
add_header(struct xfer *x, const char *name, const char *value)
{
	char *h;

	if (value == NULL)
		return;
	h = xasprintf("%s: %s", name, value);
	x->hdrs = curl_slist_append(x->hdrs, h);
	free(h);
}

unsigned long
rev_fetch_start(struct rev_fetcher *f, const struct rev_fetch_req *req,
    rev_fetch_cb cb, void *arg, char **cause)
{
	struct xfer *x = xcalloc(1, sizeof *x);
	CURLMcode mc;

	if (strncasecmp(req->url, "http://", 7) != 0 &&
	    strncasecmp(req->url, "https://", 8) != 0) {
		*cause = xasprintf("%s: only http and https URLs are fetched",
		    req->url);
		free(x);
		return 0;
	}
	x->f = f;
	x->cb = cb;
	x->arg = arg;
	x->id = ++f->next_id;
	if ((x->easy = curl_easy_init()) == NULL) {
		*cause = xstrdup("cannot start a transfer (curl_easy_init)");
		free(x);
		return 0;
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION,
	    f->lim->max_redirects > 0 ? 1L : 0L);
	curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, f->lim->max_redirects);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    f->lim->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, f->lim->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)f->lim->max_size);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "sipedge/" PACKAGE_VERSION);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->err);
	if (req->ca_file != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, req->ca_file);
	if (req->post != NULL) {
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->postlen);
		curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, req->post);
		add_header(x, "Content-Type", req->content_type);
	}
	add_header(x, "Accept", req->accept);
	add_header(x, "If-None-Match", req->etag);
	add_header(x, "If-Modified-Since", req->last_modified);
	if (x->hdrs != NULL)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	if ((mc = curl_multi_add_handle(f->multi, x->easy)) != CURLM_OK) {
		*cause = xasprintf("%s: cannot start the transfer (%s)",
		    req->url, curl_multi_strerror(mc));
		xfer_free(x);
		return 0;
	}
	x->next = f->head;
	f->head = x;
	f->n++;
	return x->id;
}

void
rev_fetch_cancel(struct rev_fetcher *f, unsigned long handle)
{
	struct xfer *x;

	for (x = f->head; x != NULL; x = x->next) {
		if (x->id == handle) {
			unlink_xfer(f, x);
			curl_multi_remove_handle(f->multi, x->easy);
			xfer_free(x);
			return;
		}
	}
}

void
rev_fetch_set_limits(struct rev_fetcher *f, const struct rev_fetch_limits *lim)
{
	f->lim = lim != NULL ? lim : &f->defaults;
}

static void
finish(struct rev_fetcher *f, struct xfer *x, CURLcode rc)
{
	struct rev_fetch_result r;
	char *error = NULL, *url = NULL;
	long status = 0;

	memset(&r, 0, sizeof r);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r.seconds);
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	r.status = status;
	if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		error = xasprintf("%s: the response is larger than %zu bytes",
		    url, f->lim->max_size);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		error = xasprintf("%s: timed out (%s)", url, x->err[0] ?
		    x->err : curl_easy_strerror(rc));
	else if (rc == CURLE_TOO_MANY_REDIRECTS)
		error = xasprintf("%s: more than %ld redirects", url,
		    f->lim->max_redirects);
	else if (rc != CURLE_OK)
		error = xasprintf("%s: %s", url, x->err[0] ? x->err :
		    curl_easy_strerror(rc));
	else if (status == 304)
		r.not_modified = 1;
	else if (status < 200 || status > 299)
		error = xasprintf("%s: HTTP status %ld", url, status);
	r.ok = error == NULL;
	r.error = error;
	r.body = x->body;
	r.len = x->len;
	r.etag = x->etag;
	r.last_modified = x->last_modified;
	unlink_xfer(f, x);
	curl_multi_remove_handle(f->multi, x->easy);
	x->cb(&r, x->arg);
	free(error);
	xfer_free(x);
}

static void
check_done(struct rev_fetcher *f)
{
	CURLMsg *msg;
	struct xfer *x;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		if (x != NULL)
			finish(f, x, msg->data.result);
	}
}
