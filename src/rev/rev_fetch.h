/*
 * rev_fetch.h: HTTP(S) fetches for revocation data, driven by the libevent
 * loop through libcurl's multi interface (curl_multi_socket_action).
 * Nothing here blocks: DNS runs in curl's resolver, sockets and timers are
 * loop events, and the callback runs on the loop when the transfer ends.
 */
#ifndef SE_REV_FETCH_H
#define SE_REV_FETCH_H

#include <stddef.h>

struct event_base;
struct rev_fetcher;

struct rev_fetch_limits {
	long		 connect_timeout_ms;	/* TCP + TLS connect */
	long		 timeout_ms;		/* whole transfer */
	size_t		 max_size;		/* response body */
	long		 max_redirects;		/* 0: none followed */
};

struct rev_fetch_req {
	const char		*url;
	const unsigned char	*post;		/* NULL: GET */
	size_t			 postlen;
	const char		*content_type;	/* of post */
	const char		*accept;	/* Accept header, or NULL */
	const char		*etag;		/* conditional GET, or NULL */
	const char		*last_modified;	/* conditional GET, or NULL */
	const char		*ca_file;	/* HTTPS trust; NULL: system CAs */
};

struct rev_fetch_result {
	int		 ok;		/* 1: a 2xx or 304 arrived */
	int		 not_modified;	/* 304 to a conditional GET */
	long		 status;	/* HTTP status, 0 when none */
	unsigned char	*body;		/* owned by the fetcher */
	size_t		 len;
	const char	*etag;		/* of the response, or NULL */
	const char	*last_modified;
	const char	*error;		/* sentence when !ok */
	double		 seconds;	/* total time */
};

typedef void (*rev_fetch_cb)(const struct rev_fetch_result *r, void *arg);

struct rev_fetcher *rev_fetch_new(struct event_base *base,
		     const struct rev_fetch_limits *lim);
/* Cancels every transfer in progress (their callbacks are not called). */
void		 rev_fetch_free(struct rev_fetcher *f);

/*
 * Start a transfer; cb(result, arg) runs later on the loop, exactly once,
 * unless rev_fetch_cancel or rev_fetch_free comes first.  Returns a
 * handle (> 0), or 0 with *cause when the request cannot even start.
 */
unsigned long	 rev_fetch_start(struct rev_fetcher *f,
		     const struct rev_fetch_req *req, rev_fetch_cb cb,
		     void *arg, char **cause);
void		 rev_fetch_cancel(struct rev_fetcher *f, unsigned long handle);
/*
 * Use lim (borrowed, not copied: it must stay valid until the next call
 * or rev_fetch_free; NULL: back to rev_fetch_new's) from now on.
 */
void		 rev_fetch_set_limits(struct rev_fetcher *f,
		     const struct rev_fetch_limits *lim);

#endif
