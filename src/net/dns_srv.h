/*
 * dns_srv.h: non-blocking DNS SRV lookups (RFC 2782) on the libevent loop.
 *
 * libevent 2.1's evdns resolves A and AAAA but has no SRV query, so this
 * module sends its own: one UDP socket per try, a random query id and the
 * kernel's random source port, answers accepted only from the server asked
 * and only when id and question match.  The nameservers are the ones the
 * evdns_base was configured with (resolv.conf, or dns_configure() from the
 * dns.servers setting), so SRV and A/AAAA lookups always ask the same
 * servers.  The wire parser is exported for the unit tests; everything it
 * reads comes from the network and is bounds-checked.
 *
 * Must not: block, resolve the SRV targets (evdns_getaddrinfo does that),
 * or call a callback from inside dns_srv_lookup() or after a cancel.
 */
#ifndef SE_NET_DNS_SRV_H
#define SE_NET_DNS_SRV_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct event_base;
struct evdns_base;
struct dns_srv;
struct dns_srv_req;

/* One SRV record; target is a host name without the trailing dot. */
struct dns_srv_rr {
	unsigned	priority, weight, port;
	char		target[256];
};

/* Results of a lookup (the err of the callback). */
enum dns_srv_err {
	DNS_SRV_OK = 0,
	DNS_SRV_ETIMEOUT,	/* no server answered in time */
	DNS_SRV_ENXDOMAIN,	/* the name does not exist */
	DNS_SRV_ENODATA,	/* the name exists, without SRV records */
	DNS_SRV_EMALFORMED,	/* an answer that does not parse */
	DNS_SRV_EUNAVAIL,	/* target ".": the service is not offered */
	DNS_SRV_ESERVFAIL,	/* SERVFAIL, REFUSED or another error code */
	DNS_SRV_ETRUNC,		/* truncated with no complete record */
	DNS_SRV_ENOSERVER,	/* the evdns_base has no nameserver */
	DNS_SRV_EBADNAME,	/* the name asked for is not a DNS name */
	DNS_SRV_ESOCKET,	/* no UDP socket could be opened or used */
	DNS_SRV_EMISMATCH	/* parser only: not an answer to our query */
};

/* Called once per lookup, on a later loop turn than dns_srv_lookup(). */
typedef void	(*dns_srv_cb)(int err, const struct dns_srv_rr *rrs, size_t n,
		    void *arg);

/*
 * A resolver on base that asks dns's nameservers (both borrowed: they must
 * outlive it).  Never NULL.
 */
struct dns_srv	*dns_srv_new(struct event_base *base, struct evdns_base *dns);
/* Cancel every pending lookup (no callbacks) and free d.  NULL is fine. */
void		 dns_srv_free(struct dns_srv *d);
/*
 * Per-try timeout (default 2000 ms) and the maximum number of tries over
 * the servers (default 2 per server, at most 6; each try asks the next
 * server in turn).  Values <= 0 keep the current setting.
 */
void		 dns_srv_set_timing(struct dns_srv *d, int timeout_ms,
		    int max_tries);

/*
 * Look up the SRV records of name ("_sips._tcp.example.com", a trailing
 * dot optional; no search list is applied).  cb gets err = DNS_SRV_OK and
 * n >= 1 records sorted per RFC 2782 (priority ascending, a weighted
 * random order within a priority), or an error with n = 0; rrs is valid
 * only during the callback.  Every result, errors included, arrives on a
 * later loop turn.  The returned request is valid until the callback has
 * run or dns_srv_cancel() is called.  Never NULL.
 */
struct dns_srv_req *dns_srv_lookup(struct dns_srv *d, const char *name,
		    dns_srv_cb cb, void *arg);
/* Stop a pending lookup: its callback never runs.  NULL is fine. */
void		 dns_srv_cancel(struct dns_srv_req *req);

/* "timeout", "no such domain (NXDOMAIN)", ...: a static string. */
const char	*dns_srv_strerror(int err);

/*
 * Point dns at the servers "IP", "IP:port", "[IPv6]" or "[IPv6]:port"
 * (port 53 by default) instead of its current ones; an empty list (or
 * NULL) puts back the nameservers of /etc/resolv.conf (127.0.0.1 when it
 * has none), so a reload that drops dns.servers works.  For the
 * dns.servers setting: call it after evdns_base_new() and on every reload.
 * Lookups in flight are resent to the new servers.  0, or -1 with *cause
 * (freed by the caller) when an entry is not an address (dns is then
 * unchanged) or libevent refuses one (dns keeps those added before it).
 */
int		 dns_configure(struct evdns_base *dns,
		    const struct conf_strlist *servers, char **cause);
/* Whether s is a server address as dns_configure() accepts: 1 or 0. */
int		 dns_server_is_valid(const char *s);

/* --- the wire format, for the unit tests ----------------------------- */

#define DNS_SRV_MAXMSG	4096	/* largest answer read (EDNS0 asks 1232) */

/*
 * A query for the SRV records of name with id into buf: its length, or -1
 * when name is not a DNS name or buf is too small.
 */
int		 dns_srv_query_build(uint16_t id, const char *name,
		    uint8_t *buf, size_t bufsz);
/*
 * Parse msg (len bytes) as the answer to the query dns_srv_query_build()
 * made from id and name.  DNS_SRV_OK with *rrs (free()d by the caller) and
 * *n >= 1 in answer order; otherwise an error and *rrs NULL, *n 0.
 * DNS_SRV_EMISMATCH: not a response to that query (wrong id, not a
 * response, another question); the caller ignores it.
 */
int		 dns_srv_parse(const uint8_t *msg, size_t len, uint16_t id,
		    const char *name, struct dns_srv_rr **rrs, size_t *n);
/*
 * Order rrs per RFC 2782: priority ascending; within a priority, records
 * chosen one at a time with probability proportional to weight (weight 0
 * records first in the running sums).  rnd(arg) returns a random 32-bit
 * number; NULL uses libevent's secure random generator.
 */
void		 dns_srv_sort(struct dns_srv_rr *rrs, size_t n,
		    uint32_t (*rnd)(void *), void *arg);

#endif
